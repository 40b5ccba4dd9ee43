"""The fast paths against the general ones they replace: the 2x2 max-pool kernel against
the tap-by-tap kernel (ties included), im2col's two layouts against the window view, the
fused Conv2D / Dense ops against the tf.nn ops they fuse (values, gradients of first and
second order, finite differences), and the buffer pool that recycles their arrays."""

import sys
import time

import numpy as np
import pytest

import cnnlab as tf
from cnnlab.kernels import conv as conv_kernels
from cnnlab.kernels import padding as padding_helpers
from cnnlab.kernels import pool as pool_kernels
from cnnlab.kernels import relu as relu_kernels
from cnnlab.kernels.padding import geometry_2d
from cnnlab.runtime import tuning
from cnnlab.runtime.memory import BufferPool
from cnnlab.runtime.state import STATE
from cnnlab.ops import fused_ops
from cnnlab.testing import check_gradients
from fused_checks import gradients

rng = np.random.default_rng(7)


# ---- max pooling 2x2 / stride 2 ------------------------------------------------------------


@pytest.mark.parametrize("shape", [(1, 2, 2, 1), (3, 4, 6, 2), (2, 28, 28, 10), (5, 8, 2, 3)])
def test_2x2_max_pool_matches_the_tap_kernel_with_ties(shape):
    # Values from {-1, 0, 1}: most windows hold ties, which must go to the first maximum.
    x = rng.integers(-1, 2, size=shape).astype(np.float32)
    geometry = geometry_2d(shape[1:3], (2, 2), (2, 2), (1, 1), "VALID")
    assert pool_kernels.tiles_in_2x2(shape, geometry)
    out, argmax = pool_kernels.max_pool(x, geometry, with_argmax=True)
    expected_out, expected_argmax = pool_kernels.max_pool_by_taps(x, geometry, with_argmax=True)
    np.testing.assert_array_equal(out, expected_out)
    np.testing.assert_array_equal(argmax, expected_argmax)
    assert argmax.dtype == expected_argmax.dtype == np.uint8
    np.testing.assert_array_equal(pool_kernels.max_pool(x, geometry)[0], expected_out)


@pytest.mark.parametrize("shape", [(3, 4, 6, 2), (40, 28, 28, 10)])  # the second spans two chunks
def test_2x2_max_pool_backward_matches_the_tap_kernel(shape):
    x = rng.integers(-1, 2, size=shape).astype(np.float32)
    geometry = geometry_2d(shape[1:3], (2, 2), (2, 2), (1, 1), "VALID")
    out, argmax = pool_kernels.max_pool(x, geometry, with_argmax=True)
    np.testing.assert_array_equal(out, pool_kernels.max_pool_by_taps(x, geometry)[0])
    dy = rng.standard_normal(out.shape).astype(np.float32)
    np.testing.assert_array_equal(
        pool_kernels.max_pool_backward(dy, argmax, shape, geometry),
        pool_kernels.max_pool_backward_by_taps(dy, argmax, shape, geometry),
    )


def test_2x2_max_pool_handles_infinities_and_non_contiguous_input():
    x = rng.standard_normal((2, 4, 4, 6)).astype(np.float32)
    x[0, 0, 0, 0], x[0, 0, 1, 0], x[1, 2, 3, 5] = np.inf, np.inf, -np.inf
    view = x[..., ::2]  # strided channels
    geometry = geometry_2d((4, 4), (2, 2), (2, 2), (1, 1), "SAME")
    for got, expected in zip(
        pool_kernels.max_pool(view, geometry, True), pool_kernels.max_pool_by_taps(view, geometry, True)
    ):
        np.testing.assert_array_equal(got, expected)


def test_the_2x2_path_is_only_taken_where_the_windows_tile_the_input():
    def tiles(shape, kernel, strides, padding):
        return pool_kernels.tiles_in_2x2(shape, geometry_2d(shape[1:3], kernel, strides, (1, 1), padding))

    assert tiles((1, 4, 6, 1), (2, 2), (2, 2), "SAME")
    assert not tiles((1, 5, 6, 1), (2, 2), (2, 2), "VALID")  # odd height: the last row is dropped
    assert not tiles((1, 5, 6, 1), (2, 2), (2, 2), "SAME")  # odd height: padded
    assert not tiles((1, 4, 4, 1), (2, 2), (1, 1), "VALID")
    assert not tiles((1, 6, 6, 1), (3, 3), (3, 3), "VALID")


# ---- im2col ---------------------------------------------------------------------------------


@pytest.mark.parametrize("channels", [1, 3, 4, 8])
@pytest.mark.parametrize("ones_column", [False, True])
def test_im2col_layouts_hold_the_receptive_fields(channels, ones_column):
    x = rng.standard_normal((2, 5, 6, channels)).astype(np.float32)
    geometry = geometry_2d((5, 6), (3, 2), (2, 1), (1, 2), "SAME")
    cols = conv_kernels.im2col(x, geometry, ones_column=ones_column)
    fields = conv_kernels.windows(conv_kernels.pad_spatial(x, geometry), geometry)
    expected = fields.reshape(-1, fields[0, 0, 0].size)
    if ones_column:
        expected = np.hstack([expected, np.ones((len(expected), 1), np.float32)])
    np.testing.assert_array_equal(cols, expected)


def test_conv_filter_and_bias_gradients_come_from_one_product_with_the_columns():
    x = rng.standard_normal((3, 6, 6, 2))
    w, b = rng.standard_normal((3, 3, 2, 4)), rng.standard_normal(4)
    geometry = geometry_2d((6, 6), (3, 3), (1, 1), (1, 1), "SAME")
    forward = conv_kernels.conv2d(x, w, geometry, b, keep_columns=True)
    np.testing.assert_allclose(forward.out, conv_kernels.conv2d(x, w, geometry).out + b, rtol=1e-12)
    dy = rng.standard_normal(forward.out.shape)
    dw, db = conv_kernels.conv2d_backprop_filter(x, dy, w.shape, geometry, columns=forward.columns, with_bias=True)
    np.testing.assert_allclose(dw, conv_kernels.conv2d_backprop_filter(x, dy, w.shape, geometry)[0], rtol=1e-12)
    np.testing.assert_allclose(db, dy.sum(axis=(0, 1, 2)), rtol=1e-12)
    assert conv_kernels.conv2d_backprop_filter(x, dy, w.shape, geometry)[1] is None


def blas_keeps_row_groups():
    """Whether this machine's BLAS gives a product cut into chunks of ``tuning.ROW_GROUP`` rows the
    bits of one product (true of the OpenBLAS kernels the group was measured on)."""

    a, b = rng.standard_normal((10 * tuning.ROW_GROUP, 50)).astype(np.float32), rng.standard_normal((50, 7)).astype(np.float32)
    whole = np.matmul(a, b)
    return all(
        np.array_equal(np.matmul(a[i : i + tuning.ROW_GROUP], b), whole[i : i + tuning.ROW_GROUP])
        for i in range(0, len(a), tuning.ROW_GROUP)
    )


@pytest.mark.parametrize("cores", [1, 2])
@pytest.mark.parametrize(
    "x_shape, filter_shape, padding, quarters",
    [
        ((12, 10, 10, 8), (3, 3, 8, 6), "VALID", False),  # 64 rows an image: chunks of 3 images
        ((11, 12, 12, 5), (3, 3, 5, 4), "SAME", True),  # by pooling quarter: chunks span quarters
    ],
)
def test_im2col_and_product_by_chunks_give_the_whole_products_values(x_shape, filter_shape, padding, quarters, cores, monkeypatch):
    """The by_chunks strategy fills im2col's rows chunk by chunk, each chunk's product right
    after: the same columns, and the same output as the whole strategy's one product (bit for
    bit where the BLAS computes rows in groups of tuning.ROW_GROUP, as the OpenBLAS measured does)."""
    monkeypatch.setattr(STATE, "resolved_threads", cores)
    monkeypatch.setattr(tuning, "MIN_ELEMENTS", 0)
    monkeypatch.setattr(tuning, "SPLIT_MULTIPLY_ADDS", 0)  # split these small products as a big one is split
    monkeypatch.setattr(tuning, "CHUNK_ROWS", 100)  # many chunks
    x = rng.standard_normal(x_shape).astype(np.float32)
    w, b = rng.standard_normal(filter_shape).astype(np.float32), rng.standard_normal(filter_shape[3]).astype(np.float32)
    geometry = geometry_2d(x_shape[1:3], filter_shape[:2], (1, 1), (1, 1), padding)
    weights = np.concatenate([w.reshape(-1, filter_shape[3]), b[None]])
    assert conv_kernels._by_chunks_fits(x, geometry, weights, quarters) == (cores > 1)  # one thread: whole
    (oh, ow), n, o = geometry.out_shape, x_shape[0], filter_shape[3]
    shape = (2, 2, n, oh // 2, ow // 2, o) if quarters else (n, oh, ow, o)
    out, whole = np.empty(shape, np.float32), np.empty(shape, np.float32)
    cols = conv_kernels._by_chunks(x, geometry, weights, out, quarters, True, np.empty)
    expected_cols = conv_kernels._whole(x, geometry, weights, whole, quarters, np.empty)
    np.testing.assert_array_equal(cols, expected_cols)
    if blas_keeps_row_groups():
        np.testing.assert_array_equal(out, whole)
    np.testing.assert_allclose(out, whole, rtol=1e-5, atol=1e-5)
    # Without the columns (the input gradient's correlation): each chunk in one small array, the same output.
    alone = np.empty(shape, np.float32)
    assert conv_kernels._by_chunks(x, geometry, weights, alone, quarters, False, np.empty) is None
    np.testing.assert_array_equal(alone, out)


@pytest.mark.parametrize(
    "x_shape, filter_shape, padding",
    [
        ((9, 7, 7, 4), (2, 2, 4, 3), "VALID"),  # an odd batch: the halves cut images
        ((6, 5, 5, 4), (3, 3, 4, 3), "SAME"),  # whole row groups cut images: 25 rows an image
    ],
)
def test_products_not_split_at_whole_images_take_the_whole_strategy(x_shape, filter_shape, padding, monkeypatch):
    monkeypatch.setattr(STATE, "resolved_threads", 2)
    monkeypatch.setattr(tuning, "MIN_ELEMENTS", 0)
    monkeypatch.setattr(tuning, "SPLIT_MULTIPLY_ADDS", 0)
    x, w = rng.standard_normal(x_shape).astype(np.float32), rng.standard_normal(filter_shape).astype(np.float32)
    geometry = geometry_2d(x_shape[1:3], filter_shape[:2], (1, 1), (1, 1), padding)
    assert not conv_kernels._by_chunks_fits(x, geometry, w.reshape(-1, filter_shape[3]), False)
    forward = conv_kernels.conv2d(x, w, geometry, keep_columns=True)
    np.testing.assert_array_equal(forward.columns, conv_kernels.im2col(x, geometry))
    np.testing.assert_allclose(forward.out, tf.nn.conv2d(x, w, 1, padding).numpy(), rtol=1e-5, atol=1e-5)


def test_products_by_row_parts_follow_matmul(monkeypatch):
    from cnnlab.kernels import matmul as products

    monkeypatch.setattr(STATE, "resolved_threads", 2)
    # Split like matmul: one part per core, between whole groups of rows.
    assert products.row_part_bounds(1000, 500, 100) == [0, 42 * tuning.ROW_GROUP, 1000]
    assert products.row_part_bounds(10, 5, 3) == [0, 10]  # too small to split
    parts = []
    products.by_row_parts(parts.append, 1000, 500, 100)
    assert sorted((p.start, p.stop) for p in parts) == [(0, 504), (504, 1000)]
    parts.clear()
    products.by_row_parts(parts.append, 100, 500, 1000)  # too few rows: one part
    assert parts == [slice(0, 100)] and products.row_part_bounds(100, 500, 1000) == [0, 100]


# ---- the fused ops ----------------------------------------------------------------------------


def unfused_conv(x, w, b, strides, padding, relu):
    out = tf.nn.conv2d(x, w, strides=strides, padding=padding)
    if b is not None:
        out = tf.nn.bias_add(out, b)
    return tf.nn.relu(out) if relu else out


def fused_conv(x, w, b, strides, padding, relu):
    return fused_ops.conv2d_bias_relu(x, w, b, strides, padding, (1, 1), relu)


def unfused_dense(x, w, b, relu):
    out = tf.matmul(x, w)
    if b is not None:
        out = tf.nn.bias_add(out, b)
    return tf.nn.relu(out) if relu else out


def fused_dense(x, w, b, relu):
    return fused_ops.dense_bias_relu(x, w, b, relu)


CONV_CASES = [  # (input shape, filter shape, strides, padding, bias, relu)
    ((2, 5, 5, 1), (3, 3, 1, 4), 1, "SAME", True, True),
    ((2, 6, 5, 3), (3, 2, 3, 2), 2, "VALID", True, False),
    ((1, 4, 4, 5), (2, 2, 5, 3), 1, "SAME", False, True),
    ((2, 4, 4, 2), (1, 1, 2, 2), 1, "VALID", False, False),
]


@pytest.mark.parametrize("x_shape, w_shape, strides, padding, use_bias, relu", CONV_CASES)
def test_fused_conv_matches_the_tf_nn_ops(x_shape, w_shape, strides, padding, use_bias, relu):
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    inputs = [x, w] + ([rng.standard_normal(w_shape[3])] if use_bias else [])

    def fused(x, w, b=None):
        return fused_conv(x, w, b, strides, padding, relu)

    def unfused(x, w, b=None):
        return unfused_conv(x, w, b, strides, padding, relu)

    for got, expected in zip(gradients(fused, inputs), gradients(unfused, inputs), strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
    check_gradients(fused, inputs)


@pytest.mark.parametrize("use_bias, relu", [(True, True), (True, False), (False, True), (False, False)])
def test_fused_dense_matches_the_tf_nn_ops(use_bias, relu):
    inputs = [rng.standard_normal((4, 5)), rng.standard_normal((5, 3))] + ([rng.standard_normal(3)] if use_bias else [])

    def fused(x, w, b=None):
        return fused_dense(x, w, b, relu)

    def unfused(x, w, b=None):
        return unfused_dense(x, w, b, relu)

    for got, expected in zip(gradients(fused, inputs), gradients(unfused, inputs), strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
    check_gradients(fused, inputs)


def test_fused_conv_on_a_training_sized_batch_matches_the_tf_nn_ops():
    inputs = [rng.standard_normal((40, 28, 28, 2)), rng.standard_normal((3, 3, 2, 10)), rng.standard_normal(10)]
    fused = gradients(lambda x, w, b: fused_conv(x, w, b, 1, "SAME", True), inputs)
    unfused = gradients(lambda x, w, b: unfused_conv(x, w, b, 1, "SAME", True), inputs)
    for got, expected in zip(fused, unfused, strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("padding", ["SAME", "VALID", ((2, 0), (1, 1))])
@pytest.mark.parametrize("dilations", [(1, 1), (2, 1)])
def test_stride_1_input_gradient_by_flipped_correlation_matches_col2im(padding, dilations):
    x_shape, w = (2, 7, 6, 3), rng.standard_normal((3, 2, 3, 4))
    geometry = geometry_2d(x_shape[1:3], (3, 2), (1, 1), dilations, padding)
    full = padding_helpers.full_correlation_geometry(geometry)
    assert full.out_shape == x_shape[1:3]
    dy = rng.standard_normal((2, *geometry.out_shape, 4))
    kh, kw, c, o = w.shape
    field_grads = (dy.reshape(-1, o) @ w.reshape(-1, o).T).reshape(*dy.shape[:3], kh, kw, c)
    expected = conv_kernels.col2im(field_grads, x_shape, geometry)
    by_correlation = conv_kernels.backprop_input_by_correlation(dy, w, full)
    np.testing.assert_allclose(by_correlation, expected, rtol=1e-12, atol=1e-12)
    chosen = conv_kernels.conv2d_backprop_input(dy, w, x_shape, geometry)
    np.testing.assert_allclose(chosen, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        conv_kernels.backprop_input_by_col2im(dy, w, x_shape, geometry), expected, rtol=1e-12, atol=1e-12
    )


@pytest.mark.parametrize(
    "image, padding, by_correlation",
    [(28, "SAME", True), (28, "VALID", True), (26, "VALID", True), (12, "VALID", False), (10, "VALID", False)],
)
def test_the_input_gradient_goes_by_col2im_when_a_quarter_of_the_correlation_would_be_zeros(
    image, padding, by_correlation, monkeypatch
):
    # 'SAME': none are zeros; 'VALID' 3x3: 1 - (n - 2)^2 / n^2 of them, 14% at 28, 31% at 12.
    calls = []
    for name in ("backprop_input_by_correlation", "backprop_input_by_col2im"):
        monkeypatch.setattr(conv_kernels, name, lambda *args, name=name: calls.append(name))
    geometry = geometry_2d((image, image), (3, 3), padding=padding)
    dy, w = np.zeros((1, *geometry.out_shape, 2)), np.zeros((3, 3, 2, 2))
    conv_kernels.conv2d_backprop_input(dy, w, (1, image, image, 2), geometry)
    assert calls == ["backprop_input_by_correlation" if by_correlation else "backprop_input_by_col2im"]


def test_col2im_splits_a_big_batch_over_the_cores_with_the_same_sums():

    geometry = geometry_2d((10, 10), (3, 3), padding="VALID")
    field_grads = rng.standard_normal((64, 8, 8, 3, 3, 16)).astype(np.float32)
    assert field_grads.size >= tuning.MIN_ELEMENTS  # big enough to split
    got = conv_kernels.col2im(field_grads, (64, 10, 10, 16), geometry)
    one_by_one = [conv_kernels.col2im(field_grads[i : i + 1], (1, 10, 10, 16), geometry)[0] for i in range(64)]
    np.testing.assert_array_equal(got, np.stack(one_by_one))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("padding", ["SAME", "VALID"])
def test_stride_2_col2im_gives_the_tap_by_tap_sums(padding, dtype):
    # The 3x3 stride-2 path writes each (row, column) parity phase once; the tap-by-tap kernel adds
    # every tap onto a zeroed padded array.  The same terms in the same order: equal values (a
    # -0.0 may stay -0.0 where the tap-by-tap sum turns it into 0.0).
    taken = 0
    for height in range(3, 14):
        for width in (3, 4, 7, 10):
            geometry = geometry_2d((height, width), (3, 3), (2, 2), padding=padding)
            (oh, ow), shape = geometry.out_shape, (3, height, width, 5)
            field_grads = rng.standard_normal((3, oh, ow, 3, 3, 5)).astype(dtype)
            padded = np.empty(conv_kernels.padded_shape(shape, geometry), dtype)
            conv_kernels.add_windows(padded, field_grads, list(conv_kernels.tap_slices(geometry)), 3)
            expected = conv_kernels.crop_spatial(padded, geometry, shape)
            got = conv_kernels.col2im(field_grads, shape, geometry)
            np.testing.assert_array_equal(got, expected)
            assert got.dtype == dtype
            taken += geometry.rows.pad_before == geometry.cols.pad_before == 0
    assert taken == {"SAME": 5 * 2, "VALID": 11 * 4}[padding]  # 'same' on even sizes, 'valid' on all: the new path


def test_stride_2_col2im_splits_a_big_batch_over_the_cores_with_the_same_sums():
    geometry = geometry_2d((28, 28), (3, 3), (2, 2), padding="SAME")
    field_grads = rng.standard_normal((16, 14, 14, 3, 3, 32)).astype(np.float32)
    assert field_grads.size >= tuning.MIN_ELEMENTS
    got = conv_kernels.col2im(field_grads, (16, 28, 28, 32), geometry)
    one_by_one = [conv_kernels.col2im(field_grads[i : i + 1], (1, 28, 28, 32), geometry)[0] for i in range(16)]
    np.testing.assert_array_equal(got, np.stack(one_by_one))


def test_no_flipped_correlation_for_strides_or_padding_beyond_the_window():
    assert padding_helpers.full_correlation_geometry(geometry_2d((6, 6), (3, 3), (2, 2))) is None
    assert padding_helpers.full_correlation_geometry(geometry_2d((6, 6), (3, 3), padding=((3, 0), (0, 0)))) is None


@pytest.mark.parametrize("shape", [(4, 3, 5, 2), (6, 3)])
@pytest.mark.parametrize("scale, center", [(True, True), (False, True), (True, False), (False, False)])
def test_fused_batch_norm_matches_the_tf_nn_ops(shape, scale, center):
    channels = shape[-1]
    inputs = [rng.standard_normal(shape) * 2 + 1]
    inputs += [rng.uniform(0.5, 2, channels)] if scale else []
    inputs += [rng.standard_normal(channels)] if center else []

    def split(args):
        x, *rest = args
        gamma = rest.pop(0) if scale else None
        beta = rest.pop(0) if center else None
        return x, gamma, beta

    def fused(*args):
        x, gamma, beta = split(args)
        return fused_ops.batch_norm_training(x, gamma, beta, 1e-3)[0]

    def unfused(*args):
        x, gamma, beta = split(args)
        mean, variance = tf.nn.moments(x, tuple(range(len(shape) - 1)))
        return tf.nn.batch_normalization(x, mean, variance, beta, gamma, 1e-3)

    for got, expected in zip(gradients(fused, inputs), gradients(unfused, inputs), strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-10)
    check_gradients(fused, inputs)


def test_fused_ops_skip_the_gradients_nobody_watches():
    x = tf.constant(rng.standard_normal((2, 5, 5, 1)).astype(np.float32))  # input images: not watched
    w = tf.Variable(rng.standard_normal((3, 3, 1, 2)).astype(np.float32))
    with tf.GradientTape() as tape:
        out = fused_conv(x, w, None, 1, "SAME", True)
    assert tape.gradient(out, [x, w])[0] is None


@pytest.mark.parametrize(
    "make_layer, shape",
    [
        (lambda: tf.keras.layers.Conv2D(2, 3, activation="relu"), (2, 5, 5, 1)),
        (lambda: tf.keras.layers.Dense(3, activation="relu"), (2, 4)),
    ],
)
def test_a_frozen_layer_gives_its_input_a_gradient(make_layer, shape):
    layer = make_layer()
    x = tf.constant(rng.standard_normal(shape).astype(np.float32))
    layer(x)
    layer.trainable = False  # its weights are no longer watched: only the input's gradient is asked for
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = layer(x)
    expected_tape = tf.GradientTape()
    with expected_tape:
        expected_tape.watch(x)
        kernel = tf.constant(layer.kernel.numpy())
        bias = tf.constant(layer.bias.numpy())
        if len(shape) == 4:
            expected = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(x, kernel, 1, "VALID"), bias))
        else:
            expected = tf.nn.relu(tf.matmul(x, kernel) + bias)
    np.testing.assert_allclose(
        tape.gradient(out, x).numpy(), expected_tape.gradient(expected, x).numpy(), rtol=1e-5, atol=1e-6
    )


def test_keras_layers_run_the_fused_ops_and_keep_tf_semantics():
    layer = tf.keras.layers.Conv2D(3, 3, padding="same", activation="relu")
    x = rng.standard_normal((2, 6, 6, 2)).astype(np.float32)
    out = layer(x)
    expected = unfused_conv(tf.constant(x), layer.kernel, layer.bias, 1, "SAME", True)
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-6, atol=1e-6)
    dense = tf.keras.layers.Dense(4, activation="sigmoid")  # not fused with the linear part: applied after
    h = rng.standard_normal((2, 3, 5)).astype(np.float32)  # rank 3: applied to the last axis
    got = dense(h).numpy()
    expected = tf.sigmoid(tf.matmul(h.reshape(6, 5), dense.kernel) + dense.bias).numpy().reshape(2, 3, 4)
    np.testing.assert_allclose(got, expected, rtol=1e-6)


# ---- the buffer pool -------------------------------------------------------------------------------


def test_the_buffer_pool_reuses_an_array_only_once_nothing_else_holds_it():
    workspace = BufferPool()
    first = workspace.empty((3, 4), np.float32)
    assert workspace.empty((3, 4), np.float32) is not first  # `first` is still held here
    view = first.reshape(4, 3)
    first_id = id(first)
    del first
    again = workspace.empty((3, 4), np.float32)
    assert id(again) != first_id  # the view still refers to the first array
    del view, again
    ids = {id(workspace.empty((3, 4), np.float32)) for _ in range(5)}
    assert len(ids) == 1  # a free array comes back every time
    assert workspace.zeros((3, 4), np.float32).sum() == 0
    assert workspace.empty((3, 4), np.float64).dtype == np.float64


def test_a_layer_output_kept_by_the_caller_is_never_overwritten():
    layer = tf.keras.layers.Conv2D(2, 3, activation="relu")
    a, b = rng.standard_normal((2, 1, 5, 5, 1)).astype(np.float32)
    kept = layer(a)
    snapshot = kept.numpy().copy()
    for _ in range(3):
        layer(b)
    np.testing.assert_array_equal(kept.numpy(), snapshot)


# ---- one BLAS thread --------------------------------------------------------------------------


@pytest.mark.parametrize("shapes", [((1000, 500), (500, 100)), ((100, 500), (500, 1000))])
def test_large_products_split_over_two_threads_match_numpy(shapes, monkeypatch):
    from cnnlab.kernels import matmul as products

    monkeypatch.setattr(STATE, "resolved_threads", 2)  # split even where this machine has one core
    a, b = (rng.standard_normal(shape).astype(np.float32) for shape in shapes)
    assert a.shape[0] * a.shape[1] * b.shape[1] >= tuning.SPLIT_MULTIPLY_ADDS
    if blas_keeps_row_groups():  # parts of whole row groups: the bits of one product on one BLAS thread
        np.testing.assert_array_equal(products.matmul(a, b), products.matmul_rows(a, b, None))
    np.testing.assert_allclose(products.matmul(a, b), a @ b, rtol=1e-4, atol=1e-3)
    out = np.empty((a.shape[0], b.shape[1]), np.float32)
    assert products.matmul(np.asfortranarray(a), b, out=out) is out
    np.testing.assert_allclose(out, a @ b, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize(
    "shapes, split",
    [
        (((1000, 500), (500, 100)), True),
        (((10, 100_352), (100_352, 10)), False),  # a conv's filter gradient: a thin result
        (((100, 10_000), (10_000, 100)), False),  # large enough, but fewer than 128 rows
        (((100, 500), (500, 1000)), False),  # many columns, but products are never cut by columns
    ],
)
def test_products_are_split_only_by_rows_when_they_have_enough(shapes, split, monkeypatch):
    from cnnlab.kernels import matmul as products
    from cnnlab.runtime import threads

    monkeypatch.setattr(STATE, "resolved_threads", 2)
    calls = []
    parallel_parts = threads.parallel_parts

    def counted(*args, **kwargs):
        calls.append(1)
        return parallel_parts(*args, **kwargs)

    monkeypatch.setattr(threads, "parallel_parts", counted)
    a, b = (rng.standard_normal(shape).astype(np.float32) for shape in shapes)
    assert a.shape[0] * a.shape[1] * b.shape[1] >= tuning.SPLIT_MULTIPLY_ADDS
    np.testing.assert_allclose(products.matmul(a, b), a @ b, rtol=1e-4, atol=1e-2)
    assert bool(calls) == split


@pytest.mark.parametrize("cores", [1, 2])
@pytest.mark.parametrize("shared", [5, 2 * 1024, 3 * 1024 + 17])  # one piece; whole pieces; pieces and a rest
def test_products_in_pieces_of_the_shared_axis_sum_to_the_product(shared, cores, monkeypatch):
    from cnnlab.kernels import matmul as products

    monkeypatch.setattr(STATE, "resolved_threads", cores)
    monkeypatch.setattr(tuning, "MIN_ELEMENTS", 0)  # share the pieces out even for this small product
    # Small integers: every partial sum is exact in float32, whatever the order of the sums.
    a = rng.integers(-3, 4, size=(9, shared)).astype(np.float32)
    b = rng.integers(-3, 4, size=(shared, 10)).astype(np.float32)
    np.testing.assert_array_equal(products.matmul_in_pieces(a, b), (a.astype(np.int64) @ b.astype(np.int64)).astype(np.float32))
    a, b = rng.standard_normal((9, shared)).astype(np.float32), rng.standard_normal((shared, 10)).astype(np.float32)
    exact = a.astype(np.float64) @ b
    pieces = products.matmul_in_pieces(np.asfortranarray(a), b)  # a transposed view, as a conv's columns are
    assert pieces.dtype == np.float32
    np.testing.assert_allclose(pieces, exact, rtol=0, atol=1e-6 * np.abs(a).sum(axis=1).max() * np.abs(b).max())


def test_conv2d_filter_gradient_of_a_big_batch_sums_pieces_of_positions():
    """tf.nn.conv2d's filter gradient for 1 channel in, 6 out over 4,000+ positions: the product in
    pieces (products.matmul_in_pieces), equal to the float64 definition up to float32 rounding."""

    x = rng.standard_normal((6, 27, 27, 1)).astype(np.float32)
    w = tf.Variable(rng.standard_normal((3, 3, 1, 6)).astype(np.float32))
    dy = rng.standard_normal((6, 27, 27, 6)).astype(np.float32)
    with tf.GradientTape() as tape:
        y = tf.nn.conv2d(x, w, 1, "SAME")
    dw = tape.gradient(y, w, output_gradients=dy).numpy()
    assert 6 * 27 * 27 >= 4 * tuning.PIECE
    padded = np.pad(x.astype(np.float64), ((0, 0), (1, 1), (1, 1), (0, 0)))
    expected = np.zeros((3, 3, 1, 6))
    for i in range(3):
        for j in range(3):
            expected[i, j, 0] = np.einsum("nhw,nhwo->o", padded[:, i : i + 27, j : j + 27, 0], dy)
    np.testing.assert_allclose(dw, expected, rtol=1e-5, atol=1e-4)
    from_op = tf.nn.conv2d_backprop_filter(x, w.shape, dy, 1, "SAME").numpy()
    np.testing.assert_array_equal(from_op, dw)  # the op computes it the same way


def _openblas_threads():
    """The thread counts of the OpenBLAS libraries loaded, as threadpoolctl reads them (a set: one
    count when they all agree; empty: no OpenBLAS loaded)."""
    import threadpoolctl

    return {lib["num_threads"] for lib in threadpoolctl.threadpool_info() if lib["internal_api"] == "openblas"}


def test_blas_matmul_is_numpy_matmul_and_puts_the_thread_count_back(monkeypatch):
    from cnnlab.kernels import matmul as products
    from cnnlab.runtime import blas as blas_threads

    monkeypatch.setattr(STATE, "blas_single_threaded", False)  # as in a process that did not call configure()
    a, b = rng.standard_normal((6, 4)).astype(np.float32), rng.standard_normal((4, 3)).astype(np.float32)
    out = np.empty((6, 3), np.float32)
    assert products.matmul(a, b, out=out) is out
    np.testing.assert_array_equal(out, np.matmul(a, b))
    np.testing.assert_array_equal(products.matmul(a.T.copy().T, b), np.matmul(a, b))  # Fortran-ordered operand
    if not STATE.blas_setter:
        pytest.skip("NumPy's BLAS here is not an OpenBLAS with openblas_set_num_threads_local")
    for function in STATE.blas_setter.functions:
        assert function._flags_ & __import__("ctypes")._FUNCFLAG_PYTHONAPI  # keeps the GIL
    original = STATE.blas_setter(3)
    try:
        products.matmul(a, b)
        assert _openblas_threads() == {3}  # the count set before the call is back
        blas_threads.begin_product()
        assert _openblas_threads() == {1}
        blas_threads.end_product()
    finally:
        STATE.blas_setter(original)


def test_openblas_runs_cnnlab_products_on_one_thread_and_gets_its_count_back(monkeypatch):
    """OpenBLAS's thread count is the whole process's: it is 1 while any of cnnlab's products
    runs, on any thread, and the count found before is back once the last one ends."""
    from cnnlab.kernels import matmul as products
    from cnnlab.runtime import threads

    monkeypatch.setattr(STATE, "blas_single_threaded", False)
    products.matmul(np.ones((2, 2)), np.ones((2, 2)))  # finds the switch
    if not STATE.blas_setter:
        pytest.skip("NumPy's BLAS here is not an OpenBLAS with openblas_set_num_threads_local")
    counts = []
    numpy_matmul = np.matmul

    def matmul(a, b, out=None):
        counts.append(set(STATE.blas_setter(1)))  # the counts during the product (left as they were: 1)
        return numpy_matmul(a, b, out=out)

    monkeypatch.setattr(products.np, "matmul", matmul)
    monkeypatch.setattr(STATE, "resolved_threads", 2)
    monkeypatch.setattr(tuning, "MIN_ELEMENTS", 0)
    a, b = rng.standard_normal((8, 5)).astype(np.float32), rng.standard_normal((5, 3)).astype(np.float32)
    out = np.empty((400, 8, 3), np.float32)
    previous = STATE.blas_setter(2)
    try:
        threads.parallel_parts(lambda part: [products.matmul(a, b, out=out[i]) for i in range(part.start, part.stop)], 400, 400)
        assert _openblas_threads() == {2}  # back to the count found before
    finally:
        STATE.blas_setter(previous)
    assert counts == [{1}] * 400
    np.testing.assert_array_equal(out, np.broadcast_to(numpy_matmul(a, b), out.shape))


ANOTHER_OPENBLAS_FIRST = """
import json
import numpy as np
import scipy.linalg  # SciPy's wheels load an OpenBLAS of their own, besides NumPy's
import threadpoolctl
from cnnlab.kernels import matmul as products

def counts():
    return [lib["num_threads"] for lib in threadpoolctl.threadpool_info() if lib["internal_api"] == "openblas"]

threadpoolctl.threadpool_limits(limits=2, user_api="blas")  # every library at 2, as on a 2-core machine
seen = []
numpy_matmul = np.matmul
def matmul(a, b, out=None):
    seen.append(counts())
    return numpy_matmul(a, b, out=out)
products.np.matmul = matmul
products.matmul(np.ones((3, 3), np.float32), np.ones((3, 3), np.float32))
products.np.matmul = numpy_matmul
print(json.dumps({"libraries": len(counts()), "during": seen, "after": counts()}))
"""


def test_every_openblas_loaded_runs_cnnlab_products_on_one_thread():
    """A process with SciPy's OpenBLAS loaded besides NumPy's (loaded first, so listed first): the
    switch sets them all to one thread during cnnlab's products (the one NumPy calls among them),
    then puts back each one's count.  It once switched only the first found, SciPy's, and NumPy's
    products then ran on OpenBLAS's own threads, their rows cut where cnnlab's split does not cut."""
    import json
    import os
    import subprocess
    import sys

    environment = {key: value for key, value in os.environ.items() if not key.startswith(("OPENBLAS", "OMP_"))}
    result = subprocess.run(
        [sys.executable, "-c", ANOTHER_OPENBLAS_FIRST], capture_output=True, text=True, env=environment, timeout=120
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["libraries"] >= 2  # NumPy's and SciPy's
    assert report["during"] == [[1] * report["libraries"]]
    assert report["after"] == [2] * report["libraries"]


# ---- cross-entropy gradients: NumPy when nothing records them, ops when a tape does ---------------


def gradient_both_ways(fn, inputs):
    """The first-order gradients from one tape (NumPy path) and under a recording outer tape (op path)."""
    variables = [tf.Variable(v) for v in inputs]
    with tf.GradientTape() as tape:
        fast = tape.gradient(tf.reduce_sum(fn(*variables) * np.arange(1.0, 5.0)), variables)
    with tf.GradientTape():  # recording: the inner gradient is built from ops
        with tf.GradientTape() as tape:
            recorded = tape.gradient(tf.reduce_sum(fn(*variables) * np.arange(1.0, 5.0)), variables)
    return fast, recorded


def test_softmax_cross_entropy_gradients_agree_on_both_paths():
    logits, labels = rng.standard_normal((4, 6)), rng.dirichlet(np.ones(6), size=4) * 1.5  # not normalized
    fast, recorded = gradient_both_ways(
        lambda y, z: tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=z), [labels, logits]
    )
    for a, b in zip(fast, recorded):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_sparse_softmax_cross_entropy_gradient_agrees_on_both_paths():
    classes = tf.constant([0, 5, 2, 2])
    fast, recorded = gradient_both_ways(
        lambda z: tf.nn.sparse_softmax_cross_entropy_with_logits(labels=classes, logits=z),
        [rng.standard_normal((4, 6))],
    )
    np.testing.assert_array_equal(fast[0].numpy(), recorded[0].numpy())


def test_tf_nn_op_gradients_agree_on_both_paths():
    x, w, b = rng.standard_normal((4, 5, 5, 2)), rng.standard_normal((3, 3, 2, 3)), rng.standard_normal(3)

    def layer(x, w, b):
        return tf.reshape(tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(x, w, 1, "SAME"), b))[:, :2, :2, :], (4, -1))

    fast, recorded = gradient_both_ways(lambda x, w, b: tf.reduce_sum(layer(x, w, b), axis=1), [x, w, b])
    for a, b_ in zip(fast, recorded):
        np.testing.assert_allclose(a.numpy(), b_.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", [(3, 4, 5, 6), (2, 7, 3), (2, 3, 4, 5, 1), (64, 28, 28, 10)])
def test_sums_over_all_but_the_last_axis_match_numpy(shape):
    from cnnlab.ops.reduction_ops import _sum

    axes = tuple(range(len(shape) - 1))
    floats = rng.standard_normal(shape).astype(np.float32)
    # float32 rounding grows with the count summed: the tolerance scales with the sum of magnitudes.
    scale = np.abs(floats).sum(axis=axes, dtype=np.float64)
    np.testing.assert_allclose(_sum(floats, axes, False), floats.sum(axis=axes, dtype=np.float64), rtol=0, atol=1e-6 * scale.max())
    assert _sum(floats, axes, True).shape == floats.sum(axis=axes, keepdims=True).shape
    ints = rng.integers(2**30, 2**31 - 1, size=shape).astype(np.int32)  # int32 sums wrap, as TF's do
    np.testing.assert_array_equal(_sum(ints, axes, False), ints.sum(axis=axes, dtype=np.int32))


def test_bias_add_by_rows_equals_the_broadcast_add():
    x, b = rng.standard_normal((2, 3, 4, 5)).astype(np.float32), rng.standard_normal(5).astype(np.float32)
    np.testing.assert_array_equal(tf.nn.bias_add(x, b).numpy(), x + b)
    strided = x[:, :, ::2]  # not contiguous: the plain broadcast
    np.testing.assert_array_equal(tf.nn.bias_add(strided, b).numpy(), strided + b)
    for empty in (np.zeros((2, 0, 4, 5), np.float32), np.zeros((2, 4, 4, 0), np.float32)):
        assert tf.nn.bias_add(empty, np.zeros(empty.shape[-1], np.float32)).shape == empty.shape


@pytest.mark.parametrize(
    ("shape", "row"),
    [((2, 3, 4, 5), 60), ((3, 400, 20, 5), 100), ((2, 3, 7000, 5), 5), ((6, 5), 5), ((2, 9, 0, 5), 5)],
)
def test_channel_rows_span_the_most_trailing_axes_that_fit(shape, row):
    from cnnlab.kernels import broadcast

    array = np.zeros(shape, np.float32)
    rows, tile = broadcast.channel_rows(array)
    assert rows.shape[1:] == (row,) and tile == row // 5
    assert np.shares_memory(rows, array) or array.size == 0  # a view, not a copy


# The second is split over the cores; the third has rows of W * C, the fourth of C.
@pytest.mark.parametrize("array_shape", [(2, 3, 4, 5), (80, 28, 28, 5), (3, 400, 20, 5), (2, 3, 7000, 5)])
@pytest.mark.parametrize("vector_shape", [(5,), (1, 1, 5), (1, 1, 1, 5), (1,)])
@pytest.mark.parametrize("numpy_fn", [np.subtract, np.divide, np.maximum, np.less])
def test_per_channel_broadcast_by_rows_equals_numpy(array_shape, vector_shape, numpy_fn):
    from cnnlab.kernels import broadcast

    array = rng.standard_normal(array_shape).astype(np.float32)
    vector = rng.uniform(0.5, 2.0, vector_shape).astype(np.float32)
    if vector_shape == (1,):
        array = array[..., :1].copy()
    for a, b in ((array, vector), (vector, array)):  # either side, order kept
        np.testing.assert_array_equal(broadcast.apply(numpy_fn, a, b), numpy_fn(a, b))
    wide = vector.astype(np.float64)  # another dtype: NumPy's own broadcast
    np.testing.assert_array_equal(broadcast.apply(np.add, array, wide), array + wide)
    np.testing.assert_array_equal(broadcast.apply(np.add, array[:, ::2], vector), array[:, ::2] + vector)


@pytest.mark.parametrize("numpy_fn", [np.add, np.subtract, np.multiply, np.divide, np.maximum, np.minimum, np.power, np.less])
def test_two_big_arrays_of_one_shape_split_over_the_cores_equal_numpy(numpy_fn, monkeypatch):
    from cnnlab.kernels import broadcast
    from cnnlab.runtime import threads

    a = rng.uniform(0.1, 3.0, (80, 28, 28, 5)).astype(np.float32)  # positive: a real power
    b = rng.uniform(0.5, 2.0, a.shape).astype(np.float32)
    calls = []
    parallel_parts = threads.parallel_parts
    monkeypatch.setattr(threads, "parallel_parts", lambda *args: calls.append(args[1:]) or parallel_parts(*args))
    monkeypatch.setattr(STATE, "resolved_threads", 3)
    got = broadcast.apply(numpy_fn, a, b)
    np.testing.assert_array_equal(got, numpy_fn(a, b))
    assert got.dtype == numpy_fn(a, b).dtype
    # split only where the cut cannot change a bit (power's SIMD lanes and tail may round apart)
    assert calls == ([(a.size, a.size)] if numpy_fn in broadcast.SPLIT_ANYWHERE else [])
    calls.clear()
    np.testing.assert_array_equal(broadcast.apply(numpy_fn, a[:4], b[:4]), numpy_fn(a[:4], b[:4]))  # too small
    np.testing.assert_array_equal(broadcast.apply(numpy_fn, a[:, ::2], b[:, ::2]), numpy_fn(a[:, ::2], b[:, ::2]))
    np.testing.assert_array_equal(broadcast.apply(numpy_fn, a, b.astype(np.float64)), numpy_fn(a, b.astype(np.float64)))
    assert calls == []


# ---- work split over the cores ----------------------------------------------------------------


def test_parallel_parts_covers_the_axis_once_and_raises_what_a_part_raises(monkeypatch):
    from cnnlab.runtime import threads

    monkeypatch.setattr(STATE, "resolved_threads", 3)
    seen = []
    threads.parallel_parts(seen.append, 10, elements=4 * tuning.MIN_ELEMENTS)
    assert sorted((part.start, part.stop) for part in seen) == [(0, 3), (3, 6), (6, 10)]
    small = []
    threads.parallel_parts(small.append, 10, elements=tuning.MIN_ELEMENTS - 1)  # too little work to split
    assert small == [slice(0, 10)]
    halves = []
    threads.parallel_parts(halves.append, 10, elements=tuning.MIN_ELEMENTS)  # no part under half of it
    assert sorted((part.start, part.stop) for part in halves) == [(0, 5), (5, 10)]
    assert [threads.part_count(10, work * tuning.MIN_ELEMENTS // 2) for work in (1, 2, 3, 4)] == [1, 2, 3, 3]
    assert threads.part_count(2, 4 * tuning.MIN_ELEMENTS) == 2  # nor more parts than n

    def nested(part):  # a part asking for parts again runs them in one piece, inside its thread
        inner = []
        threads.parallel_parts(inner.append, part.stop - part.start, elements=4 * tuning.MIN_ELEMENTS)
        seen.append(len(inner))

    seen.clear()
    threads.parallel_parts(nested, 30, elements=4 * tuning.MIN_ELEMENTS)
    assert seen == [1, 1, 1]  # the calling thread's own part too: the workers are busy with theirs
    threads.parallel_parts(nested, 30, elements=4 * tuning.MIN_ELEMENTS)  # and the next call splits again
    assert seen == [1, 1, 1, 1, 1, 1]
    inner = []
    threads.parallel_parts(inner.append, 30, elements=4 * tuning.MIN_ELEMENTS)
    assert len(inner) == 3

    def fails(part):
        if part.start > 0:
            raise ValueError(f"part {part.start} failed")

    with pytest.raises(ValueError, match="part [1-9] failed"):
        threads.parallel_parts(fails, 10, elements=4 * tuning.MIN_ELEMENTS)


def test_parallel_chunks_runs_each_chunk_once_one_call_a_thread_and_raises_what_a_call_raises(monkeypatch):
    import threading

    from cnnlab.runtime import threads

    monkeypatch.setattr(STATE, "resolved_threads", 3)
    for n in (1, 2, 3, 40):
        calls, taken = [], []

        def task(indices):
            calls.append(threading.get_ident())
            for index in indices:
                taken.append((index, threading.get_ident()))
                time.sleep(0.0005)  # long enough for the workers to take chunks too

        threads.parallel_chunks(task, n, elements=4 * tuning.MIN_ELEMENTS)
        assert len(calls) == len(set(calls)) == min(3, n)  # one call on each thread, none on more threads than chunks
        assert sorted(index for index, _ in taken) == list(range(n))
    assert len({thread for _, thread in taken}) == 3  # the 40 chunks were shared

    small = []
    threads.parallel_chunks(lambda indices: small.append(list(indices)), 10, elements=tuning.MIN_ELEMENTS - 1)
    assert small == [list(range(10))]  # too little work to split: one call, here, the chunks in order

    def nested(indices):  # inside a part: one call, in order, on that thread
        for _ in indices:
            inner = []
            threads.parallel_chunks(lambda chunks: inner.append(list(chunks)), 4, elements=4 * tuning.MIN_ELEMENTS)
            assert inner == [[0, 1, 2, 3]]

    threads.parallel_chunks(nested, 6, elements=4 * tuning.MIN_ELEMENTS)
    with STATE.workers_lock:  # another thread has the workers: one call here
        alone = []
        threads.parallel_chunks(lambda indices: alone.append(list(indices)), 5, elements=4 * tuning.MIN_ELEMENTS)
        assert alone == [[0, 1, 2, 3, 4]]

    def fails(indices):
        for index in indices:
            if index == 7:
                raise ValueError("chunk 7 failed")

    with pytest.raises(ValueError, match="chunk 7 failed"):
        threads.parallel_chunks(fails, 20, elements=4 * tuning.MIN_ELEMENTS)


def test_parallel_parts_from_two_threads_at_once_and_no_reference_kept(monkeypatch):
    import threading
    import weakref

    from cnnlab.runtime import threads

    monkeypatch.setattr(STATE, "resolved_threads", 2)
    with STATE.workers_lock:  # another thread has the workers: the work runs here, in one piece
        alone = []
        threads.parallel_parts(alone.append, 10, elements=tuning.MIN_ELEMENTS)
        assert alone == [slice(0, 10)]
        threads.parallel_items(alone.append, 3)
        assert alone[1:] == [0, 1, 2]

    results, errors = {}, []

    def run(name):
        try:
            for step in range(200):
                values = np.arange(1000, dtype=np.float64) + step
                out = np.empty_like(values)
                threads.parallel_parts(lambda part: np.multiply(values[part], 2, out=out[part]), len(values), tuning.MIN_ELEMENTS)
                np.testing.assert_array_equal(out, 2 * values)
            results[name] = True
        except BaseException as error:  # reported below, on the test's thread
            errors.append(error)

    callers = [threading.Thread(target=run, args=(name,)) for name in "ab"]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join()
    assert not errors and results == {"a": True, "b": True}

    class Held:
        pass

    held = Held()
    threads.parallel_parts(lambda part, held=held: None, 10, elements=tuning.MIN_ELEMENTS)
    gone = weakref.ref(held)
    del held
    assert gone() is None  # no worker keeps the task (and the arrays it refers to) after the call


def test_parallel_items_runs_each_index_once_and_stops_after_a_failure(monkeypatch):
    import threading

    from cnnlab.runtime import threads

    monkeypatch.setattr(STATE, "resolved_threads", 2)
    for n in (0, 1, 2, 57):
        seen, where, reports = [], set(), []

        def task(i):
            seen.append(i)
            where.add(threading.get_ident())
            time.sleep(0.0005)  # long enough for the worker to take items too
            inner = []  # with two items or more, every core has one: parts run in one piece
            threads.parallel_parts(inner.append, 8, elements=tuning.MIN_ELEMENTS)
            assert len(inner) == (1 if n >= 2 else 2)

        threads.parallel_items(task, n, lambda done: reports.append((done, threading.get_ident())))
        assert sorted(seen) == list(range(n))
        assert all(thread == threading.get_ident() for _, thread in reports)  # drawn on the calling thread
        counts = [done for done, _ in reports]
        assert counts == sorted(counts) and all(1 <= done <= n for done in counts)
    assert len(where) == 2  # the 57 items were shared with the worker

    def nested(i):  # inside a part, the items run one by one, in order, on that thread
        order = []
        threads.parallel_items(order.append, 5)
        assert order == [0, 1, 2, 3, 4]

    threads.parallel_parts(nested, 2, elements=tuning.MIN_ELEMENTS)

    started = []

    def fails(i):
        started.append(i)
        if i == 3:
            raise ValueError("item 3 failed")
        time.sleep(0.001)

    with pytest.raises(ValueError, match="item 3 failed"):
        threads.parallel_items(fails, 1000)
    assert len(started) < 20  # no new items after the failure

    monkeypatch.setattr(STATE, "resolved_threads", 1)
    order = []
    threads.parallel_items(order.append, 4, lambda done: order.append(-done))
    assert order == [0, -1, 1, -2, 2, -3, 3, -4]


def test_the_allocator_keeps_freed_memory_on_linux_with_glibc():
    import platform

    from cnnlab.runtime.memory import keep_freed_memory

    if not (sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"):
        pytest.skip("mallopt is glibc's")
    assert keep_freed_memory() is True


def test_parallel_parts_run_under_the_callers_numpy_error_state(monkeypatch):
    import warnings

    from cnnlab.runtime import threads

    monkeypatch.setattr(STATE, "resolved_threads", 2)
    big = np.full(2 * tuning.MIN_ELEMENTS, 3e38, np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning from any part would fail here
        with np.errstate(over="ignore"):
            threads.parallel_parts(lambda part: big[part] * np.float32(10), 2, big.size)
    with np.errstate(over="raise"), pytest.raises(FloatingPointError):
        threads.parallel_parts(lambda part: big[part] * np.float32(10), 2, big.size)


# ---- ReLU in rows, on threads -----------------------------------------------------------------


# Under a row, whole rows only, rows and a rest, and rows enough to be split over the cores.
@pytest.mark.parametrize("size", [1, 7, tuning.RELU_ROW, tuning.RELU_ROW + 3, 20 * tuning.RELU_ROW + 11])
def test_relu_kernel_in_rows_matches_the_definition_nan_included(size):
    x = rng.standard_normal(size).astype(np.float32)
    x[:: max(size // 5, 1)] = np.nan
    expected = np.where(np.isnan(x), np.nan, np.where(x > 0, x, 0)).astype(np.float32)
    out = relu_kernels.relu(x, np.empty_like(x))
    np.testing.assert_array_equal(out, expected)
    in_place = x.copy()
    assert relu_kernels.relu(in_place, in_place) is in_place
    np.testing.assert_array_equal(in_place, expected)


@pytest.mark.parametrize("shape", [(3, 5), (64, 28, 28, 10)])
def test_relu_backward_kernel_passes_the_gradient_only_where_the_output_is_positive(shape):
    out = np.maximum(rng.integers(-2, 3, size=shape), 0).astype(np.float32)  # many exact zeros
    dy = rng.standard_normal(shape).astype(np.float32)
    result = relu_kernels.relu_backward(dy, out, np.empty_like(dy))
    np.testing.assert_array_equal(result, np.where(out > 0, dy, 0).astype(np.float32))


@pytest.mark.parametrize("shape", [(2, 4, 4, 0), (0, 4, 4, 3)])
def test_2x2_max_pool_of_no_pixels_or_no_channels_gives_empty_values_and_gradients(shape):
    x = tf.Variable(np.zeros(shape, np.float32))
    with tf.GradientTape() as tape:
        y = tf.nn.max_pool2d(x, 2, 2, "VALID")
    assert y.shape == (shape[0], 2, 2, shape[3]) and tape.gradient(y, x).shape == shape


def test_relu_kernels_refuse_an_out_they_could_not_write_through():
    x = np.ones((4, 6), np.float32)
    with pytest.raises(ValueError, match="C-contiguous"):
        relu_kernels.relu(x, np.empty((6, 4), np.float32).T)
    with pytest.raises(ValueError, match="C-contiguous"):
        relu_kernels.relu_backward(x, x, np.empty((6, 4), np.float32).T)
