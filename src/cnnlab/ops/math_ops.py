"""Elementwise arithmetic, comparisons, logic and matmul, each with its gradient beside it.

The pattern every op follows: convert the arguments, compute the value with NumPy,
and ``record`` it with a gradient function written in cnnlab ops (so that it can be
differentiated again by an outer tape).
"""

import numpy as np

from .. import dtypes
from ..autodiff import is_watched, record
from ..kernels import broadcast
from ..kernels import matmul as products
from ..tensor import Tensor, Variable, as_tensor, as_tensor_pair
from . import array_ops, reduction_ops
from .array_ops import where


def _sum_to_shape(grad, shape):
    """Sum a broadcast gradient back down to an operand's ``shape``."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(i + extra for i, n in enumerate(shape) if n == 1 and grad.shape[i + extra] != 1)
    return array_ops.reshape(reduction_ops.reduce_sum(grad, axis=axes), shape)


def _float_tensor(x, op, argument="x"):
    """``x`` as a tensor that must have a floating (or complex) dtype, as TF's float-only ops require."""
    x = as_tensor(x, op)
    if x._value.dtype.kind not in "fc":
        raise TypeError(f"{op}: expected a floating-point tensor for {argument}; received dtype={x.dtype.name}.")
    return x


def _broadcast(numpy_fn, x, y, op):
    """``numpy_fn`` of two tensors' values, with a clear error when their shapes do not broadcast."""
    try:
        return broadcast.apply(numpy_fn, x._value, y._value)
    except ValueError:
        raise ValueError(
            f"{op}: the shapes of x and y must be broadcast-compatible; received x.shape={tuple(x.shape)}, y.shape={tuple(y.shape)}."
        ) from None


# ---- binary arithmetic ---------------------------------------------------------


def add(x, y, name=None):
    x, y = as_tensor_pair(x, y, "add")
    x_shape, y_shape = x.shape, y.shape  # not the operands: the gradient does not need their values

    def grad(dy):
        return _sum_to_shape(dy, x_shape), _sum_to_shape(dy, y_shape)

    return record(_broadcast(np.add, x, y, "add"), (x, y), grad)


def subtract(x, y, name=None):
    x, y = as_tensor_pair(x, y, "subtract")
    x_shape, y_shape = x.shape, y.shape  # not the operands: the gradient does not need their values

    def grad(dy):
        return _sum_to_shape(dy, x_shape), _sum_to_shape(-dy, y_shape)

    return record(_broadcast(np.subtract, x, y, "subtract"), (x, y), grad)


def multiply(x, y, name=None):
    x, y = as_tensor_pair(x, y, "multiply")

    def grad(dy):
        return _sum_to_shape(dy * y, x.shape), _sum_to_shape(dy * x, y.shape)

    return record(_broadcast(np.multiply, x, y, "multiply"), (x, y), grad)


def divide(x, y, name=None):
    """``x / y``; integer operands give a float64 result, as ``tf.divide`` does."""
    x, y = as_tensor_pair(x, y, "divide")
    if x.dtype.kind in "iub":
        x, y = cast(x, np.float64), cast(y, np.float64)

    def grad(dy):
        return _sum_to_shape(dy / y, x.shape), _sum_to_shape(-dy * x / (y * y), y.shape)

    with np.errstate(divide="ignore", invalid="ignore"):
        return record(_broadcast(np.true_divide, x, y, "divide"), (x, y), grad)


def floordiv(x, y, name=None):
    """``x // y`` (rounds toward minus infinity); not differentiable."""
    x, y = as_tensor_pair(x, y, "floordiv")
    return Tensor(np.asarray(_broadcast(np.floor_divide, x, y, "floordiv")))


def mod(x, y, name=None):
    """``x % y`` with the sign of ``y`` (``tf.math.floormod``); not differentiable."""
    x, y = as_tensor_pair(x, y, "mod")
    return Tensor(np.asarray(_broadcast(np.mod, x, y, "mod")))


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
        out = record(_broadcast(np.power, x, y, "pow"), (x, y), grad)
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

    return record(_broadcast(np.maximum, x, y, "maximum"), (x, y), grad)


def minimum(x, y, name=None):
    x, y = as_tensor_pair(x, y, "minimum")

    def grad(dy):
        x_wins = x <= y
        zeros = array_ops.zeros_like(dy)
        return (
            _sum_to_shape(where(x_wins, dy, zeros), x.shape),
            _sum_to_shape(where(x_wins, zeros, dy), y.shape),
        )

    return record(_broadcast(np.minimum, x, y, "minimum"), (x, y), grad)


def squared_difference(x, y, name=None):
    """``(x - y) ** 2`` elementwise (``tf.math.squared_difference``)."""
    return square(subtract(x, y))


def clip_by_value(t, clip_value_min, clip_value_max, name=None):
    """``t`` with values below ``clip_value_min`` / above ``clip_value_max`` replaced by them.

    The gradient reaches ``t`` where ``min <= t <= max`` and the bounds elsewhere, as in TF.

    Example:
        >>> cnnlab.clip_by_value([-2.0, 0.5, 3.0], 0.0, 1.0).numpy()
        array([0. , 0.5, 1. ], dtype=float32)
    """
    t = as_tensor(t, "clip_by_value")
    clipped = minimum(maximum(t, clip_value_min), clip_value_max)
    if clipped.shape != t.shape:
        raise ValueError(
            f"clip_by_value: the clip values must not broadcast the tensor to a larger shape; received "
            f"t.shape={tuple(t.shape)} and a result of shape {tuple(clipped.shape)}."
        )
    return clipped


# ---- unary ----------------------------------------------------------------------


def negative(x, name=None):
    x = as_tensor(x, "negative")
    return record(-x._value, (x,), lambda dy: (-dy,))


def sign(x, name=None):
    """-1, 0 or 1 elementwise; its gradient is zero, so it is returned as a constant."""
    x = as_tensor(x, "sign")
    return Tensor(np.sign(x._value))


def abs(x, name=None):  # noqa: A001 - TF's name
    x = as_tensor(x, "abs")
    return record(np.abs(x._value), (x,), lambda dy: (dy * sign(x),))


def exp(x, name=None):
    x = _float_tensor(x, "exp")
    out = record(np.exp(x._value), (x,), lambda dy: (dy * out,))
    return out


def log(x, name=None):
    x = _float_tensor(x, "log")
    with np.errstate(divide="ignore", invalid="ignore"):
        return record(np.log(x._value), (x,), lambda dy: (dy / x,))


def log1p(x, name=None):
    """``log(1 + x)``, accurate for small ``x``."""
    x = _float_tensor(x, "log1p")
    with np.errstate(divide="ignore", invalid="ignore"):
        return record(np.log1p(x._value), (x,), lambda dy: (dy / (1 + x),))


def sqrt(x, name=None):
    x = _float_tensor(x, "sqrt")
    with np.errstate(invalid="ignore"):
        out = record(np.sqrt(x._value), (x,), lambda dy: (dy / (2 * out),))
    return out


def rsqrt(x, name=None):
    """``1 / sqrt(x)``."""
    x = _float_tensor(x, "rsqrt")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = record(1 / np.sqrt(x._value), (x,), lambda dy: (dy * -0.5 * out * out * out,))
    return out


def reciprocal(x, name=None):
    x = _float_tensor(x, "reciprocal")
    with np.errstate(divide="ignore"):
        out = record(1 / x._value, (x,), lambda dy: (-dy * out * out,))
    return out


def square(x, name=None):
    x = as_tensor(x, "square")
    return record(np.square(x._value), (x,), lambda dy: (dy * 2 * x,))


def sigmoid(x, name=None):
    """``1 / (1 + exp(-x))``, computed without overflow for large ``|x|``."""
    x = _float_tensor(x, "sigmoid")
    value = x._value
    # exp of a non-positive number cannot overflow; pick the form that only needs that.
    e = np.exp(-np.abs(value))
    out = record(np.where(value >= 0, 1 / (1 + e), e / (1 + e)), (x,), lambda dy: (dy * out * (1 - out),))
    return out


def tanh(x, name=None):
    x = _float_tensor(x, "tanh")
    out = record(np.tanh(x._value), (x,), lambda dy: (dy * (1 - out * out),))
    return out


def _no_gradient_unary(numpy_fn, op, doc):
    def unary(x, name=None):
        x = as_tensor(x, op)
        return Tensor(np.asarray(numpy_fn(x._value)))

    unary.__name__ = op
    unary.__doc__ = doc
    return unary


floor = _no_gradient_unary(np.floor, "floor", "Largest integer not greater than ``x``, elementwise; not differentiable.")
ceil = _no_gradient_unary(np.ceil, "ceil", "Smallest integer not less than ``x``, elementwise; not differentiable.")
round = _no_gradient_unary(np.round, "round", "Round half to even, elementwise (as TF); not differentiable.")  # noqa: A001
is_nan = _no_gradient_unary(np.isnan, "is_nan", "Where ``x`` is NaN (a bool tensor).")
is_inf = _no_gradient_unary(np.isinf, "is_inf", "Where ``x`` is +-inf (a bool tensor).")
is_finite = _no_gradient_unary(np.isfinite, "is_finite", "Where ``x`` is neither NaN nor +-inf (a bool tensor).")


# ---- comparisons and logic (no gradient) -------------------------------------------


def _compare(numpy_fn, op):
    def compare(x, y, name=None):
        x, y = as_tensor_pair(x, y, op)
        return Tensor(np.asarray(_broadcast(numpy_fn, x, y, op)))

    compare.__name__ = op
    compare.__doc__ = f"Elementwise ``{op}`` with broadcasting; a bool tensor, not differentiable."
    return compare


equal = _compare(np.equal, "equal")
not_equal = _compare(np.not_equal, "not_equal")
less = _compare(np.less, "less")
less_equal = _compare(np.less_equal, "less_equal")
greater = _compare(np.greater, "greater")
greater_equal = _compare(np.greater_equal, "greater_equal")


def _bool_tensor(x, op, argument):
    x = as_tensor(x, op)
    if x._value.dtype != np.bool_:
        raise TypeError(f"{op}: expected a bool tensor for {argument}; received dtype={x.dtype.name}.")
    return x


def _logical(numpy_fn, op):
    def logical(x, y, name=None):
        x, y = _bool_tensor(x, op, "x"), _bool_tensor(y, op, "y")
        return Tensor(np.asarray(_broadcast(numpy_fn, x, y, op)))

    logical.__name__ = op
    logical.__doc__ = f"Elementwise ``{op}`` of two bool tensors, with broadcasting."
    return logical


logical_and = _logical(np.logical_and, "logical_and")
logical_or = _logical(np.logical_or, "logical_or")
logical_xor = _logical(np.logical_xor, "logical_xor")


def logical_not(x, name=None):
    return Tensor(np.logical_not(_bool_tensor(x, "logical_not", "x")._value))


# ---- matmul ------------------------------------------------------------------------


def matmul(a, b, transpose_a=False, transpose_b=False, name=None):
    """Matrix product of the last two axes, batched over leading axes (``tf.linalg.matmul``).

    Shape:
        a: (..., M, K) (or (..., K, M) with ``transpose_a``); b: (..., K, N)
        (or (..., N, K) with ``transpose_b``); result: (..., M, N), the batch axes
        broadcast.
    """
    a, b = as_tensor_pair(a, b, "matmul", ("a", "b"))
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

    return record(products.matmul(av, bv), (a, b), grad)


# ---- dtype -----------------------------------------------------------------------------


def cast(x, dtype, name=None):
    """``x`` converted to ``dtype``; the gradient flows between float dtypes.

    Floats cast to integers are truncated toward zero, as in TF.
    """
    x = as_tensor(x, "cast")
    dtype = dtypes.as_dtype(dtype, "cast")
    if x.dtype == dtype:
        # A Variable is read into a new tensor, so that later assigns do not change the result.
        return array_ops.identity(x) if isinstance(x, Variable) else x
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
Tensor.__abs__ = abs
Tensor.__and__ = logical_and
Tensor.__rand__ = _reflected(logical_and)
Tensor.__or__ = logical_or
Tensor.__ror__ = _reflected(logical_or)
Tensor.__xor__ = logical_xor
Tensor.__rxor__ = _reflected(logical_xor)
Tensor.__invert__ = logical_not
# ``t == None`` is False (not an error), as in TF.
Tensor.__eq__ = lambda self, other: False if other is None else equal(self, other)
Tensor.__ne__ = lambda self, other: True if other is None else not_equal(self, other)
Tensor.__lt__ = less
Tensor.__le__ = less_equal
Tensor.__gt__ = greater
Tensor.__ge__ = greater_equal
