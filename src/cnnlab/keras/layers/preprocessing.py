"""Image preprocessing layers that act the same in training and inference: Rescaling, CenterCrop, Resizing.

They take a batch (batch, height, width, channels) or one image (height, width,
channels), of any numeric dtype (integers become float32, the layer's dtype).
"""

import numbers

import numpy as np

from ...ops import array_ops, image_ops
from .base import Layer
from .core import _check_channels_last, _positive_int


def _image_hw(layer, shape):
    if len(shape) not in (3, 4):
        raise ValueError(
            f'Layer "{layer.name}" ({type(layer).__name__}) expects images of rank 4 (batch, height, width, channels) '
            f"or 3 (height, width, channels); received shape {tuple(shape)}."
        )
    return shape[-3], shape[-2]


def _crop(images, top, left, height, width):
    return images[..., top : top + height, left : left + width, :]


def _resized_shape(shape, height, width):
    return (*shape[:-3], height, width, shape[-1])


class Rescaling(Layer):
    """``inputs * scale + offset`` (``keras.layers.Rescaling``): ``Rescaling(1.0 / 255)`` maps
    pixels from [0, 255] to [0, 1], ``Rescaling(1.0 / 127.5, offset=-1)`` to [-1, 1].

    Args:
        scale: a number, or an array broadcast over the inputs (one per channel).
        offset: a number or array, added after scaling; default 0.

    Example:
        >>> Rescaling(1.0 / 255)(np.array([[0, 255]], dtype=np.uint8)).numpy()
        array([[0., 1.]], dtype=float32)
    """

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = _number_or_array(scale, "scale")
        self.offset = _number_or_array(offset, "offset")

    def call(self, inputs):
        dtype = inputs.dtype
        return inputs * np.asarray(self.scale, dtype=dtype) + np.asarray(self.offset, dtype=dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        from ..serialization import serialize_keras_object

        return {
            **super().get_config(),
            "scale": serialize_keras_object(self.scale),
            "offset": serialize_keras_object(self.offset),
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from ..serialization import deserialize_keras_object

        config = dict(config)
        for key in ("scale", "offset"):
            if key in config:
                config[key] = deserialize_keras_object(config[key], custom_objects)
        return cls(**config)


def _number_or_array(value, argument):
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    array = np.asarray(value)
    if array.dtype.kind not in "iuf":
        raise TypeError(
            f"Rescaling: {argument} must be a number or an array of numbers; received {argument}={value!r}."
        )
    return array.astype(np.float64)


class CenterCrop(Layer):
    """The central ``height`` x ``width`` region of each image (``keras.layers.CenterCrop``).

    An image smaller than the target along an axis is first cropped to the target's
    aspect ratio and resized (bilinear) to it, as Keras's ``smart_resize``.

    Args:
        height, width: the output size.

    Example:
        >>> CenterCrop(2, 2)(np.arange(16.0).reshape(1, 4, 4, 1))[0, :, :, 0].numpy()
        array([[ 5.,  6.],
               [ 9., 10.]], dtype=float32)
    """

    def __init__(self, height, width, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.height = _positive_int(height, "height", "CenterCrop")
        self.width = _positive_int(width, "width", "CenterCrop")
        _check_channels_last(data_format, "CenterCrop")

    def call(self, inputs):
        in_h, in_w = _image_hw(self, inputs.shape)
        if in_h >= self.height and in_w >= self.width:
            return _crop(inputs, (in_h - self.height) // 2, (in_w - self.width) // 2, self.height, self.width)
        return _crop_to_aspect_then_resize(inputs, self.height, self.width, "bilinear")

    def compute_output_shape(self, input_shape):
        _image_hw(self, input_shape)
        return _resized_shape(tuple(input_shape), self.height, self.width)

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width, "data_format": "channels_last"}


class Resizing(Layer):
    """Resizes images to ``height`` x ``width`` (``keras.layers.Resizing``), by TensorFlow 2's
    half-pixel rule (``tf.image.resize``).

    Args:
        height, width: the output size.
        interpolation: 'bilinear' (default) or 'nearest'.
        crop_to_aspect_ratio: first crop the largest central region with the target's
            aspect ratio, so the image is not distorted.
        pad_to_aspect_ratio: first pad the image evenly with ``fill_value`` to the
            target's aspect ratio instead.
        fill_mode: only 'constant' (the padding's fill).
        fill_value: the padding value; default 0.
        antialias: only False.

    Example:
        >>> Resizing(4, 6)(np.ones((2, 8, 8, 3))).shape
        TensorShape([2, 4, 6, 3])
    """

    def __init__(
        self,
        height,
        width,
        interpolation="bilinear",
        crop_to_aspect_ratio=False,
        pad_to_aspect_ratio=False,
        fill_mode="constant",
        fill_value=0.0,
        antialias=False,
        data_format=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.height = _positive_int(height, "height", "Resizing")
        self.width = _positive_int(width, "width", "Resizing")
        if interpolation not in image_ops.RESIZE_METHODS:
            raise ValueError(
                f"Resizing: interpolation must be one of {list(image_ops.RESIZE_METHODS)}; "
                f"received interpolation={interpolation!r}."
            )
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            raise ValueError("Resizing: only one of crop_to_aspect_ratio and pad_to_aspect_ratio can be True.")
        if fill_mode != "constant":
            raise ValueError(f"Resizing: fill_mode must be 'constant'; received fill_mode={fill_mode!r}.")
        if antialias:
            raise ValueError(f"Resizing: antialias=True is not supported; received antialias={antialias!r}.")
        _check_channels_last(data_format, "Resizing")
        self.interpolation = interpolation
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)
        self.pad_to_aspect_ratio = bool(pad_to_aspect_ratio)
        self.fill_mode = fill_mode
        self.fill_value = float(fill_value)
        self.antialias = False

    def call(self, inputs):
        _image_hw(self, inputs.shape)
        if self.crop_to_aspect_ratio:
            return _crop_to_aspect_then_resize(inputs, self.height, self.width, self.interpolation)
        if self.pad_to_aspect_ratio:
            inputs = _pad_to_aspect(inputs, self.height, self.width, self.fill_value)
        return image_ops.resize(inputs, (self.height, self.width), method=self.interpolation)

    def compute_output_shape(self, input_shape):
        _image_hw(self, input_shape)
        return _resized_shape(tuple(input_shape), self.height, self.width)

    def get_config(self):
        return {
            **super().get_config(),
            "height": self.height,
            "width": self.width,
            "interpolation": self.interpolation,
            "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
            "pad_to_aspect_ratio": self.pad_to_aspect_ratio,
            "fill_mode": self.fill_mode,
            "fill_value": self.fill_value,
            "antialias": self.antialias,
            "data_format": "channels_last",
        }


def _crop_to_aspect_then_resize(images, height, width, method):
    """Keras's ``smart_resize``: the largest central crop with the target's aspect ratio, resized to it."""
    in_h, in_w = images.shape[-3], images.shape[-2]
    crop_h = max(min(in_h, int(in_w * height / width)), 1)
    crop_w = max(min(in_w, int(in_h * width / height)), 1)
    cropped = _crop(images, int((in_h - crop_h) / 2), int((in_w - crop_w) / 2), crop_h, crop_w)
    return image_ops.resize(cropped, (height, width), method=method)


def _pad_to_aspect(images, height, width, fill_value):
    """Keras's padding to the target's aspect ratio: the same number of rows (or columns) on both sides."""
    in_h, in_w = images.shape[-3], images.shape[-2]
    rows = int((max(in_h, int(in_w * height / width)) - in_h) / 2)
    cols = int((max(in_w, int(in_h * width / height)) - in_w) / 2)
    if not rows and not cols:
        return images
    paddings = [[0, 0]] * (images.ndim - 3) + [[rows, rows], [cols, cols], [0, 0]]
    return array_ops.pad(images, paddings, constant_values=fill_value)
