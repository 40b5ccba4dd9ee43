"""The IDX file format of MNIST and Fashion-MNIST: read and write, gzip-compressed or raw.

An IDX file is a 4-byte magic number, one big-endian uint32 per dimension, then the
values in C order, big-endian:

    byte 0-1   0x00 0x00
    byte 2     the value type (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
               0x0D float32, 0x0E float64)
    byte 3     the number of dimensions
    then       the dimension sizes, then the data

Files are recognised as gzip by their content (the 0x1f 0x8b signature), not their name.
"""

import gzip
import math
import os
import struct
import zlib

import numpy as np

from ._files import atomic_write

# IDX type code -> big-endian NumPy dtype.
_IDX_DTYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_IDX_CODES = {dtype.newbyteorder("="): code for code, dtype in _IDX_DTYPES.items()}
_GZIP_SIGNATURE = b"\x1f\x8b"


class IDXFormatError(ValueError):
    """A file is not a well-formed IDX file (or not the one that was expected)."""


def read_idx(path, ndim=None):
    """Read an IDX file (gzip-compressed or raw) into a NumPy array.

    Args:
        path: the file, e.g. ``train-images-idx3-ubyte.gz``.
        ndim: the number of dimensions the caller expects (3 for images, 1 for
            labels), or None to accept any.

    Returns:
        A writable array in native byte order with the file's shape and dtype
        (uint8 for MNIST-style files).

    Raises:
        IDXFormatError: the file is not valid gzip, has a bad magic number, an
            unknown type code, a different number of dimensions than ``ndim``,
            or holds less or more data than its header declares.  The message
            names the file.
        FileNotFoundError: the file does not exist.

    Example:
        >>> labels = read_idx("train-labels-idx1-ubyte.gz", ndim=1)
        >>> labels.shape, labels.dtype
        ((60000,), dtype('uint8'))
    """
    path = os.fspath(path)
    content = _read_content(path)

    if len(content) < 4:
        raise IDXFormatError(
            f"read_idx: {path!r} is too short to be an IDX file ({len(content)} bytes; the header alone is 4)."
        )
    zero0, zero1, type_code, file_ndim = content[:4]
    if zero0 != 0 or zero1 != 0:
        raise IDXFormatError(
            f"read_idx: {path!r} has a bad magic number 0x{content[:4].hex()}; an IDX file starts with 0x0000 "
            "followed by a type code and the number of dimensions."
        )
    if type_code not in _IDX_DTYPES:
        known = ", ".join(f"0x{code:02X}" for code in _IDX_DTYPES)
        raise IDXFormatError(
            f"read_idx: {path!r} has an unknown value type code 0x{type_code:02X}; known codes are {known}."
        )
    if ndim is not None and file_ndim != ndim:
        raise IDXFormatError(f"read_idx: {path!r} declares {file_ndim} dimensions; expected {ndim}.")

    header_size = 4 + 4 * file_ndim
    if len(content) < header_size:
        raise IDXFormatError(
            f"read_idx: {path!r} is truncated: its header declares {file_ndim} dimensions "
            f"but the file ends after {len(content)} bytes."
        )
    shape = struct.unpack(f">{file_ndim}I", content[4:header_size])
    dtype = _IDX_DTYPES[type_code]
    expected_bytes = math.prod(shape) * dtype.itemsize  # Python ints: no overflow on a corrupt header
    data_bytes = len(content) - header_size
    if data_bytes < expected_bytes:
        raise IDXFormatError(
            f"read_idx: {path!r} is truncated: its header declares shape {shape} ({expected_bytes} bytes of data) "
            f"but only {data_bytes} bytes follow."
        )
    if data_bytes > expected_bytes:
        raise IDXFormatError(
            f"read_idx: {path!r} has {data_bytes - expected_bytes} bytes after the data its header declares "
            f"(shape {shape}); the file is damaged or not an IDX file."
        )
    array = np.frombuffer(content, dtype=dtype, offset=header_size).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=False)


def write_idx(path, array):
    """Write ``array`` as an IDX file, gzip-compressed when ``path`` ends in ``.gz``.

    The file is written atomically (a temporary file, then a rename).

    Args:
        path: the file to write.
        array: an array of dtype uint8, int8, int16, int32, float32 or float64
            with at most 255 dimensions.

    Example:
        >>> write_idx("labels-idx1-ubyte.gz", np.array([3, 1, 4], dtype=np.uint8))
    """
    path = os.fspath(path)
    array = np.asarray(array)
    code = _IDX_CODES.get(array.dtype.newbyteorder("="))
    if code is None:
        names = ", ".join(str(dtype.newbyteorder("=")) for dtype in _IDX_DTYPES.values())
        raise TypeError(f"write_idx: the IDX format stores {names}; Received: array of dtype {array.dtype}.")
    if array.ndim > 255:
        raise ValueError(f"write_idx: the IDX format stores at most 255 dimensions; Received: array.ndim={array.ndim}.")
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    content = header + np.ascontiguousarray(array, dtype=_IDX_DTYPES[code]).tobytes()
    if path.endswith(".gz"):
        content = gzip.compress(content, mtime=0)
    with atomic_write(path) as f:
        f.write(content)


def _read_content(path):
    """The file's bytes, decompressed if they are gzip, in a writable buffer."""
    with open(path, "rb") as f:
        raw = f.read()
    if not raw.startswith(_GZIP_SIGNATURE):
        return bytearray(raw)
    try:
        return bytearray(gzip.decompress(raw))
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        raise IDXFormatError(f"read_idx: {path!r} is a damaged or truncated gzip file ({err}).") from None
