"""Tensor and Variable: dtype rules, the NumPy-facing API, operators and indexing."""

import numpy as np
import pytest

import cnnlab as tf

# ---- dtype rules (DESIGN.md) -----------------------------------------------------------------


def test_python_values_get_tf_default_dtypes():
    assert tf.constant(1.5).dtype == tf.float32
    assert tf.constant(3).dtype == tf.int32
    assert tf.constant(True).dtype == tf.bool
    assert tf.constant([1.0, 2.0]).dtype == tf.float32
    assert tf.constant(2**40).dtype == tf.int64  # too big for int32


def test_numpy_arrays_keep_their_dtype():
    assert tf.constant(np.array([1.0, 2.0])).dtype == tf.float64
    assert tf.Variable(np.array([1.0, 2.0])).dtype == tf.float64
    assert tf.constant(np.arange(3, dtype=np.int64)).dtype == tf.int64


def test_variable_with_dtype_float_is_float32():
    v = tf.Variable(np.zeros(4), dtype=float)
    assert v.dtype == tf.float32
    np.testing.assert_array_equal(v.numpy(), np.zeros(4, np.float32))


def test_float64_array_meets_float32_variable_and_becomes_float32():
    v = tf.Variable([1.0, 2.0])
    for result in (np.array([0.5, 0.25]) + v, v + np.array([0.5, 0.25]), tf.multiply(np.array([2.0, 2.0]), v)):
        assert result.dtype == tf.float32
    np.testing.assert_allclose((np.array([0.5, 0.25]) + v).numpy(), [1.5, 2.25])


def test_python_float_takes_the_tensor_dtype():
    x = tf.constant(np.array([1.0]))
    assert (x * 2.5).dtype == tf.float64
    assert (2.5 * tf.constant([1.0])).dtype == tf.float32


def test_two_tensors_of_different_float_dtypes_raise_type_error():
    with pytest.raises(TypeError, match=r"add: both operands must have the same dtype; received x.dtype=float32 and y.dtype=float64"):
        tf.constant([1.0]) + tf.constant(np.array([1.0]))
    with pytest.raises(TypeError, match="matmul"):
        tf.matmul(tf.ones([2, 2]), tf.ones([2, 2], dtype=tf.float64))


def test_float_value_into_int_tensor_is_refused():
    with pytest.raises(TypeError, match="cannot convert a value of dtype float"):
        tf.constant([1, 2]) + 0.5


def test_cast_changes_dtype_and_truncates_toward_zero():
    np.testing.assert_array_equal(tf.cast([-1.7, 1.7], tf.int32).numpy(), [-1, 1])
    assert tf.cast(tf.constant([1, 2]), tf.float64).dtype == tf.float64


def test_integer_division_gives_float64_as_tf():
    out = tf.constant([1, 2]) / tf.constant([2, 4])
    assert out.dtype == tf.float64
    np.testing.assert_array_equal(out.numpy(), [0.5, 0.5])


# ---- the NumPy-facing API --------------------------------------------------------------------


def test_array_protocol_lets_numpy_functions_work():
    t = tf.constant(np.arange(24.0).reshape(1, 2, 3, 4))
    swapped = np.swapaxes(t, 0, 3)
    assert swapped.shape == (4, 2, 3, 1)
    np.testing.assert_array_equal(swapped, np.swapaxes(np.arange(24.0).reshape(1, 2, 3, 4), 0, 3))
    np.testing.assert_array_equal(np.asarray(t), t.numpy())
    assert np.asarray(t, dtype=np.float32).dtype == np.float32


def test_len_iteration_shape_and_ndim():
    t = tf.constant([[1, 2], [3, 4], [5, 6]])
    assert len(t) == 3
    rows = list(t)
    assert len(rows) == 3
    np.testing.assert_array_equal(rows[2].numpy(), [5, 6])
    assert t.shape == (3, 2) and t.shape.as_list() == [3, 2] and t.ndim == 2 and t.shape.num_elements() == 6
    with pytest.raises(TypeError, match="len"):
        len(tf.constant(1.0))


def test_repr_and_str_are_tensorflows():
    # The texts TF's guides show (ops.Tensor.__repr__ / __str__, ResourceVariable.__repr__).
    assert repr(tf.constant([1.0, 2.0])) == (
        "<tf.Tensor: shape=(2,), dtype=float32, numpy=array([1., 2.], dtype=float32)>"
    )
    assert repr(tf.constant(6.0)) == "<tf.Tensor: shape=(), dtype=float32, numpy=6.0>"
    assert repr(tf.constant(3)) == "<tf.Tensor: shape=(), dtype=int32, numpy=3>"
    assert repr(tf.constant([[1, 2], [3, 4]])) == (
        "<tf.Tensor: shape=(2, 2), dtype=int32, numpy=\narray([[1, 2],\n       [3, 4]], dtype=int32)>"
    )
    assert str(tf.constant(4)) == "tf.Tensor(4, shape=(), dtype=int32)"
    assert str(tf.constant([2.0, 3.0, 4.0])) == "tf.Tensor([2. 3. 4.], shape=(3,), dtype=float32)"
    assert str(tf.constant([[1.0, 2.0], [3.0, 4.0]])) == "tf.Tensor(\n[[1. 2.]\n [3. 4.]], shape=(2, 2), dtype=float32)"
    assert str(tf.constant([True, False])) == "tf.Tensor([ True False], shape=(2,), dtype=bool)"
    assert repr(tf.Variable([1.0, 2.0], name="w")) == (
        "<tf.Variable 'w:0' shape=(2,) dtype=float32, numpy=array([1., 2.], dtype=float32)>"
    )
    assert str(tf.Variable(5.0, name="train_me")) == "<tf.Variable 'train_me:0' shape=() dtype=float32, numpy=5.0>"
    assert repr(tf.Variable([[1.0, 2.0], [3.0, 4.0]])) == (
        "<tf.Variable 'Variable:0' shape=(2, 2) dtype=float32, numpy=\n"
        "array([[1., 2.],\n       [3., 4.]], dtype=float32)>"
    )


def test_tensors_live_on_the_cpu():
    assert tf.constant([1.0]).device == "/job:localhost/replica:0/task:0/device:CPU:0"
    assert tf.Variable(1.0).device == tf.constant(1.0).device


def test_scalar_conversions():
    t = tf.constant(2.5)
    assert float(t) == 2.5 and int(tf.constant(3)) == 3 and f"{t:.1f}" == "2.5"
    assert bool(tf.constant(True))
    with pytest.raises(ValueError, match="ambiguous"):
        bool(tf.constant([1, 2]))


def test_operators_compute_like_numpy():
    a, b = np.array([[1.0, -2.0], [3.0, 4.0]]), np.array([[0.5, 2.0], [-1.0, 3.0]])
    x, y = tf.constant(a), tf.constant(b)
    cases = {
        "+": (x + y, a + b), "-": (x - y, a - b), "*": (x * y, a * b), "/": (x / y, a / b),
        "**": (abs(x) ** y, np.abs(a) ** b), "@": (x @ y, a @ b), "neg": (-x, -a),
        "r+": (1 + x, 1 + a), "r-": (1 - x, 1 - a), "r/": (1 / y, 1 / b), "//": (x // y, a // b), "%": (x % y, a % b),
    }  # fmt: skip
    for name, (got, expected) in cases.items():
        np.testing.assert_allclose(got.numpy(), expected, err_msg=name)


def test_comparisons_give_bool_tensors():
    x = tf.constant([1, 2, 3])
    np.testing.assert_array_equal((x > 1).numpy(), [False, True, True])
    np.testing.assert_array_equal((x == 2).numpy(), [False, True, False])
    np.testing.assert_array_equal((x != 2).numpy(), [True, False, True])
    np.testing.assert_array_equal((x <= 2).numpy(), [True, True, False])
    assert (x == None) is False  # noqa: E711 - TF's behaviour is what is tested
    np.testing.assert_array_equal(((x > 1) & (x < 3)).numpy(), [False, True, False])
    np.testing.assert_array_equal((~(x > 1)).numpy(), [True, False, False])


def test_indexing_and_slicing_like_numpy():
    a = np.arange(24.0).reshape(2, 3, 4)
    t = tf.constant(a)
    for key in [0, (1, 2), (slice(None), 1), (Ellipsis, -1), (slice(0, 2), slice(None, None, 2)), (None, 0), np.array([1, 0])]:
        np.testing.assert_array_equal(t[key].numpy(), a[key])
    np.testing.assert_array_equal(t[a > 10].numpy(), a[a > 10])
    np.testing.assert_array_equal(t[tf.constant([1, 0])].numpy(), a[[1, 0]])


def test_constant_with_shape_broadcasts_a_scalar_and_reshapes_a_list():
    np.testing.assert_array_equal(tf.constant(7.0, shape=[2, 2]).numpy(), np.full((2, 2), 7.0))
    assert tf.constant([1, 2, 3, 4], shape=(2, 2)).shape == (2, 2)


# ---- Variable --------------------------------------------------------------------------------


def test_variable_assign_add_sub_update_in_place():
    v = tf.Variable([1.0, 2.0])
    assert v.assign([3.0, 4.0]) is v
    v.assign_add([1.0, 1.0])
    v.assign_sub(np.array([0.5, 0.5]))
    np.testing.assert_array_equal(v.numpy(), np.array([3.5, 4.5], np.float32))
    assert v.dtype == tf.float32


def test_variable_assign_checks_the_shape():
    v = tf.Variable([1.0, 2.0])
    with pytest.raises(ValueError, match=r"Variable.assign: expected a value of shape \(2,\).*received shape=\(3,\)"):
        v.assign([1.0, 2.0, 3.0])


def test_views_of_a_variable_do_not_change_when_it_is_assigned():
    v = tf.Variable([[1.0, 2.0], [3.0, 4.0]])
    snapshots = [tf.reshape(v, [-1]), tf.transpose(v), tf.stop_gradient(v), tf.cast(v, tf.float32), v.read_value(), tf.squeeze(v)]
    first_row = v[0]
    v.assign([[0.0, 0.0], [0.0, 0.0]])
    for s in snapshots:
        assert float(tf.reduce_sum(s)) == 10.0
    np.testing.assert_array_equal(first_row.numpy(), [1.0, 2.0])


def test_variable_value_is_keras_3s_snapshot_of_the_variable():
    v = tf.Variable([1.0, 2.0])
    with tf.GradientTape() as tape:
        value = v.value
        total = tf.reduce_sum(value * value)
    v.assign([5.0, 5.0])
    assert isinstance(value, tf.Tensor) and not isinstance(value, tf.Variable)
    np.testing.assert_array_equal(value.numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(tape.gradient(total, v).numpy(), [2.0, 4.0])


def test_variable_from_callable_and_numpy_copy():
    v = tf.Variable(lambda: np.ones(3, np.float32))
    copy = v.numpy()
    copy[0] = 5.0
    assert float(v[0]) == 1.0
