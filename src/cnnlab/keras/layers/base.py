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

import contextlib
import functools
import inspect
import re

import numpy as np

from ... import dtypes, nest
from ...ops.math_ops import cast
from ...tensor import Tensor, Variable, _to_array
from .. import constraints, initializers, regularizers
from ..metrics import Metric
from ..serialization import to_snake_case


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
    assembles a model.  ``source`` is ``(layer, inputs)``: the layer and what it was
    called on (a KerasTensor, or a list / tuple / dict of them), or ``(InputLayer, None)``
    for a model input; ``index`` is the tensor's place among that call's outputs.
    """

    def __init__(self, shape, dtype="float32", source=None, name=None, index=0):
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype).name
        self.source = source
        self.name = name
        self.index = index

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"


class CallArguments(tuple):
    """The positional arguments of a layer called on tensors in several of them
    (``endpoint(targets, logits)``), each a tensor or a structure of tensors."""


class CallRecord:
    """One call of a layer on symbolic tensors: what it was called on (``inputs``, a KerasTensor
    or a structure of them, or ``CallArguments`` for several positional arguments), what it
    returned (``outputs``, likewise) and the other keyword arguments it was given (``arguments``,
    such as ``training=False``)."""

    __slots__ = ("inputs", "outputs", "arguments")

    def __init__(self, inputs, outputs, arguments=None):
        self.inputs, self.outputs, self.arguments = inputs, outputs, dict(arguments or {})

    @property
    def input_tensors(self):
        return [] if self.inputs is None else nest.flatten(self.inputs)

    @property
    def output_tensors(self):
        return nest.flatten(self.outputs)


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
        activity_regularizer: a penalty on the layer's output (``keras.regularizers``),
            divided by the batch size, added to ``losses`` at each call.
        autocast: accepted for Keras's signature (cnnlab computes in the layer's dtype).

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
        self,
        trainable=True,
        name=None,
        dtype=None,
        input_shape=None,
        input_dim=None,
        batch_input_shape=None,
        activity_regularizer=None,
        autocast=True,
        **kwargs,
    ):
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unrecognized keyword argument(s) {sorted(kwargs)}.")
        if name is not None and not isinstance(name, str):
            raise ValueError(f"{type(self).__name__}: name must be a string; received name={name!r}.")
        name = name or None  # an empty name asks for the automatic one, as tf.keras 2 took it
        self._auto_named = name is None
        self.name = to_snake_case(type(self).__name__) if name is None else name
        self._dtype = dtypes.float32 if dtype is None else _float_dtype(dtype, type(self).__name__)
        self._trainable = bool(trainable)
        self.built = False
        self.input_spec = None
        self._trainable_variables = []
        self._non_trainable_variables = []
        self._layers = []
        self._metrics = []
        self._losses = []
        self._loss_functions = []
        self.activity_regularizer = regularizers.get(activity_regularizer)
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

    # ---- tracking of attributes ---------------------------------------------------------
    def __setattr__(self, name, value):
        # As Keras: Variables, layers and metrics assigned as attributes (or held in lists,
        # tuples and dicts assigned as attributes, even ones filled later) belong to the layer.
        if name not in _BOOKKEEPING:
            value = self._track(value, name)
        super().__setattr__(name, value)

    def __delattr__(self, name):
        value = getattr(self, name, None)
        if isinstance(value, Variable):
            self._untrack(value)
        super().__delattr__(name)

    def _track(self, value, name=None):
        """Track ``value`` (see ``__setattr__``); returns what to store (a list or dict wrapped so
        that what is added to it later is tracked too)."""
        if isinstance(value, Variable):
            self._require_initialized(name)
            if not any(value is known for known in self._trainable_variables + self._non_trainable_variables):
                (self._trainable_variables if value.trainable else self._non_trainable_variables).append(value)
        elif isinstance(value, Layer):
            if value is not self:
                self._require_initialized(name)
                if not any(value is known for known in self._layers):
                    self._track_layer(value)
        elif isinstance(value, Metric):
            self._require_initialized(name)
            if not any(value is known for known in self._metrics):
                self._metrics.append(value)
        elif isinstance(value, (TrackedList, TrackedDict)) and value.owner is self:
            pass
        elif isinstance(value, tuple):
            for item in value:
                self._track(item, name)
        elif type(value) is list and (not value or _holds_trackables(value)):
            return TrackedList(value, self)
        elif type(value) is dict and (not value or _holds_trackables(value)):
            return TrackedDict(value, self)
        return value

    def _untrack(self, value):
        for store in (self._trainable_variables, self._non_trainable_variables, self._layers, self._metrics):
            store[:] = [known for known in store if known is not value]

    def _require_initialized(self, name):
        if "_layers" not in self.__dict__:
            raise RuntimeError(
                f"{type(self).__name__}: a layer, variable or metric was assigned to self.{name} before the base "
                "class was initialized; call super().__init__() first in __init__."
            )

    def _track_layer(self, layer):
        if layer._auto_named:
            layer.name = _unique_name(layer.name, {known.name for known in self._layers})
        self._layers.append(layer)

    # ---- properties -----------------------------------------------------------------
    @property
    def dtype(self):
        return self._dtype.name

    @property
    def _input_dtype(self):
        """The dtype an input's numbers are converted to when the layer is called (Keras's
        ``Layer.input_dtype``): the layer's own; a model's is its Input's."""
        return self._dtype

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
        for layer in self._descendants():  # depth first, as each sub-layer lists its own
            found += layer._trainable_variables
            found += layer._non_trainable_variables
        return _unique(found)

    @property
    def variables(self):
        return self.weights

    @property
    def submodules(self):
        """Every layer inside this one, nested ones too, each once (tf.Module's ``submodules``)."""
        found = []
        for layer in self._descendants():
            if not any(layer is known for known in found):
                found.append(layer)
        return tuple(found)

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
    def add_weight(self, *args, **kwargs):
        """Create, track and return a ``Variable`` of ``shape`` filled by ``initializer``.

        Args (Keras 3's order; tf.keras 2's ``add_weight("kernel", shape, dtype, initializer,
        regularizer, trainable, constraint)``, which starts with the name, is taken too):
            shape: the weight's shape (default a scalar).
            initializer: an initializer object, name or callable ``(shape, dtype)``;
                by default 'glorot_uniform' for floats.
            dtype: default the layer's dtype.
            trainable: whether training updates it (BatchNormalization's moving
                statistics are not trainable).
            autocast, aggregation: accepted for Keras's signature (they change nothing here).
            regularizer: a penalty on the weight (``keras.regularizers``), in ``losses``.
            constraint: a projection applied after each optimizer update (``keras.constraints``).
            name: the weight's name (``kernel``, ``bias``, ...).
        """
        order = _TF2_ADD_WEIGHT_ORDER if args and isinstance(args[0], str) else _ADD_WEIGHT_ORDER
        if len(args) > len(order):
            raise TypeError(f'Layer "{self.name}".add_weight takes at most {len(order)} positional arguments.')
        for argument, value in zip(order, args):
            if argument in kwargs:
                raise TypeError(f'Layer "{self.name}".add_weight got two values for argument {argument!r}.')
            kwargs[argument] = value
        unknown = sorted(set(kwargs) - set(_ADD_WEIGHT_ORDER))
        if unknown:
            raise TypeError(f'Layer "{self.name}".add_weight: unexpected keyword argument(s) {unknown}.')
        return self._add_weight(**kwargs)

    def _add_weight(
        self,
        shape=None,
        initializer=None,
        dtype=None,
        trainable=True,
        autocast=True,
        regularizer=None,
        constraint=None,
        aggregation="none",
        name=None,
    ):
        owner = f'Layer "{self.name}".add_weight'
        shape = () if shape is None else standardize_shape(shape, "shape", owner)
        dtype = self._dtype if dtype is None else dtypes.as_dtype(dtype)
        initializer = initializers.get("glorot_uniform" if initializer is None else initializer)
        value = _to_array(initializer(shape, dtype=dtype), dtype, owner)
        if value.shape != shape:
            raise ValueError(
                f'Layer "{self.name}": the initializer of weight "{name}" returned shape {value.shape}; '
                f"expected {shape}."
            )
        variable = Variable(value, dtype=dtype, trainable=trainable and self._trainable, name=name or "variable")
        variable.regularizer = regularizers.get(regularizer)
        variable.constraint = constraints.get(constraint)
        (self._trainable_variables if trainable else self._non_trainable_variables).append(variable)
        return variable

    def _add_weight_of(self, prefix, shape, trainable=True):
        """``add_weight`` named ``prefix`` with the layer's ``<prefix>_initializer``, ``_regularizer``
        and ``_constraint`` (Dense's kernel and bias, BatchNormalization's gamma and beta...)."""
        return self.add_weight(
            shape=shape,
            initializer=getattr(self, f"{prefix}_initializer"),
            trainable=trainable,
            regularizer=getattr(self, f"{prefix}_regularizer", None),
            constraint=getattr(self, f"{prefix}_constraint", None),
            name=prefix,
        )

    def _weight_options_config(self, *prefixes):
        """The ``<prefix>_regularizer`` and ``<prefix>_constraint`` entries of the config, in Keras's order."""
        config = {}
        for kind, module in (("regularizer", regularizers), ("constraint", constraints)):
            for prefix in prefixes:
                config[f"{prefix}_{kind}"] = module.serialize(getattr(self, f"{prefix}_{kind}"))
        return config

    # ---- losses ------------------------------------------------------------------------
    def add_loss(self, loss):
        """Add a scalar loss (a tensor, or several) to ``losses``: called in ``call``, it is
        summed into the training loss of the step (and cleared at the layer's next call).

        A zero-argument function is kept instead and called each time ``losses`` is read
        (tf.keras 2's ``add_loss(lambda: ...)``).
        """
        if callable(loss) and not isinstance(loss, Tensor):
            self._loss_functions.append(loss)
            return
        for value in nest.flatten(loss):
            if not isinstance(value, Tensor):
                raise ValueError(
                    f'Layer "{self.name}".add_loss: expected a tensor (or a function returning one); received '
                    f"{type(value).__name__}. Add losses computed from the layer's tensors in call()."
                )
            self._losses.append(value)

    @property
    def losses(self):
        """The losses of this layer and its sub-layers: those added by ``add_loss`` (and activity
        regularizers) during their last call, then the weight penalties of the trainable weights
        (computed now, from their current values)."""
        found = []
        seen = set()
        for layer in (self, *self._descendants()):
            if id(layer) in seen:
                continue
            seen.add(id(layer))
            if layer._losses:  # most layers have none
                found += layer._losses
            if layer._loss_functions:
                found += [function() for function in layer._loss_functions]
        found += [w.regularizer(w) for w in self.trainable_weights if w.regularizer is not None]
        return found

    def build(self, input_shape):
        """Create the weights for inputs of ``input_shape`` (batch axis first, may be None)."""
        self.built = True
        self._record_build_shape(input_shape)

    def _record_build_shape(self, input_shape):
        """Keep the shape the layer was first built for (saved as its ``build_config``): one shape, or
        one per input of a merge layer, each with its batch axis unknown."""
        if self._build_input_shape is None and input_shape is not None:
            self._build_input_shape = _map_shapes(_unbatched, input_shape)

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
        """Run the layer on ``inputs``, building it on first use.

        Args:
            inputs: a tensor, NumPy array or ``KerasTensor``; or a list / tuple / dict of
                them for a layer that takes several (a merge layer, ``Sampling()((mean, log_var))``).
            training: True for training behaviour (Dropout drops, BatchNormalization
                uses batch statistics); None inherits the value given to the model
                this layer belongs to, else the call's default.
        """
        if not isinstance(inputs, Tensor):
            if isinstance(inputs, KerasTensor) or _holds_keras_tensors(inputs) or _holds_keras_tensors(args):
                return self._call_symbolic(inputs, args, training, kwargs)
            if _is_structure(inputs):
                return self._call_on_structure(inputs, args, training, kwargs)
            inputs = Tensor(_to_array(inputs, None, f'Layer "{self.name}"'))
        value = inputs._value
        if value.dtype != self._input_dtype and value.dtype.kind in "fiub":
            inputs = cast(inputs, self._input_dtype)
        if not self.built:
            self._build_for(value.shape)
        elif self.input_spec is not None:
            self.input_spec.check(value.shape, self)
        return self._run_call(inputs, args, training, kwargs)

    def _run_call(self, inputs, args, training, kwargs):
        """``call`` with the ``training`` flag resolved and handed down to the sub-layers; the losses
        of the layer's previous call dropped first, its activity penalty added after."""
        if self._losses:
            self._losses.clear()
        if training is None:
            training = self._inherited_training
        if self._call_takes_training and training is not None:
            kwargs["training"] = training
        if not self._layers or training is None or self._passes_training_on:
            outputs = self.call(inputs, *args, **kwargs)
        else:
            # Sub-layers called without ``training`` use the value this call was given (Keras's call context).
            saved = [(layer, layer._inherited_training) for layer in self._descendants()]
            for layer, _ in saved:
                layer._inherited_training = training
            try:
                outputs = self.call(inputs, *args, **kwargs)
            finally:
                for layer, previous in saved:
                    layer._inherited_training = previous
        if self.activity_regularizer is not None:
            for output in nest.flatten(outputs):
                if isinstance(output, Tensor):
                    penalty = self.activity_regularizer(output)
                    self.add_loss(penalty / float(output.shape[0]) if output.ndim and output.shape[0] else penalty)
        return outputs

    def _call_on_structure(self, inputs, args, training, kwargs):
        """Called on a list / tuple / dict of tensors: each converted (floats to the layer's dtype),
        the layer built for the structure of their shapes."""
        owner = f'Layer "{self.name}"'
        tensors = []
        for item in nest.flatten(inputs):
            tensor = item if isinstance(item, Tensor) else Tensor(_to_array(item, None, owner))
            if tensor._value.dtype.kind == "f" and tensor._value.dtype != self._dtype:
                tensor = cast(tensor, self._dtype)
            tensors.append(tensor)
        inputs = nest.pack_sequence_as(inputs, tensors)
        if not self.built:
            self._build_for(nest.pack_sequence_as(inputs, [tuple(t._value.shape) for t in tensors]))
        return self._run_call(inputs, args, training, kwargs)

    def _build_for(self, input_shape):
        if _is_shape(input_shape):
            if self.input_spec is not None:
                self.input_spec.check(tuple(input_shape), self)
            input_shape = _unbatched(input_shape)
            if self._batch_input_shape is not None and len(input_shape) == len(self._batch_input_shape):
                _check_declared_shape(self, input_shape)
        else:
            input_shape = _map_shapes(_unbatched, input_shape)
        self.build(input_shape)
        self.built = True
        self._build_input_shape = input_shape

    def _call_symbolic(self, inputs, args=(), training=None, kwargs=None):
        """Called on symbolic tensors: build, find the output shape, record the call.

        The output shape is ``compute_output_shape``'s; a layer that does not define it
        (a layer of one's own) is run once on a small placeholder batch instead
        (``_inferred_output_shape``), which leaves no trace.
        """
        kwargs = dict(kwargs or {})
        if any(not _holds_keras_tensors([value]) for value in args) or any(
            _holds_keras_tensors([value]) for value in kwargs.values()
        ):
            raise TypeError(
                f'Layer "{self.name}" ({type(self).__name__}): on symbolic tensors, a layer takes tensors as its '
                "positional arguments (several in one as a list, tuple or dict) and other arguments by keyword."
            )
        shapes = _map_tensors(lambda tensor: tuple(tensor.shape), inputs)
        if not self.built:
            self._build_for(shapes)
        elif self.input_spec is not None and isinstance(inputs, KerasTensor):
            self.input_spec.check(shapes, self)
        if training is not None:
            kwargs["training"] = training
        if args:  # tensors in several positional arguments (``endpoint(targets, logits)``)
            inputs = CallArguments((inputs, *args))
        if args or type(self).compute_output_shape is Layer.compute_output_shape:
            output_shape, output_dtypes = self._inferred_output_spec(inputs, kwargs)
        else:
            output_shape = self.compute_output_shape(shapes)
            output_dtypes = None
        flat_shapes = [output_shape] if _is_shape(output_shape) else _flat_shapes(output_shape)
        dtypes_out = [self.dtype] * len(flat_shapes) if output_dtypes is None else output_dtypes
        flat = [
            KerasTensor(shape, dtype, (self, inputs), index=index)
            for index, (shape, dtype) in enumerate(zip(flat_shapes, dtypes_out))
        ]
        outputs = flat[0] if _is_shape(output_shape) else _pack_shapes_as(output_shape, flat)
        self._inbound_nodes.append(CallRecord(inputs, outputs, kwargs))
        return outputs

    def _inferred_output_spec(self, inputs, kwargs):
        """The output shape(s) and dtypes of ``call``, found by running it in inference on zeros
        shaped as ``inputs``: twice, the unknown sizes 2 then 3 for the batch axis and 32 then 64
        for the others, so that an output size that follows an unknown input size stays unknown.

        The runs leave no trace (``_leaving_no_trace``): no tape records them, and the random
        stream, the weights, the metrics and the losses added are as they were before.
        """
        runs = []
        arguments = dict(kwargs, training=False) if self._call_takes_training else dict(kwargs)
        for sizes in _PLACEHOLDER_SIZES:
            placeholders = _map_tensors(
                lambda tensor: Tensor(np.zeros(_placeholder_shape(tensor.shape, sizes), dtype=tensor.dtype)), inputs
            )
            several = isinstance(inputs, CallArguments)
            first, rest = (placeholders[0], placeholders[1:]) if several else (placeholders, ())
            try:
                with _leaving_no_trace(self):
                    outputs = self._run_call(first, tuple(rest), False, dict(arguments))
            except (TypeError, ValueError, IndexError, KeyError, AttributeError, NotImplementedError) as error:
                raise ValueError(
                    f'Layer "{self.name}" ({type(self).__name__}) does not define compute_output_shape(), so cnnlab '
                    "ran its call() on zeros shaped as its input "
                    f"{_map_tensors(lambda t: tuple(t._value.shape), placeholders)} to learn its output shape, and "
                    f"the call failed: {type(error).__name__}: {error} Define compute_output_shape(input_shape) in "
                    "the layer to use it on symbolic inputs."
                ) from error
            leaves = nest.flatten(outputs)
            if not leaves or not all(isinstance(leaf, Tensor) for leaf in leaves):
                raise ValueError(
                    f'Layer "{self.name}" ({type(self).__name__}): its call() returned {type(outputs).__name__}, not '
                    "a tensor; a layer in a model returns a tensor (or a list / tuple / dict of them)."
                )
            runs.append((outputs, [tuple(leaf._value.shape) for leaf in leaves], [leaf.dtype.name for leaf in leaves]))
        (structure, first, output_dtypes), (_, second, _) = runs
        if any(len(one) != len(other) for one, other in zip(first, second)):
            raise ValueError(
                f'Layer "{self.name}" ({type(self).__name__}): the rank of its output depends on the size of its '
                "input; define compute_output_shape(input_shape) in the layer."
            )
        shapes = [tuple(a if a == b else None for a, b in zip(one, other)) for one, other in zip(first, second)]
        if isinstance(structure, Tensor):
            return shapes[0], output_dtypes
        return nest.pack_sequence_as(structure, shapes), output_dtypes

    def _descendants(self):
        for layer in self._layers:
            yield layer
            yield from layer._descendants()

    @property
    def input(self):
        """The symbolic input of this layer in the model it was first connected in."""
        return self._first_call("input").inputs

    @property
    def output(self):
        """The symbolic output of this layer (``Model(inputs, [layer.output for layer in model.layers])``)."""
        return self._first_call("output").outputs

    def _first_call(self, what):
        if not self._inbound_nodes:
            raise AttributeError(
                f'Layer "{self.name}" has no defined {what}: it has never been called on a symbolic input '
                "(keras.Input, or a Sequential model given an input shape)."
            )
        return self._inbound_nodes[0]

    # ---- configuration ------------------------------------------------------------------
    def get_config(self):
        """The constructor arguments as a JSON-friendly dict (``from_config`` rebuilds the layer)."""
        config = {"name": self.name, "trainable": self._trainable, "dtype": self.dtype}
        if self._batch_input_shape is not None:
            config["batch_input_shape"] = list(self._batch_input_shape)
        if self.activity_regularizer is not None:
            config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
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
        self._record_build_shape(input_shape)

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


def _holds_trackables(container, depth=0):
    items = container.values() if isinstance(container, dict) else container
    return depth < 8 and any(
        isinstance(item, (Variable, Layer, Metric))
        or (isinstance(item, (list, tuple, dict)) and _holds_trackables(item, depth + 1))
        for item in items
    )


class TrackedList(list):
    """A list held by a layer's attribute: what is put in it is tracked by the layer (Keras's
    ``TrackedList``), what is taken out no longer is."""

    def __init__(self, values, owner):
        self.owner = owner
        super().__init__(owner._track(value) for value in values)

    def append(self, value):
        super().append(self.owner._track(value))

    def insert(self, index, value):
        super().insert(index, self.owner._track(value))

    def extend(self, values):
        super().extend(self.owner._track(value) for value in values)

    def __setitem__(self, index, value):
        if isinstance(index, slice):
            value = [self.owner._track(item) for item in value]
        else:
            value = self.owner._track(value)
        super().__setitem__(index, value)

    def __iadd__(self, values):
        self.extend(values)
        return self

    def remove(self, value):
        super().remove(value)
        self.owner._untrack(value)

    def pop(self, index=-1):
        value = super().pop(index)
        self.owner._untrack(value)
        return value

    def __delitem__(self, index):
        removed = self[index] if isinstance(index, slice) else [self[index]]
        super().__delitem__(index)
        for value in removed:
            self.owner._untrack(value)

    def clear(self):
        for value in self:
            self.owner._untrack(value)
        super().clear()


class TrackedDict(dict):
    """A dict held by a layer's attribute: its values are tracked by the layer (Keras's ``TrackedDict``)."""

    def __init__(self, values, owner):
        self.owner = owner
        super().__init__((key, owner._track(value)) for key, value in values.items())

    def __setitem__(self, key, value):
        super().__setitem__(key, self.owner._track(value))

    def update(self, *args, **kwargs):
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
        return self[key]

    def pop(self, key, *default):
        value = super().pop(key, *default)
        self.owner._untrack(value)
        return value

    def __delitem__(self, key):
        value = self[key]
        super().__delitem__(key)
        self.owner._untrack(value)


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


# add_weight's arguments in Keras 3's order, and in tf.keras 2's (which starts with the name).
_ADD_WEIGHT_ORDER = (
    "shape",
    "initializer",
    "dtype",
    "trainable",
    "autocast",
    "regularizer",
    "constraint",
    "aggregation",
    "name",
)
_TF2_ADD_WEIGHT_ORDER = ("name", "shape", "dtype", "initializer", "regularizer", "trainable", "constraint")

# What a layer keeps about itself, not attributes to track (the layers of a functional model, its
# call records, a model's compiled metrics...).
_BOOKKEEPING = frozenset(
    {
        "_trainable_variables",
        "_non_trainable_variables",
        "_layers",
        "_metrics",
        "_losses",
        "_inbound_nodes",
        "_nodes",
        "_plan",
        "_input_tensors",
        "_output_tensors",
        "_symbolic_output",
        "_compile_settings",
        "_compile_loss",
        "_compile_metrics",
        "_loss_tracker",
    }
)


# ---- structures of tensors and shapes -------------------------------------------------------------

# The sizes given to unknown axes when a layer's output shape is found by running it:
# (batch axis, other axes) for each of the two runs.
_PLACEHOLDER_SIZES = ((2, 32), (3, 64))


def _is_shape(value):
    """Whether ``value`` is one shape (a tuple or list of sizes and None), not a structure of shapes."""
    return isinstance(value, (tuple, list)) and all(
        d is None or (isinstance(d, (int, np.integer)) and not isinstance(d, bool)) for d in value
    )


def _flat_shapes(structure):
    """The shapes in a structure of shapes (lists, tuples, dicts), in ``nest.flatten``'s order."""
    if _is_shape(structure):
        return [tuple(structure)]
    if isinstance(structure, dict):
        return [shape for key in sorted(structure) for shape in _flat_shapes(structure[key])]
    if isinstance(structure, (list, tuple)):
        return [shape for item in structure for shape in _flat_shapes(item)]
    raise TypeError(f"expected a shape or a list / tuple / dict of shapes; found {structure!r}")


def _pack_shapes_as(structure, flat):
    """``flat`` in the structure of the shape structure ``structure``."""
    leaves = iter(flat)

    def rebuild(node):
        if _is_shape(node):
            return next(leaves)
        if isinstance(node, dict):
            return {key: rebuild(node[key]) for key in sorted(node)}
        return type(node)(rebuild(item) for item in node)

    return rebuild(structure)


def _map_shapes(fn, structure):
    return _pack_shapes_as(structure, [fn(shape) for shape in _flat_shapes(structure)])


def _unbatched(shape):
    """A shape with its batch axis unknown (what a layer is built for)."""
    shape = tuple(shape)
    return (None, *shape[1:]) if shape else shape


def _map_tensors(fn, structure):
    return nest.pack_sequence_as(structure, [fn(leaf) for leaf in nest.flatten(structure)])


def _holds_keras_tensors(value):
    return isinstance(value, (list, tuple, dict)) and any(isinstance(leaf, KerasTensor) for leaf in nest.flatten(value))


def _is_structure(value):
    """Whether a layer's input is several tensors (a list / tuple / dict holding tensors or arrays),
    rather than one tensor written as nested Python lists of numbers."""
    return isinstance(value, dict) or (
        isinstance(value, (list, tuple))
        and any(isinstance(leaf, (Tensor, np.ndarray)) for leaf in nest.flatten(value))
    )


def _placeholder_shape(shape, sizes):
    batch, other = sizes
    return tuple((batch if axis == 0 else other) if d is None else d for axis, d in enumerate(shape))


@contextlib.contextmanager
def _leaving_no_trace(layer):
    """Around a run of ``layer`` that must change nothing (learning its output shape): no tape
    records it, and the global random stream, every weight of the layer and its sub-layers, the
    losses they hold and their metrics' states are put back as they were."""
    from ... import random as cnnlab_random
    from ...autodiff import no_recording
    from ..random import SeedGenerator

    layers = [layer, *layer._descendants()]
    # The global stream, and the streams of the layers' own SeedGenerators (keras.random).
    generators = [cnnlab_random.get_global_generator()]
    generators += [
        value._generator for known in layers for value in vars(known).values() if isinstance(value, SeedGenerator)
    ]
    random_states = [generator.bit_generator.state for generator in generators]
    weights = [(w, w._value.copy()) for w in _unique([w for known in layers for w in known.weights])]
    losses = [(known, list(known._losses)) for known in layers]
    metrics = [(metric, metric_state(metric)) for known in layers for metric in known._metrics]
    try:
        with no_recording(), np.errstate(all="ignore"):  # zeros through a log or a division: values unused
            yield
    finally:
        for generator, state in zip(generators, random_states):
            generator.bit_generator.state = state
        for weight, value in weights:
            weight._value[...] = value
        for known, held in losses:
            known._losses[:] = held
        for made in layer._descendants():
            if not any(made is known for known in layers):
                made._losses.clear()  # a sub-layer made during the run
        for metric, state in metrics:
            restore_metric_state(metric, state)


def metric_state(metric):
    """A copy of what ``metric`` has accumulated: its attributes and its variables' values."""
    return dict(vars(metric)), [(v, v._value.copy()) for v in getattr(metric, "_variables", [])]


def restore_metric_state(metric, state):
    attributes, variables = state
    vars(metric).clear()
    vars(metric).update(attributes)
    for variable, value in variables:
        variable._value[...] = value
