"""Pooling over sequences (batch, steps, channels): MaxPooling1D, AveragePooling1D and their global versions."""

from ...ops import reduction_ops
from ...ops.conv1d_pool1d_ops import avg_pool1d, max_pool1d
from ...ops.window_sizes import output_length
from .base import InputSpec, Layer
from .base_conv import normalize_padding, normalize_tuple
from .core import _check_channels_last


class _Pooling1D(Layer):
    """Shared by MaxPooling1D and AveragePooling1D: a window slid along the steps of each channel."""

    _pool = None

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.pool_size = normalize_tuple(pool_size, "pool_size", owner, n=1)
        self.strides = self.pool_size if strides is None else normalize_tuple(strides, "strides", owner, n=1)
        self.padding = normalize_padding(padding, owner)
        _check_channels_last(data_format, owner)
        self.input_spec = InputSpec(ndim=3)

    def build(self, input_shape):
        self.compute_output_shape(input_shape)  # rejects a window larger than a 'valid' input

    def call(self, inputs):
        return self._pool(inputs, self.pool_size[0], self.strides[0], self.padding.upper())

    def compute_output_shape(self, input_shape):
        owner = f'Layer "{self.name}" ({type(self).__name__})'
        steps = output_length(input_shape[1], self.pool_size[0], self.strides[0], 1, self.padding, owner)
        return (input_shape[0], steps, input_shape[2])

    def get_config(self):
        return {
            **super().get_config(),
            "pool_size": list(self.pool_size),
            "padding": self.padding,
            "strides": list(self.strides),
            "data_format": "channels_last",
        }


class MaxPooling1D(_Pooling1D):
    """The largest value in each window of ``pool_size`` steps, per channel (``keras.layers.MaxPooling1D``).

    Args:
        pool_size: the window length (default 2).
        strides: the step between windows (default ``pool_size``).
        padding: 'valid' or 'same' (padded steps never win the max).

    Shape:
        (batch, steps, C) -> (batch, new_steps, C): 'valid' ``ceil((steps - pool_size + 1) / strides)``,
        'same' ``ceil(steps / strides)``.

    Example:
        >>> MaxPooling1D()(np.ones((1, 10, 3))).shape
        TensorShape([1, 5, 3])
    """

    _pool = staticmethod(max_pool1d)


class AveragePooling1D(_Pooling1D):
    """The mean of each window of ``pool_size`` steps, per channel; 'same' averages only real steps.

    Arguments and shape as ``MaxPooling1D``, except that ``pool_size`` has no default (as in Keras 3).
    """

    _pool = staticmethod(avg_pool1d)

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


MaxPool1D = MaxPooling1D
AvgPool1D = AveragePooling1D


class _GlobalPooling1D(Layer):
    _reduce = None

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        _check_channels_last(data_format, type(self).__name__)
        self.keepdims = bool(keepdims)
        self.input_spec = InputSpec(ndim=3)

    def call(self, inputs):
        return self._reduce(inputs, axis=1, keepdims=self.keepdims)

    def compute_output_shape(self, input_shape):
        if self.keepdims:
            return (input_shape[0], 1, input_shape[2])
        return (input_shape[0], input_shape[2])

    def get_config(self):
        return {**super().get_config(), "data_format": "channels_last", "keepdims": self.keepdims}


class GlobalAveragePooling1D(_GlobalPooling1D):
    """The mean over all steps of each channel: (batch, steps, C) -> (batch, C) (or (batch, 1, C) with keepdims)."""

    _reduce = staticmethod(reduction_ops.reduce_mean)


class GlobalMaxPooling1D(_GlobalPooling1D):
    """The maximum over all steps of each channel: (batch, steps, C) -> (batch, C) (or (batch, 1, C) with keepdims)."""

    _reduce = staticmethod(reduction_ops.reduce_max)


GlobalAvgPool1D = GlobalAveragePooling1D
GlobalMaxPool1D = GlobalMaxPooling1D
