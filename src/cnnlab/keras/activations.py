"""Activation functions by name (``tf.keras.activations``), as layers take them: ``activation='relu'``.

``softmax`` leaves its input on the output (``out._keras_logits``, with
``out._keras_activation = 'softmax'``) so that a
categorical cross-entropy computed on the output can use the logits instead, as
Keras does on TensorFlow: the loss stays finite and exact even when the softmax
rounds to 0 or 1.

Example:
    >>> activations.get("relu")([-1.0, 2.0]).numpy()
    array([0., 2.], dtype=float32)
"""

from .. import nn
from ..ops import math_ops
from ..tensor import as_tensor
from . import serialization


def linear(x):
    """The identity (``activation=None`` means this)."""
    return as_tensor(x, "linear")


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """``max(x, 0)``; with Keras's options a leaky slope below ``threshold`` and a cap at ``max_value``.

    Args:
        negative_slope: slope for values below the threshold.
        max_value: the largest output value (None: no cap).
        threshold: values below it are set to 0 (or sloped).
    """
    x = as_tensor(x, "relu")
    if negative_slope == 0 and max_value is None and threshold == 0:
        return nn.relu(x)
    if negative_slope != 0 and max_value is None and threshold == 0:
        return nn.leaky_relu(x, alpha=negative_slope)
    below = nn.relu(threshold - x)  # how far under the threshold, 0 above it
    out = x * math_ops.cast(x > threshold, x.dtype) if threshold != 0 else nn.relu(x)
    if max_value is not None:
        out = math_ops.minimum(out, max_value)
    if negative_slope != 0:
        out = out - negative_slope * below
    return out


def leaky_relu(x, negative_slope=0.2):
    return nn.leaky_relu(x, alpha=negative_slope)


def elu(x, alpha=1.0):
    if alpha != 1.0:
        x = as_tensor(x, "elu")
        return math_ops.where(x > 0, x, alpha * nn.elu(x))
    return nn.elu(x)


def sigmoid(x):
    return nn.sigmoid(x)


def tanh(x):
    return nn.tanh(x)


def silu(x):
    """``x * sigmoid(x)`` (also called swish)."""
    return nn.silu(x)


swish = silu


def softmax(x, axis=-1):
    """``exp(x) / sum(exp(x))`` along ``axis``; the output remembers ``x`` as its logits."""
    x = as_tensor(x, "softmax")
    out = nn.softmax(x, axis=axis)
    if axis in (-1, x.ndim - 1):
        out._keras_logits, out._keras_activation = x, "softmax"
    return out


def log_softmax(x, axis=-1):
    return nn.log_softmax(x, axis=axis)


_BY_NAME = {
    "linear": linear,
    "relu": relu,
    "leaky_relu": leaky_relu,
    "elu": elu,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "silu": silu,
    "swish": swish,
    "softmax": softmax,
    "log_softmax": log_softmax,
}


def get(identifier):
    """The activation function for ``identifier``: a name, a callable, or None (linear)."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        try:
            return _BY_NAME[identifier]
        except KeyError:
            raise ValueError(
                f"Unknown activation {identifier!r}. Expected one of {sorted(_BY_NAME)} or a callable."
            ) from None
    if callable(identifier):
        return identifier
    raise TypeError(f"Could not interpret activation identifier: {identifier!r} (expected a name or a callable).")


def serialize(activation):
    """The name under which ``activation`` is saved in a layer's config (its registered name for one of
    the program's own registered with ``keras.saving.register_keras_serializable``)."""
    for name, function in _BY_NAME.items():
        if function is activation:
            return name
    if getattr(activation, "__name__", None) is None:
        raise ValueError(f"Cannot serialize the activation {activation!r}: it has no name.")
    from .serialization import get_registered_name

    return get_registered_name(activation)  # "package>name" when registered, as Keras writes it


def deserialize(name, custom_objects=None):
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    return get(name)


serialization.note_builtin_functions("activation", globals())
