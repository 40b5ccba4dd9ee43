"""The pictures the explain page works on: the shipped samples, uploads and drawings, checked.

Every picture becomes a uint8 array of the model's picture size (28x28 for the
Fashion-MNIST models), a light garment on a dark background: uploads and drawings are
converted as ``cnnlab predict`` converts a file (``cnnlab.cli.images.load_image``: a large
JPEG decoded at a reduced scale, then ``to_fashion_mnist``).
Whatever a client sends is checked before it is decoded or allocated, and a bad one
ends in ``RequestError`` with a message for the page and a 4xx status.
"""

import io
import json
import os

import numpy as np

from ...datasets import CLASS_NAMES, read_idx
from .network import RequestError

SEED_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seed")
SAMPLE_IMAGES = "samples-images-idx3-ubyte.gz"
SAMPLE_LABELS = "samples-labels-idx1-ubyte.gz"
SEED_MANIFEST = "seed.json"
SEED_WEIGHTS = "seed-weights.npz"

# An upload larger than this is refused before it is read whole (a phone photo is 2-6 MB).
MAX_UPLOAD_BYTES = 8_000_000
# Pictures with a side longer than this are refused before decoding (the picture is shrunk to 28x28 anyway).
MAX_PICTURE_SIDE = 4096
# Formats a browser sends and Pillow reads without extra libraries.
UPLOAD_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP")


class Samples:
    """The Fashion-MNIST test images that ship with cnnlab, with their labels and test-set indices.

    Attributes:
        images: uint8 (n, 28, 28).
        labels: uint8 (n,).
        test_indices: where each image sits in the Fashion-MNIST test set.
    """

    def __init__(self, directory=SEED_DIR):
        self.images = read_idx(os.path.join(directory, SAMPLE_IMAGES), ndim=3)
        self.labels = read_idx(os.path.join(directory, SAMPLE_LABELS), ndim=1)
        with open(os.path.join(directory, SEED_MANIFEST), encoding="utf-8") as f:
            self.test_indices = json.load(f)["samples_test_indices"]
        if not len(self.images) == len(self.labels) == len(self.test_indices):
            raise ValueError(f"{directory}: the sample images, labels and indices differ in number")

    def describe(self):
        return [
            {"index": i, "label": int(label), "class": CLASS_NAMES[label], "test_index": int(test_index)}
            for i, (label, test_index) in enumerate(zip(self.labels, self.test_indices))
        ]


def fit_to_size(pixels, size):
    """A 28x28 uint8 picture resized to the model's ``(height, width)`` (unchanged when it fits)."""
    if tuple(pixels.shape) == tuple(size):
        return pixels
    from PIL import Image

    resized = Image.fromarray(pixels, mode="L").resize((size[1], size[0]), Image.Resampling.LANCZOS)
    return np.asarray(resized, dtype=np.uint8)


def decode_upload(data, invert="auto"):
    """An uploaded picture file (bytes) -> a Fashion-MNIST-like 28x28 uint8 array.

    Args:
        data: the file's bytes (PNG, JPEG, GIF, BMP or WebP).
        invert: as ``to_fashion_mnist``: 'auto', True or False (a drawing on a dark
            canvas is already light on dark).

    Raises:
        RequestError: 400 for an empty or damaged file, 413 for one too large (in
            bytes or pixels), 415 for one that is not a picture in those formats.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    from ..images import WORKING_SIZE, to_fashion_mnist

    if not data:
        raise RequestError("the upload is empty: choose a picture file (PNG or JPEG)")
    if len(data) > MAX_UPLOAD_BYTES:
        raise RequestError(upload_too_large_message(len(data)), status=413)
    try:
        image = Image.open(io.BytesIO(data), formats=UPLOAD_FORMATS)
    except UnidentifiedImageError:
        raise RequestError(
            "the upload is not a picture: expected a PNG, JPEG, GIF, BMP or WebP file", status=415
        ) from None
    except Image.DecompressionBombError as err:  # a header claiming billions of pixels
        raise RequestError(f"the picture is too large to decode: {err}", status=413) from None
    except (OSError, SyntaxError, ValueError) as err:  # a known format whose header is damaged
        raise RequestError(f"the picture is damaged ({err})") from None
    with image:
        width, height = image.size
        if width < 1 or height < 1 or max(width, height) > MAX_PICTURE_SIDE:
            raise RequestError(
                f"the picture is {width}x{height} pixels; expected at most {MAX_PICTURE_SIDE} on a side",
                status=413,
            )
        # As cnnlab.cli.images.load_image reads a file: a large JPEG is decoded at a reduced scale.
        scale = min(1.0, WORKING_SIZE / max(width, height))
        image.draft(None, (max(1, round(width * scale)), max(1, round(height * scale))))
        try:
            image.load()
            image = ImageOps.exif_transpose(image)
            return to_fashion_mnist(image, invert=invert)
        except (OSError, SyntaxError, ValueError) as err:  # truncated or corrupt data inside a known format
            raise RequestError(f"the picture is damaged ({err})") from None


def parse_pixels(value, size):
    """A picture sent as JSON (rows of whole numbers 0-255) -> uint8 (height, width).

    Raises:
        RequestError: 400 naming what was expected and what came.
    """
    height, width = size
    expected = f"{height} rows of {width} whole numbers 0-255"
    if not isinstance(value, list) or len(value) != height:
        received = f"{len(value)} rows" if isinstance(value, list) else type(value).__name__
        raise RequestError(f"pixels: expected {expected}; received {received}")
    for r, row in enumerate(value):
        if not isinstance(row, list) or len(row) != width:
            received = f"{len(row)} numbers" if isinstance(row, list) else type(row).__name__
            raise RequestError(f"pixels: expected {expected}; row {r} has {received}")
        for c, v in enumerate(row):
            if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 255:
                raise RequestError(f"pixels: expected {expected}; pixels[{r}][{c}] is {v!r}")
    return np.array(value, dtype=np.uint8)


def upload_too_large_message(size):
    return f"the upload is {size / 1e6:.1f} MB; the largest accepted is {MAX_UPLOAD_BYTES / 1e6:.1f} MB"
