"""Conv2DTranspose: the transpose of a 2-D convolution, which grows feature maps (``keras.layers.Conv2DTranspose``)."""

import numbers

from ...ops.conv_ops import conv2d_transpose
from ...ops.window_sizes import output_length, transposed_length
from .base_conv import BaseConv


class Conv2DTranspose(BaseConv):
    """A transposed 2-D convolution ("deconvolution") plus bias and activation.

    Each input pixel scatters a copy of the kernel, weighted by its value, onto the
    output, ``strides`` apart; it is the gradient of ``Conv2D`` with respect to its
    input, so a ``Conv2D`` with the same arguments maps the output shape back to
    the input shape.  Computed as TensorFlow's ``conv2d_transpose``.

    Args:
        filters: the number of output channels.
        kernel_size: an int or (height, width).
        strides: an int or (rows, cols) step; default 1.
        padding: 'valid' or 'same'.
        output_padding: an int or pair, extra rows / columns added to the output
            (each smaller than its stride); None: the default sizes below.
        dilation_rate: an int or pair.
        activation, use_bias, the initializers, regularizers and constraints: as ``Conv2D``.

    Shape:
        (batch, H, W, C) -> (batch, H_out, W_out, filters), with ``k_eff = (k - 1) * d + 1``:
        'valid': ``H_out = (H - 1) * s + k_eff + output_padding`` (default
        ``max(k_eff, s) - k_eff``); 'same': ``H_out = H * s`` (or
        ``(H - 1) * s + k_eff % 2 + output_padding``).  The kernel is (kh, kw, filters, C).

    Example:
        >>> Conv2DTranspose(4, 3, strides=2, padding="same")(np.ones((1, 7, 7, 8))).shape
        TensorShape([1, 14, 14, 4])
    """

    def __init__(
        self,
        filters,
        kernel_size,
        strides=(1, 1),
        padding="valid",
        output_padding=None,
        data_format=None,
        dilation_rate=(1, 1),
        **kwargs,
    ):
        super().__init__(2, filters, kernel_size, strides, padding, data_format, dilation_rate, **kwargs)
        self.output_padding = None if output_padding is None else _output_padding(output_padding, self.strides)

    def _kernel_shape(self, channels):
        return (*self.kernel_size, self.filters, channels)

    def _convolve(self, inputs):
        output_shape = (inputs.shape[0], *self.compute_output_shape(tuple(inputs.shape))[1:])
        return conv2d_transpose(
            inputs, self.kernel, output_shape, self.strides, self.padding.upper(), dilations=self.dilation_rate
        )

    def compute_output_shape(self, input_shape):
        self._check_rank(input_shape)
        sizes = [
            transposed_length(
                input_shape[1 + axis],
                self.kernel_size[axis],
                self.strides[axis],
                self.dilation_rate[axis],
                self.padding,
                None if self.output_padding is None else self.output_padding[axis],
            )
            for axis in range(2)
        ]
        for axis, (size, out) in enumerate(zip(input_shape[1:3], sizes)):
            # TF's transposed conv is the gradient of a conv from the output back to the input: the two must fit.
            if size is not None and (
                out < 1
                or output_length(
                    out, self.kernel_size[axis], self.strides[axis], self.dilation_rate[axis], self.padding
                )
                != size
            ):
                raise ValueError(
                    f'Layer "{self.name}" (Conv2DTranspose): output_padding={self.output_padding} gives an output '
                    f"{('height', 'width')[axis]} of {out} for an input of {size}, from which a '{self.padding}' "
                    f"convolution with kernel_size={self.kernel_size} and strides={self.strides} would not give "
                    f"back {size}; use another output_padding (or None)."
                )
        return (input_shape[0], *sizes, self.filters)

    def get_config(self):
        config = super().get_config()
        del config["groups"]  # not one of Conv2DTranspose's arguments in Keras
        return {**config, "output_padding": None if self.output_padding is None else list(self.output_padding)}


def _output_padding(value, strides):
    owner = "Conv2DTranspose"
    pair = (value, value) if isinstance(value, numbers.Integral) and not isinstance(value, bool) else value
    try:
        pair = tuple(pair)
    except TypeError:
        pair = ()
    if len(pair) != 2 or any(isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 0 for v in pair):
        raise ValueError(
            f"{owner}: output_padding must be None, an int or a pair of ints >= 0; received output_padding={value!r}."
        )
    if any(p >= s for p, s in zip(pair, strides)):
        raise ValueError(
            f"{owner}: each output_padding must be smaller than its stride; received output_padding={value!r}, "
            f"strides={strides}."
        )
    return tuple(int(v) for v in pair)
