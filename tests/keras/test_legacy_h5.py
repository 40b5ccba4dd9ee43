"""The legacy HDF5 formats: tf.keras 2's ``.h5`` models read (a committed file built to tf.keras 2.15's
layout, see data/make_tf_keras_2_h5.py), and cnnlab's ``.h5`` / ``save_weights("w.h5")`` written as Keras does."""

import json
import os
from pathlib import Path

os.environ["KERAS_BACKEND"] = "torch"  # before keras is imported: no TensorFlow needed

import h5py  # noqa: E402
import keras as keras3  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from cnnlab import keras  # noqa: E402
from cnnlab.keras import layers  # noqa: E402

pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning",
    "ignore:Do not pass an `input_shape`:UserWarning",
)

TF_KERAS_FILE = Path(__file__).parent / "data" / "tf_keras_2.15_cnn.h5"
IMAGES = np.random.default_rng(0).random((1000, 28, 28, 1), dtype=np.float32)


def reference_outputs(images):
    """The fixture's model computed from its definition with NumPy, its weights read with h5py."""
    with h5py.File(TF_KERAS_FILE) as file:
        group = file["model_weights"]
        kernel, bias = group["conv2d/conv2d/kernel:0"][()], group["conv2d/conv2d/bias:0"][()]
        gamma, beta, mean, variance = (
            group[f"batch_normalization/batch_normalization/{name}:0"][()]
            for name in ("gamma", "beta", "moving_mean", "moving_variance")
        )
        dense, dense_bias = group["dense/dense/kernel:0"][()], group["dense/dense/bias:0"][()]
    x = images.astype(np.float64)
    windows = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(1, 2))  # (n, 26, 26, 1, 3, 3)
    x = np.maximum(np.einsum("nhwcij,ijco->nhwo", windows, kernel) + bias, 0)
    x = (x - mean) / np.sqrt(variance + 1e-3) * gamma + beta
    x = x.reshape(len(x), 13, 2, 13, 2, 4).max(axis=(2, 4))
    logits = x.reshape(len(x), -1) @ dense + dense_bias
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_a_tf_keras_2_model_file_loads_compiled_and_predicts_as_its_definition():
    model = keras.models.load_model(TF_KERAS_FILE)
    assert [layer.name for layer in model.layers] == [
        "conv2d", "batch_normalization", "max_pooling2d", "flatten", "dropout", "dense"
    ]  # fmt: skip
    assert model.get_layer("batch_normalization").axis == 3  # written as [3] by tf.keras 2
    predictions = model.predict(IMAGES, batch_size=250, verbose=0)
    np.testing.assert_allclose(predictions, reference_outputs(IMAGES), rtol=0, atol=1e-5)
    theirs = keras3.models.load_model(TF_KERAS_FILE)  # Keras 3 reads the same file
    np.testing.assert_allclose(predictions, theirs.predict(IMAGES, batch_size=250, verbose=0), rtol=0, atol=1e-5)
    assert type(model.optimizer).__name__ == "Adam" and model.optimizer.get_config()["learning_rate"] == pytest.approx(
        1e-3
    )
    assert model.loss == "sparse_categorical_crossentropy" and model.metrics_names == ["loss", "accuracy"]
    history = model.fit(IMAGES[:32], np.arange(32) % 10, epochs=1, verbose=0)  # it trains on
    assert sorted(history.history) == ["accuracy", "loss"]


def test_load_weights_of_a_legacy_file_goes_by_the_order_of_the_layers_with_weights():
    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(4, 3, activation="relu", name="features"),
            layers.BatchNormalization(name="normalized"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(10, activation="softmax", name="classes"),
        ]
    )
    model.load_weights(TF_KERAS_FILE)
    np.testing.assert_allclose(model.predict(IMAGES[:100], verbose=0), reference_outputs(IMAGES[:100]), atol=1e-5)


def test_cnnlab_writes_h5_as_keras_does_and_training_continues_bit_for_bit(tmp_path):
    keras.utils.set_random_seed(7)
    inputs = keras.Input(shape=(28, 28, 1))
    x = layers.MaxPooling2D()(layers.Conv2D(3, 3, activation="relu")(inputs))
    model = keras.Model(inputs, layers.Dense(10, activation="softmax")(layers.Flatten()(x)))
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    labels = np.arange(1000) % 10
    model.fit(IMAGES[:64], labels[:64], batch_size=16, epochs=1, verbose=0)
    path = tmp_path / "model.h5"
    model.save(path, user_metadata={"epoch": 1})
    assert keras.saving.load_metadata(path) == {"keras_version": "3.15.1", "user_metadata": {"epoch": 1}}
    with h5py.File(path) as file:
        assert json.loads(file.attrs["model_config"])["class_name"] == "Functional"
        assert file.attrs["keras_version"].startswith("3.")
        assert list(file["model_weights"].attrs["layer_names"]) == [
            "input_layer", "conv2d", "max_pooling2d", "flatten", "dense"
        ]  # fmt: skip
        assert list(file["model_weights/conv2d"].attrs["weight_names"]) == ["conv2d/kernel", "conv2d/bias"]
        assert "optimizer_weights" in file
    loaded = keras.models.load_model(path)
    for model_ in (model, loaded):
        keras.utils.set_random_seed(8)
        model_.fit(IMAGES[64:128], labels[64:128], batch_size=16, epochs=1, verbose=0)
    for got, expected in zip(loaded.weights, model.weights, strict=True):
        np.testing.assert_array_equal(got.numpy(), expected.numpy())
    model.save_weights(tmp_path / "weights.h5")
    with h5py.File(tmp_path / "weights.h5") as file:
        assert "layer_names" in file.attrs and "conv2d" in file  # tf.keras 2's weights file: the layers at the root
    fresh = keras.models.clone_model(model)
    fresh.load_weights(tmp_path / "weights.h5")
    np.testing.assert_array_equal(fresh.predict(IMAGES[:10], verbose=0), model.predict(IMAGES[:10], verbose=0))
