"""Every kernel on 1 to 8 threads (more threads than this machine's cores: the pool and the split
rules must not assume two): the same bits whatever the count, and each split into as many parts as
the rule says, on as many threads."""

import threading

import numpy as np
import pytest

from cnnlab import runtime
from cnnlab.kernels import batch_norm as norm_kernels
from cnnlab.kernels import broadcast, windows
from cnnlab.kernels import conv as conv_kernels
from cnnlab.kernels import dropout as dropout_kernels
from cnnlab.kernels import matmul as products
from cnnlab.kernels import pool as pool_kernels
from cnnlab.kernels import relu as relu_kernels
from cnnlab.kernels import winograd
from cnnlab.kernels.padding import geometry_2d
from cnnlab.runtime import threads, tuning
from cnnlab.runtime.state import STATE

THREAD_COUNTS = range(1, 9)
# A kernel that runs on the calling thread only: the input gradient in bands, whose neighbouring
# bands add onto the same input rows, one band after another.
SEQUENTIAL = ("input gradient in bands",)
rng = np.random.default_rng(4)


def normal(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def geometry(hw, kernel=3, stride=1, padding="SAME"):
    return geometry_2d(hw, (kernel, kernel), (stride, stride), (1, 1), padding)


def strategy(tile):
    """The conv dispatcher's Winograd rule replaced by one that answers ``tile``."""
    return [(conv_kernels, "winograd_tile", lambda *args: tile)]


def conv_step(x, w, geo, *, bias=None, max_pool=False, patches=()):
    """A training step's conv (forward keeping its columns, both gradients) by the dispatchers."""
    forward = conv_kernels.conv2d(x, w, geo, bias, relu=True, max_pool=max_pool, keep_columns=True, argmax=max_pool)
    d_out = np.ascontiguousarray(forward.out * 0.5 + 0.25)
    conv_shape = (x.shape[0], *geo.out_shape, w.shape[3])
    d_conv = conv_kernels.pool_backward(d_out, forward, conv_shape) if max_pool else d_out
    dx, dw, db = conv_kernels.conv2d_gradients(x, d_conv, w, geo, forward, need_input=True, need_filters=True, with_bias=bias is not None)
    return [forward.out, dx, dw] + ([db] if bias is not None else [])


X1, W1 = normal(32, 28, 28, 1), normal(3, 3, 1, 16)
X8, W8 = normal(32, 20, 20, 8), normal(3, 3, 8, 16)
X16, W16 = normal(16, 16, 16, 16), normal(3, 3, 16, 16)
X_BIG, DY_STRIDE2 = normal(64, 32, 32, 16), normal(64, 16, 16, 16)
X_WIDE, W_WIDE = normal(32, 8, 8, 64), normal(3, 3, 64, 64) * 0.05
A, B = normal(600, 300), normal(300, 200)
THIN_A, THIN_B = normal(9, 20000), normal(20000, 10)
IMAGES = normal(64, 32, 32, 8)
KEEP_SCALE = (rng.random(IMAGES.shape) >= 0.3).astype(np.float32) / np.float32(0.7)
BN_X, BN_DY, BN_RES = normal(32, 16, 16, 32), normal(32, 16, 16, 32), normal(32, 16, 16, 32)
SMALL_CHUNKS = [
    (tuning, "WINOGRAD_CHUNK_BYTES", 1 << 16), (tuning, "NORMALIZE_BLOCK_BYTES", 1 << 16), (tuning, "WINDOWS_PER_PRODUCT", 800)
]
# for the smallest inputs: parts of a quarter of the usual smallest, so that they split in up to 8
SMALL_PARTS = [(tuning, "MIN_ELEMENTS", 1 << 16)]
VECTOR = normal(8)
BIAS = normal(16)

KERNELS = {
    # name: (function of nothing returning arrays, [(object, attribute, value) patched meanwhile]);
    # small chunks make small arrays split as big ones do
    "conv, im2col by taps (1 channel), bias": (lambda: conv_step(X1, W1, geometry((28, 28)), bias=BIAS), strategy(None)),
    "conv, im2col by chunks": (lambda: conv_step(X8, W8, geometry((20, 20), padding="VALID")), strategy(None)),
    "conv + pool quarters, im2col": (lambda: conv_step(X8, W8, geometry((20, 20)), max_pool=True), strategy(None)),
    "conv + pool by windows (inference)": (
        lambda: [conv_kernels.conv2d(X1, W1, geometry((28, 28)), relu=True, max_pool=True).out], strategy(None) + SMALL_CHUNKS + SMALL_PARTS),
    "conv in bands": (lambda: conv_step(X8, W8, geometry((20, 20))), strategy(None) + [(tuning, "WORKING_MEMORY_BYTES", 1 << 16)]),
    "conv, Winograd F(2x2)": (lambda: conv_step(X16, W16, geometry((16, 16)), bias=BIAS), strategy(2) + SMALL_CHUNKS + SMALL_PARTS),
    "conv, Winograd F(4x4), tiles over the edge": (lambda: conv_step(X_BIG[:, :30, :30], W16, geometry((30, 30), padding="VALID")), strategy(4) + SMALL_CHUNKS),
    "conv, Winograd F(4x4), many channels: the filter gradient's products over all tiles": (
        lambda: conv_step(X_WIDE, W_WIDE, geometry((8, 8))), strategy(4) + SMALL_CHUNKS),
    "conv + pool quarters, Winograd F(4x4)": (lambda: conv_step(X_BIG, W16, geometry((32, 32)), max_pool=True), strategy(4) + SMALL_CHUNKS),
    "input gradient by col2im (stride 2)": (
        lambda: [conv_kernels.conv2d_backprop_input(DY_STRIDE2, W16, X_BIG.shape, geometry((32, 32), stride=2))], strategy(None)),
    "input gradient in bands": (
        lambda: [conv_kernels.conv2d_backprop_input(DY_STRIDE2, W16, X_BIG.shape, geometry((32, 32), stride=2))],
        strategy(None) + [(tuning, "WORKING_MEMORY_BYTES", 1 << 16)]),
    "filter gradient in pieces": (
        lambda: [conv_kernels.conv2d_backprop_filter(X1, normal(32, 28, 28, 16) * 0 + 1, W1.shape, geometry((28, 28)), in_pieces=True)[0]],
        strategy(None)),
    "filter gradient in bands": (
        lambda: list(conv_kernels.conv2d_backprop_filter(X8, np.ones((32, 20, 20, 16), np.float32), W8.shape, geometry((20, 20)), with_bias=True)),
        strategy(None) + [(tuning, "WORKING_MEMORY_BYTES", 1 << 16)]),
    "products by rows, by columns, in pieces": (
        lambda: [products.matmul(A, B), products.matmul(B.T, A.T), products.matmul_in_pieces(THIN_A, THIN_B)], []),
    "2x2 max pool and its gradient": (lambda: pool_step(IMAGES, geometry_2d((32, 32), (2, 2), (2, 2))), []),
    "3x3 max pool by taps and its gradient": (lambda: pool_step(IMAGES, geometry_2d((32, 32), (3, 3), (2, 2), padding="SAME")), []),
    "element-wise: ReLU, its gradient, a channel vector, a sum, padding, im2col, col2im, dropout": (lambda: elementwise(IMAGES), []),
    "batch normalization's passes": (lambda: batch_norm(BN_X, BN_DY, BN_RES), SMALL_CHUNKS),
}


def pool_step(x, geo):
    out, argmax = pool_kernels.max_pool(x, geo, with_argmax=True)
    return [out, argmax, pool_kernels.max_pool_backward(out * 2, argmax, x.shape, geo)]


def elementwise(x):
    relu = relu_kernels.relu(x, out=np.empty_like(x))
    geo = geometry((32, 32))
    columns = windows.im2col(x, geo)
    return [
        relu,
        relu_kernels.relu_backward(x * 3, relu, out=np.empty_like(x)),
        dropout_kernels.scale(x, KEEP_SCALE, out=np.empty_like(x)),
        dropout_kernels.scale_gradient(x * 3, KEEP_SCALE, np.empty_like(x), relu_out=relu * KEEP_SCALE),
        broadcast.apply(np.add, x, VECTOR),
        broadcast.apply(np.add, x, relu),  # two arrays of one shape
        windows.pad_spatial(x, geo),
        columns,
        windows.col2im(columns.reshape(*x.shape[:3], 3, 3, x.shape[3]), x.shape, geo),
    ]


def batch_norm(x, dy, residual):
    mean, variance = norm_kernels.statistics(x)
    inverse = 1 / np.sqrt(variance + 1e-3)
    out = norm_kernels.normalize(x, inverse, -mean * inverse, np.empty_like(x), residual=residual, relu=True)
    gated = np.empty_like(x)
    sums = norm_kernels.backward_sums(dy, x, mean, inverse, relu_out=out, gated=gated)
    coefficients = norm_kernels.gradient_coefficients(*sums, mean, inverse, None, x.size // x.shape[-1])
    return [mean, variance, out, gated, *sums, norm_kernels.input_gradient(gated, x, *coefficients, out=np.empty_like(x))]


@pytest.fixture
def recorded_splits(monkeypatch):
    """Each ``parallel_parts`` or ``parallel_chunks`` call: ``(parts expected by the rule, parts run,
    distinct threads)`` (a part of ``parallel_chunks``: a thread's call, whatever chunks it took;
    that every chunk was taken once is checked here)."""
    calls = []
    original_parts, original_chunks = threads.parallel_parts, threads.parallel_chunks

    def recording(task, n, elements):
        expected = threads.part_count(n, elements)
        ran = []

        def traced(part):
            ran.append(threading.get_ident())
            return task(part)

        original_parts(traced, n, elements)
        calls.append((expected, len(ran), len(set(ran))))

    def recording_chunks(task, n, elements):
        expected = threads.part_count(n, elements)
        ran, taken = [], []

        def traced(indices):
            ran.append(threading.get_ident())

            def noted():
                for index in indices:
                    taken.append(index)
                    yield index

            return task(noted())

        original_chunks(traced, n, elements)
        assert sorted(taken) == list(range(n))
        calls.append((expected, len(ran), len(set(ran))))

    monkeypatch.setattr(threads, "parallel_parts", recording)
    monkeypatch.setattr(threads, "parallel_chunks", recording_chunks)
    yield calls
    STATE.requested_threads = STATE.resolved_threads = None


@pytest.mark.parametrize("name", list(KERNELS))
def test_each_kernel_on_1_to_8_threads_gives_the_same_bits_in_the_expected_parts(name, recorded_splits, monkeypatch):
    function, patches = KERNELS[name]
    for target, attribute, value in patches:
        monkeypatch.setattr(target, attribute, value)
    results, widest = {}, {}
    for count in THREAD_COUNTS:
        runtime.set_num_threads(count)
        recorded_splits.clear()
        results[count] = function()
        for expected, ran, distinct in recorded_splits:
            assert ran == distinct == expected, (count, expected, ran, distinct)
        widest[count] = max((expected for expected, _, _ in recorded_splits), default=1)
    for count in THREAD_COUNTS:
        for got, first in zip(results[count], results[1], strict=True):
            np.testing.assert_array_equal(got, first, err_msg=f"{name}: {count} threads against 1")
    if name in SEQUENTIAL:
        assert set(widest.values()) == {1}
    else:  # the work was big enough to split, and split wider with more threads
        assert widest[1] == 1 and widest[8] >= 4, widest
