"""DepthwiseConv2D and SeparableConv2D: convolutions that filter each channel on its own (NHWC)."""

from ...ops.depthwise_conv_ops import depthwise_conv2d, separable_conv2d
from ...ops.window_sizes import output_length
from .. import constraints, initializers, regularizers
from .base_conv import BaseConv
from .core import _positive_int


class _ChannelwiseConv2D(BaseConv):
    """What DepthwiseConv2D and SeparableConv2D share: the depth multiplier, the depthwise kernel's
    arguments (``depthwise_*``, in place of ``kernel_*``) and the output size."""

    def __init__(
        self,
        filters,
        kernel_size,
        strides,
        padding,
        depth_multiplier,
        data_format,
        dilation_rate,
        depthwise_initializer,
        depthwise_regularizer,
        depthwise_constraint,
        **kwargs,
    ):
        super().__init__(2, filters, kernel_size, strides, padding, data_format, dilation_rate, **kwargs)
        self.depth_multiplier = _positive_int(depth_multiplier, "depth_multiplier", type(self).__name__)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)

    def _depthwise_kernel(self, attribute, channels):
        return (
            attribute,
            (*self.kernel_size, channels, self.depth_multiplier),
            self.depthwise_initializer,
            self.depthwise_regularizer,
            self.depthwise_constraint,
        )

    def _spatial_output(self, input_shape):
        self._check_rank(input_shape)
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

    def get_config(self):
        config = super().get_config()
        for key in ("groups", "kernel_initializer", "kernel_regularizer", "kernel_constraint"):
            del config[key]  # not among these layers' arguments in Keras
        return {
            **config,
            "depth_multiplier": self.depth_multiplier,
            "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
            "depthwise_regularizer": regularizers.serialize(self.depthwise_regularizer),
            "depthwise_constraint": constraints.serialize(self.depthwise_constraint),
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
        depthwise_regularizer, bias_regularizer, activity_regularizer: penalties (``keras.regularizers``).
        depthwise_constraint, bias_constraint: projections after each update (``keras.constraints``).

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
        depthwise_initializer="glorot_uniform",
        depthwise_regularizer=None,
        depthwise_constraint=None,
        **kwargs,
    ):
        super().__init__(
            None,
            kernel_size,
            strides,
            padding,
            depth_multiplier,
            data_format,
            dilation_rate,
            depthwise_initializer,
            depthwise_regularizer,
            depthwise_constraint,
            **kwargs,
        )

    def _kernels(self, channels):
        return [self._depthwise_kernel("kernel", channels)]

    def _bias_size(self, channels):
        return channels * self.depth_multiplier

    def _convolve(self, inputs):
        return depthwise_conv2d(inputs, self.kernel, self.strides, self.padding.upper(), dilations=self.dilation_rate)

    def compute_output_shape(self, input_shape):
        channels = input_shape[-1]
        return (
            input_shape[0],
            *self._spatial_output(input_shape),
            None if channels is None else channels * self.depth_multiplier,
        )


class SeparableConv2D(_ChannelwiseConv2D):
    """A depthwise convolution followed by a 1x1 convolution that mixes the channels (``keras.layers.SeparableConv2D``).

    Args:
        filters: the number of output channels.
        kernel_size, strides, padding, depth_multiplier, dilation_rate, activation,
            use_bias: as ``DepthwiseConv2D``.
        depthwise_initializer, pointwise_initializer: default 'glorot_uniform'.
        bias_initializer: default 'zeros'.
        depthwise_regularizer, pointwise_regularizer, bias_regularizer, activity_regularizer: penalties.
        depthwise_constraint, pointwise_constraint, bias_constraint: projections after each update.

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
        depthwise_initializer="glorot_uniform",
        pointwise_initializer="glorot_uniform",
        depthwise_regularizer=None,
        pointwise_regularizer=None,
        depthwise_constraint=None,
        pointwise_constraint=None,
        **kwargs,
    ):
        super().__init__(
            filters,
            kernel_size,
            strides,
            padding,
            depth_multiplier,
            data_format,
            dilation_rate,
            depthwise_initializer,
            depthwise_regularizer,
            depthwise_constraint,
            **kwargs,
        )
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.pointwise_constraint = constraints.get(pointwise_constraint)

    def _kernels(self, channels):
        pointwise = (
            "pointwise_kernel",
            (1, 1, channels * self.depth_multiplier, self.filters),
            self.pointwise_initializer,
            self.pointwise_regularizer,
            self.pointwise_constraint,
        )
        return [self._depthwise_kernel("depthwise_kernel", channels), pointwise]

    def _convolve(self, inputs):
        return separable_conv2d(
            inputs,
            self.depthwise_kernel,
            self.pointwise_kernel,
            self.strides,
            self.padding.upper(),
            dilations=self.dilation_rate,
        )

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self._spatial_output(input_shape), self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "pointwise_initializer": initializers.serialize(self.pointwise_initializer),
            "pointwise_regularizer": regularizers.serialize(self.pointwise_regularizer),
            "pointwise_constraint": constraints.serialize(self.pointwise_constraint),
        }
