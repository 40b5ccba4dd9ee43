"""``tf.keras`` in cnnlab: layers, models, training, and everything around them.

    import cnnlab as tf
    from cnnlab.keras.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D

    model = tf.keras.Sequential()
    model.add(Conv2D(10, (3, 3), activation="relu", padding="same", input_shape=(28, 28, 1)))
    model.add(MaxPooling2D((2, 2)))
    model.add(Flatten())
    model.add(Dropout(0.5))
    model.add(Dense(100, activation="relu"))
    model.add(Dense(10, activation="softmax"))
    model.summary()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, y_train_encoded, epochs=20, validation_data=(x_val, y_val_encoded))

``keras.datasets`` loads on first use.
"""

import importlib

from . import (
    activations,
    backend,
    callbacks,
    constraints,
    initializers,
    layers,
    losses,
    metrics,
    models,
    ops,
    optimizers,
    random,
    regularizers,
    saving,
    utils,
)
from .layers import Input, InputLayer, Layer
from .models import Model, Sequential

__all__ = [
    "Input",
    "InputLayer",
    "Layer",
    "Model",
    "Sequential",
    "activations",
    "backend",
    "callbacks",
    "constraints",
    "datasets",
    "initializers",
    "layers",
    "losses",
    "metrics",
    "models",
    "ops",
    "optimizers",
    "random",
    "regularizers",
    "saving",
    "utils",
]


def __getattr__(name):
    # The datasets package loads lazily: it is the only part of keras that touches files on import.
    if name == "datasets":
        return importlib.import_module(".datasets", __name__)
    raise AttributeError(f"module 'cnnlab.keras' has no attribute {name!r}")
