"""Mirrors TensorFlow's tutorial "Data augmentation" (tensorflow.org/tutorials/images/data_augmentation):
Keras preprocessing layers (Resizing, Rescaling, RandomFlip, RandomRotation) as a small model of
their own, applied to one image, then put inside a CNN; a custom augmentation both as a Lambda
layer and as a Layer subclass.

On generated 40x48 RGB "flower" images in 5 classes (the tutorial's tf_flowers), resized to 32x32
rather than 180x180 so that the program runs in seconds.
"""

import numpy as np

import cnnlab as tf
from cnnlab.keras import layers

num_classes = 5
rng = np.random.default_rng(0)
labels = rng.integers(0, num_classes, size=60)
# Each class a different colour cast, so the images can be told apart.
images = (rng.random((60, 40, 48, 3)) * 160 + np.eye(num_classes, 3)[labels][:, None, None, :] * 90).astype("uint8")
image, label = images[0], labels[0]

# ---- resizing and rescaling ------------------------------------------------------------------------

IMG_SIZE = 32

resize_and_rescale = tf.keras.Sequential([layers.Resizing(IMG_SIZE, IMG_SIZE), layers.Rescaling(1.0 / 255)])

result = resize_and_rescale(image[np.newaxis])
print("Min and max pixel values:", result.numpy().min(), result.numpy().max())
assert result.shape == (1, IMG_SIZE, IMG_SIZE, 3)
assert 0.0 <= result.numpy().min() and result.numpy().max() <= 1.0

# ---- random augmentation ---------------------------------------------------------------------------

data_augmentation = tf.keras.Sequential([layers.RandomFlip("horizontal_and_vertical"), layers.RandomRotation(0.2)])

# Add the image to a batch.
image = tf.cast(tf.expand_dims(image, 0), tf.float32)

augmented = []
for i in range(9):
    augmented_image = data_augmentation(image)
    augmented.append(augmented_image[0].numpy())
assert all(a.shape == (40, 48, 3) for a in augmented)
assert len({a.tobytes() for a in augmented}) == 9  # nine different augmentations of the one image
# Inference leaves the image alone.
np.testing.assert_array_equal(data_augmentation(image, training=False).numpy(), image.numpy())

# ---- option 1: the preprocessing layers inside the model ---------------------------------------------

model = tf.keras.Sequential(
    [
        tf.keras.Input((40, 48, 3)),
        resize_and_rescale,
        data_augmentation,
        layers.Conv2D(16, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(32, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        layers.Dense(num_classes),
    ]
)
model.compile(
    optimizer="adam",
    loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=["accuracy"],
)
model.summary()
assert model.output_shape == (None, num_classes)

epochs = 5
history = model.fit(
    images[:48], labels[:48], validation_data=(images[48:], labels[48:]), epochs=epochs, batch_size=16, verbose=0
)
loss, acc = model.evaluate(images[48:], labels[48:], verbose=0)
print("Accuracy", acc)
assert history.history["loss"][-1] < history.history["loss"][0]
assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
# Evaluation runs the augmentation in inference mode: the same result twice.
assert model.evaluate(images[48:], labels[48:], verbose=0) == [loss, acc]

# ---- custom data augmentation ----------------------------------------------------------------------


def random_invert_img(x, p=0.5):
    if tf.random.uniform([]) < p:
        x = 255 - x
    else:
        x
    return x


def random_invert(factor=0.5):
    return layers.Lambda(lambda x: random_invert_img(x, factor))


random_invert = random_invert()

inverted = [random_invert(image).numpy() for _ in range(20)]
flipped = [np.allclose(a, 255 - image.numpy()) for a in inverted]
kept = [np.allclose(a, image.numpy()) for a in inverted]
assert all(f or k for f, k in zip(flipped, kept)) and any(flipped) and any(kept)


class RandomInvert(layers.Layer):
    def __init__(self, factor=0.5, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return random_invert_img(x, self.factor)


always = RandomInvert(factor=1.0)
np.testing.assert_allclose(always(image).numpy(), 255 - image.numpy())
