"""``keras.random``: random tensors with Keras 3's seeding.

``seed`` is, as in Keras 3:

* None: a draw from cnnlab's global generator (different every call;
  reproducible after ``keras.utils.set_random_seed`` / ``tf.random.set_seed``);
* an int: the same values at every call with that seed;
* a ``SeedGenerator``: a stream of its own, so successive calls differ but the
  whole sequence repeats for the same starting seed (what layers keep in
  ``self.seed_generator``).

The values are NumPy's draws, not the same numbers as Keras's backends give.

Example:
    >>> from cnnlab import keras
    >>> keras.random.normal((2,), seed=3).numpy().tolist() == keras.random.normal((2,), seed=3).numpy().tolist()
    True
"""

import numpy as np

from .. import dtypes
from .. import random as cnnlab_random
from ..ops import array_ops
from ..tensor import Tensor, as_tensor, is_integral_number, shape_argument
from .initializers import _standard_normal, _truncated_normal, _uniform


class SeedGenerator:
    """A stream of seeds for ``keras.random`` functions (``keras.random.SeedGenerator``).

    Args:
        seed: an int to make the stream reproducible; None for one drawn from the global generator.
    """

    def __init__(self, seed=None, name=None, **kwargs):
        if seed is not None and (not is_integral_number(seed) or seed < 0):
            raise ValueError(f"SeedGenerator: seed must be None or a non-negative integer; received seed={seed!r}.")
        self._initial_seed = seed
        start = seed if seed is not None else int(cnnlab_random.get_global_generator().integers(2**63))
        self._generator = np.random.default_rng(start)
        self.name = name or "seed_generator"

    def next(self, ordered=True):
        """The next seed of the stream (an int)."""
        return int(self._generator.integers(2**63))

    def get_config(self):
        return {"seed": self._initial_seed}

    def __repr__(self):
        return f"<SeedGenerator seed={self._initial_seed!r}>"


def _generator(seed, op):
    if seed is None:
        return cnnlab_random.get_global_generator()
    if isinstance(seed, SeedGenerator):
        return np.random.default_rng(seed.next())
    if is_integral_number(seed) and seed >= 0:
        return np.random.default_rng(seed)
    raise ValueError(
        f"keras.random.{op}: seed must be None, a non-negative int or a SeedGenerator; received seed={seed!r}."
    )


def _float_dtype(dtype, op):
    dtype = dtypes.as_dtype(dtype or "float32")
    if dtype.kind != "f":
        raise ValueError(f"keras.random.{op}: dtype must be a float dtype; received dtype={dtype.name}.")
    return dtype


def _shape(shape, op):
    return shape_argument(shape, f"keras.random.{op}")


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Normally distributed values."""
    dtype = _float_dtype(dtype, "normal")
    values = _standard_normal(_generator(seed, "normal"), _shape(shape, "normal"), dtype)
    return Tensor(values * dtype.type(stddev) + dtype.type(mean))


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Uniform values in ``[minval, maxval)``."""
    dtype = _float_dtype(dtype, "uniform")
    return _uniform(_generator(seed, "uniform"), _shape(shape, "uniform"), dtype, minval, maxval)


def randint(shape, minval, maxval, dtype="int32", seed=None):
    """Integers uniform in ``[minval, maxval)``."""
    dtype = dtypes.as_dtype(dtype)
    if dtype.kind not in "iu":
        raise ValueError(f"keras.random.randint: dtype must be an integer dtype; received dtype={dtype.name}.")
    return Tensor(_generator(seed, "randint").integers(minval, maxval, _shape(shape, "randint")).astype(dtype))


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Normal values, redrawn where they fall more than two ``stddev`` from the mean."""
    dtype = _float_dtype(dtype, "truncated_normal")
    return _truncated_normal(
        _generator(seed, "truncated_normal"), _shape(shape, "truncated_normal"), dtype, mean, stddev
    )


def dropout(inputs, rate, noise_shape=None, seed=None):
    """``inputs`` with each element zeroed with probability ``rate`` and the rest scaled by ``1 / (1 - rate)``."""
    x = as_tensor(inputs, "keras.random.dropout")
    if not 0 <= rate < 1:
        raise ValueError(f"keras.random.dropout: rate must be in [0, 1); received rate={rate!r}.")
    mask_shape = x.shape if noise_shape is None else _shape(noise_shape, "dropout")
    keep = _generator(seed, "dropout").random(mask_shape) >= rate
    return x * Tensor((keep / (1 - rate)).astype(x.dtype))


def shuffle(x, axis=0, seed=None):
    """``x`` with its slices along ``axis`` in random order."""
    t = as_tensor(x, "keras.random.shuffle")
    order = _generator(seed, "shuffle").permutation(t.shape[axis])
    return array_ops.gather(t, order, axis=axis)


def categorical(logits, num_samples, dtype="int32", seed=None):
    """``num_samples`` class ids drawn for each row of ``logits`` (unnormalized log-probabilities)."""
    scores = as_tensor(logits, "keras.random.categorical")._value.astype(np.float64)
    if scores.ndim != 2:
        raise ValueError(
            f"keras.random.categorical: logits must be 2-D (batch, classes); received shape={scores.shape}."
        )
    probabilities = np.exp(scores - scores.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    rng = _generator(seed, "categorical")
    draws = np.stack([rng.choice(scores.shape[1], size=num_samples, p=p) for p in probabilities])
    return Tensor(draws.astype(dtypes.as_dtype(dtype)))


def gamma(shape, alpha, dtype=None, seed=None):
    dtype = _float_dtype(dtype, "gamma")
    return Tensor(_generator(seed, "gamma").gamma(alpha, size=_shape(shape, "gamma")).astype(dtype))


def binomial(shape, counts, probabilities, dtype=None, seed=None):
    dtype = _float_dtype(dtype, "binomial")
    return Tensor(
        _generator(seed, "binomial").binomial(counts, probabilities, size=_shape(shape, "binomial")).astype(dtype)
    )


def beta(shape, alpha, beta, dtype=None, seed=None):
    dtype = _float_dtype(dtype, "beta")
    return Tensor(_generator(seed, "beta").beta(alpha, beta, size=_shape(shape, "beta")).astype(dtype))


__all__ = [
    "SeedGenerator",
    "beta",
    "binomial",
    "categorical",
    "dropout",
    "gamma",
    "normal",
    "randint",
    "shuffle",
    "truncated_normal",
    "uniform",
]
