"""Mirrors TensorFlow's tutorial "Convolutional Neural Network (CNN)" (tensorflow.org/tutorials/images/cnn):
CIFAR-10-shaped images scaled to [0, 1] with labels of shape (n, 1), the tutorial's class names and
5x5 grid of images, the convolutional base (Conv2D 32 / MaxPooling2D / Conv2D 64 / MaxPooling2D /
Conv2D 64) and its summary (56,320 parameters), the Flatten / Dense(64) / Dense(10) head and the full
summary (122,570 parameters), fit with validation_data, the accuracy plot and evaluate with verbose=2.

On generated CIFAR-10-shaped data (cnnlab has no CIFAR-10 loader, and the suite never reads a real
data set): 320 training and 80 test images, each a coloured square whose colour and place depend on
the class, in noise; five epochs rather than ten.
"""

import contextlib
import io
import re
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import cnnlab as tf
from cnnlab.keras import layers, models


def load_cifar10_like(rng, count):
    """Stand-in for ``datasets.cifar10.load_data()``: uint8 (count, 32, 32, 3) images, labels (count, 1)."""
    labels = rng.integers(0, 10, (count, 1)).astype(np.uint8)
    images = rng.integers(0, 120, (count, 32, 32, 3), dtype=np.uint8)
    for image, (label,) in zip(images, labels):
        row, column = 4 + (label // 5) * 14, 2 + (label % 5) * 6
        image[row : row + 10, column : column + 6, label % 3] = 250
    return images, labels


rng = np.random.default_rng(3)
(train_images, train_labels), (test_images, test_labels) = load_cifar10_like(rng, 320), load_cifar10_like(rng, 80)

# Normalize pixel values to be between 0 and 1
train_images, test_images = train_images / 255.0, test_images / 255.0

class_names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

plt.figure(figsize=(10, 10))
for i in range(25):
    plt.subplot(5, 5, i + 1)
    plt.xticks([])
    plt.yticks([])
    plt.grid(False)
    plt.imshow(train_images[i])
    # The CIFAR labels happen to be arrays, which is why you need the extra index
    plt.xlabel(class_names[train_labels[i][0]])
plt.savefig("train_images.png", dpi=40)
plt.close()

model = models.Sequential()
model.add(layers.Conv2D(32, (3, 3), activation="relu", input_shape=(32, 32, 3)))
model.add(layers.MaxPooling2D((2, 2)))
model.add(layers.Conv2D(64, (3, 3), activation="relu"))
model.add(layers.MaxPooling2D((2, 2)))
model.add(layers.Conv2D(64, (3, 3), activation="relu"))


def printed_summary(model):
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        model.summary()
    print(printed.getvalue(), end="")
    return printed.getvalue().splitlines()


def rows(lines):
    return [tuple(cell.strip() for cell in line.strip("│").split("│")) for line in lines if line.startswith("│")]


base = printed_summary(model)
assert base[0] == 'Model: "sequential"'
assert rows(base) == [
    ("conv2d (Conv2D)", "(None, 30, 30, 32)", "896"),
    ("max_pooling2d (MaxPooling2D)", "(None, 15, 15, 32)", "0"),
    ("conv2d_1 (Conv2D)", "(None, 13, 13, 64)", "18,496"),
    ("max_pooling2d_1 (MaxPooling2D)", "(None, 6, 6, 64)", "0"),
    ("conv2d_2 (Conv2D)", "(None, 4, 4, 64)", "36,928"),
]
assert " Total params: 56,320 (220.00 KB)" in base

model.add(layers.Flatten())
model.add(layers.Dense(64, activation="relu"))
model.add(layers.Dense(10))

full = printed_summary(model)
assert rows(full)[-3:] == [
    ("flatten (Flatten)", "(None, 1024)", "0"),
    ("dense (Dense)", "(None, 64)", "65,600"),
    ("dense_1 (Dense)", "(None, 10)", "650"),
]
assert " Total params: 122,570 (478.79 KB)" in full and " Trainable params: 122,570 (478.79 KB)" in full

model.compile(
    optimizer="adam", loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"]
)

history = model.fit(train_images, train_labels, epochs=5, validation_data=(test_images, test_labels))
assert list(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
assert history.history["loss"][-1] < history.history["loss"][0]
assert history.history["val_accuracy"][-1] > history.history["val_accuracy"][0]

plt.plot(history.history["accuracy"], label="accuracy")
plt.plot(history.history["val_accuracy"], label="val_accuracy")
plt.xlabel("Epoch")
plt.ylabel("Accuracy")
plt.ylim([0.5, 1])
plt.legend(loc="lower right")
plt.savefig("accuracy.png", dpi=40)
plt.close()

printed = io.StringIO()
with contextlib.redirect_stdout(printed):
    test_loss, test_acc = model.evaluate(test_images, test_labels, verbose=2)
print(printed.getvalue(), end="")
assert re.fullmatch(r"3/3 - \d+s - \d+(us|ms)/step - accuracy: \d\.\d{4} - loss: \d\.\d{4}\n", printed.getvalue())
print(test_acc)
assert test_acc == history.history["val_accuracy"][-1] and test_acc > 0.7
assert Path("train_images.png").stat().st_size > 0 and Path("accuracy.png").stat().st_size > 0
