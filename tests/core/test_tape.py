"""GradientTape: watching, structures, persistence, nesting, stop_gradient, broadcasting."""

import numpy as np
import pytest

import cnnlab as tf


def test_polynomial_on_float64_variable_gives_3x2_plus_2_in_float64():
    x = tf.Variable(np.array([-1.5, 0.0, 2.0]))
    with tf.GradientTape() as tape:
        y = x**3 + 2 * x + 5
    grad = tape.gradient(y, x)
    assert grad.dtype == tf.float64
    np.testing.assert_allclose(grad.numpy(), 3 * np.array([-1.5, 0.0, 2.0]) ** 2 + 2, rtol=1e-15)


def test_trainable_variables_are_watched_constants_are_not():
    v, c = tf.Variable(2.0), tf.constant(3.0)
    frozen = tf.Variable(4.0, trainable=False)
    with tf.GradientTape() as tape:
        y = v * c * frozen
    dv, dc, dfrozen = tape.gradient(y, [v, c, frozen])
    assert float(dv) == 12.0 and dc is None and dfrozen is None


def test_watch_makes_a_constant_a_source():
    c = tf.constant([1.0, 2.0])
    with tf.GradientTape() as tape:
        tape.watch(c)
        y = tf.reduce_sum(c * c)
    np.testing.assert_array_equal(tape.gradient(y, c).numpy(), [2.0, 4.0])


def test_watch_accessed_variables_false_watches_only_what_is_asked():
    a, b = tf.Variable(1.0), tf.Variable(2.0)
    with tf.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(a)
        y = a * b
    da, db = tape.gradient(y, [a, b])
    assert float(da) == 2.0 and db is None
    assert tape.watched_variables() == (a,)


def test_sources_in_list_tuple_and_dict_come_back_in_the_same_structure():
    a, b, c = tf.Variable(1.0), tf.Variable(2.0), tf.Variable(3.0)
    with tf.GradientTape(persistent=True) as tape:
        y = a * b * c
    as_list = tape.gradient(y, [a, b])
    as_tuple = tape.gradient(y, (a, (b, c)))
    as_dict = tape.gradient(y, {"z": a, "y": [b, c]})
    assert isinstance(as_list, list) and [float(g) for g in as_list] == [6.0, 3.0]
    assert isinstance(as_tuple, tuple) and float(as_tuple[1][1]) == 2.0
    assert set(as_dict) == {"z", "y"} and float(as_dict["z"]) == 6.0 and float(as_dict["y"][0]) == 3.0


def test_second_call_on_non_persistent_tape_raises():
    x = tf.Variable(1.0)
    with tf.GradientTape() as tape:
        y = x * x
    tape.gradient(y, x)
    with pytest.raises(RuntimeError, match="only be called once on a non-persistent tape"):
        tape.gradient(y, x)


def test_persistent_tape_allows_several_calls():
    x = tf.Variable(3.0)
    with tf.GradientTape(persistent=True) as tape:
        y = x * x
        z = y * x
    assert float(tape.gradient(y, x)) == 6.0
    assert float(tape.gradient(z, x)) == 27.0


def test_nested_tapes_give_second_and_third_derivatives():
    x = tf.Variable(np.array([0.5, 2.0]))
    with tf.GradientTape() as t3:
        with tf.GradientTape() as t2:
            with tf.GradientTape() as t1:
                y = x**4
            dy = t1.gradient(y, x)
        d2y = t2.gradient(dy, x)
    d3y = t3.gradient(d2y, x)
    value = np.array([0.5, 2.0])
    np.testing.assert_allclose(dy.numpy(), 4 * value**3)
    np.testing.assert_allclose(d2y.numpy(), 12 * value**2)
    np.testing.assert_allclose(d3y.numpy(), 24 * value)


def test_gradient_through_a_gradient_of_exp_and_log():
    x = tf.Variable(1.3, dtype=tf.float64)
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            y = tf.exp(x) * tf.log(x)
        dy = inner.gradient(y, x)
    d2y = outer.gradient(dy, x)
    v = 1.3
    np.testing.assert_allclose(float(d2y), np.exp(v) * (np.log(v) + 2 / v - 1 / v**2), rtol=1e-12)


def test_stop_gradient_blocks_the_flow():
    x = tf.Variable(2.0)
    with tf.GradientTape() as tape:
        y = x * tf.stop_gradient(x)
    assert float(tape.gradient(y, x)) == 2.0


def test_stop_recording_pauses_the_tape():
    x = tf.Variable(2.0)
    with tf.GradientTape() as tape:
        with tape.stop_recording():
            unrecorded = x * x
        y = unrecorded * x
    assert float(tape.gradient(y, x)) == 4.0


def test_unconnected_sources_give_none_or_zeros():
    x, unused = tf.Variable(1.0), tf.Variable([1.0, 2.0])
    with tf.GradientTape(persistent=True) as tape:
        y = x * 2
    assert tape.gradient(y, unused) is None
    np.testing.assert_array_equal(tape.gradient(y, unused, unconnected_gradients="zero").numpy(), [0.0, 0.0])


def test_integer_sources_give_none():
    i = tf.Variable(3)
    x = tf.Variable(2.0)
    with tf.GradientTape() as tape:
        y = tf.cast(i, tf.float32) * x
    di, dx = tape.gradient(y, [i, x])
    assert di is None and float(dx) == 3.0


def test_broadcast_operand_gradients_are_summed_to_its_shape():
    a = tf.Variable(np.ones((2, 3)))
    b = tf.Variable(np.array([1.0, 2.0, 3.0]))
    c = tf.Variable(np.array([[2.0], [3.0]]))
    s = tf.Variable(np.array(4.0))
    with tf.GradientTape() as tape:
        y = a * b + c * s
    da, db, dc, ds = tape.gradient(y, [a, b, c, s])
    assert da.shape == (2, 3) and db.shape == (3,) and dc.shape == (2, 1) and ds.shape == ()
    np.testing.assert_array_equal(db.numpy(), [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(dc.numpy(), [[12.0], [12.0]])
    assert float(ds) == 15.0


def test_non_scalar_target_is_summed():
    x = tf.Variable([1.0, 2.0])
    with tf.GradientTape() as tape:
        y = tf.stack([x * 2, x * x])
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), [4.0, 6.0])


def test_output_gradients_seed_the_target():
    x = tf.Variable([1.0, 2.0])
    with tf.GradientTape() as tape:
        y = x * x
    np.testing.assert_array_equal(tape.gradient(y, x, output_gradients=tf.constant([1.0, 10.0])).numpy(), [2.0, 40.0])


def test_a_variable_used_twice_accumulates():
    x = tf.Variable(3.0)
    with tf.GradientTape() as tape:
        y = x * x + x
    assert float(tape.gradient(y, x)) == 7.0


def test_indexing_gradients_scatter_back():
    x = tf.Variable(np.arange(6.0).reshape(2, 3))
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(x[:, 1]) + 2 * tf.reduce_sum(x[tf.constant([1, 1]), 0]) + tf.reduce_sum(x[x > 3.5])
    expected = np.array([[0.0, 1.0, 0.0], [4.0, 2.0, 1.0]])
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), expected)


def test_gradient_of_a_source_with_respect_to_itself_is_ones():
    x = tf.Variable([1.0, 2.0])
    with tf.GradientTape() as tape:
        pass
    np.testing.assert_array_equal(tape.gradient(x, x).numpy(), [1.0, 1.0])


def test_bad_arguments_to_the_tape():
    with tf.GradientTape() as tape:
        with pytest.raises(ValueError, match="GradientTape.watch: expected a Tensor"):
            tape.watch(3.0)
    with pytest.raises(ValueError, match="GradientTape.gradient: sources must be Tensors"):
        tape.gradient(tf.constant(1.0), [1.0])
    with tf.GradientTape() as tape:
        pass
    with pytest.raises(ValueError, match="unconnected_gradients must be 'none' or 'zero'; received 'sometimes'"):
        tape.gradient(tf.constant(1.0), tf.constant(1.0), unconnected_gradients="sometimes")


def test_the_tape_frees_results_no_gradient_needs_and_their_keys_are_never_reused():
    import gc
    import weakref

    values = np.linspace(-1, 1, 12, dtype=np.float32).reshape(1, 2, 2, 3)
    x = tf.Variable(values)
    with tf.GradientTape() as tape:
        shifted = x + 0.25
        pooled = tf.nn.max_pool2d(tf.nn.relu(shifted), 2, 2, "VALID")  # the pool's input is not needed
        gone = weakref.ref(shifted)  # the sum: neither relu's gradient nor add's needs it
        del shifted
        gc.collect()
        assert gone() is None
        # New tensors made now must not be taken for the dead one.
        unrelated = [tf.constant(1.0) for _ in range(100)]
        y = tf.reduce_sum(pooled * 2.0) + tf.reduce_sum(tf.stack(unrelated))
    expected = np.zeros_like(values)
    window = values[0] + 0.25
    for c in range(3):  # each channel's max over the 2x2 window, where it is positive
        i = np.unravel_index(np.argmax(window[:, :, c]), (2, 2))
        expected[0, i[0], i[1], c] = 2.0 if window[i[0], i[1], c] > 0 else 0.0
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), expected)
