"""Random image augmentation layers: RandomFlip, RandomTranslation, RandomRotation, RandomZoom.

As in Keras 3 they transform only in training: ``fit`` runs them with
``training=True``, ``evaluate`` / ``predict`` with ``training=False`` (they pass the
images through unchanged), and calling one directly (``layer(images)``) augments,
which is how the data augmentation tutorial shows what they do.

Each image of a batch gets its own random transform, drawn from cnnlab's random
streams: the global generator (``cnnlab.random.set_seed`` makes a program
reproducible), or the stream picked by the layer's ``seed``.  The geometric ones
warp with ``affine_transform`` (Keras's transform matrices, interpolation and
fill modes).
"""

import math
import numbers

import numpy as np

from ... import random as cnnlab_random
from ...ops import array_ops, image_ops
from .base import Layer
from .core import _check_channels_last

HORIZONTAL = "horizontal"
VERTICAL = "vertical"
HORIZONTAL_AND_VERTICAL = "horizontal_and_vertical"


class _RandomImageLayer(Layer):
    """Shared by the augmentation layers: a batch or one image in, the same shape out, random only in training."""

    def __init__(self, seed=None, data_format=None, **kwargs):
        super().__init__(**kwargs)
        _check_channels_last(data_format, type(self).__name__)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0):
            raise ValueError(f"{type(self).__name__}: seed must be None or an integer >= 0; received seed={seed!r}.")
        self.seed = seed

    def call(self, inputs, training=True):
        if inputs.ndim not in (3, 4):
            raise ValueError(
                f'Layer "{self.name}" ({type(self).__name__}) expects images of rank 4 (batch, height, width, '
                f"channels) or 3 (height, width, channels); received shape {tuple(inputs.shape)}."
            )
        if not training:
            return inputs
        single = inputs.ndim == 3
        images = array_ops.expand_dims(inputs, 0) if single else inputs
        outputs = self._augment(images, cnnlab_random.generator_for(self.seed, type(self).__name__))
        return array_ops.squeeze(outputs, 0) if single else outputs

    def _augment(self, images, generator):
        raise NotImplementedError

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "seed": self.seed, "data_format": "channels_last"}


class RandomFlip(_RandomImageLayer):
    """Flips each image with probability 1/2 (``keras.layers.RandomFlip``).

    Args:
        mode: 'horizontal' (left-right), 'vertical' (up-down) or
            'horizontal_and_vertical' (both at once, one draw per image, as Keras 3).
        seed: an integer picking the layer's random stream.

    Example:
        >>> flipped = RandomFlip("horizontal", seed=1)(np.arange(3.0).reshape(1, 1, 3, 1))
    """

    def __init__(self, mode=HORIZONTAL_AND_VERTICAL, seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        if mode not in (HORIZONTAL, VERTICAL, HORIZONTAL_AND_VERTICAL):
            raise ValueError(
                f"RandomFlip: mode must be '{HORIZONTAL}', '{VERTICAL}' or '{HORIZONTAL_AND_VERTICAL}'; "
                f"received mode={mode!r}."
            )
        self.mode = mode

    def _augment(self, images, generator):
        flips = generator.random(images.shape[0]) <= 0.5
        flipped = images
        if self.mode in (HORIZONTAL, HORIZONTAL_AND_VERTICAL):
            flipped = flipped[:, :, ::-1, :]
        if self.mode in (VERTICAL, HORIZONTAL_AND_VERTICAL):
            flipped = flipped[:, ::-1, :, :]
        return array_ops.where(array_ops.reshape(flips, (-1, 1, 1, 1)), flipped, images)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


class _AffineAugmentation(_RandomImageLayer):
    """The geometric augmentations: a random transform per image, applied by ``affine_transform``."""

    def __init__(
        self, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0, data_format=None, **kwargs
    ):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        owner = type(self).__name__
        supported_fill = ("reflect", "wrap", "constant", "nearest")
        if fill_mode not in supported_fill:
            raise ValueError(
                f"{owner}: fill_mode must be one of {list(supported_fill)}; received fill_mode={fill_mode!r}."
            )
        if interpolation not in image_ops.AFFINE_INTERPOLATIONS:
            raise ValueError(
                f"{owner}: interpolation must be one of {list(image_ops.AFFINE_INTERPOLATIONS)}; "
                f"received interpolation={interpolation!r}."
            )
        if isinstance(fill_value, bool) or not isinstance(fill_value, numbers.Real):
            raise ValueError(f"{owner}: fill_value must be a number; received fill_value={fill_value!r}.")
        self.fill_mode = fill_mode
        self.interpolation = interpolation
        self.fill_value = float(fill_value)

    def _augment(self, images, generator):
        transforms = self._transforms(images.shape[0], images.shape[1], images.shape[2], generator)
        return image_ops.affine_transform(images, transforms, self.interpolation, self.fill_mode, self.fill_value)

    def _transforms(self, batch, height, width, generator):
        """(batch, 8) transform rows, as ``affine_transform`` reads them."""
        raise NotImplementedError

    def get_config(self):
        return {
            **super().get_config(),
            "fill_mode": self.fill_mode,
            "fill_value": self.fill_value,
            "interpolation": self.interpolation,
        }


def _factor_range(factor, argument, owner, low=-1.0, low_inclusive=True):
    """``(lower, upper)`` from a number (``(-|f|, |f|)``) or a pair (sorted), each in [low, 1]."""

    def in_range(value):
        return (
            isinstance(value, numbers.Real)
            and not isinstance(value, bool)
            and (value >= low if low_inclusive else value > low)
            and value <= 1.0
        )

    bracket = "[" if low_inclusive else "("
    message = (
        f"{owner}: {argument} must be a number or a pair of numbers in {bracket}{low}, 1.0]; "
        f"received {argument}={factor!r}."
    )
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2 or not all(in_range(v) for v in factor):
            raise ValueError(message)
        lower, upper = sorted(float(v) for v in factor)
        return lower, upper
    if not in_range(factor):
        raise ValueError(message)
    return -abs(float(factor)), abs(float(factor))


def _rows(*columns):
    """Stack per-image columns (each (batch,)) into (batch, 8) transform rows, padding with c0 = c1 = 0."""
    batch = len(columns[0])
    return np.stack([*columns, np.zeros(batch), np.zeros(batch)], axis=1)


class RandomTranslation(_AffineAugmentation):
    """Shifts each image by a random fraction of its height and width (``keras.layers.RandomTranslation``).

    Args:
        height_factor: a number ``f`` (shift by a fraction in [-f, f] of the height;
            positive moves the image down) or a pair (lower, upper), within [-1, 1].
        width_factor: the same for the width (positive moves right).
        fill_mode: how the uncovered area is filled: 'reflect' (default), 'wrap',
            'constant' (``fill_value``) or 'nearest'.
        interpolation: 'bilinear' (default) or 'nearest'.
        seed: an integer picking the layer's random stream.
        fill_value: the fill for 'constant'.

    Example:
        >>> RandomTranslation(0.2, 0.2)(np.ones((2, 8, 8, 1))).shape
        TensorShape([2, 8, 8, 1])
    """

    def __init__(
        self,
        height_factor,
        width_factor,
        fill_mode="reflect",
        interpolation="bilinear",
        seed=None,
        fill_value=0.0,
        data_format=None,
        **kwargs,
    ):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_factor = height_factor
        self.width_factor = width_factor
        self._height_range = _factor_range(height_factor, "height_factor", "RandomTranslation")
        self._width_range = _factor_range(width_factor, "width_factor", "RandomTranslation")

    def _transforms(self, batch, height, width, generator):
        shift_rows = generator.uniform(*self._height_range, size=batch) * height
        shift_cols = generator.uniform(*self._width_range, size=batch) * width
        return translation_transforms(shift_rows, shift_cols)

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor, "width_factor": self.width_factor}


def translation_transforms(shift_rows, shift_cols):
    """Transform rows moving each image ``shift_rows`` pixels down and ``shift_cols`` right."""
    ones, zeros = np.ones(len(shift_rows)), np.zeros(len(shift_rows))
    return _rows(
        ones, zeros, -np.asarray(shift_cols, dtype=np.float64), zeros, ones, -np.asarray(shift_rows, dtype=np.float64)
    )


class RandomRotation(_AffineAugmentation):
    """Rotates each image by a random angle about its centre (``keras.layers.RandomRotation``).

    Args:
        factor: a fraction of a full turn: a number ``f`` (angles in [-f, f] * 360
            degrees) or a pair (lower, upper), within [-1, 1].  Positive angles turn
            counter-clockwise.
        fill_mode, interpolation, seed, fill_value: as ``RandomTranslation``.

    Example:
        >>> RandomRotation(0.1)(np.ones((2, 8, 8, 3))).shape
        TensorShape([2, 8, 8, 3])
    """

    def __init__(
        self,
        factor,
        fill_mode="reflect",
        interpolation="bilinear",
        seed=None,
        fill_value=0.0,
        data_format=None,
        **kwargs,
    ):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.factor = _factor_range(factor, "factor", "RandomRotation")

    def _transforms(self, batch, height, width, generator):
        lower, upper = self.factor
        degrees = generator.uniform(lower * 360.0, upper * 360.0, size=batch)
        return rotation_transforms(degrees, height, width)

    def get_config(self):
        return {**super().get_config(), "factor": list(self.factor)}


def rotation_transforms(degrees, height, width):
    """Transform rows rotating each image by ``degrees`` about its centre (Keras's matrix)."""
    angle = np.asarray(degrees, dtype=np.float64) * (math.pi / 180.0)
    cos, sin = np.cos(angle), np.sin(angle)
    center_x, center_y = 0.5 * (width - 1), 0.5 * (height - 1)
    return _rows(
        cos,
        -sin,
        center_x - center_x * cos + center_y * sin,
        sin,
        cos,
        center_y - center_x * sin - center_y * cos,
    )


class RandomZoom(_AffineAugmentation):
    """Zooms each image in or out by a random amount about its centre (``keras.layers.RandomZoom``).

    Args:
        height_factor: a number ``f`` or a pair (lower, upper) in (-1, 1]: the image
            is sampled over ``1 + f`` times its height, so positive values zoom out
            and negative ones zoom in.
        width_factor: the same for the width; None (default) zooms both axes by the same draw.
        fill_mode, interpolation, seed, fill_value: as ``RandomTranslation``.

    Example:
        >>> RandomZoom(0.2)(np.ones((2, 8, 8, 1))).shape
        TensorShape([2, 8, 8, 1])
    """

    def __init__(
        self,
        height_factor,
        width_factor=None,
        fill_mode="reflect",
        interpolation="bilinear",
        seed=None,
        fill_value=0.0,
        data_format=None,
        **kwargs,
    ):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_factor = height_factor
        self.width_factor = width_factor
        self._height_range = _factor_range(height_factor, "height_factor", "RandomZoom", low_inclusive=False)
        self._width_range = (
            None
            if width_factor is None
            else _factor_range(width_factor, "width_factor", "RandomZoom", low_inclusive=False)
        )

    def _transforms(self, batch, height, width, generator):
        zoom_rows = 1.0 + generator.uniform(*self._height_range, size=batch)
        zoom_cols = zoom_rows if self._width_range is None else 1.0 + generator.uniform(*self._width_range, size=batch)
        return zoom_transforms(zoom_rows, zoom_cols, height, width)

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor, "width_factor": self.width_factor}


def zoom_transforms(zoom_rows, zoom_cols, height, width):
    """Transform rows sampling each image over ``zoom`` times its size about its centre (Keras's matrix)."""
    zoom_rows, zoom_cols = np.asarray(zoom_rows, dtype=np.float64), np.asarray(zoom_cols, dtype=np.float64)
    zeros = np.zeros(len(zoom_rows))
    return _rows(
        zoom_cols,
        zeros,
        (width - 1) / 2.0 * (1.0 - zoom_cols),
        zeros,
        zoom_rows,
        (height - 1) / 2.0 * (1.0 - zoom_rows),
    )
