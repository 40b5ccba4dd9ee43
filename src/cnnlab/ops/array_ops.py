"""Shape and selection ops (reshape, transpose, concat, indexing, ...) and tensor constructors.

Ops that only move elements around have linear gradients: the gradient of a
reshape is a reshape back, of a slice a scatter into zeros, and so on.
"""

import builtins  # this module defines TF's ``range``; Python's is ``builtins.range`` here
import math

import numpy as np

from .. import dtypes
from ..autodiff import record
from ..tensor import Tensor, Variable, as_tensor, as_tensor_pair, is_integral_number, shape_argument


def _detached(x, value):
    """``value``, a view of ``x``'s memory, made safe to keep.

    Variables are updated in place by ``assign`` and optimizers, so a view of one
    would change under the caller's feet; it is copied.  Tensors never change, so
    their views are shared.
    """
    return value.copy() if isinstance(x, Variable) else value


def identity(input, name=None):  # noqa: A002 - TF's argument name
    """A new tensor with the same value; the gradient passes straight through."""
    x = as_tensor(input, "identity")
    return record(x._value.copy(), (x,), lambda dy: (dy,))


def stop_gradient(input, name=None):  # noqa: A002
    """The same value, with no gradient flowing back through it."""
    x = as_tensor(input, "stop_gradient")
    return Tensor(_detached(x, x._value))


def reshape(tensor, shape, name=None):
    """``tensor`` with a new shape of the same number of elements; one dimension may be -1.

    Example:
        >>> cnnlab.reshape(cnnlab.range(6), [2, -1]).shape
        TensorShape([2, 3])
    """
    x = as_tensor(tensor, "reshape")
    shape = shape_argument(shape, "reshape", allow_unknown=True)
    unknown = [i for i, d in enumerate(shape) if d == -1]
    known = math.prod(d for d in shape if d != -1)
    if len(unknown) > 1 or any(d < -1 for d in shape):
        raise ValueError(f"reshape: shape may contain at most one -1 and no other negative size; received shape={list(shape)}.")
    size = x._value.size
    if (unknown and (known == 0 or size % known)) or (not unknown and known != size):
        raise ValueError(
            f"reshape: cannot reshape a tensor of shape {tuple(x.shape)} ({size} elements) to shape={list(shape)}."
        )
    source_shape = x.shape
    return record(_detached(x, x._value.reshape(shape)), (x,), lambda dy: (reshape(dy, source_shape),))


def broadcast_to(input, shape, name=None):  # noqa: A002
    x = as_tensor(input, "broadcast_to")
    shape = shape_argument(shape, "broadcast_to")
    try:
        value = np.broadcast_to(x._value, shape)
    except ValueError:
        raise ValueError(f"broadcast_to: cannot broadcast a tensor of shape {tuple(x.shape)} to shape={list(shape)}.") from None

    def grad(dy):
        from .math_ops import _sum_to_shape

        return (_sum_to_shape(dy, x.shape),)

    # np.broadcast_to returns a read-only view; later in-place kernels need real memory.
    # (np.array, not np.ascontiguousarray: that one turns a 0-d result into shape (1,).)
    return record(_detached(x, np.array(value, order="C")), (x,), grad)


def where(condition, x=None, y=None, name=None):
    """Elements of ``x`` where ``condition`` is True, else of ``y`` (broadcasting).

    With only ``condition``, the coordinates of its True elements, shape (n, rank), int64.
    """
    condition = as_tensor(condition, "where")
    if condition.dtype != np.bool_:
        raise TypeError(f"where: condition must be a bool tensor; received dtype={condition.dtype.name}.")
    if x is None and y is None:
        return Tensor(np.argwhere(condition._value).astype(np.int64))
    if x is None or y is None:
        raise ValueError("where: x and y must both be given, or neither.")
    from .math_ops import _sum_to_shape

    x, y = as_tensor_pair(x, y, "where")
    mask = condition._value
    try:
        value = np.where(mask, x._value, y._value)
    except ValueError:
        raise ValueError(
            f"where: condition, x and y must broadcast together; received shapes {tuple(condition.shape)}, "
            f"{tuple(x.shape)} and {tuple(y.shape)}."
        ) from None

    def grad(dy):
        zeros = zeros_like(dy)
        return None, _sum_to_shape(where(condition, dy, zeros), x.shape), _sum_to_shape(where(condition, zeros, dy), y.shape)

    return record(value, (condition, x, y), grad)


# ---- indexing ----------------------------------------------------------------------------


def _index_value(key):
    """A ``__getitem__`` key with tensors replaced by their arrays."""
    if isinstance(key, tuple):
        return tuple(_index_value(k) for k in key)
    if isinstance(key, Tensor):
        return key._value
    return key


def _is_basic_index(key):
    parts = key if isinstance(key, tuple) else (key,)
    return all(k is None or k is Ellipsis or isinstance(k, (int, np.integer, slice)) for k in parts)


def getitem(tensor, key):
    """``tensor[key]`` with NumPy indexing semantics; differentiable."""
    x = as_tensor(tensor, "getitem")
    key = _index_value(key)
    try:
        value = x._value[key]
    except IndexError as error:
        raise IndexError(f"getitem: index {key!r} is invalid for a tensor of shape {tuple(x.shape)}: {error}") from None

    def grad(dy):
        return (_scatter_into_zeros(dy, key, x.shape),)

    return record(np.array(value, copy=True) if isinstance(value, np.ndarray) else value, (x,), grad)


def _scatter_into_zeros(dy, key, shape):
    """The gradient of ``x[key]``: ``dy`` placed at ``key`` in zeros of ``shape`` (summed where repeated)."""

    def grad(ddx):
        return (getitem(ddx, key),)

    dx = np.zeros(shape, dtype=dy.dtype)
    if _is_basic_index(key):
        dx[key] = dy._value
    else:
        np.add.at(dx, key, dy._value)
    return record(dx, (dy,), grad)


Tensor.__getitem__ = getitem


def gather(params, indices, validate_indices=None, axis=None, batch_dims=0, name=None):
    """Slices of ``params`` along ``axis`` (0 by default) at integer ``indices``.

    Shape:
        ``params.shape[:axis] + indices.shape[batch_dims:] + params.shape[axis + 1:]``;
        the first ``batch_dims`` axes are shared by ``params`` and ``indices`` (each
        batch entry gathers from its own slice of ``params``).

    Indices are always validated (``validate_indices`` is accepted for TF's signature);
    negative ones are refused, as TF does on the CPU.

    Example:
        >>> cnnlab.gather([10, 20, 30], [2, 0]).numpy()
        array([30, 10], dtype=int32)
    """
    x = as_tensor(params, "gather")
    index = as_tensor(indices, "gather")._value
    if index.dtype.kind not in "iu":
        raise TypeError(f"gather: indices must be integers; received dtype={index.dtype.name}.")
    if not is_integral_number(batch_dims) or not -index.ndim <= batch_dims <= index.ndim:
        raise ValueError(
            f"gather: batch_dims must be an integer in [{-index.ndim}, {index.ndim}]; "
            f"received batch_dims={batch_dims!r}."
        )
    if batch_dims < 0:
        batch_dims += index.ndim
    (axis,) = _axes_arg(batch_dims if axis is None else axis, x.ndim, "gather")
    if axis < batch_dims or x.shape[:batch_dims] != index.shape[:batch_dims]:
        raise ValueError(
            f"gather: params and indices must share their first batch_dims={batch_dims} axes and axis must not be "
            f"one of them; received params.shape={tuple(x.shape)}, indices.shape={index.shape}, axis={axis}."
        )
    size = x._value.shape[axis]
    if index.size and (index.min() < 0 or index.max() >= size):
        raise ValueError(
            f"gather: indices must be in [0, {size}) for axis {axis} of params.shape={tuple(x.shape)}; "
            f"received values in [{index.min()}, {index.max()}]."
        )
    if batch_dims == 0:
        return getitem(x, (slice(None),) * axis + (index,))
    # Batch axis b of the result reads batch entry b of params: index grids broadcast over the batch axes.
    batch_grids = np.ogrid[tuple(slice(n) for n in index.shape[:batch_dims])]
    trailing = index.ndim - batch_dims
    between = axis - batch_dims  # params' axes between the batch axes and ``axis`` stay whole
    key = tuple(g.reshape(g.shape + (1,) * trailing) for g in batch_grids)
    if between:
        # NumPy puts the advanced-index axes first when slices separate them: gather, then move them back.
        rest = [a for a in builtins.range(batch_dims, x.ndim) if a != axis]
        moved = transpose(x, [*builtins.range(batch_dims), axis, *rest])
        picked = getitem(moved, key + (index,))
        rank = picked.ndim
        lead = index.ndim
        perm = [
            *builtins.range(batch_dims),
            *builtins.range(lead, lead + between),
            *builtins.range(batch_dims, lead),
            *builtins.range(lead + between, rank),
        ]
        return transpose(picked, perm)
    return getitem(x, key + (index,))


# ---- shape manipulation ---------------------------------------------------------------


def _axes_arg(axis, ndim, op, argument="axis"):
    """``axis`` (an int or a list) as a tuple of non-negative ints, each in [-ndim, ndim)."""
    axes = np.asarray(axis._value if isinstance(axis, Tensor) else axis)
    if axes.ndim > 1 or (axes.size and axes.dtype.kind not in "iu"):
        raise TypeError(f"{op}: {argument} must be an integer or a list of integers; received {argument}={axis!r}.")
    result = []
    for a in axes.reshape(-1).tolist():
        if not -ndim <= a < ndim:
            raise ValueError(f"{op}: {argument}={a} is out of range for a tensor of rank {ndim} (valid: [{-ndim}, {ndim})).")
        result.append(a % ndim)
    return tuple(result)


def transpose(a, perm=None, conjugate=False, name=None):
    """``a`` with its axes permuted: axis ``i`` of the result is axis ``perm[i]`` of ``a``.

    Without ``perm`` the axes are reversed.
    """
    x = as_tensor(a, "transpose")
    perm = tuple(reversed(builtins.range(x.ndim))) if perm is None else _axes_arg(perm, x.ndim, "transpose", "perm")
    if sorted(perm) != list(builtins.range(x.ndim)):
        raise ValueError(f"transpose: perm must be a permutation of the {x.ndim} axes; received perm={list(perm)}.")
    inverse = tuple(np.argsort(perm).tolist())
    value = np.transpose(x._value, perm)
    return record(_detached(x, np.conj(value) if conjugate else value), (x,), lambda dy: (transpose(dy, inverse, conjugate),))


def squeeze(input, axis=None, name=None):  # noqa: A002
    """``input`` without its size-1 axes (only those in ``axis`` when given; they must have size 1)."""
    x = as_tensor(input, "squeeze")
    if axis is None:
        axes = tuple(i for i, n in enumerate(x.shape) if n == 1)
    else:
        axes = _axes_arg(axis, x.ndim, "squeeze")
        for a in axes:
            if x.shape[a] != 1:
                raise ValueError(f"squeeze: cannot squeeze axis {a} of size {x.shape[a]} (shape {tuple(x.shape)}); only size-1 axes.")
    shape = [n for i, n in enumerate(x.shape) if i not in axes]
    return reshape(x, shape)


def expand_dims(input, axis, name=None):  # noqa: A002
    """``input`` with a new size-1 axis inserted at ``axis`` (in [-rank-1, rank])."""
    x = as_tensor(input, "expand_dims")
    if not is_integral_number(axis) or not -x.ndim - 1 <= axis <= x.ndim:
        raise ValueError(f"expand_dims: axis must be an integer in [{-x.ndim - 1}, {x.ndim}]; received axis={axis!r}.")
    axis = axis % (x.ndim + 1)
    return reshape(x, x.shape[:axis] + (1,) + x.shape[axis:])


def _as_tensor_list(values, op):
    """A list of op arguments as tensors of one dtype (the first tensor's, as TF converts them)."""
    if isinstance(values, Tensor) or not isinstance(values, (list, tuple)) or not values:
        raise ValueError(f"{op}: expected a non-empty list of tensors; received {type(values).__name__}.")
    dtype = next((v.dtype for v in values if isinstance(v, Tensor)), None)
    tensors = []
    for v in values:
        t = as_tensor(v, op, dtype)
        dtype = t.dtype
        tensors.append(t)
    return tensors


def concat(values, axis, name=None):
    """Join tensors along an existing ``axis``; their other dimensions must agree.

    Example:
        >>> cnnlab.concat([[[1, 2]], [[3, 4]]], axis=0).shape
        TensorShape([2, 2])
    """
    tensors = _as_tensor_list(values, "concat")
    first = tensors[0]
    (axis,) = _axes_arg(axis, max(first.ndim, 1), "concat")
    for t in tensors:
        if t.ndim != first.ndim or t.ndim == 0 or any(a != b for i, (a, b) in enumerate(zip(t.shape, first.shape)) if i != axis):
            raise ValueError(
                f"concat: all tensors must have the same rank (>= 1) and the same size on every axis except "
                f"axis {axis}; received shapes {[tuple(t.shape) for t in tensors]}."
            )
    bounds = np.cumsum([0] + [t.shape[axis] for t in tensors]).tolist()

    def grad(dy):
        lead = (slice(None),) * axis
        return tuple(getitem(dy, lead + (slice(start, stop),)) for start, stop in zip(bounds[:-1], bounds[1:]))

    return record(np.concatenate([t._value for t in tensors], axis=axis), tuple(tensors), grad)


def stack(values, axis=0, name=None):
    """Join tensors of one shape along a new ``axis`` (in [-rank-1, rank])."""
    tensors = _as_tensor_list(values, "stack")
    shape = tensors[0].shape
    if any(t.shape != shape for t in tensors):
        raise ValueError(f"stack: all tensors must have the same shape; received shapes {[tuple(t.shape) for t in tensors]}.")
    if not is_integral_number(axis) or not -len(shape) - 1 <= axis <= len(shape):
        raise ValueError(f"stack: axis must be an integer in [{-len(shape) - 1}, {len(shape)}]; received axis={axis!r}.")
    axis = axis % (len(shape) + 1)

    def grad(dy):
        return tuple(unstack(dy, axis=axis))

    return record(np.stack([t._value for t in tensors], axis=axis), tuple(tensors), grad)


def unstack(value, num=None, axis=0, name=None):
    """The slices of ``value`` along ``axis``, as a list of tensors of rank one less."""
    x = as_tensor(value, "unstack")
    (axis,) = _axes_arg(axis, x.ndim, "unstack")
    if num is not None and num != x.shape[axis]:
        raise ValueError(f"unstack: num={num} does not match the size {x.shape[axis]} of axis {axis}.")
    lead = (slice(None),) * axis
    return [getitem(x, lead + (i,)) for i in builtins.range(x.shape[axis])]


def tile(input, multiples, name=None):  # noqa: A002
    """``input`` repeated ``multiples[i]`` times along each axis ``i``."""
    x = as_tensor(input, "tile")
    multiples = shape_argument(multiples, "tile", "multiples")
    if len(multiples) != x.ndim:
        raise ValueError(f"tile: multiples must have one entry per axis ({x.ndim}); received multiples={list(multiples)}.")

    def grad(dy):
        from .reduction_ops import reduce_sum

        # Axis i of dy is (multiples[i], n_i) interleaved; sum the repeats.
        interleaved = [d for pair in zip(multiples, x.shape) for d in pair]
        return (reduce_sum(reshape(dy, interleaved), axis=list(builtins.range(0, 2 * x.ndim, 2))),)

    return record(np.tile(x._value, multiples), (x,), grad)


def pad(tensor, paddings, mode="CONSTANT", constant_values=0, name=None):
    """``tensor`` with ``paddings[i] = [before, after]`` cells added on axis ``i``.

    Args:
        mode: 'CONSTANT' (fill with ``constant_values``), 'REFLECT' (mirror without
            repeating the edge: ``[1, 2, 3]`` padded by 2 on the left gives
            ``[3, 2, 1, 2, 3]``) or 'SYMMETRIC' (mirror repeating the edge:
            ``[2, 1, 1, 2, 3]``); case-insensitive.

    Example:
        >>> cnnlab.pad([[1, 2]], [[1, 0], [0, 1]]).numpy()
        array([[0, 0, 0],
               [1, 2, 0]], dtype=int32)
    """
    x = as_tensor(tensor, "pad")
    mode_name = mode.upper() if isinstance(mode, str) else mode
    if mode_name not in ("CONSTANT", "REFLECT", "SYMMETRIC"):
        raise ValueError(f"pad: mode must be 'CONSTANT', 'REFLECT' or 'SYMMETRIC'; received mode={mode!r}.")
    widths = np.asarray(paddings._value if isinstance(paddings, Tensor) else paddings)
    if widths.shape != (x.ndim, 2) or widths.dtype.kind not in "iu" or (widths < 0).any():
        raise ValueError(
            f"pad: paddings must be {x.ndim} pairs [before, after] of non-negative integers (one per axis); "
            f"received paddings={np.asarray(paddings).tolist()!r}."
        )
    if mode_name == "CONSTANT":
        fill_value = as_tensor(constant_values, "pad", x.dtype)._value
        key = tuple(slice(int(before), int(before) + n) for (before, _), n in zip(widths, x.shape))
        return record(np.pad(x._value, widths, constant_values=fill_value), (x,), lambda dy: (getitem(dy, key),))
    # A mirror pad reads each output cell from one input cell: one index vector per axis.
    limit = 0 if mode_name == "REFLECT" else 1
    for axis, ((before, after), n) in enumerate(zip(widths.tolist(), x.shape)):
        if builtins.max(before, after) > n - 1 + limit:
            raise ValueError(
                f"pad: mode={mode!r} can add at most {n - 1 + limit} cells on each side of axis {axis} (size {n}); "
                f"received paddings[{axis}]={[before, after]}."
            )
    sources = [
        np.pad(np.arange(n), (int(before), int(after)), mode=mode_name.lower())
        for (before, after), n in zip(widths, x.shape)
    ]
    return getitem(x, np.ix_(*sources)) if x.ndim else identity(x)


def split(value, num_or_size_splits, axis=0, num=None, name=None):
    """``value`` cut along ``axis`` into equal parts (an int) or parts of the given sizes (a list, one may be -1).

    Returns:
        A list of tensors.

    Example:
        >>> [t.shape for t in cnnlab.split(cnnlab.zeros([4, 6]), [1, -1, 2], axis=1)]
        [TensorShape([4, 1]), TensorShape([4, 3]), TensorShape([4, 2])]
    """
    x = as_tensor(value, "split")
    (axis,) = _axes_arg(axis, x.ndim, "split")
    length = x.shape[axis]
    one_number = isinstance(num_or_size_splits, Tensor) and num_or_size_splits.ndim == 0
    if is_integral_number(num_or_size_splits) or one_number:
        parts = int(num_or_size_splits)
        if parts < 1 or length % parts:
            raise ValueError(
                f"split: cannot cut axis {axis} of size {length} into {parts} equal parts "
                f"(value.shape={tuple(x.shape)}); give a list of sizes instead."
            )
        sizes = [length // parts] * parts
    else:
        sizes = list(shape_argument(num_or_size_splits, "split", "num_or_size_splits", allow_unknown=True))
        unknown = [i for i, s in enumerate(sizes) if s == -1]
        known = builtins.sum(s for s in sizes if s != -1)
        bad_sizes = len(unknown) > 1 or builtins.any(s < -1 for s in sizes)
        if bad_sizes or known > length or (not unknown and known != length):
            raise ValueError(
                f"split: the sizes {sizes} (at most one -1) must add up to {length}, the size of axis {axis}."
            )
        if unknown:
            sizes[unknown[0]] = length - known
    if num is not None and num != len(sizes):
        raise ValueError(f"split: num={num} does not match the {len(sizes)} parts asked for.")
    bounds = np.cumsum([0, *sizes]).tolist()
    lead = (slice(None),) * axis
    return [getitem(x, lead + (slice(start, stop),)) for start, stop in zip(bounds[:-1], bounds[1:])]


def reverse(tensor, axis, name=None):
    """``tensor`` with the order of its elements reversed along each axis in ``axis`` (a list)."""
    x = as_tensor(tensor, "reverse")
    axes = set(_axes_arg(axis, x.ndim, "reverse"))
    return getitem(x, tuple(slice(None, None, -1) if a in axes else slice(None) for a in builtins.range(x.ndim)))


def roll(input, shift, axis, name=None):  # noqa: A002 - TF's argument name
    """``input`` with its elements shifted by ``shift`` along ``axis``, wrapping around (ints or lists)."""
    x = as_tensor(input, "roll")
    shifts = np.asarray(shift._value if isinstance(shift, Tensor) else shift).reshape(-1).tolist()
    axes = list(_axes_arg(axis, x.ndim, "roll"))
    if len(shifts) != len(axes) or not builtins.all(is_integral_number(s) for s in shifts):
        raise ValueError(
            f"roll: shift and axis must be integers, or lists of one length; received shift={shift!r}, axis={axis!r}."
        )
    value = np.roll(x._value, shifts, axes)
    back = [-s for s in shifts]
    return record(value, (x,), lambda dy: (roll(dy, back, axes),))


def repeat(input, repeats, axis=None, name=None):  # noqa: A002 - TF's argument name
    """Each element (or slice along ``axis``) of ``input`` repeated ``repeats`` times (an int, or one per element).

    Without ``axis``, ``input`` is flattened first, as in TF and NumPy.

    Example:
        >>> cnnlab.repeat([1, 2], [2, 3], axis=0).numpy()
        array([1, 1, 2, 2, 2], dtype=int32)
    """
    x = as_tensor(input, "repeat")
    if axis is None:
        x, axis = reshape(x, [-1]), 0
    (axis,) = _axes_arg(axis, x.ndim, "repeat")
    counts = np.asarray(repeats._value if isinstance(repeats, Tensor) else repeats)
    if counts.dtype.kind not in "iu" or counts.ndim > 1 or (counts < 0).any() or counts.size not in (1, x.shape[axis]):
        raise ValueError(
            f"repeat: repeats must be a non-negative integer or one per element of axis {axis} ({x.shape[axis]}); "
            f"received repeats={counts.tolist()!r}."
        )
    per_element = counts.reshape(-1) if counts.size > 1 else int(counts.reshape(-1)[0])
    return gather(x, np.repeat(np.arange(x.shape[axis]), per_element), axis=axis)


# ---- constructors ---------------------------------------------------------------------------


def zeros(shape, dtype=dtypes.float32, name=None):
    return Tensor(np.zeros(shape_argument(shape, "zeros"), dtype=dtypes.as_dtype(dtype)))


def ones(shape, dtype=dtypes.float32, name=None):
    return Tensor(np.ones(shape_argument(shape, "ones"), dtype=dtypes.as_dtype(dtype)))


def zeros_like(input, dtype=None, name=None):  # noqa: A002
    x = as_tensor(input, "zeros_like")
    return Tensor(np.zeros(x._value.shape, dtype=x.dtype if dtype is None else dtypes.as_dtype(dtype)))


def ones_like(input, dtype=None, name=None):  # noqa: A002
    x = as_tensor(input, "ones_like")
    return Tensor(np.ones(x._value.shape, dtype=x.dtype if dtype is None else dtypes.as_dtype(dtype)))


def fill(dims, value, name=None):
    """A tensor of shape ``dims`` filled with the scalar ``value`` (its dtype as ``constant`` gives)."""
    scalar = as_tensor(value, "fill")._value
    if scalar.ndim != 0:
        raise ValueError(f"fill: value must be a scalar; received shape={scalar.shape}.")
    return Tensor(np.full(shape_argument(dims, "fill", "dims"), scalar))


def eye(num_rows, num_columns=None, batch_shape=None, dtype=dtypes.float32, name=None):
    """Identity matrices of shape ``batch_shape + (num_rows, num_columns)``."""
    rows, columns = shape_argument([num_rows, num_rows if num_columns is None else num_columns], "eye", "num_rows/num_columns")
    matrix = np.eye(rows, columns, dtype=dtypes.as_dtype(dtype))
    if batch_shape is not None:
        matrix = np.broadcast_to(matrix, shape_argument(batch_shape, "eye", "batch_shape") + matrix.shape).copy()
    return Tensor(matrix)


def range(start, limit=None, delta=1, dtype=None, name=None):  # noqa: A001 - TF's name
    """``[start, start + delta, ...)`` up to ``limit`` (``range(n)`` counts from 0).

    The dtype is int32 for Python ints and float32 when any argument is a float.

    Example:
        >>> cnnlab.range(1, 7, 2).numpy()
        array([1, 3, 5], dtype=int32)
    """
    if limit is None:
        start, limit = 0, start
    bounds = [as_tensor(v, "range")._value for v in (start, limit, delta)]
    if any(b.ndim != 0 for b in bounds):
        raise ValueError(f"range: start, limit and delta must be scalars; received {start!r}, {limit!r}, {delta!r}.")
    if dtype is None:
        floats = [b.dtype for b in bounds if b.dtype.kind == "f"]  # any float argument makes a float range
        dtype = np.result_type(*floats) if floats else np.result_type(*bounds)
    dtype = dtypes.as_dtype(dtype)
    first, last, step = (b.item() for b in bounds)
    if step == 0:
        raise ValueError("range: delta must not be 0; received delta=0.")
    if (step > 0 and first > last) or (step < 0 and first < last):
        raise ValueError(f"range: with delta={step}, start must not be past limit; received start={first}, limit={last}.")
    return Tensor(np.arange(first, last, step, dtype=dtype))


def shape(input, out_type=dtypes.int32, name=None):  # noqa: A002
    """The shape of ``input`` as a 1-D integer tensor (``tf.shape``)."""
    return Tensor(np.array(as_tensor(input, "shape")._value.shape, dtype=dtypes.as_dtype(out_type)))


def size(input, out_type=dtypes.int32, name=None):  # noqa: A002
    """The number of elements of ``input`` as a scalar integer tensor."""
    return Tensor(np.array(as_tensor(input, "size")._value.size, dtype=dtypes.as_dtype(out_type)))


def rank(input, name=None):  # noqa: A002
    """The number of axes of ``input`` as a scalar int32 tensor."""
    return Tensor(np.array(as_tensor(input, "rank")._value.ndim, dtype=np.int32))


def one_hot(indices, depth, on_value=None, off_value=None, axis=None, dtype=None, name=None):
    """``on_value`` at each index and ``off_value`` elsewhere, along a new axis of size ``depth``.

    Indices outside ``[0, depth)`` (negative ones included) give a row of ``off_value``,
    as in TF.  The dtype is float32 unless ``dtype`` or the on/off values say otherwise.

    Example:
        >>> cnnlab.one_hot([0, 2], 3).numpy()
        array([[1., 0., 0.],
               [0., 0., 1.]], dtype=float32)
    """
    index = as_tensor(indices, "one_hot")._value
    if index.dtype.kind not in "iu":
        raise TypeError(
            f"one_hot: indices must be integers (TF refuses float indices too); received dtype={index.dtype.name}. "
            "Cast them first: tf.cast(indices, tf.int32)."
        )
    if not is_integral_number(depth) or depth < 0:
        raise ValueError(f"one_hot: depth must be a non-negative integer; received depth={depth!r}.")
    if dtype is None:
        given = next((v for v in (on_value, off_value) if v is not None), None)
        dtype = dtypes.float32 if given is None else as_tensor(given, "one_hot").dtype
    dtype = dtypes.as_dtype(dtype)
    on = as_tensor(1 if on_value is None else on_value, "one_hot", dtype)._value
    off = as_tensor(0 if off_value is None else off_value, "one_hot", dtype)._value
    axis = -1 if axis is None else axis
    if not is_integral_number(axis) or not -1 <= axis <= index.ndim:
        raise ValueError(f"one_hot: axis must be -1 or in [0, {index.ndim}]; received axis={axis!r}.")
    value = np.where(index[..., None] == np.arange(depth), on, off).astype(dtype)
    return Tensor(value if axis == -1 else np.moveaxis(value, -1, axis))


def linspace(start, stop, num, name=None, axis=0):
    """``num`` evenly spaced values from ``start`` to ``stop``, both included (``tf.linspace``).

    ``start`` and ``stop`` may be tensors of one shape: the values then run along a
    new ``axis``.  Python numbers give float32; integer tensors are refused, as TF does.
    Differentiable with respect to ``start`` and ``stop``.

    Example:
        >>> cnnlab.linspace(10.0, 12.0, 3).numpy()
        array([10., 11., 12.], dtype=float32)
    """
    first = as_tensor(float(start) if is_integral_number(start) else start, "linspace")
    last = as_tensor(float(stop) if is_integral_number(stop) else stop, "linspace", first.dtype)
    if first.dtype.kind != "f":
        raise TypeError(f"linspace: start and stop must be floating-point; received dtype={first.dtype.name}.")
    num = int(num._value) if isinstance(num, Tensor) else num
    if not is_integral_number(num) or num < 0:
        raise ValueError(f"linspace: num must be a non-negative integer; received num={num!r}.")
    try:
        shape = np.broadcast_shapes(first.shape, last.shape)
    except ValueError:
        raise ValueError(
            "linspace: start and stop must broadcast together; "
            f"received shapes {tuple(first.shape)} and {tuple(last.shape)}."
        ) from None
    if not is_integral_number(axis) or not -len(shape) - 1 <= axis <= len(shape):
        raise ValueError(
            f"linspace: axis must be an integer in [{-len(shape) - 1}, {len(shape)}]; received axis={axis!r}."
        )
    axis %= len(shape) + 1
    first, last = expand_dims(broadcast_to(first, shape), axis), expand_dims(broadcast_to(last, shape), axis)
    if num <= 1:
        return getitem(first, (slice(None),) * axis + (slice(0, num),))
    fraction_shape = [1] * (len(shape) + 1)
    fraction_shape[axis] = num
    # The last value is ``stop`` itself (a fraction of exactly 1), as TF gives.
    fractions = Tensor((np.arange(num, dtype=np.float64) / (num - 1)).astype(first.dtype).reshape(fraction_shape))
    return first + (last - first) * fractions


def meshgrid(*args, indexing="xy", name=None):
    """Coordinate grids from 1-D coordinate vectors, as ``np.meshgrid`` (``indexing`` 'xy' or 'ij')."""
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: indexing must be 'xy' or 'ij'; received indexing={indexing!r}.")
    vectors = [reshape(as_tensor(a, "meshgrid"), [-1]) for a in args]
    shape = [len(v) for v in vectors]
    if indexing == "xy" and len(shape) >= 2:
        shape[0], shape[1] = shape[1], shape[0]
    grids = []
    for i, v in enumerate(vectors):
        position = (1 - i if i < 2 else i) if indexing == "xy" and len(vectors) >= 2 else i
        view = [1] * len(vectors)
        view[position] = -1
        grids.append(broadcast_to(reshape(v, view), shape))
    return grids


def sequence_mask(lengths, maxlen=None, dtype=dtypes.bool_, name=None):
    """``mask[..., j] = j < lengths[...]``: a mask of the first ``lengths`` positions of each row.

    Example:
        >>> cnnlab.sequence_mask([1, 3], 4).numpy()
        array([[ True, False, False, False],
               [ True,  True,  True, False]])
    """
    counts = as_tensor(lengths, "sequence_mask")._value
    if counts.dtype.kind not in "iu":
        raise TypeError(f"sequence_mask: lengths must be integers; received dtype={counts.dtype.name}.")
    width = int(counts.max()) if maxlen is None and counts.size else int(maxlen or 0)
    return Tensor((np.arange(width) < counts[..., None]).astype(dtypes.as_dtype(dtype)))
