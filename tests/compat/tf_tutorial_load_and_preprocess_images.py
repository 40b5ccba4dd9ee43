"""Mirrors TensorFlow's tutorial "Load and preprocess images" (tensorflow.org/tutorials/load_data/images):
its first part, "Load data using a Keras utility": image_dataset_from_directory with a seeded split, the
class names, a look at one batch, a Rescaling layer mapped over the dataset, cache / prefetch, and a
small CNN (Rescaling first, no input shape given) trained with fit on the two datasets.

The tutorial's flower photos are replaced by a small generated folder of 5 classes (photos of coloured
squares on grass, JPEG, of several sizes), read at 40x40 instead of 180x180.  Its later parts are left
out: "Using tf.data for finer control" builds the pipeline from file names with tf.data.Dataset.list_files,
tf.io.read_file, tf.io.decode_jpeg and tf.strings, which cnnlab does not have (its Dataset holds numbers
only), and "Using TensorFlow Datasets" needs the tensorflow_datasets package.
"""

import pathlib

import numpy as np
import PIL.Image

import cnnlab as tf

CLASSES = ("daisy", "dandelion", "roses", "sunflowers", "tulips")
rng = np.random.default_rng(3)
data_dir = pathlib.Path("flower_photos")
for label, name in enumerate(CLASSES):
    (data_dir / name).mkdir(parents=True, exist_ok=True)
    for i in range(30):
        height, width = (int(n) for n in rng.integers(30, 70, 2))
        pixels = np.empty((height, width, 3), np.uint8)
        pixels[:] = (30, 120, 30)
        top, left = rng.integers(0, height // 2), rng.integers(0, width // 2)
        pixels[top : top + height // 2, left : left + width // 2] = np.array([40, 90, 140, 190, 240])[label]
        PIL.Image.fromarray(pixels).save(data_dir / name / f"{i:03d}.jpg", quality=90)

image_count = len(list(data_dir.glob("*/*.jpg")))
print(image_count)
assert image_count == 150
roses = list(data_dir.glob("roses/*"))
PIL.Image.open(str(roses[0]))
PIL.Image.open(str(roses[1]))

batch_size = 32
img_height = 40
img_width = 40

train_ds = tf.keras.utils.image_dataset_from_directory(
    data_dir,
    validation_split=0.2,
    subset="training",
    seed=123,
    image_size=(img_height, img_width),
    batch_size=batch_size,
)
val_ds = tf.keras.utils.image_dataset_from_directory(
    data_dir,
    validation_split=0.2,
    subset="validation",
    seed=123,
    image_size=(img_height, img_width),
    batch_size=batch_size,
)

class_names = train_ds.class_names
print(class_names)
assert class_names == list(CLASSES)

for images, labels in train_ds.take(1):
    for i in range(9):
        assert images[i].numpy().astype("uint8").shape == (img_height, img_width, 3)
        assert class_names[labels[i]] in CLASSES

for image_batch, labels_batch in train_ds:
    print(image_batch.shape)
    print(labels_batch.shape)
    assert tuple(image_batch.shape) == (32, 40, 40, 3) and tuple(labels_batch.shape) == (32,)
    break

# ---- standardize the data ---------------------------------------------------------------------------------

normalization_layer = tf.keras.layers.Rescaling(1.0 / 255)
normalized_ds = train_ds.map(lambda x, y: (normalization_layer(x), y))
image_batch, labels_batch = next(iter(normalized_ds))
first_image = image_batch[0]
# Notice the pixel values are now in `[0,1]`.
print(np.min(first_image), np.max(first_image))
assert 0.0 <= np.min(first_image) < np.max(first_image) <= 1.0

# ---- configure the dataset for performance ----------------------------------------------------------------

AUTOTUNE = tf.data.AUTOTUNE
train_ds = train_ds.cache().prefetch(buffer_size=AUTOTUNE)
val_ds = val_ds.cache().prefetch(buffer_size=AUTOTUNE)

# ---- train a model ------------------------------------------------------------------------------------------

num_classes = 5
model = tf.keras.Sequential(
    [
        tf.keras.layers.Rescaling(1.0 / 255),
        tf.keras.layers.Conv2D(32, 3, activation="relu"),
        tf.keras.layers.MaxPooling2D(),
        tf.keras.layers.Conv2D(32, 3, activation="relu"),
        tf.keras.layers.MaxPooling2D(),
        tf.keras.layers.Conv2D(32, 3, activation="relu"),
        tf.keras.layers.MaxPooling2D(),
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(128, activation="relu"),
        tf.keras.layers.Dense(num_classes),
    ]
)
model.compile(
    optimizer="adam", loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"]
)
history = model.fit(train_ds, validation_data=val_ds, epochs=15)  # the tutorial trains 3 on 3,670 photos
print(history.history)
assert sorted(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
assert history.history["loss"][-1] < history.history["loss"][0]
assert history.history["val_accuracy"][-1] > 0.5  # five classes: chance is 0.2
