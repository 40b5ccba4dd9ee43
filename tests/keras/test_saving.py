"""Saving and loading: one-file round trips, resuming training, weights only, and damaged files."""

import io
import json
import os
import zipfile

import numpy as np
import pytest

import cnnlab as tf
from cnnlab import keras
from cnnlab.keras.layers import BatchNormalization, Conv2D, Dense, Dropout, Flatten, Input, MaxPooling2D
from cnnlab.keras.saving import ModelFileError
from old_format import save_old_format


def clothing_cnn():
    model = tf.keras.Sequential()
    model.add(Conv2D(4, (3, 3), activation="relu", padding="same", input_shape=(8, 8, 1)))
    model.add(MaxPooling2D((2, 2)))
    model.add(BatchNormalization())
    model.add(Flatten())
    model.add(Dropout(0.5))
    model.add(Dense(6, activation="relu"))
    model.add(Dense(3, activation="softmax"))
    return model


def data(n=24, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 8, 8, 1), dtype=np.float32), keras.utils.to_categorical(rng.integers(0, 3, n), 3)


@pytest.fixture
def trained(tmp_path):
    keras.utils.set_random_seed(0)
    model = clothing_cnn()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(*data(), epochs=1, batch_size=8, verbose=0)
    return model


def test_round_trip_is_bit_identical_and_compiled(trained, tmp_path):
    path = tmp_path / "model.keras"
    trained.save(path)
    assert [p.name for p in tmp_path.iterdir()] == ["model.keras"]  # nothing temporary left behind
    loaded = tf.keras.models.load_model(path)
    x, y = data(10, seed=1)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), trained.predict(x, verbose=0))
    assert [type(layer).__name__ for layer in loaded.layers] == [type(layer).__name__ for layer in trained.layers]
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in trained.layers]
    for got, expected in zip(loaded.weights, trained.weights):
        assert got.trainable == expected.trainable
        np.testing.assert_array_equal(got.numpy(), expected.numpy())
    assert type(loaded.optimizer).__name__ == "Adam" and loaded.loss == "categorical_crossentropy"
    assert loaded.metrics_names == ["loss", "accuracy"]
    assert int(loaded.optimizer.iterations.numpy()) == 3
    assert loaded.evaluate(x, y, verbose=0) == trained.evaluate(x, y, verbose=0)
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
        config = json.loads(archive.read("config.json"))
    assert config["class_name"] == "Sequential"
    assert [layer["class_name"] for layer in config["config"]["layers"]][:2] == ["Conv2D", "MaxPooling2D"]
    assert config["config"]["layers"][0]["config"]["kernel_initializer"]["class_name"] == "GlorotUniform"


def test_training_continues_identically_after_reload(trained, tmp_path):
    path = tmp_path / "checkpoint.keras"
    trained.save(path)
    resumed = keras.models.load_model(path)
    x, y = data(seed=2)
    keras.utils.set_random_seed(11)
    trained.fit(x, y, epochs=2, batch_size=8, verbose=0)
    keras.utils.set_random_seed(11)
    resumed.fit(x, y, epochs=2, batch_size=8, verbose=0)
    for got, expected in zip(resumed.get_weights(), trained.get_weights()):
        np.testing.assert_array_equal(got, expected)
    for key, value in trained.optimizer.get_state().items():
        np.testing.assert_array_equal(resumed.optimizer.get_state()[key], value)


def test_user_metadata_and_uncompiled_models(tmp_path):
    model = clothing_cnn()
    model.save(tmp_path / "fresh.keras", user_metadata={"epoch": 3, "note": "resume here"})
    metadata = keras.saving.load_metadata(tmp_path / "fresh.keras")
    assert metadata["user_metadata"] == {"epoch": 3, "note": "resume here"}
    assert sorted(metadata) == ["cnnlab_version", "date_saved", "keras_version", "user_metadata"]
    loaded = keras.models.load_model(tmp_path / "fresh.keras")
    assert not loaded.compiled
    with pytest.raises(TypeError, match="JSON-serializable"):
        model.save(tmp_path / "bad.keras", user_metadata={"when": object()})
    with pytest.raises(FileExistsError, match="overwrite=True"):
        model.save(tmp_path / "fresh.keras", overwrite=False)


def test_save_weights_and_load_weights(trained, tmp_path):
    trained.save_weights(tmp_path / "w.weights")
    fresh = clothing_cnn()
    fresh.load_weights(tmp_path / "w.weights")
    x, _ = data(5, seed=3)
    np.testing.assert_array_equal(fresh.predict(x, verbose=0), trained.predict(x, verbose=0))
    trained.save(tmp_path / "whole.keras")
    other = clothing_cnn()
    other.load_weights(tmp_path / "whole.keras")  # a whole-model file has the weights too
    np.testing.assert_array_equal(other.predict(x, verbose=0), trained.predict(x, verbose=0))
    with pytest.raises(ModelFileError, match="holds weights only"):
        keras.models.load_model(tmp_path / "w.weights")
    with pytest.raises(ModelFileError, match="an HDF5 weights file, which has no metadata"):
        keras.saving.load_metadata(tmp_path / "w.weights")
    wider = keras.Sequential(
        [
            Input(shape=(8, 8, 1)),
            Conv2D(5, 3, padding="same"),
            MaxPooling2D(),
            BatchNormalization(),
            Flatten(),
            Dropout(0.5),
            Dense(6),
            Dense(3),
        ]
    )
    with pytest.raises(
        ModelFileError, match=r"w.weights.*weight 0 of 'conv2d' \('kernel'\) has shape \(3, 3, 1, 4\) in the file"
    ):
        wider.load_weights(tmp_path / "w.weights")
    with pytest.raises(ModelFileError, match=r"weight 0 of 'dense' \('kernel'\) has shape \(64, 6\)"):
        keras.Sequential([Input(shape=(3,)), Dense(2)]).load_weights(tmp_path / "w.weights")
    with pytest.raises(ModelFileError, match=r"holds weights at 'layers/dense_1/vars/0' that the model has no place"):
        keras.Sequential([Input(shape=(8, 8, 1)), Conv2D(4, 3, padding="same", activation="relu"), MaxPooling2D(),
                          BatchNormalization(), Flatten(), Dense(6)]).load_weights(tmp_path / "w.weights")  # fmt: skip
    with pytest.raises(ValueError, match="not built"):
        keras.Sequential([Dense(2)]).load_weights(tmp_path / "w.weights")


def test_weights_of_another_float_width_are_converted_as_keras_does(tmp_path):
    # Keras's Variable.assign converts what it loads; a Keras model saved under floatx float64 holds
    # float64 weights and learning rate, which a float32 model takes rounded (and the other way round).
    keras.utils.set_random_seed(3)
    wide = keras.Sequential([Input(shape=(3,), dtype="float64"), Dense(2, dtype="float64")])
    wide.save_weights(tmp_path / "wide.weights.h5")
    narrow = keras.Sequential([Input(shape=(3,)), Dense(2)])
    narrow.load_weights(tmp_path / "wide.weights.h5")
    for ours, theirs in zip(narrow.weights, wide.weights, strict=True):
        assert ours.dtype == np.float32
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy().astype(np.float32))
    narrow.save_weights(tmp_path / "narrow.weights.h5")
    wide.load_weights(tmp_path / "narrow.weights.h5")
    for ours, theirs in zip(wide.weights, narrow.weights, strict=True):
        assert ours.dtype == np.float64
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_functional_and_subclassed_models_round_trip(tmp_path):
    inputs = keras.Input(shape=(4,))
    hidden = Dense(5, activation="relu")(inputs)
    functional = keras.Model(inputs, [hidden, Dense(2, activation="softmax")(hidden)])
    functional.save(tmp_path / "functional.keras")
    loaded = keras.models.load_model(tmp_path / "functional.keras")
    x = np.random.default_rng(0).random((3, 4), dtype=np.float32)
    for got, expected in zip(loaded.predict(x, verbose=0), functional.predict(x, verbose=0)):
        np.testing.assert_array_equal(got, expected)

    class Scaled(keras.Model):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.dense = Dense(units)

        def call(self, x):
            return self.dense(x) * 2.0

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    model = Scaled(3)
    model(x)
    model.save(tmp_path / "scaled.keras")
    with pytest.raises(ModelFileError, match="Unknown class 'Scaled'.*custom_objects"):
        keras.models.load_model(tmp_path / "scaled.keras")
    restored = keras.models.load_model(tmp_path / "scaled.keras", custom_objects={"Scaled": Scaled})
    np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))


def _rewrite(path, replace):
    """Rewrite the archive at ``path`` with some members replaced (the way someone tampering would)."""
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members.update(replace(members))
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)


def test_truncated_file_fails_clearly(trained, tmp_path):
    path = tmp_path / "model.keras"
    trained.save(path)
    content = path.read_bytes()
    path.write_bytes(content[: len(content) // 2])
    with pytest.raises(ModelFileError, match=r"cannot read '.*model.keras'.*truncated or corrupted"):
        keras.models.load_model(path)
    path.write_bytes(b"")
    with pytest.raises(ModelFileError, match="model.keras"):
        keras.models.load_model(path)
    with pytest.raises(FileNotFoundError, match="no such file: '.*missing.keras'"):
        keras.models.load_model(tmp_path / "missing.keras")


def test_corrupted_bytes_fail_the_checksum(trained, tmp_path):
    path = tmp_path / "model.keras"
    trained.save(path)
    content = bytearray(path.read_bytes())
    offset = content.find(b"model.weights.h5") + 2000  # inside the stored weights: the zip's CRC-32 catches it
    content[offset] ^= 0xFF
    path.write_bytes(bytes(content))
    with pytest.raises(ModelFileError, match="model.keras"):
        keras.models.load_model(path)


def test_tampered_weight_shape_fails_clearly(trained, tmp_path):
    path = tmp_path / "model.keras"
    save_old_format(trained, path)  # cnnlab's older format, still read

    def shrink_first_weight(members):
        with np.load(io.BytesIO(members["weights.npz"])) as npz:
            arrays = {key: npz[key] for key in npz.files}
        arrays["weight_0000"] = arrays["weight_0000"][:2]
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        return {"weights.npz": buffer.getvalue()}

    _rewrite(path, shrink_first_weight)
    with pytest.raises(ModelFileError, match=r"model.keras.*weight 0 \('conv2d/kernel'\) has shape \(2, 3, 1, 4\)"):
        keras.models.load_model(path)


def test_tampered_json_fails_clearly(trained, tmp_path):
    path = tmp_path / "model.keras"
    save_old_format(trained, path)  # cnnlab's older format, still read
    _rewrite(path, lambda members: {"config.json": b"{ this is not json"})
    with pytest.raises(ModelFileError, match="model.keras.*config.json is not valid JSON"):
        keras.models.load_model(path)
    _rewrite(
        path,
        lambda members: {
            "config.json": json.dumps(
                {
                    "class_name": "Sequential",
                    "config": {"layers": [{"class_name": "Conv2D", "config": {"filters": "ten", "kernel_size": 3}}]},
                }
            ).encode()
        },
    )
    with pytest.raises(ModelFileError, match="architecture in config.json cannot be rebuilt.*filters"):
        keras.models.load_model(path)
    _rewrite(path, lambda members: {"config.json": json.dumps([1, 2, 3]).encode()})
    with pytest.raises(ModelFileError, match="cannot be rebuilt"):
        keras.models.load_model(path)


def test_unknown_version_and_foreign_files_fail_clearly(trained, tmp_path):
    path = tmp_path / "model.keras"
    save_old_format(trained, path)  # cnnlab's older format, still read

    def future_version(members):
        metadata = json.loads(members["metadata.json"])
        metadata["format_version"] = 99
        return {"metadata.json": json.dumps(metadata).encode()}

    _rewrite(path, future_version)
    with pytest.raises(ModelFileError, match="format version 99, but this cnnlab reads version 1"):
        keras.models.load_model(path)
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(ModelFileError, match="no 'metadata.json'"):
        keras.models.load_model(other)


def test_pickled_arrays_are_refused(trained, tmp_path):
    path = tmp_path / "model.keras"
    save_old_format(trained, path)  # cnnlab's older format, still read

    def pickled_weights(members):
        with np.load(io.BytesIO(members["weights.npz"])) as npz:
            arrays = {key: npz[key] for key in npz.files}
        arrays["weight_0000"] = np.array([{"evil": 1}], dtype=object)
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        return {"weights.npz": buffer.getvalue()}

    _rewrite(path, pickled_weights)
    with pytest.raises(ModelFileError, match="without unpickling"):
        keras.models.load_model(path)


def test_a_failed_write_leaves_the_old_file_and_no_temporary(trained, tmp_path, monkeypatch):
    path = tmp_path / "model.keras"
    trained.save(path)
    before = path.read_bytes()
    from cnnlab.keras import saving

    def explode(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(saving, "_keras_archive", explode)
    with pytest.raises(OSError, match="disk full"):
        trained.save(path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["model.keras"]
