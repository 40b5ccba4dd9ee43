"""Winograd's F(2x2, 3x3) and F(4x4, 3x3) (kernels/winograd.py) against a float64 reference written
from the definition: values, both gradients, every layout the dispatcher asks for; the error of each
conv strategy against float64; finite differences through ``tf.nn.conv2d``; the dispatcher's rule."""

import numpy as np
import pytest

import cnnlab as tf
from cnnlab.kernels import conv as conv_kernels
from cnnlab.kernels import winograd
from cnnlab.kernels.padding import geometry_2d
from cnnlab.ops import fused_ops
from cnnlab.runtime import tuning
from cnnlab.testing import check_gradients
from fused_checks import gradients

rng = np.random.default_rng(24)


def padded64(x, geometry):
    (_, top, bottom), (_, left, right) = geometry.rows, geometry.cols
    return np.pad(x.astype(np.float64), ((0, 0), (top, bottom), (left, right), (0, 0)))


def fields(x, geometry):
    """Every 3x3 receptive field of the padded input, (N, OH, OW, C, 3, 3), in float64."""
    oh, ow = geometry.out_shape
    return np.lib.stride_tricks.sliding_window_view(padded64(x, geometry), (3, 3), axis=(1, 2))[:, :oh, :ow]


def reference(x, w, geometry, dy):
    """``(y, dx, dw)`` of a 3x3 stride-1 conv in float64, from the definition."""
    cells = fields(x, geometry)
    y = np.einsum("nhwcij,ijco->nhwo", cells, w.astype(np.float64))
    dw = np.einsum("nhwcij,nhwo->ijco", cells, dy.astype(np.float64))
    oh, ow = geometry.out_shape
    d_padded = np.zeros(padded64(x, geometry).shape)
    for i in range(3):
        for j in range(3):
            d_padded[:, i : i + oh, j : j + ow] += np.einsum("nhwo,co->nhwc", dy.astype(np.float64), w[i, j].astype(np.float64))
    top, left = geometry.rows.pad_before, geometry.cols.pad_before
    dx = d_padded[:, top : top + x.shape[1], left : left + x.shape[2]]
    return y, dx, dw


def quarters_of(image):
    """(N, H, W, C) as the quarters of its 2x2 pooling windows, (2, 2, N, H/2, W/2, C)."""
    n, h, w, c = image.shape
    return np.ascontiguousarray(image.reshape(n, h // 2, 2, w // 2, 2, c).transpose(2, 4, 0, 1, 3, 5))


CASES = [  # (batch, height, width, in channels, out channels, padding)
    (2, 10, 10, 5, 7, "SAME"),  # whole F(2x2) tiles, F(4x4) tiles over the edge
    (3, 11, 9, 4, 3, "VALID"),  # odd outputs: 9 x 7
    (2, 8, 8, 3, 6, "VALID"),  # whole tiles of both
    (1, 5, 6, 2, 2, ((2, 1), (0, 3))),  # explicit, uneven padding
    (2, 4, 4, 3, 2, ((0, 0), (0, 0))),  # a 2x2 output: one F(2x2) tile, a quarter of an F(4x4) one
    (1, 7, 12, 2, 3, ((0, 2), (1, 0))),  # padding that leaves no input unread, only on some sides
]


@pytest.mark.parametrize("whole", [False, True], ids=["filter products by chunks", "over all tiles"])
@pytest.mark.parametrize("m", winograd.TILE_SIZES)
@pytest.mark.parametrize("case", CASES)
def test_winograd_conv_and_both_gradients_equal_the_definition_in_float64(case, m, whole, monkeypatch):
    monkeypatch.setattr(winograd, "filter_products_whole", lambda *args: whole)
    n, h, w, c, o, padding = case
    x = rng.standard_normal((n, h, w, c))
    filters = rng.standard_normal((3, 3, c, o))
    bias = rng.standard_normal(o)
    geometry = geometry_2d((h, w), (3, 3), padding=padding)
    dy = rng.standard_normal((n, *geometry.out_shape, o))
    y, dx, dw = reference(x, filters, geometry, dy)

    out = np.empty(y.shape)
    kept = winograd.conv2d(x, filters, geometry, m, out, bias=bias, keep=True)
    np.testing.assert_allclose(out, y + bias, rtol=1e-12, atol=1e-12)
    got_dx, got_dw, got_db = winograd.backward(kept, dy, filters, geometry, x.shape, with_bias=True)
    np.testing.assert_allclose(got_dx, dx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got_dw, dw, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got_db, dy.sum(axis=(0, 1, 2)), rtol=1e-12, atol=1e-12)
    # The filter gradient alone (no input gradient), and from tiles transformed afresh.
    alone = winograd.backward(winograd.transform_input(x, geometry, m), dy, filters, geometry, x.shape, need_input=False)
    assert alone[0] is None and alone[2] is None
    np.testing.assert_allclose(alone[1], dw, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("m", winograd.TILE_SIZES)
@pytest.mark.parametrize("shape, padding", [((2, 12, 12, 3), "SAME"), ((2, 12, 16, 2), "VALID"), ((3, 16, 8, 2), "SAME")])
def test_winograd_in_the_pooling_quarters_layout_is_the_nhwc_one_rearranged(shape, padding, m):
    n, h, w, c = shape
    x = rng.standard_normal(shape)
    filters = rng.standard_normal((3, 3, c, 4))
    geometry = geometry_2d((h, w), (3, 3), padding=padding)
    oh, ow = geometry.out_shape
    nhwc, quarters = np.empty((n, oh, ow, 4)), np.empty((2, 2, n, oh // 2, ow // 2, 4))
    kept = winograd.conv2d(x, filters, geometry, m, nhwc, keep=True)
    kept_quarters = winograd.conv2d(x, filters, geometry, m, quarters, quarters=True, keep=True)
    np.testing.assert_array_equal(quarters, quarters_of(nhwc))
    dy = rng.standard_normal(nhwc.shape)
    for got, expected in zip(
        winograd.backward(kept_quarters, quarters_of(dy), filters, geometry, shape, with_bias=True),
        winograd.backward(kept, dy, filters, geometry, shape, with_bias=True),
        strict=True,
    ):
        np.testing.assert_array_equal(got, expected)


def test_the_error_of_each_conv_strategy_against_float64(monkeypatch):
    """Float32 on typical data (inputs N(0, 1), Glorot-scaled filters; a training step's conv of
    the deeper benchmark CNN, 32 -> 32 channels, 26x26 -> 24x24): the largest error of each
    strategy relative to the largest value (forward, input gradient, filter gradient), through
    the dispatchers.

    With this seed (largest error / largest value; forward, input gradient, filter gradient):

        im2col           5.3e-7  7.0e-7  3.5e-7
        F(2x2, 3x3)      2.1e-7  2.2e-7  5.8e-7
        F(4x4, 3x3)      3.9e-6  2.1e-6  8.2e-6

    im2col sums 288 products per output; F(2x2, 3x3) sums 32 products per transformed entry
    and its transforms add and subtract only, so it rounds as well as im2col or better;
    F(4x4, 3x3)'s transforms multiply by up to 8 and 1/6 and add up to six terms twice over,
    about ten times im2col's error, which a training step's gradient noise dwarfs."""
    x = rng.standard_normal((4, 26, 26, 32)).astype(np.float32)
    filters = (rng.uniform(-1, 1, (3, 3, 32, 32)) * np.sqrt(6 / (9 * 64))).astype(np.float32)
    geometry = geometry_2d((26, 26), (3, 3), padding="VALID")
    dy = rng.standard_normal((4, 24, 24, 32)).astype(np.float32)
    expected = reference(x, filters, geometry, dy)
    bounds = {"im2col": 2e-6, "F2": 2e-6, "F4": 2e-5}  # the largest error / the largest value
    errors = {}
    for name, tile in (("im2col", None), ("F2", 2), ("F4", 4)):
        monkeypatch.setattr(conv_kernels, "winograd_tile", lambda *args, tile=tile: tile)
        forward = conv_kernels.conv2d(x, filters, geometry, keep_columns=True)
        dx, dw, _ = conv_kernels.conv2d_gradients(x, dy, filters, geometry, forward, need_input=True, need_filters=True)
        errors[name] = [float(np.abs(got - want).max() / np.abs(want).max()) for got, want in zip((forward.out, dx, dw), expected)]
        assert max(errors[name]) < bounds[name], (name, errors[name])
    assert max(errors["F4"]) > max(errors["im2col"])  # the price of F(4x4)'s fewer multiplies


@pytest.mark.parametrize("m", winograd.TILE_SIZES)
def test_finite_differences_through_tf_nn_conv2d_by_winograd(m, monkeypatch):
    monkeypatch.setattr(conv_kernels, "winograd_tile", lambda *args: m)
    x = rng.standard_normal((1, 5, 5, 3))
    filters = rng.standard_normal((3, 3, 3, 2)) * 0.2
    check_gradients(lambda a, b: tf.nn.conv2d(a, b, 1, "SAME"), [x, filters], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("max_pool", [False, True])
def test_the_fused_conv_op_by_winograd_equals_the_tf_nn_ops(max_pool, monkeypatch):
    """The planner's conv op (bias, ReLU, 2x2 pool, the pool quarters' layout) run by Winograd
    against the plain ops: values and gradients of first and second order, float64."""
    x = rng.standard_normal((2, 8, 8, 16))
    filters = rng.standard_normal((3, 3, 16, 16)) * 0.2
    bias = rng.standard_normal(16)
    monkeypatch.setattr(conv_kernels, "winograd_tile", lambda *args: 4)

    def fused(x, w, b):
        return fused_ops.conv2d_bias_relu(x, w, b, (1, 1), "SAME", (1, 1), True, max_pool=max_pool)

    def plain(x, w, b):
        out = tf.nn.relu(tf.nn.conv2d(x, w, 1, "SAME") + b)
        return tf.nn.max_pool2d(out, 2, 2, "VALID") if max_pool else out

    with_winograd = gradients(fused, [x, filters, bias])
    monkeypatch.setattr(conv_kernels, "winograd_tile", lambda *args: None)
    by_im2col = gradients(plain, [x, filters, bias])
    for got, expected in zip(with_winograd, by_im2col, strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)


def test_the_dispatchers_rule():
    def tile(x_shape, filter_shape, strides=1, dilations=1, padding="SAME", dtype=np.float32):
        geometry = geometry_2d(x_shape[1:3], filter_shape[:2], (strides, strides), (dilations, dilations), padding)
        return conv_kernels.winograd_tile(x_shape, filter_shape, geometry, np.dtype(dtype))

    assert tile((64, 28, 28, 32), (3, 3, 32, 32)) == 4
    assert tile((64, 26, 26, 32), (3, 3, 32, 32), padding="VALID") == 4  # the deeper CNN's second conv
    assert tile((64, 7, 7, 128), (3, 3, 128, 128)) == 4  # 2x2 tiles of 6x6: 2.9 entries an output; F(2x2): 5.2
    assert tile((8, 2, 2, 64), (3, 3, 64, 64)) == 2  # one F(2x2) tile; F(4x4)'s would be mostly overhang
    assert tile((8, 6, 6, 64), (3, 3, 64, 64)) == 2  # a tie: 4 entries an output either way
    assert tile((8, 28, 28, 32), (3, 3, 32, 32), dtype=np.float64) == 4
    assert tile((64, 28, 28, 1), (3, 3, 1, 32)) is None  # too few channels
    # The channels' threshold grows with the tiles' overhang (WINOGRAD_TRANSFORM_COST).
    cost = tuning.WINOGRAD_TRANSFORM_COST
    assert tile((64, 28, 28, 16), (3, 3, 16, 16)) == (4 if 8 * 6.75 >= cost * 2.25 else None)
    assert tile((64, 28, 28, 15), (3, 3, 15, 15)) == (4 if 7.5 * 6.75 >= cost * 2.25 else None)
    assert tile((64, 14, 14, 24), (3, 3, 24, 24)) == 4 and tile((64, 14, 14, 20), (3, 3, 20, 20)) is None
    assert tile((64, 28, 28, 32), (3, 3, 32, 32), strides=2) is None
    assert tile((64, 28, 28, 32), (3, 3, 32, 32), dilations=2) is None
    assert tile((64, 28, 28, 32), (5, 5, 32, 32)) is None
    assert tile((64, 28, 28, 32), (3, 3, 32, 32), dtype=np.float16) is None
    assert tile((0, 28, 28, 32), (3, 3, 32, 32)) is None
