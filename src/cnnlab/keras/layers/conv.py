"""Conv2D: a bank of learned 2-D filters slid over NHWC images (``keras.layers.Conv2D``)."""

import numbers

from ...ops import conv_ops, nn_ops
from ...ops.conv_ops import window_geometry
from .. import activations, initializers
from .base import InputSpec, Layer
from .core import _check_channels_last, _positive_int


def normalize_tuple(value, argument, owner, n=2):
    """An int or a sequence of ``n`` positive ints as a tuple (``kernel_size=3`` -> ``(3, 3)``)."""
    try:
        values = (value,) * n if isinstance(value, numbers.Integral) and not isinstance(value, bool) else tuple(value)
    except TypeError:
        raise ValueError(
            f"{owner}: {argument} must be an int or a tuple of {n} ints; received {argument}={value!r}."
        ) from None
    if len(values) != n or any(isinstance(v, bool) or not isinstance(v, numbers.Integral) or v <= 0 for v in values):
        raise ValueError(
            f"{owner}: {argument} must be a positive int or a tuple of {n} positive ints; "
            f"received {argument}={value!r}."
        )
    return tuple(int(v) for v in values)


def normalize_padding(padding, owner):
    """'valid' or 'same' (any case), as Keras spells them."""
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
        raise ValueError(f"{owner}: padding must be 'valid' or 'same'; received padding={padding!r}.")
    return padding.lower()


def spatial_output_shape(layer, input_shape, window, strides, dilation):
    """(height, width) after sliding ``window`` over an NHWC input (None where the input's size is unknown).

    The arithmetic is the shared padding helper's (``window_geometry``), so layers
    and ops always agree on output sizes.
    """
    owner = f'Layer "{layer.name}" ({type(layer).__name__})'
    if len(input_shape) != 4:
        raise ValueError(
            f"{owner} expects inputs of rank 4 (batch, height, width, channels); received shape {tuple(input_shape)}."
        )
    return tuple(
        None if size is None else window_geometry(size, k, s, d, layer.padding.upper(), op=owner).out
        for size, k, s, d in zip(input_shape[1:3], window, strides, dilation)
    )


class Conv2D(Layer):
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

    _stateless_inference = True

    def __init__(
        self,
        filters,
        kernel_size,
        strides=(1, 1),
        padding="valid",
        data_format=None,
        dilation_rate=(1, 1),
        groups=1,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = _positive_int(filters, "filters", "Conv2D")
        self.kernel_size = normalize_tuple(kernel_size, "kernel_size", "Conv2D")
        self.strides = normalize_tuple(strides, "strides", "Conv2D")
        self.padding = normalize_padding(padding, "Conv2D")
        _check_channels_last(data_format, "Conv2D")
        self.dilation_rate = normalize_tuple(dilation_rate, "dilation_rate", "Conv2D")
        if groups != 1:
            raise ValueError(f"Conv2D: only groups=1 is supported; received groups={groups!r}.")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                "Conv2D: strides > 1 together with dilation_rate > 1 is not supported (as in Keras); "
                f"received strides={self.strides}, dilation_rate={self.dilation_rate}."
            )
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.input_spec = InputSpec(ndim=4)

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(
                f'Layer "{self.name}" (Conv2D): the channel axis (last) of the input must be known; '
                f"received shape {input_shape}."
            )
        self.compute_output_shape(input_shape)  # rejects a window larger than a 'valid' input
        self.kernel = self.add_weight(
            shape=(*self.kernel_size, channels, self.filters), initializer=self.kernel_initializer, name="kernel"
        )
        self.bias = (
            self.add_weight(shape=(self.filters,), initializer=self.bias_initializer, name="bias")
            if self.use_bias
            else None
        )
        self.input_spec = InputSpec(ndim=4, axes={-1: channels})

    def call(self, inputs):
        outputs = conv_ops.conv2d(
            inputs, self.kernel, strides=self.strides, padding=self.padding.upper(), dilations=self.dilation_rate
        )
        if self.use_bias:
            outputs = nn_ops.bias_add(outputs, self.bias)
        return self.activation(outputs)

    def compute_output_shape(self, input_shape):
        height, width = spatial_output_shape(self, input_shape, self.kernel_size, self.strides, self.dilation_rate)
        return (input_shape[0], height, width, self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "data_format": "channels_last",
            "dilation_rate": list(self.dilation_rate),
            "groups": 1,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
        }
