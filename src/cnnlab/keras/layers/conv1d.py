"""Conv1D: a bank of learned 1-D filters slid along sequences (batch, steps, channels) (``keras.layers.Conv1D``)."""

from ...ops.array_ops import pad
from ...ops.conv1d_pool1d_ops import conv1d
from ...ops.nn_ops import bias_add
from ...ops.window_sizes import output_length
from .. import activations, initializers
from .base import InputSpec, Layer
from .conv import normalize_tuple
from .core import _check_channels_last, _positive_int


class Conv1D(Layer):
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
        activation, use_bias, kernel_initializer, bias_initializer: as ``Conv2D``.

    Shape:
        (batch, steps, C) -> (batch, new_steps, filters); the kernel is (kernel_size, C, filters).
        'valid': ``ceil((steps - k_eff + 1) / s)``; 'same' and 'causal': ``ceil(steps / s)``.

    Example:
        >>> Conv1D(4, 3, padding="causal")(np.ones((2, 10, 3))).shape
        TensorShape([2, 10, 4])
    """

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        data_format=None,
        dilation_rate=1,
        groups=1,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        owner = "Conv1D"
        self.filters = _positive_int(filters, "filters", owner)
        self.kernel_size = normalize_tuple(kernel_size, "kernel_size", owner, n=1)
        self.strides = normalize_tuple(strides, "strides", owner, n=1)
        self.dilation_rate = normalize_tuple(dilation_rate, "dilation_rate", owner, n=1)
        if not isinstance(padding, str) or padding.lower() not in ("valid", "same", "causal"):
            raise ValueError(f"{owner}: padding must be 'valid', 'same' or 'causal'; received padding={padding!r}.")
        self.padding = padding.lower()
        _check_channels_last(data_format, owner)
        if groups != 1:
            raise ValueError(f"{owner}: only groups=1 is supported; received groups={groups!r}.")
        if self.strides[0] > 1 and self.dilation_rate[0] > 1:
            raise ValueError(
                f"{owner}: strides > 1 together with dilation_rate > 1 is not supported (as in Keras); "
                f"received strides={self.strides}, dilation_rate={self.dilation_rate}."
            )
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.input_spec = InputSpec(ndim=3)

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(
                f'Layer "{self.name}" (Conv1D): the channel axis (last) of the input must be known; '
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
        self.input_spec = InputSpec(ndim=3, axes={-1: channels})

    def _causal_padding(self):
        return (self.kernel_size[0] - 1) * self.dilation_rate[0]

    def call(self, inputs):
        padding = self.padding.upper()
        if self.padding == "causal":
            inputs = pad(inputs, [[0, 0], [self._causal_padding(), 0], [0, 0]])
            padding = "VALID"
        outputs = conv1d(inputs, self.kernel, self.strides[0], padding, dilations=self.dilation_rate[0])
        if self.bias is not None:
            outputs = bias_add(outputs, self.bias)
        return self.activation(outputs)

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(
                f'Layer "{self.name}" (Conv1D) expects inputs of rank 3 (batch, steps, channels); '
                f"received shape {tuple(input_shape)}."
            )
        steps, padding = input_shape[1], self.padding
        if padding == "causal":
            steps = None if steps is None else steps + self._causal_padding()
            padding = "valid"
        owner = f'Layer "{self.name}" (Conv1D)'
        steps = output_length(steps, self.kernel_size[0], self.strides[0], self.dilation_rate[0], padding, owner)
        return (input_shape[0], steps, self.filters)

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
