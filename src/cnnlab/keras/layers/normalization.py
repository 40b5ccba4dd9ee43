"""BatchNormalization (``keras.layers.BatchNormalization``), with Keras 3's defaults and math."""

import numbers

import numpy as np

from ... import nn
from ...ops import array_ops, collective_ops
from .. import constraints, initializers, regularizers
from .base import InputSpec, Layer


class BatchNormalization(Layer):
    """Normalizes each channel to zero mean and unit variance, then scales by ``gamma`` and shifts by ``beta``.

    In training (``training=True``, as ``fit`` calls it) the statistics are those of
    the batch (the variance is the biased one, as in Keras), and the moving averages
    are updated: ``moving = moving * momentum + batch_statistic * (1 - momentum)``.
    Otherwise (and always when the layer is frozen with ``trainable = False``) the
    moving averages are used:

        out = (x - mean) / sqrt(variance + epsilon) * gamma + beta

    Args:
        axis: the channel axis (default -1, the last: NHWC).
        momentum: weight of the old moving average (default 0.99; PyTorch's
            ``momentum`` is ``1 - momentum``).
        epsilon: added to the variance (default 1e-3).
        center: learn the shift ``beta``.
        scale: learn the scale ``gamma``.
        beta_regularizer, gamma_regularizer: penalties on the weights (``keras.regularizers``).
        beta_constraint, gamma_constraint: projections after each update (``keras.constraints``).
        synchronized: in training, take the statistics over the batches of every
            process of a data-parallel job together (see ``cnnlab.distributed``;
            ``cnnlab.distributed.SyncBatchNormalization`` is this layer with
            ``synchronized=True``).  Outside a job of several processes it changes nothing.

    Weights:
        gamma, beta (trainable), moving_mean, moving_variance (not trainable), each of shape (channels,).

    Example:
        >>> bn = BatchNormalization()
        >>> bn(np.random.rand(8, 4, 4, 3), training=True).shape
        TensorShape([8, 4, 4, 3])
    """

    _stateless_inference = True  # in inference: the moving statistics are only read

    def __init__(
        self,
        axis=-1,
        momentum=0.99,
        epsilon=1e-3,
        center=True,
        scale=True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        moving_mean_initializer="zeros",
        moving_variance_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        synchronized=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
            raise TypeError(f"BatchNormalization: axis must be an int; received axis={axis!r}.")
        if not isinstance(momentum, numbers.Real) or not 0 <= momentum <= 1:
            raise ValueError(f"BatchNormalization: momentum must be in [0, 1]; received momentum={momentum!r}.")
        if not isinstance(epsilon, numbers.Real) or epsilon <= 0:
            raise ValueError(f"BatchNormalization: epsilon must be > 0; received epsilon={epsilon!r}.")
        self.axis = int(axis)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        if not isinstance(synchronized, (bool, np.bool_)):
            raise TypeError(
                f"BatchNormalization: synchronized must be True or False; received synchronized={synchronized!r}."
            )
        self.synchronized = bool(synchronized)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)

    def build(self, input_shape):
        rank = len(input_shape)
        if not -rank <= self.axis < rank or self.axis % rank == 0:
            raise ValueError(
                f'Layer "{self.name}" (BatchNormalization): axis={self.axis} is not a feature axis '
                f"of inputs of shape {tuple(input_shape)}."
            )
        self._channel_axis = self.axis % rank
        channels = input_shape[self._channel_axis]
        if channels is None:
            raise ValueError(
                f'Layer "{self.name}" (BatchNormalization): axis {self.axis} of the input must have a known size.'
            )
        self._reduction_axes = tuple(i for i in range(rank) if i != self._channel_axis)
        # Per-channel vectors broadcast along the channel axis (a plain (C,) vector when it is last).
        self._broadcast_shape = tuple(channels if i == self._channel_axis else 1 for i in range(rank))[
            self._channel_axis :
        ]
        shape = (channels,)
        self.gamma = self._add_weight_of("gamma", shape) if self.scale else None
        self.beta = self._add_weight_of("beta", shape) if self.center else None
        self.moving_mean = self._add_weight_of("moving_mean", shape, trainable=False)
        self.moving_variance = self._add_weight_of("moving_variance", shape, trainable=False)
        self.input_spec = InputSpec(ndim=rank, axes={self._channel_axis: channels})

    def call(self, inputs, training=False):
        if training and self.trainable and self.synchronized and collective_ops.in_parallel_job():
            out, mean, variance = collective_ops.sync_batch_norm_training(
                inputs, self.gamma, self.beta, self.epsilon, self._channel_axis
            )
            self._update_moving_statistics(mean, variance)
            return out
        if training and self.trainable:
            mean, variance = nn.moments(inputs, self._reduction_axes, keepdims=True)
            self._update_moving_statistics(mean._value, variance._value)
        else:
            mean, variance = self._per_channel(self.moving_mean), self._per_channel(self.moving_variance)
        beta = None if self.beta is None else self._per_channel(self.beta)
        gamma = None if self.gamma is None else self._per_channel(self.gamma)
        return nn.batch_normalization(inputs, mean, variance, beta, gamma, self.epsilon)

    def _per_channel(self, vector):
        if len(self._broadcast_shape) == 1:
            return vector
        return array_ops.reshape(vector, self._broadcast_shape)

    def _update_moving_statistics(self, batch_mean, batch_variance):
        keep = np.asarray(self.momentum, dtype=self.moving_mean.dtype)
        self.moving_mean.assign(self.moving_mean._value * keep + batch_mean.reshape(-1) * (1 - keep))
        self.moving_variance.assign(self.moving_variance._value * keep + batch_variance.reshape(-1) * (1 - keep))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {
            **super().get_config(),
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
            "moving_variance_initializer": initializers.serialize(self.moving_variance_initializer),
            **self._weight_options_config("beta", "gamma"),
            "synchronized": self.synchronized,
        }
