"""Reductions over axes (sum, mean, max, min, any, all, logsumexp, variance) and argmax / argmin.

Every reduction takes TF's ``axis`` (None for all axes, an int, or a list) and
``keepdims``.  Gradients broadcast ``dy`` back over the reduced axes.
"""

import math

import numpy as np

from .. import dtypes
from ..autodiff import record
from ..tensor import Tensor, as_tensor
from . import array_ops, math_ops


def _normalize_axis(axis, ndim, op):
    """``axis`` (None, int or sequence) as a sorted tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, Tensor):
        axis = axis._value.tolist()
    axes = [axis] if type(axis) is int or np.ndim(axis) == 0 else list(axis)
    normalized = []
    for a in axes:
        if isinstance(a, (bool, np.bool_)) or int(a) != a:
            raise TypeError(f"{op}: axis must be an integer or a list of integers; received axis={axis!r}.")
        a = int(a)
        if not -ndim <= a < ndim:
            raise ValueError(f"{op}: axis {a} is out of range for a tensor of rank {ndim} (valid: [{-ndim}, {ndim})).")
        normalized.append(a % ndim)
    return tuple(sorted(set(normalized)))


def _keep_shape(shape, axes):
    """``shape`` with the reduced ``axes`` set to 1 (the keepdims shape)."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _reduction_input(input_tensor, axis, op, kinds="iuf"):
    x = as_tensor(input_tensor, op)
    if x._value.dtype.kind not in kinds:
        expected = "a bool tensor" if kinds == "b" else "a numeric tensor"
        raise TypeError(f"{op}: expected {expected}; received dtype={x.dtype.name}.")
    return x, _normalize_axis(axis, x.ndim, op)


def _broadcast_back(dy, x, axes):
    """``dy`` (the reduced shape, with or without keepdims) broadcast to ``x``'s shape."""
    return array_ops.broadcast_to(array_ops.reshape(dy, _keep_shape(x.shape, axes)), x.shape)


def reduce_sum(input_tensor, axis=None, keepdims=False, name=None):
    """Sum over ``axis`` (all axes when None).

    Example:
        >>> cnnlab.reduce_sum([[1, 2], [3, 4]], axis=0).numpy()
        array([4, 6], dtype=int32)
    """
    x, axes = _reduction_input(input_tensor, axis, "reduce_sum", "iufc")
    value = _sum(x._value, axes, keepdims)
    return record(value, (x,), lambda dy: (_broadcast_back(dy, x, axes),))


def _sum(array, axes, keepdims):
    """``np.sum`` over ``axes``, in the array's own dtype (NumPy would widen int32 to int64; TF does not).

    Summing every axis but a short last one (a bias gradient: (N, H, W, C) -> (C,)),
    NumPy walks that short axis once per pixel.  Summing first over rows that hold
    the whole next-to-last axis (W * C values each) and then over its W vectors keeps
    NumPy in long contiguous loops.
    """
    if len(axes) == array.ndim - 1 >= 2 and axes == tuple(range(array.ndim - 1)) and array.flags.c_contiguous:
        *_, width, channels = array.shape
        rows = array.reshape(-1, width * channels).sum(axis=0, dtype=array.dtype)
        total = rows.reshape(width, channels).sum(axis=0, dtype=array.dtype)
        return total.reshape((1,) * len(axes) + (channels,)) if keepdims else total
    return np.sum(array, axis=axes, keepdims=keepdims, dtype=array.dtype)


def reduce_mean(input_tensor, axis=None, keepdims=False, name=None):
    """Mean over ``axis``; integer tensors give the truncated integer mean, as in TF.

    The mean of nothing (an empty reduced axis) is NaN for floats and 0 for
    integers, as in TF.

    Example:
        >>> float(cnnlab.reduce_mean(np.zeros(0, np.float32)))
        nan
    """
    x, axes = _reduction_input(input_tensor, axis, "reduce_mean", "iufc")
    count = math.prod(x._value.shape[a] for a in axes)
    if x._value.dtype.kind in "fc":
        with np.errstate(invalid="ignore"):  # 0 / 0 for an empty axis: NaN, without a warning
            value = _sum(x._value, axes, keepdims) / x._value.dtype.type(count)
    else:
        total = np.sum(x._value, axis=axes, keepdims=keepdims, dtype=np.int64)
        value = np.trunc(total / max(count, 1)).astype(x._value.dtype)
    # With an empty axis the gradient has no element: any divisor will do.
    return record(value, (x,), lambda dy: (_broadcast_back(dy, x, axes) / max(count, 1),))


def _extremum(numpy_fn, op):
    def reduce(input_tensor, axis=None, keepdims=False, name=None):
        x, axes = _reduction_input(input_tensor, axis, op)
        # Over an empty axis, TF gives the reduction's identity: -inf for the maximum of floats
        # (+inf for the minimum), the dtype's lowest (highest) value for integers.
        empty = any(x._value.shape[a] == 0 for a in axes)
        start = {"initial": _extremum_identity(x._value.dtype, op)} if empty else {}

        def grad(dy):
            # As TF: the gradient is shared equally between the elements that tie for the extremum.
            hits = math_ops.cast(math_ops.equal(x, array_ops.reshape(out, _keep_shape(x.shape, axes))), x.dtype)
            share = hits / reduce_sum(hits, axis=axes, keepdims=True)
            return (share * _broadcast_back(dy, x, axes),)

        out = record(numpy_fn(x._value, axis=axes, keepdims=keepdims, **start), (x,), grad)
        return out

    reduce.__name__ = op
    reduce.__doc__ = (
        f"The {op[7:]}imum over ``axis``; ties share the gradient equally (as TF).  Over an empty axis "
        f"the result is {'-inf' if op == 'reduce_max' else 'inf'} for floats and the dtype's "
        f"{'lowest' if op == 'reduce_max' else 'highest'} value for integers, as in TF."
    )
    return reduce


def _extremum_identity(dtype, op):
    """The value TF's max (min) reduction starts from: nothing is below (above) it."""
    if dtype.kind == "f":
        return -np.inf if op == "reduce_max" else np.inf
    info = np.iinfo(dtype)
    return info.min if op == "reduce_max" else info.max


reduce_max = _extremum(np.max, "reduce_max")
reduce_min = _extremum(np.min, "reduce_min")


def reduce_prod(input_tensor, axis=None, keepdims=False, name=None):
    """The product over ``axis``.

    The gradient of each element is the product of the others: ``out / x`` where
    no element is zero, and otherwise the products of the others taken directly
    (which costs ``n`` times the memory of the input, ``n`` the reduced size).
    """
    x, axes = _reduction_input(input_tensor, axis, "reduce_prod", "iufc")

    def grad(dy):
        if np.all(x._value != 0):
            return (_broadcast_back(dy, x, axes) * _broadcast_back(out, x, axes) / x,)
        return (_broadcast_back(dy, x, axes) * _product_of_others(x, axes),)

    out = record(np.prod(x._value, axis=axes, keepdims=keepdims, dtype=x._value.dtype), (x,), grad)
    return out


def _product_of_others(x, axes):
    """For every element of ``x``, the product of the other elements in its reduction group."""
    kept = [i for i in range(x.ndim) if i not in axes]
    grouped = array_ops.transpose(x, kept + list(axes))
    group_shape = grouped.shape
    n = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
    rows = array_ops.reshape(grouped, [-1, 1, n])  # (groups, 1, n)
    # Row i of each (n, n) block is the group with element i replaced by 1.
    self_mask = Tensor(np.eye(n, dtype=bool))
    others = reduce_prod(array_ops.where(self_mask, array_ops.ones_like(rows), rows), axis=-1)  # (groups, n)
    return array_ops.transpose(array_ops.reshape(others, group_shape), np.argsort(kept + list(axes)).tolist())


def _logical_reduction(numpy_fn, op):
    def reduce(input_tensor, axis=None, keepdims=False, name=None):
        x, axes = _reduction_input(input_tensor, axis, op, kinds="b")
        return Tensor(np.asarray(numpy_fn(x._value, axis=axes, keepdims=keepdims)))

    reduce.__name__ = op
    reduce.__doc__ = f"Logical {op[7:]} over ``axis`` of a bool tensor."
    return reduce


reduce_any = _logical_reduction(np.any, "reduce_any")
reduce_all = _logical_reduction(np.all, "reduce_all")


def reduce_logsumexp(input_tensor, axis=None, keepdims=False, name=None):
    """``log(sum(exp(x)))`` over ``axis``, computed without overflow (the max is subtracted first)."""
    x, axes = _reduction_input(input_tensor, axis, "reduce_logsumexp", "f")
    peak = np.max(x._value, axis=axes, keepdims=True) if x._value.size else np.zeros(_keep_shape(x.shape, axes), x.dtype)
    peak = Tensor(np.where(np.isfinite(peak), peak, 0).astype(x.dtype))  # a constant: the result does not depend on it
    total = math_ops.log(reduce_sum(math_ops.exp(x - peak), axis=axes, keepdims=True)) + peak
    return total if keepdims else array_ops.reshape(total, [n for i, n in enumerate(x.shape) if i not in axes])


def reduce_variance(input_tensor, axis=None, keepdims=False, name=None):
    """The (biased) variance over ``axis``: the mean of squared deviations from the mean."""
    x, axes = _reduction_input(input_tensor, axis, "reduce_variance", "f")
    mean = reduce_mean(x, axis=axes, keepdims=True)
    return reduce_mean(math_ops.squared_difference(x, mean), axis=axes, keepdims=keepdims)


def reduce_std(input_tensor, axis=None, keepdims=False, name=None):
    """The (biased) standard deviation over ``axis``."""
    return math_ops.sqrt(reduce_variance(input_tensor, axis=axis, keepdims=keepdims))


def _arg_extremum(numpy_fn, op):
    def arg(input, axis=None, output_type=dtypes.int64, name=None):  # noqa: A002 - TF's argument name
        x = as_tensor(input, op)
        if x.ndim == 0:
            raise ValueError(f"{op}: expected a tensor of rank >= 1; received a scalar.")
        (axis,) = _normalize_axis(0 if axis is None else axis, x.ndim, op)
        if x._value.shape[axis] == 0:
            raise ValueError(f"{op}: cannot take the {op[3:]} over an empty axis; received shape={tuple(x.shape)}.")
        output_type = dtypes.as_dtype(output_type)
        if output_type not in (dtypes.int32, dtypes.int64):
            raise TypeError(f"{op}: output_type must be int32 or int64; received output_type={output_type.name}.")
        return Tensor(numpy_fn(x._value, axis=axis).astype(output_type))

    arg.__name__ = op
    arg.__doc__ = (
        f"Index of the {op[3:]}imum along ``axis`` (axis 0 when None, as in TF); the first one on ties. "
        "Not differentiable; int64 by default."
    )
    return arg


argmax = _arg_extremum(np.argmax, "argmax")
argmin = _arg_extremum(np.argmin, "argmin")


def count_nonzero(input, axis=None, keepdims=False, dtype=dtypes.int64, name=None):  # noqa: A002 - TF's argument name
    """The number of non-zero (or True) elements over ``axis``; int64 by default.

    Example:
        >>> cnnlab.math.count_nonzero([[0, 1], [2, 0]], axis=1).numpy()
        array([1, 1])
    """
    x, axes = _reduction_input(input, axis, "count_nonzero", "biufc")
    counts = np.count_nonzero(x._value, axis=axes, keepdims=keepdims)
    return Tensor(np.asarray(counts, dtype=dtypes.as_dtype(dtype)))


def reduce_euclidean_norm(input_tensor, axis=None, keepdims=False, name=None):
    """``sqrt(sum(x ** 2))`` over ``axis``; integer tensors give the truncated integer norm, as in TF."""
    x, axes = _reduction_input(input_tensor, axis, "reduce_euclidean_norm", "iufc")
    if x._value.dtype.kind in "iu":
        total = np.sum(np.square(x._value.astype(np.float64)), axis=axes, keepdims=keepdims)
        return Tensor(np.trunc(np.sqrt(total)).astype(x.dtype))
    return math_ops.sqrt(reduce_sum(math_ops.square(x), axis=axes, keepdims=keepdims))
