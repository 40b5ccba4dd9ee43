"""``tf.function`` and ``tf.TensorSpec``: graph compilation's API, running eagerly.

cnnlab has no graphs: ``tf.function`` returns a callable that runs the Python
function as it is, every time (what TF does under
``tf.config.run_functions_eagerly(True)``).  Its arguments are accepted so that
programs written for TF run unchanged; an ``input_signature`` is honoured as a
check: the arguments are converted to the specs' dtypes and their shapes must
fit, as TF requires.

Example:
    >>> @cnnlab.function(input_signature=[cnnlab.TensorSpec([None], cnnlab.float32)])
    ... def double(x):
    ...     return 2 * x
    >>> double([1.0, 2.0]).numpy()
    array([2., 4.], dtype=float32)
"""

import functools

import numpy as np

from . import dtypes, nest
from .tensor import Tensor, TensorShape, convert_to_tensor


class TensorSpec:
    """The shape and dtype a tensor must have (``tf.TensorSpec``); ``None`` dimensions match any size.

    Args:
        shape: a list of ints and None, or None for any rank.
        dtype: the dtype (float32 by default).
        name: an optional name.
    """

    def __init__(self, shape, dtype=dtypes.float32, name=None):
        if shape is None:
            self._shape = None
        else:
            dims = list(shape) if not isinstance(shape, (int, np.integer)) else [shape]
            for d in dims:
                if d is not None and (isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 0):
                    raise ValueError(
                        f"TensorSpec: shape must hold non-negative ints or None; received shape={shape!r}."
                    )
            self._shape = TensorShape(None if d is None else int(d) for d in dims)
        self.dtype = dtypes.as_dtype(dtype, "TensorSpec")
        self.name = name

    @property
    def shape(self):
        return self._shape

    @classmethod
    def from_tensor(cls, tensor, name=None):
        """The spec of an existing tensor (its shape and dtype)."""
        tensor = convert_to_tensor(tensor)
        return cls(tensor.shape, tensor.dtype, name)

    def is_compatible_with(self, spec_or_tensor):
        """Whether a tensor (or another spec) has this dtype and a shape that fits this one."""
        other = spec_or_tensor
        shape = other.shape if isinstance(other, (Tensor, TensorSpec)) else convert_to_tensor(other).shape
        dtype = other.dtype if isinstance(other, (Tensor, TensorSpec)) else convert_to_tensor(other).dtype
        return dtype == self.dtype and _shapes_fit(shape, self._shape)

    def __eq__(self, other):
        return isinstance(other, TensorSpec) and (self._shape, self.dtype, self.name) == (
            other._shape,
            other.dtype,
            other.name,
        )

    def __hash__(self):
        return hash((self._shape, self.dtype, self.name))

    def __repr__(self):
        shape = None if self._shape is None else tuple(self._shape)
        return f"TensorSpec(shape={shape}, dtype=tf.{self.dtype.name}, name={self.name!r})"


def _shapes_fit(shape, pattern):
    if pattern is None or shape is None:
        return True
    return len(shape) == len(pattern) and all(p is None or s is None or s == p for s, p in zip(shape, pattern))


class Function:
    """What ``tf.function`` returns: calls the Python function eagerly (see the module docstring).

    Used as a method decorator, it binds to the instance as a plain method does.
    """

    def __init__(self, python_function, input_signature, options):
        self._python_function = python_function
        self._input_signature = None if input_signature is None else list(input_signature)
        self._options = options
        functools.update_wrapper(self, python_function)

    @property
    def python_function(self):
        return self._python_function

    @property
    def input_signature(self):
        return None if self._input_signature is None else tuple(self._input_signature)

    @property
    def function_spec(self):
        return self._options

    def __call__(self, *args, **kwargs):
        if self._input_signature is not None:
            args = _apply_signature(self._input_signature, args, kwargs, self.__name__)
        return self._python_function(*args, **kwargs)

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        return Function(self._python_function.__get__(instance, owner), self._input_signature, self._options)

    def get_concrete_function(self, *args, **kwargs):
        """A callable for these arguments' shapes: here the same eager function."""
        return self

    def experimental_get_tracing_count(self):
        """How many graphs were traced: none, as cnnlab runs eagerly."""
        return 0

    def __repr__(self):
        return f"<cnnlab.function {self.__name__} (runs eagerly)>"


def _apply_signature(signature, args, kwargs, name):
    if kwargs:
        raise TypeError(
            f"{name}: a function with an input_signature takes positional arguments only; received {sorted(kwargs)}."
        )
    if len(args) != len(signature):
        raise TypeError(f"{name}: the input_signature has {len(signature)} argument(s); received {len(args)}.")
    converted = []
    for position, (arg, spec) in enumerate(zip(args, signature)):
        # A TensorSpec takes the whole argument (a nested list is one tensor); a structure of specs, a structure.
        specs = [spec] if isinstance(spec, TensorSpec) else nest.flatten(spec)
        values = [arg] if isinstance(spec, TensorSpec) else nest.flatten(arg)
        if len(specs) != len(values):
            raise ValueError(
                f"{name}: argument {position} does not have the structure of its input_signature entry {spec!r}."
            )
        tensors = []
        for value, leaf in zip(values, specs):
            try:
                tensor = convert_to_tensor(value, dtype=leaf.dtype)
            except (TypeError, ValueError) as error:
                raise TypeError(f"{name}: argument {position} does not match {leaf!r}: {error}") from None
            if not _shapes_fit(tensor.shape, leaf.shape):
                raise ValueError(
                    f"{name}: argument {position} has shape {tuple(tensor.shape)}, which does not fit the "
                    f"input_signature's {leaf!r}."
                )
            tensors.append(tensor)
        converted.append(tensors[0] if isinstance(spec, TensorSpec) else nest.pack_sequence_as(spec, tensors))
    return converted


def function(
    func=None,
    input_signature=None,
    autograph=True,
    jit_compile=None,
    reduce_retracing=False,
    experimental_implements=None,
    experimental_autograph_options=None,
    experimental_attributes=None,
    experimental_relax_shapes=None,
    experimental_compile=None,
    experimental_follow_type_hints=None,
):
    """Mark ``func`` as a TF graph function; in cnnlab it runs eagerly (see the module docstring).

    Works as ``@tf.function``, ``@tf.function(...)`` and ``tf.function(f, ...)``.
    """
    if input_signature is not None:
        if not isinstance(input_signature, (list, tuple)):
            raise TypeError(
                f"function: input_signature must be a list of TensorSpec; received {type(input_signature).__name__}."
            )
        for spec in nest.flatten(list(input_signature)):
            if not isinstance(spec, TensorSpec):
                raise TypeError(f"function: input_signature must hold TensorSpec objects; received {spec!r}.")
    options = {"autograph": autograph, "jit_compile": jit_compile, "reduce_retracing": reduce_retracing}

    def decorate(f):
        if not callable(f):
            raise TypeError(f"function: expected a callable to wrap; received {type(f).__name__}.")
        return Function(f, input_signature, options)

    return decorate if func is None else decorate(func)


def executing_eagerly():
    """Always True: cnnlab runs every op eagerly."""
    return True
