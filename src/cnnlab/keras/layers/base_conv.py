"""What the convolution layers share (Keras's ``BaseConv``): the window arguments and their checks,
the weights with their initializers, regularizers and constraints, the bias and the activation.

A convolution layer says what differs: its rank, the shape of its kernel (``_kernel_shape``),
the op it runs (``_convolve``) and its output shape; ``DepthwiseConv2D`` and
``SeparableConv2D`` also name their own kernels (``_kernels``).  Its ``call`` is then three
steps: the op, the bias, the activation.
"""

import numbers

from ...ops import nn_ops
from ...ops.conv_ops import window_geometry
from .. import activations, constraints, initializers, regularizers
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


def normalize_padding(padding, owner, allowed=("valid", "same")):
    """'valid' or 'same' (any case; also 'causal' where ``allowed``), as Keras spells them."""
    if not isinstance(padding, str) or padding.lower() not in allowed:
        choices = ", ".join(f"'{choice}'" for choice in allowed[:-1]) + f" or '{allowed[-1]}'"
        raise ValueError(f"{owner}: padding must be {choices}; received padding={padding!r}.")
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


class BaseConv(Layer):
    """A convolution of ``rank`` spatial axes plus bias and activation (see the module docstring).

    The layers name their window arguments in Keras's order; the arguments from ``groups``
    (``activation`` for the depthwise ones) on are given by keyword.

    Args:
        rank: 1 or 2.
        filters: the number of output channels (None for a depthwise convolution).
        kernel_size, strides, dilation_rate: an int or a tuple of ``rank`` ints.
        padding: 'valid' or 'same' (and 'causal' where the layer allows it).
        groups: only 1.
        activation: an activation name or function (default none).
        use_bias: whether to add a bias per output channel.
        kernel_initializer, bias_initializer: default 'glorot_uniform' and 'zeros'.
        kernel_regularizer, bias_regularizer: penalties on the weights (``keras.regularizers``).
        activity_regularizer: a penalty on the output.
        kernel_constraint, bias_constraint: projections after each update (``keras.constraints``).
    """

    _stateless_inference = True
    _paddings = ("valid", "same")

    def __init__(
        self,
        rank,
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
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        owner = type(self).__name__
        self.rank = rank
        self.filters = None if filters is None else _positive_int(filters, "filters", owner)
        self.kernel_size = normalize_tuple(kernel_size, "kernel_size", owner, n=rank)
        self.strides = normalize_tuple(strides, "strides", owner, n=rank)
        self.padding = normalize_padding(padding, owner, self._paddings)
        _check_channels_last(data_format, owner)
        self.dilation_rate = normalize_tuple(dilation_rate, "dilation_rate", owner, n=rank)
        if groups != 1:
            raise ValueError(f"{owner}: only groups=1 is supported; received groups={groups!r}.")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                f"{owner}: strides > 1 together with dilation_rate > 1 is not supported (as in Keras); "
                f"received strides={self.strides}, dilation_rate={self.dilation_rate}."
            )
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(ndim=rank + 2)

    # ---- what a convolution says about itself ---------------------------------------------------
    def _kernel_shape(self, channels):
        """The kernel's shape for inputs of ``channels`` channels."""
        raise NotImplementedError

    def _convolve(self, inputs):
        """The convolution itself, without bias or activation."""
        raise NotImplementedError

    def _kernels(self, channels):
        """``(attribute, shape, initializer, regularizer, constraint)`` of each kernel, in the order made."""
        return [
            (
                "kernel",
                self._kernel_shape(channels),
                self.kernel_initializer,
                self.kernel_regularizer,
                self.kernel_constraint,
            )
        ]

    def _bias_size(self, channels):
        return self.filters

    # ---- the shared parts -----------------------------------------------------------------------
    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(
                f'Layer "{self.name}" ({type(self).__name__}): the channel axis (last) of the input must be known; '
                f"received shape {input_shape}."
            )
        self.compute_output_shape(input_shape)  # rejects a window larger than a 'valid' input
        for attribute, shape, initializer, regularizer, constraint in self._kernels(channels):
            weight = self.add_weight(
                shape=shape, initializer=initializer, regularizer=regularizer, constraint=constraint, name=attribute
            )
            setattr(self, attribute, weight)
        self.bias = (
            self.add_weight(
                shape=(self._bias_size(channels),),
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
                name="bias",
            )
            if self.use_bias
            else None
        )
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={-1: channels})

    def call(self, inputs):
        outputs = self._convolve(inputs)
        if self.use_bias:
            outputs = nn_ops.bias_add(outputs, self.bias)
        return self.activation(outputs)

    def _check_rank(self, input_shape):
        if len(input_shape) != self.rank + 2:
            axes = "(batch, steps, channels)" if self.rank == 1 else "(batch, height, width, channels)"
            raise ValueError(
                f'Layer "{self.name}" ({type(self).__name__}) expects inputs of rank {self.rank + 2} {axes}; '
                f"received shape {tuple(input_shape)}."
            )

    def get_config(self):
        config = super().get_config()
        if self.filters is not None:
            config["filters"] = self.filters
        config.update(
            {
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
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer),
                "activity_regularizer": regularizers.serialize(self.activity_regularizer),
                "kernel_constraint": constraints.serialize(self.kernel_constraint),
                "bias_constraint": constraints.serialize(self.bias_constraint),
            }
        )
        return config

