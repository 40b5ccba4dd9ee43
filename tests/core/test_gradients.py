"""Every differentiable op against central finite differences in float64 (``tf.testing.check_gradients``)."""

import numpy as np
import pytest

import cnnlab as tf
from cnnlab.testing import check_gradients

rng = np.random.default_rng(20240601)


def normal(*shape):
    return rng.standard_normal(shape)


def positive(*shape):
    return rng.uniform(0.5, 2.0, shape)


def probabilities(*shape):
    p = rng.uniform(0.1, 1.0, shape)
    return p / p.sum(axis=-1, keepdims=True)


# (name, function of float64 tensors, inputs).  Random inputs keep away from kinks
# (relu at 0, ties in max) with probability 1.
ELEMENTWISE = [
    ("add", tf.add, [normal(2, 3), normal(3)]),
    ("subtract", tf.subtract, [normal(2, 1), normal(1, 3)]),
    ("multiply", tf.multiply, [normal(2, 3), normal(2, 1)]),
    ("divide", tf.divide, [normal(2, 3), positive(3)]),
    ("pow", tf.pow, [positive(2, 3), normal(2, 3)]),
    ("pow_scalar_exponent", lambda x: x**3, [normal(4)]),
    ("negative", tf.negative, [normal(3)]),
    ("abs", tf.abs, [normal(5)]),
    ("exp", tf.exp, [normal(2, 2)]),
    ("log", tf.math.log, [positive(4)]),
    ("log1p", tf.math.log1p, [positive(4)]),
    ("sqrt", tf.sqrt, [positive(4)]),
    ("rsqrt", tf.math.rsqrt, [positive(4)]),
    ("reciprocal", tf.math.reciprocal, [positive(4)]),
    ("square", tf.square, [normal(4)]),
    ("sigmoid", tf.sigmoid, [normal(6) * 3]),
    ("tanh", tf.tanh, [normal(6)]),
    ("maximum", tf.maximum, [normal(2, 3), normal(3)]),
    ("minimum", tf.minimum, [normal(2, 3), normal(2, 3)]),
    ("squared_difference", tf.math.squared_difference, [normal(3), normal(2, 3)]),
    ("clip_by_value", lambda t, lo, hi: tf.clip_by_value(t, lo, hi), [normal(3, 4) * 2, np.array(-0.5), np.full(4, 0.7)]),
    ("where", lambda x, y: tf.where(tf.constant([[True, False, True]]), x, y), [normal(2, 3), normal(3)]),
    ("identity", tf.identity, [normal(3)]),
]

LINEAR_ALGEBRA_AND_REDUCTIONS = [
    ("matmul", tf.matmul, [normal(3, 4), normal(4, 2)]),
    ("matmul_batched_broadcast", tf.matmul, [normal(2, 3, 4), normal(4, 5)]),
    ("matmul_transpose_a", lambda a, b: tf.matmul(a, b, transpose_a=True), [normal(4, 3), normal(4, 2)]),
    ("matmul_transpose_b", lambda a, b: tf.matmul(a, b, transpose_b=True), [normal(2, 3, 4), normal(2, 5, 4)]),
    ("matmul_transpose_both", lambda a, b: tf.matmul(a, b, transpose_a=True, transpose_b=True), [normal(4, 3), normal(2, 4)]),
    ("reduce_sum", lambda x: tf.reduce_sum(x, axis=1), [normal(2, 3, 4)]),
    ("reduce_sum_keepdims", lambda x: tf.reduce_sum(x, axis=[0, 2], keepdims=True), [normal(2, 3, 4)]),
    ("reduce_mean", lambda x: tf.reduce_mean(x, axis=-1), [normal(2, 3, 4)]),
    ("reduce_mean_all", tf.reduce_mean, [normal(2, 3)]),
    ("reduce_max", lambda x: tf.reduce_max(x, axis=1), [normal(3, 5)]),
    ("reduce_min_keepdims", lambda x: tf.reduce_min(x, axis=0, keepdims=True), [normal(3, 5)]),
    ("reduce_logsumexp", lambda x: tf.reduce_logsumexp(x, axis=1), [normal(3, 5)]),
    ("reduce_prod", lambda x: tf.reduce_prod(x, axis=[0, 2]), [normal(2, 3, 4)]),
    ("reduce_prod_with_zeros", lambda x: tf.reduce_prod(x, axis=1, keepdims=True), [normal(3, 4) * np.array([1, 0, 1, 1])]),
    ("reduce_variance", lambda x: tf.math.reduce_variance(x, axis=0), [normal(4, 3)]),
    ("reduce_std", lambda x: tf.math.reduce_std(x, axis=[0, 1]), [normal(4, 3)]),
]

SHAPES = [
    ("reshape", lambda x: tf.reshape(x, [3, -1]), [normal(2, 3, 2)]),
    ("broadcast_to", lambda x: tf.broadcast_to(x, [2, 3, 4]), [normal(3, 1)]),
    ("transpose", lambda x: tf.transpose(x, [2, 0, 1]), [normal(2, 3, 4)]),
    ("squeeze", lambda x: tf.squeeze(x, axis=1), [normal(3, 1, 2)]),
    ("expand_dims", lambda x: tf.expand_dims(x, -1), [normal(3, 2)]),
    ("concat", lambda a, b: tf.concat([a, b, a], axis=1), [normal(2, 3), normal(2, 1)]),
    ("stack", lambda a, b: tf.stack([a, b], axis=1), [normal(2, 3), normal(2, 3)]),
    ("unstack", lambda x: tf.unstack(x, axis=1)[1] * tf.unstack(x, axis=1)[2], [normal(2, 3)]),
    ("tile", lambda x: tf.tile(x, [2, 3]), [normal(2, 2)]),
    ("pad", lambda x: tf.pad(x, [[1, 0], [2, 1]], constant_values=3.0), [normal(2, 3)]),
    ("gather", lambda x: tf.gather(x, [2, 0, 2], axis=1), [normal(2, 3)]),
    ("getitem_slices", lambda x: x[1:, ::2] * x[0, 0], [normal(3, 4)]),
    ("getitem_repeated_index", lambda x: x[np.array([0, 2, 0])], [normal(3, 2)]),
]

NN = [
    ("relu", tf.nn.relu, [normal(10)]),
    ("relu6", tf.nn.relu6, [normal(10) * 5]),
    ("leaky_relu", lambda x: tf.nn.leaky_relu(x, alpha=0.1), [normal(10)]),
    ("elu", tf.nn.elu, [normal(10)]),
    ("selu", tf.nn.selu, [normal(10)]),
    ("softplus", tf.nn.softplus, [normal(10) * 3]),
    ("softsign", tf.nn.softsign, [normal(10)]),
    ("silu", tf.nn.silu, [normal(10)]),
    ("softmax", tf.nn.softmax, [normal(3, 4)]),
    ("softmax_axis0", lambda x: tf.nn.softmax(x, axis=0), [normal(3, 4)]),
    ("log_softmax", tf.nn.log_softmax, [normal(3, 4)]),
    ("softmax_cross_entropy", tf.nn.softmax_cross_entropy_with_logits, [probabilities(3, 4), normal(3, 4)]),
    ("softmax_cross_entropy_axis0", lambda l, z: tf.nn.softmax_cross_entropy_with_logits(l, z, axis=0), [probabilities(4, 3).T, normal(3, 4)]),
    ("sparse_softmax_cross_entropy", lambda z: tf.nn.sparse_softmax_cross_entropy_with_logits([2, 0, 3], z), [normal(3, 4)]),
    ("sigmoid_cross_entropy", lambda l, z: tf.nn.sigmoid_cross_entropy_with_logits(labels=l, logits=z), [rng.uniform(0, 1, (3, 2)), normal(3, 2) * 3]),
    ("l2_loss", tf.nn.l2_loss, [normal(3, 2)]),
    ("bias_add", tf.nn.bias_add, [normal(2, 3, 4), normal(4)]),
    ("dropout_fixed_mask", lambda x: (tf.random.set_seed(7), tf.nn.dropout(x, 0.4))[1], [normal(4, 5)]),
    ("moments", lambda x: tf.concat(tf.nn.moments(x, axes=[0]), axis=0), [normal(5, 3)]),
    ("batch_normalization", lambda x, m, v, o, s: tf.nn.batch_normalization(x, m, v, o, s, 1e-3), [normal(4, 3), normal(3), positive(3), normal(3), normal(3)]),
]

ALL_CASES = ELEMENTWISE + LINEAR_ALGEBRA_AND_REDUCTIONS + SHAPES + NN


@pytest.mark.parametrize("fn, inputs", [pytest.param(fn, inputs, id=name) for name, fn, inputs in ALL_CASES])
def test_gradient_matches_finite_differences(fn, inputs):
    check_gradients(fn, inputs)


def _conv_case(seed):
    """A random conv2d configuration: strides 1-3, dilations 1-2, odd and even sizes, any padding form."""
    case_rng = np.random.default_rng(seed)
    while True:
        kernel = case_rng.integers(1, 4, size=2)
        strides = case_rng.integers(1, 4, size=2)
        dilations = case_rng.integers(1, 3, size=2) if case_rng.random() < 0.5 else np.array([1, 1])
        size = case_rng.integers(3, 8, size=2)
        padding = ["SAME", "VALID", [[0, 0], case_rng.integers(0, 3, 2).tolist(), case_rng.integers(0, 3, 2).tolist(), [0, 0]]][seed % 3]
        effective = (kernel - 1) * dilations + 1
        if padding != "VALID" or (effective <= size).all():
            break
    channels, out_channels, batch = case_rng.integers(1, 4), case_rng.integers(1, 4), case_rng.integers(1, 3)
    x = case_rng.standard_normal((batch, *size, channels))
    w = case_rng.standard_normal((*kernel, channels, out_channels))
    return x, w, dict(strides=strides.tolist(), padding=padding, dilations=dilations.tolist())


CONV_SEEDS = list(range(12))


@pytest.mark.parametrize("seed", CONV_SEEDS)
def test_conv2d_gradient_on_random_cases(seed):
    x, w, arguments = _conv_case(seed)
    check_gradients(lambda x, w: tf.nn.conv2d(x, w, **arguments), [x, w])


@pytest.mark.parametrize("seed", CONV_SEEDS[:4])
def test_conv2d_backprop_ops_gradients(seed):
    x, w, arguments = _conv_case(seed)
    dy = tf.nn.conv2d(x, w, **arguments).numpy()
    dy = rng.standard_normal(dy.shape)
    check_gradients(lambda w, dy: tf.nn.conv2d_backprop_input(x.shape, w, dy, **arguments), [w, dy])
    check_gradients(lambda x, dy: tf.nn.conv2d_backprop_filter(x, w.shape, dy, **arguments), [x, dy])


def test_conv2d_transpose_gradient():
    x = normal(1, 3, 3, 2)
    w = normal(3, 3, 4, 2)  # (kh, kw, out_channels, in_channels)
    check_gradients(lambda x, w: tf.nn.conv2d_transpose(x, w, [1, 6, 6, 4], strides=2, padding="SAME"), [x, w])


POOL_CASES = [
    (2, 2, "VALID", (1, 4, 4, 2)),
    (2, 2, "SAME", (2, 5, 5, 1)),
    (3, 2, "SAME", (1, 5, 6, 2)),
    ([2, 3], [1, 2], "VALID", (1, 5, 7, 2)),
    ([1, 3, 2, 1], [1, 3, 1, 1], "SAME", (1, 7, 4, 3)),
    (3, 1, "SAME", (1, 4, 4, 1)),
]


@pytest.mark.parametrize("ksize, strides, padding, shape", POOL_CASES)
def test_pool_gradients(ksize, strides, padding, shape):
    x = normal(*shape)
    check_gradients(lambda x: tf.nn.max_pool2d(x, ksize, strides, padding), [x])
    check_gradients(lambda x: tf.nn.avg_pool2d(x, ksize, strides, padding), [x])


def test_max_pool_explicit_padding_gradient():
    check_gradients(lambda x: tf.nn.max_pool2d(x, 3, 2, [[0, 0], [1, 2], [0, 1], [0, 0]]), [normal(1, 5, 4, 2)])


# ---- second order: the gradient of a gradient -------------------------------------------------


def gradient_of(f):
    """x -> d/dx sum(f(x) ** 2), computed with an inner tape (all inputs, flattened and joined)."""

    def inner(*xs):
        with tf.GradientTape() as tape:
            tape.watch(xs)
            y = tf.reduce_sum(tf.square(f(*xs)))
        return tf.concat([tf.reshape(g, [-1]) for g in tape.gradient(y, list(xs))], axis=0)

    return inner


SECOND_ORDER = [
    ("matmul", tf.matmul, [normal(2, 3), normal(3, 2)]),
    ("exp_log", lambda x: tf.exp(x) * tf.math.log(x), [positive(4)]),
    ("tanh", tf.tanh, [normal(4)]),
    ("sigmoid", tf.sigmoid, [normal(4)]),
    ("elu", tf.nn.elu, [normal(6)]),
    ("softmax", tf.nn.softmax, [normal(2, 4)]),
    ("log_softmax", tf.nn.log_softmax, [normal(2, 4)]),
    ("softmax_cross_entropy", tf.nn.softmax_cross_entropy_with_logits, [probabilities(2, 4), normal(2, 4)]),
    ("sparse_softmax_cross_entropy", lambda z: tf.nn.sparse_softmax_cross_entropy_with_logits([1, 3], z), [normal(2, 4)]),
    ("sigmoid_cross_entropy", lambda l, z: tf.nn.sigmoid_cross_entropy_with_logits(labels=l, logits=z), [rng.uniform(0, 1, 4), normal(4)]),
    ("reduce_max", lambda x: tf.reduce_max(x, axis=0) * x[0], [normal(3, 2)]),
    ("divide", tf.divide, [normal(3), positive(3)]),
    ("reduce_prod_with_a_zero", lambda x: tf.reduce_prod(x, axis=1), [normal(2, 3) * np.array([1, 0, 1])]),
    ("pow", tf.pow, [positive(3), normal(3)]),
    ("conv2d_same_stride2", lambda x, w: tf.nn.conv2d(x, w, 2, "SAME"), [normal(1, 5, 5, 2), normal(3, 2, 2, 2)]),
    ("conv2d_valid_dilated", lambda x, w: tf.nn.conv2d(x, w, 1, "VALID", dilations=2), [normal(1, 6, 5, 1), normal(2, 2, 1, 2)]),
    ("max_pool", lambda x: tf.nn.max_pool2d(x, 3, 2, "SAME") * tf.nn.max_pool2d(x, 3, 2, "SAME"), [normal(1, 5, 5, 2)]),
    ("avg_pool", lambda x: tf.nn.avg_pool2d(x, 2, 1, "SAME") ** 3, [normal(1, 3, 4, 2)]),
    ("conv_relu_pool", lambda x, w: tf.nn.max_pool2d(tf.nn.relu(tf.nn.conv2d(x, w, 1, "SAME")), 2, 2, "VALID"), [normal(1, 4, 4, 2), normal(3, 3, 2, 2)]),
]


@pytest.mark.parametrize("fn, inputs", [pytest.param(fn, inputs, id=name) for name, fn, inputs in SECOND_ORDER])
def test_second_order_gradient_matches_finite_differences(fn, inputs):
    check_gradients(gradient_of(fn), inputs)


# ---- the checker itself can fail -------------------------------------------------------------


def test_check_gradients_catches_a_wrong_gradient():
    from cnnlab.autodiff import record

    def wrong_square(x):
        return record(x._value**2, (x,), lambda dy: (dy * x,))  # should be 2 * x

    with pytest.raises(AssertionError, match="check_gradients: the tape's gradient for input 0"):
        check_gradients(wrong_square, [normal(3)])


def test_check_gradients_catches_an_error_a_plain_sum_would_hide():
    from cnnlab.autodiff import record

    def softmax_without_gradient(x):  # the gradient of sum(softmax) is 0, so a plain sum would pass
        return record(tf.nn.softmax(x)._value, (x,), lambda dy: (tf.zeros_like(dy),))

    with pytest.raises(AssertionError):
        check_gradients(softmax_without_gradient, [normal(2, 3)])


def test_cast_gradient_flows_between_float_dtypes():
    x = tf.Variable(np.array([1.5, -2.0]))
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(tf.cast(x, tf.float32) * tf.constant([2.0, 3.0]))
    grad = tape.gradient(y, x)
    assert grad.dtype == tf.float64
    np.testing.assert_array_equal(grad.numpy(), [2.0, 3.0])


def test_maximum_and_minimum_send_a_tie_to_x_as_tf():
    # TF's _MaximumGrad / _MinimumGrad: x gets dy where x >= y (x <= y), y the rest.
    x = tf.Variable([1.0, 2.0, 3.0])
    y = tf.Variable([1.0, 5.0, 0.0])
    for op, x_gets in ((tf.maximum, [1, 0, 1]), (tf.minimum, [1, 1, 0])):
        with tf.GradientTape() as tape:
            z = tf.reduce_sum(op(x, y) * [1.0, 10.0, 100.0])
        dx, dy = tape.gradient(z, [x, y])
        np.testing.assert_array_equal(dx.numpy(), np.multiply(x_gets, [1, 10, 100]), err_msg=op.__name__)
        np.testing.assert_array_equal(dy.numpy(), np.multiply(1 - np.array(x_gets), [1, 10, 100]), err_msg=op.__name__)
    # a broadcast y ties with every element equal to it
    with tf.GradientTape() as tape:
        z = tf.reduce_sum(tf.maximum(x, 2.0))
    np.testing.assert_array_equal(tape.gradient(z, x).numpy(), [0, 1, 1])


def test_clip_by_value_passes_the_gradient_at_its_bounds_as_tf():
    # TF's _ClipByValueGrad masks only t < min and t > max: values on a bound keep their gradient.
    t = tf.Variable([0.0, 0.5, 1.0, -1.0, 2.0])
    low, high = tf.Variable(0.0), tf.Variable(1.0)
    with tf.GradientTape() as tape:
        z = tf.reduce_sum(tf.clip_by_value(t, low, high))
    dt, dlow, dhigh = tape.gradient(z, [t, low, high])
    np.testing.assert_array_equal(dt.numpy(), [1, 1, 1, 0, 0])
    assert float(dlow) == 1 and float(dhigh) == 1  # from -1.0 and 2.0 alone
