"""``tf.image``: resizing, flips and rotations, colour conversions, dtype conversion and
standardization of NHWC images (a batch ``(N, H, W, C)`` or one image ``(H, W, C)``).

``resize`` follows TF 2's ``tf.image.resize``: half-pixel centres (a pixel's value
sits at its centre, so output pixel ``i`` reads input coordinate
``(i + 0.5) * in / out - 0.5``), bilinear weights clamped at the border, nearest
neighbour taking ``floor((i + 0.5) * in / out)``; the scales are computed in float32
as TF's kernels compute them.  Bilinear resizing is linear in the image, so it is
two matrix products (rows, then columns) and differentiable to any order.

Example:
    >>> image = cnnlab.reshape(cnnlab.range(4.0), [2, 2, 1])
    >>> cnnlab.image.resize(image, [4, 4])[..., 0].numpy()[0]
    array([0.  , 0.25, 0.75, 1.  ], dtype=float32)
"""

import math

import numpy as np

from . import dtypes
from . import random as cnnlab_random
from .ops import array_ops, linalg_ops, math_ops, reduction_ops
from .tensor import Tensor, as_tensor, is_integral_number, shape_argument


class ResizeMethod:
    """The names ``resize`` accepts for ``method`` (only bilinear and nearest are implemented)."""

    BILINEAR = "bilinear"
    NEAREST_NEIGHBOR = "nearest"
    BICUBIC = "bicubic"
    AREA = "area"
    LANCZOS3 = "lanczos3"
    LANCZOS5 = "lanczos5"
    GAUSSIAN = "gaussian"
    MITCHELLCUBIC = "mitchellcubic"


def _images(images, op):
    """``images`` as a 4-D tensor and whether it was one 3-D image."""
    x = as_tensor(images, op)
    if x.ndim not in (3, 4):
        raise ValueError(
            f"{op}: expected images of shape (height, width, channels) or (batch, height, width, channels); "
            f"received shape={tuple(x.shape)}."
        )
    return (array_ops.expand_dims(x, 0), True) if x.ndim == 3 else (x, False)


def _restore(x, single):
    return x[0] if single else x


def _size(size, op):
    dims = shape_argument(size, op, "size")
    if len(dims) != 2 or min(dims) < 1:
        raise ValueError(
            f"{op}: size must be [new_height, new_width] of positive integers; received size={list(dims)}."
        )
    return dims


def _bilinear_matrix(in_size, out_size, dtype):
    """The (out_size, in_size) matrix of TF's half-pixel bilinear weights along one axis."""
    scale = np.float32(in_size) / np.float32(out_size)
    source = (np.arange(out_size, dtype=np.float32) + np.float32(0.5)) * scale - np.float32(0.5)
    floor = np.floor(source)
    lower = np.maximum(floor, 0).astype(np.int64)
    upper = np.minimum(np.ceil(source), in_size - 1).astype(np.int64)
    fraction = source - floor
    matrix = np.zeros((out_size, in_size), dtype=np.float32)
    rows = np.arange(out_size)
    np.add.at(matrix, (rows, lower), 1 - fraction)
    np.add.at(matrix, (rows, upper), fraction)
    return Tensor(matrix.astype(dtype))


def _nearest_indices(in_size, out_size):
    scale = np.float32(in_size) / np.float32(out_size)
    source = np.floor((np.arange(out_size, dtype=np.float32) + np.float32(0.5)) * scale).astype(np.int64)
    return np.clip(source, 0, in_size - 1)


def _resize_bilinear(x, height, width):
    """Bilinear resizing of a 4-D float tensor, in its own dtype (``resize`` casts to float32 first)."""
    rows = _bilinear_matrix(x.shape[1], height, x.dtype)
    columns = _bilinear_matrix(x.shape[2], width, x.dtype)
    return linalg_ops.einsum("ih,jw,nhwc->nijc", rows, columns, x)


def resize(images, size, method=ResizeMethod.BILINEAR, preserve_aspect_ratio=False, antialias=False, name=None):
    """``images`` resized to ``size = [new_height, new_width]`` (TF 2's ``tf.image.resize``).

    Args:
        images: (N, H, W, C) or (H, W, C).
        size: the new height and width.
        method: 'bilinear' (default) or 'nearest' (``ResizeMethod``); the other TF
            methods are not implemented.
        preserve_aspect_ratio: scale by the smaller of the two ratios, so the result
            fits inside ``size``.
        antialias: only False (antialiased downsampling is not implemented).

    Returns:
        float32 images for 'bilinear'; the input's dtype for 'nearest'.
    """
    x, single = _images(images, "image.resize")
    height, width = _size(size, "image.resize")
    method = getattr(method, "value", method)
    if method not in (ResizeMethod.BILINEAR, ResizeMethod.NEAREST_NEIGHBOR):
        raise ValueError(f"image.resize: method must be 'bilinear' or 'nearest' in cnnlab; received method={method!r}.")
    if antialias:
        raise ValueError("image.resize: antialias=True is not implemented in cnnlab; use antialias=False.")
    if preserve_aspect_ratio:
        factor = min(height / x.shape[1], width / x.shape[2])
        height, width = max(int(round(factor * x.shape[1])), 1), max(int(round(factor * x.shape[2])), 1)
    if method == ResizeMethod.NEAREST_NEIGHBOR:
        rows = _nearest_indices(x.shape[1], height)
        columns = _nearest_indices(x.shape[2], width)
        return _restore(array_ops.gather(array_ops.gather(x, rows, axis=1), columns, axis=2), single)
    if x.dtype != dtypes.float32:
        x = math_ops.cast(x, dtypes.float32)
    return _restore(_resize_bilinear(x, height, width), single)


def flip_left_right(image, name=None):
    """Mirror images horizontally (reverse the width axis)."""
    x = as_tensor(image, "image.flip_left_right")
    _images(x, "image.flip_left_right")
    return array_ops.reverse(x, [x.ndim - 2])


def flip_up_down(image, name=None):
    """Mirror images vertically (reverse the height axis)."""
    x = as_tensor(image, "image.flip_up_down")
    _images(x, "image.flip_up_down")
    return array_ops.reverse(x, [x.ndim - 3])


def rot90(image, k=1, name=None):
    """Images rotated counter-clockwise by ``k`` quarter turns."""
    x, single = _images(image, "image.rot90")
    if not is_integral_number(k):
        raise TypeError(f"image.rot90: k must be an integer; received k={k!r}.")
    for _ in range(k % 4):  # one quarter turn: mirror left-right, then swap height and width
        x = array_ops.transpose(array_ops.reverse(x, [2]), [0, 2, 1, 3])
    return _restore(x, single)


def transpose(image, name=None):
    """Images with height and width swapped."""
    x, single = _images(image, "image.transpose")
    return _restore(array_ops.transpose(x, [0, 2, 1, 3]), single)


def _float_images(image, op):
    x = as_tensor(image, op)
    return x if x.dtype.kind == "f" else math_ops.cast(x, dtypes.float32)


def per_image_standardization(image, name=None):
    """Each image scaled to mean 0 and variance 1: ``(x - mean) / max(stddev, 1 / sqrt(pixels * channels))``.

    Integer images are converted to float32 first (their values kept, not rescaled), as in TF.
    """
    x, single = _images(_float_images(image, "image.per_image_standardization"), "image.per_image_standardization")
    count = math.prod(x.shape[1:])
    mean = reduction_ops.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
    stddev = reduction_ops.reduce_std(x, axis=[1, 2, 3], keepdims=True)
    return _restore((x - mean) / math_ops.maximum(stddev, 1.0 / math.sqrt(max(count, 1))), single)


def grayscale_to_rgb(images, name=None):
    """One-channel images repeated into three channels."""
    x = as_tensor(images, "image.grayscale_to_rgb")
    if x.ndim < 2 or x.shape[-1] != 1:
        raise ValueError(
            f"image.grayscale_to_rgb: the last axis must have size 1 (one channel); received shape={tuple(x.shape)}."
        )
    return array_ops.tile(x, [1] * (x.ndim - 1) + [3])


_RGB_TO_GRAY = [0.2989, 0.5870, 0.1140]  # TF's weights (ITU-R BT.601 luma)


def rgb_to_grayscale(images, name=None):
    """Three-channel images to one channel of luma, ``0.2989 R + 0.5870 G + 0.1140 B``, in the input's dtype."""
    x = as_tensor(images, "image.rgb_to_grayscale")
    if x.ndim < 1 or x.shape[-1] != 3:
        raise ValueError(
            f"image.rgb_to_grayscale: the last axis must have size 3 (RGB); received shape={tuple(x.shape)}."
        )
    values = convert_image_dtype(x, dtypes.float32)
    gray = linalg_ops.tensordot(values, Tensor(np.array(_RGB_TO_GRAY, np.float32)), axes=[[-1], [0]])
    return convert_image_dtype(array_ops.expand_dims(gray, -1), x.dtype)


def _dtype_max(dtype):
    return np.iinfo(dtype).max if dtype.kind in "iu" else 1.0


def convert_image_dtype(image, dtype, saturate=False, name=None):
    """Convert pixel values between dtypes, rescaling: floats span [0, 1], integers [0, dtype's max].

    As TF: integer to float multiplies by ``1 / max``; float to integer multiplies by
    ``max + 0.5`` and truncates (clipping first with ``saturate=True``); integer to
    integer scales by the ratio of the ranges (a right shift when narrowing).
    """
    x = as_tensor(image, "image.convert_image_dtype")
    source, target = x.dtype, dtypes.as_dtype(dtype)
    if source.kind not in "iuf" or target.kind not in "iuf":
        raise TypeError(
            f"image.convert_image_dtype: only integer and float images; received {source.name} -> {target.name}."
        )
    if source == target:
        return array_ops.identity(x)
    if source.kind == "f" and target.kind == "f":
        return math_ops.cast(x, target)
    if source.kind in "iu" and target.kind == "f":
        return math_ops.cast(x, target) * target.type(1.0 / _dtype_max(source))
    if source.kind == "f":
        scaled = x._value * (float(_dtype_max(target)) + 0.5)
        if saturate:
            scaled = np.clip(scaled, np.iinfo(target).min, np.iinfo(target).max)
        return Tensor(scaled.astype(target))
    in_max, out_max = int(_dtype_max(source)), int(_dtype_max(target))
    value = x._value.astype(np.int64)
    if in_max > out_max:
        value = value // ((in_max + 1) // (out_max + 1))
    else:
        value = value * ((out_max + 1) // (in_max + 1))
    if saturate:
        value = np.clip(value, np.iinfo(target).min, np.iinfo(target).max)
    return Tensor(value.astype(target))


def adjust_brightness(image, delta):
    """``image + delta`` on float values (integer images are converted to [0, 1] and back)."""
    x = as_tensor(image, "image.adjust_brightness")
    values = convert_image_dtype(x, dtypes.float32) if x.dtype.kind != "f" else x
    return convert_image_dtype(values + delta, x.dtype, saturate=True)


def adjust_contrast(images, contrast_factor):
    """``(x - mean) * contrast_factor + mean``, the mean taken per image and channel over height and width."""
    x = as_tensor(images, "image.adjust_contrast")
    values = convert_image_dtype(x, dtypes.float32) if x.dtype.kind != "f" else x
    mean = reduction_ops.reduce_mean(values, axis=[-3, -2], keepdims=True)
    return convert_image_dtype((values - mean) * contrast_factor + mean, x.dtype, saturate=True)


def _random_flip(image, seed, axis, op):
    x, single = _images(image, op)
    flip = cnnlab_random.generator_for(seed, op).random(x.shape[0]) < 0.5
    flipped = array_ops.reverse(x, [axis])
    return _restore(array_ops.where(Tensor(flip.reshape(-1, 1, 1, 1)), flipped, x), single)


def random_flip_left_right(image, seed=None):
    """Each image mirrored horizontally with probability 1/2."""
    return _random_flip(image, seed, 2, "image.random_flip_left_right")


def random_flip_up_down(image, seed=None):
    """Each image mirrored vertically with probability 1/2."""
    return _random_flip(image, seed, 1, "image.random_flip_up_down")


def random_brightness(image, max_delta, seed=None):
    """``adjust_brightness`` by one ``delta`` drawn uniformly from ``[-max_delta, max_delta)``."""
    if max_delta < 0:
        raise ValueError(f"image.random_brightness: max_delta must be non-negative; received max_delta={max_delta!r}.")
    delta = cnnlab_random.generator_for(seed, "image.random_brightness").uniform(-max_delta, max_delta)
    return adjust_brightness(image, np.float32(delta))


def random_contrast(image, lower, upper, seed=None):
    """``adjust_contrast`` by one factor drawn uniformly from ``[lower, upper)``."""
    if not 0 <= lower < upper:
        raise ValueError(f"image.random_contrast: need 0 <= lower < upper; received lower={lower!r}, upper={upper!r}.")
    factor = cnnlab_random.generator_for(seed, "image.random_contrast").uniform(lower, upper)
    return adjust_contrast(image, np.float32(factor))


def crop_to_bounding_box(image, offset_height, offset_width, target_height, target_width):
    """The ``target_height x target_width`` window of each image whose top-left corner is at the offsets."""
    x, single = _images(image, "image.crop_to_bounding_box")
    _, height, width, _ = x.shape
    if (
        offset_height < 0
        or offset_width < 0
        or offset_height + target_height > height
        or offset_width + target_width > width
    ):
        raise ValueError(
            f"image.crop_to_bounding_box: the box at ({offset_height}, {offset_width}) of size "
            f"{target_height}x{target_width} does not fit in images of {height}x{width}."
        )
    return _restore(
        x[:, offset_height : offset_height + target_height, offset_width : offset_width + target_width, :], single
    )


def pad_to_bounding_box(image, offset_height, offset_width, target_height, target_width):
    """Each image placed at the offsets on a zero canvas of ``target_height x target_width``."""
    x, single = _images(image, "image.pad_to_bounding_box")
    _, height, width, _ = x.shape
    bottom, right = target_height - offset_height - height, target_width - offset_width - width
    if min(offset_height, offset_width, bottom, right) < 0:
        raise ValueError(
            f"image.pad_to_bounding_box: images of {height}x{width} at ({offset_height}, {offset_width}) do not fit in "
            f"{target_height}x{target_width}."
        )
    return _restore(array_ops.pad(x, [[0, 0], [offset_height, bottom], [offset_width, right], [0, 0]]), single)


def resize_with_crop_or_pad(image, target_height, target_width):
    """Images centred on a ``target_height x target_width`` canvas: cropped where larger, zero-padded where smaller."""
    x, single = _images(image, "image.resize_with_crop_or_pad")
    _, height, width, _ = x.shape
    crop_top, crop_left = max(height - target_height, 0) // 2, max(width - target_width, 0) // 2
    x = crop_to_bounding_box(x, crop_top, crop_left, min(height, target_height), min(width, target_width))
    pad_top, pad_left = max(target_height - height, 0) // 2, max(target_width - width, 0) // 2
    return _restore(pad_to_bounding_box(x, pad_top, pad_left, target_height, target_width), single)


def central_crop(image, central_fraction):
    """The central ``central_fraction`` (in (0, 1]) of each image's height and width."""
    if not 0 < central_fraction <= 1:
        raise ValueError(f"image.central_crop: central_fraction must be in (0, 1]; received {central_fraction!r}.")
    x, single = _images(image, "image.central_crop")
    _, height, width, _ = x.shape
    # TF's rounding: the margin is (size - size * fraction) / 2, truncated.
    top, left = int((height - height * central_fraction) / 2), int((width - width * central_fraction) / 2)
    return _restore(crop_to_bounding_box(x, top, left, height - 2 * top, width - 2 * left), single)
