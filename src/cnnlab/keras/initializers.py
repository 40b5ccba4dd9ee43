"""Weight initializers (``tf.keras.initializers``), with Keras's fan computation.

An initializer is called with a shape (and optionally a dtype) and returns a
``cnnlab.Tensor`` of that shape, float32 by default:

    >>> init = cnnlab.keras.initializers.get("glorot_uniform")
    >>> init((3, 3, 1, 10)).shape        # a Conv2D kernel: (kh, kw, in, out)
    TensorShape([3, 3, 1, 10])

Seeds follow Keras 3: an initializer made with ``seed=<int>`` returns the same values
on every call, whatever else the program does; an unseeded one draws from cnnlab's
global generator, so ``cnnlab.random.set_seed`` makes a whole program reproducible.
"""

import math

import numpy as np

from .. import dtypes
from .. import random as cnnlab_random
from ..tensor import Tensor, is_integral_number, shape_argument
from . import serialization

# Keras draws truncated normals within two standard deviations; the truncation
# shrinks the standard deviation by this factor, which VarianceScaling undoes.
_TRUNCATED_NORMAL_STDDEV = 0.87962566103423978


class Initializer:
    """Base class: ``__call__(shape, dtype=None)`` returns a Tensor; ``get_config()`` its arguments."""

    def __call__(self, shape, dtype=None):
        raise NotImplementedError(
            f"Initializer '{type(self).__name__}' must override `__call__(self, shape, dtype=None)`."
        )

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        arguments = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({arguments})"


# ---- constant initializers ---------------------------------------------------------


class Zeros(Initializer):
    """All zeros.

    Example:
        >>> Zeros()((2,)).numpy()
        array([0., 0.], dtype=float32)
    """

    def __call__(self, shape, dtype=None):
        return Tensor(np.zeros(_checked_shape(shape, self), dtype=_dtype(dtype, self, floating=False)))


class Ones(Initializer):
    """All ones.

    Example:
        >>> Ones()((2,)).numpy()
        array([1., 1.], dtype=float32)
    """

    def __call__(self, shape, dtype=None):
        return Tensor(np.ones(_checked_shape(shape, self), dtype=_dtype(dtype, self, floating=False)))


class Constant(Initializer):
    """A constant value: a scalar everywhere, or an array (``tf.constant_initializer``).

    An array value is used as it is when it has the requested shape, broadcast when
    it broadcasts to it, and otherwise reshaped when it has as many elements (as
    ``tf.constant_initializer`` does with ``tf.constant(value, shape=shape)``).

    Args:
        value: a Python number, a nested list, or an array.

    Example:
        >>> kernel = np.arange(6.0).reshape(3, 2)
        >>> bool(np.array_equal(Constant(kernel)((3, 2)), kernel))
        True
    """

    def __init__(self, value=0.0):
        # A copy: later edits to the caller's array must not change the initializer.
        array = np.array(value._value if isinstance(value, Tensor) else value)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"Constant: value must be a number or an array of numbers; received value={value!r}.")
        self.value = array

    def __call__(self, shape, dtype=None):
        shape = _checked_shape(shape, self)
        dtype = _dtype(dtype, self, floating=False)
        value = self.value
        if value.shape == shape:
            return Tensor(value.astype(dtype, copy=True))
        try:
            return Tensor(np.broadcast_to(value, shape).astype(dtype, copy=True))
        except ValueError:
            if value.size == math.prod(shape):
                return Tensor(value.reshape(shape).astype(dtype, copy=True))
            raise ValueError(
                f"Constant: cannot fill a weight of shape {shape} with a value of shape {value.shape} "
                f"({value.size} elements): it neither broadcasts to that shape nor has {math.prod(shape)} elements."
            ) from None

    def get_config(self):
        # A scalar stays a number and an array becomes a nested list, so the config is JSON-ready.
        return {"value": self.value.tolist()}


# ---- random initializers ---------------------------------------------------------------


class RandomInitializer(Initializer):
    """Base of the random initializers: holds the ``seed`` (None or a non-negative int)."""

    def __init__(self, seed=None):
        if seed is not None and (not is_integral_number(seed) or seed < 0):
            raise ValueError(
                f"{type(self).__name__}: `seed` must be None or a non-negative integer. Received: seed={seed!r}"
            )
        self.seed = seed

    def _generator(self):
        # A fresh generator per call makes a seeded initializer repeat its values (Keras 3).
        return cnnlab_random.get_global_generator() if self.seed is None else np.random.default_rng(self.seed)

    def get_config(self):
        return {"seed": self.seed}


class RandomUniform(RandomInitializer):
    """Uniform values in ``[minval, maxval)``.

    Args:
        minval, maxval: the range. Defaults to [-0.05, 0.05).
        seed: None or an int (see the module docstring).
    """

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        if not minval < maxval:
            raise ValueError(f"RandomUniform: need minval < maxval. Received: minval={minval}, maxval={maxval}")
        self.minval = minval
        self.maxval = maxval
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        return _uniform(self._generator(), _checked_shape(shape, self), _dtype(dtype, self), self.minval, self.maxval)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, **super().get_config()}


class RandomNormal(RandomInitializer):
    """Normal values with the given ``mean`` and ``stddev`` (default 0 and 0.05)."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean = mean
        self.stddev = _positive(stddev, "stddev", self)
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        rng, shape, dtype = self._generator(), _checked_shape(shape, self), _dtype(dtype, self)
        return Tensor(_standard_normal(rng, shape, dtype) * dtype.type(self.stddev) + dtype.type(self.mean))

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, **super().get_config()}


class TruncatedNormal(RandomInitializer):
    """Normal values redrawn until within two ``stddev`` of the ``mean`` (default 0 and 0.05)."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean = mean
        self.stddev = _positive(stddev, "stddev", self)
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        return _truncated_normal(
            self._generator(), _checked_shape(shape, self), _dtype(dtype, self), self.mean, self.stddev
        )

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, **super().get_config()}


def compute_fans(shape):
    """Keras's ``(fan_in, fan_out)`` of a weight shape.

    Rank 2 (Dense, ``(in, out)``): ``(in, out)``.  Rank >= 3 (conv kernels,
    ``(kh, kw, in, out)``): both are multiplied by the receptive field ``kh * kw``.
    Rank 1: ``(n, n)``; rank 0: ``(1, 1)``.

    Example:
        >>> compute_fans((3, 3, 1, 10))
        (9, 90)
    """
    shape = tuple(int(d) for d in shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive_field = math.prod(shape[:-2])
    return shape[-2] * receptive_field, shape[-1] * receptive_field


class VarianceScaling(RandomInitializer):
    """Values whose variance is ``scale / n``, ``n`` a fan of the weight shape.

    Args:
        scale: positive.
        mode: 'fan_in', 'fan_out' or 'fan_avg' (the mean of the two); see ``compute_fans``.
        distribution: 'truncated_normal' (stddev ``sqrt(scale / n) / .8796...``, so
            that the truncated values have variance ``scale / n``),
            'untruncated_normal' (stddev ``sqrt(scale / n)``) or 'uniform'
            (in ``[-limit, limit]``, ``limit = sqrt(3 * scale / n)``).  'normal' means
            'truncated_normal'.
        seed: None or an int.
    """

    _MODES = ("fan_in", "fan_out", "fan_avg")
    _DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        self.scale = _positive(scale, "scale", self)
        if mode not in self._MODES:
            raise ValueError(
                f"{type(self).__name__}: invalid `mode` argument: {mode!r}. Please use one of {list(self._MODES)}."
            )
        distribution = str(distribution).lower()
        distribution = "truncated_normal" if distribution == "normal" else distribution
        if distribution not in self._DISTRIBUTIONS:
            raise ValueError(
                f"{type(self).__name__}: invalid `distribution` argument: {distribution!r}. "
                f"Please use one of {list(self._DISTRIBUTIONS)}."
            )
        self.mode = mode
        self.distribution = distribution
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        shape, dtype, rng = _checked_shape(shape, self), _dtype(dtype, self), self._generator()
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        variance = self.scale / max(1.0, n)
        if self.distribution == "truncated_normal":
            return _truncated_normal(rng, shape, dtype, 0.0, math.sqrt(variance) / _TRUNCATED_NORMAL_STDDEV)
        if self.distribution == "untruncated_normal":
            return Tensor(_standard_normal(rng, shape, dtype) * dtype.type(math.sqrt(variance)))
        limit = math.sqrt(3.0 * variance)
        return _uniform(rng, shape, dtype, -limit, limit)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution, **super().get_config()}


class _VarianceScalingPreset(VarianceScaling):
    """A VarianceScaling with fixed arguments; its config is only its seed (as in Keras)."""

    def get_config(self):
        return {"seed": self.seed}


class GlorotUniform(_VarianceScalingPreset):
    """Glorot (Xavier) uniform: ``U(-limit, limit)``, ``limit = sqrt(6 / (fan_in + fan_out))``.

    Keras's default kernel initializer (Dense, Conv2D).  Args: ``seed`` (None or an int).

    Example:
        >>> w = GlorotUniform(seed=0)((100, 50)).numpy()
        >>> bool(np.abs(w).max() <= np.sqrt(6 / 150))
        True
    """

    def __init__(self, seed=None):
        super().__init__(scale=1.0, mode="fan_avg", distribution="uniform", seed=seed)


class GlorotNormal(_VarianceScalingPreset):
    """Glorot (Xavier) normal: truncated normal with standard deviation ``sqrt(2 / (fan_in + fan_out))``."""

    def __init__(self, seed=None):
        super().__init__(scale=1.0, mode="fan_avg", distribution="truncated_normal", seed=seed)


class HeUniform(_VarianceScalingPreset):
    """He uniform: ``U(-limit, limit)``, ``limit = sqrt(6 / fan_in)``."""

    def __init__(self, seed=None):
        super().__init__(scale=2.0, mode="fan_in", distribution="uniform", seed=seed)


class HeNormal(_VarianceScalingPreset):
    """He normal: truncated normal with standard deviation ``sqrt(2 / fan_in)``."""

    def __init__(self, seed=None):
        super().__init__(scale=2.0, mode="fan_in", distribution="truncated_normal", seed=seed)


class LecunUniform(_VarianceScalingPreset):
    """LeCun uniform: ``U(-limit, limit)``, ``limit = sqrt(3 / fan_in)``."""

    def __init__(self, seed=None):
        super().__init__(scale=1.0, mode="fan_in", distribution="uniform", seed=seed)


class LecunNormal(_VarianceScalingPreset):
    """LeCun normal: truncated normal with standard deviation ``sqrt(1 / fan_in)``."""

    def __init__(self, seed=None):
        super().__init__(scale=1.0, mode="fan_in", distribution="truncated_normal", seed=seed)


# ---- drawing -------------------------------------------------------------------------------


def _standard_normal(rng, shape, dtype):
    # NumPy draws float32 or float64 directly; other float dtypes are cast from float32.
    native = dtype if dtype in (dtypes.float32, dtypes.float64) else dtypes.float32
    return rng.standard_normal(shape, dtype=native).astype(dtype, copy=False)


def _uniform(rng, shape, dtype, minval, maxval):
    native = dtype if dtype in (dtypes.float32, dtypes.float64) else dtypes.float32
    unit = rng.random(shape, dtype=native)
    return Tensor((unit * native.type(maxval - minval) + native.type(minval)).astype(dtype, copy=False))


def _truncated_normal(rng, shape, dtype, mean, stddev):
    values = _standard_normal(rng, shape, dtype)
    outside = np.abs(values) > 2
    while outside.any():  # each pass redraws the ~4.6% still outside, so this ends quickly
        values[outside] = _standard_normal(rng, int(outside.sum()), dtype)
        outside = np.abs(values) > 2
    return Tensor(values * dtype.type(stddev) + dtype.type(mean))


# ---- argument checks ---------------------------------------------------------------------------


def _checked_shape(shape, initializer):
    op = type(initializer).__name__
    shape = shape_argument(shape, op)
    if any(d < 0 for d in shape):
        raise ValueError(f"{op}: shape must not contain negative sizes. Received: shape={shape}")
    return shape


def _dtype(dtype, initializer, floating=True):
    dtype = dtypes.float32 if dtype is None else dtypes.as_dtype(dtype)
    allowed = "f" if floating else "biuf"
    if dtype.kind not in allowed:
        kind = "a floating-point" if floating else "a numeric"
        raise ValueError(f"{type(initializer).__name__}: expected {kind} dtype. Received: dtype={dtype.name}")
    return dtype


def _positive(value, argument, initializer):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not value > 0:
        raise ValueError(
            f"{type(initializer).__name__}: argument `{argument}` must be a positive number. Received: {argument}={value!r}"
        )
    return value


# ---- lookup -------------------------------------------------------------------------------------

_CLASSES = (
    Zeros,
    Ones,
    Constant,
    RandomUniform,
    RandomNormal,
    TruncatedNormal,
    VarianceScaling,
    GlorotUniform,
    GlorotNormal,
    HeUniform,
    HeNormal,
    LecunUniform,
    LecunNormal,
)
_BY_NAME = {cls.__name__: cls for cls in _CLASSES}
_BY_SNAKE_NAME = {
    "zeros": Zeros,
    "ones": Ones,
    "constant": Constant,
    "random_uniform": RandomUniform,
    "random_normal": RandomNormal,
    "truncated_normal": TruncatedNormal,
    "variance_scaling": VarianceScaling,
    "glorot_uniform": GlorotUniform,
    "glorot_normal": GlorotNormal,
    "he_uniform": HeUniform,
    "he_normal": HeNormal,
    "lecun_uniform": LecunUniform,
    "lecun_normal": LecunNormal,
}

# Keras also exports the lower-case names as aliases of the classes.
zeros, ones, constant = Zeros, Ones, Constant
random_uniform, random_normal, truncated_normal = RandomUniform, RandomNormal, TruncatedNormal
variance_scaling = VarianceScaling
glorot_uniform, glorot_normal, he_uniform, he_normal = GlorotUniform, GlorotNormal, HeUniform, HeNormal
lecun_uniform, lecun_normal = LecunUniform, LecunNormal


def serialize(initializer):
    """A JSON-ready dict describing ``initializer``, in Keras 3's schema
    (``{'module': 'keras.initializers', 'class_name': ..., 'config': ..., 'registered_name': None}``)."""
    from .serialization import serialize_keras_object

    if not isinstance(initializer, Initializer):
        raise ValueError(f"initializers.serialize: expected an Initializer; received {initializer!r}.")
    return serialize_keras_object(initializer)


def deserialize(config, custom_objects=None):
    """The initializer described by ``serialize``'s dict; ``custom_objects`` maps extra class names."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            f"initializers.deserialize: expected a dict with 'class_name' and 'config'; received {config!r}."
        )
    known = {**_BY_NAME, **_BY_SNAKE_NAME, **(custom_objects or {})}
    cls = known.get(config["class_name"])
    if cls is None:
        raise ValueError(
            f"initializers.deserialize: unknown initializer {config['class_name']!r}; known: {sorted(_BY_NAME)}."
        )
    from .serialization import keras_arguments

    return cls.from_config(keras_arguments(cls, dict(config.get("config") or {})))


def get(identifier):
    """An initializer from a name ('glorot_uniform', 'GlorotUniform', ...), a ``serialize``
    dict, an Initializer (returned as is) or any callable ``f(shape, dtype=None)``; None gives None.

    Example:
        >>> get("he_normal")
        HeNormal(seed=None)
    """
    if identifier is None or isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        cls = _BY_SNAKE_NAME.get(identifier) or _BY_NAME.get(identifier)
        if cls is not None:
            return cls()
    elif callable(identifier):
        return identifier
    raise ValueError(
        f"Could not interpret initializer identifier: {identifier!r}. Expected one of {sorted(_BY_SNAKE_NAME)}, "
        "an Initializer, a serialized initializer dict, or a callable."
    )


serialization.note_builtin_namespace(__name__, globals())
