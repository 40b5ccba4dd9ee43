"""The rest of ``tf.math``'s elementwise family, each with its gradient beside it.

Trigonometric and hyperbolic functions and their inverses, ``expm1``, the error
function, ``log_sigmoid``, the "no NaN" divisions and the ``x * log(y)`` family
(zero wherever ``x`` is zero), ``add_n``, ``polyval``, and the integer divisions
that round toward zero.  ``math_ops`` holds the arithmetic the operators use.

Gradients are written in cnnlab ops, as everywhere, so an outer tape can
differentiate them again.
"""

import math

import numpy as np

from ..autodiff import record
from ..tensor import Tensor, as_tensor, as_tensor_pair
from . import array_ops
from .math_ops import _broadcast, _float_tensor, _sum_to_shape, add, exp, multiply, rsqrt, sigmoid


def _float_pair(x, y, op, names=("x", "y")):
    """Two operands as float tensors of one dtype, and their values broadcast against each other."""
    x, y = as_tensor_pair(x, y, op, names)
    if x._value.dtype.kind != "f":
        raise TypeError(f"{op}: expected floating-point tensors; received dtype={x.dtype.name}.")
    try:
        a, b = np.broadcast_arrays(x._value, y._value)
    except ValueError:
        raise ValueError(
            f"{op}: the shapes of {names[0]} and {names[1]} must be broadcast-compatible; received "
            f"{names[0]}.shape={tuple(x.shape)}, {names[1]}.shape={tuple(y.shape)}."
        ) from None
    return x, y, a, b


# ---- trigonometric and hyperbolic -------------------------------------------------------


def sin(x, name=None):
    """The sine of ``x`` (radians)."""
    x = _float_tensor(x, "sin")
    return record(np.sin(x._value), (x,), lambda dy: (dy * cos(x),))


def cos(x, name=None):
    """The cosine of ``x`` (radians)."""
    x = _float_tensor(x, "cos")
    return record(np.cos(x._value), (x,), lambda dy: (-dy * sin(x),))


def tan(x, name=None):
    """The tangent of ``x`` (radians)."""
    x = _float_tensor(x, "tan")
    out = record(np.tan(x._value), (x,), lambda dy: (dy * (1 + out * out),))
    return out


def sinh(x, name=None):
    """The hyperbolic sine."""
    x = _float_tensor(x, "sinh")
    return record(np.sinh(x._value), (x,), lambda dy: (dy * cosh(x),))


def cosh(x, name=None):
    """The hyperbolic cosine."""
    x = _float_tensor(x, "cosh")
    return record(np.cosh(x._value), (x,), lambda dy: (dy * sinh(x),))


def asin(x, name=None):
    """The inverse sine, in [-pi/2, pi/2]; NaN outside [-1, 1]."""
    x = _float_tensor(x, "asin")
    with np.errstate(invalid="ignore"):
        return record(np.arcsin(x._value), (x,), lambda dy: (dy * rsqrt(1 - x * x),))


def acos(x, name=None):
    """The inverse cosine, in [0, pi]; NaN outside [-1, 1]."""
    x = _float_tensor(x, "acos")
    with np.errstate(invalid="ignore"):
        return record(np.arccos(x._value), (x,), lambda dy: (-dy * rsqrt(1 - x * x),))


def atan(x, name=None):
    """The inverse tangent, in (-pi/2, pi/2)."""
    x = _float_tensor(x, "atan")
    return record(np.arctan(x._value), (x,), lambda dy: (dy / (1 + x * x),))


def atan2(y, x, name=None):
    """The angle of the point ``(x, y)``, in [-pi, pi] (note the order: ``y`` first, as TF)."""
    y, x, y_values, x_values = _float_pair(y, x, "atan2", ("y", "x"))

    def grad(dy):
        radius_squared = x * x + y * y
        return _sum_to_shape(dy * x / radius_squared, y.shape), _sum_to_shape(-dy * y / radius_squared, x.shape)

    return record(np.arctan2(y_values, x_values), (y, x), grad)


def asinh(x, name=None):
    """The inverse hyperbolic sine."""
    x = _float_tensor(x, "asinh")
    return record(np.arcsinh(x._value), (x,), lambda dy: (dy * rsqrt(x * x + 1),))


def acosh(x, name=None):
    """The inverse hyperbolic cosine, for ``x >= 1`` (NaN below)."""
    x = _float_tensor(x, "acosh")
    with np.errstate(invalid="ignore"):
        return record(np.arccosh(x._value), (x,), lambda dy: (dy * rsqrt(x * x - 1),))


def atanh(x, name=None):
    """The inverse hyperbolic tangent, for ``-1 < x < 1``."""
    x = _float_tensor(x, "atanh")
    with np.errstate(divide="ignore", invalid="ignore"):
        return record(np.arctanh(x._value), (x,), lambda dy: (dy / (1 - x * x),))


# ---- exponentials, error function, log-sigmoid ----------------------------------------------


def expm1(x, name=None):
    """``exp(x) - 1``, accurate for small ``x``."""
    x = _float_tensor(x, "expm1")
    return record(np.expm1(x._value), (x,), lambda dy: (dy * exp(x),))


# NumPy has no error function; Python's ``math.erf`` is correctly rounded in double precision.
_erf_values = np.frompyfunc(math.erf, 1, 1)
_erfc_values = np.frompyfunc(math.erfc, 1, 1)
_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)


def erf(x, name=None):
    """The Gauss error function ``2 / sqrt(pi) * integral from 0 to x of exp(-t**2) dt``."""
    x = _float_tensor(x, "erf")
    value = _erf_values(x._value).astype(x.dtype)
    return record(value, (x,), lambda dy: (dy * _TWO_OVER_SQRT_PI * exp(-x * x),))


def erfc(x, name=None):
    """``1 - erf(x)``, accurate where ``erf(x)`` is close to 1."""
    x = _float_tensor(x, "erfc")
    value = _erfc_values(x._value).astype(x.dtype)
    return record(value, (x,), lambda dy: (-dy * _TWO_OVER_SQRT_PI * exp(-x * x),))


def log_sigmoid(x, name=None):
    """``log(sigmoid(x)) = -softplus(-x)``, without overflow."""
    x = _float_tensor(x, "log_sigmoid")
    value = -np.logaddexp(0, -x._value).astype(x.dtype)
    return record(value, (x,), lambda dy: (dy * sigmoid(-x),))


# ---- divisions and products that give 0 instead of NaN ---------------------------------------


def _nonzero_mask(t):
    """1 where ``t`` is not zero, 0 where it is, in ``t``'s dtype (a constant)."""
    return Tensor((t._value != 0).astype(t.dtype))


def divide_no_nan(x, y, name=None):
    """``x / y``, and 0 wherever ``y`` is 0 (even for ``x`` = 0, inf or NaN)."""
    x, y, a, b = _float_pair(x, y, "divide_no_nan")

    def grad(dy):
        return _sum_to_shape(divide_no_nan(dy, y), x.shape), _sum_to_shape(
            dy * divide_no_nan(divide_no_nan(-x, y), y), y.shape
        )

    zero = b == 0
    with np.errstate(invalid="ignore"):
        value = np.where(zero, 0, a / np.where(zero, 1, b)).astype(a.dtype)
    return record(value, (x, y), grad)


def multiply_no_nan(x, y, name=None):
    """``x * y``, and 0 wherever ``y`` is 0 (even where ``x`` is inf or NaN)."""
    x, y, a, b = _float_pair(x, y, "multiply_no_nan")

    def grad(dy):
        return _sum_to_shape(multiply_no_nan(dy, y), x.shape), _sum_to_shape(multiply_no_nan(x, dy), y.shape)

    with np.errstate(invalid="ignore"):
        value = np.where(b == 0, 0, a * b).astype(a.dtype)
    return record(value, (x, y), grad)


def reciprocal_no_nan(x, name=None):
    """``1 / x``, and 0 where ``x`` is 0."""
    x = _float_tensor(x, "reciprocal_no_nan")
    zero = x._value == 0
    out = record(
        np.where(zero, 0, 1 / np.where(zero, 1, x._value)).astype(x.dtype), (x,), lambda dy: (-dy * out * out,)
    )
    return out


def xlogy(x, y, name=None):
    """``x * log(y)``, and 0 wherever ``x`` is 0 (even for ``y`` = 0)."""
    x, y, a, b = _float_pair(x, y, "xlogy")

    def grad(dy):
        return _sum_to_shape(dy * xlogy(_nonzero_mask(x), y), x.shape), _sum_to_shape(dy * xdivy(x, y), y.shape)

    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(a == 0, 0, a * np.log(b)).astype(a.dtype)
    return record(value, (x, y), grad)


def xlog1py(x, y, name=None):
    """``x * log1p(y)``, and 0 wherever ``x`` is 0."""
    x, y, a, b = _float_pair(x, y, "xlog1py")

    def grad(dy):
        return _sum_to_shape(dy * xlog1py(_nonzero_mask(x), y), x.shape), _sum_to_shape(dy * xdivy(x, y + 1), y.shape)

    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(a == 0, 0, a * np.log1p(b)).astype(a.dtype)
    return record(value, (x, y), grad)


def xdivy(x, y, name=None):
    """``x / y``, and 0 wherever ``x`` is 0 (even for ``y`` = 0)."""
    x, y, a, b = _float_pair(x, y, "xdivy")

    def grad(dy):
        return _sum_to_shape(dy * xdivy(_nonzero_mask(x), y), x.shape), _sum_to_shape(dy * xdivy(-x, y * y), y.shape)

    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(a == 0, 0, a / b).astype(a.dtype)
    return record(value, (x, y), grad)


# ---- sums and polynomials ----------------------------------------------------------------------


def add_n(inputs, name=None):
    """The elementwise sum of a list of tensors of one shape and dtype.

    Example:
        >>> cnnlab.add_n([[1, 2], [3, 4], [5, 6]]).numpy()
        array([ 9, 12], dtype=int32)
    """
    tensors = array_ops._as_tensor_list(inputs, "add_n")
    shape = tensors[0].shape
    if any(t.shape != shape for t in tensors):
        raise ValueError(
            f"add_n: all inputs must have the same shape; received shapes {[tuple(t.shape) for t in tensors]}."
        )
    total = tensors[0]
    for t in tensors[1:]:
        total = add(total, t)
    return total if len(tensors) > 1 else array_ops.identity(total)


def accumulate_n(inputs, shape=None, tensor_dtype=None, name=None):
    """``add_n`` under its older name; ``shape`` and ``tensor_dtype``, when given, are checked."""
    total = add_n(inputs)
    if shape is not None and tuple(total.shape) != tuple(shape):
        raise ValueError(f"accumulate_n: the inputs have shape {tuple(total.shape)}; received shape={list(shape)}.")
    if tensor_dtype is not None and total.dtype != np.dtype(tensor_dtype):
        raise TypeError(
            f"accumulate_n: the inputs have dtype {total.dtype.name}; received tensor_dtype={tensor_dtype!r}."
        )
    return total


def scalar_mul(scalar, x, name=None):
    """``scalar * x`` for a scalar ``scalar``."""
    s = as_tensor(scalar, "scalar_mul")
    if s.ndim != 0:
        raise ValueError(f"scalar_mul: scalar must be a scalar; received shape={tuple(s.shape)}.")
    return multiply(scalar, x)


def polyval(coeffs, x, name=None):
    """``coeffs[0] * x**(n-1) + ... + coeffs[n-1]``, by Horner's rule (``coeffs`` a list of tensors)."""
    if not isinstance(coeffs, (list, tuple)):
        raise ValueError(f"polyval: coeffs must be a list of tensors; received {type(coeffs).__name__}.")
    x = as_tensor(x, "polyval")
    if not coeffs:
        return array_ops.zeros_like(x)
    total = add(array_ops.zeros_like(x), coeffs[0])
    for c in coeffs[1:]:
        total = add(multiply(total, x), c)
    return total


# ---- rounding and integer division (no gradient) ----------------------------------------------


def rint(x, name=None):
    """The nearest integer, halves to even (``rint(2.5) == 2``); not differentiable."""
    x = _float_tensor(x, "rint")
    return Tensor(np.rint(x._value))


def truncatediv(x, y, name=None):
    """``x / y`` rounded toward zero (C's integer division); not differentiable."""
    x, y = as_tensor_pair(x, y, "truncatediv")
    if x._value.dtype.kind in "iu":
        if np.any(y._value == 0):
            raise ValueError("truncatediv: integer division by zero.")
        magnitude = _broadcast(np.floor_divide, Tensor(np.abs(x._value)), Tensor(np.abs(y._value)), "truncatediv")
        return Tensor(np.asarray(np.sign(x._value) * np.sign(y._value) * magnitude, dtype=x.dtype))
    with np.errstate(divide="ignore", invalid="ignore"):
        return Tensor(np.asarray(np.trunc(_broadcast(np.true_divide, x, y, "truncatediv")), dtype=x.dtype))


def truncatemod(x, y, name=None):
    """The remainder of ``truncatediv``: its sign is that of ``x`` (C's ``%``, ``np.fmod``)."""
    x, y = as_tensor_pair(x, y, "truncatemod")
    if x._value.dtype.kind in "iu" and np.any(y._value == 0):
        raise ValueError("truncatemod: integer division by zero.")
    with np.errstate(divide="ignore", invalid="ignore"):
        return Tensor(np.asarray(_broadcast(np.fmod, x, y, "truncatemod")))


def nextafter(x1, x2, name=None):
    """The next representable value after ``x1`` in the direction of ``x2``."""
    x1, x2 = as_tensor_pair(x1, x2, "nextafter", ("x1", "x2"))
    if x1._value.dtype.kind != "f":
        raise TypeError(f"nextafter: expected floating-point tensors; received dtype={x1.dtype.name}.")
    return Tensor(np.asarray(_broadcast(np.nextafter, x1, x2, "nextafter")))


# ---- tests on a whole tensor -------------------------------------------------------------------


def is_non_decreasing(x, name=None):
    """Whether ``x``, read in row-major order, never decreases (a scalar bool tensor)."""
    flat = as_tensor(x, "is_non_decreasing")._value.reshape(-1)
    return Tensor(np.asarray(bool(np.all(flat[1:] >= flat[:-1]))))


def is_strictly_increasing(x, name=None):
    """Whether ``x``, read in row-major order, always increases (a scalar bool tensor)."""
    flat = as_tensor(x, "is_strictly_increasing")._value.reshape(-1)
    return Tensor(np.asarray(bool(np.all(flat[1:] > flat[:-1]))))


def zero_fraction(value, name=None):
    """The fraction of elements of ``value`` that are zero, a float32 scalar."""
    array = as_tensor(value, "zero_fraction")._value
    return Tensor(np.asarray(np.mean(array == 0) if array.size else np.nan, dtype=np.float32))


def invert_permutation(x, name=None):
    """The inverse of a permutation of ``0 .. n-1``: ``y[x[i]] = i``."""
    perm = as_tensor(x, "invert_permutation")._value
    if perm.ndim != 1 or perm.dtype.kind not in "iu" or sorted(perm.tolist()) != list(range(perm.size)):
        raise ValueError(f"invert_permutation: x must be a 1-D permutation of 0..n-1; received {perm.tolist()!r}.")
    inverse = np.empty_like(perm)
    inverse[perm] = np.arange(perm.size, dtype=perm.dtype)
    return Tensor(inverse)


__all__ = [
    "acos",
    "acosh",
    "accumulate_n",
    "add_n",
    "asin",
    "asinh",
    "atan",
    "atan2",
    "atanh",
    "cos",
    "cosh",
    "divide_no_nan",
    "erf",
    "erfc",
    "expm1",
    "invert_permutation",
    "is_non_decreasing",
    "is_strictly_increasing",
    "log_sigmoid",
    "multiply_no_nan",
    "nextafter",
    "polyval",
    "reciprocal_no_nan",
    "rint",
    "scalar_mul",
    "sin",
    "sinh",
    "tan",
    "truncatediv",
    "truncatemod",
    "xdivy",
    "xlog1py",
    "xlogy",
    "zero_fraction",
]
