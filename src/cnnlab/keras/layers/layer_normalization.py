"""LayerNormalization (``keras.layers.LayerNormalization``), with Keras 3's defaults and math."""

import numbers
import warnings

from ...ops import array_ops, math_ops, nn_ops
from .. import constraints, initializers, regularizers
from .base import Layer


class LayerNormalization(Layer):
    """Normalizes each sample over ``axis`` to zero mean and unit variance, then scales by
    ``gamma`` and shifts by ``beta`` (per feature of ``axis``), the same in training and inference:

        inv = gamma / sqrt(variance + epsilon)
        out = x * inv + (beta - mean * inv)

    The mean and the (biased) variance are taken over ``axis`` for each sample.

    Args:
        axis: an int or a list of ints (the last axis by default).
        epsilon: added to the variance; default 1e-3.
        center: learn the shift ``beta``.
        scale: learn the scale ``gamma``.
        beta_initializer, gamma_initializer: default 'zeros' / 'ones'.
        beta_regularizer, gamma_regularizer: penalties on the weights (``keras.regularizers``).
        beta_constraint, gamma_constraint: projections after each update (``keras.constraints``).

    Weights:
        gamma, beta, each of the input's sizes along ``axis``.

    Example:
        >>> LayerNormalization()(np.array([[1.0, 2.0, 3.0]])).numpy().round(3)
        array([[-1.224,  0.   ,  1.224]], dtype=float32)
    """

    def __init__(
        self,
        axis=-1,
        epsilon=1e-3,
        center=True,
        scale=True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        **kwargs,
    ):
        rms_scaling = kwargs.pop("rms_scaling", False)
        if rms_scaling:
            warnings.warn(
                "LayerNormalization: rms_scaling=True is deprecated in Keras 3 (it scales by the variance, not the "
                "root mean square); use it only to match old models.",
                stacklevel=2,
            )
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            axes = list(axis)
        else:
            axes = axis
        values = axes if isinstance(axes, list) else [axes]
        if not values or not all(isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in values):
            raise TypeError(f"LayerNormalization: axis must be an int or a list of ints; received axis={axis!r}.")
        if not isinstance(epsilon, numbers.Real) or epsilon <= 0:
            raise ValueError(f"LayerNormalization: epsilon must be > 0; received epsilon={epsilon!r}.")
        self.axis = axes
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.rms_scaling = bool(rms_scaling)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)

    def build(self, input_shape):
        rank = len(input_shape)
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        for axis in axes:
            if not -rank <= axis < rank:
                raise ValueError(
                    f'Layer "{self.name}" (LayerNormalization): axis {axis} is out of range for inputs of shape '
                    f"{tuple(input_shape)}."
                )
        self._axes = sorted(a % rank for a in axes)
        if 0 in self._axes:
            raise ValueError(
                f'Layer "{self.name}" (LayerNormalization): axis {self.axis} includes the batch axis; normalize '
                "over feature axes."
            )
        shape = tuple(input_shape[a] for a in self._axes)
        if None in shape:
            raise ValueError(
                f'Layer "{self.name}" (LayerNormalization): the axes {self.axis} of the input must have known sizes; '
                f"received shape {tuple(input_shape)}."
            )
        self.axis = sorted(self.axis) if isinstance(self.axis, list) else [self.axis]
        # The weights broadcast along the normalized axes: a plain vector when that is only the last one.
        self._broadcast_shape = (
            None if self._axes == [rank - 1] else tuple(input_shape[i] if i in self._axes else 1 for i in range(rank))
        )
        self.gamma = self._add_weight_of("gamma", shape) if self.scale or self.rms_scaling else None
        self.beta = self._add_weight_of("beta", shape) if self.center and not self.rms_scaling else None

    def _broadcast(self, weight):
        return weight if self._broadcast_shape is None else array_ops.reshape(weight, self._broadcast_shape)

    def call(self, inputs):
        mean, variance = nn_ops.moments(inputs, self._axes, keepdims=True)
        inverse = math_ops.rsqrt(variance + self.epsilon)
        if self.rms_scaling:
            outputs = inputs * inverse
            return outputs if self.gamma is None else outputs * self._broadcast(self.gamma)
        if self.gamma is not None:
            inverse = inverse * self._broadcast(self.gamma)
        shift = -mean * inverse
        if self.beta is not None:
            shift = shift + self._broadcast(self.beta)
        return inputs * inverse + shift

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {
            **super().get_config(),
            "axis": self.axis,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "rms_scaling": self.rms_scaling,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            **self._weight_options_config("beta", "gamma"),
        }
