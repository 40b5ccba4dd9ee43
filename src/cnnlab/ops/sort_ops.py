"""Sorting and ranking: ``sort``, ``argsort``, ``top_k``, ``in_top_k``, ``unique``, ``searchsorted``.

Ties keep their order: the element with the lower index comes first, in either
direction (as TF's ``top_k`` and ``argsort`` do).  Sorted values are a
permutation of the input, so their gradient is ``dy`` put back where each value
came from (``take_along_axis`` and its adjoint, ``_put_along_axis``).
"""

import collections

import numpy as np

from .. import dtypes
from ..autodiff import record
from ..tensor import Tensor, as_tensor, is_integral_number
from .reduction_ops import _normalize_axis

TopKV2 = collections.namedtuple("TopKV2", ["values", "indices"])
Unique = collections.namedtuple("Unique", ["y", "idx"])
UniqueWithCounts = collections.namedtuple("UniqueWithCounts", ["y", "idx", "count"])


def _index_array(indices, op, argument="indices"):
    index = as_tensor(indices, op)._value
    if index.dtype.kind not in "iu":
        raise TypeError(f"{op}: {argument} must be integers; received dtype={index.dtype.name}.")
    return index


def take_along_axis(arr, indices, axis, name=None):
    """``arr``'s values at ``indices`` along ``axis`` (``np.take_along_axis``); differentiable.

    ``indices`` has ``arr``'s rank; its other axes broadcast against ``arr``'s.
    Negative indices count from the end of the axis.
    """
    x = as_tensor(arr, "take_along_axis")
    index = _index_array(indices, "take_along_axis")
    if index.ndim != x.ndim:
        raise ValueError(
            f"take_along_axis: indices must have the rank of arr ({x.ndim}); received indices.shape={index.shape}."
        )
    (axis,) = _normalize_axis(axis, x.ndim, "take_along_axis")
    size = x.shape[axis]
    if index.size and (index.min() < -size or index.max() >= size):
        raise ValueError(
            f"take_along_axis: indices must be in [{-size}, {size}) for axis {axis} of arr.shape={tuple(x.shape)}; "
            f"received values in [{index.min()}, {index.max()}]."
        )
    index = np.where(index < 0, index + size, index)
    try:
        value = np.take_along_axis(x._value, index, axis)
    except ValueError:
        raise ValueError(
            f"take_along_axis: the axes of indices (shape {index.shape}) other than {axis} must broadcast against "
            f"arr's (shape {tuple(x.shape)})."
        ) from None
    source_shape = x.shape
    return record(value, (x,), lambda dy: (_put_along_axis(dy, index, axis, source_shape),))


def _put_along_axis(dy, index, axis, shape):
    """The adjoint of ``take_along_axis``: ``dy`` added into zeros of ``shape`` at ``index`` along ``axis``."""
    index = np.broadcast_to(index, dy.shape)
    grids = np.ogrid[tuple(slice(n) for n in dy.shape)]
    # Where ``arr`` had size 1 on an axis that ``indices`` broadcast, every value came from position 0.
    position = tuple(
        index if d == axis else (grid if shape[d] != 1 else np.zeros_like(grid)) for d, grid in enumerate(grids)
    )
    out = np.zeros(shape, dtype=dy.dtype)
    np.add.at(out, position, dy._value)
    return record(out, (dy,), lambda g: (take_along_axis(g, index, axis),))


def _direction(direction, op):
    if not isinstance(direction, str) or direction.upper() not in ("ASCENDING", "DESCENDING"):
        raise ValueError(f"{op}: direction must be 'ASCENDING' or 'DESCENDING'; received direction={direction!r}.")
    return direction.upper()


def _stable_order(value, axis, descending):
    """The permutation that sorts ``value`` along ``axis``, ties in index order."""
    if descending:
        keys = -value.astype(np.int64) if value.dtype.kind in "ub" else -value
    else:
        keys = value
    return np.argsort(keys, axis=axis, kind="stable")


def _sortable(values, axis, op):
    x = as_tensor(values, op)
    if x._value.dtype.kind not in "iuf":
        raise TypeError(f"{op}: expected a real numeric tensor; received dtype={x.dtype.name}.")
    if x.ndim == 0:
        raise ValueError(f"{op}: expected a tensor of rank >= 1; received a scalar.")
    if not is_integral_number(axis):
        raise TypeError(f"{op}: axis must be an integer; received axis={axis!r}.")
    (axis,) = _normalize_axis(axis, x.ndim, op)
    return x, axis


def argsort(values, axis=-1, direction="ASCENDING", stable=False, name=None):
    """The indices that sort ``values`` along ``axis`` (int32); equal values keep their order.

    Example:
        >>> cnnlab.argsort([3.0, 1.0, 2.0]).numpy()
        array([1, 2, 0], dtype=int32)
    """
    x, axis = _sortable(values, axis, "argsort")
    descending = _direction(direction, "argsort") == "DESCENDING"
    return Tensor(_stable_order(x._value, axis, descending).astype(np.int32))


def sort(values, axis=-1, direction="ASCENDING", name=None):
    """``values`` sorted along ``axis``; differentiable (the gradient goes back to each value's place).

    Example:
        >>> cnnlab.sort([3, 1, 2], direction="DESCENDING").numpy()
        array([3, 2, 1], dtype=int32)
    """
    x, axis = _sortable(values, axis, "sort")
    descending = _direction(direction, "sort") == "DESCENDING"
    return take_along_axis(x, _stable_order(x._value, axis, descending), axis)


def top_k(input, k=1, sorted=True, name=None):  # noqa: A002 - TF's argument names
    """The ``k`` largest values along the last axis and their indices (int32), largest first.

    Returns:
        ``TopKV2(values, indices)``; equal values are taken in index order.

    Example:
        >>> cnnlab.math.top_k([1.0, 5.0, 3.0, 5.0], k=2).indices.numpy()
        array([1, 3], dtype=int32)
    """
    x, _ = _sortable(input, -1, "top_k")
    k = int(k._value) if isinstance(k, Tensor) else k
    if not is_integral_number(k) or not 0 <= k <= x.shape[-1]:
        raise ValueError(f"top_k: k must be an integer in [0, {x.shape[-1]}] (the last axis); received k={k!r}.")
    order = _stable_order(x._value, -1, descending=True)[..., :k]
    return TopKV2(take_along_axis(x, order, -1), Tensor(order.astype(np.int32)))


def in_top_k(targets, predictions, k, name=None):
    """Whether each row's target class is among its ``k`` highest predictions (bool, one per row).

    As TF: classes tied with the k-th value all count as in the top k, and a
    non-finite prediction for the target is never in it.
    """
    scores = as_tensor(predictions, "in_top_k")._value
    target = _index_array(targets, "in_top_k", "targets")
    if scores.ndim != 2 or target.shape != scores.shape[:1]:
        raise ValueError(
            f"in_top_k: predictions must be 2-D (batch, classes) and targets 1-D (batch,); received "
            f"predictions.shape={scores.shape}, targets.shape={target.shape}."
        )
    if not is_integral_number(k):
        raise TypeError(f"in_top_k: k must be an integer; received k={k!r}.")
    inside = (target >= 0) & (target < scores.shape[1])
    picked = scores[np.arange(len(target)), np.where(inside, target, 0)]
    higher = np.sum(scores > picked[:, None], axis=1)
    return Tensor(inside & np.isfinite(picked) & (higher < k))


def unique(x, out_idx=dtypes.int32, name=None):
    """The distinct values of a 1-D ``x`` in order of first appearance, and each element's index into them.

    Example:
        >>> y, idx = cnnlab.unique([1, 1, 2, 4, 4, 4, 7, 8, 8])
        >>> y.numpy(), idx.numpy()
        (array([1, 2, 4, 7, 8], dtype=int32), array([0, 0, 1, 2, 2, 2, 3, 4, 4], dtype=int32))
    """
    y, idx, _ = _unique(x, out_idx, "unique")
    return Unique(y, idx)


def unique_with_counts(x, out_idx=dtypes.int32, name=None):
    """``unique`` and how many times each distinct value appears."""
    return UniqueWithCounts(*_unique(x, out_idx, "unique_with_counts"))


def _unique(x, out_idx, op):
    value = as_tensor(x, op)._value
    if value.ndim != 1:
        raise ValueError(f"{op}: x must be 1-D; received shape={value.shape}.")
    out_idx = dtypes.as_dtype(out_idx)
    if out_idx not in (dtypes.int32, dtypes.int64):
        raise TypeError(f"{op}: out_idx must be int32 or int64; received out_idx={out_idx.name}.")
    distinct, first, inverse, counts = np.unique(value, return_index=True, return_inverse=True, return_counts=True)
    order = np.argsort(first, kind="stable")  # distinct values in order of first appearance
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return (
        Tensor(distinct[order]),
        Tensor(rank[inverse.reshape(-1)].astype(out_idx)),
        Tensor(counts[order].astype(out_idx)),
    )


def searchsorted(sorted_sequence, values, side="left", out_type=dtypes.int32, name=None):
    """Where each of ``values`` would go in ``sorted_sequence`` (searched along the last axis, row by row).

    Example:
        >>> cnnlab.searchsorted([[0, 3, 9]], [[2, 9]], side="right").numpy()
        array([[1, 3]], dtype=int32)
    """
    sequence = as_tensor(sorted_sequence, "searchsorted")._value
    queries = as_tensor(values, "searchsorted", sequence.dtype)._value
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right'; received side={side!r}.")
    if sequence.ndim == 0 or queries.ndim != sequence.ndim or queries.shape[:-1] != sequence.shape[:-1]:
        raise ValueError(
            "searchsorted: sorted_sequence and values must have the same leading axes (the last is searched); "
            f"received shapes {sequence.shape} and {queries.shape}."
        )
    rows = sequence.reshape(-1, sequence.shape[-1])
    asked = queries.reshape(-1, queries.shape[-1])
    found = np.stack([np.searchsorted(row, q, side=side) for row, q in zip(rows, asked)]) if len(rows) else asked
    return Tensor(found.reshape(queries.shape).astype(dtypes.as_dtype(out_type)))
