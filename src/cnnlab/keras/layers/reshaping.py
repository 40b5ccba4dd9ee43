"""Layers that change the height and width of NHWC feature maps: UpSampling2D, ZeroPadding2D, Cropping2D."""

import numbers

from ...ops import array_ops, image_ops
from .base import InputSpec, Layer
from .base_conv import normalize_tuple
from .core import _check_channels_last


def _symmetric_pairs(value, argument, owner):
    """An int, (vertical, horizontal), or ((top, bottom), (left, right)) of ints >= 0, as the last form."""

    def is_count(v):
        return isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 0

    if is_count(value):
        return ((int(value),) * 2,) * 2
    try:
        parts = tuple(value)
    except TypeError:
        parts = ()
    pairs = []
    for part in parts:
        if is_count(part):
            pairs.append((int(part), int(part)))
            continue
        try:
            pair = tuple(part)
        except TypeError:
            pair = ()
        if len(pair) != 2 or not all(is_count(v) for v in pair):
            pairs = []
            break
        pairs.append((int(pair[0]), int(pair[1])))
    if len(pairs) != 2 or len(parts) != 2:
        raise ValueError(
            f"{owner}: {argument} must be an int, a tuple of 2 ints (vertical, horizontal), or a tuple of 2 tuples "
            f"of 2 ints ((top, bottom), (left, right)), all >= 0; received {argument}={value!r}."
        )
    return tuple(pairs)


def _check_rank4(layer, input_shape):
    if len(input_shape) != 4:
        raise ValueError(
            f'Layer "{layer.name}" ({type(layer).__name__}) expects inputs of rank 4 (batch, height, width, channels); '
            f"received shape {tuple(input_shape)}."
        )


class UpSampling2D(Layer):
    """Repeats each row ``size[0]`` times and each column ``size[1]`` times (``keras.layers.UpSampling2D``).

    Args:
        size: an int or (rows, cols) factor; default (2, 2).
        interpolation: 'nearest' (repeat pixels) or 'bilinear' (TF's half-pixel
            bilinear resize to the enlarged size).

    Shape:
        (batch, H, W, C) -> (batch, H * size[0], W * size[1], C).

    Example:
        >>> UpSampling2D()(np.ones((1, 3, 3, 2))).shape
        TensorShape([1, 6, 6, 2])
    """

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        self.size = normalize_tuple(size, "size", "UpSampling2D")
        _check_channels_last(data_format, "UpSampling2D")
        if not isinstance(interpolation, str) or interpolation.lower() not in image_ops.RESIZE_METHODS:
            raise ValueError(
                f"UpSampling2D: interpolation must be one of {list(image_ops.RESIZE_METHODS)}; "
                f"received interpolation={interpolation!r}."
            )
        self.interpolation = interpolation.lower()
        self.input_spec = InputSpec(ndim=4)

    def call(self, inputs):
        _, height, width, _ = inputs.shape
        return image_ops.resize(inputs, (height * self.size[0], width * self.size[1]), method=self.interpolation)

    def compute_output_shape(self, input_shape):
        _check_rank4(self, input_shape)
        height, width = (None if n is None else n * f for n, f in zip(input_shape[1:3], self.size))
        return (input_shape[0], height, width, input_shape[3])

    def get_config(self):
        return {
            **super().get_config(),
            "size": list(self.size),
            "data_format": "channels_last",
            "interpolation": self.interpolation,
        }


class ZeroPadding2D(Layer):
    """Adds rows and columns of zeros around each feature map (``keras.layers.ZeroPadding2D``).

    Args:
        padding: an int (the same on every side), (vertical, horizontal), or
            ((top, bottom), (left, right)); default (1, 1).

    Shape:
        (batch, H, W, C) -> (batch, H + top + bottom, W + left + right, C).

    Example:
        >>> ZeroPadding2D(((1, 0), (2, 2)))(np.ones((1, 3, 3, 1))).shape
        TensorShape([1, 4, 7, 1])
    """

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.padding = _symmetric_pairs(padding, "padding", "ZeroPadding2D")
        _check_channels_last(data_format, "ZeroPadding2D")
        self.input_spec = InputSpec(ndim=4)

    def call(self, inputs):
        return array_ops.pad(inputs, [[0, 0], list(self.padding[0]), list(self.padding[1]), [0, 0]])

    def compute_output_shape(self, input_shape):
        _check_rank4(self, input_shape)
        height, width = (None if n is None else n + sum(pair) for n, pair in zip(input_shape[1:3], self.padding))
        return (input_shape[0], height, width, input_shape[3])

    def get_config(self):
        return {
            **super().get_config(),
            "padding": [list(pair) for pair in self.padding],
            "data_format": "channels_last",
        }


class Cropping2D(Layer):
    """Removes rows and columns from the edges of each feature map (``keras.layers.Cropping2D``).

    Args:
        cropping: an int (the same on every side), (vertical, horizontal), or
            ((top, bottom), (left, right)); default no cropping.

    Shape:
        (batch, H, W, C) -> (batch, H - top - bottom, W - left - right, C).

    Example:
        >>> Cropping2D(((2, 2), (4, 4)))(np.ones((1, 28, 28, 3))).shape
        TensorShape([1, 24, 20, 3])
    """

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.cropping = _symmetric_pairs(cropping, "cropping", "Cropping2D")
        _check_channels_last(data_format, "Cropping2D")
        self.input_spec = InputSpec(ndim=4)

    def build(self, input_shape):
        self.compute_output_shape(input_shape)  # rejects a crop that leaves nothing

    def call(self, inputs):
        (top, bottom), (left, right) = self.cropping
        _, height, width, _ = inputs.shape
        return inputs[:, top : height - bottom, left : width - right, :]

    def compute_output_shape(self, input_shape):
        _check_rank4(self, input_shape)
        sizes = []
        for n, (before, after), axis in zip(input_shape[1:3], self.cropping, ("height", "width")):
            if n is not None and n - before - after <= 0:
                raise ValueError(
                    f'Layer "{self.name}" (Cropping2D): cropping {self.cropping} leaves nothing of an input {axis} of '
                    f"{n} (input shape {tuple(input_shape)})."
                )
            sizes.append(None if n is None else n - before - after)
        return (input_shape[0], *sizes, input_shape[3])

    def get_config(self):
        return {
            **super().get_config(),
            "cropping": [list(pair) for pair in self.cropping],
            "data_format": "channels_last",
        }
