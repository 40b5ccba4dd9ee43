"""The Keras ``Layer``: weights made in ``build``, a computation in ``call``, glue in ``__call__``.

A layer is called on a tensor, a NumPy array or a symbolic ``KerasTensor`` (what
``keras.Input`` returns).  On the first call it builds its weights for the input's
shape; after that it checks that inputs still fit (``input_spec``).  Layers that
hold other layers (a subclassed ``Model``, a custom block) track them when they
are assigned as attributes, so ``weights`` collects everything.

Example:
    >>> class Scale(Layer):
    ...     def build(self, input_shape):
    ...         self.factor = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="factor")
    ...     def call(self, x):
    ...         return x * self.factor
    >>> Scale()(np.ones((2, 3))).shape
    TensorShape([2, 3])
"""

import functools
import inspect
import re

import numpy as np

from ... import dtypes
from ...ops.math_ops import cast
from ...tensor import Tensor, Variable, _to_array
from .. import initializers


def to_snake_case(name):
    """Keras's automatic layer names: ``Conv2D`` -> ``conv2d``, ``MaxPooling2D`` -> ``max_pooling2d``."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def standardize_shape(shape, argument, owner):
    """A shape given as an int, list or tuple as a tuple of ints / None (``input_shape=(28, 28, 1)``)."""
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        shape = tuple(None if d is None else int(d) for d in shape)
    except (TypeError, ValueError, OverflowError):
        raise TypeError(
            f"{owner}: {argument} must be a tuple of ints (or None); received {argument}={shape!r}."
        ) from None
    if any(d is not None and d < 0 for d in shape):
        raise ValueError(f"{owner}: {argument} must not contain negative sizes; received {argument}={shape}.")
    return shape


class KerasTensor:
    """A symbolic tensor: a shape (batch axis None) and a dtype, and the layer call that made it.

    ``keras.Input(shape=(28, 28, 1))`` makes one; calling a layer on one builds the
    layer and returns the symbolic output, from which ``keras.Model(inputs, outputs)``
    assembles a model.
    """

    def __init__(self, shape, dtype="float32", source=None, name=None):
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype).name
        self.source = source  # (layer, input KerasTensor), or None for a model input
        self.name = name

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"


class InputSpec:
    """What a layer accepts: a rank (``ndim`` / ``min_ndim``) and fixed sizes of some axes.

    Args:
        ndim: the exact rank expected, or None.
        min_ndim: the smallest rank accepted, or None.
        axes: ``{axis: size}`` sizes the input must have (negative axes count from the end).
    """

    def __init__(self, ndim=None, min_ndim=None, axes=None):
        self.ndim = ndim
        self.min_ndim = min_ndim
        self.axes = dict(axes or {})

    def check(self, shape, layer):
        """Raise a ValueError naming ``layer`` when ``shape`` does not fit (cheap when it does: every call runs it)."""
        rank = len(shape)
        if (self.ndim is not None and rank != self.ndim) or (self.min_ndim is not None and rank < self.min_ndim):
            self._fail(shape, layer)
        for axis, size in self.axes.items():
            if -rank <= axis < rank and shape[axis] is not None and shape[axis] != size:
                self._fail(shape, layer)

    def _fail(self, shape, layer):
        rank = len(shape)
        prefix = f'Input of layer "{layer.name}" ({type(layer).__name__}) is incompatible with the layer'
        if self.ndim is not None and rank != self.ndim:
            problem = f"expected ndim={self.ndim}, found ndim={rank}. Full shape received: {tuple(shape)}."
            if rank == self.ndim - 1:
                problem += (
                    " Add the missing axis: the batch axis for a single sample (x[np.newaxis]), "
                    "or a channel axis of size 1 for single-channel images (x[..., np.newaxis])."
                )
        elif self.min_ndim is not None and rank < self.min_ndim:
            problem = f"expected min_ndim={self.min_ndim}, found ndim={rank}. Full shape received: {tuple(shape)}."
        else:
            axis, size = next((a, n) for a, n in self.axes.items() if shape[a] is not None and shape[a] != n)
            problem = (
                f"expected axis {axis} of the input shape to have value {size}, "
                f"but received input with shape {tuple(shape)}."
            )
        raise ValueError(f"{prefix}: {problem}")


class Layer:
    """Base class of every layer and model (``tf.keras.layers.Layer``).

    Args:
        trainable: whether the layer's weights are updated by training.
        name: the layer's name; by default the class name in snake case, made
            unique inside the model that holds it (``dense``, ``dense_1``, ...).
        dtype: the dtype of the weights and the computation (default float32).
        input_shape: the shape of one sample, for the first layer of a
            ``Sequential`` model (``input_shape=(28, 28, 1)``).
        input_dim: shorthand for ``input_shape=(input_dim,)``.

    Subclasses override ``build(input_shape)`` (make weights with ``add_weight``),
    ``call(inputs)`` (or ``call(inputs, training=None)``), ``compute_output_shape``
    and ``get_config``.
    """

    # A class whose call takes ``training`` gets it passed; computed once per class
    # (see __init_subclass__).
    _call_takes_training = False
    # A container whose call() hands ``training`` to every sub-layer itself (Sequential,
    # functional models) needs no call context for them.
    _passes_training_on = False
    # Whether calling the layer in inference changes no state (weights are only read), so that
    # predict() may run two batches through it at the same time.  A layer class says so for
    # itself: a subclass that defines its own call() is taken to keep state unless it sets
    # this again.
    _stateless_inference = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._call_takes_training = "training" in inspect.signature(cls.call).parameters
        if "_stateless_inference" not in cls.__dict__ and ("call" in cls.__dict__ or "__call__" in cls.__dict__):
            cls._stateless_inference = False
        if "build" in cls.__dict__:
            cls.build = _marks_built(cls.__dict__["build"])

    def __init__(
        self, trainable=True, name=None, dtype=None, input_shape=None, input_dim=None, batch_input_shape=None, **kwargs
    ):
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unrecognized keyword argument(s) {sorted(kwargs)}.")
        if name is not None and (not isinstance(name, str) or not name):
            raise ValueError(f"{type(self).__name__}: name must be a non-empty string; received name={name!r}.")
        self._auto_named = name is None
        self.name = to_snake_case(type(self).__name__) if name is None else name
        self._dtype = dtypes.float32 if dtype is None else _float_dtype(dtype, type(self).__name__)
        self._trainable = bool(trainable)
        self.built = False
        self.input_spec = None
        self._trainable_variables = []
        self._non_trainable_variables = []
        self._layers = []
        self._build_input_shape = None
        self._inbound_nodes = []
        self._inherited_training = None
        if input_dim is not None:
            input_shape = (input_dim,)
        if batch_input_shape is not None:
            self._batch_input_shape = standardize_shape(batch_input_shape, "batch_input_shape", type(self).__name__)
        elif input_shape is not None:
            self._batch_input_shape = (None, *standardize_shape(input_shape, "input_shape", type(self).__name__))
        else:
            self._batch_input_shape = None

    # ---- tracking of sub-layers -------------------------------------------------------
    def __setattr__(self, name, value):
        if not name.startswith("_"):
            found = _layers_in(value)
            if found and "_layers" not in self.__dict__:
                raise RuntimeError(
                    f"{type(self).__name__}: a layer was assigned to self.{name} before the base class was "
                    "initialized; call super().__init__() first in __init__."
                )
            for layer in found:
                if layer is not self and not any(layer is known for known in self._layers):
                    self._track_layer(layer)
        super().__setattr__(name, value)

    def _track_layer(self, layer):
        if layer._auto_named:
            layer.name = _unique_name(layer.name, {known.name for known in self._layers})
        self._layers.append(layer)

    # ---- properties -----------------------------------------------------------------
    @property
    def dtype(self):
        return self._dtype.name

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        # As Keras 3: freezing a layer freezes its weights and its sub-layers.
        self._trainable = bool(value)
        for variable in self._trainable_variables:
            variable.trainable = self._trainable
        for layer in self._layers:
            layer.trainable = value

    @property
    def weights(self):
        """Every weight: this layer's trainable then non-trainable ones, then each sub-layer's."""
        found = self._trainable_variables + self._non_trainable_variables
        for layer in self._layers:
            found.extend(layer.weights)
        return _unique(found)

    @property
    def variables(self):
        return self.weights

    @property
    def trainable_weights(self):
        if not self._trainable:
            return []
        return [w for w in self.weights if w.trainable]

    @property
    def trainable_variables(self):
        return self.trainable_weights

    @property
    def non_trainable_weights(self):
        if not self._trainable:
            return self.weights
        return [w for w in self.weights if not w.trainable]

    @property
    def non_trainable_variables(self):
        return self.non_trainable_weights

    def count_params(self):
        """The number of scalars in all weights."""
        if not self.built:
            raise ValueError(
                f'Layer "{self.name}": you tried to call count_params on a layer that is not built yet. '
                "Build it first by calling it on data or with layer.build(input_shape)."
            )
        return int(sum(np.prod(w.shape, dtype=np.int64) for w in self.weights))

    def get_weights(self):
        """The weights as a list of NumPy arrays (copies), in the order of ``weights``."""
        return [w.numpy() for w in self.weights]

    def set_weights(self, weights):
        """Set the weights from a list of arrays in the order of ``weights`` (as ``get_weights`` gives)."""
        own = self.weights
        weights = list(weights)
        if len(weights) != len(own):
            raise ValueError(
                f'Layer "{self.name}": set_weights expected a list of {len(own)} arrays '
                f"(shapes {[tuple(w.shape) for w in own]}); received a list of {len(weights)}."
            )
        arrays = [np.asarray(value) for value in weights]
        for variable, value in zip(own, arrays):
            if tuple(value.shape) != tuple(variable.shape):
                raise ValueError(
                    f'Layer "{self.name}": weight "{variable.name}" has shape {tuple(variable.shape)}, '
                    f"but the value given for it has shape {value.shape}."
                )
        for variable, value in zip(own, arrays):
            variable.assign(value.astype(variable.dtype, copy=False))

    # ---- weights ---------------------------------------------------------------------
    def add_weight(self, shape=None, initializer=None, dtype=None, trainable=True, name=None):
        """Create, track and return a ``Variable`` of ``shape`` filled by ``initializer``.

        Args:
            shape: the weight's shape (default a scalar).
            initializer: an initializer object, name or callable ``(shape, dtype)``;
                by default 'glorot_uniform' for floats.
            dtype: default the layer's dtype.
            trainable: whether training updates it (BatchNormalization's moving
                statistics are not trainable).
            name: the weight's name (``kernel``, ``bias``, ...).
        """
        shape = () if shape is None else standardize_shape(shape, "shape", f'Layer "{self.name}".add_weight')
        dtype = self._dtype if dtype is None else dtypes.as_dtype(dtype)
        initializer = initializers.get("glorot_uniform" if initializer is None else initializer)
        value = _to_array(initializer(shape, dtype=dtype), dtype, f'Layer "{self.name}".add_weight')
        if value.shape != shape:
            raise ValueError(
                f'Layer "{self.name}": the initializer of weight "{name}" returned shape {value.shape}; '
                f"expected {shape}."
            )
        variable = Variable(value, dtype=dtype, trainable=trainable and self._trainable, name=name or "variable")
        (self._trainable_variables if trainable else self._non_trainable_variables).append(variable)
        return variable

    def build(self, input_shape):
        """Create the weights for inputs of ``input_shape`` (batch axis first, may be None)."""
        self.built = True

    def call(self, inputs):
        """The layer's computation; override it."""
        raise NotImplementedError(f"Layer {type(self).__name__} does not implement call().")

    def compute_output_shape(self, input_shape):
        """The output shape for an input of ``input_shape`` (batch axis included)."""
        raise NotImplementedError(
            f"Layer {type(self).__name__} does not implement compute_output_shape(); "
            "call it on real data to learn its output shape."
        )

    # ---- calling -----------------------------------------------------------------------
    def __call__(self, inputs, *args, training=None, **kwargs):
        """Run the layer on ``inputs`` (a tensor, NumPy array or ``KerasTensor``), building it on first use.

        Args:
            inputs: the input batch.
            training: True for training behaviour (Dropout drops, BatchNormalization
                uses batch statistics); None inherits the value given to the model
                this layer belongs to, else the call's default.
        """
        if not isinstance(inputs, Tensor):
            if isinstance(inputs, KerasTensor):
                return self._call_symbolic(inputs)
            inputs = Tensor(_to_array(inputs, None, f'Layer "{self.name}"'))
        value = inputs._value
        if value.dtype != self._dtype and value.dtype.kind in "fiub":
            inputs = cast(inputs, self._dtype)
        if not self.built:
            self._build_for(value.shape)
        elif self.input_spec is not None:
            self.input_spec.check(value.shape, self)
        if training is None:
            training = self._inherited_training
        if self._call_takes_training and training is not None:
            kwargs["training"] = training
        if not self._layers or training is None or self._passes_training_on:
            return self.call(inputs, *args, **kwargs)
        # Sub-layers called without ``training`` use the value this call was given (Keras's call context).
        saved = [(layer, layer._inherited_training) for layer in self._descendants()]
        for layer, _ in saved:
            layer._inherited_training = training
        try:
            return self.call(inputs, *args, **kwargs)
        finally:
            for layer, previous in saved:
                layer._inherited_training = previous

    def _build_for(self, input_shape):
        if self.input_spec is not None:
            self.input_spec.check(tuple(input_shape), self)
        input_shape = (None, *input_shape[1:]) if len(input_shape) else tuple(input_shape)
        if self._batch_input_shape is not None and len(input_shape) == len(self._batch_input_shape):
            _check_declared_shape(self, input_shape)
        self.build(input_shape)
        self.built = True
        self._build_input_shape = tuple(input_shape)

    def _call_symbolic(self, keras_tensor):
        """Called on a ``KerasTensor``: build, infer the output shape, record the connection."""
        if not self.built:
            self._build_for(keras_tensor.shape)
        elif self.input_spec is not None:
            self.input_spec.check(keras_tensor.shape, self)
        output = KerasTensor(
            self.compute_output_shape(tuple(keras_tensor.shape)), self.dtype, source=(self, keras_tensor)
        )
        self._inbound_nodes.append((keras_tensor, output))
        return output

    def _descendants(self):
        for layer in self._layers:
            yield layer
            yield from layer._descendants()

    @property
    def input(self):
        """The symbolic input of this layer in the model it was first connected in."""
        return self._node(0, "input")

    @property
    def output(self):
        """The symbolic output of this layer (``Model(inputs, [layer.output for layer in model.layers])``)."""
        return self._node(1, "output")

    def _node(self, index, what):
        if not self._inbound_nodes:
            raise AttributeError(
                f'Layer "{self.name}" has no defined {what}: it has never been called on a symbolic input '
                "(keras.Input, or a Sequential model given an input shape)."
            )
        return self._inbound_nodes[0][index]

    # ---- configuration ------------------------------------------------------------------
    def get_config(self):
        """The constructor arguments as a JSON-friendly dict (``from_config`` rebuilds the layer)."""
        config = {"name": self.name, "trainable": self._trainable, "dtype": self.dtype}
        if self._batch_input_shape is not None:
            config["batch_input_shape"] = list(self._batch_input_shape)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _marks_built(build):
    """Wrap a subclass's ``build`` so that calling it directly (``layer.build(shape)``) marks the layer built."""

    @functools.wraps(build)
    def wrapper(self, input_shape=None, *args, **kwargs):
        build(self, input_shape, *args, **kwargs)
        self.built = True
        if self._build_input_shape is None and input_shape is not None:
            self._build_input_shape = (None, *tuple(input_shape)[1:])

    return wrapper


def _check_declared_shape(layer, input_shape):
    declared = layer._batch_input_shape
    for got, want in zip(input_shape[1:], declared[1:]):
        if want is not None and got != want:
            raise ValueError(
                f'Layer "{layer.name}" was declared with input_shape={declared[1:]}, '
                f"but was called on an input of shape {tuple(input_shape)}."
            )


def _float_dtype(dtype, owner):
    dtype = dtypes.as_dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"{owner}: dtype must be a float dtype; received dtype={dtype.name}.")
    return dtype


def _layers_in(value):
    if isinstance(value, Layer):
        return [value]
    if isinstance(value, (list, tuple)):
        return [item for item in value if isinstance(item, Layer)]
    if isinstance(value, dict):
        return [item for item in value.values() if isinstance(item, Layer)]
    return []


def _unique(variables):
    seen = set()
    result = []
    for variable in variables:
        if id(variable) not in seen:
            seen.add(id(variable))
            result.append(variable)
    return result


def _unique_name(name, taken):
    """``name``, or ``name_1``, ``name_2``, ... (Keras's scheme) if it is already taken."""
    if name not in taken:
        return name
    base = re.sub(r"_\d+$", "", name)
    index = 1
    while f"{base}_{index}" in taken:
        index += 1
    return f"{base}_{index}"
