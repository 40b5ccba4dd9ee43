"""Elementwise arithmetic, matmul and reductions, each with its gradient beside it.

The pattern every op follows: convert the arguments, compute the value with NumPy,
and ``record`` it with a gradient function written in cnnlab ops (so that it can be
differentiated again by an outer tape).
"""

import numpy as np

from ..autodiff import is_watched, record
from ..tensor import Tensor, as_tensor, as_tensor_pair
from . import array_ops
from .array_ops import where


def _sum_to_shape(grad, shape):
    """Sum a broadcast gradient back down to an operand's ``shape``."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(i + extra for i, n in enumerate(shape) if n == 1 and grad.shape[i + extra] != 1)
    return array_ops.reshape(reduce_sum(grad, axis=axes), shape)


# ---- binary arithmetic ---------------------------------------------------------


def add(x, y, name=None):
    x, y = as_tensor_pair(x, y, "add")

    def grad(dy):
        return _sum_to_shape(dy, x.shape), _sum_to_shape(dy, y.shape)

    return record(x._value + y._value, (x, y), grad)


def subtract(x, y, name=None):
    x, y = as_tensor_pair(x, y, "subtract")

    def grad(dy):
        return _sum_to_shape(dy, x.shape), _sum_to_shape(-dy, y.shape)

    return record(x._value - y._value, (x, y), grad)


def multiply(x, y, name=None):
    x, y = as_tensor_pair(x, y, "multiply")

    def grad(dy):
        return _sum_to_shape(dy * y, x.shape), _sum_to_shape(dy * x, y.shape)

    return record(x._value * y._value, (x, y), grad)


def divide(x, y, name=None):
    """``x / y``; integer operands give a float64 result, as ``tf.divide`` does."""
    x, y = as_tensor_pair(x, y, "divide")
    if x.dtype.kind in "iub":
        x, y = cast(x, np.float64), cast(y, np.float64)

    def grad(dy):
        return _sum_to_shape(dy / y, x.shape), _sum_to_shape(-dy * x / (y * y), y.shape)

    with np.errstate(divide="ignore", invalid="ignore"):
        return record(x._value / y._value, (x, y), grad)


def floordiv(x, y, name=None):
    x, y = as_tensor_pair(x, y, "floordiv")
    return Tensor(np.asarray(x._value // y._value))


def mod(x, y, name=None):
    x, y = as_tensor_pair(x, y, "mod")
    return Tensor(np.asarray(x._value % y._value))


def pow(x, y, name=None):  # noqa: A001 - TF's name
    x, y = as_tensor_pair(x, y, "pow")
    need_y = is_watched(y)

    def grad(dy):
        dx = _sum_to_shape(dy * y * x ** (y - 1), x.shape)
        if not need_y:
            return dx, None
        # d(x**y)/dy = x**y * log(x), taken as 0 where x <= 0 (as TF does).
        positive = x > 0
        log_x = where(positive, log(where(positive, x, array_ops.ones_like(x))), array_ops.zeros_like(x))
        return dx, _sum_to_shape(dy * out * log_x, y.shape)

    with np.errstate(divide="ignore", invalid="ignore"):
        out = record(np.power(x._value, y._value), (x, y), grad)
    return out


def maximum(x, y, name=None):
    x, y = as_tensor_pair(x, y, "maximum")

    def grad(dy):
        x_wins = x >= y  # ties go to x, as in TF
        zeros = array_ops.zeros_like(dy)
        return (
            _sum_to_shape(where(x_wins, dy, zeros), x.shape),
            _sum_to_shape(where(x_wins, zeros, dy), y.shape),
        )

    return record(np.maximum(x._value, y._value), (x, y), grad)


def minimum(x, y, name=None):
    x, y = as_tensor_pair(x, y, "minimum")

    def grad(dy):
        x_wins = x <= y
        zeros = array_ops.zeros_like(dy)
        return (
            _sum_to_shape(where(x_wins, dy, zeros), x.shape),
            _sum_to_shape(where(x_wins, zeros, dy), y.shape),
        )

    return record(np.minimum(x._value, y._value), (x, y), grad)


# ---- unary ----------------------------------------------------------------------


def negative(x, name=None):
    x = as_tensor(x, "negative")
    return record(-x._value, (x,), lambda dy: (-dy,))


def exp(x, name=None):
    x = as_tensor(x, "exp")
    out = record(np.exp(x._value), (x,), lambda dy: (dy * out,))
    return out


def log(x, name=None):
    x = as_tensor(x, "log")
    with np.errstate(divide="ignore", invalid="ignore"):
        return record(np.log(x._value), (x,), lambda dy: (dy / x,))


def square(x, name=None):
    x = as_tensor(x, "square")
    return record(np.square(x._value), (x,), lambda dy: (dy * 2 * x,))


# ---- comparisons (no gradient) ----------------------------------------------------


def _compare(numpy_fn, op):
    def compare(x, y, name=None):
        x, y = as_tensor_pair(x, y, op)
        return Tensor(np.asarray(numpy_fn(x._value, y._value)))

    compare.__name__ = op
    compare.__doc__ = f"Elementwise ``{op}`` with broadcasting; a bool tensor, not differentiable."
    return compare


equal = _compare(np.equal, "equal")
not_equal = _compare(np.not_equal, "not_equal")
less = _compare(np.less, "less")
less_equal = _compare(np.less_equal, "less_equal")
greater = _compare(np.greater, "greater")
greater_equal = _compare(np.greater_equal, "greater_equal")


# ---- matmul ------------------------------------------------------------------------


def matmul(a, b, transpose_a=False, transpose_b=False, name=None):
    """Matrix product of the last two axes, batched over leading axes (``tf.linalg.matmul``).

    Shape:
        a: (..., M, K) (or (..., K, M) with ``transpose_a``); b: (..., K, N)
        (or (..., N, K) with ``transpose_b``); result: (..., M, N), the batch axes
        broadcast.
    """
    a, b = as_tensor_pair(a, b, "matmul")
    if a.ndim < 2 or b.ndim < 2:
        raise ValueError(f"matmul: both arguments must have rank >= 2; received a.shape={tuple(a.shape)}, b.shape={tuple(b.shape)}.")
    av = np.swapaxes(a._value, -1, -2) if transpose_a else a._value
    bv = np.swapaxes(b._value, -1, -2) if transpose_b else b._value
    if av.shape[-1] != bv.shape[-2]:
        raise ValueError(
            f"matmul: the inner dimensions must agree; received a.shape={tuple(a.shape)} (transpose_a={transpose_a}) "
            f"and b.shape={tuple(b.shape)} (transpose_b={transpose_b})."
        )
    try:
        np.broadcast_shapes(av.shape[:-2], bv.shape[:-2])
    except ValueError:
        raise ValueError(
            f"matmul: the batch dimensions must broadcast; received a.shape={tuple(a.shape)}, b.shape={tuple(b.shape)}."
        ) from None
    need_a, need_b = is_watched(a), is_watched(b)

    def grad(dy):
        da = db = None
        if need_a:
            da = matmul(b, dy, transpose_a=transpose_b, transpose_b=True) if transpose_a else matmul(dy, b, transpose_b=not transpose_b)
            da = _sum_to_shape(da, a.shape)
        if need_b:
            db = matmul(dy, a, transpose_a=True, transpose_b=transpose_a) if transpose_b else matmul(a, dy, transpose_a=not transpose_a)
            db = _sum_to_shape(db, b.shape)
        return da, db

    return record(np.matmul(av, bv), (a, b), grad)


# ---- reductions ---------------------------------------------------------------------


def _normalize_axis(axis, ndim, op):
    """``axis`` (None, int or sequence) as a sorted tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, Tensor):
        axis = axis.numpy().tolist()
    axes = [axis] if np.ndim(axis) == 0 else list(axis)
    normalized = []
    for a in axes:
        a = int(a)
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"{op}: axis {a} is out of range for a tensor of rank {ndim}.")
        normalized.append(a % ndim if ndim else 0)
    return tuple(sorted(set(normalized)))


def _keep_shape(shape, axes):
    """``shape`` with the reduced ``axes`` set to 1 (the keepdims shape)."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def reduce_sum(input_tensor, axis=None, keepdims=False, name=None):
    x = as_tensor(input_tensor, "reduce_sum")
    axes = _normalize_axis(axis, x.ndim, "reduce_sum")

    def grad(dy):
        return (array_ops.broadcast_to(array_ops.reshape(dy, _keep_shape(x.shape, axes)), x.shape),)

    return record(np.sum(x._value, axis=axes, keepdims=keepdims), (x,), grad)


# ---- dtype -----------------------------------------------------------------------------


def cast(x, dtype, name=None):
    """``x`` converted to ``dtype``; the gradient flows between float dtypes."""
    from .. import dtypes

    x = as_tensor(x, "cast")
    dtype = dtypes.as_dtype(dtype)
    if x.dtype == dtype:
        return x
    source = x.dtype

    def grad(dy):
        return (cast(dy, source) if source.kind in "fc" else None,)

    return record(x._value.astype(dtype), (x,), grad)


# ---- Tensor operators ---------------------------------------------------------------------


def _reflected(op):
    return lambda self, other: op(other, self)


Tensor.__add__ = add
Tensor.__radd__ = _reflected(add)
Tensor.__sub__ = subtract
Tensor.__rsub__ = _reflected(subtract)
Tensor.__mul__ = multiply
Tensor.__rmul__ = _reflected(multiply)
Tensor.__truediv__ = divide
Tensor.__rtruediv__ = _reflected(divide)
Tensor.__floordiv__ = floordiv
Tensor.__rfloordiv__ = _reflected(floordiv)
Tensor.__mod__ = mod
Tensor.__rmod__ = _reflected(mod)
Tensor.__pow__ = pow
Tensor.__rpow__ = _reflected(pow)
Tensor.__matmul__ = matmul
Tensor.__rmatmul__ = _reflected(matmul)
Tensor.__neg__ = negative
# ``t == None`` is False (not an error), as in TF.
Tensor.__eq__ = lambda self, other: False if other is None else equal(self, other)
Tensor.__ne__ = lambda self, other: True if other is None else not_equal(self, other)
Tensor.__lt__ = less
Tensor.__le__ = less_equal
Tensor.__gt__ = greater
Tensor.__ge__ = greater_equal
