"""``tf.keras.models``: Sequential, Model, and saving / loading whole models."""

from .. import serialization
from ..saving import load_model, save_model
from .functional import Functional
from .model import Model
from .sequential import Sequential


def clone_model(model, custom_objects=None):
    """A new model with the same architecture as ``model`` and freshly initialized weights."""
    from ..saving import deserialize_layer, serialize_layer

    return deserialize_layer(serialize_layer(model), custom_objects)


def model_from_json(json_string, custom_objects=None):
    """The model ``model.to_json()`` described (``keras.models.model_from_json``), with fresh weights;
    compiled when the JSON holds compile settings.

    Args:
        json_string: the text ``to_json`` returned.
        custom_objects: ``{name: class_or_function}`` for your own layers and functions.
    """
    import json

    from ..serialization import deserialize_keras_object

    try:
        config = json.loads(json_string)
    except json.JSONDecodeError as error:
        raise ValueError(f"model_from_json: the text is not valid JSON ({error}).") from None
    return deserialize_keras_object(config, custom_objects)


__all__ = ["Functional", "Model", "Sequential", "clone_model", "load_model", "model_from_json", "save_model"]


serialization.note_builtin_namespace(__name__, globals())
