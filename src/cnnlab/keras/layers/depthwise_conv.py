"""DepthwiseConv2D and SeparableConv2D: convolutions that filter each channel on its own (NHWC)."""

from ...ops.depthwise_conv_ops import depthwise_conv2d, separable_conv2d
from ...ops.nn_ops import bias_add
from ...ops.window_sizes import output_length
from .. import activations, initializers
from .base import InputSpec, Layer
from .conv import normalize_padding, normalize_tuple
from .core import _check_channels_last, _positive_int


class _ChannelwiseConv2D(Layer):
    """What DepthwiseConv2D and SeparableConv2D share: the window arguments and the output size."""

    def __init__(
        self,
        kernel_size,
        strides,
        padding,
        depth_multiplier,
        data_format,
        dilation_rate,
        activation,
        use_bias,
        bias_initializer,
        **kwargs,
    ):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.kernel_size = normalize_tuple(kernel_size, "kernel_size", owner)
        self.strides = normalize_tuple(strides, "strides", owner)
        self.padding = normalize_padding(padding, owner)
        self.depth_multiplier = _positive_int(depth_multiplier, "depth_multiplier", owner)
        _check_channels_last(data_format, owner)
        self.dilation_rate = normalize_tuple(dilation_rate, "dilation_rate", owner)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                f"{owner}: strides > 1 together with dilation_rate > 1 is not supported (as in Keras); "
                f"received strides={self.strides}, dilation_rate={self.dilation_rate}."
            )
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.bias_initializer = initializers.get(bias_initializer)
        self.input_spec = InputSpec(ndim=4)

    def _channels(self, input_shape):
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(
                f'Layer "{self.name}" ({type(self).__name__}): the channel axis (last) of the input must be known; '
                f"received shape {input_shape}."
            )
        return channels

    def _spatial_output(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(
                f'Layer "{self.name}" ({type(self).__name__}) expects inputs of rank 4 '
                "(batch, height, width, channels); "
                f"received shape {tuple(input_shape)}."
            )
        owner = f'Layer "{self.name}" ({type(self).__name__})'
        return tuple(
            output_length(
                input_shape[1 + axis],
                self.kernel_size[axis],
                self.strides[axis],
                self.dilation_rate[axis],
                self.padding,
                owner,
            )
            for axis in range(2)
        )

    def _finish(self, outputs):
        if self.bias is not None:
            outputs = bias_add(outputs, self.bias)
        return self.activation(outputs)

    def get_config(self):
        return {
            **super().get_config(),
            "depth_multiplier": self.depth_multiplier,
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "data_format": "channels_last",
            "dilation_rate": list(self.dilation_rate),
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "bias_initializer": initializers.serialize(self.bias_initializer),
        }


class DepthwiseConv2D(_ChannelwiseConv2D):
    """Each input channel convolved with its own ``depth_multiplier`` filters (``keras.layers.DepthwiseConv2D``).

    Args:
        kernel_size: an int or (height, width).
        strides: an int or pair; default 1.
        padding: 'valid' or 'same' (TF's rule, as ``Conv2D``).
        depth_multiplier: output channels per input channel.
        dilation_rate: an int or pair.
        activation: an activation name or function (default none).
        use_bias: whether to add a bias per output channel.
        depthwise_initializer: default 'glorot_uniform'.
        bias_initializer: default 'zeros'.

    Weights:
        kernel (kh, kw, C, depth_multiplier), bias (C * depth_multiplier,), as Keras 3 names them.

    Shape:
        (batch, H, W, C) -> (batch, H_out, W_out, C * depth_multiplier); output channel
        ``c * depth_multiplier + m`` comes from input channel ``c``.

    Example:
        >>> DepthwiseConv2D(3, depth_multiplier=2)(np.ones((1, 5, 5, 3))).shape
        TensorShape([1, 3, 3, 6])
    """

    def __init__(
        self,
        kernel_size,
        strides=(1, 1),
        padding="valid",
        depth_multiplier=1,
        data_format=None,
        dilation_rate=(1, 1),
        activation=None,
        use_bias=True,
        depthwise_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(
            kernel_size,
            strides,
            padding,
            depth_multiplier,
            data_format,
            dilation_rate,
            activation,
            use_bias,
            bias_initializer,
            **kwargs,
        )
        self.depthwise_initializer = initializers.get(depthwise_initializer)

    def build(self, input_shape):
        channels = self._channels(input_shape)
        self._spatial_output(input_shape)  # rejects a window larger than a 'valid' input
        self.kernel = self.add_weight(
            shape=(*self.kernel_size, channels, self.depth_multiplier),
            initializer=self.depthwise_initializer,
            name="kernel",
        )
        self.bias = (
            self.add_weight(shape=(channels * self.depth_multiplier,), initializer=self.bias_initializer, name="bias")
            if self.use_bias
            else None
        )
        self.input_spec = InputSpec(ndim=4, axes={-1: channels})

    def call(self, inputs):
        outputs = depthwise_conv2d(
            inputs, self.kernel, self.strides, self.padding.upper(), dilations=self.dilation_rate
        )
        return self._finish(outputs)

    def compute_output_shape(self, input_shape):
        channels = input_shape[-1]
        return (
            input_shape[0],
            *self._spatial_output(input_shape),
            None if channels is None else channels * self.depth_multiplier,
        )

    def get_config(self):
        return {**super().get_config(), "depthwise_initializer": initializers.serialize(self.depthwise_initializer)}


class SeparableConv2D(_ChannelwiseConv2D):
    """A depthwise convolution followed by a 1x1 convolution that mixes the channels (``keras.layers.SeparableConv2D``).

    Args:
        filters: the number of output channels.
        kernel_size, strides, padding, depth_multiplier, dilation_rate, activation,
            use_bias: as ``DepthwiseConv2D``.
        depthwise_initializer, pointwise_initializer: default 'glorot_uniform'.
        bias_initializer: default 'zeros'.

    Weights:
        depthwise_kernel (kh, kw, C, depth_multiplier), pointwise_kernel
        (1, 1, C * depth_multiplier, filters), bias (filters,).

    Example:
        >>> SeparableConv2D(8, 3, padding="same")(np.ones((1, 5, 5, 3))).shape
        TensorShape([1, 5, 5, 8])
    """

    def __init__(
        self,
        filters,
        kernel_size,
        strides=(1, 1),
        padding="valid",
        data_format=None,
        dilation_rate=(1, 1),
        depth_multiplier=1,
        activation=None,
        use_bias=True,
        depthwise_initializer="glorot_uniform",
        pointwise_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(
            kernel_size,
            strides,
            padding,
            depth_multiplier,
            data_format,
            dilation_rate,
            activation,
            use_bias,
            bias_initializer,
            **kwargs,
        )
        self.filters = _positive_int(filters, "filters", "SeparableConv2D")
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.pointwise_initializer = initializers.get(pointwise_initializer)

    def build(self, input_shape):
        channels = self._channels(input_shape)
        self._spatial_output(input_shape)
        self.depthwise_kernel = self.add_weight(
            shape=(*self.kernel_size, channels, self.depth_multiplier),
            initializer=self.depthwise_initializer,
            name="depthwise_kernel",
        )
        self.pointwise_kernel = self.add_weight(
            shape=(1, 1, channels * self.depth_multiplier, self.filters),
            initializer=self.pointwise_initializer,
            name="pointwise_kernel",
        )
        self.bias = (
            self.add_weight(shape=(self.filters,), initializer=self.bias_initializer, name="bias")
            if self.use_bias
            else None
        )
        self.input_spec = InputSpec(ndim=4, axes={-1: channels})

    def call(self, inputs):
        outputs = separable_conv2d(
            inputs,
            self.depthwise_kernel,
            self.pointwise_kernel,
            self.strides,
            self.padding.upper(),
            dilations=self.dilation_rate,
        )
        return self._finish(outputs)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self._spatial_output(input_shape), self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
            "pointwise_initializer": initializers.serialize(self.pointwise_initializer),
        }
