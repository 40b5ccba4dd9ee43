"""Random tensors (``tf.random``): set_seed, uniform, normal, truncated_normal, shuffle.

All randomness in cnnlab (these functions, ``tf.nn.dropout``, Keras initializers)
draws from one module-level ``numpy.random.Generator``; ``set_seed`` replaces it,
so a program that calls ``set_seed`` first is reproducible.

An op-level ``seed`` (as in ``uniform(..., seed=3)``) picks a different stream
from the global generator, mixed with the seed.  As in TF 2, repeated calls give
different values and a program is reproducible after ``set_seed``; unlike TF, an
op seed alone (without ``set_seed``) does not make a program reproducible.

Example:
    >>> cnnlab.random.set_seed(0)
    >>> a = cnnlab.random.uniform([2])
    >>> cnnlab.random.set_seed(0)
    >>> bool(cnnlab.reduce_all(a == cnnlab.random.uniform([2])))
    True
"""

import numpy as np

from . import dtypes
from .tensor import shape_argument
from .tensor import Tensor, as_tensor, is_integral_number

# The one source of randomness (with the tape stack and the tensor counter, cnnlab's only global mutable state).
_generator = np.random.default_rng()


def set_seed(seed):
    """Make every later random draw reproducible (``tf.random.set_seed``)."""
    global _generator
    if not is_integral_number(seed) or seed < 0:
        raise ValueError(f"set_seed: seed must be a non-negative integer; received seed={seed!r}.")
    _generator = np.random.default_rng(seed)


def get_global_generator():
    """The ``numpy.random.Generator`` all of cnnlab draws from."""
    return _generator


def generator_for(seed, op):
    """The generator an op draws from: the global one, or a stream picked by its ``seed``."""
    if seed is None:
        return _generator
    if not is_integral_number(seed) or seed < 0:
        raise ValueError(f"{op}: seed must be None or a non-negative integer; received seed={seed!r}.")
    return np.random.default_rng([seed, int(_generator.integers(2**63))])


def _float_dtype(dtype, op):
    dtype = dtypes.as_dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"{op}: dtype must be a floating-point dtype; received dtype={dtype.name}.")
    return dtype


def _standard_draw(draw, shape, dtype):
    """``draw(shape, dtype=...)`` in float32 or float64 (NumPy's generators make only those two)."""
    native = dtype if dtype in (dtypes.float32, dtypes.float64) else dtypes.float32
    return draw(shape, dtype=native).astype(dtype, copy=False)


def _scalar(value, op, dtype):
    array = as_tensor(value, op)._value
    return array.astype(dtype) if array.dtype.kind in "iuf" else array


def uniform(shape, minval=0, maxval=None, dtype=dtypes.float32, seed=None, name=None):
    """Uniform values in ``[minval, maxval)``.

    Args:
        shape: the output shape.
        minval, maxval: the range; ``maxval`` defaults to 1 for floats and is required for integers.
        dtype: a float or integer dtype (float32 by default).
        seed: optional op-level seed (see the module docstring).

    Example:
        >>> cnnlab.random.uniform([2, 3], -1.0, 1.0).shape
        TensorShape([2, 3])
    """
    shape = shape_argument(shape, "random.uniform")
    dtype = dtypes.as_dtype(dtype)
    rng = generator_for(seed, "random.uniform")
    if dtype.kind in "iu":
        if maxval is None:
            raise ValueError(f"random.uniform: maxval must be given for integer dtype {dtype.name}.")
        low, high = int(as_tensor(minval, "random.uniform")._value), int(as_tensor(maxval, "random.uniform")._value)
        if low >= high:
            raise ValueError(f"random.uniform: need minval < maxval; received minval={low}, maxval={high}.")
        return Tensor(rng.integers(low, high, size=shape, dtype=dtype))
    dtype = _float_dtype(dtype, "random.uniform")
    low = _scalar(minval, "random.uniform", dtype)
    high = _scalar(1 if maxval is None else maxval, "random.uniform", dtype)
    unit = _standard_draw(rng.random, shape, dtype)
    return Tensor((unit * (high - low) + low).astype(dtype, copy=False))


def normal(shape, mean=0.0, stddev=1.0, dtype=dtypes.float32, seed=None, name=None):
    """Normally distributed values with the given ``mean`` and ``stddev``."""
    shape = shape_argument(shape, "random.normal")
    dtype = _float_dtype(dtype, "random.normal")
    rng = generator_for(seed, "random.normal")
    values = _standard_draw(rng.standard_normal, shape, dtype)
    scale, shift = _scalar(stddev, "random.normal", dtype), _scalar(mean, "random.normal", dtype)
    return Tensor((values * scale + shift).astype(dtype, copy=False))


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=dtypes.float32, seed=None, name=None):
    """Normal values, redrawn wherever they fall more than two ``stddev`` from the ``mean``."""
    shape = shape_argument(shape, "random.truncated_normal")
    dtype = _float_dtype(dtype, "random.truncated_normal")
    rng = generator_for(seed, "random.truncated_normal")
    values = _standard_draw(rng.standard_normal, shape, dtype)
    outside = np.abs(values) > 2
    while outside.any():  # each pass redraws the ~4.6% still outside, so this ends quickly
        values[outside] = _standard_draw(rng.standard_normal, int(outside.sum()), dtype)
        outside = np.abs(values) > 2
    scale = _scalar(stddev, "random.truncated_normal", dtype)
    shift = _scalar(mean, "random.truncated_normal", dtype)
    return Tensor((values * scale + shift).astype(dtype, copy=False))


def shuffle(value, seed=None, name=None):
    """``value`` with its first axis randomly permuted."""
    x = as_tensor(value, "random.shuffle")
    if x.ndim == 0:
        raise ValueError("random.shuffle: expected a tensor of rank >= 1; received a scalar.")
    return Tensor(x._value[generator_for(seed, "random.shuffle").permutation(x.shape[0])])
