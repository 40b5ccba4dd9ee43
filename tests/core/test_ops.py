"""Forward values and dtypes of the top-level ops, against NumPy and TF's documented behaviour."""

import numpy as np
import pytest

import cnnlab as tf

rng = np.random.default_rng(3)
A = rng.standard_normal((2, 3, 4)).astype(np.float32)


@pytest.mark.parametrize(
    "ours, numpys",
    [
        (tf.abs, np.abs),
        (tf.exp, np.exp),
        (tf.square, np.square),
        (tf.negative, np.negative),
        (tf.sign, np.sign),
        (tf.tanh, np.tanh),
        (lambda x: tf.sqrt(tf.abs(x)), lambda x: np.sqrt(np.abs(x))),
        (lambda x: tf.math.log(tf.abs(x)), lambda x: np.log(np.abs(x))),
        (lambda x: tf.math.log1p(tf.abs(x)), lambda x: np.log1p(np.abs(x))),
        (lambda x: tf.math.rsqrt(tf.abs(x)), lambda x: 1 / np.sqrt(np.abs(x))),
        (tf.math.floor, np.floor),
        (tf.math.ceil, np.ceil),
        (tf.round, np.round),
        (lambda x: tf.maximum(x, 0.1), lambda x: np.maximum(x, 0.1)),
        (lambda x: tf.minimum(x, x[0]), lambda x: np.minimum(x, x[0])),
        (lambda x: tf.clip_by_value(x, -0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5)),
        (lambda x: tf.math.squared_difference(x, 1.0), lambda x: (x - 1) ** 2),
    ],
)
def test_elementwise_ops_match_numpy_and_keep_float32(ours, numpys):
    y = ours(A)
    assert y.dtype == tf.float32
    np.testing.assert_allclose(y.numpy(), numpys(A), rtol=1e-6, atol=1e-7)


def test_round_is_half_to_even_like_tf():
    np.testing.assert_array_equal(tf.round([0.5, 1.5, 2.5, -0.5]).numpy(), [0.0, 2.0, 2.0, -0.0])


def test_sigmoid_is_exact_and_finite_at_extremes():
    np.testing.assert_allclose(tf.sigmoid([-1e4, -3.0, 0.0, 3.0, 1e4]).numpy(), [0, 1 / (1 + np.exp(3)), 0.5, 1 / (1 + np.exp(-3)), 1], rtol=1e-6)


@pytest.mark.parametrize("axis", [None, 0, 1, -1, [0, 2], (1, 2)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions_match_numpy(axis, keepdims):
    np_axis = tuple(axis) if isinstance(axis, list) else axis
    for ours, numpys in [
        (tf.reduce_sum, np.sum),
        (tf.reduce_mean, np.mean),
        (tf.reduce_max, np.max),
        (tf.reduce_min, np.min),
        (tf.reduce_prod, np.prod),
        (tf.math.reduce_variance, np.var),
        (tf.math.reduce_std, np.std),
    ]:
        y = ours(A, axis=axis, keepdims=keepdims)
        expected = numpys(A, axis=np_axis, keepdims=keepdims)
        assert y.shape == expected.shape and y.dtype == tf.float32
        np.testing.assert_allclose(y.numpy(), expected, rtol=1e-5, atol=1e-6)
    logsumexp = np.log(np.sum(np.exp(A), axis=np_axis, keepdims=keepdims))
    np.testing.assert_allclose(tf.reduce_logsumexp(A, axis=axis, keepdims=keepdims).numpy(), logsumexp, rtol=1e-5)


def test_integer_reductions_keep_the_dtype_and_truncate_the_mean():
    x = tf.constant([[1, 2], [4, 4]])
    assert tf.reduce_sum(x).dtype == tf.int32 and int(tf.reduce_sum(x)) == 11
    np.testing.assert_array_equal(tf.reduce_mean(x, axis=1).numpy(), [1, 4])
    assert tf.reduce_mean(x).dtype == tf.int32


def test_reductions_over_nothing_give_tfs_identities():
    # TF fills an empty reduction with the reducer's identity: the mean has none for floats (NaN)
    # and is 0 for integers; the max starts from -inf (the dtype's lowest integer), the min from +inf.
    empty = np.zeros(0, np.float32)
    assert np.isnan(tf.reduce_mean(empty).numpy()) and tf.reduce_mean(empty).dtype == tf.float32
    assert np.isnan(tf.reduce_mean(np.zeros(0)).numpy())  # the float64 case
    assert tf.reduce_mean(np.zeros(0, np.int32)).numpy() == 0
    assert tf.reduce_max(empty).numpy() == -np.inf and tf.reduce_min(empty).numpy() == np.inf
    assert tf.reduce_max(np.zeros(0, np.int32)).numpy() == np.iinfo(np.int32).min
    assert tf.reduce_min(np.zeros(0, np.int64)).numpy() == np.iinfo(np.int64).max
    assert tf.reduce_max(np.zeros(0, np.uint8)).numpy() == 0
    assert tf.reduce_sum(empty).numpy() == 0 and tf.reduce_prod(empty).numpy() == 1
    assert tf.reduce_logsumexp(empty).numpy() == -np.inf
    assert np.isnan(tf.math.reduce_variance(empty).numpy()) and np.isnan(tf.math.reduce_std(empty).numpy())
    assert not tf.reduce_any(np.zeros(0, bool)).numpy() and tf.reduce_all(np.zeros(0, bool)).numpy()
    # an empty reduced axis gives a full result; an empty kept axis an empty one
    rows = np.zeros((0, 3), np.float32)
    np.testing.assert_array_equal(tf.reduce_max(rows, axis=0).numpy(), [-np.inf] * 3)
    np.testing.assert_array_equal(tf.reduce_min(rows, axis=0, keepdims=True).numpy(), [[np.inf] * 3])
    assert np.isnan(tf.reduce_mean(rows, axis=0).numpy()).all() and tf.reduce_mean(rows, axis=0).shape == (3,)
    assert tf.reduce_max(rows, axis=1).shape == (0,)
    x = tf.Variable(rows)
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(tf.reduce_max(x, axis=0)) + tf.reduce_sum(tf.reduce_mean(x, axis=0))
    assert tape.gradient(total, x).shape == (0, 3)


def test_reduce_max_gradient_is_shared_between_ties_as_tf():
    x = tf.Variable([[1.0, 3.0, 3.0], [2.0, 0.0, 1.0]])
    with tf.GradientTape() as tape:
        y = tf.reduce_max(x, axis=1)
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), [[0, 0.5, 0.5], [1, 0, 0]])


def test_logical_ops_and_reductions():
    a, b = tf.constant([True, True, False]), tf.constant([True, False, False])
    np.testing.assert_array_equal(tf.logical_and(a, b).numpy(), [True, False, False])
    np.testing.assert_array_equal(tf.logical_or(a, b).numpy(), [True, True, False])
    np.testing.assert_array_equal(tf.logical_xor(a, b).numpy(), [False, True, False])
    np.testing.assert_array_equal(tf.logical_not(a).numpy(), [False, False, True])
    assert bool(tf.reduce_any(b)) and not bool(tf.reduce_all(a))
    np.testing.assert_array_equal(tf.reduce_all(tf.constant([[True, False], [True, True]]), axis=1).numpy(), [False, True])


def test_argmax_argmin_default_to_axis_0_int64_first_on_ties():
    x = tf.constant([[1.0, 5.0, 5.0], [7.0, 0.0, 5.0]])
    np.testing.assert_array_equal(tf.argmax(x).numpy(), [1, 0, 0])
    assert tf.argmax(x).dtype == tf.int64
    np.testing.assert_array_equal(tf.argmax(x, axis=1).numpy(), [1, 0])
    np.testing.assert_array_equal(tf.argmin(x, axis=-1, output_type=tf.int32).numpy(), [0, 1])
    assert tf.argmin(x, axis=1, output_type=tf.int32).dtype == tf.int32


def test_matmul_batched_with_broadcasting_and_transposes():
    a, b = rng.standard_normal((2, 1, 3, 4)), rng.standard_normal((5, 4, 2))
    np.testing.assert_allclose(tf.matmul(a, b).numpy(), a @ b, rtol=1e-12)
    np.testing.assert_allclose(tf.matmul(b, a[0, 0], transpose_a=True, transpose_b=True).numpy(), np.swapaxes(b, -1, -2) @ a[0, 0].T, rtol=1e-12)
    np.testing.assert_allclose(tf.linalg.matmul(a[0, 0], b[0]).numpy(), a[0, 0] @ b[0], rtol=1e-12)
    np.testing.assert_array_equal(tf.linalg.matrix_transpose(a).numpy(), np.swapaxes(a, -1, -2))


def test_shape_ops_match_numpy():
    np.testing.assert_array_equal(tf.reshape(A, [4, -1]).numpy(), A.reshape(4, -1))
    np.testing.assert_array_equal(tf.transpose(A).numpy(), A.T)
    np.testing.assert_array_equal(tf.transpose(A, perm=[1, 0, 2]).numpy(), A.transpose(1, 0, 2))
    assert tf.squeeze(np.zeros((1, 3, 1))).shape == (3,)
    assert tf.squeeze(np.zeros((1, 3, 1)), axis=-1).shape == (1, 3)
    assert tf.expand_dims(A, 0).shape == (1, 2, 3, 4) and tf.expand_dims(A, -1).shape == (2, 3, 4, 1)
    np.testing.assert_array_equal(tf.concat([A, A[:, :1]], axis=1).numpy(), np.concatenate([A, A[:, :1]], axis=1))
    np.testing.assert_array_equal(tf.stack([A, A], axis=-1).numpy(), np.stack([A, A], axis=-1))
    parts = tf.unstack(A, axis=2)
    assert len(parts) == 4 and parts[3].shape == (2, 3)
    np.testing.assert_array_equal(tf.tile([[1, 2]], [2, 2]).numpy(), [[1, 2, 1, 2], [1, 2, 1, 2]])
    np.testing.assert_array_equal(tf.pad([[1, 2]], [[1, 0], [0, 2]]).numpy(), [[0, 0, 0, 0], [1, 2, 0, 0]])
    np.testing.assert_array_equal(tf.gather(A, [3, 0], axis=2).numpy(), A[:, :, [3, 0]])
    np.testing.assert_array_equal(tf.broadcast_to([1, 2], [3, 2]).numpy(), [[1, 2]] * 3)
    np.testing.assert_array_equal(tf.where([True, False], [1, 2], [3, 4]).numpy(), [1, 4])
    np.testing.assert_array_equal(tf.where([[True, False], [False, True]]).numpy(), [[0, 0], [1, 1]])


def test_constructors_and_shape_queries():
    assert tf.zeros([2, 3]).dtype == tf.float32 and tf.ones(3, dtype=tf.int32).dtype == tf.int32
    np.testing.assert_array_equal(tf.zeros_like(A).numpy(), np.zeros_like(A))
    np.testing.assert_array_equal(tf.ones_like(tf.constant([1, 2])).numpy(), [1, 1])
    np.testing.assert_array_equal(tf.fill([2, 2], 9.0).numpy(), np.full((2, 2), 9.0))
    assert tf.fill([2], 9.0).dtype == tf.float32
    np.testing.assert_array_equal(tf.eye(2, 3).numpy(), np.eye(2, 3))
    assert tf.eye(2, batch_shape=[4]).shape == (4, 2, 2)
    assert tf.range(5).dtype == tf.int32 and tf.range(0.0, 1.0, 0.25).dtype == tf.float32
    np.testing.assert_array_equal(tf.range(5, 0, -2).numpy(), [5, 3, 1])
    np.testing.assert_allclose(tf.range(0.0, 1.0, 0.25).numpy(), [0, 0.25, 0.5, 0.75])
    assert tf.range(0, 1.0, 0.5).dtype == tf.float32 and tf.range(3, dtype=tf.float64).dtype == tf.float64
    np.testing.assert_array_equal(tf.shape(A).numpy(), [2, 3, 4])
    assert tf.shape(A).dtype == tf.int32 and int(tf.size(A)) == 24 and int(tf.rank(A)) == 3


def test_one_hot_like_tf():
    np.testing.assert_array_equal(tf.one_hot([0, 2, -1, 3], 3).numpy(), [[1, 0, 0], [0, 0, 1], [0, 0, 0], [0, 0, 0]])
    assert tf.one_hot([1], 2).dtype == tf.float32
    hot = tf.one_hot([[0, 1]], 2, on_value=5, off_value=-1, axis=0)
    assert hot.dtype == tf.int32 and hot.shape == (2, 1, 2)
    np.testing.assert_array_equal(hot.numpy()[:, 0, :], [[5, -1], [-1, 5]])


def test_cast_of_a_variable_to_its_own_dtype_is_a_snapshot():
    v = tf.Variable([1.0])
    c = tf.cast(v, tf.float32)
    v.assign([2.0])
    assert float(c[0]) == 1.0
