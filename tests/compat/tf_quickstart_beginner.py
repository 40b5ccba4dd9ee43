"""Mirrors TensorFlow's "TensorFlow 2 quickstart for beginners" (tensorflow.org/tutorials/quickstart/beginner):
a Sequential Flatten / Dense / Dropout / Dense model giving logits, the untrained model's
predictions turned into probabilities with ``tf.nn.softmax``, the untrained loss near
-log(1/10), compile / fit for five epochs / evaluate with verbose=2, and a probability model
wrapping the trained one with ``tf.keras.layers.Softmax()``.

On generated MNIST-shaped digits (uint8 28x28 images; cnnlab has no MNIST loader, and the
suite never reads a real data set), 1,000 for training and 200 for testing.
"""

import contextlib
import io
import re

import numpy as np

import cnnlab as tf

print("TensorFlow version:", tf.__version__)
assert tf.__version__.startswith("2.")


def load_mnist_like(rng, count):
    """Stand-in for ``tf.keras.datasets.mnist.load_data()``: a faint stroke, whose place depends on the
    digit, in strong noise."""
    labels = rng.integers(0, 10, count).astype(np.uint8)
    images = rng.integers(0, 130, (count, 28, 28), dtype=np.uint8)
    for image, label in zip(images, labels):
        image[4:24, 4 + 2 * label : 6 + 2 * label] += 60
    return images, labels


rng = np.random.default_rng(1)
(x_train, y_train), (x_test, y_test) = load_mnist_like(rng, 1000), load_mnist_like(rng, 200)
x_train, x_test = x_train / 255.0, x_test / 255.0  # float64, as in the tutorial

model = tf.keras.models.Sequential(
    [
        tf.keras.layers.Flatten(input_shape=(28, 28)),
        tf.keras.layers.Dense(128, activation="relu"),
        tf.keras.layers.Dropout(0.2),
        tf.keras.layers.Dense(10),
    ]
)

predictions = model(x_train[:1]).numpy()
print(predictions)
assert predictions.shape == (1, 10) and predictions.dtype == np.float32

probabilities = tf.nn.softmax(predictions).numpy()
print(probabilities)
np.testing.assert_allclose(probabilities.sum(), 1.0, rtol=1e-6)

loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
untrained_loss = loss_fn(y_train[:1], predictions).numpy()
print(untrained_loss)
# "close to tf.math.log(1/10) ~= 2.3" for an untrained model
assert abs(untrained_loss - -tf.math.log(1 / 10).numpy()) < 1.0
np.testing.assert_allclose(untrained_loss, -np.log(probabilities[0, y_train[0]]), rtol=1e-5)

model.compile(optimizer="adam", loss=loss_fn, metrics=["accuracy"])
history = model.fit(x_train, y_train, epochs=5)
assert list(history.history) == ["accuracy", "loss"]
assert history.history["loss"][-1] < history.history["loss"][0]

printed = io.StringIO()
with contextlib.redirect_stdout(printed):
    test_loss, test_accuracy = model.evaluate(x_test, y_test, verbose=2)
print(printed.getvalue(), end="")
# Keras's one line: "7/7 - 0s - 2ms/step - accuracy: 0.9750 - loss: 0.0797"
line = re.fullmatch(r"7/7 - \d+s - \d+(us|ms)/step - accuracy: (\d\.\d{4}) - loss: (\d\.\d{4})\n", printed.getvalue())
assert line, printed.getvalue()
assert float(line.group(2)) == round(test_accuracy, 4) and test_accuracy > 0.9

probability_model = tf.keras.Sequential([model, tf.keras.layers.Softmax()])
five = probability_model(x_test[:5])
print(five)
assert five.shape == (5, 10)
np.testing.assert_allclose(five.numpy().sum(axis=1), np.ones(5), rtol=1e-5)
np.testing.assert_allclose(five.numpy(), tf.nn.softmax(model(x_test[:5])).numpy(), rtol=1e-5)
