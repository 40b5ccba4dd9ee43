"""ONNX export (``model.export(path, format="onnx")``): onnxruntime's outputs equal cnnlab's ``predict``
to 1e-5 on 1,000 inputs, batch sizes 1 and 64, for the command's models and the layers with an ONNX equivalent."""

import sys

import numpy as np
import onnx
import onnxruntime
import pytest

from cnnlab import keras
from cnnlab.cli.models import MODELS
from cnnlab.keras import layers

INPUTS = np.random.default_rng(3).random((1000, 28, 28, 1), dtype=np.float32)


def onnxruntime_outputs(path, inputs, batch_size):
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    batches = [session.run(None, {name: inputs[i : i + batch_size]}) for i in range(0, len(inputs), batch_size)]
    return [np.concatenate(parts) for parts in zip(*batches)]


def assert_exports_faithfully(model, path, inputs, batch_sizes=(1, 64)):
    model.export(path, format="onnx")
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    assert proto.opset_import[0].version >= 13
    graph_input = proto.graph.input[0].type.tensor_type
    assert graph_input.elem_type == onnx.TensorProto.FLOAT
    assert graph_input.shape.dim[0].dim_param == "batch"  # any batch size
    assert [d.dim_value for d in graph_input.shape.dim[1:]] == list(inputs.shape[1:])  # NHWC
    expected = model.predict(inputs, batch_size=250, verbose=0)
    expected = expected if isinstance(expected, list) else [expected]
    for batch_size in batch_sizes:
        for got, want in zip(onnxruntime_outputs(path, inputs, batch_size), expected, strict=True):
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_the_commands_models_export(name, tmp_path):
    keras.utils.set_random_seed(0)
    model = MODELS[name].build()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(
        INPUTS[:64], np.arange(64) % 10, batch_size=32, epochs=1, verbose=0
    )  # BatchNormalization's statistics move
    assert_exports_faithfully(model, tmp_path / f"{name}.onnx", INPUTS)


def test_the_breadth_layers_with_an_onnx_equivalent_export(tmp_path):
    keras.utils.set_random_seed(1)
    inputs = keras.Input(shape=(12, 12, 3))
    x = layers.Rescaling(0.5, offset=0.1)(inputs)
    x = layers.RandomFlip()(layers.RandomRotation(0.1)(layers.RandomZoom(0.1)(layers.RandomTranslation(0.1, 0.1)(x))))
    x = layers.Conv2DTranspose(4, 3, strides=2, padding="same")(x)
    x = layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same", activation="relu")(x)
    x = layers.SeparableConv2D(5, 3, strides=2, padding="same", depth_multiplier=2, activation="tanh")(x)
    x = layers.BatchNormalization()(layers.ELU()(layers.PReLU()(layers.LeakyReLU()(x))))
    x = layers.Cropping2D(((1, 0), (0, 1)))(layers.ZeroPadding2D(((1, 2), (0, 1)))(x))
    x = layers.UpSampling2D(2, interpolation="bilinear")(layers.UpSampling2D(2)(x))
    x = layers.Resizing(9, 7)(layers.CenterCrop(20, 20)(x))
    x = layers.AveragePooling2D(3, strides=2, padding="same")(x)
    x = layers.LayerNormalization()(layers.Dropout(0.3)(x))
    pooled = layers.GlobalMaxPooling2D()(x)
    sequence = layers.Conv1D(3, 3, padding="causal", activation="sigmoid")(layers.Reshape((-1, 5))(x))
    sequence = layers.AveragePooling1D(2)(layers.MaxPooling1D(2, padding="same")(sequence))
    scores = layers.Softmax()(layers.Dense(4, activation="silu")(layers.GlobalAveragePooling1D()(sequence)))
    maps = layers.ReLU(max_value=1.0, negative_slope=0.1, threshold=0.2)(
        layers.Conv2DTranspose(2, 3, strides=3, output_padding=1)(x)
    )
    nested = keras.Sequential([keras.Input(shape=(5,)), layers.Dense(3), layers.Activation("log_softmax")])
    model = keras.Model(inputs, [pooled, scores, maps, nested(pooled), layers.GlobalAveragePooling2D()(maps)])
    data = np.random.default_rng(2).random((1000, 12, 12, 3), dtype=np.float32)
    assert_exports_faithfully(model, tmp_path / "breadth.onnx", data)


def test_what_cannot_be_exported_is_named(tmp_path):
    model = keras.Sequential([keras.Input(shape=(4,)), layers.Lambda(lambda x: x * 2, name="doubling")])
    with pytest.raises(ValueError, match=r"layer 'doubling' \(Lambda\) has no ONNX equivalent"):
        model.export(tmp_path / "m.onnx", format="onnx")
    assert not (tmp_path / "m.onnx").exists()
    with pytest.raises(ValueError, match="cnnlab exports format='onnx' only; received format='tf_saved_model'"):
        model.export(tmp_path / "m")


def test_a_missing_onnx_package_is_named_with_its_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now raises ImportError
    model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(2)])
    with pytest.raises(ImportError, match=r"needs the onnx package: pip install 'cnnlab\[onnx\]'"):
        model.export(tmp_path / "m.onnx", format="onnx")
