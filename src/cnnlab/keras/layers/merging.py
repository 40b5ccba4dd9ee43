"""Merge layers: several tensors in, one out (``keras.layers.Add``, ``Concatenate``, ...).

Called on a list of tensors, symbolic or not; each has a function of the same name
(``keras.layers.add([a, b])`` is ``Add()([a, b])``).  The element-wise ones (Add,
Subtract, Multiply, Average, Maximum, Minimum) broadcast as NumPy does, and an input of
lower rank first gets size-1 axes after its batch axis, as Keras does.

Example:
    >>> inputs = keras.Input((8, 8, 16))
    >>> x = keras.layers.Conv2D(16, 3, padding="same", activation="relu")(inputs)
    >>> residual = keras.layers.Add()([inputs, x])      # a residual connection
    >>> residual.shape
    (None, 8, 8, 16)
"""

import functools

from ...ops import array_ops, linalg_ops, math_ops
from .base import Layer


class Merge(Layer):
    """What the element-wise merge layers share: the list of inputs, the broadcast shape, the fold."""

    _stateless_inference = True
    # The fewest and most inputs the layer takes (None: no limit).
    _arity = (1, None)

    def build(self, input_shape):
        shapes = self._input_shapes(input_shape)
        self._check_arity(len(shapes))
        batches = {shape[0] for shape in shapes if shape} - {None}
        if len(batches) > 1:
            raise ValueError(
                f'Layer "{self.name}" ({type(self).__name__}): cannot merge tensors with different batch sizes; '
                f"received shapes {shapes}."
            )
        self.compute_output_shape(shapes)  # rejects shapes that do not broadcast

    def call(self, inputs):
        inputs = self._input_list(inputs)
        self._check_arity(len(inputs))
        ranks = [tensor.ndim for tensor in inputs]
        if len(set(ranks)) > 1:  # Keras: the lower-rank inputs get axes of size 1 after the batch axis
            inputs = [_expanded(tensor, max(ranks) - tensor.ndim) for tensor in inputs]
        return self._merge(inputs)

    def _merge(self, inputs):
        return functools.reduce(self._combine, inputs)

    def compute_output_shape(self, input_shape):
        shapes = self._input_shapes(input_shape)
        output = tuple(shapes[0][1:])
        for shape in shapes[1:]:
            output = self._broadcast(output, tuple(shape[1:]), shapes)
        batches = {shape[0] for shape in shapes} - {None}
        return (batches.pop() if len(batches) == 1 else None, *output)

    def _broadcast(self, first, second, shapes):
        if len(first) < len(second):
            first, second = second, first
        if not second:
            return first
        lead = first[: len(first) - len(second)]
        merged = []
        for a, b in zip(first[len(lead) :], second):  # in Keras's order: an unknown size stays unknown
            if a is None or b is None:
                merged.append(None)
            elif a == 1 or b == 1:
                merged.append(b if a == 1 else a)
            elif a != b:
                raise ValueError(
                    f'Layer "{self.name}" ({type(self).__name__}): the inputs have incompatible shapes; '
                    f"received shapes {shapes}."
                )
            else:
                merged.append(a)
        return (*lead, *merged)

    def _input_shapes(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or not all(isinstance(s, (list, tuple)) for s in input_shape):
            raise ValueError(
                f'Layer "{self.name}" ({type(self).__name__}): a merge layer is called on a list of inputs; '
                f"received input_shape={input_shape}."
            )
        return [tuple(shape) for shape in input_shape]

    def _input_list(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(
                f'Layer "{self.name}" ({type(self).__name__}): a merge layer is called on a list of inputs; '
                f"received one {type(inputs).__name__}."
            )
        return list(inputs)

    def _check_arity(self, count):
        fewest, most = self._arity
        if count < fewest or (most is not None and count > most):
            expected = f"exactly {fewest}" if fewest == most else f"at least {fewest}"
            raise ValueError(
                f'Layer "{self.name}" ({type(self).__name__}) takes {expected} input(s); received {count}.'
            )


def _expanded(tensor, axes):
    for _ in range(axes):
        tensor = array_ops.expand_dims(tensor, 1)
    return tensor


class Add(Merge):
    """The sum of the inputs, element by element (``keras.layers.Add``)."""

    @staticmethod
    def _combine(a, b):
        return math_ops.add(a, b)


class Subtract(Merge):
    """``inputs[0] - inputs[1]`` (``keras.layers.Subtract``): exactly two inputs."""

    _arity = (2, 2)

    @staticmethod
    def _combine(a, b):
        return math_ops.subtract(a, b)


class Multiply(Merge):
    """The product of the inputs, element by element (``keras.layers.Multiply``)."""

    @staticmethod
    def _combine(a, b):
        return math_ops.multiply(a, b)


class Average(Merge):
    """The mean of the inputs, element by element (``keras.layers.Average``)."""

    def _merge(self, inputs):
        return functools.reduce(math_ops.add, inputs) / float(len(inputs))


class Maximum(Merge):
    """The largest of the inputs, element by element (``keras.layers.Maximum``)."""

    @staticmethod
    def _combine(a, b):
        return math_ops.maximum(a, b)


class Minimum(Merge):
    """The smallest of the inputs, element by element (``keras.layers.Minimum``)."""

    @staticmethod
    def _combine(a, b):
        return math_ops.minimum(a, b)


class Concatenate(Merge):
    """The inputs joined along ``axis`` (``keras.layers.Concatenate``); they must agree on every other axis.

    Args:
        axis: the axis to join along (default the last).
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise TypeError(f"Concatenate: axis must be an int; received axis={axis!r}.")
        self.axis = axis

    def build(self, input_shape):
        self.compute_output_shape(self._input_shapes(input_shape))

    def call(self, inputs):
        return array_ops.concat(self._input_list(inputs), axis=self.axis)

    def compute_output_shape(self, input_shape):
        shapes = self._input_shapes(input_shape)
        rank = len(shapes[0])
        if any(len(shape) != rank for shape in shapes) or not -rank <= self.axis < rank or rank < 2:
            raise ValueError(
                f'Layer "{self.name}" (Concatenate): the inputs must have one rank (>= 2) that has axis '
                f"{self.axis}; received shapes {shapes}."
            )
        axis = self.axis % rank
        output = []
        for position in range(rank):
            sizes = [shape[position] for shape in shapes]
            if position == axis:
                output.append(None if None in sizes else sum(sizes))
                continue
            known = set(sizes) - {None}
            if len(known) > 1:
                raise ValueError(
                    f'Layer "{self.name}" (Concatenate): the inputs must agree on every axis but the '
                    f"concatenation axis ({self.axis}); received shapes {shapes}."
                )
            output.append(known.pop() if known else None)
        return tuple(output)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class Dot(Merge):
    """The dot product of two inputs along ``axes``, sample by sample (``keras.layers.Dot``).

    Args:
        axes: the axis of each input to sum over: one int for both, or a pair (the
            batch axis 0 excluded).
        normalize: divide each input by its L2 norm along its axis first (the result is
            then the cosine similarity).

    Shape:
        ``(batch, n)`` and ``(batch, n)`` -> ``(batch, 1)``; in general the inputs' other
        axes, the first's then the second's.

    Example:
        >>> Dot(axes=1)([np.ones((2, 3)), np.ones((2, 3))]).numpy()
        array([[3.], [3.]], dtype=float32)
    """

    _arity = (2, 2)

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        pair = (axes, axes) if isinstance(axes, int) and not isinstance(axes, bool) else axes
        if (
            not isinstance(pair, (list, tuple))
            or len(pair) != 2
            or any(isinstance(a, bool) or not isinstance(a, int) for a in pair)
        ):
            raise ValueError(f"Dot: axes must be an int or a pair of ints; received axes={axes!r}.")
        self.axes = axes if isinstance(axes, int) else list(axes)
        self._pair = tuple(pair)
        self.normalize = bool(normalize)

    def _axes_for(self, ranks, shapes):
        axes = tuple(axis % rank for axis, rank in zip(self._pair, ranks))
        if any(axis == 0 for axis in axes):
            raise ValueError(
                f'Layer "{self.name}" (Dot): axes={self.axes} names the batch axis of inputs of shapes {shapes}.'
            )
        return axes

    def build(self, input_shape):
        shapes = self._input_shapes(input_shape)
        self._check_arity(len(shapes))
        self.compute_output_shape(shapes)

    def call(self, inputs):
        x, y = self._input_list(inputs)
        self._check_arity(2)
        axis_x, axis_y = self._axes_for((x.ndim, y.ndim), [tuple(x.shape), tuple(y.shape)])
        if self.normalize:
            x = linalg_ops.l2_normalize(x, axis=axis_x)
            y = linalg_ops.l2_normalize(y, axis=axis_y)
        # (batch, rest of x, k) @ (batch, k, rest of y), then the rest unfolded.
        x_rest = [d for axis, d in enumerate(x.shape) if axis not in (0, axis_x)]
        y_rest = [d for axis, d in enumerate(y.shape) if axis not in (0, axis_y)]
        x = array_ops.transpose(x, [0, *[a for a in range(1, x.ndim) if a != axis_x], axis_x])
        y = array_ops.transpose(y, [0, axis_y, *[a for a in range(1, y.ndim) if a != axis_y]])
        batch, size = x.shape[0], x.shape[-1]
        product = math_ops.matmul(array_ops.reshape(x, (batch, -1, size)), array_ops.reshape(y, (batch, size, -1)))
        return array_ops.reshape(product, (batch, *x_rest, *y_rest) if x_rest or y_rest else (batch, 1))

    def compute_output_shape(self, input_shape):
        shapes = self._input_shapes(input_shape)
        self._check_arity(len(shapes))
        x, y = shapes
        axis_x, axis_y = self._axes_for((len(x), len(y)), shapes)
        if x[axis_x] is not None and y[axis_y] is not None and x[axis_x] != y[axis_y]:
            raise ValueError(
                f'Layer "{self.name}" (Dot): the inputs differ in size along the axes {(axis_x, axis_y)}; '
                f"received shapes {shapes}."
            )
        rest = [d for axis, d in enumerate(x) if axis not in (0, axis_x)]
        rest += [d for axis, d in enumerate(y) if axis not in (0, axis_y)]
        batches = {x[0], y[0]} - {None}
        return (batches.pop() if len(batches) == 1 else None, *(rest or [1]))

    def get_config(self):
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def add(inputs, **kwargs):
    """``Add(**kwargs)(inputs)``."""
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    """``Subtract(**kwargs)(inputs)``."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    """``Multiply(**kwargs)(inputs)``."""
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    """``Average(**kwargs)(inputs)``."""
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    """``Maximum(**kwargs)(inputs)``."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    """``Minimum(**kwargs)(inputs)``."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    """``Concatenate(axis=axis, **kwargs)(inputs)``."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes=-1, normalize=False, **kwargs):
    """``Dot(axes=axes, normalize=normalize, **kwargs)(inputs)``."""
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)
