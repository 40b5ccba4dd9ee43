"""Mirrors the Keras example "Image classification from scratch"
(keras.io/examples/vision/image_classification_from_scratch): a folder of cat and dog pictures
cleaned of files that are not JPEGs (the JFIF check), loaded with
``keras.utils.image_dataset_from_directory(..., subset="both")``, augmented by RandomFlip and
RandomRotation mapped over the training dataset, and a small Xception-like residual network built
by ``make_model``: Rescaling, an entry Conv2D, blocks of SeparableConv2D / BatchNormalization /
MaxPooling2D whose input comes back through a strided 1x1 Conv2D and ``layers.add``, then global
average pooling, Dropout and one logit.  It is compiled with BinaryCrossentropy(from_logits=True)
and BinaryAccuracy(name="acc"), trained with a ModelCheckpoint writing ``save_at_{epoch}.keras``,
the last checkpoint is loaded back, and a picture is classified with load_img / img_to_array /
``keras.ops.expand_dims`` / ``keras.ops.sigmoid``.

The example downloads 25,000 photos of the Kaggle "Cats vs Dogs" set; here 120 generated pictures
take their place (a cat: a light disc with two ear triangles; a dog: a dark, wide ellipse with hanging
ears, at random places on a noisy background), at 32x32 rather than 180x180, with block widths
[16, 32] and 64 rather than [256, 512, 728] and 1024, in batches of 4 for 18 epochs (enough steps for
BatchNormalization's moving statistics to settle, as the example's 25 epochs of 147 steps are).  The plots are left out.
"""

import os
import pathlib

import numpy as np
import PIL.Image
import PIL.ImageDraw

from cnnlab import data as tf_data
from cnnlab import keras
from cnnlab.keras import layers


def picture(kind, rng):
    """A 'photo' of a cat or a dog on a noisy background, of a random size."""
    width, height = (int(side) for side in rng.integers(40, 64, 2))
    image = PIL.Image.new("RGB", (width, height), tuple(int(c) for c in rng.integers(60, 140, 3)))
    draw = PIL.ImageDraw.Draw(image)
    x, y = int(rng.integers(14, width - 14)), int(rng.integers(14, height - 14))
    if kind == "Cat":
        draw.ellipse([x - 10, y - 10, x + 10, y + 10], fill=(235, 200, 150))
        draw.polygon([(x - 10, y - 4), (x - 8, y - 16), (x - 2, y - 9)], fill=(235, 200, 150))
        draw.polygon([(x + 10, y - 4), (x + 8, y - 16), (x + 2, y - 9)], fill=(235, 200, 150))
    else:
        draw.ellipse([x - 13, y - 8, x + 13, y + 8], fill=(70, 40, 20))
        draw.rectangle([x - 14, y - 6, x - 9, y + 10], fill=(40, 20, 10))
        draw.rectangle([x + 9, y - 6, x + 14, y + 10], fill=(40, 20, 10))
    noisy = np.asarray(image, dtype=np.int16) + rng.integers(-90, 90, (height, width, 3))
    return PIL.Image.fromarray(np.clip(noisy, 0, 255).astype("uint8"))


rng = np.random.default_rng(3)
for folder_name in ("Cat", "Dog"):
    folder = pathlib.Path("PetImages") / folder_name
    folder.mkdir(parents=True)
    for i in range(60):
        picture(folder_name, rng).save(folder / f"{i}.jpg", quality=95)
    # The real data set holds a few files that are not JPEGs; the example deletes them.
    (folder / "666.jpg").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(rng.integers(0, 256, 64, dtype=np.uint8)))

# ---- Filter out corrupted images -------------------------------------------------------------------------

num_skipped = 0
for folder_name in ("Cat", "Dog"):
    folder_path = os.path.join("PetImages", folder_name)
    for fname in os.listdir(folder_path):
        fpath = os.path.join(folder_path, fname)
        try:
            fobj = open(fpath, "rb")
            is_jfif = b"JFIF" in fobj.peek(10)
        finally:
            fobj.close()

        if not is_jfif:
            num_skipped += 1
            # Delete corrupted image
            os.remove(fpath)

print(f"Deleted {num_skipped} images.")
assert num_skipped == 2

# ---- Generate a Dataset ----------------------------------------------------------------------------------

image_size = (32, 32)
batch_size = 4

train_ds, val_ds = keras.utils.image_dataset_from_directory(
    "PetImages",
    validation_split=0.2,
    subset="both",
    seed=1337,
    image_size=image_size,
    batch_size=batch_size,
)
assert train_ds.class_names == ["Cat", "Dog"]
assert sum(len(labels) for _, labels in train_ds) == 96 and sum(len(labels) for _, labels in val_ds) == 24
for images, labels in train_ds.take(1):
    assert images.shape == (4, 32, 32, 3) and labels.shape == (4,)
    assert 0 <= float(np.min(images)) and float(np.max(images)) <= 255  # raw pixel values: Rescaling comes later

# ---- Using image data augmentation -----------------------------------------------------------------------

data_augmentation_layers = [
    layers.RandomFlip("horizontal"),
    layers.RandomRotation(0.1),
]


def data_augmentation(images):
    for layer in data_augmentation_layers:
        images = layer(images)
    return images


augmented = data_augmentation(images)
assert augmented.shape == images.shape and not np.array_equal(np.asarray(augmented), np.asarray(images))

# Apply `data_augmentation` to the training images.
train_ds = train_ds.map(
    lambda img, label: (data_augmentation(img), label),
    num_parallel_calls=tf_data.AUTOTUNE,
)
# Prefetching samples in GPU memory helps maximize GPU utilization.
train_ds = train_ds.prefetch(tf_data.AUTOTUNE)
val_ds = val_ds.prefetch(tf_data.AUTOTUNE)

# ---- Build a model ---------------------------------------------------------------------------------------


def make_model(input_shape, num_classes):
    inputs = keras.Input(shape=input_shape)

    # Entry block
    x = layers.Rescaling(1.0 / 255)(inputs)
    x = layers.Conv2D(16, 3, strides=2, padding="same")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)

    previous_block_activation = x  # Set aside residual

    for size in [16, 32]:
        x = layers.Activation("relu")(x)
        x = layers.SeparableConv2D(size, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)

        x = layers.Activation("relu")(x)
        x = layers.SeparableConv2D(size, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)

        x = layers.MaxPooling2D(3, strides=2, padding="same")(x)

        # Project residual
        residual = layers.Conv2D(size, 1, strides=2, padding="same")(previous_block_activation)
        x = layers.add([x, residual])  # Add back residual
        previous_block_activation = x  # Set aside next residual

    x = layers.SeparableConv2D(64, 3, padding="same")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)

    x = layers.GlobalAveragePooling2D()(x)
    if num_classes == 2:
        units = 1
    else:
        units = num_classes

    x = layers.Dropout(0.25)(x)
    # We specify activation=None so as to return logits
    outputs = layers.Dense(units, activation=None)(x)
    return keras.Model(inputs, outputs)


model = make_model(input_shape=image_size + (3,), num_classes=2)
keras.utils.plot_model(model, show_shapes=True)
model.summary()
assert model.output_shape == (None, 1)
assert [layer.output.shape for layer in model.layers if isinstance(layer, layers.Add)] == [
    (None, 8, 8, 16),
    (None, 4, 4, 32),
]
# Entry conv 448 + BN 64; block 16: two separable convs of 416 (144 depthwise, 256 pointwise, 16 bias),
# two BNs 128, the 1x1 projection 272; block 32: 688 + 1344, 256, 544; exit separable conv 2400 + BN 256;
# Dense 65.
assert model.count_params() == 448 + 64 + 416 + 416 + 128 + 272 + 688 + 1344 + 256 + 544 + 2400 + 256 + 65

# ---- Train the model -------------------------------------------------------------------------------------

epochs = 18

callbacks = [
    keras.callbacks.ModelCheckpoint("save_at_{epoch}.keras"),
]
model.compile(
    optimizer=keras.optimizers.Adam(3e-3),
    loss=keras.losses.BinaryCrossentropy(from_logits=True),
    metrics=[keras.metrics.BinaryAccuracy(name="acc")],
)
history = model.fit(
    train_ds,
    epochs=epochs,
    callbacks=callbacks,
    validation_data=val_ds,
    verbose=0,
)
print(history.history)
assert sorted(history.history) == ["acc", "loss", "val_acc", "val_loss"]
assert history.history["loss"][-1] < history.history["loss"][0]
assert history.history["acc"][-1] > 0.9
# Validation follows once BatchNormalization's moving statistics have caught up with the batches' own.
assert max(history.history["val_acc"][-3:]) > 0.9
assert {path.name for path in pathlib.Path(".").glob("save_at_*.keras")} == {
    f"save_at_{epoch}.keras" for epoch in range(1, epochs + 1)
}

# The last checkpoint is the trained model, residual connections and all.
restored = keras.models.load_model(f"save_at_{epochs}.keras")
val_images = np.concatenate([np.asarray(images) for images, _ in val_ds])
np.testing.assert_array_equal(restored.predict(val_images, verbose=0), model.predict(val_images, verbose=0))
assert restored.evaluate(val_ds, verbose=0) == model.evaluate(val_ds, verbose=0)

# ---- Run inference on new data ---------------------------------------------------------------------------

img = keras.utils.load_img("PetImages/Cat/6.jpg", target_size=image_size)
img_array = keras.utils.img_to_array(img)
img_array = keras.ops.expand_dims(img_array, 0)  # Create batch axis

predictions = model.predict(img_array, verbose=0)
score = float(keras.ops.sigmoid(predictions[0][0]))
print(f"This image is {100 * (1 - score):.2f}% cat and {100 * score:.2f}% dog.")
assert img_array.shape == (1, 32, 32, 3) and score < 0.5  # a cat
