"""Turn any photo or drawing of a garment into a 28x28 image that looks like Fashion-MNIST.

Fashion-MNIST images show a light garment on a black background, trimmed to the
garment and scaled so that its longer side fills the frame.  ``to_fashion_mnist``
makes a PNG or JPEG (colour or greyscale, any size, with or without transparency)
look the same way:

1. transparent parts are laid on white, and the picture is made greyscale;
2. if the picture's border is light (a product shot on white), it is inverted,
   so the background becomes dark, unless ``invert=False``;
3. it is trimmed to the part that differs from the background, padded to a square
   with the background colour (the aspect ratio is kept, the garment centred), and
   scaled to 28x28.

Pillow does the decoding and resampling.  A large picture is shrunk first, by a
whole factor, to at most ``WORKING_SIZE`` pixels on its longer side (a JPEG while
it is decoded), so the work and the memory stay small whatever its size; a file
declaring more pixels than Pillow's ``Image.MAX_IMAGE_PIXELS`` is refused before it
is decoded.
"""

import math
import os

import numpy as np

from ..keras.image_utils import ImageError, ImageWarning, read_picture

SIZE = 28
# The longest side a picture is shrunk to before it is trimmed and padded: a garment
# covering a tenth of a picture's width still spans about 100 pixels, well above the 28
# it ends at, while the float copies and the padded square stay a few megabytes.
WORKING_SIZE = 1024
# The border decides the background: mean brightness above this (0-255) is "light".
_LIGHT_BACKGROUND = 127.5
# Pixels differing from the background by more than this (0-255) count as the garment
# when trimming; JPEG noise and paper texture stay below it.
_TRIM_THRESHOLD = 24.0


def load_image(path, invert="auto"):
    """Read an image file and convert it with ``to_fashion_mnist``.

    The picture is checked against ``PIL.Image.MAX_IMAGE_PIXELS`` before it is
    decoded (no limit when that is ``None``), and a JPEG larger than
    ``WORKING_SIZE`` is decoded at a reduced scale.  What Pillow warns about while
    reading the file (damaged EXIF data, say) is issued again as one
    ``ImageWarning`` naming the file.

    Args:
        path: a PNG, JPEG or any other format Pillow reads.
        invert: "auto" (invert when the background is light), True or False.

    Returns:
        A uint8 array of shape (28, 28): dark background, light garment.

    Raises:
        ImageError: the file is missing, a directory, not an image, damaged, has
            more pixels than ``Image.MAX_IMAGE_PIXELS`` or holds NaN or infinite
            pixel values (the message names the file).
        ValueError: ``invert`` is none of "auto", True, False.

    Example:
        >>> load_image("shirt-on-white.jpg").shape
        (28, 28)
    """
    _check_invert(invert)
    path = os.fspath(path)
    image = read_picture(path, lambda size: _shrunk_size(size, WORKING_SIZE), transpose_exif=True)
    try:
        return to_fashion_mnist(image, invert=invert)
    except ValueError as err:  # NaN pixels; a mode Pillow cannot convert
        raise ImageError(f"{path}: {err}") from None


def to_fashion_mnist(image, invert="auto"):
    """Convert a Pillow image or an array to a Fashion-MNIST-like 28x28 uint8 array.

    Args:
        image: a ``PIL.Image.Image``, or an array of shape (H, W) (greyscale) or
            (H, W, 3|4) (RGB / RGBA) with values 0-255.
        invert: "auto" inverts when the mean of the border pixels is light;
            True always inverts; False never does (for pictures that already
            have a dark background).

    Returns:
        A uint8 array of shape (28, 28).

    Raises:
        ValueError: ``invert`` is none of the above; the array is not an image;
            the image holds NaN or infinite values.

    Example:
        >>> shirt = to_fashion_mnist(Image.open("shirt-on-white.jpg"))
        >>> shirt.shape, shirt[0, 0]        # the white border became black
        ((28, 28), 0)
    """
    from PIL import Image

    _check_invert(invert)
    if not isinstance(image, Image.Image):
        image = _array_to_image(image)
    grey = _greyscale(_shrink(image, WORKING_SIZE))
    border = np.concatenate([grey[0], grey[-1], grey[1:-1, 0], grey[1:-1, -1]])
    if invert is True or (invert == "auto" and border.mean() > _LIGHT_BACKGROUND):
        grey = 255.0 - grey
        border = 255.0 - border
    background = float(np.median(border))
    square = _pad_to_square(_trim(grey, background), background)
    resized = Image.fromarray(np.clip(square, 0, 255).round().astype(np.uint8), mode="L")
    return np.asarray(resized.resize((SIZE, SIZE), Image.Resampling.LANCZOS), dtype=np.uint8)


def _check_invert(invert):
    if invert not in ("auto", True, False):
        raise ValueError(f"to_fashion_mnist: invert must be 'auto', True or False; Received: invert={invert!r}")


def _array_to_image(array):
    from PIL import Image

    array = np.asarray(array)
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)) or array.size == 0:
        raise ValueError(
            "to_fashion_mnist: expected an image of shape (H, W), (H, W, 3) or (H, W, 4); "
            f"Received: array of shape {array.shape}"
        )
    _check_finite(array)
    return Image.fromarray(np.clip(array, 0, 255).astype(np.uint8))


def _check_finite(values):
    if np.issubdtype(values.dtype, np.inexact):
        bad = np.size(values) - np.count_nonzero(np.isfinite(values))
        if bad:
            raise ValueError(
                f"the image holds NaN or infinite pixel values ({bad} of {np.size(values)}); expected finite numbers"
            )


def _shrunk_size(size, longest):
    """``size`` (width, height) scaled so that its longer side is at most ``longest``."""
    scale = min(1.0, longest / max(size))
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def _shrink(image, longest):
    """``image`` reduced by the smallest whole factor that brings its longer side to ``longest`` or less.

    Box averaging in Pillow (``Image.reduce``), on a mode it can average: palette
    and bilevel pictures become RGB(A) or L first, 16-bit greyscale becomes 32-bit,
    and a picture with a transparent colour gets an alpha channel.
    """
    factor = math.ceil(max(image.size) / longest)
    if factor == 1:
        return image
    if image.mode in ("P", "PA") or "transparency" in image.info:
        image = image.convert("RGBA")
    elif image.mode == "1":
        image = image.convert("L")
    elif image.mode.startswith("I;16"):
        image = image.convert("I")
    return image.reduce(factor)


def _greyscale(image):
    """The image as float32 luminance 0-255, transparent parts laid on white."""
    from PIL import Image

    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):  # 16-bit or float greyscale
        values = np.asarray(image, dtype=np.float32)
        _check_finite(values)
        return values * (255.0 / 65535.0) if values.max() > 255 else values
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    return np.asarray(image.convert("L"), dtype=np.float32)


def _trim(grey, background):
    """Crop to the rows and columns holding pixels that stand out from the background."""
    stands_out = np.abs(grey - background) > _TRIM_THRESHOLD
    rows = np.flatnonzero(stands_out.any(axis=1))
    cols = np.flatnonzero(stands_out.any(axis=0))
    if rows.size == 0:  # a blank picture: nothing to trim to
        return grey
    return grey[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _pad_to_square(grey, background):
    """Centre ``grey`` in a square of the background colour (the aspect ratio is kept)."""
    height, width = grey.shape
    side = max(height, width)
    square = np.full((side, side), background, dtype=np.float32)
    top, left = (side - height) // 2, (side - width) // 2
    square[top : top + height, left : left + width] = grey
    return square


__all__ = ["ImageError", "ImageWarning", "load_image", "to_fashion_mnist"]
