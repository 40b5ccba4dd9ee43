"""Mirrors TensorFlow's "TensorFlow 2 quickstart for experts" (tensorflow.org/tutorials/quickstart/advanced):
a channels axis added with ``tf.newaxis``, shuffled and batched ``tf.data`` pipelines, a model
subclassing ``tf.keras.Model`` with its layers held as attributes, ``tf.function`` train and
test steps with a ``GradientTape``, ``Mean`` / ``SparseCategoricalAccuracy`` metrics called on
each batch and reset every epoch, and the tutorial's per-epoch line.

On generated MNIST-shaped digits (cnnlab has no MNIST loader, and the suite never reads a
real data set), 640 for training and 160 for testing.
"""

import re

import numpy as np

import cnnlab as tf
from cnnlab.keras import Model
from cnnlab.keras.layers import Conv2D, Dense, Flatten


def load_mnist_like(rng, count):
    """Stand-in for ``tf.keras.datasets.mnist.load_data()``: a faint stroke, whose place depends on the
    digit, in strong noise."""
    labels = rng.integers(0, 10, count).astype(np.uint8)
    images = rng.integers(0, 130, (count, 28, 28), dtype=np.uint8)
    for image, label in zip(images, labels):
        image[4:24, 4 + 2 * label : 6 + 2 * label] += 60
    return images, labels


rng = np.random.default_rng(2)
(x_train, y_train), (x_test, y_test) = load_mnist_like(rng, 640), load_mnist_like(rng, 160)
x_train, x_test = x_train / 255.0, x_test / 255.0

# Add a channels dimension
x_train = x_train[..., tf.newaxis].astype("float32")
x_test = x_test[..., tf.newaxis].astype("float32")
assert x_train.shape == (640, 28, 28, 1) and x_test.dtype == np.float32

train_ds = tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(10000).batch(32)
test_ds = tf.data.Dataset.from_tensor_slices((x_test, y_test)).batch(32)


class MyModel(Model):
    def __init__(self):
        super().__init__()
        self.conv1 = Conv2D(32, 3, activation="relu")
        self.flatten = Flatten()
        self.d1 = Dense(128, activation="relu")
        self.d2 = Dense(10)

    def call(self, x):
        x = self.conv1(x)
        x = self.flatten(x)
        x = self.d1(x)
        return self.d2(x)


# Create an instance of the model
model = MyModel()

loss_object = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
optimizer = tf.keras.optimizers.Adam()

train_loss = tf.keras.metrics.Mean(name="train_loss")
train_accuracy = tf.keras.metrics.SparseCategoricalAccuracy(name="train_accuracy")
test_loss = tf.keras.metrics.Mean(name="test_loss")
test_accuracy = tf.keras.metrics.SparseCategoricalAccuracy(name="test_accuracy")


@tf.function
def train_step(images, labels):
    with tf.GradientTape() as tape:
        # training=True is only needed if there are layers with different
        # behavior during training versus inference (e.g. Dropout).
        predictions = model(images, training=True)
        loss = loss_object(labels, predictions)
    gradients = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(gradients, model.trainable_variables))

    train_loss(loss)
    train_accuracy(labels, predictions)


@tf.function
def test_step(images, labels):
    predictions = model(images, training=False)
    t_loss = loss_object(labels, predictions)

    test_loss(t_loss)
    test_accuracy(labels, predictions)


EPOCHS = 5
lines = []
for epoch in range(EPOCHS):
    # Reset the metrics at the start of the next epoch
    train_loss.reset_state()
    train_accuracy.reset_state()
    test_loss.reset_state()
    test_accuracy.reset_state()

    for images, labels in train_ds:
        train_step(images, labels)

    for test_images, test_labels in test_ds:
        test_step(test_images, test_labels)

    line = (
        f"Epoch {epoch + 1}, "
        f"Loss: {train_loss.result():0.2f}, "
        f"Accuracy: {train_accuracy.result() * 100:0.2f}, "
        f"Test Loss: {test_loss.result():0.2f}, "
        f"Test Accuracy: {test_accuracy.result() * 100:0.2f}"
    )
    print(line)
    lines.append(line)

pattern = r"Epoch (\d), Loss: (\d+\.\d\d), Accuracy: (\d+\.\d\d), Test Loss: (\d+\.\d\d), Test Accuracy: (\d+\.\d\d)"
values = [re.fullmatch(pattern, line).groups() for line in lines]
assert [int(v[0]) for v in values] == [1, 2, 3, 4, 5]
losses = [float(v[1]) for v in values]
assert losses[-1] < losses[0] / 2
assert float(values[-1][4]) > 90.0  # test accuracy, in percent
# The layers held as attributes are tracked: two kernels and two biases each for the conv and dense layers.
assert len(model.trainable_variables) == 6
assert [v.shape for v in model.trainable_variables] == [(3, 3, 1, 32), (32,), (21632, 128), (128,), (128, 10), (10,)]
