"""Convolutions run in bounded working memory whatever their input (issue 17, section 5).

Beyond ``tuning.WORKING_MEMORY_BYTES`` of im2col rows, the conv dispatchers work a band of
output rows at a time.  NumPy reports its allocations to ``tracemalloc``, so the peak it
traces is the kernels' working memory plus the arrays they return.
"""

import tracemalloc

import numpy as np
import pytest

import cnnlab as tf
from cnnlab.kernels import conv as conv_kernels
from cnnlab.kernels.padding import geometry_2d
from cnnlab.ops import fused_ops
from cnnlab.runtime import tuning

rng = np.random.default_rng(17)
MiB = 1 << 20


def traced_peak(fn):
    """``(result, peak)``: what ``fn()`` returns and the most memory traced while it ran."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        result = fn()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def direct_conv_at(x, w, row, col, padding_before):
    """One output value of a stride-1 conv, written from the definition (float64)."""
    kh, kw, _, _ = w.shape
    total = np.zeros(w.shape[3])
    for i in range(kh):
        for j in range(kw):
            r, c = row + i - padding_before[0], col + j - padding_before[1]
            if 0 <= r < x.shape[1] and 0 <= c < x.shape[2]:
                total += x[0, r, c].astype(np.float64) @ w[i, j].astype(np.float64)
    return total


def test_a_big_conv_behind_a_small_output_runs_in_bounded_memory():
    # The case of the issue: its im2col matrix would be 6.7 GiB behind a 4 MB output.
    x = rng.standard_normal((1, 1000, 1000, 8)).astype(np.float32)
    w = rng.standard_normal((15, 15, 8, 1)).astype(np.float32)
    out, peak = traced_peak(lambda: tf.nn.conv2d(x, w, 1, "SAME").numpy())
    assert out.shape == (1, 1000, 1000, 1)
    assert peak <= tuning.WORKING_MEMORY_BYTES + out.nbytes + 8 * MiB
    for row, col in [(0, 0), (0, 999), (500, 3), (999, 999), (613, 287)]:
        np.testing.assert_allclose(out[0, row, col], direct_conv_at(x, w, row, col, (7, 7)), rtol=1e-4, atol=1e-3)


CASES = [  # input shape, filter shape, strides, padding
    ((2, 30, 26, 3), (7, 5, 3, 4), 1, "SAME"),
    ((2, 41, 34, 5), (8, 7, 5, 6), 2, "VALID"),
    ((1, 37, 31, 4), (5, 5, 4, 3), 1, [[0, 0], [2, 1], [0, 3], [0, 0]]),
]


@pytest.mark.parametrize("x_shape, w_shape, strides, padding", CASES)
def test_conv_and_its_gradients_in_bands_match_the_unbounded_strategies(x_shape, w_shape, strides, padding, monkeypatch):
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal(w_shape)
    dy_shape = tf.nn.conv2d(x, w, strides, padding).shape

    def values_and_gradients():
        xv, wv = tf.Variable(x), tf.Variable(w)
        with tf.GradientTape() as tape:
            out = tf.nn.conv2d(xv, wv, strides, padding)
        dy = np.linspace(-1, 1, np.prod(dy_shape)).reshape(dy_shape)
        return [out.numpy(), *(g.numpy() for g in tape.gradient(out, [xv, wv], output_gradients=dy))]

    expected = values_and_gradients()
    columns = x_shape[0] * np.prod(dy_shape[1:3]) * np.prod(w_shape[:3]) * 8
    monkeypatch.setattr(tuning, "WORKING_MEMORY_BYTES", 16 * 1024)  # a few output rows per band
    got, peak = traced_peak(values_and_gradients)
    for value, reference in zip(got, expected, strict=True):
        np.testing.assert_allclose(value, reference, rtol=1e-10, atol=1e-10)
    # The results, a few arrays the input's size (its padded gradient, copies the ops make), the bands,
    # and some room for what else runs meanwhile (the traced peak moves by a few KiB from run to run):
    bound = sum(array.nbytes for array in got) + 4 * x.nbytes + 8 * tuning.WORKING_MEMORY_BYTES + 64 * 1024
    assert peak < bound < columns  # below one im2col matrix


@pytest.mark.parametrize("max_pool", [False, True])
def test_the_fused_conv_op_in_bands_matches_its_plain_strategies(max_pool, monkeypatch):
    x, w, b = rng.standard_normal((2, 20, 18, 3)), rng.standard_normal((5, 5, 3, 4)), rng.standard_normal(4)

    def run():
        xv, wv, bv = tf.Variable(x), tf.Variable(w), tf.Variable(b)
        with tf.GradientTape() as tape:
            out = fused_ops.conv2d_bias_relu(xv, wv, bv, 1, "SAME", (1, 1), True, max_pool)
            loss = tf.reduce_sum(out * np.arange(out.shape[-1]))
        return [out.numpy(), *(g.numpy() for g in tape.gradient(loss, [xv, wv, bv]))]

    expected = run()
    monkeypatch.setattr(tuning, "WORKING_MEMORY_BYTES", 16 * 1024)
    for got, reference in zip(run(), expected, strict=True):
        np.testing.assert_allclose(got, reference, rtol=1e-10, atol=1e-10)


def test_bands_cover_every_output_row_once_within_the_budget(monkeypatch):
    geometry = geometry_2d((50, 40), (5, 3), (2, 1), (1, 1), "SAME")
    monkeypatch.setattr(tuning, "WORKING_MEMORY_BYTES", 40 * 1024)
    bands = conv_kernels._bands((3, 50, 40, 6), geometry, 5 * 3 * 6, 4)
    assert len(bands) > 3 * 2  # several bands per image
    for image in range(3):
        rows = [row for i, first, last in bands if i == image for row in range(first, last)]
        assert rows == list(range(geometry.out_shape[0]))
