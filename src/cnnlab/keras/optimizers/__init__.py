"""Optimizers (``tf.keras.optimizers``): SGD, Adam, AdamW, Nadam, Adamax, RMSprop, Adagrad, and learning-rate schedules.

opt = cnnlab.keras.optimizers.get("adam")           # by name, with Keras's defaults
opt.apply_gradients(zip(grads, model.trainable_variables))
"""

from .. import serialization
from . import schedules
from .adagrad import Adagrad
from .adam import Adam
from .adamax import Adamax
from .adamw import AdamW
from .nadam import Nadam
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

_OPTIMIZERS = {cls.__name__: cls for cls in (SGD, Adam, AdamW, Nadam, Adamax, RMSprop, Adagrad)}
_BY_LOWER_NAME = {name.lower(): cls for name, cls in _OPTIMIZERS.items()}


def serialize(optimizer):
    """A JSON-ready dict describing ``optimizer`` (not its state), in Keras 3's schema
    (``{'module': 'keras.optimizers', 'class_name': ..., 'config': ..., 'registered_name': None}``)."""
    from ..serialization import serialize_keras_object

    if not isinstance(optimizer, Optimizer):
        raise ValueError(f"optimizers.serialize: expected an Optimizer; received {optimizer!r}.")
    return serialize_keras_object(optimizer)


def deserialize(config, custom_objects=None):
    """The optimizer described by ``serialize``'s dict (class names match case-insensitively)."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            f"optimizers.deserialize: expected a dict with 'class_name' and 'config'; received {config!r}."
        )
    custom = dict(custom_objects or {})
    name = config["class_name"]
    cls = custom.get(name) or _BY_LOWER_NAME.get(str(name).lower())
    if cls is None:
        raise ValueError(f"optimizers.deserialize: unknown optimizer {name!r}; known: {sorted(_OPTIMIZERS)}.")
    from ..serialization import keras_arguments

    return cls.from_config(keras_arguments(cls, dict(config.get("config") or {})), custom_objects=custom)


def get(identifier):
    """An optimizer from a name ('adam', 'SGD', ...), a ``serialize`` dict, or an instance (returned as is).

    Example:
        >>> get("rmsprop").get_config()["rho"]
        0.9
    """
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str) and identifier.lower() in _BY_LOWER_NAME:
        return _BY_LOWER_NAME[identifier.lower()]()
    raise ValueError(
        f"Could not interpret optimizer identifier: {identifier!r}. "
        f"Expected one of {sorted(_BY_LOWER_NAME)}, an Optimizer instance, or a serialized optimizer dict."
    )


__all__ = [
    "Optimizer",
    "SGD",
    "Adam",
    "AdamW",
    "Nadam",
    "Adamax",
    "RMSprop",
    "Adagrad",
    "schedules",
    "get",
    "serialize",
    "deserialize",
]


serialization.note_builtin_namespace(__name__, globals())
