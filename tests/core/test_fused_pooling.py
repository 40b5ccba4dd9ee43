"""Conv2D followed by a 2x2 MaxPooling2D as one op: the conv's output computed in pooling-window
quarters, pooled with element-wise passes, the ReLU after the pooling.  Checked against the
layout-free kernels (windows, the tap-by-tap pool), the tf.nn ops it replaces (values, first and
second-order gradients, finite differences) and the Keras layers run one by one."""

import numpy as np
import pytest

import cnnlab as tf
from cnnlab.kernels import conv as conv_kernels
from cnnlab.kernels import pool as pool_kernels
from cnnlab.kernels.padding import geometry_2d
from cnnlab.ops import fused_ops
from cnnlab.testing import check_gradients
from fused_checks import gradients

rng = np.random.default_rng(11)
layers = tf.keras.layers


def by_quarter(nhwc):
    """(N, 2*OH, 2*OW, C) -> (2, 2, N, OH, OW, C), written from the definition."""
    n, h, w, c = nhwc.shape
    quarters = np.empty((2, 2, n, h // 2, w // 2, c), nhwc.dtype)
    for i in range(2):
        for j in range(2):
            quarters[i, j] = nhwc[:, i::2, j::2, :]
    return quarters


# ---- kernels ----------------------------------------------------------------------------------


@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize(
    # outputs 8x10, 4x6, 6x8, 6x6 (an input row and column past the last window)
    "input_hw, strides, dilations, padding",
    [((8, 10), 1, 1, "SAME"), ((8, 12), 2, 1, "SAME"), ((10, 10), 1, 2, "VALID"), ((14, 13), 2, 1, "VALID")],
)
def test_im2col_by_pool_quarter_holds_the_fields_of_each_quarter(channels, input_hw, strides, dilations, padding):
    x = rng.standard_normal((3, *input_hw, channels)).astype(np.float32)
    geometry = geometry_2d(input_hw, (3, 2), (strides,) * 2, (dilations,) * 2, padding)
    plain = conv_kernels.im2col(x, geometry, ones_column=True)
    (oh, ow), size = geometry.out_shape, plain.shape[1]
    expected = by_quarter(plain.reshape(len(x), oh, ow, size)).reshape(-1, size)
    np.testing.assert_array_equal(conv_kernels.im2col(x, geometry, True, by_pool_quarter=True), expected)


@pytest.mark.parametrize("shape", [(1, 2, 2, 1), (3, 4, 6, 2), (5, 28, 28, 10)])
def test_pooling_the_quarters_matches_the_tap_kernel_with_ties(shape):
    x = rng.integers(-1, 2, size=shape).astype(np.float32)  # most windows hold ties
    geometry = geometry_2d(shape[1:3], (2, 2), (2, 2), (1, 1), "VALID")
    out, argmax = pool_kernels.max_pool_quarters(by_quarter(x), with_argmax=True)
    expected_out, expected_argmax = pool_kernels.max_pool_by_taps(x, geometry, with_argmax=True)
    np.testing.assert_array_equal(out, expected_out)
    np.testing.assert_array_equal(argmax, expected_argmax)
    assert pool_kernels.max_pool_quarters(by_quarter(x))[1] is None
    dy = rng.standard_normal(out.shape).astype(np.float32)
    d_quarters = pool_kernels.max_pool_quarters_backward(dy, argmax)
    expected_grad = pool_kernels.max_pool_backward_by_taps(dy, argmax, shape, geometry)
    np.testing.assert_array_equal(d_quarters, by_quarter(expected_grad))
    np.testing.assert_array_equal(pool_kernels.quarters_to_nhwc(d_quarters), expected_grad)


def pooled_conv_from_the_definition(x, w, b, padding, relu):
    """max_pool2d(relu?(conv2d(x, w) + b), 2, 2, 'VALID'), each output summed tap by tap in float64."""
    geometry = geometry_2d(x.shape[1:3], w.shape[:2], (1, 1), (1, 1), padding)
    (_, top, bottom), (_, left, right) = geometry.rows, geometry.cols
    padded = np.pad(x.astype(np.float64), ((0, 0), (top, bottom), (left, right), (0, 0)))
    (oh, ow), (kh, kw) = geometry.out_shape, w.shape[:2]
    conv = np.zeros((len(x), oh, ow, w.shape[3]))
    for i in range(kh):
        for j in range(kw):
            conv += padded[:, i : i + oh, j : j + ow, :] @ w[i, j].astype(np.float64)
    conv += 0 if b is None else b
    pooled = conv.reshape(len(x), oh // 2, 2, ow // 2, 2, w.shape[3]).max(axis=(2, 4), initial=-np.inf)
    return np.maximum(pooled, 0) if relu else pooled


@pytest.mark.parametrize(
    "x_shape, kernel, padding",
    [
        ((3, 28, 28, 1), (3, 3), "SAME"),
        ((2, 10, 12, 3), (5, 5), "SAME"),
        ((2, 7, 9, 2), (2, 4), "VALID"),  # a 6x6 output
        ((1, 4, 6, 1), (1, 1), "VALID"),
        ((0, 6, 6, 1), (3, 3), "SAME"),  # no images
        ((40, 28, 28, 1), (3, 3), "SAME"),  # big enough to be split over the cores
    ],
)
@pytest.mark.parametrize("use_bias, relu", [(True, True), (True, False), (False, True)])
def test_pooling_by_windows_matches_the_definition(x_shape, kernel, padding, use_bias, relu):
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal((*kernel, x_shape[3], 10)).astype(np.float32)
    b = rng.standard_normal(10).astype(np.float32) if use_bias else None
    geometry = geometry_2d(x_shape[1:3], kernel, (1, 1), (1, 1), padding)
    assert conv_kernels._pools_by_windows(x, geometry)
    got = conv_kernels._conv_max_pool_by_windows(x, w, geometry, b, relu)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, pooled_conv_from_the_definition(x, w, b, padding, relu), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("filter_shape", [(3, 3, 1, 10), (2, 4, 3, 5), (1, 1, 2, 1), (5, 3, 1, 2)])
def test_filters_at_window_cells_place_each_filter_at_the_four_offsets(filter_shape):
    filters = rng.standard_normal(filter_shape).astype(np.float32)
    kh, kw, c, out_channels = filter_shape
    expected = np.zeros((2, 2, out_channels, kh + 1, kw + 1, c), np.float32)
    for i, j, o, a, b, ch in np.ndindex(2, 2, out_channels, kh, kw, c):
        expected[i, j, o, a + i, b + j, ch] = filters[a, b, ch, o]
    cells = conv_kernels._filters_at_window_cells(filters)
    assert cells.dtype == np.float32
    np.testing.assert_array_equal(cells, expected.reshape(4 * out_channels, -1))


@pytest.mark.parametrize(
    "x_shape, kernel, strides, dilations, padding",
    [
        ((1, 8, 8, 1), (3, 3), 2, 1, "SAME"),  # strided
        ((1, 10, 10, 1), (3, 3), 1, 2, "VALID"),  # dilated
        ((1, 8, 8, 4), (3, 3), 1, 1, "SAME"),  # channels enough for im2col's pixel copies
        ((1, 7, 8, 1), (3, 3), 1, 1, "SAME"),  # an odd output height
        ((1, 8, 8, 0), (3, 3), 1, 1, "SAME"),  # no channels
    ],
)
def test_pooling_by_windows_is_only_for_few_channels_stride_1_and_even_outputs(
    x_shape, kernel, strides, dilations, padding
):
    geometry = geometry_2d(x_shape[1:3], kernel, (strides,) * 2, (dilations,) * 2, padding)
    assert not conv_kernels._pools_by_windows(np.zeros(x_shape, np.float32), geometry)


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_an_input_that_is_not_finite_takes_the_exact_path(bad):
    # The windows' sums include the kernel's zeros, and 0 * inf is NaN where the conv has an inf.
    x = np.ones((1, 6, 6, 1), np.float32)
    x[0, 2, 3, 0] = bad
    geometry = geometry_2d((6, 6), (3, 3), (1, 1), (1, 1), "SAME")
    assert conv_kernels._pools_by_windows(np.ones_like(x), geometry)
    assert not conv_kernels._pools_by_windows(x, geometry)
    w, b = np.ones((3, 3, 1, 2), np.float32), np.zeros(2, np.float32)
    got = fused(1, "SAME", False)(tf.constant(x), tf.constant(w), tf.constant(b)).numpy()
    np.testing.assert_array_equal(got, unfused(1, "SAME", False)(x, w, b).numpy())
    assert np.isnan(got).any() == np.isnan(bad)


def test_inference_pools_by_windows_and_training_keeps_the_exact_path(monkeypatch):
    x = rng.standard_normal((4, 12, 12, 1)).astype(np.float32)
    w, b = (tf.Variable(rng.standard_normal(shape).astype(np.float32)) for shape in ((3, 3, 1, 5), (5,)))
    calls = []
    by_windows = conv_kernels._conv_max_pool_by_windows
    monkeypatch.setattr(conv_kernels, "_conv_max_pool_by_windows", lambda *args: calls.append(1) or by_windows(*args))
    inference = fused(1, "SAME", True)(tf.constant(x), w, b)
    assert calls == [1]
    with tf.GradientTape() as tape:
        training = fused(1, "SAME", True)(tf.constant(x), w, b)
    assert calls == [1] and len(tape.gradient(training, [w, b])) == 2
    np.testing.assert_allclose(inference.numpy(), training.numpy(), rtol=1e-6, atol=1e-6)


# ---- the fused op -------------------------------------------------------------------------------


def fused(strides, padding, relu):
    def fn(x, w, b=None):
        return fused_ops.conv2d_bias_relu(x, w, b, strides, padding, (1, 1), relu, max_pool=True)

    return fn


def unfused(strides, padding, relu):
    def fn(x, w, b=None):
        out = tf.nn.conv2d(x, w, strides=strides, padding=padding)
        if b is not None:
            out = tf.nn.bias_add(out, b)
        return tf.nn.max_pool2d(tf.nn.relu(out) if relu else out, 2, 2, "VALID")

    return fn


CASES = [  # (input shape, filter shape, strides, padding, bias, relu)
    ((2, 6, 6, 1), (3, 3, 1, 4), 1, "SAME", True, True),
    ((2, 8, 7, 5), (3, 2, 5, 3), 1, "VALID", True, False),
    ((1, 8, 8, 2), (3, 3, 2, 2), 2, "SAME", False, True),
    ((2, 5, 7, 2), (2, 2, 2, 3), 1, "VALID", True, True),  # a 4x6 output
    ((2, 6, 5, 2), (2, 2, 2, 3), 1, "VALID", True, True),  # a 5x4 output: pooled after the conv
]


@pytest.mark.parametrize("x_shape, w_shape, strides, padding, use_bias, relu", CASES)
def test_fused_conv_and_pool_match_the_tf_nn_ops(x_shape, w_shape, strides, padding, use_bias, relu):
    inputs = [rng.standard_normal(x_shape), rng.standard_normal(w_shape)]
    inputs += [rng.standard_normal(w_shape[3])] if use_bias else []
    got, expected = gradients(fused(strides, padding, relu), inputs), gradients(unfused(strides, padding, relu), inputs)
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    check_gradients(fused(strides, padding, relu), inputs)


def test_windows_whose_maximum_is_negative_pass_no_gradient_through_the_relu():
    x = -np.ones((1, 4, 4, 1))
    w, b = np.ones((1, 1, 1, 1)), np.zeros(1)
    variables = [tf.Variable(v) for v in (x, w, b)]
    with tf.GradientTape() as tape:
        out = fused(1, "VALID", True)(*variables)
    np.testing.assert_array_equal(out.numpy(), 0)
    for grad in tape.gradient(out, variables):
        np.testing.assert_array_equal(grad.numpy(), 0)


# ---- Sequential -------------------------------------------------------------------------------


def run_layer_by_layer(model, x):
    out = tf.constant(x)
    for layer in model.layers:
        out = layer(out)
    return out


@pytest.mark.parametrize(
    "body",
    [
        lambda: [layers.Conv2D(4, 3, padding="same", activation="relu"), layers.MaxPooling2D()],
        lambda: [layers.Conv2D(3, 3, activation="relu"), layers.Conv2D(4, 3), layers.MaxPooling2D((2, 2))],
        lambda: [layers.Conv2D(4, 3, activation="relu"), layers.MaxPooling2D()],  # 9x9: one after the other
    ],
)
def test_sequential_runs_conv_then_pool_as_one_op_with_the_same_values_and_gradients(body, monkeypatch):
    model = tf.keras.Sequential([layers.Input((11, 11, 2)), *body(), layers.Flatten(), layers.Dense(3)])
    x = rng.standard_normal((3, 11, 11, 2)).astype(np.float32)
    calls = []
    fused_op = fused_ops.conv2d_bias_relu

    def spy(*args, max_pool=False, **kwargs):
        calls.append(max_pool)
        return fused_op(*args, max_pool=max_pool, **kwargs)

    monkeypatch.setattr(fused_ops, "conv2d_bias_relu", spy)
    with tf.GradientTape() as tape:
        got = model(x, training=True)
        loss = tf.reduce_sum(got * got)
    got_grads = tape.gradient(loss, model.trainable_variables)
    assert calls.count(True) == 1  # the conv and its pool as one op
    with tf.GradientTape() as tape:
        expected = run_layer_by_layer(model, x)
        loss = tf.reduce_sum(expected * expected)
    expected_grads = tape.gradient(loss, model.trainable_variables)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)
    for a, b in zip(got_grads, expected_grads, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    "conv, pool",
    [
        (lambda: layers.Conv2D(2, 3, activation="sigmoid"), lambda: layers.MaxPooling2D()),
        (lambda: layers.Conv2D(2, 3), lambda: layers.MaxPooling2D(3)),
        (lambda: layers.Conv2D(2, 3), lambda: layers.MaxPooling2D(2, strides=1)),
        (lambda: layers.Conv2D(2, 3), lambda: layers.MaxPooling2D(padding="same")),
        (lambda: layers.Conv2D(2, 3), lambda: layers.AveragePooling2D()),
    ],
)
def test_other_activations_and_pools_run_as_separate_layers(conv, pool, monkeypatch):
    model = tf.keras.Sequential([layers.Input((10, 10, 1)), conv(), pool()])
    fused_op = fused_ops.conv2d_bias_relu

    def refuse_pool(*args, max_pool=False, **kwargs):
        assert not max_pool
        return fused_op(*args, **kwargs)

    monkeypatch.setattr(fused_ops, "conv2d_bias_relu", refuse_pool)
    x = rng.standard_normal((2, 10, 10, 1)).astype(np.float32)
    np.testing.assert_allclose(model(x).numpy(), run_layer_by_layer(model, x).numpy(), rtol=1e-6)
