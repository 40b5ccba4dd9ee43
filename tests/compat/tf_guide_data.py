"""Mirrors TensorFlow's guide "tf.data: Build TensorFlow input pipelines" (tensorflow.org/guide/data):

The basics: iterating and reducing a dataset, element structure and ``element_spec``,
datasets from arrays (Fashion-MNIST-shaped arrays generated here: the suite reads no
real data set) and from Python generators, batching (with ``drop_remainder`` and
``padded_batch``), ``repeat`` before or after ``batch``, ``shuffle``'s buffer, and
training, evaluating and predicting with Keras on datasets.  Left out: file readers
(TFRecord, text, CSV, ``list_files``), ragged / sparse elements, ``window``,
``tf.py_function``, and ``fit``'s ``steps_per_epoch`` / ``steps`` arguments.
"""

import numpy as np

import cnnlab as tf

tf.random.set_seed(0)

# ---- basic mechanics ------------------------------------------------------------------------------
dataset = tf.data.Dataset.from_tensor_slices([8, 3, 0, 8, 2, 1])
print(dataset)
for elem in dataset:
    print(elem.numpy())
assert [elem.numpy() for elem in dataset] == [8, 3, 0, 8, 2, 1]
it = iter(dataset)
print(next(it).numpy())
assert next(iter(dataset)).numpy() == 8
print(dataset.reduce(0, lambda state, value: state + value).numpy())
assert dataset.reduce(0, lambda state, value: state + value).numpy() == 22

# ---- dataset structure ------------------------------------------------------------------------------
dataset1 = tf.data.Dataset.from_tensor_slices(tf.random.uniform([4, 10]))
print(dataset1.element_spec)
assert repr(dataset1.element_spec) == "TensorSpec(shape=(10,), dtype=tf.float32, name=None)"

dataset2 = tf.data.Dataset.from_tensor_slices(
    (tf.random.uniform([4]), tf.random.uniform([4, 100], maxval=100, dtype=tf.int32))
)
print(dataset2.element_spec)
assert repr(dataset2.element_spec) == (
    "(TensorSpec(shape=(), dtype=tf.float32, name=None), TensorSpec(shape=(100,), dtype=tf.int32, name=None))"
)

dataset3 = tf.data.Dataset.zip((dataset1, dataset2))
print(dataset3.element_spec)
assert dataset3.element_spec == (dataset1.element_spec, dataset2.element_spec)
for a, (b, c) in dataset3:
    print("shapes: {a.shape}, {b.shape}, {c.shape}".format(a=a, b=b, c=c))
    assert (a.shape, b.shape, c.shape) == ((10,), (), (100,))

# ---- reading input data: NumPy arrays -----------------------------------------------------------------
rng = np.random.default_rng(0)
labels = rng.integers(0, 10, 2000).astype(np.uint8)
images = rng.integers(0, 60, (2000, 28, 28)).astype(np.uint8)
for image, label in zip(images, labels):  # each class has its own bright rows
    image[2 * label : 2 * label + 6] += 150
train = images, labels

images, labels = train
images = images / 255

dataset = tf.data.Dataset.from_tensor_slices((images, labels))
print(dataset)
assert dataset.element_spec == (tf.TensorSpec([28, 28], tf.float64), tf.TensorSpec([], tf.uint8))


# ---- consuming Python generators -----------------------------------------------------------------------
def count(stop):
    i = 0
    while i < stop:
        yield i
        i += 1


for n in count(5):
    print(n)

ds_counter = tf.data.Dataset.from_generator(count, args=[25], output_types=tf.int32, output_shapes=())
batches = []
for count_batch in ds_counter.repeat().batch(10).take(10):
    print(count_batch.numpy())
    batches.append(count_batch.numpy().tolist())
assert batches[0] == list(range(10)) and batches[2] == [20, 21, 22, 23, 24, 0, 1, 2, 3, 4]
assert len(batches) == 10 and all(len(b) == 10 for b in batches)

# ---- batching -------------------------------------------------------------------------------------------
inc_dataset = tf.data.Dataset.range(100)
dec_dataset = tf.data.Dataset.range(0, -100, -1)
dataset = tf.data.Dataset.zip((inc_dataset, dec_dataset))
batched_dataset = dataset.batch(4)

for batch in batched_dataset.take(4):
    print([arr.numpy() for arr in batch])
first = [arr.numpy().tolist() for arr in next(iter(batched_dataset))]
assert first == [[0, 1, 2, 3], [0, -1, -2, -3]]
print(batched_dataset)
assert batched_dataset.element_spec == (tf.TensorSpec([None], tf.int64), tf.TensorSpec([None], tf.int64))

batched_dataset = dataset.batch(7, drop_remainder=True)
print(batched_dataset)
assert batched_dataset.element_spec == (tf.TensorSpec([7], tf.int64), tf.TensorSpec([7], tf.int64))
assert len(batched_dataset) == 14

dataset = tf.data.Dataset.range(100)
dataset = dataset.map(lambda x: tf.fill([tf.cast(x, tf.int32)], x))
dataset = dataset.padded_batch(4, padded_shapes=(None,))
for batch in dataset.take(2):
    print(batch.numpy())
    print()
padded = [batch.numpy().tolist() for batch in dataset.take(2)]
assert padded[0] == [[0, 0, 0], [1, 0, 0], [2, 2, 0], [3, 3, 3]]
assert padded[1] == [[4, 4, 4, 4, 0, 0, 0], [5, 5, 5, 5, 5, 0, 0], [6, 6, 6, 6, 6, 6, 0], [7, 7, 7, 7, 7, 7, 7]]

# ---- training workflows: repeat and batch ------------------------------------------------------------------
titanic_lines = tf.data.Dataset.range(627)  # the guide's titanic training file has 627 lines


def batch_sizes(ds):
    return [batch.shape[0] for batch in ds]


titanic_batches = titanic_lines.repeat(3).batch(128)
assert batch_sizes(titanic_batches) == [128] * 14 + [89]  # batches straddle the epochs
titanic_batches = titanic_lines.batch(128).repeat(3)
assert batch_sizes(titanic_batches) == [128, 128, 128, 128, 115] * 3  # each epoch ends with a short batch

epochs = 3
dataset = titanic_lines.batch(128)
seen = []
for epoch in range(epochs):
    for batch in dataset:
        seen.append(batch.shape[0])
    print("End of epoch: ", epoch)
assert seen == [128, 128, 128, 128, 115] * 3

# ---- randomly shuffling input data -----------------------------------------------------------------------------
lines = tf.data.Dataset.range(627)
counter = tf.data.Dataset.range(10_000)  # the guide's experimental.Counter(), cut to a length
dataset = tf.data.Dataset.zip((counter, lines))
dataset = dataset.shuffle(buffer_size=100)
dataset = dataset.batch(20)
print(dataset)
n, line_batch = next(iter(dataset))
print(n.numpy())
# Since the buffer_size is 100 and the batch size 20, the first batch has no element with an index over 120.
assert n.numpy().max() < 120 and len(set(n.numpy().tolist())) == 20

dataset = tf.data.Dataset.zip((counter, lines))
shuffled = dataset.shuffle(buffer_size=100).batch(10).repeat(2)
print("Here are the item ID's near the epoch boundary:\n")
ids = [n.numpy() for n, line_batch in shuffled]
for n in ids[60:65]:
    print(n)
# Shuffling before repeating keeps the epochs apart: each epoch holds every line once.
first_epoch, second_epoch = np.concatenate(ids[:63]), np.concatenate(ids[63:])
assert sorted(first_epoch.tolist()) == list(range(627)) == sorted(second_epoch.tolist())
assert first_epoch.tolist() != second_epoch.tolist()  # reshuffled for the second epoch

dataset = tf.data.Dataset.zip((counter, lines))
shuffled = dataset.repeat(2).shuffle(buffer_size=100).batch(10)
ids = np.concatenate([n.numpy() for n, line_batch in shuffled])
# Repeating first mixes the epochs near their boundary.
assert len(ids) == 1254 and sorted(ids.tolist()) == sorted(list(range(627)) * 2)

# ---- using tf.data with tf.keras ---------------------------------------------------------------------------------
images, labels = train
images = images / 255.0
labels = labels.astype(np.int32)
fmnist_train_ds = tf.data.Dataset.from_tensor_slices((images, labels))
fmnist_train_ds = fmnist_train_ds.shuffle(5000).batch(32)

model = tf.keras.Sequential([tf.keras.layers.Flatten(), tf.keras.layers.Dense(10)])
model.compile(
    optimizer="adam", loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"]
)
history = model.fit(fmnist_train_ds, epochs=2, verbose=2)
assert history.history["loss"][1] < history.history["loss"][0]

loss, accuracy = model.evaluate(fmnist_train_ds, verbose=0)
print("Loss :", loss)
print("Accuracy :", accuracy)
assert accuracy > 0.9

predict_ds = tf.data.Dataset.from_tensor_slices(images).batch(32)
result = model.predict(predict_ds.take(10), verbose=0)
print(result.shape)
assert result.shape == (320, 10)
result = model.predict(fmnist_train_ds.take(10), verbose=0)  # the labels are ignored
print(result.shape)
assert result.shape == (320, 10)
print("All the guide's outputs checked.")
