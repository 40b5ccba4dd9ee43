"""Activation layers with options of their own: Softmax, LeakyReLU, PReLU (learned slopes) and ELU."""

import numbers
import warnings

from ...ops import array_ops, math_ops, nn_ops, reduction_ops
from ...tensor import as_tensor
from .. import activations, constraints, initializers, regularizers
from .base import InputSpec, Layer

# What Keras puts in masked-out positions before a softmax (float16 has no room for -1e9).
_MASKED_LOGIT = -1e9


class Softmax(Layer):
    """``exp(x) / sum(exp(x))`` along ``axis`` (``keras.layers.Softmax``).

    Args:
        axis: an int, or a list of ints normalized over together; default -1.

    Call arguments:
        inputs: the logits.
        mask: optional, broadcastable to ``inputs``; True (or > 0.5) keeps a position,
            False gives it probability 0 (as Keras 3).

    Example:
        >>> Softmax()(np.array([[1.0, 2.0, 1.0]])).numpy().round(4)
        array([[0.2119, 0.5761, 0.2119]], dtype=float32)
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            if not axis or not all(isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in axis):
                raise TypeError(f"Softmax: axis must be an int or a non-empty list of ints; received axis={axis!r}.")
            axis = list(axis)
        elif isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
            raise TypeError(f"Softmax: axis must be an int or a list of ints; received axis={axis!r}.")
        self.axis = axis

    def call(self, inputs, mask=None):
        keep = None
        if mask is not None:
            keep = as_tensor(mask, f'Layer "{self.name}" (Softmax) mask')
            if keep.dtype.kind != "b":
                keep = keep > 0.5
            if keep.ndim > inputs.ndim:
                raise ValueError(
                    f'Layer "{self.name}" (Softmax): the mask must broadcast to the inputs and have no more axes; '
                    f"received inputs.shape={tuple(inputs.shape)}, mask.shape={tuple(keep.shape)}."
                )
            inputs = array_ops.where(keep, inputs, _MASKED_LOGIT)
        if isinstance(self.axis, list) and len(self.axis) > 1:
            outputs = math_ops.exp(inputs - reduction_ops.reduce_logsumexp(inputs, axis=self.axis, keepdims=True))
        else:
            axis = self.axis[0] if isinstance(self.axis, list) else self.axis
            outputs = activations.softmax(inputs, axis=axis)
        if keep is not None:
            outputs = array_ops.where(keep, outputs, 0.0)
        return outputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class LeakyReLU(Layer):
    """``x`` where positive, ``negative_slope * x`` elsewhere (``keras.layers.LeakyReLU``).

    Args:
        negative_slope: the slope below zero, >= 0; default 0.3.
        alpha: tf.keras 2's name for ``negative_slope`` (accepted with a warning, as Keras 3 does).

    Example:
        >>> LeakyReLU(negative_slope=0.5)(np.array([-10.0, -5.0, 0.0, 5.0])).numpy()
        array([-5. , -2.5,  0. ,  5. ], dtype=float32)
    """

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
            warnings.warn("LeakyReLU: argument `alpha` is deprecated. Use `negative_slope` instead.", stacklevel=2)
        super().__init__(**kwargs)
        if isinstance(negative_slope, bool) or not isinstance(negative_slope, numbers.Real) or negative_slope < 0:
            raise ValueError(
                f"LeakyReLU: negative_slope must be a number >= 0; received negative_slope={negative_slope!r}."
            )
        self.negative_slope = float(negative_slope)

    def call(self, inputs):
        return nn_ops.leaky_relu(inputs, alpha=self.negative_slope)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


class PReLU(Layer):
    """A leaky ReLU whose negative slopes ``alpha`` are learned (``keras.layers.PReLU``):
    ``relu(x) - alpha * relu(-x)``.

    Args:
        alpha_initializer: default 'zeros' (starts as a plain ReLU).
        alpha_regularizer: a penalty on the slopes (``keras.regularizers``).
        alpha_constraint: a projection after each update (``keras.constraints``).
        shared_axes: axes (1 = the first after the batch) along which one slope is
            shared, e.g. ``[1, 2]`` for one slope per channel of NHWC feature maps.

    Weights:
        alpha, of the input shape without the batch axis (size 1 along ``shared_axes``).

    Example:
        >>> PReLU(shared_axes=[1, 2])(np.ones((1, 4, 4, 3))).shape
        TensorShape([1, 4, 4, 3])
    """

    def __init__(
        self, alpha_initializer="zeros", alpha_regularizer=None, alpha_constraint=None, shared_axes=None, **kwargs
    ):
        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        else:
            axes = list(shared_axes) if isinstance(shared_axes, (list, tuple)) else [shared_axes]
            if not all(isinstance(a, numbers.Integral) and not isinstance(a, bool) and a >= 1 for a in axes):
                raise ValueError(
                    "PReLU: shared_axes must be None, or ints >= 1 (axis 0 is the batch); "
                    f"received shared_axes={shared_axes!r}."
                )
            self.shared_axes = [int(a) for a in axes]

    def build(self, input_shape):
        shape = list(input_shape[1:])
        for axis in self.shared_axes or []:
            if axis >= len(input_shape):
                raise ValueError(
                    f'Layer "{self.name}" (PReLU): shared axis {axis} is out of range for inputs of shape '
                    f"{tuple(input_shape)}."
                )
            shape[axis - 1] = 1
        if None in shape:
            raise ValueError(
                f'Layer "{self.name}" (PReLU): every axis without a shared slope must have a known size; '
                f"received shape {tuple(input_shape)} with shared_axes={self.shared_axes}."
            )
        self.alpha = self._add_weight_of("alpha", shape)
        axes = {i: input_shape[i] for i in range(1, len(input_shape)) if i not in (self.shared_axes or [])}
        self.input_spec = InputSpec(ndim=len(input_shape), axes=axes)

    def call(self, inputs):
        return nn_ops.relu(inputs) - self.alpha * nn_ops.relu(-inputs)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {
            **super().get_config(),
            "alpha_initializer": initializers.serialize(self.alpha_initializer),
            **self._weight_options_config("alpha"),
            "shared_axes": self.shared_axes,
        }


class ELU(Layer):
    """``x`` where positive, ``alpha * (exp(x) - 1)`` elsewhere (``keras.layers.ELU``).

    Args:
        alpha: the scale of the negative part; default 1.0.

    Example:
        >>> ELU()(np.array([-1.0, 2.0])).numpy().round(4)
        array([-0.6321,  2.    ], dtype=float32)
    """

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
            raise ValueError(f"ELU: alpha must be a number; received alpha={alpha!r}.")
        self.alpha = float(alpha)

    def call(self, inputs):
        return activations.elu(inputs, alpha=self.alpha)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}
