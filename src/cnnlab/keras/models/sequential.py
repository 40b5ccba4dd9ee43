"""``keras.Sequential``: a plain stack of layers, each feeding the next."""

import numpy as np

from ..layers.base import KerasTensor, Layer, _unique_name
from ..layers.core import InputLayer
from ..serialization import deserialize_layer, serialize_layer
from .model import Model
from .planner import Node, Plan


class Sequential(Model):
    """A model whose layers are applied one after the other (``tf.keras.Sequential``).

    Args:
        layers: the layers, in order (more can be added with ``add``).  The input
            shape comes from a first ``keras.Input(shape=...)`` / ``InputLayer``,
            from ``input_shape=`` on the first layer, or from the first batch the
            model is called on; once known, every layer is built and ``summary()``
            can show the output shapes.
        name: the model's name (default 'sequential').

    Example:
        >>> model = keras.Sequential([
        ...     keras.layers.Conv2D(10, (3, 3), activation="relu", padding="same", input_shape=(28, 28, 1)),
        ...     keras.layers.MaxPooling2D((2, 2)),
        ...     keras.layers.Flatten(),
        ...     keras.layers.Dense(10, activation="softmax"),
        ... ])
        >>> model.count_params()
        19710
    """

    _passes_training_on = True
    _stateless_inference = True  # as its layers are (predict checks them too)

    def __init__(self, layers=None, trainable=True, name=None):
        super().__init__(trainable=trainable, name=name)
        self._symbolic_output = None  # the KerasTensor at the end of the stack, once the input shape is known
        self._plan = None  # the planner's plan for the current layers
        if layers is not None:
            if isinstance(layers, (Layer, KerasTensor)):
                layers = [layers]
            for layer in layers:
                self.add(layer)

    def add(self, layer):
        """Append ``layer`` (a layer, or ``keras.Input(...)`` as the first entry)."""
        if isinstance(layer, KerasTensor):
            origin = layer.source[0] if layer.source else None
            if not isinstance(origin, InputLayer):
                raise TypeError(
                    "Sequential.add: the only symbolic tensor it accepts is keras.Input(...) as the first entry; "
                    f"received {layer!r}."
                )
            layer = origin
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add: expected a keras Layer; received {type(layer).__name__} ({layer!r}).")
        if isinstance(layer, InputLayer) and self._layers:
            raise ValueError(
                "Sequential.add: an InputLayer / keras.Input can only be the first entry of a Sequential model."
            )
        names = {known.name for known in self._layers}
        if layer._auto_named:
            layer.name = _unique_name(layer.name, names)
        elif layer.name in names:
            raise ValueError(
                "Sequential.add: all layers added to a Sequential model should have unique names; "
                f'"{layer.name}" is already used.'
            )
        self._layers.append(layer)
        if self._symbolic_output is not None:
            self._symbolic_output = layer(self._symbolic_output)
        elif len(self._layers) == 1:
            self._start_from_declared_input(layer)

    def _start_from_declared_input(self, first):
        """Build as soon as the first layer declares the input shape (InputLayer or ``input_shape=``)."""
        if isinstance(first, InputLayer):
            self._set_input(first.output)
        elif first._batch_input_shape is not None:
            self._set_input(InputLayer(batch_shape=first._batch_input_shape, dtype=first.dtype).output)

    def _set_input(self, input_tensor):
        self._input_tensor = input_tensor
        self._build_input_shape = (None, *input_tensor.shape[1:])
        output = input_tensor
        for layer in self._layers:
            if not isinstance(layer, InputLayer):
                output = layer(output)
        self._symbolic_output = output
        self.built = True

    def pop(self):
        """Remove the last layer (and return it)."""
        if not self.layers:
            raise ValueError("Sequential.pop: there are no layers to remove.")
        layer = self._layers.pop()
        if self._symbolic_output is not None:
            previous = self.layers[-1] if self.layers else None
            self._symbolic_output = previous._inbound_nodes[-1].outputs if previous is not None else self._input_tensor
        return layer

    @property
    def _input_dtype(self):
        # As Keras's Sequential: inputs are converted to the dtype of its Input (before there is one,
        # of its first layer), not to the model's own.
        if self._symbolic_output is not None:
            return np.dtype(self._input_tensor.dtype)
        return self.layers[0]._dtype if self.layers else self._dtype

    def _build_for(self, input_shape):
        # First call on real data without a declared input shape: build the whole
        # stack symbolically so that every layer knows its output shape (summary()).
        self._set_input(InputLayer(batch_shape=(None, *input_shape[1:]), dtype=self._input_dtype).output)

    def build(self, input_shape=None):
        """Build every layer for inputs of ``input_shape`` (batch axis first)."""
        if input_shape is None:
            if not self.built:
                raise ValueError(
                    "Sequential.build: give input_shape (e.g. (None, 28, 28, 1)); the model has no input shape yet."
                )
            return
        self._build_for(tuple(input_shape))

    def call(self, inputs, training=None):
        return self._planned().run({0: inputs}, training)[0]

    def _planned(self):
        """The planner's plan for the layers as they are now (made again after ``add`` / ``pop``)."""
        layers = tuple(layer for layer in self._layers if not isinstance(layer, InputLayer))
        if self._plan is None or self._plan[0] != layers:
            nodes = [Node(layer, (position,), position + 1) for position, layer in enumerate(layers)]
            self._plan = (layers, Plan(nodes, outputs=(len(layers),)))
        return self._plan[1]

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        for layer in self.layers:
            shape = layer.compute_output_shape(shape)
        return shape

    @property
    def inputs(self):
        return [self._input_tensor] if self._symbolic_output is not None else None

    @property
    def outputs(self):
        return [self._symbolic_output] if self._symbolic_output is not None else None

    @property
    def input_shape(self):
        return self._build_input_shape

    @property
    def output_shape(self):
        if self._symbolic_output is None:
            raise AttributeError("Sequential.output_shape: the model has no input shape yet (it has not been built).")
        return self._symbolic_output.shape

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "layers": [serialize_layer(layer) for layer in self._layers],
            "build_input_shape": None if self._build_input_shape is None else list(self._build_input_shape),
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        for layer_config in config.get("layers", []):
            model.add(deserialize_layer(layer_config, custom_objects))
        if not model.built and config.get("build_input_shape") is not None:
            model.build(config["build_input_shape"])
        return model
