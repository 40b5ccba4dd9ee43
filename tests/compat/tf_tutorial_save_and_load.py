"""Mirrors TensorFlow's tutorial "Save and load models" (tensorflow.org/tutorials/keras/save_and_load):
the first 1,000 digits flattened and scaled, a ``create_model()`` Sequential Dense(512) / Dropout /
Dense(10) classifier and its summary, ``ModelCheckpoint(save_weights_only=True, verbose=1)`` writing
``training_1/cp.weights.h5`` each epoch, an untrained model scoring at chance until
``load_weights`` restores the trained accuracy, checkpoints named by epoch every few batches, weights
saved by hand, and the whole model saved in the ``.keras`` format and as HDF5 (``.h5``) and loaded back
with ``tf.keras.models.load_model`` to the same accuracy and predictions.

On generated MNIST-shaped digits (cnnlab has no MNIST loader, and the suite never reads a real data set):
the tutorial's 1,000 training and 1,000 test samples, with fewer epochs.
"""

import contextlib
import io
import os
import re

import numpy as np

import cnnlab as tf

print(tf.version.VERSION)


def load_mnist_like(rng, count):
    """Stand-in for ``tf.keras.datasets.mnist.load_data()``: a stroke, whose place depends on the
    digit, in strong noise."""
    labels = rng.integers(0, 10, count).astype(np.uint8)
    images = rng.integers(0, 130, (count, 28, 28), dtype=np.uint8)
    for image, label in zip(images, labels):
        image[4:24, 4 + 2 * label : 6 + 2 * label] += 80
    return images, labels


rng = np.random.default_rng(6)
(train_images, train_labels), (test_images, test_labels) = load_mnist_like(rng, 1500), load_mnist_like(rng, 1500)

train_labels = train_labels[:1000]
test_labels = test_labels[:1000]

train_images = train_images[:1000].reshape(-1, 28 * 28) / 255.0
test_images = test_images[:1000].reshape(-1, 28 * 28) / 255.0


# Define a simple sequential model
def create_model():
    model = tf.keras.Sequential(
        [
            tf.keras.layers.Dense(512, activation="relu", input_shape=(784,)),
            tf.keras.layers.Dropout(0.2),
            tf.keras.layers.Dense(10),
        ]
    )

    model.compile(
        optimizer="adam",
        loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[tf.keras.metrics.SparseCategoricalAccuracy()],
    )

    return model


# Create a basic model instance
model = create_model()

# Display the model's architecture
printed = io.StringIO()
with contextlib.redirect_stdout(printed):
    model.summary()
print(printed.getvalue(), end="")
assert " Total params: 407,050 (1.55 MB)" in printed.getvalue().splitlines()

checkpoint_path = "training_1/cp.weights.h5"
checkpoint_dir = os.path.dirname(checkpoint_path)

# Create a callback that saves the model's weights
cp_callback = tf.keras.callbacks.ModelCheckpoint(filepath=checkpoint_path, save_weights_only=True, verbose=1)

# Train the model with the new callback
printed = io.StringIO()
with contextlib.redirect_stdout(printed):
    model.fit(
        train_images,
        train_labels,
        epochs=4,
        validation_data=(test_images, test_labels),
        callbacks=[cp_callback],  # Pass callback to training
    )
print(printed.getvalue(), end="")
assert printed.getvalue().count("\nEpoch 4: saving model to training_1/cp.weights.h5\n") == 1

# This may generate warnings related to saving the state of the optimizer.
# These warnings (and similar warnings throughout this notebook)
# are in place to discourage outdated usage, and can be ignored.
print(os.listdir(checkpoint_dir))
assert os.listdir(checkpoint_dir) == ["cp.weights.h5"]

# Create a basic model instance
model = create_model()

# Evaluate the model
loss, acc = model.evaluate(test_images, test_labels, verbose=2)
print("Untrained model, accuracy: {:5.2f}%".format(100 * acc))
untrained = acc

# Loads the weights
model.load_weights(checkpoint_path)

# Re-evaluate the model
loss, acc = model.evaluate(test_images, test_labels, verbose=2)
print("Restored model, accuracy: {:5.2f}%".format(100 * acc))
assert untrained < 0.3 and acc > 0.8

# Include the epoch in the file name (uses `str.format`)
checkpoint_path = "training_2/cp-{epoch:04d}.weights.h5"
checkpoint_dir = os.path.dirname(checkpoint_path)

batch_size = 32

# Calculate the number of batches per epoch
import math  # noqa: E402 - as the tutorial imports it here

n_batches = len(train_images) / batch_size
n_batches = math.ceil(n_batches)  # round up the number of batches to the nearest whole integer

# Create a callback that saves the model's weights every 2 epochs
cp_callback = tf.keras.callbacks.ModelCheckpoint(
    filepath=checkpoint_path, verbose=1, save_weights_only=True, save_freq=2 * n_batches
)

# Create a new model instance
model = create_model()

# Save the weights using the `checkpoint_path` format (Keras 3's save_weights does not make the folder)
os.makedirs(checkpoint_dir, exist_ok=True)
model.save_weights(checkpoint_path.format(epoch=0))

# Train the model with the new callback
model.fit(
    train_images,
    train_labels,
    epochs=6,
    batch_size=batch_size,
    callbacks=[cp_callback],
    validation_data=(test_images, test_labels),
    verbose=0,
)

print(sorted(os.listdir(checkpoint_dir)))
assert sorted(os.listdir(checkpoint_dir)) == [
    "cp-0000.weights.h5",
    "cp-0002.weights.h5",
    "cp-0004.weights.h5",
    "cp-0006.weights.h5",
]
latest = os.path.join(checkpoint_dir, sorted(os.listdir(checkpoint_dir))[-1])

# Create a new model instance
model = create_model()

# Load the previously saved weights
model.load_weights(latest)

# Re-evaluate the model from the latest checkpoint
loss, acc = model.evaluate(test_images, test_labels, verbose=2)
print("Restored model, accuracy: {:5.2f}%".format(100 * acc))
assert acc > 0.8

# Save the weights
os.makedirs("./checkpoints", exist_ok=True)
model.save_weights("./checkpoints/my_checkpoint.weights.h5")

# Create a new model instance
model = create_model()

# Restore the weights
model.load_weights("./checkpoints/my_checkpoint.weights.h5")

# Evaluate the model
loss, acc = model.evaluate(test_images, test_labels, verbose=2)
print("Restored model, accuracy: {:5.2f}%".format(100 * acc))

# Create and train a new model instance.
model = create_model()
model.fit(train_images, train_labels, epochs=4, verbose=0)

# Save the entire model as a `.keras` zip archive.
model.save("my_model.keras")

new_model = tf.keras.models.load_model("my_model.keras")

# Show the model architecture
printed = io.StringIO()
with contextlib.redirect_stdout(printed):
    new_model.summary()
print(printed.getvalue(), end="")
# The loaded model has its optimizer's state too: Adam's two slots per weight, its iteration count and rate.
assert printed.getvalue().splitlines()[-4:] == [
    " Total params: 1,221,152 (4.66 MB)",
    " Trainable params: 407,050 (1.55 MB)",
    " Non-trainable params: 0 (0.00 B)",
    " Optimizer params: 814,102 (3.11 MB)",
]

# Evaluate the restored model
printed = io.StringIO()
with contextlib.redirect_stdout(printed):
    loss, acc = new_model.evaluate(test_images, test_labels, verbose=2)
print(printed.getvalue(), end="")
print("Restored model, accuracy: {:5.2f}%".format(100 * acc))
assert re.fullmatch(
    r"32/32 - \d+s - \d+(us|ms)/step - loss: \d\.\d{4} - sparse_categorical_accuracy: \d\.\d{4}\n", printed.getvalue()
)
assert acc == model.evaluate(test_images, test_labels, verbose=0)[1]

print(new_model.predict(test_images).shape)
assert new_model.predict(test_images, verbose=0).shape == (1000, 10)
np.testing.assert_array_equal(new_model.predict(test_images, verbose=0), model.predict(test_images, verbose=0))

# Create and train a new model instance.
model = create_model()
model.fit(train_images, train_labels, epochs=4, verbose=0)

# Save the entire model to a HDF5 file.
# The '.h5' extension indicates that the model should be saved to HDF5.
model.save("my_model.h5")

# Recreate the exact same model, including its weights and the optimizer
new_model = tf.keras.models.load_model("my_model.h5")

# Show the model architecture
new_model.summary()

loss, acc = new_model.evaluate(test_images, test_labels, verbose=2)
print("Restored model, accuracy: {:5.2f}%".format(100 * acc))
assert acc > 0.8
np.testing.assert_array_equal(new_model.predict(test_images, verbose=0), model.predict(test_images, verbose=0))
