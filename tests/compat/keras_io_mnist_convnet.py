"""Mirrors keras.io's example "Simple MNIST convnet" (keras.io/examples/vision/mnist_convnet):
images scaled to [0, 1] with a channels axis added by ``np.expand_dims``, one-hot labels from
``keras.utils.to_categorical``, a Sequential ``keras.Input`` / Conv2D 32 / MaxPooling2D / Conv2D 64 /
MaxPooling2D / Flatten / Dropout(0.5) / Dense softmax model and its summary (34,826 parameters),
fit with batch_size=128 and validation_split=0.1, and evaluate printing the test loss and accuracy.

On generated MNIST-shaped digits (cnnlab has no MNIST loader, and the suite never reads a real
data set): 1,200 training and 200 test images, four epochs rather than fifteen.
"""

import contextlib
import io

import numpy as np

from cnnlab import keras
from cnnlab.keras import layers

# Model / data parameters
num_classes = 10
input_shape = (28, 28, 1)


def load_mnist_like(rng, count):
    """Stand-in for ``keras.datasets.mnist.load_data()``: a faint stroke, whose place depends on the
    digit, in strong noise."""
    labels = rng.integers(0, 10, count).astype(np.uint8)
    images = rng.integers(0, 130, (count, 28, 28), dtype=np.uint8)
    for image, label in zip(images, labels):
        image[4:24, 4 + 2 * label : 6 + 2 * label] += 60
    return images, labels


# Load the data and split it between train and test sets
rng = np.random.default_rng(4)
(x_train, y_train), (x_test, y_test) = load_mnist_like(rng, 1200), load_mnist_like(rng, 200)

# Scale images to the [0, 1] range
x_train = x_train.astype("float32") / 255
x_test = x_test.astype("float32") / 255
# Make sure images have shape (28, 28, 1)
x_train = np.expand_dims(x_train, -1)
x_test = np.expand_dims(x_test, -1)
print("x_train shape:", x_train.shape)
print(x_train.shape[0], "train samples")
print(x_test.shape[0], "test samples")
assert x_train.shape == (1200, 28, 28, 1) and x_test.shape == (200, 28, 28, 1)

# convert class vectors to binary class matrices
y_train = keras.utils.to_categorical(y_train, num_classes)
y_test = keras.utils.to_categorical(y_test, num_classes)
assert y_train.shape == (1200, 10) and np.all(y_train.sum(axis=1) == 1)

model = keras.Sequential(
    [
        keras.Input(shape=input_shape),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(num_classes, activation="softmax"),
    ]
)

printed = io.StringIO()
with contextlib.redirect_stdout(printed):
    model.summary()
summary = printed.getvalue().splitlines()
print(printed.getvalue(), end="")
rows = [tuple(cell.strip() for cell in line.strip("│").split("│")) for line in summary if line.startswith("│")]
assert rows == [
    ("conv2d (Conv2D)", "(None, 26, 26, 32)", "320"),
    ("max_pooling2d (MaxPooling2D)", "(None, 13, 13, 32)", "0"),
    ("conv2d_1 (Conv2D)", "(None, 11, 11, 64)", "18,496"),
    ("max_pooling2d_1 (MaxPooling2D)", "(None, 5, 5, 64)", "0"),
    ("flatten (Flatten)", "(None, 1600)", "0"),
    ("dropout (Dropout)", "(None, 1600)", "0"),
    ("dense (Dense)", "(None, 10)", "16,010"),
], rows
assert summary[-3:] == [
    " Total params: 34,826 (136.04 KB)",
    " Trainable params: 34,826 (136.04 KB)",
    " Non-trainable params: 0 (0.00 B)",
]

batch_size = 128
epochs = 4

model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])

history = model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, validation_split=0.1)
assert list(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
assert history.history["loss"][-1] < history.history["loss"][0]
assert history.history["val_accuracy"][-1] > 0.8

score = model.evaluate(x_test, y_test, verbose=0)
print("Test loss:", score[0])
print("Test accuracy:", score[1])
assert len(score) == 2 and score[0] < history.history["loss"][0] and score[1] > 0.8
