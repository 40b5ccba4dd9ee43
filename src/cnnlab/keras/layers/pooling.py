"""Pooling layers: MaxPooling2D, AveragePooling2D and their global versions (NHWC)."""

from ... import nn
from ...ops import reduction_ops
from .base import InputSpec, Layer
from .base_conv import normalize_padding, normalize_tuple, spatial_output_shape
from .core import _check_channels_last


class _Pooling2D(Layer):
    """Shared by MaxPooling2D and AveragePooling2D: a window slid over each channel."""

    _stateless_inference = True

    _pool = None  # nn.avg_pool2d (MaxPooling2D has its own call)

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.pool_size = normalize_tuple(pool_size, "pool_size", owner)
        self.strides = self.pool_size if strides is None else normalize_tuple(strides, "strides", owner)
        self.padding = normalize_padding(padding, owner)
        _check_channels_last(data_format, owner)
        self.input_spec = InputSpec(ndim=4)

    def build(self, input_shape):
        self.compute_output_shape(input_shape)  # rejects a window larger than a 'valid' input

    def call(self, inputs):
        return self._pool(inputs, ksize=self.pool_size, strides=self.strides, padding=self.padding.upper())

    def compute_output_shape(self, input_shape):
        height, width = spatial_output_shape(self, input_shape, self.pool_size, self.strides, (1, 1))
        return (input_shape[0], height, width, input_shape[3])

    def get_config(self):
        return {
            **super().get_config(),
            "pool_size": list(self.pool_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "data_format": "channels_last",
        }


class MaxPooling2D(_Pooling2D):
    """The largest value in each ``pool_size`` window, per channel (``keras.layers.MaxPooling2D``).

    Args:
        pool_size: an int or (height, width); default (2, 2).
        strides: default ``pool_size`` (non-overlapping windows).
        padding: 'valid' or 'same' (padded cells never win the max).

    Shape:
        (batch, H, W, C) -> (batch, H_out, W_out, C); 'valid': ``H_out = ceil((H - k + 1) / s)``,
        'same': ``ceil(H / s)``.

    Example:
        >>> MaxPooling2D((2, 2))(np.ones((1, 28, 28, 10))).shape
        TensorShape([1, 14, 14, 10])
    """

    _pool = staticmethod(nn.max_pool2d)


class AveragePooling2D(_Pooling2D):
    """The mean of each ``pool_size`` window, per channel; with 'same' padding only real cells are averaged."""

    _pool = staticmethod(nn.avg_pool2d)


MaxPool2D = MaxPooling2D
AvgPool2D = AveragePooling2D


class _GlobalPooling2D(Layer):
    _stateless_inference = True
    _reduce = None

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        _check_channels_last(data_format, type(self).__name__)
        self.keepdims = bool(keepdims)
        self.input_spec = InputSpec(ndim=4)

    def call(self, inputs):
        return self._reduce(inputs, axis=(1, 2), keepdims=self.keepdims)

    def compute_output_shape(self, input_shape):
        if self.keepdims:
            return (input_shape[0], 1, 1, input_shape[3])
        return (input_shape[0], input_shape[3])

    def get_config(self):
        return {**super().get_config(), "data_format": "channels_last", "keepdims": self.keepdims}


class GlobalAveragePooling2D(_GlobalPooling2D):
    """The mean of each feature map: (batch, H, W, C) -> (batch, C) (or (batch, 1, 1, C) with keepdims)."""

    _reduce = staticmethod(reduction_ops.reduce_mean)


class GlobalMaxPooling2D(_GlobalPooling2D):
    """The maximum of each feature map: (batch, H, W, C) -> (batch, C) (or (batch, 1, 1, C) with keepdims)."""

    _reduce = staticmethod(reduction_ops.reduce_max)


GlobalAvgPool2D = GlobalAveragePooling2D
GlobalMaxPool2D = GlobalMaxPooling2D
