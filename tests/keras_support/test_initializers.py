"""Initializers: shapes and dtypes, Keras's fans and limits (exactly and statistically),
seeds, Constant with arrays, lookup and serialization, bad input."""

import json
import math

import numpy as np
import pytest

import cnnlab as tf
from cnnlab.keras import initializers

ALL = [
    initializers.GlorotUniform,
    initializers.GlorotNormal,
    initializers.HeUniform,
    initializers.HeNormal,
    initializers.LecunUniform,
    initializers.LecunNormal,
    initializers.RandomUniform,
    initializers.RandomNormal,
    initializers.TruncatedNormal,
    initializers.Zeros,
    initializers.Ones,
    initializers.Constant,
    initializers.VarianceScaling,
]


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
@pytest.mark.parametrize("shape", [(5,), (4, 3), (3, 3, 2, 4)])
def test_shape_dtype_and_type(cls, shape):
    values = cls()(shape)
    assert isinstance(values, tf.Tensor) and not isinstance(values, tf.Variable)
    assert values.shape == shape and values.dtype == np.float32
    assert cls()(list(shape), dtype="float64").dtype == np.float64
    assert cls()(tf.TensorShape(shape), dtype=tf.float16).dtype == np.float16


@pytest.mark.parametrize(
    "shape, fans",
    [
        ((), (1, 1)),
        ((7,), (7, 7)),
        ((20, 30), (20, 30)),
        ((3, 3, 1, 10), (9, 90)),
        ((5, 3, 4, 6), (60, 90)),
        ((2, 2, 2, 3, 4), (24, 32)),
    ],
)
def test_compute_fans(shape, fans):
    assert initializers.compute_fans(shape) == fans


# (initializer, limit of the uniform ones or stddev of the normal ones, as Keras documents them)
UNIFORM = [
    (initializers.GlorotUniform, lambda fi, fo: math.sqrt(6 / (fi + fo))),
    (initializers.HeUniform, lambda fi, fo: math.sqrt(6 / fi)),
    (initializers.LecunUniform, lambda fi, fo: math.sqrt(3 / fi)),
]
NORMAL = [
    (initializers.GlorotNormal, lambda fi, fo: math.sqrt(2 / (fi + fo))),
    (initializers.HeNormal, lambda fi, fo: math.sqrt(2 / fi)),
    (initializers.LecunNormal, lambda fi, fo: math.sqrt(1 / fi)),
]
CONV_SHAPE = (5, 5, 16, 32)  # fan_in 400, fan_out 800; 12,800 values


@pytest.mark.parametrize("cls, limit_of", UNIFORM, ids=lambda x: getattr(x, "__name__", ""))
@pytest.mark.parametrize("shape", [(300, 200), CONV_SHAPE])
def test_uniform_limits(cls, limit_of, shape):
    limit = limit_of(*initializers.compute_fans(shape))
    w = cls(seed=1)(shape).numpy()
    assert np.abs(w).max() <= limit  # exact bound
    assert np.abs(w).max() > 0.99 * limit  # and reached: the right limit, not a smaller one
    np.testing.assert_allclose(w.std(), limit / math.sqrt(3), rtol=0.03)
    assert abs(w.mean()) < 0.03 * limit


def test_glorot_uniform_limit_for_the_issue_model():
    # Conv2D(10, (3, 3)) on 1 channel: fan_in 9, fan_out 90; Dense(1960 -> 100).
    conv = initializers.GlorotUniform(seed=3)((3, 3, 1, 10)).numpy()
    assert np.abs(conv).max() <= math.sqrt(6 / 99)
    dense = initializers.get("glorot_uniform")((1960, 100)).numpy()
    assert np.abs(dense).max() <= math.sqrt(6 / 2060) and np.abs(dense).max() > 0.999 * math.sqrt(6 / 2060)


@pytest.mark.parametrize("cls, stddev_of", NORMAL, ids=lambda x: getattr(x, "__name__", ""))
@pytest.mark.parametrize("shape", [(300, 200), CONV_SHAPE])
def test_truncated_normal_variance_scaling(cls, stddev_of, shape):
    stddev = stddev_of(*initializers.compute_fans(shape))
    w = cls(seed=2)(shape).numpy()
    # Keras draws with stddev / 0.8796... and truncates at two of those stddevs, so the
    # truncated values have the documented standard deviation.
    draw_stddev = stddev / 0.87962566103423978
    assert np.abs(w).max() <= 2 * draw_stddev
    assert np.abs(w).max() > 1.95 * draw_stddev
    np.testing.assert_allclose(w.std(), stddev, rtol=0.03)


def test_variance_scaling_modes_and_untruncated():
    shape = (400, 100)
    for mode, n in [("fan_in", 400), ("fan_out", 100), ("fan_avg", 250)]:
        w = initializers.VarianceScaling(scale=3.0, mode=mode, distribution="untruncated_normal", seed=0)(shape).numpy()
        np.testing.assert_allclose(w.std(), math.sqrt(3.0 / n), rtol=0.02)
        assert np.abs(w).max() > 3.5 * math.sqrt(3.0 / n)  # not truncated
    assert initializers.VarianceScaling(distribution="normal").distribution == "truncated_normal"


def test_random_uniform_normal_truncated():
    u = initializers.RandomUniform(-2.0, 3.0, seed=0)((200, 100)).numpy()
    assert u.min() >= -2.0 and u.max() < 3.0 and u.min() < -1.99 and u.max() > 2.99
    n = initializers.RandomNormal(mean=1.0, stddev=0.5, seed=0)((200, 100)).numpy()
    np.testing.assert_allclose([n.mean(), n.std()], [1.0, 0.5], rtol=0.02)
    t = initializers.TruncatedNormal(mean=-1.0, stddev=0.1, seed=0)((200, 100)).numpy()
    assert np.all(np.abs(t + 1.0) <= 0.2)
    np.testing.assert_allclose(t.std(), 0.1 * 0.87962566103423978, rtol=0.03)
    default = initializers.RandomUniform()((1000,)).numpy()
    assert default.min() >= -0.05 and default.max() < 0.05


def test_seeds():
    a = initializers.GlorotUniform(seed=7)((4, 5)).numpy()
    init = initializers.GlorotUniform(seed=7)
    np.testing.assert_array_equal(init((4, 5)), a)
    np.testing.assert_array_equal(init((4, 5)), a)  # Keras 3: a seeded initializer repeats its values
    assert not np.array_equal(initializers.GlorotUniform(seed=8)((4, 5)), a)
    tf.random.set_seed(11)
    first = [initializers.HeNormal()((3, 3)).numpy(), initializers.RandomUniform()((3,)).numpy()]
    tf.random.set_seed(11)
    second = [initializers.HeNormal()((3, 3)).numpy(), initializers.RandomUniform()((3,)).numpy()]
    for x, y in zip(first, second):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(initializers.HeNormal()((3, 3)), first[0])  # unseeded draws move on


def test_constant_fills_with_scalars_and_arrays():
    np.testing.assert_array_equal(initializers.Constant(2.5)((2, 3)), np.full((2, 3), 2.5, np.float32))
    kernel = np.arange(18.0).reshape(3, 3, 1, 2)
    values = tf.constant_initializer(kernel)((3, 3, 1, 2))
    np.testing.assert_array_equal(values, kernel)
    assert values.dtype == np.float32
    np.testing.assert_array_equal(initializers.Constant([1.0, 2.0])((3, 2)), [[1, 2]] * 3)  # broadcast (Keras 3)
    np.testing.assert_array_equal(initializers.Constant([1, 2, 3, 4])((2, 2)), [[1, 2], [3, 4]])  # reshape (TF)
    np.testing.assert_array_equal(initializers.Constant(3)((2,), dtype="int32"), [3, 3])
    array = np.ones((2, 2))
    init = initializers.Constant(array)
    out = init((2, 2))
    array[0, 0] = 9.0
    out._value[1, 1] = 5.0
    np.testing.assert_array_equal(init((2, 2)), np.ones((2, 2)))  # neither the caller's edits nor the output's leak in
    with pytest.raises(ValueError, match=r"cannot fill a weight of shape \(3, 3\) with a value of shape \(5,\)"):
        initializers.Constant(np.zeros(5))((3, 3))
    with pytest.raises(TypeError, match="Constant: value must be"):
        initializers.Constant("x")


def test_zeros_and_ones():
    np.testing.assert_array_equal(initializers.Zeros()((2, 2)), np.zeros((2, 2)))
    np.testing.assert_array_equal(initializers.get("ones")((3,), dtype="int64"), [1, 1, 1])


@pytest.mark.parametrize(
    "identifier, cls",
    [
        ("glorot_uniform", initializers.GlorotUniform),
        ("GlorotUniform", initializers.GlorotUniform),
        ("he_normal", initializers.HeNormal),
        ("zeros", initializers.Zeros),
        ("random_normal", initializers.RandomNormal),
        ("lecun_uniform", initializers.LecunUniform),
        ("truncated_normal", initializers.TruncatedNormal),
        ("constant", initializers.Constant),
    ],
)
def test_get_by_name(identifier, cls):
    assert type(initializers.get(identifier)) is cls


def test_get_passes_through_and_serializes():
    init = initializers.HeUniform(seed=4)
    assert initializers.get(init) is init
    assert initializers.get(None) is None

    def fn(shape, dtype=None):
        return np.zeros(shape)

    assert initializers.get(fn) is fn
    for original in [
        init,
        initializers.Constant(np.eye(2)),
        initializers.RandomNormal(0.5, 2.0, seed=1),
        initializers.VarianceScaling(2.0, "fan_out", "uniform"),
    ]:
        config = json.loads(json.dumps(initializers.serialize(original)))
        again = initializers.get(config)
        assert type(again) is type(original) and again.get_config() == original.get_config()
        if getattr(original, "seed", 0) is not None:  # seeded, or not random at all: the same values
            np.testing.assert_array_equal(again((2, 2)), original((2, 2)))
    assert initializers.serialize(init) == {  # Keras 3's schema
        "module": "keras.initializers",
        "class_name": "HeUniform",
        "config": {"seed": 4},
        "registered_name": None,
    }
    assert initializers.glorot_uniform is initializers.GlorotUniform
    assert tf.initializers.HeNormal is initializers.HeNormal


def test_bad_input():
    with pytest.raises(ValueError, match="Could not interpret initializer identifier: 'glorot'"):
        initializers.get("glorot")
    with pytest.raises(ValueError, match="Received: dtype=int32"):
        initializers.GlorotUniform()((2, 2), dtype="int32")
    with pytest.raises(ValueError, match="negative"):
        initializers.Zeros()((2, -1))
    with pytest.raises(TypeError, match=r"Ones: shape must be .*received shape=\('a', 2\)"):
        initializers.Ones()(("a", 2))
    with pytest.raises(ValueError, match="Received: seed=-3"):
        initializers.HeNormal(seed=-3)
    with pytest.raises(ValueError, match="Received: scale=0"):
        initializers.VarianceScaling(scale=0)
    with pytest.raises(ValueError, match="mode"):
        initializers.VarianceScaling(mode="fan_max")
    with pytest.raises(ValueError, match="distribution"):
        initializers.VarianceScaling(distribution="cauchy")
    with pytest.raises(ValueError, match="minval < maxval"):
        initializers.RandomUniform(1.0, 1.0)
    with pytest.raises(ValueError, match="unknown initializer"):
        initializers.deserialize({"class_name": "Orthogonal", "config": {}})
