"""``tf.keras.layers``: the building blocks of a model.

Example:
    >>> from cnnlab.keras.layers import Conv2D, Dense, Flatten, MaxPooling2D
"""

from .. import serialization
from .activation_layers import ELU, LeakyReLU, PReLU, Softmax
from .augmentation import RandomFlip, RandomRotation, RandomTranslation, RandomZoom
from .base import InputSpec, KerasTensor, Layer
from .conv import Conv2D
from .conv1d import Conv1D
from .conv_transpose import Conv2DTranspose
from .core import Activation, Dense, Dropout, Flatten, Input, InputLayer, ReLU, Reshape
from .depthwise_conv import DepthwiseConv2D, SeparableConv2D
from .lambda_layer import Lambda
from .merging import (
    Add,
    Average,
    Concatenate,
    Dot,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
    add,
    average,
    concatenate,
    dot,
    maximum,
    minimum,
    multiply,
    subtract,
)
from .layer_normalization import LayerNormalization
from .normalization import BatchNormalization
from .pooling import (
    AveragePooling2D,
    AvgPool2D,
    GlobalAveragePooling2D,
    GlobalAvgPool2D,
    GlobalMaxPool2D,
    GlobalMaxPooling2D,
    MaxPool2D,
    MaxPooling2D,
)
from .pooling1d import (
    AveragePooling1D,
    AvgPool1D,
    GlobalAveragePooling1D,
    GlobalAvgPool1D,
    GlobalMaxPool1D,
    GlobalMaxPooling1D,
    MaxPool1D,
    MaxPooling1D,
)
from .preprocessing import CenterCrop, Rescaling, Resizing
from .reshaping import Cropping2D, UpSampling2D, ZeroPadding2D

Convolution1D = Conv1D
Convolution2D = Conv2D
Convolution2DTranspose = Conv2DTranspose
SeparableConvolution2D = SeparableConv2D


def serialize(layer):
    """A layer in Keras 3's schema (``keras.layers.serialize``): see ``keras.serialization``."""
    from ..serialization import serialize_keras_object

    return serialize_keras_object(layer)


def deserialize(config, custom_objects=None):
    """The layer ``serialize`` described (``keras.layers.deserialize``); ``custom_objects`` maps
    the names of your own classes and functions to them."""
    from ..serialization import deserialize_keras_object

    return deserialize_keras_object(config, custom_objects)


__all__ = [
    "Activation",
    "Add",
    "Average",
    "AveragePooling1D",
    "AveragePooling2D",
    "AvgPool1D",
    "AvgPool2D",
    "BatchNormalization",
    "CenterCrop",
    "Concatenate",
    "Conv1D",
    "Conv2D",
    "Conv2DTranspose",
    "Convolution1D",
    "Convolution2D",
    "Convolution2DTranspose",
    "Cropping2D",
    "Dense",
    "DepthwiseConv2D",
    "Dot",
    "Dropout",
    "ELU",
    "Flatten",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalAvgPool1D",
    "GlobalAvgPool2D",
    "GlobalMaxPool1D",
    "GlobalMaxPool2D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "Input",
    "InputLayer",
    "InputSpec",
    "KerasTensor",
    "Lambda",
    "Layer",
    "LayerNormalization",
    "LeakyReLU",
    "MaxPool1D",
    "MaxPool2D",
    "MaxPooling1D",
    "MaxPooling2D",
    "Maximum",
    "Minimum",
    "Multiply",
    "PReLU",
    "RandomFlip",
    "RandomRotation",
    "RandomTranslation",
    "RandomZoom",
    "ReLU",
    "Rescaling",
    "Reshape",
    "Resizing",
    "SeparableConv2D",
    "SeparableConvolution2D",
    "Softmax",
    "Subtract",
    "UpSampling2D",
    "ZeroPadding2D",
    "add",
    "average",
    "concatenate",
    "deserialize",
    "dot",
    "maximum",
    "minimum",
    "multiply",
    "serialize",
    "subtract",
]


serialization.note_builtin_namespace(__name__, globals())
