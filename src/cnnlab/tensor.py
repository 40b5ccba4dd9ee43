"""Tensor and Variable: a NumPy array with a dtype policy, operators and a place on the tape.

A ``Tensor`` is immutable: every op makes a new one.  A ``Variable`` is the one
mutable kind (``assign``, ``assign_add``, ``assign_sub``) and is watched by a
``GradientTape`` automatically when it is trainable.

The conversion rules follow TensorFlow 2 (see DESIGN.md):

* Python floats become float32, Python ints int32, bools bool;
* a NumPy array keeps its dtype (a float64 array stays float64);
* where a non-tensor meets a tensor in an op, the non-tensor side is converted to
  the tensor's dtype; two tensors of different dtypes are a TypeError.
"""

import itertools
import numbers

import numpy as np

from . import dtypes

_PYTHON_SCALARS = (bool, int, float, complex)
_keys = itertools.count()  # Tensor._key


# The device every tensor lives on, in TF's full spelling.
CPU_DEVICE = "/job:localhost/replica:0/task:0/device:CPU:0"


def _numpy_text(value, is_repr):
    """The value as TF shows it inside ``str`` / ``repr``: NumPy's text, starting on a new line if it spans several.

    A scalar's repr is its plain number (``numpy=6.0``), as TF's guides show it, not
    NumPy 2's ``np.float32(6.0)``.
    """
    if value.ndim == 0 and is_repr:
        with np.printoptions(legacy="1.25"):
            text = repr(value[()])
    else:
        text = repr(value) if is_repr else str(value[()] if value.ndim == 0 else value)
    return "\n" + text if "\n" in text else text


class TensorShape(tuple):
    """The shape of a tensor: a tuple of ints with TensorFlow's helpers."""

    __slots__ = ()

    @property
    def rank(self):
        return len(self)

    def as_list(self):
        return list(self)

    def num_elements(self):
        return int(np.prod(self, dtype=np.int64))

    def __repr__(self):
        return f"TensorShape({list(self)})"

    def __str__(self):
        return str(tuple(self))


class Tensor:
    """An immutable n-dimensional array (``tf.Tensor``).

    Make one with ``cnnlab.constant`` or ``cnnlab.convert_to_tensor``; the
    constructor itself takes an ``np.ndarray`` and does no checking, because it is
    on every op's hot path.
    """

    # ``_keras_logits``: Keras's softmax activation leaves its input here so that a
    # categorical cross-entropy can be computed from the logits (as Keras on TF does);
    # ``_keras_activation`` names the activation ('softmax') that left them.
    #
    # ``_key`` names the tensor on a tape.  Unlike ``id()``, it is never reused, so a
    # tape need not hold an op's output alive to keep its name unique: the output's
    # memory is freed as soon as no gradient function needs it.
    __slots__ = ("_value", "_key", "_keras_logits", "_keras_activation", "__weakref__")
    # NumPy defers ``ndarray + tensor`` to ``Tensor.__radd__`` (as TF does).
    __array_priority__ = 100

    def __init__(self, value):
        self._value = value
        self._key = next(_keys)
        self._keras_logits = self._keras_activation = None

    # ---- what it is ---------------------------------------------------------
    @property
    def shape(self):
        return TensorShape(self._value.shape)

    @property
    def dtype(self):
        return self._value.dtype

    @property
    def ndim(self):
        return self._value.ndim

    def get_shape(self):
        """The shape (TF 1's spelling of ``.shape``)."""
        return self.shape

    def numpy(self):
        """The value as a NumPy array (or NumPy scalar for rank 0)."""
        value = self._value
        return value[()] if value.ndim == 0 else value

    def __array__(self, dtype=None, copy=None):
        value = self._value
        if dtype is not None and value.dtype != dtype:
            return value.astype(dtype)
        return value.copy() if copy else value

    def ref(self):
        """A hashable reference to this tensor (tensors themselves are unhashable)."""
        return _Ref(self)

    def __len__(self):
        if self._value.ndim == 0:
            raise TypeError("len() of a scalar (rank 0) tensor is not defined.")
        return self._value.shape[0]

    def __iter__(self):
        if self._value.ndim == 0:
            raise TypeError("Cannot iterate over a scalar (rank 0) tensor.")
        for i in range(self._value.shape[0]):
            yield self[i]

    def __bool__(self):
        if self._value.size != 1:
            raise ValueError(
                "The truth value of a tensor with more than one element is ambiguous; "
                f"received shape={tuple(self.shape)}. Use cnnlab.reduce_any or reduce_all."
            )
        return bool(self._value)

    def __float__(self):
        return float(self._value)

    def __int__(self):
        return int(self._value)

    def __index__(self):
        if self._value.dtype.kind not in "iu":
            raise TypeError(f"Only integer tensors can be used as an index; received dtype={self.dtype}.")
        return int(self._value)

    @property
    def device(self):
        """Where the tensor lives: always the CPU, named as TF names it."""
        return CPU_DEVICE

    def __format__(self, spec):
        return format(self.numpy(), spec) if self._value.ndim == 0 else repr(self)

    # TF's formats (``ops.Tensor.__repr__`` / ``__str__``), so printed results read as in its guides.
    def __repr__(self):
        return f"<tf.Tensor: shape={self.shape}, dtype={self.dtype.name}, numpy={_numpy_text(self._value, True)}>"

    def __str__(self):
        return f"tf.Tensor({_numpy_text(self._value, False)}, shape={self.shape}, dtype={self.dtype.name})"

    # Tensors compare elementwise (``__eq__`` is wired to ``cnnlab.equal``), so
    # they cannot be dict keys; use ``t.ref()`` for that, as in TF.
    __hash__ = None


class _Ref:
    """What ``Tensor.ref()`` returns: hashable by identity, ``deref()`` gives the tensor."""

    __slots__ = ("_tensor",)

    def __init__(self, tensor):
        self._tensor = tensor

    def deref(self):
        return self._tensor

    def __hash__(self):
        return id(self._tensor)

    def __eq__(self, other):
        return isinstance(other, _Ref) and other._tensor is self._tensor


class Variable(Tensor):
    """A mutable tensor that holds model state (``tf.Variable``).

    Args:
        initial_value: a tensor, array, Python value, or a callable returning one.
        dtype: converted as ``as_dtype`` does (``float`` means float32).
        trainable: when True, a ``GradientTape`` watches it automatically.
        name: a label used in ``repr`` and by Keras.

    A Keras layer's weight also carries the ``regularizer`` (its penalty, in the layer's
    ``losses``) and the ``constraint`` (applied by an optimizer after each update) it
    was made with; both None otherwise.

    Example:
        >>> v = cnnlab.Variable([1.0, 2.0])
        >>> v.assign_add([0.5, 0.5]).numpy()
        array([1.5, 2.5], dtype=float32)
    """

    __slots__ = ("trainable", "name", "regularizer", "constraint")

    def __init__(self, initial_value, dtype=None, trainable=True, name=None):
        if callable(initial_value):
            initial_value = initial_value()
        value = _to_array(initial_value, dtypes.as_dtype(dtype) if dtype is not None else None)
        # A variable owns its memory: it is updated in place by assign and optimizers.
        super().__init__(np.array(value, copy=True))
        self.trainable = bool(trainable)
        self.name = "Variable" if name is None else str(name)
        self.regularizer = None
        self.constraint = None

    def numpy(self):
        return super().numpy().copy()

    def read_value(self):
        """The current value as a new tensor (later assigns do not change it); gradients still reach the variable."""
        from .ops.array_ops import identity

        return identity(self)

    @property
    def value(self):
        """The current value as a tensor (Keras 3's ``variable.value``, which custom metrics' ``result()``
        return); as ``read_value()``, later assigns do not change it and gradients still reach the variable."""
        return self.read_value()

    def assign(self, value):
        self._value[...] = self._checked_update(value, "assign")
        return self

    def assign_add(self, delta):
        self._value += self._checked_update(delta, "assign_add")
        return self

    def assign_sub(self, delta):
        self._value -= self._checked_update(delta, "assign_sub")
        return self

    def _checked_update(self, value, method):
        value = _to_array(value._value if isinstance(value, Tensor) else value, self.dtype, method)
        if value.shape != self._value.shape:
            raise ValueError(
                f"Variable.{method}: expected a value of shape {tuple(self.shape)} "
                f"(the variable's shape); received shape={value.shape}."
            )
        return value

    # TF prints a variable the same way for str and repr, its name with the output index ':0'.
    def __repr__(self):
        value = _numpy_text(self._value, True)
        return f"<tf.Variable '{self.name}:0' shape={self.shape} dtype={self.dtype.name}, numpy={value}>"

    __str__ = __repr__


def _to_array(value, dtype=None, context="convert_to_tensor"):
    """Turn a Python or NumPy value into an ndarray with TF's dtype defaults.

    With ``dtype`` given, the value is converted to it, refusing conversions that
    lose the kind of number (float -> int, complex -> real).
    """
    if isinstance(value, Tensor):
        array = value._value
    elif isinstance(value, np.ndarray):
        array = value
    elif isinstance(value, (np.generic,)):
        array = np.asarray(value)
    else:
        try:
            array = np.asarray(value)
        except ValueError as error:
            raise ValueError(f"{context}: cannot make a tensor from {type(value).__name__}: {error}") from None
        if array.dtype == object:
            raise TypeError(f"{context}: cannot make a tensor from a value of type {type(value).__name__}.")
        if dtype is None:
            # TF's defaults for Python values: float -> float32, int -> int32.
            if array.dtype == np.float64:
                dtype = dtypes.float32
            elif array.dtype == np.int64 and _fits_int32(array):
                dtype = dtypes.int32
    if dtype is None or array.dtype == dtype:
        return array
    _check_castable(array.dtype, dtype, context)
    return array.astype(dtype)


def _fits_int32(array):
    return array.size == 0 or (array.min() >= -(2**31) and array.max() < 2**31)


_KIND_ORDER = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def _check_castable(source, target, context):
    if _KIND_ORDER.get(source.kind, 9) > _KIND_ORDER.get(target.kind, -1):
        raise TypeError(f"{context}: cannot convert a value of dtype {source} to dtype {target} without losing information.")


def convert_to_tensor(value, dtype=None, dtype_hint=None, name=None):
    """Make a tensor from a tensor, array or Python value (``tf.convert_to_tensor``).

    A ``Variable`` is read into a new tensor (a snapshot that later assigns do not
    change) and the read is recorded on the tape, so gradients still reach it.
    """
    if dtype is not None:
        dtype = dtypes.as_dtype(dtype)
    if isinstance(value, Tensor):
        if dtype is not None and value.dtype != dtype:
            raise ValueError(
                f"convert_to_tensor: requested dtype {dtype.name} for a tensor of dtype {value.dtype.name}; "
                "use cnnlab.cast to change the dtype of a tensor."
            )
        if isinstance(value, Variable):
            from .ops.array_ops import identity

            return identity(value)
        return value
    if dtype is None and dtype_hint is not None and isinstance(value, (*_PYTHON_SCALARS, list, tuple)):
        hint = dtypes.as_dtype(dtype_hint)
        guess = _to_array(value)
        if _KIND_ORDER.get(guess.dtype.kind, 9) <= _KIND_ORDER.get(hint.kind, -1):
            dtype = hint
    return Tensor(_to_array(value, dtype))


def constant(value, dtype=None, shape=None, name=None):
    """A tensor from a Python or NumPy value (``tf.constant``).

    Args:
        value: a scalar, nested list or array.
        dtype: the dtype to convert to; by default as ``convert_to_tensor``.
        shape: if given, a scalar value is broadcast to it, other values reshaped.
    """
    if isinstance(value, Tensor):
        value = value._value
    tensor = Tensor(np.array(_to_array(value, None if dtype is None else dtypes.as_dtype(dtype), "constant")))
    if shape is not None:
        shape = tuple(int(d) for d in shape)
        value = tensor._value
        if value.size == 1:
            value = np.broadcast_to(value.reshape(()), shape).copy()
        elif value.size == int(np.prod(shape)):
            value = value.reshape(shape)
        else:
            raise TypeError(f"constant: cannot reshape a value of {value.size} elements to shape={shape}.")
        tensor = Tensor(value)
    return tensor


def is_tensor(value):
    return isinstance(value, Tensor)


def as_tensor_pair(x, y, op, names=("x", "y")):
    """The two operands of a binary op as tensors of one dtype (TF's rule).

    The side that is already a tensor (or, between two non-tensors, the side that
    carries an explicit NumPy dtype) decides the dtype; the other side is converted.
    ``names`` are the operands' argument names, for error messages.
    """
    x_is_tensor, y_is_tensor = isinstance(x, Tensor), isinstance(y, Tensor)
    if x_is_tensor and y_is_tensor:
        if x._value.dtype != y._value.dtype:
            raise TypeError(
                f"{op}: both operands must have the same dtype; received {names[0]}.dtype={x.dtype.name} "
                f"and {names[1]}.dtype={y.dtype.name}. Use cnnlab.cast to convert one of them."
            )
        return x, y
    if x_is_tensor:
        return x, Tensor(_to_array(y, x._value.dtype, op))
    if y_is_tensor:
        return Tensor(_to_array(x, y._value.dtype, op)), y
    if isinstance(x, (*_PYTHON_SCALARS, list, tuple)) and isinstance(y, (np.ndarray, np.generic)):
        y = Tensor(_to_array(y, context=op))
        return Tensor(_to_array(x, y._value.dtype, op)), y
    x = Tensor(_to_array(x, context=op))
    return x, Tensor(_to_array(y, x._value.dtype, op))


def as_tensor(value, op, dtype=None):
    """An op's argument as a tensor; Variables are used as they are (no snapshot)."""
    if isinstance(value, Tensor):
        if dtype is not None and value._value.dtype != dtype:
            raise TypeError(f"{op}: expected a tensor of dtype {np.dtype(dtype).name}; received dtype={value.dtype.name}.")
        return value
    return Tensor(_to_array(value, dtype, op))


def is_integral_number(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def shape_argument(shape, op, argument="shape", allow_unknown=False):
    """A shape given as an int, list, tuple, array or tensor, as a tuple of ints.

    Args:
        shape: the value given for ``argument`` of ``op``.
        op, argument: the names used in error messages.
        allow_unknown: accept -1 for a size to be inferred (``reshape``).

    Raises:
        TypeError: not integers.  ValueError: a negative size.
    """
    if type(shape) is tuple and all(type(d) is int for d in shape):
        dims = shape  # the usual case, such as Flatten's (batch, -1) for every batch: no conversion
    else:
        dims = np.asarray(shape._value if isinstance(shape, Tensor) else shape)
        if dims.ndim > 1 or (dims.size and dims.dtype.kind not in "iu"):
            raise TypeError(f"{op}: {argument} must be an integer or a list of integers; received {argument}={shape!r}.")
        dims = tuple(int(d) for d in dims.reshape(-1))
    if not allow_unknown and any(d < 0 for d in dims):
        raise ValueError(f"{op}: {argument} must not contain negative sizes; received {argument}={list(dims)}.")
    return dims
