"""Functional models: ``keras.Model(inputs, outputs)`` from layers called on symbolic tensors.

    inputs = keras.Input(shape=(28, 28, 1))
    x = keras.layers.Conv2D(10, 3, activation="relu")(inputs)
    outputs = keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(x))
    model = keras.Model(inputs, outputs)

The graph may branch and join (a residual ``Add``, a ``Concatenate`` of two towers),
take several inputs and give several outputs, each as a list or a dict:

    image, meta = keras.Input((32, 32, 3), name="image"), keras.Input((4,), name="meta")
    ...
    model = keras.Model([image, meta], {"label": label, "box": box})
    model.predict({"image": images, "meta": extra})    # inputs by name, or as a list

Reading feature maps out of a trained network is a model with one output per layer:

    probe = keras.Model(model.inputs, [layer.output for layer in model.layers[1:]])
"""

import numpy as np

from ... import nest
from ...ops.math_ops import cast
from ...tensor import Tensor, _to_array
from ..layers.base import KerasTensor, _unique_name
from ..layers.core import InputLayer
from .functional_config import functional_config, functional_from_config, keras_layer_order
from .model import Model
from .planner import Node, Plan


class Functional(Model):
    """A model defined by the graph between symbolic inputs and outputs.

    Args:
        inputs: a ``keras.Input(...)`` tensor, or a list or dict of them.
        outputs: a symbolic tensor reached from ``inputs`` by calling layers, or a list
            or dict of them.
        name: the model's name (default 'functional').

    A subclass of ``keras.Model`` made this way (``CustomModel(inputs, outputs)``) is a
    functional model too, with the subclass's methods (its ``train_step``, say).
    """

    _passes_training_on = True
    _stateless_inference = True  # as its layers are (predict checks them too)

    def __init__(self, inputs, outputs, name=None, trainable=True, **kwargs):
        super().__init__(name=name or "functional", trainable=trainable, **kwargs)
        self._auto_named = name is None
        input_list = nest.flatten(inputs)
        for tensor in input_list:
            if not (isinstance(tensor, KerasTensor) and tensor.source and isinstance(tensor.source[0], InputLayer)):
                raise TypeError(
                    "Model: inputs must be keras.Input(...) tensors (one, or a list or dict of them); "
                    f"received {inputs!r}."
                )
        output_list = nest.flatten(outputs)
        if not output_list or not all(isinstance(o, KerasTensor) for o in output_list):
            raise TypeError(
                f"Model: outputs must be symbolic tensors made by calling layers on the inputs; received {outputs!r}."
            )
        self._inputs_structure = inputs
        self._outputs_structure = outputs
        self._input_tensors = input_list
        self._output_tensors = output_list
        self._multiple_outputs = not isinstance(outputs, KerasTensor)
        self._nodes = _nodes_between(input_list, output_list)
        layers = []
        for layer in [tensor.source[0] for tensor in input_list] + [layer for layer, _ in self._nodes]:
            if not any(layer is known for known in layers):
                if layer._auto_named:
                    layer.name = _unique_name(layer.name, {known.name for known in layers})
                layers.append(layer)
        self._layers = layers
        self._layers = keras_layer_order(self)  # Keras's order, for `layers`, `weights` and the files
        shapes = [(None, *tensor.shape[1:]) for tensor in input_list]
        self._build_input_shape = shapes[0] if len(shapes) == 1 else nest.pack_sequence_as(inputs, shapes)
        self.built = True
        nodes = [
            Node(
                layer,
                [id(tensor) for tensor in record.input_tensors],
                id(record.outputs)
                if isinstance(record.outputs, KerasTensor)
                else tuple(id(tensor) for tensor in record.output_tensors),
                pack=None if isinstance(record.inputs, KerasTensor) else _packer(record.inputs),
                arguments=record.arguments,
            )
            for layer, record in self._nodes
        ]
        self._plan = Plan(nodes, inputs=[id(tensor) for tensor in input_list], outputs=[id(o) for o in output_list])

    @property
    def layers(self):
        """Every layer, in Keras's order: by depth from the outputs, the InputLayers first
        (``functional_config.keras_layer_order``)."""
        return list(self._layers)

    @property
    def inputs(self):
        return list(self._input_tensors)

    @property
    def outputs(self):
        return list(self._output_tensors)

    @property
    def input(self):
        """The inputs as they were given: one symbolic tensor, or a list or dict of them."""
        return self._inputs_structure

    @property
    def output(self):
        return self._outputs_structure

    @property
    def input_names(self):
        return [tensor.source[0].name for tensor in self._input_tensors]

    @property
    def output_names(self):
        """The names of the layers that make the outputs, in the order the outputs were given
        (Keras 3's ``output_names``; compile's losses and History keys name a dict's outputs by key)."""
        structure = self._outputs_structure
        given = list(structure.values()) if isinstance(structure, dict) else nest.flatten(structure)
        return [tensor.source[0].name for tensor in given]

    @property
    def input_shape(self):
        shapes = [tensor.shape for tensor in self._input_tensors]
        return shapes[0] if isinstance(self._inputs_structure, KerasTensor) else nest.pack_sequence_as(
            self._inputs_structure, shapes
        )

    @property
    def output_shape(self):
        shapes = [o.shape for o in self._output_tensors]
        return shapes[0] if not self._multiple_outputs else nest.pack_sequence_as(self._outputs_structure, shapes)

    @property
    def _input_dtype(self):
        # A model of one input converts it to its Input's dtype (several: see _call_on_structure).
        return np.dtype(self._input_tensors[0].dtype) if len(self._input_tensors) == 1 else self._dtype

    def _call_on_structure(self, inputs, args, training, kwargs):
        # Each input is converted to its own Input's dtype, as Keras's functional models do, not to the model's.
        owner = f'Model "{self.name}"'
        tensors = []
        for value, symbolic in zip(self.flat_inputs(inputs), self._input_tensors):
            tensor = value if isinstance(value, Tensor) else Tensor(_to_array(value, None, owner))
            if tensor._value.dtype.name != symbolic.dtype and tensor._value.dtype.kind in "fiub":
                tensor = cast(tensor, symbolic.dtype)
            tensors.append(tensor)
        return self._run_call(tensors, args, training, kwargs)

    def call(self, inputs, training=None):
        outputs = self._plan.run(dict(zip(self._plan.inputs, self.flat_inputs(inputs))), training)
        if not self._multiple_outputs:
            return outputs[0]
        return nest.pack_sequence_as(self._outputs_structure, outputs)

    def flat_inputs(self, inputs, op="call"):
        """``inputs`` as a list in the order of ``model.inputs``: one value for a model of one input,
        a list or tuple in order, or a dict by input name (or by key, for a dict of inputs).

        Raises:
            ValueError: the inputs do not match the model's (naming what is missing or extra).
        """
        count = len(self._input_tensors)
        if isinstance(inputs, dict):
            if isinstance(self._inputs_structure, dict):
                names = sorted(self._inputs_structure)
            else:
                names = self.input_names
            missing = [name for name in names if name not in inputs]
            if missing:
                raise ValueError(
                    f"{op}: the model's inputs are named {names}; the dict of inputs given lacks {missing} "
                    f"(it has keys {sorted(map(str, inputs))})."
                )
            return [inputs[name] for name in names]
        if isinstance(inputs, (list, tuple)) and not (count == 1 and not _holds_arrays(inputs)):
            if len(inputs) != count:
                raise ValueError(
                    f"{op}: the model takes {count} input(s) ({self.input_names}); received a list of {len(inputs)}."
                )
            return list(inputs)
        if count != 1:
            raise ValueError(
                f"{op}: the model takes {count} inputs ({self.input_names}); give them as a list in that order or "
                f"as a dict by name; received one {type(inputs).__name__}."
            )
        return [inputs]

    def compute_output_shape(self, input_shape):
        return self.output_shape

    def get_config(self):
        """The graph in Keras 3's format (``layers`` with their ``inbound_nodes``, ``input_layers``,
        ``output_layers``; see ``functional_config``)."""
        return functional_config(self)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """The model a config in Keras 3's or Keras 2's format (or cnnlab's older one) describes."""
        return functional_from_config(cls, config, custom_objects)


def _holds_arrays(value):
    return any(isinstance(leaf, Tensor) or hasattr(leaf, "shape") for leaf in value)


def _packer(structure):
    """A function rebuilding a call's input ``structure`` (a list / tuple / dict of tensors) from its
    values in order."""
    return lambda values: nest.pack_sequence_as(structure, values)


def _nodes_between(inputs, outputs):
    """The layer calls ``(layer, CallRecord)`` leading from ``inputs`` to ``outputs``, each after the
    calls that make its inputs.

    Walked with a stack rather than recursion, so that a chain of any length fits.

    Raises:
        ValueError: an output (or a tensor it needs) is not computed from ``inputs``.
    """
    input_ids = {id(tensor) for tensor in inputs}
    placed = set()  # id of each call already in the order
    order = []
    for output in outputs:
        pending = [output]
        while pending:
            tensor = pending[-1]
            if id(tensor) in input_ids:
                pending.pop()
                continue
            record = _making_call(tensor)
            if id(record) in placed:
                pending.pop()
                continue
            waiting = [
                source
                for source in record.input_tensors
                if id(source) not in input_ids and id(_making_call(source)) not in placed
            ]
            if waiting:
                pending.extend(waiting)
                continue
            placed.add(id(record))
            order.append((tensor.source[0], record))
            pending.pop()
    return order


def _making_call(tensor):
    """The call record of the layer call that made ``tensor``."""
    if tensor.source is None or tensor.source[1] is None:
        raise ValueError(
            f"Model: {tensor!r} is not connected to the inputs given; every output must be computed from them "
            "by calling layers (and every keras.Input it needs must be among the model's inputs)."
        )
    layer = tensor.source[0]
    for record in layer._inbound_nodes:
        if any(made is tensor for made in record.output_tensors):
            return record
    raise ValueError(f"Model: {tensor!r} was not made by a call of layer '{layer.name}'.")
