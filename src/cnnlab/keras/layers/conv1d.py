"""Conv1D: a bank of learned 1-D filters slid along sequences (batch, steps, channels) (``keras.layers.Conv1D``)."""

from ...ops.array_ops import pad
from ...ops.conv1d_pool1d_ops import conv1d
from ...ops.window_sizes import output_length
from .base_conv import BaseConv


class Conv1D(BaseConv):
    """1-D convolution (cross-correlation) plus bias and activation.

    Args:
        filters: the number of output channels.
        kernel_size: an int (or a tuple of one int).
        strides: an int; default 1.
        padding: 'valid', 'same' (TF's rule) or 'causal' (``(kernel_size - 1) *
            dilation_rate`` zeros before the sequence, so that output ``t`` sees no
            input after ``t``).
        dilation_rate: an int.
        groups: only 1.
        activation, use_bias, the initializers, regularizers and constraints: as ``Conv2D``.

    Shape:
        (batch, steps, C) -> (batch, new_steps, filters); the kernel is (kernel_size, C, filters).
        'valid': ``ceil((steps - k_eff + 1) / s)``; 'same' and 'causal': ``ceil(steps / s)``.

    Example:
        >>> Conv1D(4, 3, padding="causal")(np.ones((2, 10, 3))).shape
        TensorShape([2, 10, 4])
    """

    _paddings = ("valid", "same", "causal")

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        data_format=None,
        dilation_rate=1,
        groups=1,
        **kwargs,
    ):
        super().__init__(1, filters, kernel_size, strides, padding, data_format, dilation_rate, groups, **kwargs)

    def _kernel_shape(self, channels):
        return (*self.kernel_size, channels, self.filters)

    def _causal_padding(self):
        return (self.kernel_size[0] - 1) * self.dilation_rate[0]

    def _convolve(self, inputs):
        padding = self.padding.upper()
        if self.padding == "causal":
            inputs = pad(inputs, [[0, 0], [self._causal_padding(), 0], [0, 0]])
            padding = "VALID"
        return conv1d(inputs, self.kernel, self.strides[0], padding, dilations=self.dilation_rate[0])

    def compute_output_shape(self, input_shape):
        self._check_rank(input_shape)
        steps, padding = input_shape[1], self.padding
        if padding == "causal":
            steps = None if steps is None else steps + self._causal_padding()
            padding = "valid"
        owner = f'Layer "{self.name}" (Conv1D)'
        steps = output_length(steps, self.kernel_size[0], self.strides[0], self.dilation_rate[0], padding, owner)
        return (input_shape[0], steps, self.filters)
