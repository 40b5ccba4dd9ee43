"""``tf.keras.backend``: the few backend helpers Keras programs commonly call."""

import numpy as np

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
