"""Weight and activity penalties (``keras.regularizers``): a function of a tensor that returns a scalar.

A layer given ``kernel_regularizer=L2(1e-4)`` adds ``1e-4 * sum(kernel ** 2)`` to its
``losses`` (recomputed from the current weights each time they are read), which
``fit`` adds to the training loss; ``activity_regularizer=`` penalizes the layer's
output instead, divided by the batch size, once per call.  Any callable
``fn(weights) -> scalar`` can serve as a regularizer.

Example:
    >>> dense = keras.layers.Dense(3, kernel_regularizer="l2", kernel_initializer="ones")
    >>> _ = dense(np.ones((1, 2)))
    >>> float(dense.losses[0])   # 0.01 * 6 ones squared
    0.06
"""

import numbers

import numpy as np

from ..ops.math_ops import abs as tensor_abs
from ..ops.math_ops import square
from ..ops.reduction_ops import reduce_sum
from ..tensor import constant
from . import serialization


class Regularizer:
    """Base class: ``regularizer(x)`` is the penalty of tensor ``x``, a scalar tensor."""

    def __call__(self, x):
        return 0.0

    def get_config(self):
        raise NotImplementedError(f"{type(self).__name__} does not implement get_config().")

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _factor(value, argument, owner):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value) or value < 0:
        raise ValueError(f"{owner}: {argument} must be a number >= 0; received {argument}={value!r}.")
    return float(value)


class L1(Regularizer):
    """``l1 * sum(abs(x))``.

    Args:
        l1: the factor (default 0.01).
    """

    def __init__(self, l1=0.01):
        # Keras keeps the factor as a float32 tensor, so its config holds the float32 value.
        self.l1 = float(np.float32(_factor(0.01 if l1 is None else l1, "l1", "L1")))

    def __call__(self, x):
        return reduce_sum(tensor_abs(x)) * self.l1

    def get_config(self):
        return {"l1": self.l1}


class L2(Regularizer):
    """``l2 * sum(x ** 2)``.

    Args:
        l2: the factor (default 0.01).
    """

    def __init__(self, l2=0.01):
        self.l2 = _factor(0.01 if l2 is None else l2, "l2", "L2")

    def __call__(self, x):
        return reduce_sum(square(x)) * self.l2

    def get_config(self):
        return {"l2": self.l2}


class L1L2(Regularizer):
    """``l1 * sum(abs(x)) + l2 * sum(x ** 2)`` (a factor of 0 leaves its term out).

    Args:
        l1, l2: the factors (default 0).
    """

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = _factor(0.0 if l1 is None else l1, "l1", "L1L2")
        self.l2 = _factor(0.0 if l2 is None else l2, "l2", "L1L2")

    def __call__(self, x):
        terms = []
        if self.l1:
            terms.append(reduce_sum(tensor_abs(x)) * self.l1)
        if self.l2:
            terms.append(reduce_sum(square(x)) * self.l2)
        if not terms:
            return constant(0.0, dtype=x.dtype)
        return terms[0] if len(terms) == 1 else terms[0] + terms[1]

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


# Keras's lower-case names are the classes themselves.
l1 = L1
l2 = L2
l1_l2 = L1L2

# Names ``get`` takes (Keras 3: the class names and their snake case).
_BY_NAME = {"Regularizer": Regularizer, "L1": L1, "L2": L2, "L1L2": L1L2, "l1": L1, "l2": L2, "l1l2": L1L2}


def get(identifier):
    """The regularizer ``identifier`` names: None, a name ('l1', 'l2', 'l1l2' or a class name,
    with its default factors), a serialized dict, a class, or any callable (kept as it is).

    Raises:
        ValueError: the identifier names no regularizer.
    """
    expected = "'l1', 'l2', 'l1l2', a keras.regularizers object or a function of the weights"
    return serialization.object_from_identifier(identifier, _BY_NAME, "regularizer", expected)


def serialize(regularizer):
    """A regularizer in Keras 3's schema: ``{"module": "keras.regularizers", "class_name", "config", ...}``."""
    return serialization.serialize_keras_object(regularizer)


def deserialize(config, custom_objects=None):
    """The regularizer ``serialize`` described."""
    return serialization.deserialize_keras_object(config, custom_objects, module_objects=_BY_NAME)


serialization.note_builtin_namespace(__name__, globals())
