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
# The most data bytes a header may declare unless the caller allows more.
MAX_BYTES = 2**30
# Deflate encodes at most 258 bytes in 2 bits: no gzip file expands more than this.
_DEFLATE_MAX_EXPANSION = 1032
_CHUNK_BYTES = 1 << 20
# How far past the declared data a damaged file is read, to say how much follows.
_TRAILING_SLACK = 1 << 16


class IDXFormatError(ValueError):
    """A file is not a well-formed IDX file (or not the one that was expected)."""


def read_idx(path, ndim=None, *, max_bytes=MAX_BYTES):
    """Read an IDX file (gzip-compressed or raw) into a NumPy array.

    The header is checked before the data is read, and the data is read (and
    decompressed) only as far as the header declares, plus a little to see whether
    more follows: a file costs memory in proportion to what it declares, and declares
    no more than its own size can hold.

    Args:
        path: the file, e.g. ``train-images-idx3-ubyte.gz``.
        ndim: the number of dimensions the caller expects (3 for images, 1 for
            labels), or None to accept any.
        max_bytes: the most data bytes a header may declare (default 1 GiB; the
            Fashion-MNIST training images are 47 MB).

    Returns:
        A writable array in native byte order with the file's shape and dtype
        (uint8 for MNIST-style files).

    Raises:
        IDXFormatError: the file is not valid gzip, has a bad magic number, an
            unknown type code, a different number of dimensions than ``ndim``,
            declares more data than ``max_bytes`` or than the file can hold, or
            holds less or more data than its header declares.  The message names
            the file.
        FileNotFoundError: the file does not exist.

    Example:
        >>> labels = read_idx("train-labels-idx1-ubyte.gz", ndim=1)
        >>> labels.shape, labels.dtype
        ((60000,), dtype('uint8'))
    """
    path = os.fspath(path)
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0:
        raise ValueError(f"read_idx: max_bytes must be an int >= 0; received max_bytes={max_bytes!r}.")
    with open(path, "rb") as raw:
        file_size = os.fstat(raw.fileno()).st_size
        compressed = raw.read(len(_GZIP_SIGNATURE)) == _GZIP_SIGNATURE
        raw.seek(0)
        if not compressed:
            return _read_idx_stream(raw, path, ndim, max_bytes, file_size, None)
        try:
            with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                return _read_idx_stream(stream, path, ndim, max_bytes, None, file_size)
        except (EOFError, gzip.BadGzipFile, zlib.error) as err:
            raise IDXFormatError(f"read_idx: {path!r} is a damaged or truncated gzip file ({err}).") from None


def _read_idx_stream(stream, path, ndim, max_bytes, raw_size, gzip_size):
    """The array in ``stream``: ``raw_size`` is the file's size when it is not compressed, ``gzip_size`` when it is."""
    magic = stream.read(4)
    if len(magic) < 4:
        raise IDXFormatError(
            f"read_idx: {path!r} is too short to be an IDX file ({len(magic)} bytes; the header alone is 4)."
        )
    zero0, zero1, type_code, file_ndim = magic
    if zero0 != 0 or zero1 != 0:
        raise IDXFormatError(
            f"read_idx: {path!r} has a bad magic number 0x{magic.hex()}; an IDX file starts with 0x0000 "
            "followed by a type code and the number of dimensions."
        )
    if type_code not in _IDX_DTYPES:
        known = ", ".join(f"0x{code:02X}" for code in _IDX_DTYPES)
        raise IDXFormatError(
            f"read_idx: {path!r} has an unknown value type code 0x{type_code:02X}; known codes are {known}."
        )
    if ndim is not None and file_ndim != ndim:
        raise IDXFormatError(f"read_idx: {path!r} declares {file_ndim} dimensions; expected {ndim}.")
    sizes = stream.read(4 * file_ndim)
    header_size = 4 + len(sizes)
    if len(sizes) < 4 * file_ndim:
        raise IDXFormatError(
            f"read_idx: {path!r} is truncated: its header declares {file_ndim} dimensions "
            f"but the file ends after {header_size} bytes."
        )
    shape = struct.unpack(f">{file_ndim}I", sizes)
    dtype = _IDX_DTYPES[type_code]
    expected_bytes = math.prod(shape) * dtype.itemsize  # Python ints: no overflow on a corrupt header
    if raw_size is not None:  # the sizes can be compared before reading anything
        data_bytes = raw_size - header_size
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
    elif expected_bytes + header_size > _DEFLATE_MAX_EXPANSION * gzip_size:
        raise IDXFormatError(
            f"read_idx: {path!r} declares shape {shape} ({expected_bytes} bytes of data), more than a gzip file "
            f"of {gzip_size} bytes can hold (deflate expands at most {_DEFLATE_MAX_EXPANSION}-fold)."
        )
    if expected_bytes > max_bytes:
        raise IDXFormatError(
            f"read_idx: {path!r} declares shape {shape} ({expected_bytes} bytes of data), more than "
            f"max_bytes={max_bytes}; pass a larger max_bytes if the file is trusted."
        )
    content = bytearray(expected_bytes)
    filled = _read_into(stream, content)
    if filled < expected_bytes:
        raise IDXFormatError(
            f"read_idx: {path!r} is truncated: its header declares shape {shape} ({expected_bytes} bytes of data) "
            f"but only {filled} bytes follow."
        )
    # Reading one chunk more ends a gzip stream (checking its CRC) or shows what follows the data.
    extra = len(stream.read(_TRAILING_SLACK))
    if extra:
        amount = f"at least {extra}" if extra == _TRAILING_SLACK else str(extra)
        raise IDXFormatError(
            f"read_idx: {path!r} has {amount} bytes after the data its header declares "
            f"(shape {shape}); the file is damaged or not an IDX file."
        )
    array = np.frombuffer(content, dtype=dtype).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=False)


def _read_into(stream, content):
    """Fill ``content`` from ``stream`` as far as it goes; the number of bytes read."""
    view = memoryview(content)
    filled = 0
    while filled < len(content):
        count = stream.readinto(view[filled : filled + _CHUNK_BYTES])
        if not count:
            break
        filled += count
    return filled


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
