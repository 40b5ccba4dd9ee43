"""Shape and selection ops: reshape, broadcast, indexing, where, and tensor constructors."""

import numpy as np

from .. import dtypes
from ..autodiff import record
from ..tensor import Tensor, as_tensor


def identity(input, name=None):  # noqa: A002 - TF's argument name
    """A new tensor with the same value; the gradient passes straight through."""
    x = as_tensor(input, "identity")
    return record(x._value.copy(), (x,), lambda dy: (dy,))


def stop_gradient(input, name=None):  # noqa: A002
    """The same value, with no gradient flowing back through it."""
    return Tensor(as_tensor(input, "stop_gradient")._value)


def _shape_arg(shape, op, argument="shape"):
    """A shape given as an int, list, tuple, array or tensor, as a tuple of ints."""
    if isinstance(shape, Tensor):
        shape = shape._value
    if np.ndim(shape) == 0:
        shape = [shape]
    try:
        return tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: {argument} must be a sequence of integers; received {argument}={shape!r}.") from None


def reshape(tensor, shape, name=None):
    """``tensor`` with a new shape of the same number of elements; one dimension may be -1."""
    x = as_tensor(tensor, "reshape")
    shape = _shape_arg(shape, "reshape")
    unknown = [i for i, d in enumerate(shape) if d == -1]
    known = int(np.prod([d for d in shape if d != -1], dtype=np.int64))
    if len(unknown) > 1 or any(d < -1 for d in shape):
        raise ValueError(f"reshape: shape may contain at most one -1 and no other negative size; received shape={list(shape)}.")
    size = x._value.size
    if (unknown and (known == 0 or size % known)) or (not unknown and known != size):
        raise ValueError(
            f"reshape: cannot reshape a tensor of shape {tuple(x.shape)} ({size} elements) to shape={list(shape)}."
        )
    source_shape = x.shape
    return record(x._value.reshape(shape), (x,), lambda dy: (reshape(dy, source_shape),))


def broadcast_to(input, shape, name=None):  # noqa: A002
    x = as_tensor(input, "broadcast_to")
    shape = _shape_arg(shape, "broadcast_to")
    try:
        value = np.broadcast_to(x._value, shape)
    except ValueError:
        raise ValueError(f"broadcast_to: cannot broadcast a tensor of shape {tuple(x.shape)} to shape={list(shape)}.") from None

    def grad(dy):
        from .math_ops import _sum_to_shape

        return (_sum_to_shape(dy, x.shape),)

    # np.broadcast_to returns a read-only view; later in-place kernels need real memory.
    return record(np.ascontiguousarray(value), (x,), grad)


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
    from ..tensor import as_tensor_pair
    from .math_ops import _sum_to_shape

    x, y = as_tensor_pair(x, y, "where")
    mask = condition._value

    def grad(dy):
        zeros = zeros_like(dy)
        return None, _sum_to_shape(where(condition, dy, zeros), x.shape), _sum_to_shape(where(condition, zeros, dy), y.shape)

    return record(np.where(mask, x._value, y._value), (condition, x, y), grad)


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


# ---- constructors ---------------------------------------------------------------------------


def zeros(shape, dtype=dtypes.float32, name=None):
    return Tensor(np.zeros(_shape_arg(shape, "zeros"), dtype=dtypes.as_dtype(dtype)))


def ones(shape, dtype=dtypes.float32, name=None):
    return Tensor(np.ones(_shape_arg(shape, "ones"), dtype=dtypes.as_dtype(dtype)))


def zeros_like(input, dtype=None, name=None):  # noqa: A002
    x = as_tensor(input, "zeros_like")
    return Tensor(np.zeros(x._value.shape, dtype=x.dtype if dtype is None else dtypes.as_dtype(dtype)))


def ones_like(input, dtype=None, name=None):  # noqa: A002
    x = as_tensor(input, "ones_like")
    return Tensor(np.ones(x._value.shape, dtype=x.dtype if dtype is None else dtypes.as_dtype(dtype)))
