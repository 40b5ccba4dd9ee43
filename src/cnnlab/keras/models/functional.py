"""Functional models: ``keras.Model(inputs, outputs)`` from layers called on symbolic tensors.

    inputs = keras.Input(shape=(28, 28, 1))
    x = keras.layers.Conv2D(10, 3, activation="relu")(inputs)
    outputs = keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(x))
    model = keras.Model(inputs, outputs)

The layers cnnlab offers each take one input, so a functional model is a tree
grown from its one input; it may have several outputs, which is how feature maps
are read out of a trained network:

    probe = keras.Model(model.inputs, [layer.output for layer in model.layers])
    feature_maps = probe.predict(images)   # one array per layer
"""

from ..layers.base import KerasTensor, _unique_name
from ..layers.core import InputLayer
from .functional_config import functional_config, functional_from_config
from .model import Model
from .planner import Node, Plan


class Functional(Model):
    """A model defined by the graph between a symbolic input and its outputs.

    Args:
        inputs: one ``keras.Input(...)`` (or a list holding one).
        outputs: a symbolic tensor reached from ``inputs`` by calling layers, or a list of them.
        name: the model's name (default 'functional').
    """

    _passes_training_on = True
    _stateless_inference = True  # as its layers are (predict checks them too)

    def __init__(self, inputs, outputs, name=None, trainable=True):
        super().__init__(name=name or "functional", trainable=trainable)
        self._auto_named = name is None
        if isinstance(inputs, (list, tuple)):
            if len(inputs) != 1:
                raise ValueError(
                    f"Model: cnnlab's functional models take exactly one input; received {len(inputs)} inputs."
                )
            inputs = inputs[0]
        if not isinstance(inputs, KerasTensor) or inputs.source is None or not isinstance(inputs.source[0], InputLayer):
            raise TypeError(f"Model: inputs must be a keras.Input(...) tensor; received {inputs!r}.")
        self._multiple_outputs = isinstance(outputs, (list, tuple))
        output_list = list(outputs) if self._multiple_outputs else [outputs]
        if not output_list or not all(isinstance(o, KerasTensor) for o in output_list):
            raise TypeError(
                f"Model: outputs must be symbolic tensors made by calling layers on the inputs; received {outputs!r}."
            )
        self._input_tensor = inputs
        self._output_tensors = output_list
        self._nodes = _nodes_between(inputs, output_list)
        self._layers = [inputs.source[0]]
        for layer, _, _ in self._nodes:
            if not any(layer is known for known in self._layers):
                if layer._auto_named:
                    layer.name = _unique_name(layer.name, {known.name for known in self._layers})
                self._layers.append(layer)
        self._build_input_shape = (None, *inputs.shape[1:])
        self.built = True
        nodes = [Node(layer, (id(source),), id(target)) for layer, source, target in self._nodes]
        self._plan = Plan(nodes, outputs=[id(output) for output in output_list])

    @property
    def layers(self):
        """Every layer, the InputLayer first (as Keras lists a functional model's layers)."""
        return list(self._layers)

    @property
    def inputs(self):
        return [self._input_tensor]

    @property
    def outputs(self):
        return list(self._output_tensors)

    @property
    def input_shape(self):
        return self._input_tensor.shape

    @property
    def output_shape(self):
        shapes = [o.shape for o in self._output_tensors]
        return shapes if self._multiple_outputs else shapes[0]

    def call(self, inputs, training=None):
        outputs = self._plan.run({id(self._input_tensor): inputs}, training)
        return outputs if self._multiple_outputs else outputs[0]

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


def _nodes_between(inputs, outputs):
    """The layer calls ``(layer, input tensor, output tensor)`` leading from ``inputs`` to ``outputs``, in order.

    Walked with a stack rather than recursion, so that a chain of any length fits.
    """
    found = {}  # id(output tensor) -> (depth, node), each after the node that feeds it

    for output in outputs:
        pending = [output]
        while pending:
            tensor = pending[-1]
            if tensor is inputs or id(tensor) in found:
                pending.pop()
                continue
            if tensor.source is None or tensor.source[1] is None:
                raise ValueError(
                    f"Model: the output {tensor!r} is not connected to the inputs given; every output must be "
                    "computed from them by calling layers."
                )
            layer, source = tensor.source
            if source is inputs or id(source) in found:
                depth = 0 if source is inputs else found[id(source)][0]
                found[id(tensor)] = (depth + 1, (layer, source, tensor))
                pending.pop()
            else:
                pending.append(source)
    return [node for _, node in sorted(found.values(), key=lambda item: item[0])]
