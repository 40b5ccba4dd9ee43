"""``ResidualBlock``: a residual block of ``cnnlab train --model small-resnet`` as one layer.

``models`` builds small-resnet as a functional model whose stages end in ``Add``; files of
the same model with one ``ResidualBlock`` layer per stage name this class, and the cnnlab
command loads them with it (see ``models.custom_objects``).  Both compute the same.
"""

import math

from .. import keras
from ..keras.models.planner import chain
from ..nn import relu

layers = keras.layers


class ResidualBlock(layers.Layer):
    """A basic residual block (He et al., 2016): ``relu(bn(conv(relu(bn(conv(x))))) + shortcut(x))``.

    Both convolutions are 3x3 without bias, each followed by BatchNormalization; the
    first has ``strides``.  The shortcut is the input itself, or, where the stride or
    the number of channels changes, a 1x1 convolution with ``strides`` and
    BatchNormalization.

    Args:
        filters: the channels of the block's convolutions and output.
        strides: 1 or 2 (halves height and width).
    """

    def __init__(self, filters, strides=1, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.strides = int(strides)
        self.conv1 = layers.Conv2D(self.filters, 3, strides=self.strides, padding="same", use_bias=False)
        self.norm1 = layers.BatchNormalization()
        self.conv2 = layers.Conv2D(self.filters, 3, padding="same", use_bias=False)
        self.norm2 = layers.BatchNormalization()
        self.projection = None
        self.projection_norm = None
        self._branches = None  # the chains of conv and normalization, run as the planner's ops

    def build(self, input_shape):
        output_shape = self.compute_output_shape(input_shape)
        # The sub-layers are built here, so that a loaded model has its weights before its first call.
        self.conv1.build(input_shape)
        self.norm1.build(output_shape)
        self.conv2.build(output_shape)
        self.norm2.build(output_shape)
        if self.strides != 1 or input_shape[-1] != self.filters:
            self.projection = layers.Conv2D(self.filters, 1, strides=self.strides, use_bias=False)
            self.projection_norm = layers.BatchNormalization()
            self.projection.build(input_shape)
            self.projection_norm.build(output_shape)

    def call(self, inputs, training=None):
        if self._branches is None:
            projection = None if self.projection is None else chain(self.projection, self.projection_norm)
            # The ReLU after the first normalization as a layer of the chain: the planner runs the two as one op.
            self._branches = (chain(self.conv1, self.norm1, layers.ReLU()), chain(self.conv2, self.norm2), projection)
        first, second, projection = self._branches
        x = second.call(first.call(inputs, training), training)
        shortcut = inputs if projection is None else projection.call(inputs, training)
        return relu(x + shortcut)

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        size = [None if n is None else math.ceil(n / self.strides) for n in (height, width)]
        return (batch, *size, self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "strides": self.strides}
