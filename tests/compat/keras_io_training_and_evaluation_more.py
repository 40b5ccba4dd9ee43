"""Mirrors keras.io's guide "Training & evaluation with the built-in methods"
(keras.io/guides/training_with_built_in_methods), the parts keras_io_training_and_evaluation.py
leaves out: losses that do not fit the standard signature (``add_loss`` from an
ActivityRegularizationLayer, a LogisticEndpoint layer called on targets and logits, compiled
without a loss); ``steps_per_epoch`` and ``validation_steps`` with ``tf.data``; a
``keras.utils.PyDataset``; ``class_weight`` and ``sample_weight`` (arrays and a dataset of
``(x, y, sample_weight)``); and the model of two inputs (an image and a time series of any length)
and two outputs, compiled with lists and dicts of losses, metrics and loss weights (a None loss
for an output), fit on lists, dicts and a dataset of dicts.

On generated MNIST-shaped digits flattened to 784 floats, with fewer samples and epochs.
"""

import numpy as np

import cnnlab as tf
from cnnlab import keras
from cnnlab.keras import layers, ops

rng = np.random.default_rng(4)
labels = rng.integers(0, 10, 1200)
images = rng.random((1200, 28, 28)).astype("float32") * 0.3
for image, label in zip(images, labels):
    image[2 + 2 * label] += 0.7
x_train, y_train = images[:1000].reshape(1000, 784), labels[:1000]
x_test, y_test = images[1000:].reshape(200, 784), labels[1000:]
x_val, y_val = x_train[-200:], y_train[-200:]
x_train, y_train = x_train[:-200], y_train[:-200]


def get_uncompiled_model():
    inputs = keras.Input(shape=(784,), name="digits")
    x = layers.Dense(64, activation="relu", name="dense_1")(inputs)
    x = layers.Dense(64, activation="relu", name="dense_2")(x)
    outputs = layers.Dense(10, activation="softmax", name="predictions")(x)
    model = keras.Model(inputs=inputs, outputs=outputs)
    return model


def get_compiled_model():
    model = get_uncompiled_model()
    model.compile(
        optimizer="rmsprop",
        loss="sparse_categorical_crossentropy",
        metrics=["sparse_categorical_accuracy"],
    )
    return model


# ---- Handling losses and metrics that don't fit the standard signature -----------------------------


class ActivityRegularizationLayer(layers.Layer):
    def call(self, inputs):
        self.add_loss(ops.sum(inputs) * 0.1)
        return inputs  # Pass-through layer.


inputs = keras.Input(shape=(784,), name="digits")
x = layers.Dense(64, activation="relu", name="dense_1")(inputs)

# Insert activity regularization as a layer
x = ActivityRegularizationLayer()(x)

x = layers.Dense(64, activation="relu", name="dense_2")(x)
outputs = layers.Dense(10, name="predictions")(x)

model = keras.Model(inputs=inputs, outputs=outputs)
model.compile(
    optimizer=keras.optimizers.RMSprop(learning_rate=1e-3),
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
)

# The displayed loss will be much higher than before
# due to the regularization component.
history = model.fit(x_train, y_train, batch_size=64, epochs=1, verbose=0)
plain = get_compiled_model().evaluate(x_train, y_train, verbose=0)[0]
assert history.history["loss"][0] > plain


class LogisticEndpoint(keras.layers.Layer):
    def __init__(self, name=None):
        super().__init__(name=name)
        self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)

    def call(self, targets, logits, sample_weights=None):
        # Compute the training-time loss value and add it
        # to the layer using `self.add_loss()`.
        loss = self.loss_fn(targets, logits, sample_weights)
        self.add_loss(loss)

        # Return the inference-time prediction tensor (for `.predict()`).
        return ops.softmax(logits)


inputs = keras.Input(shape=(3,), name="inputs")
targets = keras.Input(shape=(10,), name="targets")
logits = keras.layers.Dense(10)(inputs)
predictions = LogisticEndpoint(name="predictions")(targets, logits)

model = keras.Model(inputs=[inputs, targets], outputs=predictions)
model.compile(optimizer="adam")  # No loss argument!

data = {
    "inputs": rng.random((3, 3)).astype("float32"),
    "targets": rng.random((3, 10)).astype("float32"),
}
history = model.fit(data, verbose=0)
dense = model.layers[2]
logits_now = data["inputs"] @ dense.kernel.numpy() + dense.bias.numpy()
assert model.predict(data, verbose=0).shape == (3, 10)
np.testing.assert_allclose(model.predict(data, verbose=0), tf.nn.softmax(logits_now).numpy(), rtol=1e-5)

# ---- Using steps_per_epoch and validation_steps with tf.data ----------------------------------------

model = get_compiled_model()

# Prepare the training dataset
train_dataset = tf.data.Dataset.from_tensor_slices((x_train, y_train))
train_dataset = train_dataset.shuffle(buffer_size=1024).batch(64)

# Only use the 4 batches per epoch (that's 4 * 64 samples): the epochs read on through the 13 batches
model.fit(train_dataset, epochs=3, steps_per_epoch=4, verbose=0)
assert int(model.optimizer.iterations.numpy()) == 12

# Prepare the validation dataset
val_dataset = tf.data.Dataset.from_tensor_slices((x_val, y_val))
val_dataset = val_dataset.batch(64)

history = model.fit(
    train_dataset,
    epochs=1,
    # Only run validation using the first 2 batches of the dataset
    # using the `validation_steps` argument
    validation_data=val_dataset,
    validation_steps=2,
    verbose=0,
)
first_two = model.evaluate(x_val[:128], y_val[:128], verbose=0)
assert abs(history.history["val_loss"][0] - first_two[0]) < 1e-5


# ---- Using a PyDataset instance as input -------------------------------------------------------------


class ExamplePyDataset(keras.utils.PyDataset):
    def __init__(self, x, y, batch_size, **kwargs):
        super().__init__(**kwargs)
        self.x = x
        self.y = y
        self.batch_size = batch_size

    def __len__(self):
        return int(np.ceil(len(self.x) / float(self.batch_size)))

    def __getitem__(self, idx):
        batch_x = self.x[idx * self.batch_size : (idx + 1) * self.batch_size]
        batch_y = self.y[idx * self.batch_size : (idx + 1) * self.batch_size]
        return batch_x, batch_y


train_py_dataset = ExamplePyDataset(x_train, y_train, batch_size=32)
val_py_dataset = ExamplePyDataset(x_val, y_val, batch_size=32)

model = get_compiled_model()
history = model.fit(train_py_dataset, batch_size=64, validation_data=val_py_dataset, epochs=2, verbose=0)
assert history.history["val_sparse_categorical_accuracy"][-1] > 0.8

# ---- Using sample weighting and class weighting ----------------------------------------------------

class_weight = {
    0: 1.0,
    1: 1.0,
    2: 1.0,
    3: 1.0,
    4: 1.0,
    # Set weight "2" for class "5",
    # making this class 2x more important
    5: 2.0,
    6: 1.0,
    7: 1.0,
    8: 1.0,
    9: 1.0,
}

keras.utils.set_random_seed(5)
model = get_compiled_model()
initial = model.get_weights()
history_class = model.fit(x_train, y_train, class_weight=class_weight, batch_size=64, epochs=1, shuffle=False, verbose=0)
by_class = model.get_weights()

sample_weight = np.ones(shape=(len(y_train),))
sample_weight[y_train == 5] = 2.0

model = get_compiled_model()
model.set_weights(initial)
history_sample = model.fit(
    x_train, y_train, sample_weight=sample_weight, batch_size=64, epochs=1, shuffle=False, verbose=0
)
# The same weights per sample: the same training.
for a, b in zip(by_class, model.get_weights()):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
assert abs(history_class.history["loss"][0] - history_sample.history["loss"][0]) < 1e-5

# Create a Dataset that includes sample weights
# (3rd element in the return tuple).
train_dataset = tf.data.Dataset.from_tensor_slices((x_train, y_train, sample_weight))

# Shuffle and slice the dataset.
train_dataset = train_dataset.shuffle(buffer_size=1024).batch(64)

model = get_compiled_model()
history = model.fit(train_dataset, epochs=1, verbose=0)
assert history.history["loss"][0] > 0

# ---- Passing data to multi-input, multi-output models ------------------------------------------------

image_input = keras.Input(shape=(32, 32, 3), name="img_input")
timeseries_input = keras.Input(shape=(None, 10), name="ts_input")

x1 = layers.Conv2D(3, 3)(image_input)
x1 = layers.GlobalMaxPooling2D()(x1)

x2 = layers.Conv1D(3, 3)(timeseries_input)
x2 = layers.GlobalMaxPooling1D()(x2)

x = layers.concatenate([x1, x2])

score_output = layers.Dense(1, name="score_output")(x)
class_output = layers.Dense(5, name="class_output")(x)

model = keras.Model(inputs=[image_input, timeseries_input], outputs=[score_output, class_output])
keras.utils.plot_model(model, "multi_input_and_output_model.png", show_shapes=True)

model.compile(
    optimizer=keras.optimizers.RMSprop(1e-3),
    loss=[keras.losses.MeanSquaredError(), keras.losses.CategoricalCrossentropy()],
)
model.compile(
    optimizer=keras.optimizers.RMSprop(1e-3),
    loss=[keras.losses.MeanSquaredError(), keras.losses.CategoricalCrossentropy()],
    metrics=[
        [keras.metrics.MeanAbsolutePercentageError(), keras.metrics.MeanAbsoluteError()],
        [keras.metrics.CategoricalAccuracy()],
    ],
)
model.compile(
    optimizer=keras.optimizers.RMSprop(1e-3),
    loss={
        "score_output": keras.losses.MeanSquaredError(),
        "class_output": keras.losses.CategoricalCrossentropy(),
    },
    metrics={
        "score_output": [keras.metrics.MeanAbsolutePercentageError(), keras.metrics.MeanAbsoluteError()],
        "class_output": [keras.metrics.CategoricalAccuracy()],
    },
    loss_weights={"score_output": 2.0, "class_output": 1.0},
)

# Generate dummy NumPy data
img_data = rng.random(size=(100, 32, 32, 3)).astype("float32")
ts_data = rng.random(size=(100, 20, 10)).astype("float32")
score_targets = rng.random(size=(100, 1)).astype("float32")
class_targets = rng.random(size=(100, 5)).astype("float32")

history = model.fit([img_data, ts_data], [score_targets, class_targets], batch_size=32, epochs=1, verbose=0)
print(history.history)
assert sorted(history.history) == [
    "class_output_categorical_accuracy",
    "class_output_loss",
    "loss",
    "score_output_loss",
    "score_output_mean_absolute_error",
    "score_output_mean_absolute_percentage_error",
]
logs = model.evaluate([img_data, ts_data], [score_targets, class_targets], verbose=0, return_dict=True)
assert abs(logs["loss"] - (2.0 * logs["score_output_loss"] + logs["class_output_loss"])) < 1e-4

# List loss version
model.compile(
    optimizer=keras.optimizers.RMSprop(1e-3),
    loss=[None, keras.losses.CategoricalCrossentropy()],
)

# Or dict loss version
model.compile(
    optimizer=keras.optimizers.RMSprop(1e-3),
    loss={"class_output": keras.losses.CategoricalCrossentropy()},
)
history = model.fit([img_data, ts_data], [score_targets, class_targets], batch_size=32, epochs=1, verbose=0)
assert sorted(history.history) == ["loss"]  # one loss: no per-output loss to show

model.compile(
    optimizer=keras.optimizers.RMSprop(1e-3),
    loss=[keras.losses.MeanSquaredError(), keras.losses.CategoricalCrossentropy()],
)

# Fit on lists
model.fit([img_data, ts_data], [score_targets, class_targets], batch_size=32, epochs=1, verbose=0)

# Alternatively, fit on dicts
model.fit(
    {"img_input": img_data, "ts_input": ts_data},
    {"score_output": score_targets, "class_output": class_targets},
    batch_size=32,
    epochs=1,
    verbose=0,
)

train_dataset = tf.data.Dataset.from_tensor_slices(
    (
        {"img_input": img_data, "ts_input": ts_data},
        {"score_output": score_targets, "class_output": class_targets},
    )
)
train_dataset = train_dataset.shuffle(buffer_size=1024).batch(64)

history = model.fit(train_dataset, epochs=1, verbose=0)
assert sorted(history.history) == ["class_output_loss", "loss", "score_output_loss"]
score, classes = model.predict([img_data[:4], ts_data[:4, :7]], verbose=0)  # a shorter series: any length
assert score.shape == (4, 1) and classes.shape == (4, 5)
