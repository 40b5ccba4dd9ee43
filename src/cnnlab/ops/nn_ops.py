"""Neural-network ops (``tf.nn``): activations, softmax, losses, bias_add, dropout, moments.

Convolution lives in ``conv_ops``, pooling in ``pool_ops``.  Softmax and the
cross-entropies subtract the per-row maximum before exponentiating (log-sum-exp),
so they stay finite for logits of any size.
"""

import numpy as np

from .. import random as cnnlab_random
from ..autodiff import is_recording, is_watched, record
from ..kernels import broadcast
from ..kernels import relu as relu_kernels
from ..tensor import Tensor, as_tensor, shape_argument
from . import array_ops, math_ops, reduction_ops
from .math_ops import _float_tensor, sigmoid
from .reduction_ops import reduce_sum


def _gate(dy, coefficient):
    """``dy`` times a constant array (a derivative that does not depend on the input's value)."""
    return dy * Tensor(coefficient.astype(dy.dtype, copy=False))


# ---- activations --------------------------------------------------------------------


def relu(features, name=None):
    """``max(features, 0)``; the gradient is 0 where ``features <= 0``, as in TF.

    Integer tensors are accepted, as TF accepts them (no gradient flows through them).
    """
    x = as_tensor(features, "relu")
    if x._value.dtype.kind in "iu":
        return Tensor(np.maximum(x._value, 0).astype(x.dtype, copy=False))
    x = _float_tensor(x, "relu", "features")
    value = relu_kernels.relu(x._value, np.empty(x._value.shape, x._value.dtype))

    def grad(dy):  # value > 0 exactly where features > 0: the features themselves need not be kept
        if is_recording():
            return (_gate(dy, value > 0),)
        return (Tensor(relu_kernels.relu_backward(dy._value, value, np.empty(value.shape, dy.dtype))),)

    return record(value, (x,), grad)


def relu6(features, name=None):
    """``min(max(features, 0), 6)``; integer tensors are accepted, as TF accepts them."""
    x = as_tensor(features, "relu6")
    if x._value.dtype.kind in "iu":
        return Tensor(np.clip(x._value, 0, 6).astype(x.dtype, copy=False))
    x = _float_tensor(x, "relu6", "features")
    value = x._value
    return record(np.clip(value, 0, 6), (x,), lambda dy: (_gate(dy, (value > 0) & (value < 6)),))


def leaky_relu(features, alpha=0.2, name=None):
    """``features`` where positive, ``alpha * features`` elsewhere."""
    x = _float_tensor(features, "leaky_relu", "features")
    positive = x._value > 0
    slope = np.where(positive, 1, alpha).astype(x.dtype)
    return record(x._value * slope, (x,), lambda dy: (_gate(dy, slope),))


def elu(features, name=None):
    """``features`` where positive, ``exp(features) - 1`` elsewhere."""
    x = _float_tensor(features, "elu", "features")
    positive = x._value > 0
    value = np.where(positive, x._value, np.expm1(np.minimum(x._value, 0)))

    def grad(dy):
        return (array_ops.where(Tensor(positive), dy, dy * (out + 1)),)

    out = record(value, (x,), grad)
    return out


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(features, name=None):
    """``scale * elu(features)`` with ``alpha`` and ``scale`` from Klambauer et al. (2017)."""
    x = _float_tensor(features, "selu", "features")
    return _SELU_SCALE * array_ops.where(x > 0, x, _SELU_ALPHA * elu(x))


def softplus(features, name=None):
    """``log(1 + exp(features))``, without overflow."""
    x = _float_tensor(features, "softplus", "features")
    return record(np.logaddexp(0, x._value).astype(x.dtype), (x,), lambda dy: (dy * sigmoid(x),))


def softsign(features, name=None):
    """``features / (1 + |features|)``."""
    x = _float_tensor(features, "softsign", "features")
    return x / (1 + math_ops.abs(x))


def silu(features, beta=1.0, name=None):
    """``features * sigmoid(beta * features)`` (also called swish)."""
    x = _float_tensor(features, "silu", "features")
    return x * sigmoid(beta * x)


swish = silu


# ---- softmax ----------------------------------------------------------------------------


def _class_axis(axis, x, op):
    if x.ndim == 0:
        raise ValueError(f"{op}: expected a tensor of rank >= 1; received a scalar.")
    (axis,) = reduction_ops._normalize_axis(-1 if axis is None else axis, x.ndim, op)
    return axis


def _log_softmax_values(logits, axis):
    """``(log_softmax, log_normalizer - max)`` of an array; finite for finite logits of any size."""
    if logits.size == 0:  # no row has a maximum; TF returns the empty result
        return logits.copy(), logits.copy()
    with np.errstate(invalid="ignore"):  # inf - inf: a NaN result, as in TF, without a warning
        shifted = logits - logits.max(axis=axis, keepdims=True)
    log_normalizer = np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    return shifted - log_normalizer, shifted


def softmax(logits, axis=None, name=None):
    """``exp(logits) / sum(exp(logits))`` along ``axis`` (the last by default).

    Example:
        >>> cnnlab.nn.softmax([0.0, 0.0]).numpy()
        array([0.5, 0.5], dtype=float32)
    """
    x = _float_tensor(logits, "softmax", "logits")
    axis = _class_axis(axis, x, "softmax")

    def grad(dy):
        return ((dy - reduce_sum(dy * out, axis=axis, keepdims=True)) * out,)

    out = record(_softmax_values(x._value, axis), (x,), grad)
    return out


def _softmax_values(logits, axis):
    """``softmax`` of an array."""
    if logits.size == 0:  # no row has a maximum; TF returns the empty result
        return logits.copy()
    with np.errstate(invalid="ignore"):  # inf - inf or 0 / 0: a NaN result, as in TF, without a warning
        probabilities = np.exp(logits - logits.max(axis=axis, keepdims=True))
        probabilities /= probabilities.sum(axis=axis, keepdims=True)
    return probabilities


def log_softmax(logits, axis=None, name=None):
    """``logits - log(sum(exp(logits)))`` along ``axis`` (the last by default)."""
    x = _float_tensor(logits, "log_softmax", "logits")
    axis = _class_axis(axis, x, "log_softmax")

    def grad(dy):
        return (dy - math_ops.exp(out) * reduce_sum(dy, axis=axis, keepdims=True),)

    out = record(_log_softmax_values(x._value, axis)[0], (x,), grad)
    return out


# ---- losses -----------------------------------------------------------------------------


def softmax_cross_entropy_with_logits(labels, logits, axis=-1, name=None):
    """``-sum(labels * log_softmax(logits))`` along ``axis``: one loss per example.

    Args:
        labels: a probability distribution per example, the shape and dtype of ``logits``.
        logits: unscaled log-probabilities.
        axis: the class axis.

    Shape:
        the shape of ``logits`` without ``axis``.

    The gradient is ``softmax(logits) - labels`` for the logits (``sum(labels) *
    softmax - labels`` in general, which is the same for distributions) and
    ``-log_softmax(logits)`` for the labels, as in TF.
    """
    op = "softmax_cross_entropy_with_logits"
    logits = _float_tensor(logits, op, "logits")
    labels = as_tensor(labels, op, logits.dtype)
    if labels.shape != logits.shape:
        raise ValueError(
            f"{op}: labels and logits must have the same shape; received labels.shape={tuple(labels.shape)}, "
            f"logits.shape={tuple(logits.shape)}."
        )
    axis = _class_axis(axis, logits, op)
    log_probabilities, _ = _log_softmax_values(logits._value, axis)
    need_labels, need_logits = is_watched(labels), is_watched(logits)

    def grad(dy):
        if not is_recording():  # the same formulas on arrays: nothing will differentiate them
            g = np.expand_dims(dy._value, axis)
            d_labels = Tensor(-g * log_probabilities) if need_labels else None
            d_logits = None
            if need_logits:
                total = labels._value.sum(axis=axis, keepdims=True)
                d_logits = Tensor(g * (_softmax_values(logits._value, axis) * total - labels._value))
            return d_labels, d_logits
        dy = array_ops.expand_dims(dy, axis)
        d_labels = -dy * log_softmax(logits, axis=axis) if need_labels else None
        d_logits = None
        if need_logits:
            d_logits = dy * (softmax(logits, axis=axis) * reduce_sum(labels, axis=axis, keepdims=True) - labels)
        return d_labels, d_logits

    return record(-(labels._value * log_probabilities).sum(axis=axis), (labels, logits), grad)


def sparse_softmax_cross_entropy_with_logits(labels, logits, name=None):
    """``-log_softmax(logits)[label]``: cross-entropy with integer class labels.

    Args:
        labels: int class indices in ``[0, num_classes)``, shape ``logits.shape[:-1]``.
        logits: unscaled log-probabilities, shape ``(..., num_classes)``.

    Example:
        >>> loss = cnnlab.nn.sparse_softmax_cross_entropy_with_logits([0], [[0.0, 0.0]])
        >>> round(float(loss[0]), 4)
        0.6931
    """
    op = "sparse_softmax_cross_entropy_with_logits"
    logits = _float_tensor(logits, op, "logits")
    labels = as_tensor(labels, op)
    if labels._value.dtype.kind not in "iu":
        raise TypeError(f"{op}: labels must be integer class indices; received dtype={labels.dtype.name}.")
    if logits.ndim == 0 or labels.shape != logits.shape[:-1]:
        raise ValueError(
            f"{op}: labels must have the shape of logits without the last (class) axis; received "
            f"labels.shape={tuple(labels.shape)}, logits.shape={tuple(logits.shape)}."
        )
    num_classes = logits.shape[-1]
    index = labels._value
    if index.size and (index.min() < 0 or index.max() >= num_classes):
        bad = index[(index < 0) | (index >= num_classes)][0]
        raise ValueError(f"{op}: labels must be in [0, {num_classes}) (the number of classes); received a label {bad}.")
    log_probabilities, _ = _log_softmax_values(logits._value, -1)
    picked = np.take_along_axis(log_probabilities, index[..., None].astype(np.intp), axis=-1)[..., 0]

    def grad(dy):
        if not is_recording():  # the same formula on arrays: nothing will differentiate it
            one_hot = np.eye(num_classes, dtype=logits.dtype)[index]
            return None, Tensor(dy._value[..., None] * (_softmax_values(logits._value, -1) - one_hot))
        one_hot = array_ops.one_hot(labels, num_classes, dtype=logits.dtype)
        return None, array_ops.expand_dims(dy, -1) * (softmax(logits) - one_hot)

    return record(0 - picked, (labels, logits), grad)  # 0 - p, not -p: no -0.0 for a perfect prediction


def sigmoid_cross_entropy_with_logits(labels=None, logits=None, name=None):
    """Elementwise ``-labels * log(sigmoid(logits)) - (1 - labels) * log(1 - sigmoid(logits))``.

    Computed as ``max(x, 0) - x * z + log(1 + exp(-|x|))``, which never overflows.
    """
    op = "sigmoid_cross_entropy_with_logits"
    if labels is None or logits is None:
        raise ValueError(f"{op}: both labels and logits must be given.")
    logits = _float_tensor(logits, op, "logits")
    labels = as_tensor(labels, op, logits.dtype)
    if labels.shape != logits.shape:
        raise ValueError(
            f"{op}: labels and logits must have the same shape; received labels.shape={tuple(labels.shape)}, "
            f"logits.shape={tuple(logits.shape)}."
        )
    x, z = logits._value, labels._value
    value = np.maximum(x, 0) - x * z + np.log1p(np.exp(-np.abs(x)))
    need_labels = is_watched(labels)

    def grad(dy):
        return (-dy * logits if need_labels else None), dy * (sigmoid(logits) - labels)

    return record(value, (labels, logits), grad)


def l2_loss(t, name=None):
    """``sum(t ** 2) / 2``, a scalar (weight decay's penalty)."""
    x = _float_tensor(t, "l2_loss", "t")
    return record(np.asarray(np.sum(np.square(x._value)) / 2, dtype=x.dtype), (x,), lambda dy: (dy * x,))


# ---- layers' building blocks ---------------------------------------------------------------


def bias_add(value, bias, data_format=None, name=None):
    """``value + bias`` with a 1-D ``bias`` added along the last (channels) axis.

    Shape:
        value: (..., C); bias: (C,); result: the shape of ``value``.
    """
    op = "bias_add"
    if data_format not in (None, "NHWC", "NWC", "NDHWC", "N...C"):
        raise ValueError(f"{op}: only channels-last data_format (NHWC / N...C) is supported; received data_format={data_format!r}.")
    x = as_tensor(value, op)
    b = as_tensor(bias, op, x.dtype)
    if x.ndim < 2:
        raise ValueError(f"{op}: value must have rank >= 2; received value.shape={tuple(x.shape)}.")
    if b.ndim != 1 or b.shape[0] != x.shape[-1]:
        raise ValueError(
            f"{op}: bias must be 1-D with one entry per channel ({x.shape[-1]}, the last axis of value); "
            f"received bias.shape={tuple(b.shape)}."
        )
    batch_axes = tuple(range(x.ndim - 1))
    total = broadcast.apply(np.add, x._value, b._value)
    return record(total, (x, b), lambda dy: (dy, reduce_sum(dy, axis=batch_axes)))


def dropout(x, rate, noise_shape=None, seed=None, name=None):
    """Zero each element with probability ``rate`` and scale the rest by ``1 / (1 - rate)``.

    Args:
        x: a float tensor.
        rate: the fraction dropped, in [0, 1).
        noise_shape: the shape of the random keep mask, broadcast to ``x`` (default ``x.shape``).
        seed: optional op seed (see ``cnnlab.random``).

    The expected value of the result is ``x`` (inverted dropout, as in TF).
    """
    x = _float_tensor(x, "dropout")
    rate = float(rate._value) if isinstance(rate, Tensor) else rate
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
        raise ValueError(f"dropout: rate must be a number in [0, 1); received rate={rate!r}.")
    if rate == 0:
        return x
    scale = _keep_scale(tuple(x.shape), x._value.dtype, rate, noise_shape, seed)
    return record(x._value * scale, (x,), lambda dy: (_gate(dy, scale),))


def _keep_scale(shape, dtype, rate, noise_shape, seed):
    """Dropout's random factor for values of ``shape``: 0 where dropped, ``1 / (1 - rate)`` where kept, an
    array of ``noise_shape`` (default ``shape``) and ``dtype``, drawn from the generator ``seed`` picks.

    The one place the mask is drawn, so that a Dropout run inside a fused op
    (``fused_ops``) draws the same values as ``dropout``.
    """
    mask_shape = shape if noise_shape is None else shape_argument(noise_shape, "dropout", "noise_shape")
    try:
        np.broadcast_shapes(mask_shape, shape)
    except ValueError:
        raise ValueError(f"dropout: noise_shape={list(mask_shape)} does not broadcast to x.shape={shape}.") from None
    draw = cnnlab_random.generator_for(seed, "dropout").random(mask_shape, dtype=np.float32)
    keep = draw >= rate
    # The flags times the factor in the result's dtype: 1 / (1 - rate) where kept, 0 where dropped.
    return np.multiply(keep, dtype.type(1 / (1 - rate)), dtype=dtype, out=draw if dtype == draw.dtype else None)


def moments(x, axes, shift=None, keepdims=False, name=None):
    """``(mean, variance)`` of ``x`` over ``axes`` (batch normalization's statistics)."""
    x = _float_tensor(x, "moments")
    mean = reduction_ops.reduce_mean(x, axis=axes, keepdims=True)
    # As TF: the variance is taken around a constant mean (its derivative there is zero anyway).
    variance = reduction_ops.reduce_mean(math_ops.squared_difference(x, array_ops.stop_gradient(mean)), axis=axes, keepdims=True)
    if not keepdims:
        mean, variance = array_ops.squeeze(mean, axes), array_ops.squeeze(variance, axes)
    return mean, variance


def batch_normalization(x, mean, variance, offset, scale, variance_epsilon, name=None):
    """``scale * (x - mean) / sqrt(variance + variance_epsilon) + offset``; offset/scale may be None."""
    x = _float_tensor(x, "batch_normalization")
    if not isinstance(variance_epsilon, (int, float)) or variance_epsilon < 0:
        raise ValueError(f"batch_normalization: variance_epsilon must be a number >= 0; received {variance_epsilon!r}.")
    inverse = math_ops.rsqrt(math_ops.add(variance, variance_epsilon))
    if scale is not None:
        inverse = inverse * scale
    shift = -mean * inverse if offset is None else offset - mean * inverse
    return x * inverse + shift
