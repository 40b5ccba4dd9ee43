"""The explain page in a real headless Chromium (Debian's), driven by Playwright.

Each view's numbers are read off the page (the ``data-value`` of the cells and
readouts, which hold what the page was sent) and checked against the API and
against the library computing the same thing another way. Chromium runs with a
fresh, empty profile and with its background networking off; the page must not log
a single console error. A screenshot of every view goes to the folder printed at
the start (under pytest's temporary directory).
"""

import base64
import json
import os
import re

import numpy as np
import pytest

import cnnlab as tf
from cnnlab import signal
from cnnlab.cli.images import load_image

from .conftest import CHROMIUM, _importable, layer_outputs, require

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ATOL = 1e-5
SIGNAL_X = [1.0, 2.0, -1.0, 0.5, 3.0, 4.0, -2.0, 1.0]
SIGNAL_Y = [1.0, -2.0, 0.5]


@pytest.fixture(scope="module")
def browser(server, tmp_path_factory):
    """``(page, console errors, screenshot folder)``: one Chromium page on the explain server."""
    require(_importable("playwright"), "Playwright", "pip install playwright, or scripts/setup-venv test")
    require(
        os.path.exists(CHROMIUM), f"Chromium ({CHROMIUM})", "apt-get install chromium, as scripts/test does as root"
    )
    from playwright.sync_api import sync_playwright

    shots = tmp_path_factory.mktemp("explain-screenshots")
    print(f"\nscreenshots of the explain page: {shots}")
    with sync_playwright() as playwright:
        # launch_persistent_context is Playwright's way to give Chromium its own (new, empty) --user-data-dir.
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1400, "height": 1000},
        )
        page = context.new_page()
        page.set_default_timeout(10_000)
        errors = []
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
        page.goto(server + "/")
        page.wait_for_selector("#top-classes li")
        yield page, errors, shots
        context.close()


@pytest.fixture
def page(browser):
    """The page; the test fails if it logged a console error (see ``expect_console_errors``)."""
    page, errors, _ = browser
    errors.clear()
    yield page
    assert errors == [], "console errors on the page"


@pytest.fixture
def shot(browser):
    def take(name, locator=None, full_page=True):
        page, _, shots = browser
        path = shots / f"{name}.png"
        (locator.screenshot(path=path) if locator is not None else page.screenshot(path=path, full_page=full_page))
        assert path.stat().st_size > 0

    return take


def new_picture(page, action):
    """Run ``action`` (which chooses a picture) and wait until the page has drawn the new one."""
    before = page.evaluate("document.body.dataset.picture")
    action()
    page.wait_for_function("(before) => document.body.dataset.picture !== before", arg=before)
    assert page.locator("#error").is_hidden(), page.inner_text("#error")


def show_step(page, expected, action):
    action()
    page.wait_for_function("(expected) => document.body.dataset.step === expected", arg=expected)


def values(page, selector):
    return [float(v) for v in page.eval_on_selector_all(selector, "cells => cells.map(c => c.dataset.value)")]


def value(page, selector):
    return float(page.get_attribute(selector, "data-value"))


def top_classes(page):
    return page.eval_on_selector_all("#top-classes li", "items => items.map(i => i.dataset.class)")


def canvas_pixels(page, selector):
    """The red channel of a canvas drawn one pixel per value (a grey picture's pixels)."""
    rgba = page.evaluate(
        """(selector) => { const c = document.querySelector(selector);
        return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data); }""",
        selector,
    )
    return np.array(rgba, dtype=np.uint8).reshape(-1, 4)[:, 0]


def cell_position(page, selector, row, col, rows, cols):
    """Where to point on a canvas (inside its 1-pixel border) to hit cell (row, col)."""
    box = page.locator(selector).bounding_box()
    return {"x": 1 + (col + 0.5) * (box["width"] - 2) / cols, "y": 1 + (row + 0.5) * (box["height"] - 2) / rows}


# ---- the network view ---------------------------------------------------------------------------


def test_choosing_the_shipped_ankle_boot_shows_ankle_boot_on_top(page, client, seed_view, samples, shot):
    new_picture(page, lambda: page.click('#samples canvas[data-class="Trouser"]'))
    assert top_classes(page)[0] == "Trouser"
    new_picture(page, lambda: page.click('#samples canvas[data-class="Ankle boot"]'))
    assert top_classes(page)[0] == "Ankle boot"
    assert page.inner_text("#top-classes li:first-child").startswith("Ankle boot 98")
    answer = client.ok("/api/predict", {"sample": 0})
    assert top_classes(page) == [entry["class"] for entry in answer["top"]]
    shown = [
        float(p) for p in page.eval_on_selector_all("#top-classes li", "items => items.map(i => i.dataset.probability)")
    ]
    np.testing.assert_allclose(shown, [entry["probability"] for entry in answer["top"]], atol=1e-12)
    library = seed_view.model.predict(seed_view.model_input(samples.images[0]), verbose=0)[0]
    np.testing.assert_allclose(shown, np.sort(library)[::-1][:3], atol=ATOL)
    assert np.array_equal(canvas_pixels(page, "#current-picture"), samples.images[0].reshape(-1))
    # every layer is a column: the input, then one per layer, with one map per channel
    assert page.eval_on_selector_all("#columns .column", "c => c.map(x => x.dataset.layer)") == [
        "-1",
        "0",
        "1",
        "2",
        "3",
        "4",
    ]
    assert page.locator('canvas.map[data-layer="0"]').count() == 10
    assert page.locator('canvas.map[data-layer="1"]').count() == 10
    shot("network")


def test_hovering_a_map_shows_its_values_and_filter(page, client, shot):
    layers = client.ok("/api/layers", {"sample": 0})
    conv = layers["layers"][0]
    for channel, row, col in [(3, 10, 12), (7, 0, 27), (0, 20, 5)]:
        selector = f'canvas.map[data-layer="0"][data-channel="{channel}"]'
        page.hover(selector, position=cell_position(page, selector, row, col, 28, 28))
        tip = page.locator("#tooltip")
        assert tip.is_visible()
        assert [tip.get_attribute(f"data-{k}") for k in ("layer", "channel", "row", "col")] == [
            "0",
            str(channel),
            str(row),
            str(col),
        ]
        assert value(page, "#tooltip .tip-value") == conv["maps"][channel][row][col]
        assert value(page, "#tooltip .tip-bias") == conv["biases"][channel]
        assert values(page, "#tooltip .tip-filter td") == [w[0] for r in conv["filters"][channel] for w in r]
        assert f"row {row}, col {col}" in tip.inner_text()
    shot("hover-conv-map", full_page=False)
    pool = layers["layers"][1]
    selector = 'canvas.map[data-layer="1"][data-channel="4"]'
    page.hover(selector, position=cell_position(page, selector, 6, 9, 14, 14))
    assert value(page, "#tooltip .tip-value") == pool["maps"][4][6][9]
    assert page.locator("#tooltip .tip-filter").count() == 0  # pooling has no filter
    # a unit of the hidden dense layer, on its grid
    dense = layers["layers"][3]
    per_row = int(page.get_attribute('canvas.units[data-layer="3"]', "data-per-row"))
    rows = -(-len(dense["units"]) // per_row)
    page.hover(
        'canvas.units[data-layer="3"]',
        position=cell_position(page, 'canvas.units[data-layer="3"]', 2, 1, rows, per_row),
    )
    assert page.get_attribute("#tooltip", "data-unit") == str(2 * per_row + 1)
    assert value(page, "#tooltip .tip-value") == dense["units"][2 * per_row + 1]
    page.mouse.move(0, 0)


def test_clicking_a_conv_map_shows_the_sliding_window_step(page, seed_view, samples, shot):
    x = seed_view.model_input(samples.images[0])
    kernel, bias = seed_view.layers[0].get_weights()
    conv = np.asarray(tf.nn.conv2d(x, kernel, strides=1, padding="SAME"))[0]
    padded = np.pad(x[0, :, :, 0], 1)
    selector = 'canvas.map[data-layer="0"][data-channel="3"]'
    show_step(
        page, "conv:0:3:10:12", lambda: page.click(selector, position=cell_position(page, selector, 10, 12, 28, 28))
    )
    for row, col in [(10, 12), (10, 13)]:
        patch = values(page, "#detail .step-patch td")
        np.testing.assert_allclose(patch, padded[row : row + 3, col : col + 3].reshape(-1), atol=1e-6)
        np.testing.assert_allclose(values(page, "#detail .step-filter td"), kernel[:, :, 0, 3].reshape(-1), atol=1e-6)
        np.testing.assert_allclose(
            values(page, "#detail .step-products td"), np.array(patch) * kernel[:, :, 0, 3].reshape(-1), atol=1e-6
        )
        assert value(page, "#step-sum") == pytest.approx(float(conv[row, col, 3]), abs=ATOL)
        assert value(page, "#step-bias") == pytest.approx(float(bias[3]), abs=1e-7)
        assert value(page, "#step-pre") == pytest.approx(float(conv[row, col, 3] + bias[3]), abs=ATOL)
        assert value(page, "#step-value") == pytest.approx(max(0.0, float(conv[row, col, 3] + bias[3])), abs=ATOL)
        assert value(page, "#step-layer-value") == pytest.approx(value(page, "#step-value"), abs=ATOL)
        assert "relu(" in page.inner_text("#detail")
        if col == 12:
            shot("conv-step", page.locator("#detail"))
            show_step(page, "conv:0:3:10:13", lambda: page.click('#detail-moves [data-move="right"]'))
    # a window on SAME's padding: the corner
    show_step(page, "conv:0:3:0:0", lambda: page.click(selector, position=cell_position(page, selector, 0, 0, 28, 28)))
    assert page.locator("#detail .step-patch td.pad").count() == 5  # SAME's zero padding, hatched
    np.testing.assert_allclose(values(page, "#detail .step-patch td"), padded[0:3, 0:3].reshape(-1), atol=1e-6)
    assert value(page, "#step-sum") == pytest.approx(float(conv[0, 0, 3]), abs=ATOL)
    # the animation slides the window along the row
    page.click("#detail-play")
    page.wait_for_function(
        "document.body.dataset.step.startsWith('conv:0:3:0:') && !document.body.dataset.step.endsWith(':0')"
    )
    page.click("#detail-play")
    # The step's name and numbers change together (one task), so one read sees a matching pair.
    step, total = page.evaluate("[document.body.dataset.step, document.getElementById('step-sum').dataset.value]")
    row, col = map(int, step.split(":")[3:])
    assert row == 0 and col >= 1
    assert float(total) == pytest.approx(float(conv[0, col, 3]), abs=ATOL)


def test_clicking_a_pool_map_shows_the_window_and_its_maximum(page, seed_view, samples, shot):
    conv_out = layer_outputs(seed_view, samples.images[0])[1]
    pooled = np.asarray(tf.nn.max_pool2d(conv_out[np.newaxis], ksize=2, strides=2, padding="VALID"))[0]
    selector = 'canvas.map[data-layer="1"][data-channel="2"]'
    for row, col in [(5, 6), (13, 0)]:
        show_step(
            page,
            f"pool:1:2:{row}:{col}",
            lambda r=row, c=col: page.click(selector, position=cell_position(page, selector, r, c, 14, 14)),
        )
        window = conv_out[2 * row : 2 * row + 2, 2 * col : 2 * col + 2, 2]
        np.testing.assert_allclose(values(page, "#detail .step-window td"), window.reshape(-1), atol=1e-6)
        assert value(page, "#step-result") == pytest.approx(float(pooled[row, col, 2]), abs=1e-6)
        assert value(page, "#step-layer-value") == pytest.approx(float(pooled[row, col, 2]), abs=1e-6)
        assert value(page, "#detail .step-window td.win") == pytest.approx(float(window.max()), abs=1e-6)
        assert page.inner_text("#detail").count("max of the window") == 1
    shot("pool-step", page.locator("#detail"))


def test_clicking_a_dense_unit_shows_its_top_contributions(page, seed_view, samples, shot):
    outputs = layer_outputs(seed_view, samples.images[0])
    kernel, biases = (np.asarray(w, dtype=np.float64) for w in seed_view.layers[4].get_weights())
    hidden = np.asarray(outputs[4], dtype=np.float64)
    products = hidden * kernel[:, 9]
    order = np.argsort(-products, kind="stable")
    show_step(page, "dense:4:9::", lambda: page.click('.named-unit[data-layer="4"][data-unit="9"]'))
    largest = [
        int(i) for i in page.eval_on_selector_all("#dense-largest tr.contribution", "r => r.map(x => x.dataset.input)")
    ]
    assert largest == [int(i) for i in order[:10]]
    np.testing.assert_allclose(values(page, "#dense-largest td.product"), products[order[:10]], atol=ATOL)
    np.testing.assert_allclose(values(page, "#dense-largest td.w"), kernel[order[:10], 9], atol=1e-7)
    smallest = [
        int(i) for i in page.eval_on_selector_all("#dense-smallest tr.contribution", "r => r.map(x => x.dataset.input)")
    ]
    assert smallest == [int(i) for i in order[::-1][:10]]
    logits = np.asarray(
        tf.matmul(hidden[np.newaxis].astype(np.float32), kernel.astype(np.float32)) + biases.astype(np.float32)
    )[0]
    assert value(page, "#step-pre") == pytest.approx(float(logits[9]), abs=1e-4)
    assert value(page, "#step-value") == pytest.approx(float(np.asarray(tf.nn.softmax(logits))[9]), abs=ATOL)
    assert "softmax over all 10 units" in page.inner_text("#detail")
    shot("dense-step", page.locator("#detail"))
    # a hidden unit, clicked on the dense layer's grid: its inputs are pooled map cells
    per_row = int(page.get_attribute('canvas.units[data-layer="3"]', "data-per-row"))
    grid = 'canvas.units[data-layer="3"]'
    show_step(
        page,
        "dense:3:1::",
        lambda: page.click(grid, position=cell_position(page, grid, 0, 1, -(-100 // per_row), per_row)),
    )
    w1 = np.asarray(seed_view.layers[3].get_weights()[0], dtype=np.float64)
    flat = np.asarray(outputs[3], dtype=np.float64)
    top = np.argsort(-(flat * w1[:, 1]), kind="stable")[:10]
    assert [
        int(i) for i in page.eval_on_selector_all("#dense-largest tr.contribution", "r => r.map(x => x.dataset.input)")
    ] == [int(i) for i in top if flat[i] * w1[i, 1] > 0]
    assert re.search(r"map \d \(row \d+, col \d+\)", page.inner_text("#dense-largest"))


def test_uploading_a_png(page, seed_view, samples, tmp_path, shot):
    from PIL import Image

    picture = np.full((64, 48), 255, dtype=np.uint8)  # the ankle boot, dark on white, in a larger frame
    picture[8:36, 10:38] = 255 - samples.images[0]
    path = tmp_path / "boot.png"
    Image.fromarray(picture).save(path)
    new_picture(page, lambda: page.set_input_files("#upload", str(path)))
    assert page.inner_text("#picture-source") == "uploaded: boot.png"
    expected = load_image(path)
    assert np.array_equal(canvas_pixels(page, "#current-picture"), expected.reshape(-1))
    assert top_classes(page)[0] == "Ankle boot"
    probabilities = seed_view.model.predict(seed_view.model_input(expected), verbose=0)[0]
    shown = [
        float(p) for p in page.eval_on_selector_all("#top-classes li", "items => items.map(i => i.dataset.probability)")
    ]
    np.testing.assert_allclose(shown, np.sort(probabilities)[::-1][:3], atol=ATOL)


def test_drawing_on_the_canvas(page, client, shot):
    box = page.locator("#draw").bounding_box()
    page.click("#draw-clear")
    strokes = [[(0.3, 0.15), (0.3, 0.9)], [(0.7, 0.15), (0.7, 0.9)], [(0.3, 0.15), (0.7, 0.15)]]  # trousers, roughly
    for stroke in strokes:
        page.mouse.move(box["x"] + stroke[0][0] * box["width"], box["y"] + stroke[0][1] * box["height"])
        page.mouse.down()
        for fx, fy in stroke[1:]:
            page.mouse.move(box["x"] + fx * box["width"], box["y"] + fy * box["height"], steps=8)
        page.mouse.up()
    new_picture(page, lambda: page.click("#draw-use"))
    assert page.inner_text("#picture-source") == "your drawing"
    drawing = base64.b64decode(page.evaluate("document.getElementById('draw').toDataURL('image/png')").split(",")[1])
    status, answer = client.upload("/api/predict?invert=false", drawing)
    assert status == 200
    assert np.array_equal(
        canvas_pixels(page, "#current-picture"), np.array(answer["pixels"], dtype=np.uint8).reshape(-1)
    )
    assert np.array(answer["pixels"]).max() > 200  # the strokes came through light on dark
    assert top_classes(page) == [entry["class"] for entry in answer["top"]]
    shot("drawing")


def test_a_bad_upload_shows_a_message_and_the_page_goes_on(browser, tmp_path):
    page, errors, _ = browser
    errors.clear()
    before = top_classes(page)
    path = tmp_path / "notes.png"
    path.write_text("these are notes, not a picture")
    page.set_input_files("#upload", str(path))
    page.wait_for_selector("#error:not([hidden])")
    assert "the upload is not a picture: expected a PNG, JPEG" in page.inner_text("#error")
    assert top_classes(page) == before
    # The browser reports the refused request itself; nothing else may be logged.
    assert errors and all("status of 415" in message for message in errors), errors
    errors.clear()
    new_picture(page, lambda: page.click('#samples canvas[data-class="Ankle boot"]'))
    assert page.locator("#error").is_hidden()


# ---- the signal playground ------------------------------------------------------------------------


def set_signal(page, **controls):
    """Set the playground's controls and wait for the answer to exactly those settings."""
    for name, setting in controls.items():
        target = f"#signal-{name}"
        if name in ("op", "mode", "dims", "image", "preset"):
            page.select_option(target, setting)
        else:
            page.fill(target, str(setting))
            page.dispatch_event(target, "change")
    # Each change asks the server again; the page shows only the answer to its last question.
    page.wait_for_function("document.body.dataset.signalShown === document.body.dataset.signalAsked")
    op, mode, stride = (page.input_value(f"#signal-{n}") for n in ("op", "mode", "stride"))
    assert page.evaluate("document.body.dataset.signal").startswith(
        json.dumps([op, mode, int(stride)], separators=(",", ":"))[:-1]
    )


def test_signal_playground_in_1d_matches_cnnlab_signal(page, shot):
    page.click('nav .tab[data-view="signals"]')
    set_signal(page, dims="1", in1=" ".join(map(str, SIGNAL_X)), in2=" ".join(map(str, SIGNAL_Y)))
    for op in ("convolve", "correlate"):
        for mode in ("full", "same", "valid"):
            for stride in (1, 2, 3):
                set_signal(page, op=op, mode=mode, stride=stride)
                expected = getattr(signal, op)(SIGNAL_X, SIGNAL_Y, mode=mode, stride=stride)
                np.testing.assert_allclose(values(page, "#signal-output .cell.out"), expected, atol=1e-12)
                size = signal.output_size(len(SIGNAL_X), len(SIGNAL_Y), stride=stride, mode=mode)
                assert page.inner_text("#signal-formula").endswith(f"= {size}")
                assert f"s = {stride}, {mode}" in page.inner_text("#signal-formula")
                assert (
                    page.inner_text("#signal-call") == f"cnnlab.signal.{op}(in1, in2, mode='{mode}', stride={stride})"
                )
    # the step shown: the laid kernel's products with the window sum to the output it lights up
    set_signal(page, op="convolve", mode="full", stride=1)
    page.fill("#signal-step", "3")
    page.dispatch_event("#signal-step", "input")
    products = values(page, "#signal-stage .cell.product")
    full = signal.convolve(SIGNAL_X, SIGNAL_Y, mode="full")
    assert sum(products) == pytest.approx(full[3])
    window = [SIGNAL_X[i] if 0 <= i < len(SIGNAL_X) else 0.0 for i in range(1, 4)]
    np.testing.assert_allclose(products, np.array(window) * SIGNAL_Y[::-1])
    assert page.get_attribute("#signal-output .cell.active", "data-index") == "3"
    # and the animation plays the steps in turn
    page.click("#signal-play")
    page.wait_for_function("document.querySelector('#signal-output .cell.active').dataset.index === '5'")
    page.click("#signal-play")
    shot("signals-1d")


def test_signal_playground_in_2d_matches_cnnlab_signal(page, samples, shot):
    page.click('nav .tab[data-view="signals"]')
    set_signal(page, dims="2", preset="edge", stride=1, op="correlate", mode="same")
    image = np.array([[float(v) for v in row.split()] for row in page.input_value("#signal-image-text").splitlines()])
    kernel = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], dtype=float)
    for op in ("convolve", "correlate"):
        for mode in ("full", "same", "valid"):
            for stride in (1, 2):
                set_signal(page, op=op, mode=mode, stride=stride)
                expected = getattr(signal, f"{op}2d")(image, kernel, mode=mode, stride=stride)
                got = np.array(values(page, "#signal-output td")).reshape(expected.shape)
                np.testing.assert_allclose(got, expected, atol=1e-12)
                rows, cols = signal.output_size(image.shape, kernel.shape, stride, mode)
                assert f"rows: n = 6, k = 3, s = {stride}" in page.inner_text("#signal-formula")
                assert page.inner_text("#signal-formula").endswith(f"= {cols}") and f"= {rows};" in page.inner_text(
                    "#signal-formula"
                )
    shot("signals-2d")
    # the network view's picture as the image (the ankle boot chosen last)
    set_signal(page, image="picture", op="correlate", mode="valid", stride=1)
    picture = np.round(samples.images[0] / 255 * 1000) / 1000
    expected = signal.correlate2d(picture, kernel, mode="valid")
    np.testing.assert_allclose(np.array(values(page, "#signal-output td")).reshape(expected.shape), expected, atol=1e-9)
    page.select_option("#signal-image", "small")


# ---- activation functions -------------------------------------------------------------------------


def test_activation_functions_and_their_derivatives(page, shot):
    page.click('nav .tab[data-view="activations"]')
    page.wait_for_selector("#activation-readout tbody tr")
    closed_forms = {
        "sigmoid": (lambda x: 1 / (1 + np.exp(-x)), lambda x: np.exp(-x) / (1 + np.exp(-x)) ** 2),
        "tanh": (np.tanh, lambda x: 1 - np.tanh(x) ** 2),
        "ReLU": (lambda x: np.maximum(x, 0), lambda x: (x > 0) * 1.0),
        "leaky ReLU (alpha=0.2)": (lambda x: np.where(x > 0, x, 0.2 * x), lambda x: np.where(x > 0, 1.0, 0.2)),
        "ELU": (lambda x: np.where(x > 0, x, np.expm1(x)), lambda x: np.where(x > 0, 1.0, np.exp(x))),
    }
    for index in (0, 150, 290, 451, 600):
        page.fill("#activation-x", str(index))
        page.wait_for_function("(i) => document.body.dataset.activationIndex === String(i)", arg=index)
        x = value(page, "#activation-x-text")
        assert x == pytest.approx(-6 + 12 * index / 600, abs=1e-6)
        for name, (function, derivative) in closed_forms.items():
            row = f'#activation-readout tr[data-function="{name}"]'
            assert value(page, f"{row} td.value") == pytest.approx(float(function(x)), abs=1e-6)
            assert value(page, f"{row} td.derivative") == pytest.approx(float(derivative(x)), abs=1e-6)
    # the curves drawn are the functions: map each polyline's points back through the plot's scales
    xs = np.linspace(-6, 6, 601)
    for plot, which in (("#plot-values", 0), ("#plot-derivatives", 1)):
        scale = {k: float(v) for k, v in page.eval_on_selector(plot, "svg => ({...svg.dataset})").items()}
        for name, forms in closed_forms.items():
            points = page.get_attribute(f'{plot} polyline[data-function="{name}"]', "points")
            pixels = np.array([[float(v) for v in p.split(",")] for p in points.split()])
            assert len(pixels) == 601
            x = scale["xMin"] + (pixels[:, 0] - scale["left"]) / scale["width"] * (scale["xMax"] - scale["xMin"])
            y = scale["yMax"] - (pixels[:, 1] - scale["top"]) / scale["height"] * (scale["yMax"] - scale["yMin"])
            tolerance = 0.01 * (scale["yMax"] - scale["yMin"]) / scale["height"] + 1e-6  # the pixels' two decimals
            np.testing.assert_allclose(x, xs, atol=0.01 * 12 / scale["width"] + 1e-6)
            keep = np.abs(xs) > 1e-6  # the kink's derivative is a convention
            np.testing.assert_allclose(y[keep], forms[which](xs)[keep], atol=tolerance)
    shot("activations")
    page.uncheck('#activation-choices input[data-function="tanh"]')
    assert page.locator('#plot-values polyline[data-function="tanh"]').count() == 0
    assert page.locator('#activation-readout tr[data-function="tanh"]').count() == 0
    page.check('#activation-choices input[data-function="tanh"]')
    page.click('nav .tab[data-view="network"]')
