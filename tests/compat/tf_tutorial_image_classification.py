"""Mirrors TensorFlow's tutorial "Image classification" (tensorflow.org/tutorials/images/classification):
a folder of flower photos loaded with tf.keras.utils.image_dataset_from_directory (a seeded 80 / 20
split), its class names and batches, cache / shuffle / prefetch, a Rescaling layer mapped over the
dataset and inside a Sequential CNN trained with fit on the datasets, then data augmentation layers
and Dropout against overfitting, and a new picture classified with load_img / img_to_array.

The tutorial downloads 3,670 photos (tf.keras.utils.get_file); here a folder of 5 classes of small
generated "photos" (a colour cast and a blob per class, at random places and sizes, as JPEG and PNG)
(40 per class) takes their place, at 48x48 rather than 180x180 and for a few epochs, so that it runs in seconds.
The TensorFlow Lite conversion at its end is left out (not part of cnnlab), as are the plots.
"""

import pathlib

import numpy as np
import PIL.Image
import PIL.ImageDraw

import cnnlab as tf
from cnnlab import keras
from cnnlab.keras import layers
from cnnlab.keras.models import Sequential

FLOWERS = ("daisy", "dandelion", "roses", "sunflowers", "tulips")
COLOURS = ((230, 230, 240), (240, 220, 40), (200, 30, 60), (250, 170, 20), (180, 60, 200))


def photo(flower, rng):
    """A 'photo' of a flower: green background, a blob of the flower's colour, noise."""
    width, height = rng.integers(40, 80, 2)
    picture = PIL.Image.new("RGB", (int(width), int(height)), (40, 110, 40))
    radius = int(rng.integers(8, 16))
    x, y = rng.integers(radius, width - radius), rng.integers(radius, height - radius)
    PIL.ImageDraw.Draw(picture).ellipse([x - radius, y - radius, x + radius, y + radius], fill=COLOURS[flower])
    noisy = np.asarray(picture, dtype=np.int16) + rng.integers(-20, 20, (int(height), int(width), 3))
    return PIL.Image.fromarray(np.clip(noisy, 0, 255).astype("uint8"))


rng = np.random.default_rng(0)
data_dir = pathlib.Path("flower_photos")
for flower, name in enumerate(FLOWERS):
    (data_dir / name).mkdir(parents=True, exist_ok=True)
    for i in range(40):
        photo(flower, rng).save(data_dir / name / f"{i}.{'jpg' if i % 2 else 'png'}")

image_count = len(list(data_dir.glob("*/*.jpg"))) + len(list(data_dir.glob("*/*.png")))
print(image_count)
assert image_count == 200
roses = list(data_dir.glob("roses/*"))
PIL.Image.open(str(roses[0]))

# ---- load data using a Keras utility --------------------------------------------------------------------

batch_size = 32
img_height = 48
img_width = 48

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
assert class_names == list(FLOWERS)
assert not set(train_ds.file_paths) & set(val_ds.file_paths) and len(val_ds.file_paths) == 40

for images, labels in train_ds.take(1):
    for i in range(9):
        shown = images[i].numpy().astype("uint8")  # the tutorial plots these with their class names
        assert shown.shape == (img_height, img_width, 3) and class_names[labels[i]] in FLOWERS

for image_batch, labels_batch in train_ds:
    print(image_batch.shape)
    print(labels_batch.shape)
    assert image_batch.shape == (32, img_height, img_width, 3) and labels_batch.shape == (32,)
    break

# ---- configure the dataset for performance, standardize the data ----------------------------------------

AUTOTUNE = tf.data.AUTOTUNE
train_ds = train_ds.cache().shuffle(1000).prefetch(buffer_size=AUTOTUNE)
val_ds = val_ds.cache().prefetch(buffer_size=AUTOTUNE)

normalization_layer = layers.Rescaling(1.0 / 255)
normalized_ds = train_ds.map(lambda x, y: (normalization_layer(x), y))
image_batch, labels_batch = next(iter(normalized_ds))
first_image = image_batch[0]
print(np.min(first_image), np.max(first_image))
assert 0.0 <= np.min(first_image) < np.max(first_image) <= 1.0

# ---- a basic Keras model ---------------------------------------------------------------------------------

num_classes = len(class_names)
model = Sequential(
    [
        layers.Rescaling(1.0 / 255, input_shape=(img_height, img_width, 3)),
        layers.Conv2D(16, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(32, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(64, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dense(num_classes),
    ]
)
model.compile(
    optimizer="adam", loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"]
)
model.summary()

epochs = 4
history = model.fit(train_ds, validation_data=val_ds, epochs=epochs)
acc = history.history["accuracy"]
val_acc = history.history["val_accuracy"]
loss = history.history["loss"]
val_loss = history.history["val_loss"]
assert len(acc) == len(val_acc) == epochs and loss[-1] < loss[0]

# ---- overfitting: data augmentation and dropout -----------------------------------------------------------

data_augmentation = keras.Sequential(
    [
        layers.RandomFlip("horizontal", input_shape=(img_height, img_width, 3)),
        layers.RandomRotation(0.1),
        layers.RandomZoom(0.1),
    ]
)
for images, _ in train_ds.take(1):
    for i in range(9):
        augmented_images = data_augmentation(images)
        assert augmented_images[0].numpy().astype("uint8").shape == (img_height, img_width, 3)

model = Sequential(
    [
        data_augmentation,
        layers.Rescaling(1.0 / 255),
        layers.Conv2D(16, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(32, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(64, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(),
        layers.Dropout(0.2),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dense(num_classes, name="outputs"),
    ]
)
model.compile(
    optimizer="adam", loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"]
)
model.summary()
epochs = 12
history = model.fit(train_ds, validation_data=val_ds, epochs=epochs)
print(history.history["val_accuracy"][-1])
assert history.history["loss"][-1] < history.history["loss"][0]
assert history.history["val_accuracy"][-1] > 0.5  # five classes: chance is 0.2

# ---- predict on new data ----------------------------------------------------------------------------------

sunflower_path = pathlib.Path("sunflower.jpg")
photo(FLOWERS.index("sunflowers"), np.random.default_rng(7)).save(sunflower_path)
img = tf.keras.utils.load_img(sunflower_path, target_size=(img_height, img_width))
img_array = tf.keras.utils.img_to_array(img)
img_array = tf.expand_dims(img_array, 0)  # Create a batch

predictions = model.predict(img_array)
score = tf.nn.softmax(predictions[0])
print(
    f"This image most likely belongs to {class_names[np.argmax(score)]} with a {100 * np.max(score):.2f} percent confidence."
)
assert img_array.shape == (1, img_height, img_width, 3) and abs(float(tf.reduce_sum(score)) - 1) < 1e-5
