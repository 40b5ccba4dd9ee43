"""Mirrors keras.io's guide "Training & evaluation with the built-in methods"
(keras.io/guides/training_with_built_in_methods), the parts that use one input and one output:
a functional MNIST classifier compiled with optimizer / loss / metric objects, fit with
validation_data and the History it returns, evaluate and predict; compile with string
identifiers; custom losses as a function (one-hot targets from ``keras.ops.one_hot``) and as a
``keras.losses.Loss`` subclass; a custom ``keras.metrics.Metric`` with ``add_variable`` /
``update_state`` / ``result`` / ``reset_state``; validation_split; ``tf.data`` datasets for
training and validation; and the callbacks part: EarlyStopping with verbose=1, a LossHistory
callback, ModelCheckpoint saving the best model per epoch and every n batches with a
make-or-restore function, an ExponentialDecay schedule and TensorBoard.

On generated MNIST-shaped digits flattened to 784 floats (cnnlab has no MNIST loader, and the
suite never reads a real data set), with fewer samples and epochs.  The guide's other parts
(``add_loss`` from layers, ``steps_per_epoch`` / ``validation_steps``, a PyDataset,
``sample_weight`` / ``class_weight`` and models of several inputs and outputs) are in
keras_io_training_and_evaluation_more.py.
"""

import contextlib
import io
import os
import re
from pathlib import Path

import numpy as np

import cnnlab as tf
from cnnlab import keras
from cnnlab.keras import layers, ops

inputs = keras.Input(shape=(784,), name="digits")
x = layers.Dense(64, activation="relu", name="dense_1")(inputs)
x = layers.Dense(64, activation="relu", name="dense_2")(x)
outputs = layers.Dense(10, activation="softmax", name="predictions")(x)

model = keras.Model(inputs=inputs, outputs=outputs)


def load_mnist_like(rng, count):
    """Stand-in for ``keras.datasets.mnist.load_data()``: a stroke, whose place depends on the
    digit, in strong noise."""
    labels = rng.integers(0, 10, count).astype(np.uint8)
    images = rng.integers(0, 130, (count, 28, 28), dtype=np.uint8)
    for image, label in zip(images, labels):
        image[4:24, 4 + 2 * label : 6 + 2 * label] += 110
    return images, labels


rng = np.random.default_rng(5)
(x_train, y_train), (x_test, y_test) = load_mnist_like(rng, 1200), load_mnist_like(rng, 200)

# Preprocess the data (these are NumPy arrays)
x_train = x_train.reshape(1200, 784).astype("float32") / 255
x_test = x_test.reshape(200, 784).astype("float32") / 255

y_train = y_train.astype("float32")
y_test = y_test.astype("float32")

# Reserve 200 samples for validation
x_val = x_train[-200:]
y_val = y_train[-200:]
x_train = x_train[:-200]
y_train = y_train[:-200]

model.compile(
    optimizer=keras.optimizers.RMSprop(),  # Optimizer
    # Loss function to minimize
    loss=keras.losses.SparseCategoricalCrossentropy(),
    # List of metrics to monitor
    metrics=[keras.metrics.SparseCategoricalAccuracy()],
)

print("Fit model on training data")
history = model.fit(
    x_train,
    y_train,
    batch_size=64,
    epochs=2,
    # We pass some validation for
    # monitoring validation loss and metrics
    # at the end of each epoch
    validation_data=(x_val, y_val),
)
print(history.history)
assert list(history.history) == ["loss", "sparse_categorical_accuracy", "val_loss", "val_sparse_categorical_accuracy"]
assert all(len(values) == 2 for values in history.history.values())

# Evaluate the model on the test data using `evaluate`
print("Evaluate on test data")
results = model.evaluate(x_test, y_test, batch_size=128)
print("test loss, test acc:", results)
assert len(results) == 2 and results[0] < history.history["loss"][0] and 0.5 < results[1] <= 1

# Generate predictions (probabilities -- the output of the last layer)
# on new data using `predict`
print("Generate predictions for 3 samples")
predictions = model.predict(x_test[:3])
print("predictions shape:", predictions.shape)
assert predictions.shape == (3, 10)
np.testing.assert_allclose(predictions.sum(axis=1), 1.0, rtol=1e-5)

model.compile(
    optimizer="rmsprop",
    loss="sparse_categorical_crossentropy",
    metrics=["sparse_categorical_accuracy"],
)


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


# ---- custom losses ----------------------------------------------------------------------
def custom_mean_squared_error(y_true, y_pred):
    return ops.mean(ops.square(y_true - y_pred), axis=-1)


model = get_uncompiled_model()
model.compile(optimizer=keras.optimizers.Adam(), loss=custom_mean_squared_error)

# We need to one-hot encode the labels to use MSE
y_train_one_hot = ops.one_hot(y_train, num_classes=10)
assert y_train_one_hot.shape == (1000, 10)
history = model.fit(x_train, y_train_one_hot, batch_size=64, epochs=1)
prediction = model.predict(x_train[:64], verbose=0)
expected = np.mean(np.mean((y_train_one_hot.numpy()[:64] - prediction) ** 2, axis=-1))
np.testing.assert_allclose(model.evaluate(x_train[:64], y_train_one_hot[:64], verbose=0), expected, rtol=1e-5)


class CustomMSE(keras.losses.Loss):
    def __init__(self, regularization_factor=0.1, name="custom_mse"):
        super().__init__(name=name)
        self.regularization_factor = regularization_factor

    def call(self, y_true, y_pred):
        mse = ops.mean(ops.square(y_true - y_pred), axis=-1)
        reg = ops.mean(ops.square(0.5 - y_pred), axis=-1)
        return mse + reg * self.regularization_factor


model = get_uncompiled_model()
model.compile(optimizer=keras.optimizers.Adam(), loss=CustomMSE())

y_train_one_hot = ops.one_hot(y_train, num_classes=10)
model.fit(x_train, y_train_one_hot, batch_size=64, epochs=1)
prediction = model.predict(x_train[:64], verbose=0)
expected = np.mean(
    np.mean((y_train_one_hot.numpy()[:64] - prediction) ** 2, axis=-1) + 0.1 * np.mean((0.5 - prediction) ** 2, axis=-1)
)
np.testing.assert_allclose(model.evaluate(x_train[:64], y_train_one_hot[:64], verbose=0), expected, rtol=1e-5)


# ---- custom metrics ---------------------------------------------------------------------
class CategoricalTruePositives(keras.metrics.Metric):
    def __init__(self, name="categorical_true_positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.true_positives = self.add_variable(shape=(), name="ctp", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = ops.reshape(ops.argmax(y_pred, axis=1), (-1, 1))
        values = ops.cast(y_true, "int32") == ops.cast(y_pred, "int32")
        values = ops.cast(values, "float32")
        if sample_weight is not None:
            sample_weight = ops.cast(sample_weight, "float32")
            values = ops.multiply(values, sample_weight)
        self.true_positives.assign_add(ops.sum(values))

    def result(self):
        return self.true_positives.value

    def reset_state(self):
        # The state of the metric will be reset at the start of each epoch.
        self.true_positives.assign(0.0)


model = get_uncompiled_model()
model.compile(
    optimizer=keras.optimizers.RMSprop(learning_rate=1e-3),
    loss=keras.losses.SparseCategoricalCrossentropy(),
    metrics=[CategoricalTruePositives()],
)
history = model.fit(x_train, y_train, batch_size=64, epochs=3)
assert list(history.history) == ["categorical_true_positives", "loss"]
# The guide's metric compares labels of shape (batch,) with predictions of shape (batch, 1): NumPy-style
# broadcasting counts every pair of a batch whose label equals the other's prediction, as Keras shows.
manual = CategoricalTruePositives()
manual.update_state(y_train[:64], model.predict(x_train[:64], verbose=0))
assert float(manual.result()) > 64 or float(manual.result()) == 0
manual.reset_state()
assert float(manual.result()) == 0.0

# ---- validation_split and tf.data ---------------------------------------------------------
model = get_compiled_model()
history = model.fit(x_train, y_train, batch_size=64, validation_split=0.2, epochs=1)
assert "val_sparse_categorical_accuracy" in history.history

model = get_compiled_model()

# First, let's create a training Dataset instance.
# For the sake of our example, we'll use the same MNIST data as before.
train_dataset = tf.data.Dataset.from_tensor_slices((x_train, y_train))
# Shuffle and slice the dataset.
train_dataset = train_dataset.shuffle(buffer_size=1024).batch(64)

# Now we get a test dataset.
test_dataset = tf.data.Dataset.from_tensor_slices((x_test, y_test))
test_dataset = test_dataset.batch(64)

# Since the dataset already takes care of batching,
# we don't pass a `batch_size` argument.
model.fit(train_dataset, epochs=3)

# You can also evaluate or predict on a dataset.
print("Evaluate")
result = model.evaluate(test_dataset)
print(dict(zip(model.metrics_names, result)))
assert result[1] > 0.5

# Prepare the validation dataset
val_dataset = tf.data.Dataset.from_tensor_slices((x_val, y_val))
val_dataset = val_dataset.batch(64)
history = model.fit(train_dataset, epochs=1, validation_data=val_dataset)
np.testing.assert_allclose(history.history["val_loss"][-1], model.evaluate(x_val, y_val, verbose=0)[0], rtol=1e-5)

# ---- callbacks ----------------------------------------------------------------------------
model = get_compiled_model()

callbacks = [
    keras.callbacks.EarlyStopping(
        # Stop training when `val_loss` is no longer improving
        monitor="val_loss",
        # "no longer improving" being defined as "no better than 1e-2 less"
        min_delta=1e-2,
        # "no longer improving" being further defined as "for at least 2 epochs"
        patience=2,
        verbose=1,
    )
]
printed = io.StringIO()
with contextlib.redirect_stdout(printed):
    history = model.fit(x_train, y_train, epochs=20, batch_size=64, callbacks=callbacks, validation_split=0.2)
print(printed.getvalue(), end="")
epochs_run = len(history.history["loss"])
assert epochs_run < 20 and printed.getvalue().endswith(f"Epoch {epochs_run}: early stopping\n")


class LossHistory(keras.callbacks.Callback):
    def on_train_begin(self, logs):
        self.per_batch_losses = []

    def on_batch_end(self, batch, logs):
        self.per_batch_losses.append(logs.get("loss"))


loss_history = LossHistory()
model = get_compiled_model()
model.fit(x_train, y_train, epochs=2, batch_size=100, callbacks=[loss_history], verbose=0)
assert len(loss_history.per_batch_losses) == 2 * 10 and all(isinstance(v, float) for v in loss_history.per_batch_losses)

model = get_compiled_model()

callbacks = [
    keras.callbacks.ModelCheckpoint(
        # Path where to save the model
        # The two parameters below mean that we will overwrite
        # the current checkpoint if and only if
        # the `val_loss` score has improved.
        # The saved model name will include the current epoch.
        filepath="mymodel_{epoch}.keras",
        save_best_only=True,  # Only save a model if `val_loss` has improved.
        monitor="val_loss",
        verbose=1,
    )
]
printed = io.StringIO()
with contextlib.redirect_stdout(printed):
    history = model.fit(x_train, y_train, epochs=2, batch_size=64, callbacks=callbacks, validation_split=0.2)
print(printed.getvalue(), end="")
saved = sorted(path.name for path in Path().glob("mymodel_*.keras"))
assert saved == ["mymodel_1.keras", "mymodel_2.keras"][: len(saved)] and saved[0] == "mymodel_1.keras"
assert re.search(
    r"\nEpoch 1: val_loss improved from inf to \d+\.\d{5}, saving model to mymodel_1\.keras\n", printed.getvalue()
)
reloaded = keras.models.load_model(saved[-1])
np.testing.assert_allclose(reloaded.predict(x_test, verbose=0), model.predict(x_test, verbose=0), rtol=1e-6)

# Prepare a directory to store all the checkpoints.
checkpoint_dir = "./ckpt"
if not os.path.exists(checkpoint_dir):
    os.makedirs(checkpoint_dir)


def make_or_restore_model():
    # Either restore the latest model, or create a fresh one
    # if there is no checkpoint available.
    checkpoints = [checkpoint_dir + "/" + name for name in os.listdir(checkpoint_dir)]
    if checkpoints:
        latest_checkpoint = max(checkpoints, key=os.path.getctime)
        print("Restoring from", latest_checkpoint)
        return keras.models.load_model(latest_checkpoint)
    print("Creating a new model")
    return get_compiled_model()


model = make_or_restore_model()
callbacks = [
    # This callback saves the model every 5 batches.
    # We include the training loss in the saved model name.
    keras.callbacks.ModelCheckpoint(filepath=checkpoint_dir + "/model-loss={loss:.2f}.keras", save_freq=5)
]
model.fit(x_train, y_train, epochs=1, callbacks=callbacks)
names = os.listdir(checkpoint_dir)
assert len(names) >= 1 and all(re.fullmatch(r"model-loss=\d+\.\d\d\.keras", name) for name in names), names
restored = make_or_restore_model()
assert restored.count_params() == model.count_params()

# ---- learning rate schedules and TensorBoard ----------------------------------------------------
initial_learning_rate = 0.1
lr_schedule = keras.optimizers.schedules.ExponentialDecay(
    initial_learning_rate, decay_steps=100000, decay_rate=0.96, staircase=True
)

optimizer = keras.optimizers.RMSprop(learning_rate=lr_schedule)
np.testing.assert_allclose(float(lr_schedule(100000)), 0.096, rtol=1e-6)

model = get_uncompiled_model()
model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["sparse_categorical_accuracy"])

tensorboard_callback = keras.callbacks.TensorBoard(
    log_dir="./full_path_to_your_logs",
    histogram_freq=0,  # How often to log histogram visualizations
    embeddings_freq=0,  # How often to log embedding visualizations
    update_freq="epoch",
)  # How often to write logs (default: once per epoch)
model.fit(x_train, y_train, epochs=2, validation_split=0.2, callbacks=[tensorboard_callback], verbose=0)
assert any(Path("full_path_to_your_logs").rglob("events.out.tfevents.*"))
