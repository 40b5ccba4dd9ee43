"""The one serializer in Keras 3's schema: to_json / model_from_json, Model.from_config, layers.serialize /
deserialize, custom_object_scope, register_keras_serializable; and plot_model."""

import json
import os

os.environ["KERAS_BACKEND"] = "torch"  # before keras is imported: no TensorFlow needed

import keras as keras3  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import cnnlab as tf  # noqa: E402
from cnnlab import keras  # noqa: E402
from cnnlab.keras import layers, serialization  # noqa: E402

# Keras 3 on NumPy 2 warns about its own tensors' __array__; nothing of cnnlab's.
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)

SCHEMA_KEYS = {"module", "class_name", "config", "registered_name"}


def functional_model():
    inputs = keras.Input((8, 8, 1))
    x = layers.Conv2D(4, 3, activation="relu")(inputs)
    x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.25)(x)
    outputs = layers.Dense(3, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="classifier")


def test_to_json_emits_keras_3_schema_and_round_trips():
    model = functional_model()
    model.compile(
        optimizer=keras.optimizers.Nadam(0.002),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy", keras.metrics.AUC()],
    )
    text = model.to_json()
    config = json.loads(text)
    assert SCHEMA_KEYS <= set(config)
    assert (config["module"], config["class_name"], config["registered_name"]) == (
        "keras.src.models.functional",
        "Functional",
        None,
    )
    assert config["build_config"] == {"input_shape": [None, 8, 8, 1]}
    layer_entries = config["config"]["layers"]
    assert [entry["class_name"] for entry in layer_entries] == [
        "InputLayer",
        "Conv2D",
        "MaxPooling2D",
        "Flatten",
        "Dropout",
        "Dense",
    ]
    for entry in layer_entries:
        assert SCHEMA_KEYS <= set(entry) and entry["module"] == "keras.layers" and entry["registered_name"] is None
    assert layer_entries[1]["build_config"] == {"input_shape": [None, 8, 8, 1]}
    assert layer_entries[1]["config"]["kernel_initializer"] == {
        "module": "keras.initializers",
        "class_name": "GlorotUniform",
        "config": {"seed": None},
        "registered_name": None,
    }
    compile_config = config["compile_config"]
    assert (
        compile_config["optimizer"]["module"] == "keras.optimizers"
        and compile_config["optimizer"]["class_name"] == "Nadam"
    )
    assert compile_config["loss"] == "sparse_categorical_crossentropy"
    assert compile_config["metrics"][0] == "accuracy" and compile_config["metrics"][1]["class_name"] == "AUC"

    again = keras.models.model_from_json(text)
    assert type(again).__name__ == "Functional" and again.name == "classifier"
    assert json.loads(again.to_json()) == config  # its own JSON round-trips
    assert again.compiled and type(again.optimizer) is keras.optimizers.Nadam
    assert float(again.optimizer.learning_rate) == pytest.approx(0.002)
    assert again.count_params() == model.count_params()


def test_model_from_config_rebuilds_functional_and_sequential():
    model = functional_model()
    config = model.get_config()
    rebuilt = keras.Model.from_config(config)
    assert type(rebuilt).__name__ == "Functional" and rebuilt.get_config() == config
    x = np.random.default_rng(0).random((2, 8, 8, 1)).astype(np.float32)
    rebuilt.set_weights(model.get_weights())
    np.testing.assert_allclose(rebuilt.predict(x, verbose=0), model.predict(x, verbose=0))
    stack = keras.Sequential(
        [keras.Input((5,)), layers.Dense(4, activation="elu"), layers.LayerNormalization(), layers.Dense(1)]
    )
    again = keras.Sequential.from_config(stack.get_config())
    assert again.get_config() == stack.get_config()
    assert keras.models.model_from_json(stack.to_json()).get_config() == stack.get_config()


def test_keras_reads_cnnlab_json_and_cnnlab_reads_keras_json():
    """The schema is Keras's own: Keras 3 rebuilds a cnnlab model's JSON, and cnnlab a Keras model's."""
    stack = keras.Sequential(
        [
            keras.Input((6,)),
            layers.Dense(4, activation="relu"),
            layers.Dropout(0.1),
            layers.Dense(2, activation="softmax"),
        ]
    )
    theirs = keras3.models.model_from_json(stack.to_json())
    assert [type(layer).__name__ for layer in theirs.layers] == ["Dense", "Dropout", "Dense"]
    theirs.set_weights(stack.get_weights())
    x = np.random.default_rng(1).random((3, 6)).astype(np.float32)
    np.testing.assert_allclose(keras3.ops.convert_to_numpy(theirs(x)), stack.predict(x, verbose=0), atol=1e-6)

    reference = keras3.Sequential(
        [keras3.Input((6,)), keras3.layers.Dense(3, activation="tanh"), keras3.layers.Softmax()]
    )
    config = json.loads(reference.to_json())
    for entry in config["config"]["layers"]:  # what cnnlab's layers do not take (issue 21 reads these too)
        for key in (
            "dtype",
            "kernel_regularizer",
            "bias_regularizer",
            "kernel_constraint",
            "bias_constraint",
            "quantization_config",
            "sparse",
            "ragged",
            "optional",
        ):
            entry["config"].pop(key, None)
        if "kernel_initializer" in entry["config"]:
            entry["config"]["kernel_initializer"]["config"] = {"seed": None}
    config["config"].pop("dtype")
    ours = keras.models.model_from_json(json.dumps(config))
    ours.set_weights([keras3.ops.convert_to_numpy(w) for w in reference.weights])
    np.testing.assert_allclose(ours.predict(x, verbose=0), keras3.ops.convert_to_numpy(reference(x)), atol=1e-6)


@serialization.register_keras_serializable(package="cnnlab_tests")
class Scale(layers.Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, inputs):
        return inputs * self.factor

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


@keras.saving.register_keras_serializable(package="cnnlab_tests", name="cube")
def cube(x):
    return x * x * x


class Shift(layers.Layer):
    """Not registered: found only through custom objects."""

    def __init__(self, offset=1.0, **kwargs):
        super().__init__(**kwargs)
        self.offset = offset

    def call(self, inputs):
        return inputs + self.offset

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "offset": self.offset}


def test_registered_classes_and_functions_round_trip():
    assert keras.utils.get_registered_name(Scale) == "cnnlab_tests>Scale"
    assert keras.utils.get_registered_object("cnnlab_tests>cube") is cube
    model = keras.Sequential([keras.Input((3,)), Scale(3.0), layers.Dense(2, activation=cube)])
    config = json.loads(model.to_json())
    scale_entry, dense_entry = config["config"]["layers"][1:]
    assert scale_entry["registered_name"] == "cnnlab_tests>Scale" and scale_entry["module"] == __name__
    assert dense_entry["config"]["activation"] == "cnnlab_tests>cube"
    again = keras.models.model_from_json(model.to_json())
    again.set_weights(model.get_weights())
    x = np.ones((1, 3), np.float32)
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0))
    assert layers.serialize(cube) == {
        "module": "builtins",
        "class_name": "function",
        "config": "cnnlab_tests>cube",
        "registered_name": "function",
    }


def test_custom_objects_and_custom_object_scope():
    config = layers.serialize(Shift(2.5))
    assert config["registered_name"] == "Shift" and config["module"] == __name__
    with pytest.raises(ValueError, match="Unknown class 'Shift'.*custom_objects"):
        layers.deserialize(config)
    assert layers.deserialize(config, custom_objects={"Shift": Shift}).offset == 2.5
    with keras.utils.custom_object_scope({"Shift": Shift}):
        assert type(layers.deserialize(config)) is Shift
        model = keras.Sequential([keras.Input((2,)), Shift(1.0)])
        assert type(keras.models.model_from_json(model.to_json()).layers[0]) is Shift
    with pytest.raises(ValueError, match="Unknown class 'Shift'"):
        layers.deserialize(config)  # the scope is closed again
    with keras.saving.CustomObjectScope({"Shift": Shift}):
        assert type(keras.saving.deserialize_keras_object(config)) is Shift


def test_serializer_values():
    array = np.arange(6, dtype=np.float32).reshape(2, 3)
    entry = serialization.serialize_keras_object(array)
    assert entry == {"class_name": "__numpy__", "config": {"value": array.tolist(), "dtype": "float32"}}
    np.testing.assert_array_equal(serialization.deserialize_keras_object(entry), array)
    tensor_entry = serialization.serialize_keras_object(tf.constant([1, 2]))
    assert serialization.deserialize_keras_object(tensor_entry).numpy().tolist() == [1, 2]
    assert serialization.serialize_keras_object({"a": (1, 2), "b": np.float32(0.5)}) == {"a": [1, 2], "b": 0.5}
    rescaling = layers.Rescaling(np.array([1.0, 2.0, 3.0]), offset=-1.0)
    again = layers.deserialize(json.loads(json.dumps(layers.serialize(rescaling))))
    np.testing.assert_array_equal(again.scale, [1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="get_config"):
        serialization.serialize_keras_object(object())


def test_old_cnnlab_configs_still_load():
    """Configs written before the schema ({'class_name', 'config'} only) still rebuild."""
    old = {"class_name": "Dense", "config": {"units": 3, "name": "d", "activation": "relu"}}
    dense = layers.deserialize(old)
    assert type(dense) is layers.Dense and dense.units == 3 and dense.get_config()["activation"] == "relu"


def test_plot_model_draws_a_png_and_writes_dot(tmp_path):
    model = functional_model()
    png = tmp_path / "model.png"
    keras.utils.plot_model(model, png, show_shapes=True, show_layer_names=True, show_layer_activations=True)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    dot = tmp_path / "model.dot"
    keras.utils.plot_model(model, dot, show_shapes=True)
    text = dot.read_text()
    assert text.startswith("digraph model {") and text.count("->") == 5
    assert "Conv2D\\nOutput shape: (None, 6, 6, 4)" in text
    svg = tmp_path / "stack.svg"
    keras.utils.plot_model(keras.Sequential([keras.Input((3,)), layers.Dense(2)]), svg, rankdir="LR")
    assert "<svg" in svg.read_text()
    with pytest.raises(ValueError, match="not built"):
        keras.utils.plot_model(keras.Sequential([layers.Dense(2)]), tmp_path / "x.png")


def test_plot_model_names_matplotlib_when_missing(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(ImportError, match=r"pip install 'cnnlab\[plot\]'.*model.dot"):
        keras.utils.plot_model(functional_model(), tmp_path / "model.png")
