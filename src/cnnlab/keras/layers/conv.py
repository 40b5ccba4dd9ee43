"""Conv2D: a bank of learned 2-D filters slid over NHWC images (``keras.layers.Conv2D``)."""

from ...ops import conv_ops
from .base_conv import BaseConv, spatial_output_shape


class Conv2D(BaseConv):
    """2-D convolution (cross-correlation, as in TF) plus bias and activation.

    Args:
        filters: the number of output channels.
        kernel_size: an int or (height, width).
        strides: an int or (rows, cols) step; default 1.
        padding: 'valid' (no padding) or 'same' (output size ceil(input / stride),
            the extra padding cell at the bottom / right, as TF).
        dilation_rate: an int or pair; spacing between kernel taps.
        activation: an activation name or function (default none).
        use_bias: whether to add a bias per filter.
        kernel_initializer: default 'glorot_uniform'.
        bias_initializer: default 'zeros'.
        kernel_regularizer, bias_regularizer, activity_regularizer: penalties
            (``keras.regularizers``), added to the model's losses.
        kernel_constraint, bias_constraint: projections applied after each update
            (``keras.constraints``).

    Shape:
        input (batch, H, W, C) -> output (batch, H_out, W_out, filters), with
        ``k_eff = (k - 1) * dilation + 1`` and
        'valid': ``H_out = ceil((H - k_eff + 1) / stride)``; 'same': ``H_out = ceil(H / stride)``.
        The kernel is (kh, kw, C, filters).

    Example:
        >>> image = np.random.rand(1, 5, 5, 1).astype("float32")
        >>> Conv2D(2, 3, padding="same")(image).shape
        TensorShape([1, 5, 5, 2])
    """

    def __init__(
        self,
        filters,
        kernel_size,
        strides=(1, 1),
        padding="valid",
        data_format=None,
        dilation_rate=(1, 1),
        groups=1,
        **kwargs,
    ):
        super().__init__(2, filters, kernel_size, strides, padding, data_format, dilation_rate, groups, **kwargs)

    def _kernel_shape(self, channels):
        return (*self.kernel_size, channels, self.filters)

    def _convolve(self, inputs):
        return conv_ops.conv2d(
            inputs, self.kernel, strides=self.strides, padding=self.padding.upper(), dilations=self.dilation_rate
        )

    def compute_output_shape(self, input_shape):
        height, width = spatial_output_shape(self, input_shape, self.kernel_size, self.strides, self.dilation_rate)
        return (input_shape[0], height, width, self.filters)
