"""Mirrors TensorFlow's tutorial "Basic classification: Classify images of clothing"
(tensorflow.org/tutorials/keras/classification): Fashion-MNIST loaded with
``tf.keras.datasets.fashion_mnist.load_data()``, the tutorial's ``class_names``, images scaled to
[0, 1], a Flatten / Dense(128) / Dense(10) model on logits, fit for ten epochs, evaluate with
verbose=2, a ``probability_model`` adding ``tf.keras.layers.Softmax()``, ``np.argmax`` of the
predictions, one image predicted alone after ``np.expand_dims``, and the tutorial's matplotlib
figures (written to small PNG files on the Agg backend instead of shown).

The runner points $CNNLAB_DATA at a small generated Fashion-MNIST in the real file format
(1,200 training and 200 test images), never the real data set.
"""

import contextlib
import io
import re
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import cnnlab as tf

fashion_mnist = tf.keras.datasets.fashion_mnist

(train_images, train_labels), (test_images, test_labels) = fashion_mnist.load_data()

class_names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
assert class_names == list(fashion_mnist.class_names)

print(train_images.shape, len(train_labels), train_labels, test_images.shape, len(test_labels))
assert train_images.shape[1:] == (28, 28) and train_images.dtype == np.uint8 and train_labels.dtype == np.uint8
assert len(train_labels) == len(train_images) and test_images.shape[1:] == (28, 28)
assert set(np.unique(train_labels)) <= set(range(10))

plt.figure()
plt.imshow(train_images[0])
plt.colorbar()
plt.grid(False)
plt.savefig("first_image.png", dpi=40)
plt.close()

train_images = train_images / 255.0
test_images = test_images / 255.0

plt.figure(figsize=(10, 10))
for i in range(25):
    plt.subplot(5, 5, i + 1)
    plt.xticks([])
    plt.yticks([])
    plt.grid(False)
    plt.imshow(train_images[i], cmap=plt.cm.binary)
    plt.xlabel(class_names[train_labels[i]])
plt.savefig("first_25_images.png", dpi=40)
plt.close()

model = tf.keras.Sequential(
    [
        tf.keras.layers.Flatten(input_shape=(28, 28)),
        tf.keras.layers.Dense(128, activation="relu"),
        tf.keras.layers.Dense(10),
    ]
)

model.compile(
    optimizer="adam", loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"]
)

history = model.fit(train_images, train_labels, epochs=10)
assert len(history.history["loss"]) == 10 and history.history["loss"][-1] < history.history["loss"][0] / 2
assert history.history["accuracy"][-1] > history.history["accuracy"][0]

printed = io.StringIO()
with contextlib.redirect_stdout(printed):
    test_loss, test_acc = model.evaluate(test_images, test_labels, verbose=2)
print(printed.getvalue(), end="")
steps = -(-len(test_images) // 32)
assert re.fullmatch(
    rf"{steps}/{steps} - \d+s - \d+(us|ms)/step - accuracy: \d\.\d{{4}} - loss: \d\.\d{{4}}\n", printed.getvalue()
)

print("\nTest accuracy:", test_acc)
assert 0.8 < test_acc <= 1.0

probability_model = tf.keras.Sequential([model, tf.keras.layers.Softmax()])
predictions = probability_model.predict(test_images)
print(predictions[0])
assert predictions.shape == (len(test_images), 10)
np.testing.assert_allclose(predictions.sum(axis=1), 1.0, rtol=1e-5)
print(np.argmax(predictions[0]), test_labels[0])
assert np.mean(np.argmax(predictions, axis=1) == test_labels) == test_acc


def plot_image(i, predictions_array, true_label, img):
    true_label, img = true_label[i], img[i]
    plt.grid(False)
    plt.xticks([])
    plt.yticks([])

    plt.imshow(img, cmap=plt.cm.binary)

    predicted_label = np.argmax(predictions_array)
    color = "blue" if predicted_label == true_label else "red"

    plt.xlabel(
        "{} {:2.0f}% ({})".format(
            class_names[predicted_label], 100 * np.max(predictions_array), class_names[true_label]
        ),
        color=color,
    )


def plot_value_array(i, predictions_array, true_label):
    true_label = true_label[i]
    plt.grid(False)
    plt.xticks(range(10))
    plt.yticks([])
    thisplot = plt.bar(range(10), predictions_array, color="#777777")
    plt.ylim([0, 1])
    predicted_label = np.argmax(predictions_array)

    thisplot[predicted_label].set_color("red")
    thisplot[true_label].set_color("blue")
    return thisplot


# Plot the first X test images, their predicted labels, and the true labels.
num_rows = 5
num_cols = 3
num_images = num_rows * num_cols
plt.figure(figsize=(2 * 2 * num_cols, 2 * num_rows))
for i in range(num_images):
    plt.subplot(num_rows, 2 * num_cols, 2 * i + 1)
    plot_image(i, predictions[i], test_labels, test_images)
    plt.subplot(num_rows, 2 * num_cols, 2 * i + 2)
    plot_value_array(i, predictions[i], test_labels)
plt.tight_layout()
plt.savefig("test_predictions.png", dpi=40)
plt.close()

# Grab an image from the test dataset, add it to a batch where it's the only member and predict.
img = test_images[1]
print(img.shape)
img = np.expand_dims(img, 0)
print(img.shape)
assert img.shape == (1, 28, 28)

predictions_single = probability_model.predict(img)
print(predictions_single)
assert predictions_single.shape == (1, 10)
np.testing.assert_allclose(predictions_single[0], predictions[1], rtol=1e-5, atol=1e-7)

bars = plot_value_array(1, predictions_single[0], test_labels)
_ = plt.xticks(range(10), class_names, rotation=45)
plt.savefig("single_prediction.png", dpi=40)
plt.close()
assert [bar.get_height() for bar in bars] == list(predictions_single[0])
print(np.argmax(predictions_single[0]))

for figure in ("first_image.png", "first_25_images.png", "test_predictions.png", "single_prediction.png"):
    assert Path(figure).read_bytes().startswith(b"\x89PNG"), figure
