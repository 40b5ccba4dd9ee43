"""Core layers: Input / InputLayer, Dense, Flatten, Reshape, Activation, ReLU, Dropout."""

import math
import numbers

from ... import nn
from ...ops import array_ops, math_ops, nn_ops
from .. import activations, constraints, initializers, regularizers
from .base import CallRecord, InputSpec, KerasTensor, Layer, standardize_shape


def _positive_int(value, argument, owner):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{owner}: {argument} must be a positive integer; received {argument}={value!r}.")
    return int(value)


class InputLayer(Layer):
    """The entry point of a model: holds the shape of one input batch (``keras.layers.InputLayer``).

    Args:
        shape: the shape of one sample, without the batch axis (``(28, 28, 1)``).
        batch_size: a fixed batch size, or None.
        dtype: the input dtype (default float32).
        batch_shape: the full shape, batch axis included (instead of shape / batch_size).
        name: the layer's name.
    """

    _stateless_inference = True

    def __init__(self, shape=None, batch_size=None, dtype=None, batch_shape=None, name=None, **kwargs):
        if "input_shape" in kwargs:  # the Keras 2 spelling
            shape = kwargs.pop("input_shape")
        if "batch_input_shape" in kwargs:
            batch_shape = kwargs.pop("batch_input_shape")
        super().__init__(name=name, dtype=dtype, **kwargs)
        if batch_shape is None:
            if shape is None:
                raise ValueError("InputLayer: give shape= (the shape of one sample, e.g. shape=(28, 28, 1)).")
            batch_shape = (batch_size, *standardize_shape(shape, "shape", "InputLayer"))
        self._batch_shape = standardize_shape(batch_shape, "batch_shape", "InputLayer")
        self._batch_input_shape = None
        self.built = True
        self._build_input_shape = self._batch_shape
        tensor = KerasTensor(self._batch_shape, self.dtype, source=(self, None), name=self.name)
        self._inbound_nodes.append(CallRecord(None, tensor))

    @property
    def batch_shape(self):
        return self._batch_shape

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return self._batch_shape

    def get_config(self):
        return {"batch_shape": list(self._batch_shape), "dtype": self.dtype, "name": self.name}


def Input(shape=None, batch_size=None, dtype=None, batch_shape=None, name=None):  # noqa: N802 - Keras's name
    """A symbolic input (``keras.Input``): start a model with it, or call layers on it.

    Example:
        >>> inputs = keras.Input(shape=(28, 28, 1))
        >>> outputs = keras.layers.Dense(10)(keras.layers.Flatten()(inputs))
        >>> model = keras.Model(inputs, outputs)
    """
    return InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, batch_shape=batch_shape, name=name).output


class Dense(Layer):
    """A fully connected layer: ``activation(inputs @ kernel + bias)`` (``keras.layers.Dense``).

    Args:
        units: the number of outputs.
        activation: an activation name or function (default none).
        use_bias: whether to add a bias.
        kernel_initializer: default 'glorot_uniform'.
        bias_initializer: default 'zeros'.
        kernel_regularizer, bias_regularizer, activity_regularizer: penalties
            (``keras.regularizers``), added to the model's losses.
        kernel_constraint, bias_constraint: projections applied after each update
            (``keras.constraints``).

    Shape:
        input (batch, ..., in_features) -> output (batch, ..., units); the kernel is (in_features, units).

    Example:
        >>> Dense(3)(np.ones((2, 4))).shape
        TensorShape([2, 3])
    """

    _stateless_inference = True

    def __init__(
        self,
        units,
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
        self.units = _positive_int(units, "units", "Dense")
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(min_ndim=2)

    def build(self, input_shape):
        in_features = input_shape[-1]
        if in_features is None:
            raise ValueError(
                f'Layer "{self.name}" (Dense): the last axis of the input must be known; received shape {input_shape}.'
            )
        self.kernel = self._add_weight_of("kernel", (in_features, self.units))
        self.bias = self._add_weight_of("bias", (self.units,)) if self.use_bias else None
        self.input_spec = InputSpec(min_ndim=2, axes={-1: in_features})

    def call(self, inputs):
        if inputs.ndim == 2:
            outputs = math_ops.matmul(inputs, self.kernel)
        else:  # on the last axis of a higher-rank input
            flat = math_ops.matmul(array_ops.reshape(inputs, (-1, inputs.shape[-1])), self.kernel)
            outputs = array_ops.reshape(flat, (*inputs.shape[:-1], self.units))
        if self.use_bias:
            outputs = nn_ops.bias_add(outputs, self.bias)
        return self.activation(outputs)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            **self._weight_options_config("kernel", "bias"),
        }


class Flatten(Layer):
    """Flattens each sample to one axis: (batch, d1, d2, ...) -> (batch, d1 * d2 * ...)."""

    _stateless_inference = True

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        _check_channels_last(data_format, "Flatten")
        self.input_spec = InputSpec(min_ndim=1)

    def call(self, inputs):
        return array_ops.reshape(inputs, (inputs.shape[0], -1))

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        size = None if any(d is None for d in rest) else math.prod(rest)
        return (input_shape[0], size)

    def get_config(self):
        return {**super().get_config(), "data_format": "channels_last"}


class Reshape(Layer):
    """Reshapes each sample to ``target_shape`` (one entry may be -1): (batch, ...) -> (batch, *target_shape)."""

    _stateless_inference = True

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        try:
            target = tuple(int(d) for d in target_shape)
        except (TypeError, ValueError, OverflowError):
            raise TypeError(
                f"Reshape: target_shape must be a tuple of ints; received target_shape={target_shape!r}."
            ) from None
        if sum(d == -1 for d in target) > 1 or any(d < -1 for d in target):
            raise ValueError(
                "Reshape: target_shape may hold at most one -1 and no other negative size; "
                f"received target_shape={target_shape!r}."
            )
        self.target_shape = target

    def call(self, inputs):
        return array_ops.reshape(inputs, (inputs.shape[0], *self.target_shape))

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        if -1 not in self.target_shape:
            known = math.prod(self.target_shape)
            if None not in rest and math.prod(rest) != known:
                raise ValueError(
                    f'Layer "{self.name}" (Reshape): cannot reshape samples of shape {rest} '
                    f"({math.prod(rest)} values) to target_shape={self.target_shape} ({known} values)."
                )
            return (input_shape[0], *self.target_shape)
        if None in rest:
            return (input_shape[0], *(None if d == -1 else d for d in self.target_shape))
        size = math.prod(rest)
        known = math.prod(d for d in self.target_shape if d != -1)
        if known == 0 or size % known:
            raise ValueError(
                f'Layer "{self.name}" (Reshape): cannot reshape samples of shape {rest} ({size} values) '
                f"to target_shape={self.target_shape}."
            )
        return (input_shape[0], *(size // known if d == -1 else d for d in self.target_shape))

    def build(self, input_shape):
        self.compute_output_shape(input_shape)  # validates the sizes

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}


class Activation(Layer):
    """Applies an activation function: ``Activation('relu')``."""

    _stateless_inference = True

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, inputs):
        return self.activation(inputs)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


class ReLU(Layer):
    """The rectified linear unit with Keras's options (``keras.layers.ReLU``).

    Args:
        max_value: cap on the output (None: no cap).
        negative_slope: slope below the threshold (0: plain ReLU).
        threshold: values below it are zeroed (or sloped).
    """

    _stateless_inference = True

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        for argument, value in (("max_value", max_value), ("negative_slope", negative_slope), ("threshold", threshold)):
            if value is not None and (not isinstance(value, numbers.Real) or value < 0):
                raise ValueError(f"ReLU: {argument} must be a number >= 0; received {argument}={value!r}.")
        self.max_value = None if max_value is None else float(max_value)
        self.negative_slope = float(negative_slope)
        self.threshold = float(threshold)

    def call(self, inputs):
        return activations.relu(inputs, self.negative_slope, self.max_value, self.threshold)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {
            **super().get_config(),
            "max_value": self.max_value,
            "negative_slope": self.negative_slope,
            "threshold": self.threshold,
        }


class Dropout(Layer):
    """Sets a random fraction ``rate`` of the inputs to 0 during training and scales the rest by ``1 / (1 - rate)``.

    Inverted dropout, as Keras: at inference (``training=False``, the default, and
    in ``evaluate`` / ``predict``) the layer passes its input through unchanged.

    Args:
        rate: the fraction to drop, in [0, 1).
        noise_shape: the shape of the keep/drop mask, broadcast over the input
            (``(batch, 1, 1, channels)`` drops whole feature maps); None: the input's shape.
        seed: an integer making this layer's masks reproducible.
    """

    _stateless_inference = True

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(rate, numbers.Real) or isinstance(rate, bool) or not 0 <= rate < 1:
            raise ValueError(f"Dropout: rate must be a number in [0, 1); received rate={rate!r}.")
        self.rate = float(rate)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = seed

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        noise_shape = None
        if self.noise_shape is not None:  # None entries take the input's size, as in Keras
            noise_shape = tuple(n if d is None else d for d, n in zip(self.noise_shape, inputs.shape))
        return nn.dropout(inputs, rate=self.rate, noise_shape=noise_shape, seed=self.seed)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {
            **super().get_config(),
            "rate": self.rate,
            "noise_shape": None if self.noise_shape is None else list(self.noise_shape),
            "seed": self.seed,
        }


def _check_channels_last(data_format, owner):
    if data_format not in (None, "channels_last"):
        raise ValueError(
            f"{owner}: only data_format='channels_last' (NHWC, TensorFlow's CPU layout) is supported; "
            f"received data_format={data_format!r}."
        )
