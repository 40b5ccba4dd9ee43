"""Lambda: any function of tensors as a layer (``keras.layers.Lambda``)."""

import inspect

import numpy as np

from ...tensor import Tensor
from .base import Layer


class Lambda(Layer):
    """Wraps ``function(inputs, **arguments)`` as a layer without weights.

    Args:
        function: the function, written with cnnlab ops (``lambda x: x / 255.0``,
            ``tf.nn.relu``, ...).  It may take ``training`` and ``mask`` arguments.
        output_shape: the output shape without the batch axis, or a function of the
            input shape (batch axis included); by default it is found by calling the
            function on zeros.
        mask: accepted for Keras's signature (cnnlab's layers carry no masks).
        arguments: extra keyword arguments for ``function``.

    Saving: a named function is saved by name and found again by
    ``custom_objects`` or ``keras.saving.register_keras_serializable``; a Python
    ``lambda`` is saved as Keras saves it (its bytecode), but cnnlab never loads
    code from a file, so rebuilding one needs ``custom_objects``.

    Example:
        >>> Lambda(lambda x: x * 2.0)(np.ones((2, 3))).numpy()[0]
        array([2., 2., 2.], dtype=float32)
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Lambda: function must be callable; received function={function!r}.")
        if arguments is not None and not isinstance(arguments, dict):
            raise TypeError(f"Lambda: arguments must be a dict of keyword arguments; received arguments={arguments!r}.")
        self.function = function
        self.arguments = dict(arguments or {})
        self.mask = mask
        self._output_shape = output_shape
        try:
            parameters = inspect.signature(function).parameters
        except (TypeError, ValueError):  # a builtin without a signature
            parameters = {}
        self._takes_training = "training" in parameters
        self._takes_mask = "mask" in parameters

    def call(self, inputs, mask=None, training=None):
        kwargs = dict(self.arguments)
        if self._takes_mask:
            kwargs["mask"] = mask
        if self._takes_training:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if callable(self._output_shape):
            return tuple(self._output_shape(input_shape))
        if self._output_shape is not None:
            return (input_shape[0], *tuple(self._output_shape))
        return self._inferred_output_shape(input_shape)

    def _inferred_output_shape(self, input_shape):
        """Run the function on zeros, once with every unknown size 3 and once with 7: the output
        axes that differ between the two depend on an unknown size and stay unknown (None)."""
        shapes = []
        for fill in (3, 7):
            zeros = Tensor(np.zeros(tuple(fill if d is None else d for d in input_shape), dtype=self._dtype))
            output = self.call(zeros, training=False)
            if not isinstance(output, Tensor):
                raise ValueError(
                    f'Layer "{self.name}" (Lambda): the function returned {type(output).__name__}, not a tensor; '
                    "give output_shape= to use it in a model."
                )
            shapes.append(tuple(output.shape))
        if len(shapes[0]) != len(shapes[1]):
            raise ValueError(
                f'Layer "{self.name}" (Lambda): the rank of the output depends on the batch size; give output_shape=.'
            )
        return tuple(a if a == b else None for a, b in zip(*shapes))

    def get_config(self):
        from ..serialization import serialize_function

        config = {**super().get_config(), "function": serialize_function(self.function)}
        if self._output_shape is not None:
            config["output_shape"] = (
                serialize_function(self._output_shape) if callable(self._output_shape) else list(self._output_shape)
            )
        if self.mask is not None:
            config["mask"] = serialize_function(self.mask) if callable(self.mask) else self.mask
        config["arguments"] = self.arguments
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from ..serialization import deserialize_function

        config = dict(config)
        config["function"] = deserialize_function(config["function"], custom_objects, "Lambda function")
        if isinstance(config.get("output_shape"), dict):
            config["output_shape"] = deserialize_function(config["output_shape"], custom_objects, "Lambda output_shape")
        if isinstance(config.get("mask"), dict):
            config["mask"] = deserialize_function(config["mask"], custom_objects, "Lambda mask")
        return cls(**config)
