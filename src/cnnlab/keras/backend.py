"""``tf.keras.backend``: the few backend helpers Keras programs commonly call."""

import numpy as np

from .. import random as cnnlab_random
from ..tensor import Tensor, Variable
from .losses import EPSILON


def floatx():
    """The default float type of layers and weights: 'float32'."""
    return "float32"


def epsilon():
    """The fuzz factor Keras adds to avoid dividing by zero (1e-7)."""
    return EPSILON


def image_data_format():
    """cnnlab's layers work on NHWC images: 'channels_last'."""
    return "channels_last"


def clear_session():
    """Nothing to clear: cnnlab keeps no global graph, and layer names are made unique per model."""


def count_params(weight):
    return int(np.prod(weight.shape, dtype=np.int64))


def get_value(x):
    """The value of a variable, tensor or number as NumPy (``K.get_value(model.optimizer.lr)``)."""
    if isinstance(x, Tensor):
        return x.numpy()
    return np.asarray(x)


def set_value(x, value):
    """Assign ``value`` to the Variable ``x`` (``K.set_value(model.optimizer.learning_rate, 1e-4)``).

    Raises:
        TypeError: when ``x`` is not a Variable (a plain number cannot be set in place).
    """
    if not isinstance(x, Variable):
        raise TypeError(
            f"set_value: x must be a Variable (such as model.optimizer.learning_rate); received {type(x).__name__}."
        )
    x.assign(np.asarray(value, dtype=x.dtype))


def random_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Normally distributed values (``K.random_normal``), from cnnlab's random streams.

    Example:
        >>> random_normal((2, 3)).shape
        TensorShape([2, 3])
    """
    return cnnlab_random.normal(shape, mean=mean, stddev=stddev, dtype=floatx() if dtype is None else dtype, seed=seed)
