"""``keras.ops.image``: resizing, grayscale, and padding / cropping of channels-last images."""

import numpy as np

from ... import image as tf_image
from ...ops import array_ops, math_ops


def _images(images, op):
    """``images`` as a tensor of rank 3 (H, W, C) or 4 (N, H, W, C), checked as tf.image checks them."""
    batch, single = tf_image._images(images, op)
    return batch[0] if single else batch


def _channels_last(data_format, op):
    """Refuse any data format but channels-last (NHWC), the only one cnnlab's ops take."""
    if data_format not in (None, "channels_last"):
        raise ValueError(f"{op}: only data_format='channels_last' is supported; received data_format={data_format!r}.")


def resize(
    images,
    size,
    interpolation="bilinear",
    antialias=False,
    crop_to_aspect_ratio=False,
    pad_to_aspect_ratio=False,
    fill_mode="constant",
    fill_value=0.0,
    data_format=None,
):
    """Images resized to ``size = (height, width)`` with half-pixel centres, 'bilinear' or 'nearest'.

    Float images keep their dtype (integers give float32).  ``crop_to_aspect_ratio``
    first crops the largest centred window of the target's aspect ratio.
    """
    op = "keras.ops.image.resize"
    _channels_last(data_format, op)
    x = _images(images, op)
    if interpolation not in ("bilinear", "nearest"):
        raise ValueError(f"{op}: interpolation must be 'bilinear' or 'nearest' in cnnlab; received {interpolation!r}.")
    if antialias or pad_to_aspect_ratio:
        raise ValueError(f"{op}: antialias and pad_to_aspect_ratio are not implemented in cnnlab.")
    height, width = (int(s) for s in size)
    if crop_to_aspect_ratio:
        in_height, in_width = x.shape[-3], x.shape[-2]
        crop_height = min(in_height, int(round(in_width * height / width)))
        crop_width = min(in_width, int(round(in_height * width / height)))
        top, left = (in_height - crop_height) // 2, (in_width - crop_width) // 2
        x = x[..., top : top + crop_height, left : left + crop_width, :]
    if interpolation == "nearest":
        return tf_image.resize(x, [height, width], "nearest")
    if x.dtype.kind != "f":
        x = math_ops.cast(x, np.float32)
    batch = x if x.ndim == 4 else array_ops.expand_dims(x, 0)
    resized = tf_image._resize_bilinear(batch, height, width)
    return resized if x.ndim == 4 else resized[0]


def rgb_to_grayscale(images, data_format=None):
    """One channel of luma from RGB images (``tf.image.rgb_to_grayscale``'s weights)."""
    _channels_last(data_format, "keras.ops.image.rgb_to_grayscale")
    return tf_image.rgb_to_grayscale(_images(images, "keras.ops.image.rgb_to_grayscale"))


def pad_images(
    images,
    top_padding=None,
    left_padding=None,
    bottom_padding=None,
    right_padding=None,
    target_height=None,
    target_width=None,
    data_format=None,
):
    """Images zero-padded on each side (or to ``target_height`` / ``target_width``)."""
    op = "keras.ops.image.pad_images"
    _channels_last(data_format, op)
    x = _images(images, op)
    height, width = x.shape[-3], x.shape[-2]
    top, left = top_padding or 0, left_padding or 0
    bottom = bottom_padding if bottom_padding is not None else (target_height - height - top if target_height else 0)
    right = right_padding if right_padding is not None else (target_width - width - left if target_width else 0)
    if min(top, left, bottom, right) < 0:
        raise ValueError(
            f"{op}: the padding must be non-negative; received top={top}, left={left}, bottom={bottom}, right={right}."
        )
    widths = [[top, bottom], [left, right], [0, 0]]
    return array_ops.pad(x, ([[0, 0]] if x.ndim == 4 else []) + widths)


def crop_images(
    images,
    top_cropping=None,
    left_cropping=None,
    bottom_cropping=None,
    right_cropping=None,
    target_height=None,
    target_width=None,
    data_format=None,
):
    """Images with rows and columns cut from each side (or cut to ``target_height`` / ``target_width``)."""
    op = "keras.ops.image.crop_images"
    _channels_last(data_format, op)
    x = _images(images, op)
    height, width = x.shape[-3], x.shape[-2]
    top, left = top_cropping or 0, left_cropping or 0
    new_height = target_height if target_height is not None else height - top - (bottom_cropping or 0)
    new_width = target_width if target_width is not None else width - left - (right_cropping or 0)
    if top < 0 or left < 0 or new_height < 1 or new_width < 1 or top + new_height > height or left + new_width > width:
        raise ValueError(f"{op}: the crop does not fit images of {height}x{width}.")
    return x[..., top : top + new_height, left : left + new_width, :]
