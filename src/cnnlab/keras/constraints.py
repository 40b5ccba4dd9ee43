"""Weight constraints (``keras.constraints``): a projection applied to a weight after each optimizer step.

A layer given ``kernel_constraint=MaxNorm(3)`` has its kernel projected back into the
set the constraint describes each time an optimizer updates it (Keras 3 does the same,
in ``optimizer.apply``).  Any callable ``fn(weight) -> projected weight`` can serve.

Norms are taken along ``axis`` (by default 0: for a Dense kernel (in, out), the
weights into each unit; for a Conv2D kernel (h, w, in, out) pass ``axis=[0, 1, 2]``
for each filter), with Keras's epsilon of 1e-7 in the division.

Example:
    >>> keras.constraints.NonNeg()(tf.constant([-1.0, 2.0])).numpy()
    array([0., 2.], dtype=float32)
"""

import numbers

from ..ops.math_ops import clip_by_value, maximum, sqrt, square
from ..ops.reduction_ops import reduce_sum
from . import serialization

EPSILON = 1e-7  # keras.backend.epsilon()


class Constraint:
    """Base class: ``constraint(w)`` is ``w`` projected (by default unchanged)."""

    def __call__(self, w):
        return w

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _axis(axis, owner):
    if isinstance(axis, bool) or not (
        isinstance(axis, int) or (isinstance(axis, (list, tuple)) and all(isinstance(a, int) for a in axis))
    ):
        raise ValueError(f"{owner}: axis must be an int or a list of ints; received axis={axis!r}.")
    return list(axis) if isinstance(axis, (list, tuple)) else axis


def _number(value, argument, owner):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value < 0:
        raise ValueError(f"{owner}: {argument} must be a number >= 0; received {argument}={value!r}.")
    return value


def _norms(w, axis):
    return sqrt(reduce_sum(square(w), axis=axis, keepdims=True))


class MaxNorm(Constraint):
    """Scale down each slice along ``axis`` whose L2 norm exceeds ``max_value`` to that norm.

    Args:
        max_value: the largest norm (default 2).
        axis: the axes the norm is taken over (default 0).
    """

    def __init__(self, max_value=2, axis=0):
        self.max_value = _number(max_value, "max_value", "MaxNorm")
        self.axis = _axis(axis, "MaxNorm")

    def __call__(self, w):
        norms = _norms(w, self.axis)
        return w * (clip_by_value(norms, 0.0, float(self.max_value)) / (norms + EPSILON))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Negative weights set to 0."""

    def __call__(self, w):
        return maximum(w, 0.0)


class UnitNorm(Constraint):
    """Each slice along ``axis`` scaled to an L2 norm of 1.

    Args:
        axis: the axes the norm is taken over (default 0).
    """

    def __init__(self, axis=0):
        self.axis = _axis(axis, "UnitNorm")

    def __call__(self, w):
        return w / (_norms(w, self.axis) + EPSILON)

    def get_config(self):
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Each slice along ``axis`` moved toward a norm in ``[min_value, max_value]`` (by the fraction ``rate``).

    Args:
        min_value, max_value: the range of norms (default 0 to 1).
        rate: 1 projects onto the range; less moves part of the way each step.
        axis: the axes the norm is taken over (default 0).
    """

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value = _number(min_value, "min_value", "MinMaxNorm")
        self.max_value = _number(max_value, "max_value", "MinMaxNorm")
        self.rate = _number(rate, "rate", "MinMaxNorm")
        self.axis = _axis(axis, "MinMaxNorm")

    def __call__(self, w):
        norms = _norms(w, self.axis)
        desired = clip_by_value(norms, float(self.min_value), float(self.max_value)) * self.rate + norms * (
            1.0 - self.rate
        )
        return w * (desired / (norms + EPSILON))

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}


max_norm = MaxNorm
non_neg = NonNeg
unit_norm = UnitNorm
min_max_norm = MinMaxNorm

_BY_NAME = {
    "Constraint": Constraint,
    "MaxNorm": MaxNorm,
    "NonNeg": NonNeg,
    "UnitNorm": UnitNorm,
    "MinMaxNorm": MinMaxNorm,
    "constraint": Constraint,
    "max_norm": MaxNorm,
    "non_neg": NonNeg,
    "unit_norm": UnitNorm,
    "min_max_norm": MinMaxNorm,
}


def get(identifier):
    """The constraint ``identifier`` names: None, a name ('max_norm', 'non_neg', 'unit_norm',
    'min_max_norm' or a class name, with default arguments), a serialized dict, a class, or any
    callable (kept as it is).

    Raises:
        ValueError: the identifier names no constraint.
    """
    expected = "'max_norm', 'non_neg', 'unit_norm', 'min_max_norm', a keras.constraints object or a function"
    return serialization.object_from_identifier(identifier, _BY_NAME, "constraint", expected)


def serialize(constraint):
    """A constraint in Keras 3's schema: ``{"module": "keras.constraints", "class_name", "config", ...}``."""
    return serialization.serialize_keras_object(constraint)


def deserialize(config, custom_objects=None):
    """The constraint ``serialize`` described."""
    return serialization.deserialize_keras_object(config, custom_objects, module_objects=_BY_NAME)


serialization.note_builtin_namespace(__name__, globals())
