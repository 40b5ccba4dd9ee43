"""Running sums, products and log-sum-exps along an axis (``tf.math.cumsum`` / ``cumprod`` /
``cumulative_logsumexp``), with TF's ``exclusive`` and ``reverse`` flags.

``exclusive`` leaves each element out of its own total (the first total is the
identity: 0 for a sum, 1 for a product); ``reverse`` runs from the end.  The
gradient of a running sum is the running sum of ``dy`` in the other direction.
"""

import numpy as np

from ..autodiff import record
from ..tensor import Tensor, as_tensor
from . import math_ops
from .reduction_ops import _normalize_axis


def _scan_input(x, axis, op, kinds="iufc"):
    x = as_tensor(x, op)
    if x._value.dtype.kind not in kinds:
        raise TypeError(f"{op}: expected a numeric tensor; received dtype={x.dtype.name}.")
    if x.ndim == 0:
        raise ValueError(f"{op}: expected a tensor of rank >= 1; received a scalar.")
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{op}: axis must be an integer; received axis={axis!r}.")
    (axis,) = _normalize_axis(int(axis), x.ndim, op)
    return x, axis


def _scan(numpy_scan, identity, value, axis, exclusive, reverse):
    """``numpy_scan`` (np.cumsum / np.cumprod) of ``value`` along ``axis`` with TF's flags."""
    if reverse:
        value = np.flip(value, axis)
    out = numpy_scan(value, axis=axis, dtype=value.dtype)
    if exclusive:
        first = np.full_like(np.take(out, [0], axis=axis), identity)
        out = np.concatenate([first, np.take(out, np.arange(out.shape[axis] - 1), axis=axis)], axis=axis)
    return np.ascontiguousarray(np.flip(out, axis)) if reverse else out


def cumsum(x, axis=0, exclusive=False, reverse=False, name=None):
    """The running sum of ``x`` along ``axis``.

    Example:
        >>> cnnlab.cumsum([1, 2, 3]).numpy()
        array([1, 3, 6], dtype=int32)
        >>> cnnlab.cumsum([1, 2, 3], exclusive=True, reverse=True).numpy()
        array([5, 3, 0], dtype=int32)
    """
    x, axis = _scan_input(x, axis, "cumsum")
    value = _scan(np.cumsum, 0, x._value, axis, exclusive, reverse)
    return record(value, (x,), lambda dy: (cumsum(dy, axis, exclusive, not reverse),))


def cumprod(x, axis=0, exclusive=False, reverse=False, name=None):
    """The running product of ``x`` along ``axis``.

    The gradient is TF's: ``cumsum(out * dy, reversed) / x``, so it is not finite
    where ``x`` holds a zero.
    """
    x, axis = _scan_input(x, axis, "cumprod")

    def grad(dy):
        return (cumsum(out * dy, axis, exclusive, not reverse) / x,)

    out = record(_scan(np.cumprod, 1, x._value, axis, exclusive, reverse), (x,), grad)
    return out


def cumulative_logsumexp(x, axis=0, exclusive=False, reverse=False, name=None):
    """``log(cumsum(exp(x)))`` along ``axis``, computed without overflow.

    Each running total is shifted by the largest value along the axis (a constant,
    so the gradient is unchanged); an exclusive first total is ``-inf``.
    """
    x, axis = _scan_input(x, axis, "cumulative_logsumexp", "f")
    peak = np.max(x._value, axis=axis, keepdims=True) if x._value.size else np.zeros((), x.dtype)
    peak = Tensor(np.where(np.isfinite(peak), peak, 0).astype(x.dtype))
    return math_ops.log(cumsum(math_ops.exp(x - peak), axis, exclusive, reverse)) + peak
