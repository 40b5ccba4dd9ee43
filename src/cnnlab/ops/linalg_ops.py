"""Contractions and norms: ``einsum``, ``tensordot``, ``norm``, ``l2_normalize``, ``clip_by_norm``,
``clip_by_global_norm``.

``einsum``'s gradient for each operand is another ``einsum``: the output's
gradient contracted with the other operands, back onto that operand's indices.
The rest are composed of differentiable ops.
"""

import math
import string

import numpy as np

from ..autodiff import record
from ..tensor import Tensor, as_tensor
from . import array_ops, elementwise_ops, math_ops, reduction_ops


def _parse_equation(equation, operand_count):
    """``(input subscripts, output subscripts)`` of an einsum equation without ellipses."""
    if not isinstance(equation, str):
        raise TypeError(f"einsum: equation must be a string; received {type(equation).__name__}.")
    spec = equation.replace(" ", "")
    if "." in spec:
        raise ValueError(
            f"einsum: ellipses ('...') are not supported; name every axis. Received equation={equation!r}."
        )
    inputs, arrow, output = spec.partition("->")
    subscripts = inputs.split(",")
    if len(subscripts) != operand_count:
        raise ValueError(
            f"einsum: the equation {equation!r} names {len(subscripts)} operand(s); received {operand_count}."
        )
    for sub in (*subscripts, output):
        if any(c not in string.ascii_letters for c in sub):
            raise ValueError(f"einsum: subscripts must be letters; received equation={equation!r}.")
        if len(set(sub)) != len(sub):
            raise ValueError(
                f"einsum: an index repeated within one operand or the output (a diagonal or trace) is not supported; "
                f"received equation={equation!r}."
            )
    if not arrow:  # implicit output: the indices that appear once, in alphabetical order (NumPy's rule)
        counts = {c: inputs.count(c) for c in set(inputs.replace(",", ""))}
        output = "".join(sorted(c for c, n in counts.items() if n == 1))
    if any(c not in inputs for c in output):
        raise ValueError(f"einsum: every output index must appear in an input; received equation={equation!r}.")
    return subscripts, output


def einsum(equation, *inputs, **kwargs):
    """Einstein summation (``tf.einsum``), e.g. ``'ij,jk->ik'`` for a matrix product; differentiable.

    Example:
        >>> cnnlab.einsum("i,i->", [1.0, 2.0], [3.0, 4.0])
        <tf.Tensor: shape=(), dtype=float32, numpy=11.0>
    """
    unknown = set(kwargs) - {"name", "optimize"}
    if unknown:
        raise TypeError(f"einsum: unexpected keyword argument(s) {sorted(unknown)}.")
    if len(inputs) == 1 and isinstance(inputs[0], (list, tuple)) and inputs[0] and not np.isscalar(inputs[0][0]):
        inputs = tuple(inputs[0])  # einsum(equation, [a, b]) is accepted too
    subscripts, output = _parse_equation(equation, len(inputs))
    dtype = next((t.dtype for t in inputs if isinstance(t, Tensor)), None)
    tensors = [as_tensor(t, "einsum", dtype) if dtype is not None else as_tensor(t, "einsum") for t in inputs]
    if len({t.dtype for t in tensors}) > 1:
        raise TypeError(f"einsum: all operands must have one dtype; received {[t.dtype.name for t in tensors]}.")
    sizes = {}
    for sub, t in zip(subscripts, tensors):
        if len(sub) != t.ndim:
            raise ValueError(
                f"einsum: subscripts {sub!r} name {len(sub)} axes for an operand of shape {tuple(t.shape)}."
            )
        for c, n in zip(sub, t.shape):
            if sizes.setdefault(c, n) != n:
                raise ValueError(f"einsum: index {c!r} has sizes {sizes[c]} and {n} in equation {equation!r}.")
    value = np.einsum(f"{','.join(subscripts)}->{output}", *(t._value for t in tensors), optimize=True)

    def grad(dy):
        grads = []
        for i, (sub, t) in enumerate(zip(subscripts, tensors)):
            others = [(s, o) for j, (s, o) in enumerate(zip(subscripts, tensors)) if j != i]
            # Indices of this operand found nowhere else were summed away: contract onto the rest, then broadcast.
            reachable = "".join(c for c in sub if c in output or any(c in s for s, _ in others))
            partial = einsum(f"{','.join([output, *(s for s, _ in others)])}->{reachable}", dy, *(o for _, o in others))
            view = [sizes[c] if c in reachable else 1 for c in sub]
            ordered = (
                array_ops.transpose(partial, [reachable.index(c) for c in sub if c in reachable])
                if reachable
                else partial
            )
            grads.append(array_ops.broadcast_to(array_ops.reshape(ordered, view), t.shape))
        return tuple(grads)

    return record(np.asarray(value, dtype=tensors[0].dtype), tuple(tensors), grad)


def tensordot(a, b, axes, name=None):
    """Sum of products over ``axes`` of ``a`` and ``b``: an int ``n`` (the last ``n`` of ``a`` with the
    first ``n`` of ``b``) or a pair of axis lists.

    Example:
        >>> cnnlab.tensordot(cnnlab.ones([2, 3]), cnnlab.ones([3, 4]), axes=1).shape
        TensorShape([2, 4])
    """
    a = as_tensor(a, "tensordot")
    b = as_tensor(b, "tensordot", a.dtype)
    if isinstance(axes, (int, np.integer)) and not isinstance(axes, bool):
        if not 0 <= axes <= min(a.ndim, b.ndim):
            raise ValueError(
                f"tensordot: axes={axes} must be in [0, {min(a.ndim, b.ndim)}] for ranks {a.ndim} and {b.ndim}."
            )
        a_axes, b_axes = list(range(a.ndim - axes, a.ndim)), list(range(axes))
    elif isinstance(axes, (list, tuple)) and len(axes) == 2:
        a_axes = [int(v) % a.ndim for v in np.atleast_1d(axes[0])]
        b_axes = [int(v) % b.ndim for v in np.atleast_1d(axes[1])]
    else:
        raise ValueError(f"tensordot: axes must be an int or a pair of axis lists; received axes={axes!r}.")
    if len(a_axes) != len(b_axes) or any(a.shape[i] != b.shape[j] for i, j in zip(a_axes, b_axes)):
        raise ValueError(
            f"tensordot: the contracted axes must pair up with equal sizes; received a.shape={tuple(a.shape)} axes "
            f"{a_axes} and b.shape={tuple(b.shape)} axes {b_axes}."
        )
    letters = iter(string.ascii_letters)
    a_sub = [next(letters) for _ in range(a.ndim)]
    b_sub = [a_sub[a_axes[b_axes.index(j)]] if j in b_axes else next(letters) for j in range(b.ndim)]
    out = [c for i, c in enumerate(a_sub) if i not in a_axes] + [c for j, c in enumerate(b_sub) if j not in b_axes]
    return einsum(f"{''.join(a_sub)},{''.join(b_sub)}->{''.join(out)}", a, b)


def norm(tensor, ord="euclidean", axis=None, keepdims=None, name=None):  # noqa: A002 - TF's argument name
    """The vector norm over ``axis`` (an int or None for all elements), or the matrix norm over a pair of axes.

    Args:
        ord: 'euclidean' (or 2 for vectors), 'fro' (matrices), 1, ``np.inf``, or any
            positive number ``p`` for vectors (``sum(|x|**p) ** (1/p)``).  The matrix
            2-norm (largest singular value) is not supported.
    """
    x = as_tensor(tensor, "norm")
    if x.dtype.kind != "f":
        raise TypeError(f"norm: expected a floating-point tensor; received dtype={x.dtype.name}.")
    keepdims = bool(keepdims)
    matrix = isinstance(axis, (list, tuple)) and len(axis) == 2
    if matrix:
        rows, columns = (int(a) % x.ndim for a in axis)
        if ord in ("euclidean", "fro"):
            return _euclidean(x, [rows, columns], keepdims)
        if ord == 1 or ord == np.inf:
            inner, outer = (rows, columns) if ord == 1 else (columns, rows)
            sums = reduction_ops.reduce_sum(math_ops.abs(x), axis=inner, keepdims=True)
            result = reduction_ops.reduce_max(sums, axis=outer, keepdims=True)
            return result if keepdims else array_ops.squeeze(result, [rows, columns])
        raise ValueError(f"norm: for a matrix, ord must be 'euclidean', 'fro', 1 or np.inf; received ord={ord!r}.")
    if ord in ("euclidean", 2, 2.0):
        return _euclidean(x, axis, keepdims)
    if ord == np.inf:
        return reduction_ops.reduce_max(math_ops.abs(x), axis=axis, keepdims=keepdims)
    if isinstance(ord, (int, float)) and not isinstance(ord, bool) and ord > 0 and math.isfinite(ord):
        total = reduction_ops.reduce_sum(math_ops.pow(math_ops.abs(x), float(ord)), axis=axis, keepdims=keepdims)
        return math_ops.pow(total, 1.0 / ord)
    raise ValueError(f"norm: ord must be 'euclidean', 'fro', np.inf or a positive number; received ord={ord!r}.")


def _euclidean(x, axis, keepdims):
    return math_ops.sqrt(reduction_ops.reduce_sum(math_ops.square(x), axis=axis, keepdims=keepdims))


def l2_normalize(x, axis=None, epsilon=1e-12, name=None, dim=None):
    """``x / sqrt(max(sum(x ** 2, axis), epsilon))``: unit vectors along ``axis`` (all axes when None)."""
    x = as_tensor(x, "l2_normalize")
    if x.dtype.kind != "f":
        raise TypeError(f"l2_normalize: expected a floating-point tensor; received dtype={x.dtype.name}.")
    axis = dim if axis is None else axis
    square_sum = reduction_ops.reduce_sum(math_ops.square(x), axis=axis, keepdims=True)
    return x * math_ops.rsqrt(math_ops.maximum(square_sum, epsilon))


def clip_by_norm(t, clip_norm, axes=None, name=None):
    """``t`` scaled down so that its L2 norm over ``axes`` is at most ``clip_norm`` (unchanged if already).

    Example:
        >>> cnnlab.clip_by_norm([3.0, 4.0], 1.0).numpy()
        array([0.6, 0.8], dtype=float32)
    """
    t = as_tensor(t, "clip_by_norm")
    if t.dtype.kind != "f":
        raise TypeError(f"clip_by_norm: expected a floating-point tensor; received dtype={t.dtype.name}.")
    square_sum = reduction_ops.reduce_sum(t * t, axis=axes, keepdims=True)
    # As TF: where the norm is 0 its square root is not taken, so the gradient stays finite.
    positive = square_sum > 0
    safe = array_ops.where(positive, square_sum, array_ops.ones_like(square_sum))
    length = array_ops.where(positive, math_ops.sqrt(safe), square_sum)
    return t * clip_norm / math_ops.maximum(length, clip_norm)


def global_norm(t_list, name=None):
    """``sqrt(sum of the squared L2 norms)`` of the tensors in ``t_list`` (None entries are skipped)."""
    if not isinstance(t_list, (list, tuple)):
        raise TypeError(f"global_norm: t_list must be a list of tensors; received {type(t_list).__name__}.")
    squares = [reduction_ops.reduce_sum(math_ops.square(as_tensor(t, "global_norm"))) for t in t_list if t is not None]
    if not squares:
        return Tensor(np.asarray(0.0, np.float32))
    return math_ops.sqrt(elementwise_ops.add_n(squares))


def clip_by_global_norm(t_list, clip_norm, use_norm=None, name=None):
    """The tensors scaled together so that their global norm is at most ``clip_norm``.

    Returns:
        ``(list_clipped, global_norm)``: None entries stay None; ``global_norm`` is the
        norm before clipping (``use_norm`` when given).
    """
    norm_value = global_norm(t_list) if use_norm is None else as_tensor(use_norm, "clip_by_global_norm")
    clip = as_tensor(clip_norm, "clip_by_global_norm", norm_value.dtype)
    scale = clip * math_ops.minimum(1.0 / norm_value, 1.0 / clip)
    clipped = []
    for t in t_list:
        if t is not None:
            t = as_tensor(t, "clip_by_global_norm")
            t = t * math_ops.cast(scale, t.dtype)
        clipped.append(t)
    return clipped, norm_value
