"""Selection and scatter by index: ``gather_nd``, ``boolean_mask``, ``slice``, ``scatter_nd`` and
``tensor_scatter_nd_update`` / ``_add`` / ``_sub``.

``gather_nd`` reads ``params`` at index tuples; ``scatter_nd`` writes into zeros at
the same tuples.  Each is the other's adjoint, so each one's gradient is the other.
"""

import math

import numpy as np

from ..autodiff import record
from ..tensor import Tensor, as_tensor, is_integral_number, shape_argument
from . import array_ops
from .array_ops import getitem


def _nd_indices(indices, params_shape, op):
    """``indices`` (..., depth) as an int array whose index tuples are within ``params_shape``."""
    index = as_tensor(indices, op)._value
    if index.dtype.kind not in "iu":
        raise TypeError(f"{op}: indices must be integers; received dtype={index.dtype.name}.")
    if index.ndim == 0 or index.shape[-1] > len(params_shape):
        raise ValueError(
            f"{op}: indices must have a last axis of at most {len(params_shape)} (the rank indexed into); "
            f"received indices.shape={index.shape}."
        )
    depth = index.shape[-1]
    limits = np.array(params_shape[:depth])
    if index.size and ((index < 0).any() or (index >= limits).any()):
        bad = index.reshape(-1, depth)[((index < 0) | (index >= limits)).reshape(-1, depth).any(axis=1)][0]
        raise ValueError(f"{op}: index {bad.tolist()} is out of bounds for shape {tuple(params_shape)}.")
    return index


def _as_key(index):
    """The NumPy indexing key for index tuples (..., depth): one array per indexed axis."""
    return tuple(index[..., j] for j in range(index.shape[-1]))


def gather_nd(params, indices, batch_dims=0, name=None):
    """Slices of ``params`` at the index tuples in the last axis of ``indices``.

    Shape:
        ``indices.shape[:-1] + params.shape[indices.shape[-1]:]`` (after the
        ``batch_dims`` leading axes, which ``params`` and ``indices`` share).

    Example:
        >>> cnnlab.gather_nd([[1, 2], [3, 4]], [[1, 0], [0, 1]]).numpy()
        array([3, 2], dtype=int32)
    """
    x = as_tensor(params, "gather_nd")
    if not is_integral_number(batch_dims) or batch_dims < 0:
        raise ValueError(f"gather_nd: batch_dims must be a non-negative integer; received batch_dims={batch_dims!r}.")
    if batch_dims:
        index = as_tensor(indices, "gather_nd")._value
        lead = x.shape[:batch_dims]
        if index.shape[:batch_dims] != lead:
            raise ValueError(
                f"gather_nd: params and indices must share their first {batch_dims} axes (batch_dims); received "
                f"params.shape={tuple(x.shape)}, indices.shape={index.shape}."
            )
        flat_params = array_ops.reshape(x, (-1, *x.shape[batch_dims:]))
        flat_index = index.reshape(-1, *index.shape[batch_dims:])
        parts = [gather_nd(flat_params[b], flat_index[b]) for b in range(math.prod(lead))]
        stacked = array_ops.stack(parts) if parts else Tensor(np.zeros((0,), x.dtype))
        return array_ops.reshape(stacked, (*lead, *stacked.shape[1:]))
    index = _nd_indices(indices, x.shape, "gather_nd")
    return getitem(x, _as_key(index))


def boolean_mask(tensor, mask, axis=None, name=None):
    """The elements (or slices) of ``tensor`` where ``mask`` is True, flattened into one axis.

    Args:
        tensor: any tensor.
        mask: a bool tensor whose shape equals ``tensor.shape[axis:axis + mask.ndim]``.
        axis: where the masked axes start (0 by default).

    Shape:
        ``tensor.shape[:axis] + (number of True,) + tensor.shape[axis + mask.ndim:]``.

    Example:
        >>> cnnlab.boolean_mask([1, 2, 3, 4], [True, False, True, False]).numpy()
        array([1, 3], dtype=int32)
    """
    x = as_tensor(tensor, "boolean_mask")
    m = as_tensor(mask, "boolean_mask")._value
    if m.dtype != np.bool_:
        raise TypeError(f"boolean_mask: mask must be a bool tensor; received dtype={m.dtype.name}.")
    axis = 0 if axis is None else axis
    if not is_integral_number(axis) or not -x.ndim <= axis < max(x.ndim, 1):
        raise ValueError(f"boolean_mask: axis must be an integer in [{-x.ndim}, {x.ndim}); received axis={axis!r}.")
    axis %= max(x.ndim, 1)
    if m.ndim == 0 or x.shape[axis : axis + m.ndim] != m.shape:
        raise ValueError(
            f"boolean_mask: mask.shape={m.shape} must equal the shape of tensor's axes {axis}..{axis + m.ndim - 1} "
            f"(tensor.shape={tuple(x.shape)})."
        )
    flat = array_ops.reshape(x, (*x.shape[:axis], m.size, *x.shape[axis + m.ndim :]))
    return array_ops.gather(flat, np.flatnonzero(m), axis=axis)


def slice(input_, begin, size, name=None):  # noqa: A001 - TF's name
    """The block of ``input_`` starting at ``begin`` with ``size`` (-1: to the end) on each axis.

    Example:
        >>> cnnlab.slice([[1, 2, 3], [4, 5, 6]], [0, 1], [2, -1]).numpy()
        array([[2, 3],
               [5, 6]], dtype=int32)
    """
    x = as_tensor(input_, "slice")
    starts = shape_argument(begin, "slice", "begin")
    sizes = shape_argument(size, "slice", "size", allow_unknown=True)
    if len(starts) != x.ndim or len(sizes) != x.ndim:
        raise ValueError(
            f"slice: begin and size must have one entry per axis ({x.ndim}); "
            f"received begin={list(starts)}, size={list(sizes)}."
        )
    key = []
    for axis, (start, length, n) in enumerate(zip(starts, sizes, x.shape)):
        stop = n if length == -1 else start + length
        if length < -1 or stop > n or start > n:
            raise ValueError(
                f"slice: axis {axis} has size {n}; begin={start} with size={length} does not fit inside it."
            )
        key.append(np.s_[start:stop])
    return getitem(x, tuple(key))


def _scatter_arguments(indices, updates, shape, op, dtype=None):
    """The index tuples and the updates (converted to ``dtype``, the tensor's, when given as values)."""
    index = _nd_indices(indices, shape, op)
    u = as_tensor(updates, op, dtype)
    expected = (*index.shape[:-1], *shape[index.shape[-1] :])
    if tuple(u.shape) != expected:
        raise ValueError(
            f"{op}: updates must have shape indices.shape[:-1] + shape[indices.shape[-1]:] = {expected}; "
            f"received updates.shape={tuple(u.shape)}."
        )
    return index, u


def scatter_nd(indices, updates, shape, name=None):
    """Zeros of ``shape`` with ``updates`` added at the index tuples of ``indices`` (repeats are summed).

    Example:
        >>> cnnlab.scatter_nd([[1], [3]], [9, 10], [5]).numpy()
        array([ 0,  9,  0, 10,  0], dtype=int32)
    """
    shape = shape_argument(shape, "scatter_nd")
    index, u = _scatter_arguments(indices, updates, shape, "scatter_nd")
    out = np.zeros(shape, dtype=u.dtype)
    np.add.at(out, _as_key(index), u._value)
    return record(out, (u,), lambda dy: (gather_nd(dy, index),))


def tensor_scatter_nd_update(tensor, indices, updates, name=None):
    """A copy of ``tensor`` with the slices at ``indices`` replaced by ``updates``.

    Example:
        >>> cnnlab.tensor_scatter_nd_update([1, 2, 3], [[0], [2]], [7, 9]).numpy()
        array([7, 2, 9], dtype=int32)
    """
    x = as_tensor(tensor, "tensor_scatter_nd_update")
    index, u = _scatter_arguments(indices, updates, x.shape, "tensor_scatter_nd_update", x.dtype)
    key = _as_key(index)
    out = x._value.copy()
    out[key] = u._value
    replaced = np.zeros(x.shape, dtype=bool)
    replaced[key] = True

    def grad(dy):
        return array_ops.where(Tensor(replaced), array_ops.zeros_like(dy), dy), gather_nd(dy, index)

    return record(out, (x, u), grad)


def tensor_scatter_nd_add(tensor, indices, updates, name=None):
    """A copy of ``tensor`` with ``updates`` added at ``indices`` (repeats are summed)."""
    x = as_tensor(tensor, "tensor_scatter_nd_add")
    index, u = _scatter_arguments(indices, updates, x.shape, "tensor_scatter_nd_add", x.dtype)
    out = x._value.copy()
    np.add.at(out, _as_key(index), u._value)
    return record(out, (x, u), lambda dy: (dy, gather_nd(dy, index)))


def tensor_scatter_nd_sub(tensor, indices, updates, name=None):
    """A copy of ``tensor`` with ``updates`` subtracted at ``indices`` (repeats are summed)."""
    x = as_tensor(tensor, "tensor_scatter_nd_sub")
    index, u = _scatter_arguments(indices, updates, x.shape, "tensor_scatter_nd_sub", x.dtype)
    out = x._value.copy()
    np.subtract.at(out, _as_key(index), u._value)
    return record(out, (x, u), lambda dy: (dy, -gather_nd(dy, index)))
