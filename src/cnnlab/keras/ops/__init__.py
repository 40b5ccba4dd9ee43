"""``keras.ops``: Keras 3's backend-independent, NumPy-like ops, on cnnlab tensors.

Each function takes tensors, arrays or Python numbers and returns a cnnlab tensor,
differentiable under a ``GradientTape`` wherever the op has a gradient.  Arguments
follow NumPy's (``axis=None`` flattens for ``argmax`` and ``take``; ``keepdims``),
and dtypes follow Keras 3's rules rather than TF's:

* ops that make floats from integers (``exp``, ``sqrt``, ``mean``, ``divide``, ...)
  give float32 for integer or bool input (float64 stays float64);
* two operands of different dtypes are promoted (a float beats an integer; the
  wider float wins), and a Python number takes the other operand's dtype
  (a Python float with an integer tensor gives float32);
* ``sum`` / ``prod`` of bools and small integers give int32, ``argmax`` int32.

Example:
    >>> from cnnlab.keras import ops
    >>> ops.mean(ops.square(ops.convert_to_tensor([1, 2, 3])))
    <tf.Tensor: shape=(), dtype=float32, numpy=4.6666665>

Not here (see the README's known differences): Fourier transforms and signal
windows, matrix decompositions and solvers (``inv``, ``det``, ``svd``, ``qr``,
``cholesky``, ``eig``, ``solve``, ...), bitwise ops, complex numbers, the ``nan*``
and ``segment_*`` families, CTC, ``dot_product_attention``, ``custom_gradient``,
``jvp``, depthwise / separable / transposed convolution ops, and ``ops.image``
beyond ``resize``, ``rgb_to_grayscale``, ``pad_images`` and ``crop_images``.
"""

import builtins
import math

import numpy as np

from ... import dtypes as cnnlab_dtypes
from ...ops import (
    array_ops,
    elementwise_ops,
    histogram_ops,
    indexing_ops,
    linalg_ops,
    math_ops,
    nn_ops,
    pool_ops,
    reduction_ops,
    scan_ops,
    sort_ops,
)
from ...ops.conv_ops import conv2d
from ...tensor import Tensor, _to_array, as_tensor, shape_argument
from ...tensor import convert_to_tensor as _convert
from . import image

_FLOATX = cnnlab_dtypes.float32
_PYTHON_NUMBERS = (bool, int, float)


# ---- conversion and Keras's dtype rules ---------------------------------------------------------


def _tensor(x, op="keras.ops"):
    return x if isinstance(x, Tensor) else Tensor(_to_array(x, None, op))


def _is_weak(x):
    """A Python number (weakly typed: it takes the other operand's dtype)."""
    return isinstance(x, _PYTHON_NUMBERS) and not isinstance(x, np.generic)


def _result_dtype(*values):
    """Keras's result dtype of operands: arrays decide, Python numbers only lift an integer to float32."""
    strong = [_tensor(v).dtype for v in values if not _is_weak(v)]
    weak_float = builtins.any(isinstance(v, float) for v in values if _is_weak(v))
    weak_int = builtins.any(isinstance(v, int) and not isinstance(v, bool) for v in values if _is_weak(v))
    if not strong:
        return _FLOATX if weak_float else (cnnlab_dtypes.int32 if weak_int else cnnlab_dtypes.bool_)
    floats = [d for d in strong if d.kind == "f"]
    if floats:
        return builtins.max(floats, key=lambda d: d.itemsize)
    if weak_float:
        return _FLOATX
    result = np.result_type(*strong)
    if result == np.bool_ and weak_int:
        return cnnlab_dtypes.int32
    return result


def _promoted(*values):
    """The operands as tensors of their Keras result dtype."""
    dtype = _result_dtype(*values)
    return [_cast_to(v, dtype) for v in values]


def _cast_to(value, dtype):
    t = _tensor(value) if not _is_weak(value) else Tensor(np.asarray(value, dtype=dtype))
    return t if t.dtype == dtype else math_ops.cast(t, dtype)


def _floating(x):
    """``x`` as a float tensor: integers and bools become float32 (Keras's floatx)."""
    t = _tensor(x)
    return t if t.dtype.kind == "f" else math_ops.cast(t, _FLOATX)


def _axis(axis):
    return list(axis) if isinstance(axis, tuple) else axis


# ---- creation ----------------------------------------------------------------------------------


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    """``x`` as a tensor (Python floats become float32, ints int32; arrays keep their dtype)."""
    if dtype is not None and isinstance(x, Tensor) and x.dtype != np.dtype(dtype):
        return math_ops.cast(x, dtype)
    return _convert(x, dtype=dtype)


def convert_to_numpy(x):
    """``x`` as a NumPy array."""
    return np.array(_tensor(x)._value)


def array(x, dtype=None):
    return convert_to_tensor(x, dtype)


def cast(x, dtype):
    return math_ops.cast(_tensor(x), dtype)


def saturate_cast(x, dtype):
    """``cast`` with values clipped to the range of ``dtype`` first."""
    t, dtype = _tensor(x), np.dtype(dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        t = math_ops.clip_by_value(t, info.min, info.max) if t.dtype.kind == "f" else t
    return math_ops.cast(t, dtype)


def is_tensor(x):
    return isinstance(x, Tensor)


def dtype(x):
    """The dtype's name, as Keras gives it ('float32')."""
    return _tensor(x).dtype.name


def shape(x):
    """The shape as a tuple of ints."""
    return tuple(_tensor(x).shape)


def ndim(x):
    return _tensor(x).ndim


def size(x):
    return math.prod(_tensor(x).shape)


def zeros(shape, dtype=None):
    return array_ops.zeros(shape, dtype or _FLOATX)


def ones(shape, dtype=None):
    return array_ops.ones(shape, dtype or _FLOATX)


def empty(shape, dtype=None):
    """A tensor of ``shape`` (filled with zeros: cnnlab has no uninitialized memory to hand out)."""
    return zeros(shape, dtype)


def full(shape, fill_value, dtype=None):
    value = _tensor(fill_value)
    return Tensor(np.full(shape_argument(shape, "full"), value._value, dtype=dtype or value.dtype))


def zeros_like(x, dtype=None):
    return array_ops.zeros_like(_tensor(x), dtype)


def ones_like(x, dtype=None):
    return array_ops.ones_like(_tensor(x), dtype)


def empty_like(x, dtype=None):
    return zeros_like(x, dtype)


def full_like(x, fill_value, dtype=None):
    t = _tensor(x)
    return Tensor(np.full(t.shape, _tensor(fill_value)._value, dtype=dtype or t.dtype))


def arange(start, stop=None, step=1, dtype=None):
    """``[start, stop)`` by ``step``: int32 for integers, float32 when any argument is a float."""
    if stop is None:
        start, stop = 0, start
    bounds = [_tensor(v)._value.item() for v in (start, stop, step)]
    if dtype is None:
        dtype = _FLOATX if builtins.any(isinstance(b, float) for b in bounds) else cnnlab_dtypes.int32
    return Tensor(np.arange(*bounds, dtype=np.dtype(dtype)))


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """``num`` evenly spaced values (NumPy's ``linspace``; float32 by default)."""
    values = np.linspace(
        _tensor(start)._value, _tensor(stop)._value, num, endpoint=endpoint, retstep=retstep, axis=axis
    )
    if retstep:
        values, step = values
        return Tensor(values.astype(dtype or _FLOATX)), Tensor(np.asarray(step, dtype or _FLOATX))
    return Tensor(values.astype(dtype or _FLOATX))


def logspace(start, stop, num=50, endpoint=True, base=10, dtype=None, axis=0):
    return Tensor(np.logspace(start, stop, num, endpoint=endpoint, base=base, axis=axis).astype(dtype or _FLOATX))


def eye(N, M=None, k=0, dtype=None):  # noqa: N803 - NumPy's argument names
    return Tensor(np.eye(N, M, k, dtype=dtype or _FLOATX))


def identity(n, dtype=None):
    return eye(n, dtype=dtype)


def tri(N, M=None, k=0, dtype=None):  # noqa: N803
    return Tensor(np.tri(N, M, k, dtype=dtype or _FLOATX))


def tril(x, k=0):
    t = _tensor(x)
    return t * Tensor(np.tri(*t.shape[-2:], k, dtype=bool).astype(t.dtype))


def triu(x, k=0):
    t = _tensor(x)
    return t * Tensor((~np.tri(*t.shape[-2:], k - 1, dtype=bool)).astype(t.dtype))


def copy(x):
    return array_ops.identity(_tensor(x))


def meshgrid(*x, indexing="xy"):
    return array_ops.meshgrid(*[_tensor(v) for v in x], indexing=indexing)


# ---- elementwise -----------------------------------------------------------------------------


def _unary_float(cnnlab_op, name):
    def op(x):
        return cnnlab_op(_floating(x))

    op.__name__ = name
    op.__doc__ = f"Elementwise ``{name}``; integer input gives float32."
    return op


exp = _unary_float(math_ops.exp, "exp")
expm1 = _unary_float(elementwise_ops.expm1, "expm1")
log = _unary_float(math_ops.log, "log")
log1p = _unary_float(math_ops.log1p, "log1p")
sqrt = _unary_float(math_ops.sqrt, "sqrt")
rsqrt = _unary_float(math_ops.rsqrt, "rsqrt")
reciprocal = _unary_float(math_ops.reciprocal, "reciprocal")
sin = _unary_float(elementwise_ops.sin, "sin")
cos = _unary_float(elementwise_ops.cos, "cos")
tan = _unary_float(elementwise_ops.tan, "tan")
arcsin = _unary_float(elementwise_ops.asin, "arcsin")
arccos = _unary_float(elementwise_ops.acos, "arccos")
arctan = _unary_float(elementwise_ops.atan, "arctan")
sinh = _unary_float(elementwise_ops.sinh, "sinh")
cosh = _unary_float(elementwise_ops.cosh, "cosh")
tanh = _unary_float(math_ops.tanh, "tanh")
arcsinh = _unary_float(elementwise_ops.asinh, "arcsinh")
arccosh = _unary_float(elementwise_ops.acosh, "arccosh")
arctanh = _unary_float(elementwise_ops.atanh, "arctanh")
erf = _unary_float(elementwise_ops.erf, "erf")
erfc = _unary_float(elementwise_ops.erfc, "erfc")
sigmoid = _unary_float(math_ops.sigmoid, "sigmoid")
softplus = _unary_float(nn_ops.softplus, "softplus")
softsign = _unary_float(nn_ops.softsign, "softsign")
log_sigmoid = _unary_float(elementwise_ops.log_sigmoid, "log_sigmoid")
silu = swish = _unary_float(nn_ops.silu, "silu")
selu = _unary_float(nn_ops.selu, "selu")


def exp2(x):
    x = _floating(x)
    return math_ops.exp(x * x.dtype.type(math.log(2)))


def log2(x):
    x = _floating(x)
    return math_ops.log(x) / x.dtype.type(math.log(2))


def log10(x):
    x = _floating(x)
    return math_ops.log(x) / x.dtype.type(math.log(10))


def cbrt(x):
    x = _floating(x)
    return math_ops.sign(x) * math_ops.pow(math_ops.abs(x), x.dtype.type(1 / 3))


def deg2rad(x):
    x = _floating(x)
    return x * x.dtype.type(math.pi / 180)


def rad2deg(x):
    x = _floating(x)
    return x * x.dtype.type(180 / math.pi)


def abs(x):  # noqa: A001 - Keras's name
    return math_ops.abs(_tensor(x))


absolute = abs


def fabs(x):
    return math_ops.abs(_floating(x))


def negative(x):
    return math_ops.negative(_tensor(x))


def square(x):
    t = _tensor(x)
    return math_ops.square(math_ops.cast(t, cnnlab_dtypes.int32) if t.dtype == np.bool_ else t)


def sign(x):
    return math_ops.sign(_tensor(x))


def floor(x):
    return math_ops.floor(_floating(x))


def ceil(x):
    return math_ops.ceil(_floating(x))


def trunc(x):
    t = _tensor(x)
    return Tensor(np.trunc(t._value)) if t.dtype.kind == "f" else t


def round(x, decimals=0):  # noqa: A001
    """Round half to even, to ``decimals`` places."""
    t = _tensor(x)
    return Tensor(np.round(t._value, decimals))


def clip(x, x_min, x_max):
    t = _tensor(x)
    if t.dtype == np.bool_:
        t = math_ops.cast(t, cnnlab_dtypes.int32)
    return math_ops.minimum(math_ops.maximum(t, _cast_to(x_min, t.dtype)), _cast_to(x_max, t.dtype))


def isnan(x):
    return math_ops.is_nan(_tensor(x))


def isinf(x):
    return math_ops.is_inf(_tensor(x))


def isfinite(x):
    return math_ops.is_finite(_tensor(x))


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    t = _tensor(x)
    return Tensor(np.nan_to_num(t._value, nan=nan, posinf=posinf, neginf=neginf))


def logical_not(x):
    return math_ops.logical_not(cast(x, "bool"))


# ---- binary -----------------------------------------------------------------------------------


def _binary(cnnlab_op, name, floating=False):
    def op(x1, x2):
        a, b = _promoted(x1, x2)
        if floating and a.dtype.kind != "f":
            a, b = math_ops.cast(a, _FLOATX), math_ops.cast(b, _FLOATX)
        return cnnlab_op(a, b)

    op.__name__ = name
    op.__doc__ = f"Elementwise ``{name}`` with broadcasting, operands promoted to one dtype (Keras's rules)."
    return op


add = _binary(math_ops.add, "add")
subtract = _binary(math_ops.subtract, "subtract")
multiply = _binary(math_ops.multiply, "multiply")
divide = true_divide = _binary(math_ops.divide, "divide", floating=True)
divide_no_nan = _binary(elementwise_ops.divide_no_nan, "divide_no_nan", floating=True)
floor_divide = _binary(math_ops.floordiv, "floor_divide")
mod = _binary(math_ops.mod, "mod")
fmod = _binary(elementwise_ops.truncatemod, "fmod")
maximum = _binary(math_ops.maximum, "maximum")
minimum = _binary(math_ops.minimum, "minimum")
fmax = maximum
fmin = minimum
arctan2 = _binary(elementwise_ops.atan2, "arctan2", floating=True)
equal = _binary(math_ops.equal, "equal")
not_equal = _binary(math_ops.not_equal, "not_equal")
greater = _binary(math_ops.greater, "greater")
greater_equal = _binary(math_ops.greater_equal, "greater_equal")
less = _binary(math_ops.less, "less")
less_equal = _binary(math_ops.less_equal, "less_equal")
nextafter = _binary(elementwise_ops.nextafter, "nextafter", floating=True)


def power(x1, x2):
    a, b = _promoted(x1, x2)
    return math_ops.pow(a, b)


def logical_and(x1, x2):
    return math_ops.logical_and(cast(x1, "bool"), cast(x2, "bool"))


def logical_or(x1, x2):
    return math_ops.logical_or(cast(x1, "bool"), cast(x2, "bool"))


def logical_xor(x1, x2):
    return math_ops.logical_xor(cast(x1, "bool"), cast(x2, "bool"))


def hypot(x1, x2):
    a, b = _promoted(_floating(x1), _floating(x2))
    return math_ops.sqrt(a * a + b * b)


def logaddexp(x1, x2):
    a, b = _promoted(_floating(x1), _floating(x2))
    peak = math_ops.maximum(a, b)
    peak = Tensor(np.where(np.isfinite(peak._value), peak._value, 0))
    return math_ops.log(math_ops.exp(a - peak) + math_ops.exp(b - peak)) + peak


def isclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    a, b = _promoted(x1, x2)
    return Tensor(np.isclose(a._value, b._value, rtol=rtol, atol=atol, equal_nan=equal_nan))


def allclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    a, b = _promoted(x1, x2)
    return Tensor(np.asarray(np.allclose(a._value, b._value, rtol=rtol, atol=atol, equal_nan=equal_nan)))


def heaviside(x1, x2):
    a, b = _promoted(_floating(x1), _floating(x2))
    return Tensor(np.heaviside(a._value, b._value))


def where(condition, x1=None, x2=None):
    """``x1`` where ``condition`` holds, else ``x2``; with only ``condition``, the indices of its True elements."""
    mask = cast(condition, "bool")
    if x1 is None and x2 is None:
        return nonzero(mask)
    if x1 is None or x2 is None:
        raise ValueError("keras.ops.where: give both x1 and x2, or neither.")
    a, b = _promoted(x1, x2)
    return array_ops.where(mask, a, b)


def select(condlist, choicelist, default=0):
    """The first choice whose condition holds, element by element (``np.select``)."""
    result = _tensor(default)
    for condition, choice in reversed(list(zip(condlist, choicelist))):
        result = where(condition, choice, result)
    return result


def nonzero(x):
    """A tuple of index tensors (int32), one per axis, of the non-zero elements."""
    return tuple(Tensor(i.astype(np.int32)) for i in np.nonzero(_tensor(x)._value))


# ---- products -----------------------------------------------------------------------------------


def matmul(x1, x2):
    """The matrix product, NumPy's way: 1-D operands are vectors."""
    a, b = _promoted(x1, x2)
    if a.ndim == 1 and b.ndim == 1:
        return reduction_ops.reduce_sum(a * b)
    if a.ndim == 1:
        return array_ops.squeeze(math_ops.matmul(array_ops.expand_dims(a, 0), b), -2)
    if b.ndim == 1:
        return array_ops.squeeze(math_ops.matmul(a, array_ops.expand_dims(b, -1)), -1)
    return math_ops.matmul(a, b)


def dot(x1, x2):
    """NumPy's ``dot``: sum over the last axis of ``x1`` and the next-to-last of ``x2``."""
    a, b = _promoted(x1, x2)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if b.ndim == 1 or a.ndim == 1 or b.ndim == 2:
        return matmul(a, b)
    return linalg_ops.tensordot(a, b, [[a.ndim - 1], [b.ndim - 2]])


def tensordot(x1, x2, axes=2):
    a, b = _promoted(x1, x2)
    return linalg_ops.tensordot(a, b, axes)


def outer(x1, x2):
    a, b = _promoted(x1, x2)
    return array_ops.reshape(a, [-1, 1]) * array_ops.reshape(b, [1, -1])


def inner(x1, x2):
    a, b = _promoted(x1, x2)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    return linalg_ops.tensordot(a, b, [[a.ndim - 1], [b.ndim - 1]])


def vdot(x1, x2):
    a, b = _promoted(x1, x2)
    return reduction_ops.reduce_sum(array_ops.reshape(a, [-1]) * array_ops.reshape(b, [-1]))


def einsum(subscripts, *operands, **kwargs):
    return linalg_ops.einsum(subscripts, *_promoted(*operands))


def _other_axes(ndim, axis1, axis2):
    return [a for a in range(ndim) if a not in (axis1, axis2)]


def trace(x, offset=0, axis1=0, axis2=1):
    t = _tensor(x)
    axis1, axis2 = axis1 % t.ndim, axis2 % t.ndim
    eye_mask = Tensor(np.eye(t.shape[axis1], t.shape[axis2], offset, dtype=t.dtype))
    moved = array_ops.transpose(t, [*_other_axes(t.ndim, axis1, axis2), axis1, axis2])
    return reduction_ops.reduce_sum(moved * eye_mask, axis=[-2, -1])


def diagonal(x, offset=0, axis1=0, axis2=1):
    t = _tensor(x)
    rows = np.arange(builtins.max(-offset, 0), t.shape[axis1])
    columns = rows + offset
    keep = columns < t.shape[axis2]
    rows, columns = rows[keep], columns[keep]
    axis1, axis2 = axis1 % t.ndim, axis2 % t.ndim
    moved = array_ops.transpose(t, [axis1, axis2, *_other_axes(t.ndim, axis1, axis2)])
    picked = array_ops.getitem(moved, (rows, columns))
    return array_ops.transpose(picked, [*range(1, picked.ndim), 0])


def diag(x, k=0):
    t = _tensor(x)
    if t.ndim == 1:
        n = t.shape[0] + builtins.abs(k)
        rows = np.arange(t.shape[0]) + builtins.max(-k, 0)
        columns = rows + k
        return indexing_ops.scatter_nd(np.stack([rows, columns], -1), t, [n, n])
    return diagonal(t, k)


# ---- reductions ------------------------------------------------------------------------------------


def _integer_sum_dtype(t):
    """Keras sums bools and integers narrower than 32 bits as int32 (uint32 as uint32)."""
    if t.dtype == np.bool_ or (t.dtype.kind in "iu" and t.dtype.itemsize < 4):
        return math_ops.cast(t, cnnlab_dtypes.int32)
    return t


def sum(x, axis=None, keepdims=False):  # noqa: A001
    return reduction_ops.reduce_sum(_integer_sum_dtype(_tensor(x)), axis=_axis(axis), keepdims=keepdims)


def prod(x, axis=None, keepdims=False, dtype=None):
    t = _integer_sum_dtype(_tensor(x)) if dtype is None else cast(x, dtype)
    return reduction_ops.reduce_prod(t, axis=_axis(axis), keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    return reduction_ops.reduce_mean(_floating(x), axis=_axis(axis), keepdims=keepdims)


def max(x, axis=None, keepdims=False, initial=None):  # noqa: A001
    result = reduction_ops.reduce_max(_tensor(x), axis=_axis(axis), keepdims=keepdims)
    return result if initial is None else math_ops.maximum(result, _cast_to(initial, result.dtype))


def min(x, axis=None, keepdims=False, initial=None):  # noqa: A001
    result = reduction_ops.reduce_min(_tensor(x), axis=_axis(axis), keepdims=keepdims)
    return result if initial is None else math_ops.minimum(result, _cast_to(initial, result.dtype))


amax = max
amin = min


def var(x, axis=None, keepdims=False):
    return reduction_ops.reduce_variance(_floating(x), axis=_axis(axis), keepdims=keepdims)


def std(x, axis=None, keepdims=False):
    return reduction_ops.reduce_std(_floating(x), axis=_axis(axis), keepdims=keepdims)


def any(x, axis=None, keepdims=False):  # noqa: A001
    return reduction_ops.reduce_any(cast(x, "bool"), axis=_axis(axis), keepdims=keepdims)


def all(x, axis=None, keepdims=False):  # noqa: A001
    return reduction_ops.reduce_all(cast(x, "bool"), axis=_axis(axis), keepdims=keepdims)


def _arg_extremum(numpy_fn, x, axis, keepdims):
    t = _tensor(x)
    value = numpy_fn(t._value, axis=axis, keepdims=keepdims)
    return Tensor(np.asarray(value, dtype=np.int32))


def argmax(x, axis=None, keepdims=False):
    """The index of the largest element along ``axis`` (of the flattened tensor when None), int32."""
    return _arg_extremum(np.argmax, x, axis, keepdims)


def argmin(x, axis=None, keepdims=False):
    return _arg_extremum(np.argmin, x, axis, keepdims)


def logsumexp(x, axis=None, keepdims=False):
    return reduction_ops.reduce_logsumexp(_floating(x), axis=_axis(axis), keepdims=keepdims)


def count_nonzero(x, axis=None):
    return math_ops.cast(reduction_ops.count_nonzero(_tensor(x), axis=_axis(axis)), cnnlab_dtypes.int32)


def average(x, axis=None, weights=None):
    x = _floating(x)
    if weights is None:
        return mean(x, axis)
    w = _cast_to(weights, x.dtype)
    if axis is not None and w.ndim == 1 and x.ndim > 1:
        shape = [1] * x.ndim
        shape[axis] = -1
        w = array_ops.reshape(w, shape)
    return reduction_ops.reduce_sum(x * w, axis=axis) / reduction_ops.reduce_sum(
        array_ops.broadcast_to(w, x.shape), axis=axis
    )


def _quantiles(x, q, axis, keepdims, method):
    t = _floating(x)
    result = np.quantile(t._value, _tensor(q)._value, axis=axis, keepdims=keepdims, method=method)
    return Tensor(np.asarray(result, dtype=t.dtype))


def quantile(x, q, axis=None, method="linear", keepdims=False):
    """The ``q``-th quantiles (q in [0, 1]), NumPy's ``method``; not differentiable."""
    return _quantiles(x, q, axis, keepdims, method)


def percentile(x, q, axis=None, method="linear", keepdims=False):
    return _quantiles(x, np.asarray(_tensor(q)._value, np.float64) / 100, axis, keepdims, method)


def median(x, axis=None, keepdims=False):
    return _quantiles(x, 0.5, axis, keepdims, "linear")


def ptp(x, axis=None, keepdims=False):
    return max(x, axis, keepdims) - min(x, axis, keepdims)


def cumsum(x, axis=None, dtype=None):
    t = _integer_sum_dtype(_tensor(x)) if dtype is None else cast(x, dtype)
    if axis is None:
        t, axis = array_ops.reshape(t, [-1]), 0
    return scan_ops.cumsum(t, axis)


def cumprod(x, axis=None, dtype=None):
    t = _integer_sum_dtype(_tensor(x)) if dtype is None else cast(x, dtype)
    if axis is None:
        t, axis = array_ops.reshape(t, [-1]), 0
    return scan_ops.cumprod(t, axis)


def norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002 - NumPy's name
    """Vector or matrix norm, as ``np.linalg.norm`` (the 2-norm of all elements by default)."""
    t = _floating(x)
    if axis is None:
        if ord is None:  # the 2-norm of all the elements, whatever the rank
            return linalg_ops.norm(t, axis=None, keepdims=keepdims)
        axis = (0, 1) if t.ndim == 2 else None
    kind = "euclidean" if ord in (None, "fro") else ord
    return linalg_ops.norm(t, ord=kind, axis=_axis(axis), keepdims=keepdims)


def normalize(x, axis=-1, order=2, epsilon=None):
    """``x`` divided by its ``order``-norm along ``axis``."""
    t = _floating(x)
    if order == 2:
        return linalg_ops.l2_normalize(t, axis=axis, epsilon=1e-12 if epsilon is None else epsilon)
    length = linalg_ops.norm(t, ord=order, axis=axis, keepdims=True)
    return t / math_ops.maximum(length, 1e-12 if epsilon is None else epsilon)


def moments(x, axes, keepdims=False, synchronized=False):
    """``(mean, variance)`` over ``axes``."""
    return nn_ops.moments(_floating(x), axes=_axis(axes), keepdims=keepdims)


# ---- shapes ----------------------------------------------------------------------------------------


def reshape(x, newshape):
    return array_ops.reshape(_tensor(x), newshape)


def ravel(x):
    return array_ops.reshape(_tensor(x), [-1])


def transpose(x, axes=None):
    return array_ops.transpose(_tensor(x), axes)


def expand_dims(x, axis):
    t = _tensor(x)
    for a in sorted(axis) if isinstance(axis, (tuple, list)) else [axis]:
        t = array_ops.expand_dims(t, a)
    return t


def squeeze(x, axis=None):
    return array_ops.squeeze(_tensor(x), _axis(axis))


def moveaxis(x, source, destination):
    t = _tensor(x)
    sources = [a % t.ndim for a in (source if isinstance(source, (tuple, list)) else [source])]
    destinations = [a % t.ndim for a in (destination if isinstance(destination, (tuple, list)) else [destination])]
    order = [a for a in range(t.ndim) if a not in sources]
    for where_to, axis in sorted(zip(destinations, sources)):
        order.insert(where_to, axis)
    return array_ops.transpose(t, order)


def swapaxes(x, axis1, axis2):
    t = _tensor(x)
    order = list(range(t.ndim))
    order[axis1], order[axis2] = order[axis2], order[axis1]
    return array_ops.transpose(t, order)


def stack(x, axis=0):
    return array_ops.stack(_promoted(*x), axis=axis)


def concatenate(xs, axis=0):
    tensors = _promoted(*xs)
    if axis is None:
        return array_ops.concat([array_ops.reshape(t, [-1]) for t in tensors], 0)
    return array_ops.concat(tensors, axis)


def append(x1, x2, axis=None):
    return concatenate([x1, x2], axis)


def hstack(xs):
    tensors = _promoted(*xs)
    return array_ops.concat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(xs):
    tensors = [t if t.ndim > 1 else array_ops.reshape(t, [1, -1]) for t in _promoted(*xs)]
    return array_ops.concat(tensors, 0)


def split(x, indices_or_sections, axis=0):
    """Split at the given indices, or into that many equal sections (NumPy's ``split``)."""
    t = _tensor(x)
    if isinstance(indices_or_sections, int):
        return array_ops.split(t, indices_or_sections, axis)
    bounds = [0, *indices_or_sections, t.shape[axis]]
    return array_ops.split(t, [b - a for a, b in zip(bounds[:-1], bounds[1:])], axis)


def array_split(x, indices_or_sections, axis=0):
    t = _tensor(x)
    parts = np.array_split(np.arange(t.shape[axis]), indices_or_sections)
    return array_ops.split(t, [len(p) for p in parts], axis)


def unstack(x, num=None, axis=0):
    return array_ops.unstack(_tensor(x), num, axis)


def tile(x, repeats):
    t = _tensor(x)
    repeats = [repeats] if isinstance(repeats, int) else list(repeats)
    while t.ndim < len(repeats):
        t = array_ops.expand_dims(t, 0)
    return array_ops.tile(t, [1] * (t.ndim - len(repeats)) + repeats)


def repeat(x, repeats, axis=None):
    return array_ops.repeat(_tensor(x), repeats, axis)


def broadcast_to(x, shape):
    return array_ops.broadcast_to(_tensor(x), shape)


def flip(x, axis=None):
    t = _tensor(x)
    return array_ops.reverse(
        t, list(range(t.ndim)) if axis is None else ([axis] if isinstance(axis, int) else list(axis))
    )


def fliplr(x):
    return flip(x, 1)


def flipud(x):
    return flip(x, 0)


def rot90(array, k=1, axes=(0, 1)):
    t = _tensor(array)
    a, b = (axis % t.ndim for axis in axes)
    for _ in range(k % 4):
        t = swapaxes(flip(t, b), a, b)
    return t


def roll(x, shift, axis=None):
    t = _tensor(x)
    if axis is None:
        return array_ops.reshape(array_ops.roll(array_ops.reshape(t, [-1]), shift, 0), t.shape)
    return array_ops.roll(t, shift, axis)


def pad(x, pad_width, mode="constant", constant_values=None):
    t = _tensor(x)
    # NumPy's forms: one width for all, one (before, after) pair for all, or one pair per axis.
    pairs = np.asarray(pad_width, dtype=np.int64).reshape(-1, 2) if np.ndim(pad_width) else np.full((1, 2), pad_width)
    widths = np.broadcast_to(pairs, (t.ndim, 2))
    return array_ops.pad(t, widths, mode.upper(), 0 if constant_values is None else constant_values)


def take(x, indices, axis=None):
    """Elements (or slices along ``axis``) at ``indices``; negative indices count from the end, as in NumPy."""
    t = _tensor(x)
    if axis is None:
        t, axis = array_ops.reshape(t, [-1]), 0
    index = _tensor(indices)._value.astype(np.int64)
    index = np.where(index < 0, index + t.shape[axis], index)
    return array_ops.gather(t, index, axis=axis)


def take_along_axis(x, indices, axis=None):
    t = _tensor(x)
    if axis is None:
        t, axis = array_ops.reshape(t, [-1]), 0
    return sort_ops.take_along_axis(t, _tensor(indices), axis)


def sort(x, axis=-1):
    return sort_ops.sort(_tensor(x), axis)


def argsort(x, axis=-1):
    return sort_ops.argsort(_tensor(x), axis)


def top_k(x, k, sorted=True):  # noqa: A002
    return sort_ops.top_k(_tensor(x), k, sorted)


def in_top_k(targets, predictions, k):
    return sort_ops.in_top_k(targets, predictions, k)


def searchsorted(sorted_sequence, values, side="left"):
    sequence = _tensor(sorted_sequence)
    return Tensor(np.searchsorted(sequence._value, _tensor(values)._value, side=side).astype(np.int32))


def digitize(x, bins):
    return Tensor(np.digitize(_tensor(x)._value, _tensor(bins)._value).astype(np.int32))


def bincount(x, weights=None, minlength=0, sparse=False):
    t = _tensor(x)
    return histogram_ops.bincount(t, weights, minlength=minlength, axis=None if t.ndim == 1 else -1)


def unique(  # noqa: A002 - NumPy's argument names
    x, sorted=True, return_inverse=False, return_counts=False, axis=None, size=None, fill_value=None
):
    values = np.unique(_tensor(x)._value, return_inverse=return_inverse, return_counts=return_counts, axis=axis)
    if isinstance(values, tuple):
        return tuple(Tensor(np.asarray(v)) for v in values)
    return Tensor(values)


def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    """One-hot vectors of the class indices ``x``; float indices are cut to integers first, as
    Keras's ``convert_to_tensor(x, dtype="int64")`` does (``tf.one_hot`` itself refuses them)."""
    return array_ops.one_hot(cast(x, "int64"), num_classes, axis=axis, dtype=dtype or _FLOATX)


def multi_hot(inputs, num_classes, axis=-1, dtype=None, sparse=False):
    """1 at every class listed in each row of ``inputs`` (the rows' one-hot vectors, OR-ed)."""
    encoded = array_ops.one_hot(cast(inputs, "int64"), num_classes, axis=-1, dtype=dtype or _FLOATX)
    hot = reduction_ops.reduce_max(encoded, axis=-2) if encoded.ndim > 1 else encoded
    return hot if axis == -1 else moveaxis(hot, -1, axis)


def stop_gradient(variable):
    return array_ops.stop_gradient(_tensor(variable))


def get_item(x, key):
    return _tensor(x)[key]


def slice(inputs, start_indices, shape):  # noqa: A001 - Keras's name
    return indexing_ops.slice(_tensor(inputs), start_indices, shape)


def slice_update(inputs, start_indices, updates):
    """``inputs`` with the block at ``start_indices`` replaced by ``updates``."""
    t, u = _tensor(inputs), _cast_to(updates, _tensor(inputs).dtype)
    starts = np.asarray(_tensor(start_indices)._value).tolist()
    grids = np.meshgrid(*[np.arange(s, s + n) for s, n in zip(starts, u.shape)], indexing="ij")
    return indexing_ops.tensor_scatter_nd_update(t, np.stack(grids, -1), u)


def scatter(indices, values, shape):
    return indexing_ops.scatter_nd(indices, _tensor(values), shape)


def scatter_update(inputs, indices, updates):
    t = _tensor(inputs)
    return indexing_ops.tensor_scatter_nd_update(t, indices, _cast_to(updates, t.dtype))


# ---- control flow ------------------------------------------------------------------------------------


def cond(pred, true_fn, false_fn):
    """``true_fn()`` if ``pred`` else ``false_fn()`` (run eagerly)."""
    return true_fn() if bool(pred) else false_fn()


def switch(index, branches, *operands):
    """``branches[index](*operands)``, the index clipped to the branches (as Keras)."""
    i = builtins.min(builtins.max(int(index), 0), len(branches) - 1)
    return branches[i](*operands)


def while_loop(cond, body, loop_vars, maximum_iterations=None):  # noqa: A002 - Keras's argument name
    """Run ``body`` while ``cond`` holds; ``loop_vars`` is a tuple (or one value) passed to both."""
    is_tuple = isinstance(loop_vars, (tuple, list))
    state = tuple(loop_vars) if is_tuple else (loop_vars,)
    iterations = 0
    while bool(cond(*state)) and (maximum_iterations is None or iterations < maximum_iterations):
        result = body(*state)
        state = tuple(result) if isinstance(result, (tuple, list)) else (result,)
        iterations += 1
    return state if is_tuple else state[0]


def fori_loop(lower, upper, body_fun, init_val):
    """``init_val`` passed through ``body_fun(i, value)`` for ``i`` in ``range(lower, upper)``."""
    value = init_val
    for i in range(int(lower), int(upper)):
        value = body_fun(i, value)
    return value


def map(f, xs):  # noqa: A001 - Keras's name
    """``f`` applied to each slice of ``xs`` along the first axis, the results stacked."""
    return _stack_structures([f(x) for x in _slices(xs)])


def vectorized_map(function, elements):
    return map(function, elements)


def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    """``carry, y = f(carry, x)`` over the slices of ``xs``; returns the last carry and the stacked ``y``."""
    items = list(_slices(xs)) if xs is not None else [None] * int(length)
    if reverse:
        items = items[::-1]
    carry, outputs = init, []
    for x in items:
        carry, y = f(carry, x)
        outputs.append(y)
    if reverse:
        outputs = outputs[::-1]
    return carry, (_stack_structures(outputs) if outputs and outputs[0] is not None else None)


def _slices(xs):
    if isinstance(xs, (tuple, list)):
        return [type(xs)(parts) for parts in zip(*(array_ops.unstack(_tensor(x)) for x in xs))]
    if isinstance(xs, dict):
        keys = list(xs)
        return [dict(zip(keys, parts)) for parts in zip(*(array_ops.unstack(_tensor(xs[k])) for k in keys))]
    return array_ops.unstack(_tensor(xs))


def _stack_structures(results):
    first = results[0]
    if isinstance(first, (tuple, list)):
        return type(first)(_stack_structures([r[i] for r in results]) for i in range(len(first)))
    if isinstance(first, dict):
        return {k: _stack_structures([r[k] for r in results]) for k in first}
    return array_ops.stack([_tensor(r) for r in results])


# ---- neural-network ops --------------------------------------------------------------------------------


def relu(x):
    return nn_ops.relu(_tensor(x))


def relu6(x):
    return nn_ops.relu6(_tensor(x))


def leaky_relu(x, negative_slope=0.2):
    return nn_ops.leaky_relu(_floating(x), alpha=negative_slope)


def elu(x, alpha=1.0):
    x = _floating(x)
    return nn_ops.elu(x) if alpha == 1.0 else array_ops.where(x > 0, x, alpha * nn_ops.elu(x))


def celu(x, alpha=1.0):
    x = _floating(x)
    return math_ops.maximum(x, 0.0) + alpha * math_ops.minimum(math_ops.exp(x / alpha) - 1.0, 0.0)


def gelu(x, approximate=True):
    """Gaussian error linear unit; ``approximate`` uses the tanh form (Keras's default)."""
    x = _floating(x)
    if approximate:
        inner = x.dtype.type(math.sqrt(2 / math.pi)) * (x + x.dtype.type(0.044715) * x * x * x)
        return 0.5 * x * (1.0 + math_ops.tanh(inner))
    return 0.5 * x * (1.0 + elementwise_ops.erf(x / x.dtype.type(math.sqrt(2))))


def hard_sigmoid(x):
    """``relu6(x + 3) / 6`` (Keras 3's hard sigmoid)."""
    x = _floating(x)
    return nn_ops.relu6(x + 3.0) / 6.0


def hard_silu(x):
    x = _floating(x)
    return x * hard_sigmoid(x)


hard_swish = hard_silu


def hard_tanh(x):
    return clip(_floating(x), -1.0, 1.0)


def soft_shrink(x, threshold=0.5):
    x = _floating(x)
    return array_ops.where(x > threshold, x - threshold, array_ops.where(x < -threshold, x + threshold, zeros_like(x)))


def hard_shrink(x, threshold=0.5):
    x = _floating(x)
    return array_ops.where(math_ops.abs(x) > threshold, x, zeros_like(x))


def tanh_shrink(x):
    x = _floating(x)
    return x - math_ops.tanh(x)


def threshold(x, threshold, default_value):
    x = _floating(x)
    return array_ops.where(x > threshold, x, full_like(x, default_value))


def glu(x, axis=-1):
    """Gated linear unit: the first half of ``axis`` times the sigmoid of the second half."""
    a, b = array_ops.split(_floating(x), 2, axis)
    return a * math_ops.sigmoid(b)


def softmax(x, axis=-1):
    x = _floating(x)
    if axis is None:
        return array_ops.reshape(nn_ops.softmax(array_ops.reshape(x, [-1])), x.shape)
    return nn_ops.softmax(x, axis=axis)


def log_softmax(x, axis=-1):
    x = _floating(x)
    if axis is None:
        return array_ops.reshape(nn_ops.log_softmax(array_ops.reshape(x, [-1])), x.shape)
    return nn_ops.log_softmax(x, axis=axis)


_EPSILON = 1e-7  # Keras's backend epsilon


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Per-sample cross-entropy of one-hot (or probability) ``target`` and ``output`` (Keras's formula)."""
    output = _floating(output)
    target = _cast_to(target, output.dtype)
    if from_logits:
        log_probabilities = nn_ops.log_softmax(output, axis=axis)
    else:
        output = output / reduction_ops.reduce_sum(output, axis=axis, keepdims=True)
        log_probabilities = math_ops.log(math_ops.clip_by_value(output, _EPSILON, 1 - _EPSILON))
    return -reduction_ops.reduce_sum(target * log_probabilities, axis=axis)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """``categorical_crossentropy`` with integer class ids as ``target``."""
    output = _floating(output)
    target = _tensor(target)
    if target.ndim == output.ndim and target.shape[-1] == 1:
        target = array_ops.squeeze(target, -1)
    encoded = array_ops.one_hot(
        math_ops.cast(target, cnnlab_dtypes.int64), output.shape[axis], axis=axis, dtype=output.dtype
    )
    return categorical_crossentropy(encoded, output, from_logits, axis)


def binary_crossentropy(target, output, from_logits=False):
    """Elementwise binary cross-entropy (no mean over the last axis: that is the loss's job)."""
    output = _floating(output)
    target = _cast_to(target, output.dtype)
    if from_logits:
        return nn_ops.sigmoid_cross_entropy_with_logits(labels=target, logits=output)
    output = math_ops.clip_by_value(output, _EPSILON, 1 - _EPSILON)
    return -(target * math_ops.log(output) + (1.0 - target) * math_ops.log(1.0 - output))


def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3):
    """``(x - mean) / sqrt(variance + epsilon) * scale + offset``, the statistics along ``axis``."""
    x = _floating(x)

    def along_axis(v):
        if v is None:
            return None
        shape = [1] * x.ndim
        shape[axis] = -1
        return array_ops.reshape(_cast_to(v, x.dtype), shape)

    return nn_ops.batch_normalization(
        x, along_axis(mean), along_axis(variance), along_axis(offset), along_axis(scale), epsilon
    )


def _padding(padding, op):
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
        raise ValueError(f"keras.ops.{op}: padding must be 'valid' or 'same'; received padding={padding!r}.")
    return padding.upper()


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """2-D convolution of NHWC ``inputs`` with an HWIO ``kernel`` (Keras's ``ops.conv`` for images)."""
    image._channels_last(data_format, "keras.ops.conv")
    x = _floating(inputs)
    if x.ndim != 4:
        raise ValueError(
            f"keras.ops.conv: only 2-D convolution (4-D inputs) is supported; received inputs of rank {x.ndim}."
        )
    return conv2d(
        x, _cast_to(kernel, x.dtype), strides=strides, padding=_padding(padding, "conv"), dilations=dilation_rate
    )


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    image._channels_last(data_format, "keras.ops.max_pool")
    strides = pool_size if strides is None else strides
    return pool_ops.max_pool2d(_tensor(inputs), pool_size, strides, _padding(padding, "max_pool"))


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    image._channels_last(data_format, "keras.ops.average_pool")
    strides = pool_size if strides is None else strides
    return pool_ops.avg_pool2d(_floating(inputs), pool_size, strides, _padding(padding, "average_pool"))
