"""``NetworkView`` on models other than the seed: strides, padding, dilation-free windows of
other shapes, no bias, BatchNormalization, average pooling, colour input of another size,
logits; each step against the ``tf.nn`` op that computes the whole layer."""

import numpy as np
import pytest

import cnnlab as tf
from cnnlab import keras
from cnnlab.cli.common import CommandError
from cnnlab.cli.explain import load_view
from cnnlab.cli.explain.network import NetworkView, RequestError

from .conftest import layer_outputs

ATOL = 1e-5


@pytest.fixture(scope="module")
def odd_model():
    """Colour 13x11 input, a strided VALID conv without bias, BatchNorm, ReLU, a SAME tanh conv with a
    2x3 kernel, SAME average and max pooling, and a Dense layer giving logits."""
    tf.random.set_seed(3)
    layers = keras.layers
    model = keras.Sequential(
        [
            keras.Input(shape=(13, 11, 3)),
            layers.Conv2D(4, 3, strides=2, padding="valid", use_bias=False),
            layers.BatchNormalization(),
            layers.ReLU(),
            layers.Conv2D(3, (2, 3), padding="same", activation="tanh"),
            layers.AveragePooling2D(2, padding="same"),
            layers.MaxPooling2D(3, strides=2, padding="same"),
            layers.Flatten(),
            layers.Dropout(0.5),
            layers.Dense(5),
        ]
    )
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(0, 0.5, w.shape).astype(np.float32) for w in model.get_weights()])
    batch_norm = model.layers[1]
    gamma, beta, mean, variance = batch_norm.get_weights()
    batch_norm.set_weights([gamma, beta, mean, np.abs(variance) + 0.5])  # a variance must be positive
    return model


@pytest.fixture(scope="module")
def odd_view(odd_model):
    return NetworkView(odd_model, "odd")


@pytest.fixture(scope="module")
def picture():
    return np.random.default_rng(1).integers(0, 256, (13, 11)).astype(np.uint8)


def test_the_view_reads_any_picture_model(odd_view, picture):
    assert odd_view.picture_size == (13, 11) and odd_view.channels == 3
    assert odd_view.class_names == [f"class {i}" for i in range(5)]
    batch = odd_view.model_input(picture)
    assert batch.shape == (1, 13, 11, 3) and np.array_equal(batch[0, :, :, 2], picture / np.float32(255))
    kinds = [layer["kind"] for layer in odd_view.describe()["layers"]]
    assert kinds == ["conv", "other", "other", "conv", "pool", "pool", "flatten", "other", "dense"]
    values = odd_view.layer_values(picture)
    for column, output in zip(values["layers"], layer_outputs(odd_view, picture)[1:]):
        got = np.moveaxis(np.array(column["maps"]), 0, -1) if "maps" in column else np.array(column["units"])
        np.testing.assert_allclose(got, output, atol=1e-6)


def test_logits_are_turned_into_probabilities(odd_view, picture):
    answer = odd_view.predict(picture, top=5)
    logits = layer_outputs(odd_view, picture)[-1]
    assert answer["softmax_applied"] is True
    np.testing.assert_allclose(answer["probabilities"], np.asarray(tf.nn.softmax(logits)), atol=1e-6)
    assert [entry["label"] for entry in answer["top"]] == list(np.argsort(-logits, kind="stable"))


@pytest.mark.parametrize("channel, row, col", [(0, 0, 0), (3, 5, 4), (1, 2, 3)])
def test_a_strided_valid_conv_without_bias(odd_view, picture, channel, row, col):
    step = odd_view.conv_step(picture, 0, channel, row, col)
    x = odd_view.model_input(picture)
    (kernel,) = odd_view.layers[0].get_weights()
    expected = np.asarray(tf.nn.conv2d(x, kernel, strides=2, padding="VALID"))[0, row, col, channel]
    assert step["rows"] == [2 * row, 2 * row + 1, 2 * row + 2] and step["cols"] == [2 * col, 2 * col + 1, 2 * col + 2]
    assert step["input_channels"] == [0, 1, 2] and np.array(step["patch"]).shape == (3, 3, 3)
    assert step["bias"] == 0 and step["activation"] == "linear"
    assert step["sum"] == pytest.approx(float(expected), abs=ATOL)
    assert step["value"] == pytest.approx(float(expected), abs=ATOL)
    assert step["layer_value"] == pytest.approx(float(expected), abs=ATOL)


@pytest.mark.parametrize("channel, row, col", [(0, 0, 0), (2, 5, 4), (1, 3, 0)])
def test_a_same_conv_with_an_even_kernel_and_tanh(odd_view, picture, channel, row, col):
    step = odd_view.conv_step(picture, 3, channel, row, col)
    inputs = layer_outputs(odd_view, picture)[3]  # after the ReLU layer: 6x5x4
    kernel, bias = odd_view.layers[3].get_weights()
    conv = np.asarray(tf.nn.conv2d(inputs[np.newaxis], kernel, strides=1, padding="SAME"))[0] + bias
    # TensorFlow's SAME: the 2-row kernel pads 0 rows before and 1 after; the 3-column one 1 and 1.
    assert step["origin"] == [row, col - 1]
    assert step["pre_activation"] == pytest.approx(float(conv[row, col, channel]), abs=ATOL)
    assert step["value"] == pytest.approx(float(np.tanh(conv[row, col, channel])), abs=ATOL)
    assert step["layer_value"] == pytest.approx(step["value"], abs=ATOL)


@pytest.mark.parametrize("channel, row, col", [(0, 0, 0), (2, 2, 2), (1, 1, 2)])
def test_same_average_pooling_leaves_the_padding_out(odd_view, picture, channel, row, col):
    step = odd_view.pool_step(picture, 4, channel, row, col)
    inputs = layer_outputs(odd_view, picture)[4]  # 6x5x3; SAME 2x2 pads one column after
    pooled = np.asarray(tf.nn.avg_pool2d(inputs[np.newaxis], ksize=2, strides=2, padding="SAME"))[0]
    assert step["op"] == "average" and step["argmax"] is None
    assert step["result"] == pytest.approx(float(pooled[row, col, channel]), abs=1e-6)
    assert step["layer_value"] == pytest.approx(float(pooled[row, col, channel]), abs=1e-6)
    if col == 2:
        assert step["cols"] == [4, -1] and [r[1] for r in step["window"]] == [None, None]


@pytest.mark.parametrize("channel, row, col", [(0, 0, 0), (2, 1, 1)])
def test_same_max_pooling_with_overlapping_windows(odd_view, picture, channel, row, col):
    step = odd_view.pool_step(picture, 5, channel, row, col)
    inputs = layer_outputs(odd_view, picture)[5]  # 3x3x3; 3x3 windows, stride 2, SAME
    pooled = np.asarray(tf.nn.max_pool2d(inputs[np.newaxis], ksize=3, strides=2, padding="SAME"))[0]
    assert step["result"] == pytest.approx(float(pooled[row, col, channel]), abs=1e-7)
    assert step["layer_value"] == pytest.approx(float(pooled[row, col, channel]), abs=1e-7)
    window = np.array([[np.nan if v is None else v for v in r] for r in step["window"]])
    assert window[tuple(step["argmax"])] == np.nanmax(window)


def test_a_dense_layer_giving_logits(odd_view, picture):
    step = odd_view.dense_step(picture, 8, 3, top=3)
    outputs = layer_outputs(odd_view, picture)
    kernel, bias = odd_view.layers[8].get_weights()
    logits = np.asarray(tf.matmul(outputs[8][np.newaxis], kernel) + bias)[0]
    assert step["activation"] == "linear"
    assert step["pre_activation"] == pytest.approx(float(logits[3]), abs=ATOL)
    assert step["value"] == pytest.approx(float(logits[3]), abs=ATOL)
    assert len(step["largest"]) <= 3 and len(step["smallest"]) <= 3
    assert all(entry["source"] is None for entry in step["largest"])  # after Dropout, not Flatten


def test_steps_reject_positions_and_layers_that_do_not_exist(odd_view, picture):
    with pytest.raises(RequestError, match=r"row: expected a whole number 0-5 for conv2d.* received 6"):
        odd_view.conv_step(picture, 0, 0, 6, 0)
    with pytest.raises(RequestError, match="is a BatchNormalization, not a Conv2D"):
        odd_view.conv_step(picture, 1, 0, 0, 0)
    with pytest.raises(RequestError, match="channel: expected a whole number 0-3"):
        odd_view.conv_step(picture, 0, "0", 0, 0)


def test_a_model_whose_input_is_not_a_picture_is_refused():
    model = keras.Sequential([keras.Input(shape=(784,)), keras.layers.Dense(10)])
    with pytest.raises(ValueError, match=r"input is a picture .* this model takes inputs of shape \(None, 784\)"):
        NetworkView(model, "flat")


def test_a_saved_model_file_is_shown(odd_model, tmp_path):
    path = tmp_path / "odd.keras"
    odd_model.save(path)
    view = load_view(str(path))
    assert view.title == str(path)
    assert [layer.name for layer in view.layers] == [layer.name for layer in odd_model.layers]
    with pytest.raises(CommandError, match="no such model file"):
        load_view(str(tmp_path / "missing.keras"))
