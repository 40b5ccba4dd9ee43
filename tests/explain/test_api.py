"""The explain server's JSON API against the library: every endpoint, bad input, a burst of requests.

Each answer is checked against cnnlab computing the same thing another way: the
layers against ``tf.nn.conv2d`` / ``max_pool2d`` / ``matmul`` on the shipped weights,
the signal playground against ``cnnlab.signal`` and ``scipy.signal``, the activation
curves against their closed forms.
"""

import io
import os
import re
import threading
import zlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import scipy.signal

import cnnlab as tf
from cnnlab import signal
from cnnlab.datasets import CLASS_NAMES
from cnnlab.cli.images import load_image

from .conftest import layer_outputs

ATOL = 1e-5  # float32 arithmetic in different orders; the page's values are rounded to 6 decimals


def seed_layers(view):
    conv, pool, flatten, dense, output = view.layers
    return conv, pool, flatten, dense, output


def library_forward(view, pixels):
    """The seed model's layers computed with tf.nn ops on its weights (not by calling the layers)."""
    conv, _, _, dense, output = seed_layers(view)
    kernel, bias = conv.get_weights()
    x = view.model_input(pixels)
    conv_out = tf.nn.relu(tf.nn.conv2d(x, kernel, strides=1, padding="SAME") + bias)
    pool_out = tf.nn.max_pool2d(conv_out, ksize=2, strides=2, padding="VALID")
    flat = tf.reshape(pool_out, [1, -1])
    w1, b1 = dense.get_weights()
    hidden = tf.nn.relu(tf.matmul(flat, w1) + b1)
    w2, b2 = output.get_weights()
    logits = tf.matmul(hidden, w2) + b2
    probabilities = tf.nn.softmax(logits)
    return [np.asarray(t)[0] for t in (x, conv_out, pool_out, flat, hidden, probabilities)], np.asarray(logits)[0]


def png_bytes(array, mode="L"):
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.asarray(array, dtype=np.uint8), mode=mode).save(buffer, format="PNG")
    return buffer.getvalue()


# ---- the model, the samples, the predictions --------------------------------------------------


def test_model_describes_the_seed_layers(client, seed_view):
    model = client.ok("/api/model")
    assert model["input_shape"] == [28, 28, 1]
    assert model["class_names"] == list(CLASS_NAMES)
    assert [(layer["name"], layer["class"], layer["kind"]) for layer in model["layers"]] == [
        (layer.name, type(layer).__name__, kind)
        for layer, kind in zip(seed_view.layers, ["conv", "pool", "flatten", "dense", "dense"])
    ]
    assert model["layers"][0]["summary"] == "10 filters 3x3, stride 1, same, relu"
    assert model["layers"][1]["summary"] == "2x2 window, stride 2, valid"


def test_samples_are_the_shipped_test_images(client, samples):
    answer = client.ok("/api/samples")
    assert len(answer) == len(samples.images) == 50
    assert [entry["label"] for entry in answer] == samples.labels.tolist()
    assert np.array_equal(np.array([entry["pixels"] for entry in answer], dtype=np.uint8), samples.images)
    assert answer[0]["class"] == "Ankle boot" and answer[0]["test_index"] == 0
    assert sorted(np.bincount(samples.labels).tolist()) == [5] * 10  # five of each class


def test_shipped_files_are_small():
    from cnnlab.cli.explain.pictures import SEED_DIR

    total = sum(os.path.getsize(os.path.join(SEED_DIR, name)) for name in os.listdir(SEED_DIR))
    assert total < 1_000_000


@pytest.mark.parametrize("index", [0, 7, 23])
def test_predict_matches_the_library(client, seed_view, samples, index):
    answer = client.ok("/api/predict", {"sample": index})
    forward, _ = library_forward(seed_view, samples.images[index])
    np.testing.assert_allclose(answer["probabilities"], forward[-1], atol=ATOL)
    best = int(np.argmax(forward[-1]))
    assert answer["top"][0] == {
        "class": CLASS_NAMES[best],
        "label": best,
        "probability": pytest.approx(forward[-1][best], abs=ATOL),
    }
    assert [entry["probability"] for entry in answer["top"]] == sorted(
        (e["probability"] for e in answer["top"]), reverse=True
    )
    assert answer["pixels"] == samples.images[index].tolist()
    assert answer["softmax_applied"] is False


def test_the_shipped_ankle_boot_is_an_ankle_boot(client):
    assert client.ok("/api/predict", {"sample": 0})["top"][0]["class"] == "Ankle boot"


def test_layers_match_the_library(client, seed_view, samples):
    answer = client.ok("/api/layers", {"sample": 3})
    forward, _ = library_forward(seed_view, samples.images[3])
    np.testing.assert_allclose(np.moveaxis(np.array(answer["input"]["maps"]), 0, -1), forward[0], atol=1e-6)
    columns = answer["layers"]
    for column, expected in zip(columns, forward[1:]):
        if "maps" in column:
            values = np.moveaxis(np.array(column["maps"]), 0, -1)
        else:
            values = np.array(column["units"])
        assert list(values.shape) == column["shape"] == list(expected.reshape(values.shape).shape)
        np.testing.assert_allclose(values, expected.reshape(values.shape), atol=ATOL)
        assert column["min"] == pytest.approx(float(expected.min()), abs=ATOL)
        assert column["max"] == pytest.approx(float(expected.max()), abs=ATOL)
    kernel, bias = seed_view.layers[0].get_weights()
    np.testing.assert_allclose(np.moveaxis(np.array(columns[0]["filters"]), 0, -1), kernel, atol=1e-6)
    np.testing.assert_allclose(columns[0]["biases"], bias, atol=1e-6)
    assert columns[-1]["unit_names"] == list(CLASS_NAMES)


# ---- the steps -----------------------------------------------------------------------------------


@pytest.mark.parametrize("channel, row, col", [(0, 0, 0), (3, 10, 12), (9, 27, 27), (5, 0, 14)])
def test_conv_step_matches_conv2d_at_that_position(client, seed_view, samples, channel, row, col):
    pixels = samples.images[5]
    step = client.ok(
        "/api/conv-step", {"pixels": pixels.tolist(), "layer": 0, "channel": channel, "row": row, "col": col}
    )
    kernel, bias = seed_view.layers[0].get_weights()
    x = seed_view.model_input(pixels)
    conv = np.asarray(tf.nn.conv2d(x, kernel, strides=1, padding="SAME"))[0]
    assert step["sum"] == pytest.approx(float(conv[row, col, channel]), abs=ATOL)
    assert step["bias"] == pytest.approx(float(bias[channel]))
    assert step["pre_activation"] == pytest.approx(float(conv[row, col, channel] + bias[channel]), abs=ATOL)
    expected = float(np.asarray(tf.nn.relu(conv + bias))[row, col, channel])
    assert step["value"] == pytest.approx(expected, abs=ATOL)
    assert step["layer_value"] == pytest.approx(expected, abs=ATOL)
    assert step["activation"] == "relu"
    # The patch is the input under the window (zero on SAME's padding), the filter the layer's.
    padded = np.pad(x[0, :, :, 0], 1)
    np.testing.assert_allclose(np.array(step["patch"])[:, :, 0], padded[row : row + 3, col : col + 3], atol=1e-7)
    np.testing.assert_allclose(np.array(step["filter"])[:, :, 0], kernel[:, :, 0, channel], atol=1e-7)
    np.testing.assert_allclose(step["products"], np.array(step["patch"]) * np.array(step["filter"]), atol=1e-12)
    assert step["rows"] == [r if 0 <= r < 28 else -1 for r in range(row - 1, row + 2)]
    assert step["cols"] == [c if 0 <= c < 28 else -1 for c in range(col - 1, col + 2)]
    assert step["origin"] == [row - 1, col - 1] and step["extent"] == [3, 3]


@pytest.mark.parametrize("channel, row, col", [(0, 0, 0), (4, 6, 9), (9, 13, 13)])
def test_pool_step_gives_the_window_and_its_maximum(client, seed_view, samples, channel, row, col):
    pixels = samples.images[9]
    step = client.ok(
        "/api/pool-step", {"pixels": pixels.tolist(), "layer": 1, "channel": channel, "row": row, "col": col}
    )
    conv_out = layer_outputs(seed_view, pixels)[1]
    window = conv_out[2 * row : 2 * row + 2, 2 * col : 2 * col + 2, channel]
    np.testing.assert_allclose(step["window"], window, atol=1e-7)
    pooled = np.asarray(tf.nn.max_pool2d(conv_out[np.newaxis], ksize=2, strides=2, padding="VALID"))[0]
    assert step["op"] == "max"
    assert step["result"] == pytest.approx(float(pooled[row, col, channel]), abs=1e-7)
    assert step["layer_value"] == pytest.approx(float(pooled[row, col, channel]), abs=1e-7)
    assert window[tuple(step["argmax"])] == pytest.approx(window.max())


@pytest.mark.parametrize("layer, unit", [(3, 0), (3, 57), (4, 9), (4, 2)])
def test_dense_step_lists_the_largest_contributions(client, seed_view, samples, layer, unit):
    pixels = samples.images[0]
    step = client.ok("/api/dense-step", {"pixels": pixels.tolist(), "layer": layer, "unit": unit})
    forward, logits = library_forward(seed_view, pixels)
    x = forward[3] if layer == 3 else forward[4]  # the Dense layer's input: flattened maps or the hidden units
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    kernel, biases = (np.asarray(w, dtype=np.float64) for w in seed_view.layers[layer].get_weights())
    products = x * kernel[:, unit]
    order = np.argsort(-products, kind="stable")
    largest = [int(i) for i in order[:10] if products[i] > 0]
    smallest = [int(i) for i in order[::-1][:10] if products[i] < 0]
    assert [entry["input"] for entry in step["largest"]] == largest
    assert [entry["input"] for entry in step["smallest"]] == smallest
    for entry in step["largest"] + step["smallest"]:
        assert entry["x"] == pytest.approx(x[entry["input"]], abs=ATOL)
        assert entry["weight"] == pytest.approx(kernel[entry["input"], unit])
        assert entry["product"] == pytest.approx(products[entry["input"]], abs=ATOL)
        if layer == 3:  # after Flatten: the map cell it came from
            r, c, ch = entry["source"]
            assert forward[2][r, c, ch] == pytest.approx(entry["x"], abs=ATOL)
    listed = largest + smallest
    assert step["rest"] == pytest.approx(products.sum() - products[listed].sum(), abs=1e-4)
    assert step["sum"] == pytest.approx(products.sum(), abs=1e-4)
    assert step["pre_activation"] == pytest.approx(products.sum() + biases[unit], abs=1e-4)
    if layer == 3:
        assert step["activation"] == "relu"
        assert step["value"] == pytest.approx(float(forward[4][unit]), abs=ATOL)
    else:
        assert step["activation"] == "softmax"
        np.testing.assert_allclose(step["pre_activations"], logits, atol=1e-4)
        assert step["value"] == pytest.approx(float(forward[5][unit]), abs=ATOL)
        assert step["unit_name"] == CLASS_NAMES[unit]
    assert step["layer_value"] == pytest.approx(step["value"], abs=ATOL)


# ---- the signal playground and the activation curves -------------------------------------------


@pytest.mark.parametrize("op", ["convolve", "correlate"])
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("stride", [1, 2, 3])
def test_signal_1d_matches_cnnlab_and_scipy(client, op, mode, stride):
    in1, in2 = [1.0, 2.0, -1.0, 0.5, 3.0, 4.0, -2.0, 1.0, 0.0], [1.0, -2.0, 0.5, 2.0]
    answer = client.ok("/api/signal", {"in1": in1, "in2": in2, "op": op, "mode": mode, "stride": stride})
    expected = getattr(signal, op)(in1, in2, mode=mode, stride=stride)
    np.testing.assert_allclose(answer["output"], expected, atol=1e-12)
    np.testing.assert_allclose(answer["output"], getattr(scipy.signal, op)(in1, in2, mode=mode)[::stride], atol=1e-12)
    size = signal.output_size(len(in1), len(in2), stride=stride, mode=mode)
    assert answer["shape"] == [size] and answer["sizes"][0]["size"] == size
    assert answer["sizes"][0]["formula"].endswith(f"= {size}")
    assert answer["function"] == f"cnnlab.signal.{op}(in1, in2, mode={mode!r}, stride={stride})"
    laid = in2 if op == "correlate" else in2[::-1]
    assert answer["kernel_laid"] == laid
    # Every step: the window of x at its origin (zero outside) times the laid kernel sums to the output.
    padded = np.concatenate([np.zeros(len(in2)), in1, np.zeros(len(in2))])
    for step, value in zip(answer["steps"], expected):
        start = step["origin"][0] + len(in2)
        np.testing.assert_allclose(step["products"], padded[start : start + len(in2)] * laid, atol=1e-12)
        assert step["value"] == pytest.approx(value, abs=1e-12)


@pytest.mark.parametrize("op", ["convolve", "correlate"])
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("stride", [1, 2])
def test_signal_2d_matches_cnnlab_and_scipy(client, op, mode, stride):
    rng = np.random.default_rng(4)
    image, kernel = rng.integers(-3, 4, (6, 7)).astype(float), rng.integers(-2, 3, (2, 3)).astype(float)
    answer = client.ok(
        "/api/signal", {"in1": image.tolist(), "in2": kernel.tolist(), "op": op, "mode": mode, "stride": stride}
    )
    expected = getattr(signal, f"{op}2d")(image, kernel, mode=mode, stride=stride)
    np.testing.assert_allclose(answer["output"], expected, atol=1e-12)
    np.testing.assert_allclose(
        answer["output"], getattr(scipy.signal, f"{op}2d")(image, kernel, mode=mode)[::stride, ::stride]
    )
    assert answer["shape"] == list(expected.shape)
    assert [axis["size"] for axis in answer["sizes"]] == list(
        signal.output_size(image.shape, kernel.shape, stride, mode)
    )
    values = np.array([step["value"] for step in answer["steps"]]).reshape(expected.shape)
    np.testing.assert_allclose(values, expected, atol=1e-12)


@pytest.mark.parametrize(
    "body, message",
    [
        (
            {"in1": [1, 2], "in2": [1], "op": "flip", "mode": "full", "stride": 1},
            "op: expected one of convolve, correlate",
        ),
        ({"in1": [1, 2], "in2": [1], "op": "convolve", "mode": "wide", "stride": 1}, "mode: expected one of"),
        (
            {"in1": [1, 2], "in2": [1], "op": "convolve", "mode": "full", "stride": 0},
            "stride: expected a whole number 1-8",
        ),
        ({"in1": [1, "a"], "in2": [1], "op": "convolve", "mode": "full", "stride": 1}, "in1: expected"),
        ({"in1": [], "in2": [1], "op": "convolve", "mode": "full", "stride": 1}, "in1: expected"),
        ({"in1": [1, 2], "in2": [1, 2, 3], "op": "convolve", "mode": "full", "stride": 1}, "no larger than in1"),
        ({"in1": [[1, 2], [3]], "in2": [[1]], "op": "convolve", "mode": "full", "stride": 1}, "equally long"),
        ({"in1": [[1, 2]], "in2": [1], "op": "convolve", "mode": "full", "stride": 1}, "must both be 1-D or both 2-D"),
        ({"in1": list(range(65)), "in2": [1], "op": "convolve", "mode": "full", "stride": 1}, "at most 64"),
    ],
)
def test_signal_rejects_bad_input_with_a_message(client, body, message):
    status, answer = client.post("/api/signal", body)
    assert status == 400 and message in answer["error"]


def test_activation_curves_match_their_formulas(client):
    answer = client.ok("/api/activations")
    x = np.array(answer["x"], dtype=np.float64)
    assert len(x) == 601 and x[0] == -6 and x[-1] == 6
    sigmoid = 1 / (1 + np.exp(-x))
    expected = {
        "sigmoid": (sigmoid, sigmoid * (1 - sigmoid)),
        "tanh": (np.tanh(x), 1 - np.tanh(x) ** 2),
        "ReLU": (np.maximum(x, 0), (x > 0).astype(float)),
        "leaky ReLU (alpha=0.2)": (np.where(x > 0, x, 0.2 * x), np.where(x > 0, 1, 0.2)),
        "ELU": (np.where(x > 0, x, np.expm1(x)), np.where(x > 0, 1, np.exp(x))),
    }
    assert [fn["name"] for fn in answer["functions"]] == list(expected)
    for fn in answer["functions"]:
        values, derivatives = expected[fn["name"]]
        np.testing.assert_allclose(fn["values"], values, atol=1e-6)
        away_from_the_kink = np.abs(x) > 1e-6
        np.testing.assert_allclose(
            np.array(fn["derivatives"])[away_from_the_kink], derivatives[away_from_the_kink], atol=1e-6
        )


# ---- uploads -------------------------------------------------------------------------------------


def test_an_uploaded_png_is_converted_as_cnnlab_predict_converts_it(client, seed_view, samples, tmp_path):
    # The ankle boot, light background, in a bigger frame: the page inverts, trims and scales it back.
    picture = np.full((60, 50), 255, dtype=np.uint8)
    picture[10:38, 12:40] = 255 - samples.images[0]
    path = tmp_path / "boot.png"
    path.write_bytes(png_bytes(picture))
    status, answer = client.upload("/api/predict", path.read_bytes())
    assert status == 200, answer
    expected = load_image(path)
    assert answer["pixels"] == expected.tolist()
    forward, _ = library_forward(seed_view, expected)
    np.testing.assert_allclose(answer["probabilities"], forward[-1], atol=ATOL)
    assert answer["top"][0]["class"] == "Ankle boot"
    layers = client.upload("/api/layers?invert=auto", path.read_bytes())[1]
    assert layers["pixels"] == expected.tolist()


def test_a_drawing_is_not_inverted_with_invert_false(client):
    drawing = np.zeros((200, 200), dtype=np.uint8)
    drawing[40:160, 90:110] = 255  # a light bar on a dark canvas, as the page's drawing canvas makes
    status, answer = client.upload("/api/predict?invert=false", png_bytes(drawing))
    assert status == 200
    from PIL import Image

    from cnnlab.cli.images import to_fashion_mnist

    assert answer["pixels"] == to_fashion_mnist(Image.fromarray(drawing), invert=False).tolist()
    assert np.array(answer["pixels"]).max() == 255  # the bar stayed light


def test_a_large_jpeg_is_converted_as_load_image_converts_it(client, samples, tmp_path):
    from PIL import Image

    boot = Image.fromarray(255 - samples.images[0]).resize((1400, 1400))
    photo = Image.new("L", (3000, 2000), 250)
    photo.paste(boot, (800, 300))
    path = tmp_path / "photo.jpg"
    photo.convert("RGB").save(path, "JPEG", quality=90)
    status, answer = client.upload("/api/predict", path.read_bytes(), "image/jpeg")
    assert status == 200
    assert answer["pixels"] == load_image(path).tolist()  # decoded at a reduced scale, as cnnlab predict does
    assert answer["top"][0]["class"] == "Ankle boot"


def test_a_jpeg_upload_works(client):
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.tile(np.arange(0, 250, 5, dtype=np.uint8), (50, 1)), mode="L").convert("RGB").save(
        buffer, "JPEG"
    )
    status, answer = client.upload("/api/predict", buffer.getvalue(), "image/jpeg")
    assert status == 200 and len(answer["pixels"]) == 28


def _png_claiming(width, height):
    """A PNG whose header claims width x height (the pixel data is a token few bytes)."""
    import struct

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    "data, status, message",
    [
        (b"", 400, "the upload is empty"),
        (b"this is not a picture", 415, "not a picture: expected a PNG, JPEG"),
        (b"%PDF-1.4 a document", 415, "not a picture"),
        ("truncated", 400, "the picture is damaged"),
        (_png_claiming(5000, 20), 413, "the picture is 5000x20 pixels; expected at most 4096"),
        (_png_claiming(100_000, 100_000), 413, "pixels"),
        ("huge", 413, "the upload is 9.0 MB; the largest accepted is 8.0 MB"),
    ],
    ids=["empty", "text", "pdf", "truncated", "too-wide", "bomb", "huge"],
)
def test_bad_uploads_get_a_4xx_with_a_message(client, samples, data, status, message):
    if data == "truncated":
        data = png_bytes(samples.images[0])[:-40]
    elif data == "huge":
        data = b"\x89PNG" + bytes(9_000_000 - 4)
    got_status, answer = client.upload("/api/predict", data)
    assert got_status == status, answer
    assert message in answer["error"]
    assert client.ok("/api/predict", {"sample": 0})["top"][0]["class"] == "Ankle boot"  # still serving


@pytest.mark.parametrize(
    "path, body, status, message",
    [
        (
            "/api/predict",
            {"pixels": [[0] * 28] * 27},
            400,
            "pixels: expected 28 rows of 28 whole numbers 0-255; received 27 rows",
        ),
        ("/api/predict", {"pixels": [[0] * 27] * 28}, 400, "row 0 has 27 numbers"),
        ("/api/predict", {"pixels": [[0] * 28] * 27 + [[0] * 27 + [256]]}, 400, "pixels[27][27] is 256"),
        ("/api/predict", {"pixels": [[0.5] * 28] * 28}, 400, "pixels[0][0] is 0.5"),
        ("/api/layers", {"pixels": "abc"}, 400, "received str"),
        ("/api/predict", {"sample": 50}, 400, "sample: expected a whole number 0-49; received 50"),
        ("/api/predict", {"sample": True}, 400, "sample: expected"),
        ("/api/predict", {}, 400, "expected the picture"),
        (
            "/api/conv-step",
            {"sample": 0, "layer": 1, "channel": 0, "row": 0, "col": 0},
            400,
            "is a MaxPooling2D, not a Conv2D",
        ),
        (
            "/api/conv-step",
            {"sample": 0, "layer": 0, "channel": 10, "row": 0, "col": 0},
            400,
            "channel: expected a whole number 0-9",
        ),
        (
            "/api/conv-step",
            {"sample": 0, "layer": 0, "channel": 0, "row": 28, "col": 0},
            400,
            "row: expected a whole number 0-27",
        ),
        (
            "/api/conv-step",
            {"sample": 0, "layer": 7, "channel": 0, "row": 0, "col": 0},
            400,
            "layer: expected a layer index 0-4",
        ),
        (
            "/api/pool-step",
            {"sample": 0, "layer": 0, "channel": 0, "row": 0, "col": 0},
            400,
            "not a MaxPooling2D or AveragePooling2D",
        ),
        (
            "/api/pool-step",
            {"sample": 0, "layer": 1, "channel": 0, "row": 0, "col": 14},
            400,
            "col: expected a whole number 0-13",
        ),
        ("/api/dense-step", {"sample": 0, "layer": 4, "unit": 10}, 400, "unit: expected a whole number 0-9"),
        ("/api/dense-step", {"sample": 0, "layer": 2, "unit": 0}, 400, "is a Flatten, not a Dense"),
    ],
)
def test_bad_requests_get_a_400_with_a_message(client, path, body, status, message):
    got_status, answer = client.post(path, body)
    assert got_status == status, answer
    assert message in answer["error"]


def test_malformed_requests_get_a_4xx(client):
    status, answer = client.request("/api/layers", b"{not json", "application/json")
    assert status == 400 and "not JSON" in answer["error"]
    status, answer = client.request("/api/layers", b"[1, 2]", "application/json")
    assert status == 400 and "expected a JSON object" in answer["error"]
    status, answer = client.request("/api/layers", b"[" * 100_000, "application/json")
    assert status == 400
    status, answer = client.request("/api/conv-step", b"\x89PNG", "image/png")
    assert status == 415 and "expected a JSON body" in answer["error"]
    status, answer = client.upload("/api/predict?invert=maybe", png_bytes(np.zeros((5, 5))))
    assert status == 400 and "invert: expected auto, true or false" in answer["error"]
    status, _ = client.request("/api/predict")  # GET on a POST route
    assert status == 405
    status, answer = client.request("/api/layers", b"{" + b" " * 300_000 + b"}", "application/json")
    assert status == 413 and "at most" in answer["error"]


def test_only_loopback_host_names_are_answered(client):
    status, _ = client.request("/api/model", headers={"Host": "attacker.example"})
    assert status == 400
    assert client.request("/api/model", headers={"Host": "localhost"})[0] == 200


def test_the_page_and_its_assets_are_served(client):
    status, page = client.get("/")
    assert status == 200 and "<title>cnnlab explain</title>" in page
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets == ["data:,", "/static/explain.css", "/static/explain.js"]
    script, style = client.get("/static/explain.js"), client.get("/static/explain.css")
    assert script[0] == style[0] == 200
    # Nothing the page uses comes from another host (the one address in the script names SVG's namespace).
    assert re.findall(r"https?://[^'\"\s]+", page + script[1] + style[1]) == ["http://www.w3.org/2000/svg"]
    assert "url(" not in style[1] and "@import" not in style[1]


def test_200_concurrent_predictions_are_all_answered_correctly(client, seed_view, samples):
    expected = [int(np.argmax(seed_view.predict(image)["probabilities"])) for image in samples.images]
    requests = [i % len(samples.images) for i in range(200)]
    start = threading.Barrier(200, timeout=60)

    def predict(index):
        start.wait()  # all 200 in flight together
        status, answer = client.post("/api/predict", {"sample": index})
        return status, answer["top"][0]["label"], answer["pixels"] == samples.images[index].tolist()

    with ThreadPoolExecutor(max_workers=200) as pool:
        answers = list(pool.map(predict, requests))
    assert answers == [(200, expected[index], True) for index in requests]
