"""``tf.keras.utils``: one-hot encoding of labels, seeding, serialization helpers, ``plot_model``, and reading
pictures (one by one, or a folder of them as a dataset)."""

import random as python_random

import numpy as np

from .. import random as cnnlab_random
from ..tensor import Tensor
from .image_dataset import image_dataset_from_directory
from .image_utils import img_to_array, load_img
from .model_plot import plot_model
from .py_dataset import PyDataset, Sequence
from .serialization import (
    CustomObjectScope,
    custom_object_scope,
    deserialize_keras_object,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
    serialize_keras_object,
)

__all__ = [
    "CustomObjectScope",
    "PyDataset",
    "Sequence",
    "custom_object_scope",
    "deserialize_keras_object",
    "get_custom_objects",
    "get_registered_name",
    "get_registered_object",
    "image_dataset_from_directory",
    "img_to_array",
    "load_img",
    "pack_x_y_sample_weight",
    "plot_model",
    "register_keras_serializable",
    "serialize_keras_object",
    "set_random_seed",
    "to_categorical",
    "unpack_x_y_sample_weight",
]


def to_categorical(y, num_classes=None, dtype="float32"):
    """One-hot encode integer class labels: label ``k`` becomes a row with a 1 at position ``k``.

    Args:
        y: integer labels, any shape; a trailing axis of size 1 is dropped (as Keras).
        num_classes: the number of classes (default ``max(y) + 1``).
        dtype: of the result (float32, so it meets float32 model outputs).

    Shape:
        y (..., ) -> (..., num_classes).

    Example:
        >>> to_categorical([0, 2], num_classes=3)
        array([[1., 0., 0.],
               [0., 0., 1.]], dtype=float32)
    """
    labels = np.asarray(y._value if isinstance(y, Tensor) else y)
    if labels.dtype.kind == "f":
        if not np.all(np.isfinite(labels)) or np.any(labels != np.round(labels)):
            raise ValueError("to_categorical: y must hold whole-number class labels; received non-integer values.")
    elif labels.dtype.kind not in "iub":
        raise TypeError(f"to_categorical: y must hold integer class labels; received dtype={labels.dtype}.")
    labels = labels.astype(np.int64)
    shape = labels.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    labels = labels.reshape(-1)
    if labels.size and labels.min() < 0:
        raise ValueError(f"to_categorical: class labels must be >= 0; received a label {labels.min()}.")
    if num_classes is None:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    elif isinstance(num_classes, bool) or int(num_classes) != num_classes or num_classes < 1:
        raise ValueError(
            f"to_categorical: num_classes must be a positive integer; received num_classes={num_classes!r}."
        )
    num_classes = int(num_classes)
    if labels.size and labels.max() >= num_classes:
        raise ValueError(
            f"to_categorical: a label {labels.max()} is out of range for num_classes={num_classes} "
            f"(labels must be in [0, {num_classes}))."
        )
    one_hot = np.zeros((labels.size, num_classes), dtype=dtype)
    one_hot[np.arange(labels.size), labels] = 1
    return one_hot.reshape(*shape, num_classes)


def unpack_x_y_sample_weight(data):
    """``(x, y, sample_weight)`` from a step's ``data``: a tuple of 1 to 3 items, or ``x`` alone
    (``keras.utils.unpack_x_y_sample_weight``)."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if not 1 <= len(data) <= 3:
        raise ValueError(
            f"A step's data must be x, (x,), (x, y) or (x, y, sample_weight); received a tuple of {len(data)} items."
        )
    return (*data, *(None,) * (3 - len(data)))


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """A step's ``data``: ``x`` alone, ``(x, y)`` or ``(x, y, sample_weight)``, as Keras passes it
    (``keras.utils.pack_x_y_sample_weight``)."""
    if y is None and sample_weight is None:
        return (x,) if isinstance(x, (list, tuple)) else x  # several inputs: not to be read as (x, y)
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


def set_random_seed(seed):
    """Seed every source of randomness a Keras program uses: Python's ``random``,
    NumPy's global generator and cnnlab's (initializers, Dropout, shuffling in ``fit``)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"set_random_seed: seed must be a non-negative integer; received seed={seed!r}.")
    python_random.seed(int(seed))
    np.random.seed(int(seed) % 2**32)
    cnnlab_random.set_seed(int(seed))
