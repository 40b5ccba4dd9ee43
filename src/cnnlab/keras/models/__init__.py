"""``tf.keras.models``: Sequential, Model, and saving / loading whole models."""

from ..saving import load_model, save_model
from .functional import Functional
from .model import Model
from .sequential import Sequential


def clone_model(model, custom_objects=None):
    """A new model with the same architecture as ``model`` and freshly initialized weights."""
    from ..saving import deserialize_layer, serialize_layer

    return deserialize_layer(serialize_layer(model), custom_objects)


__all__ = ["Functional", "Model", "Sequential", "clone_model", "load_model", "save_model"]
