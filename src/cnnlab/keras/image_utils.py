"""Pictures as Keras reads them: ``keras.utils.load_img`` / ``img_to_array``, and the decoding of
``image_dataset_from_directory`` (``decode_picture``), with Pillow; ``read_picture`` opens a file
safely for all of them (and for the command's Fashion-MNIST conversion, ``cnnlab.cli.images``).

``decode_picture`` is what a model trained on a folder of pictures was trained on, so
``cnnlab predict`` and ``inspect`` read a new picture through it too: the picture
converted to the colour mode (``grayscale``: Pillow's ``L``, ITU-R 601-2 luma;
16-bit pictures scaled to 8 bits as TensorFlow's decoder does), resized to
``image_size`` by Pillow's filter for ``interpolation`` (after cutting out the
largest centred window of the target's aspect ratio for ``crop_to_aspect_ratio``,
or centring it on black of that ratio for ``pad_to_aspect_ratio``, as Keras 3 does),
as float32 values 0-255.  A JPEG is decoded at the smallest scale that still covers
the target size, so a folder of large photos is read quickly.  Unlike TensorFlow's
``tf.image.resize``, Pillow smooths while shrinking (no aliasing) and rounds each
resized value to a whole number.
"""

import os
import warnings

import numpy as np

# Pillow's filter for each of Keras's interpolation names that Pillow has.
_FILTERS = {
    "nearest": "NEAREST",
    "bilinear": "BILINEAR",
    "bicubic": "BICUBIC",
    "area": "BOX",
    "box": "BOX",
    "lanczos3": "LANCZOS",
    "lanczos": "LANCZOS",
    "hamming": "HAMMING",
}
# Keras's other names, which Pillow has no filter for.
_UNAVAILABLE = ("lanczos5", "gaussian", "mitchellcubic")
CHANNELS = {"grayscale": 1, "rgb": 3, "rgba": 4}
_MODES = {1: "L", 3: "RGB", 4: "RGBA"}


class ImageError(ValueError):
    """A file could not be read as an image."""


class ImageWarning(UserWarning):
    """Something in an image file was damaged but the picture could still be used (e.g. its EXIF data)."""


def read_picture(path, draft_size=None, transpose_exif=False):
    """Open and decode an image file with Pillow; every way it can fail is an ``ImageError`` naming the file.

    The picture is checked against ``PIL.Image.MAX_IMAGE_PIXELS`` before it is
    decoded (no limit when that is ``None``).  What Pillow warns about while reading
    the file (damaged EXIF data, say) is issued again as one ``ImageWarning``
    naming the file.

    Args:
        path: a PNG, JPEG, GIF, BMP or any other format Pillow reads.
        draft_size: None, or a function ``(width, height) -> (width, height)`` giving
            the smallest size the caller needs: a JPEG is then decoded at the
            largest reduced scale (1/2, 1/4, 1/8) that keeps at least that size.
        transpose_exif: turn the picture as its EXIF orientation says (phone photos).

    Returns:
        The decoded ``PIL.Image.Image`` (an animation's first frame).

    Raises:
        ImageError: the file is missing, a directory, unreadable, not an image,
            damaged, or has more pixels than ``Image.MAX_IMAGE_PIXELS``.

    Example:
        >>> read_picture("photo.jpg", lambda size: (256, 256)).size    # a 4000x3000 JPEG
        (500, 375)
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = os.fspath(path)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with Image.open(path) as image:  # reads the header only
                if draft_size is not None:
                    image.draft(None, draft_size(image.size))  # JPEG: decode at 1/2, 1/4 or 1/8 scale
                _check_pixel_count(image, path)
                image.load()
                if transpose_exif:
                    ImageOps.exif_transpose(image, in_place=True)
    except ImageError:
        raise
    except FileNotFoundError:
        raise ImageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImageError(f"{path}: is a directory, not an image") from None
    except PermissionError:
        raise ImageError(f"{path}: permission denied") from None
    except Image.DecompressionBombError as err:  # more than twice the limit: refused by Image.open itself
        raise ImageError(f"{path}: too large to decode safely: {err}") from None
    except UnidentifiedImageError:
        raise ImageError(f"{path}: not an image Pillow can read (expected a PNG or JPEG)") from None
    except (OSError, SyntaxError, ValueError) as err:  # truncated or corrupt data inside a known format
        raise ImageError(f"{path}: damaged image ({err})") from None
    for warning in caught:  # damaged metadata (EXIF) that Pillow skipped, mostly
        if not issubclass(warning.category, Image.DecompressionBombWarning):  # _check_pixel_count decided that
            message = f"{path}: partly damaged, read anyway (Pillow: {warning.message})"
            warnings.warn(ImageWarning(message), stacklevel=3)
    return image


def _check_pixel_count(image, path):
    """Refuse, before decoding, a picture that would decode to more than ``Image.MAX_IMAGE_PIXELS`` pixels."""
    from PIL import Image

    width, height = image.size  # after draft: what will be decoded
    if Image.MAX_IMAGE_PIXELS is not None and width * height > Image.MAX_IMAGE_PIXELS:
        raise ImageError(
            f"{path}: too large to decode safely: {width}x{height} is {width * height} pixels, more than "
            f"PIL.Image.MAX_IMAGE_PIXELS ({Image.MAX_IMAGE_PIXELS})"
        )


def load_img(path, color_mode="rgb", target_size=None, interpolation="nearest", keep_aspect_ratio=False):
    """Load a picture as a Pillow image, as ``keras.utils.load_img`` does.

    Args:
        path: the image file.
        color_mode: ``"grayscale"``, ``"rgb"`` or ``"rgba"``.
        target_size: None (the picture's size) or ``(height, width)``.
        interpolation: ``"nearest"`` (Keras's default here), ``"bilinear"``,
            ``"bicubic"``, ``"lanczos"``, ``"box"`` or ``"hamming"``.
        keep_aspect_ratio: cut out the largest centred window of the target's
            aspect ratio before resizing.

    Returns:
        A ``PIL.Image.Image``.

    Raises:
        ImageError: the file cannot be read as a picture (the message names it).
        ValueError: a ``color_mode`` or ``interpolation`` that is none of the above.

    Example:
        >>> img = keras.utils.load_img("sunflower.jpg", target_size=(180, 180))
        >>> keras.utils.img_to_array(img).shape
        (180, 180, 3)
    """
    if color_mode not in CHANNELS:
        raise ValueError(f'color_mode must be "grayscale", "rgb", or "rgba"; Received: color_mode={color_mode!r}')
    image = _in_mode(read_picture(path), CHANNELS[color_mode])
    if target_size is not None:
        height, width = _size(target_size, "target_size")
        if image.size != (width, height):
            box = _crop_box(image.size, (height, width)) if keep_aspect_ratio else None
            image = image.resize((width, height), _filter(interpolation, "load_img"), box=box)
    return image


def img_to_array(img, data_format=None, dtype=None):
    """A Pillow image (or array) as a float32 NumPy array of shape (height, width, channels).

    Args:
        img: a ``PIL.Image.Image`` or an array of shape (height, width[, channels]).
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        dtype: of the result (default float32).
    """
    data_format = data_format or "channels_last"
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(
            f"img_to_array: data_format must be 'channels_last' or 'channels_first'; Received: {data_format!r}"
        )
    array = np.asarray(img, dtype=dtype or "float32")
    if array.ndim == 2:
        array = array[:, :, np.newaxis]
    elif array.ndim != 3:
        raise ValueError(f"img_to_array: unsupported image shape {array.shape}; expected (height, width[, channels])")
    return array.transpose(2, 0, 1) if data_format == "channels_first" else array


def decode_picture(
    path, image_size, num_channels, interpolation="bilinear", crop_to_aspect_ratio=False, pad_to_aspect_ratio=False
):
    """A picture file as ``image_dataset_from_directory`` gives it: float32 (height, width, channels), 0-255.

    Args:
        path: the image file.
        image_size: ``(height, width)``.
        num_channels: 1 (grayscale), 3 (RGB) or 4 (RGBA).
        interpolation: a name ``check_interpolation`` accepts.
        crop_to_aspect_ratio, pad_to_aspect_ratio: keep the aspect ratio by cropping
            or by padding with black (at most one of them).

    Raises:
        ImageError: the file cannot be read as a picture (the message names it).
    """
    height, width = image_size
    resample = _filter(interpolation, "image_dataset_from_directory")
    image = read_picture(path, lambda size: _draft_size(size, image_size, crop_to_aspect_ratio))
    try:
        image = _in_mode(image, num_channels)
    except ValueError as err:  # a mode Pillow cannot convert
        raise ImageError(f"{path}: {err}") from None
    box = None
    if crop_to_aspect_ratio:
        box = _crop_box(image.size, image_size)
    elif pad_to_aspect_ratio:
        image = _padded(image, image_size)
    if image.size != (width, height) or box is not None:
        image = image.resize((width, height), resample, box=box)
    array = np.asarray(image, dtype=np.float32)
    return array[:, :, np.newaxis] if array.ndim == 2 else array


def check_interpolation(interpolation, op):
    """``interpolation`` lower-cased, or a ValueError naming the ones cnnlab has."""
    _filter(interpolation, op)
    return interpolation.lower()


def _filter(interpolation, op):
    from PIL import Image

    name = interpolation.lower() if isinstance(interpolation, str) else interpolation
    if name in _FILTERS:
        return getattr(Image.Resampling, _FILTERS[name])
    if name in _UNAVAILABLE:
        raise ValueError(
            f"{op}: interpolation={interpolation!r} is not available in cnnlab (Pillow has no such filter); "
            f"use one of {', '.join(_FILTERS)}"
        )
    raise ValueError(
        f"{op}: interpolation must be one of {', '.join(_FILTERS)}; Received: interpolation={interpolation!r}"
    )


def _size(size, argument):
    if isinstance(size, int) and not isinstance(size, bool):
        size = (size, size)
    if (
        not isinstance(size, (list, tuple))
        or len(size) != 2
        or not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n > 0 for n in size)
    ):
        raise ValueError(f"Invalid `{argument}` value. Expected a tuple of 2 positive integers. Received: {size!r}")
    return int(size[0]), int(size[1])


def _in_mode(image, num_channels):
    """The image in mode L, RGB or RGBA; 16-bit greyscale scaled to 8 bits first."""
    if image.mode.startswith("I;16"):
        image = image.convert("I").point(lambda value: value * (1 / 257)).convert("L")
    mode = _MODES[num_channels]
    return image if image.mode == mode else image.convert(mode)


def _draft_size(size, image_size, crop_to_aspect_ratio):
    """The smallest (width, height) a JPEG may be decoded at so that resizing to ``image_size`` loses nothing."""
    height, width = image_size
    if crop_to_aspect_ratio:  # only a window of the picture is kept: it must still cover the target
        scale = max(width / size[0], height / size[1])
        return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))
    return width, height


def _crop_box(size, image_size):
    """Keras's smart_resize window: the largest centred box of the target's aspect ratio (left, top, right, bottom)."""
    width, height = size
    target_height, target_width = image_size
    crop_height = max(min(height, int(float(width * target_height) / target_width)), 1)
    crop_width = max(min(width, int(float(height * target_width) / target_height)), 1)
    top = int(float(height - crop_height) / 2)
    left = int(float(width - crop_width) / 2)
    return left, top, left + crop_width, top + crop_height


def _padded(image, image_size):
    """Keras 3's pad_to_aspect_ratio: the picture centred on black of the target's aspect ratio."""
    from PIL import Image

    width, height = image.size
    target_height, target_width = image_size
    pad_height = max(height, int(float(width * target_height) / target_width))
    pad_width = max(width, int(float(height * target_width) / target_height))
    if (pad_width, pad_height) == (width, height):
        return image
    canvas = Image.new(image.mode, (pad_width, pad_height))
    canvas.paste(image, (int(float(pad_width - width) / 2), int(float(pad_height - height) / 2)))
    return canvas
