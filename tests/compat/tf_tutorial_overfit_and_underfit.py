"""Mirrors TensorFlow's tutorial "Overfit and underfit" (tensorflow.org/tutorials/keras/overfit_and_underfit):
models of growing size trained with an InverseTimeDecay schedule, a binary cross-entropy loss and
metric on logits, EarlyStopping on the validation metric and TensorBoard logs per model; the large
model overfits (its validation loss parts from its training loss), and weight regularization
(``kernel_regularizer=regularizers.l2(0.001)``, whose penalties ``model.losses`` lists and the
training loss includes), Dropout, and the two combined narrow the gap.

On a generated Higgs-like set (28 features, noisy labels) of a few hundred rows, arrays rather than
tf.data, layers of 128 units rather than 512, and tens of epochs rather than thousands.
"""

import pathlib

import numpy as np

import cnnlab as tf
from cnnlab.keras import layers, regularizers

FEATURES = 28
N_TRAIN, N_VALIDATION = 400, 400
BATCH_SIZE = 100
STEPS_PER_EPOCH = N_TRAIN // BATCH_SIZE

rng = np.random.default_rng(0)
features = rng.standard_normal((N_TRAIN + N_VALIDATION, FEATURES)).astype("float32")
signal = features[:, :4].sum(axis=1) + 0.5 * features[:, 4] * features[:, 5]
labels = (signal + rng.standard_normal(len(signal)) * 1.5 > 0).astype("float32")
train_x, validate_x = features[:N_TRAIN], features[N_TRAIN:]
train_y, validate_y = labels[:N_TRAIN], labels[N_TRAIN:]

lr_schedule = tf.keras.optimizers.schedules.InverseTimeDecay(
    0.001, decay_steps=STEPS_PER_EPOCH * 1000, decay_rate=1, staircase=False
)


def get_optimizer():
    return tf.keras.optimizers.Adam(lr_schedule)


logdir = pathlib.Path("tensorboard_logs")


def get_callbacks(name):
    return [
        tf.keras.callbacks.EarlyStopping(monitor="val_binary_crossentropy", patience=200),
        tf.keras.callbacks.TensorBoard(logdir / name),
    ]


def compile_and_fit(model, name, optimizer=None, max_epochs=30):
    if optimizer is None:
        optimizer = get_optimizer()
    model.compile(
        optimizer=optimizer,
        loss=tf.keras.losses.BinaryCrossentropy(from_logits=True),
        metrics=[tf.keras.metrics.BinaryCrossentropy(from_logits=True, name="binary_crossentropy"), "accuracy"],
    )
    model.summary()
    history = model.fit(
        train_x,
        train_y,
        batch_size=BATCH_SIZE,
        epochs=max_epochs,
        validation_data=(validate_x, validate_y),
        callbacks=get_callbacks(name),
        verbose=0,
    )
    return history


size_histories = {}

tiny_model = tf.keras.Sequential([layers.Dense(16, activation="elu", input_shape=(FEATURES,)), layers.Dense(1)])
size_histories["Tiny"] = compile_and_fit(tiny_model, "sizes/Tiny")

large_model = tf.keras.Sequential(
    [
        layers.Dense(128, activation="elu", input_shape=(FEATURES,)),
        layers.Dense(128, activation="elu"),
        layers.Dense(128, activation="elu"),
        layers.Dense(1),
    ]
)
size_histories["large"] = compile_and_fit(large_model, "sizes/large")

dropout_model = tf.keras.Sequential(
    [
        layers.Dense(128, activation="elu", input_shape=(FEATURES,)),
        layers.Dropout(0.5),
        layers.Dense(128, activation="elu"),
        layers.Dropout(0.5),
        layers.Dense(128, activation="elu"),
        layers.Dropout(0.5),
        layers.Dense(1),
    ]
)
regularizer_histories = {}

l2_model = tf.keras.Sequential(
    [
        layers.Dense(128, activation="elu", kernel_regularizer=regularizers.l2(0.001), input_shape=(FEATURES,)),
        layers.Dense(128, activation="elu", kernel_regularizer=regularizers.l2(0.001)),
        layers.Dense(128, activation="elu", kernel_regularizer=regularizers.l2(0.001)),
        layers.Dense(1),
    ]
)
regularizer_histories["l2"] = compile_and_fit(l2_model, "regularizers/l2")

result = l2_model(features)
regularization_loss = tf.add_n(l2_model.losses)
kernels = [layer.kernel.numpy() for layer in l2_model.layers[:3]]
assert len(l2_model.losses) == 3
assert abs(float(regularization_loss) - 0.001 * sum(float(np.sum(k**2)) for k in kernels)) < 1e-4
regularizer_histories["dropout"] = compile_and_fit(dropout_model, "regularizers/dropout")

combined_model = tf.keras.Sequential(
    [
        layers.Dense(128, kernel_regularizer=regularizers.l2(0.0001), activation="elu", input_shape=(FEATURES,)),
        layers.Dropout(0.5),
        layers.Dense(128, kernel_regularizer=regularizers.l2(0.0001), activation="elu"),
        layers.Dropout(0.5),
        layers.Dense(128, kernel_regularizer=regularizers.l2(0.0001), activation="elu"),
        layers.Dropout(0.5),
        layers.Dense(1),
    ]
)
regularizer_histories["combined"] = compile_and_fit(combined_model, "regularizers/combined")


def gap(history):
    """Validation minus training binary cross-entropy at the end (what the tutorial's plots show)."""
    return history.history["val_binary_crossentropy"][-1] - history.history["binary_crossentropy"][-1]


for name, history in {**size_histories, **regularizer_histories}.items():
    print(
        f"{name}: train {history.history['binary_crossentropy'][-1]:.3f}, validation "
        f"{history.history['val_binary_crossentropy'][-1]:.3f}"
    )
    assert set(history.history) == {
        "loss",
        "binary_crossentropy",
        "accuracy",
        "val_loss",
        "val_binary_crossentropy",
        "val_accuracy",
    }
    if name in ("Tiny", "large", "dropout"):  # no regularization: the metric on logits is the loss itself
        np.testing.assert_allclose(history.history["binary_crossentropy"], history.history["loss"], rtol=1e-5)
    else:  # the training loss also holds the weight penalties
        assert all(np.array(history.history["loss"]) > np.array(history.history["binary_crossentropy"]))

large, tiny, dropout = gap(size_histories["large"]), gap(size_histories["Tiny"]), gap(regularizer_histories["dropout"])
l2, combined = gap(regularizer_histories["l2"]), gap(regularizer_histories["combined"])
assert (
    size_histories["large"].history["binary_crossentropy"][-1]
    < size_histories["Tiny"].history["binary_crossentropy"][-1]
)
assert large > tiny and large > 0.1  # the large model overfits
assert dropout < large and l2 < large and combined < large  # each regularization narrows the gap
# TensorBoard logs, one folder per model, as the tutorial then shows with %tensorboard.
assert sorted(path.parent.name for path in logdir.glob("*/*/train")) == ["Tiny", "combined", "dropout", "l2", "large"]
