"""Reading the parts of a model file that may be damaged or hostile: zip members, JSON, ``.npy`` arrays.

A model file is a zip archive, whoever wrote it.  Everything here reads it under
three rules, so that no file, however it was made, costs more than it holds:

* sizes are checked before anything is allocated: a member is read only when it is
  needed, only if its declared size is within the caller's byte budget and in
  proportion to the bytes the file spends on it, and then streamed in chunks;
* JSON is parsed only after its bracket depth is known to be small;
* nothing is unpickled: an ``.npy`` member is parsed here, with a plain numeric dtype
  or not at all.

Every reader takes ``fail(problem)``, a function that raises the caller's documented
error naming the file (``ModelFileError``), and calls it for anything wrong.
"""

import io
import json
import math
import re
import struct
import zipfile
import zlib

import numpy as np

# What cnnlab and Keras write; other methods (bzip2, lzma, ...) are refused before reading.
_READABLE_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})
# General-purpose flag bits of members that cannot be read without a password or a patch:
# 0x1 encrypted, 0x20 compressed patched data, 0x40 strong encryption.
_UNREADABLE_FLAGS = 0x1 | 0x20 | 0x40
_CHUNK_BYTES = 1 << 20
# A member may expand to at most this many times the bytes it takes in the archive, or to
# _SMALL_MEMBER_BYTES: far more than JSON deflates, and cnnlab and Keras store weights as they are.
MAX_EXPANSION = 100
_SMALL_MEMBER_BYTES = 1 << 20


class ByteBudget:
    """The bytes one load may still decompress; every member read is charged to it.

    Args:
        limit: the most bytes the load may read out of the file, in all.
        argument: how the caller's documentation names the limit (quoted in errors).
    """

    def __init__(self, limit, argument):
        self.left = limit
        self.limit = limit
        self.argument = argument

    def charge(self, size, what, fail):
        if size > self.left:
            fail(
                f"{what} declares {size} bytes, more than the {self.left} bytes left of the limit "
                f"{self.argument}={self.limit} (pass a larger {self.argument} if the file is trusted)"
            )
        self.left -= size


class BoundedZip:
    """A zip archive (a path or bytes) whose members are read one by one, each checked before it is read.

    Args:
        source: a path, or the archive's bytes.
        what: how errors name the archive ('the archive', "weights.npz").
        fail: raises the caller's error for a problem.
        budget: the ``ByteBudget`` every member read is charged to.
    """

    def __init__(self, source, what, fail, budget):
        self.what = what
        self.fail = fail
        self.budget = budget
        file = None
        try:
            file = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else open(source, "rb")  # noqa: SIM115
            self.size = _file_size(file)
            self._zip = zipfile.ZipFile(file)  # reads the directory only
        except (zipfile.BadZipFile, NotImplementedError, EOFError, OSError, UnicodeDecodeError) as error:
            if file is not None:
                file.close()
            fail(f"{what} is not a complete zip archive (truncated or corrupted?): {_describe(error)}")
        self._counts = {}
        for info in self._zip.infolist():
            self._counts[info.filename] = self._counts.get(info.filename, 0) + 1

    def close(self):
        self._zip.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def __contains__(self, name):
        return name in self._counts

    def info(self, name):
        """The checked directory entry of ``name``: readable method and flags, sizes backed by the archive."""
        count = self._counts.get(name, 0)
        if count == 0:
            self.fail(f"{self.what} has no '{name}'")
        if count > 1:
            self.fail(f"{self.what} holds {count} members named '{name}'")
        info = self._zip.getinfo(name)
        if info.flag_bits & _UNREADABLE_FLAGS:
            self.fail(
                f"'{name}' in {self.what} is encrypted or patched (zip flag bits 0x{info.flag_bits:04x}), "
                "which cnnlab does not read"
            )
        if info.compress_type not in _READABLE_METHODS:
            method = zipfile.compressor_names.get(info.compress_type, "unknown")
            self.fail(
                f"'{name}' in {self.what} is compressed with zip method {info.compress_type} ({method}); "
                "cnnlab reads stored or deflated members only"
            )
        if info.header_offset < 0 or info.header_offset + info.compress_size > self.size:
            self.fail(
                f"'{name}' in {self.what} declares {info.compress_size} bytes at offset {info.header_offset}, "
                f"beyond the end of the archive ({self.size} bytes): truncated?"
            )
        if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
            self.fail(
                f"'{name}' in {self.what} is stored (not compressed) but declares {info.file_size} bytes "
                f"in {info.compress_size}"
            )
        if info.file_size > max(MAX_EXPANSION * info.compress_size, _SMALL_MEMBER_BYTES):
            self.fail(
                f"'{name}' in {self.what} declares {info.file_size} bytes in {info.compress_size} compressed ones, "
                f"more than {MAX_EXPANSION} times as many: a decompression bomb?"
            )
        return info

    def declared_size(self, name):
        """The uncompressed size ``name`` declares (checked as ``info`` does), without reading it."""
        return self.info(name).file_size

    def read(self, name):
        """The bytes of member ``name``, charged to the budget before they are streamed in chunks."""
        info = self.info(name)
        self.budget.charge(info.file_size, f"'{name}' in {self.what}", self.fail)
        content = bytearray(info.file_size)
        filled = 0
        try:
            with self._zip.open(info) as stream:
                while filled < info.file_size:
                    chunk = stream.read(min(_CHUNK_BYTES, info.file_size - filled))
                    if not chunk:
                        break
                    content[filled : filled + len(chunk)] = chunk
                    filled += len(chunk)
        except (zipfile.BadZipFile, EOFError, zlib.error, OSError, UnicodeDecodeError) as error:
            self.fail(f"'{name}' in {self.what} is damaged (truncated or corrupted?): {_describe(error)}")
        if filled != info.file_size:
            self.fail(f"'{name}' in {self.what} ends after {filled} of the {info.file_size} bytes it declares")
        return content


def _file_size(file):
    file.seek(0, io.SEEK_END)
    size = file.tell()
    file.seek(0)
    return size


def _describe(error):
    return str(error) or type(error).__name__


# ---- JSON ----------------------------------------------------------------------------------------

# A JSON string (its brackets do not nest).  A string left open runs to the end of the text,
# as the parser would read it: the match never fails once started, so no text makes the
# regex engine retry from every quote (quadratic time).
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.DOTALL)
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")


def json_depth(text):
    """How deeply the arrays and objects of the JSON ``text`` nest (brackets inside strings do not count).

    Worked out without recursion, so that the parser, which recurses once per level,
    is only handed text it can parse.  Text that is not JSON gets some number; the
    parser then says what is wrong with it.
    """
    brackets = _NOT_A_BRACKET.sub("", _JSON_STRING.sub("", text)).encode("ascii")
    if not brackets:
        return 0
    codes = np.frombuffer(brackets, np.uint8)
    steps = np.where((codes == ord("[")) | (codes == ord("{")), 1, -1)
    return int(np.cumsum(steps).max())


def parse_json(content, name, fail, max_depth):
    """The JSON document in ``content`` (UTF-8 bytes), nested at most ``max_depth`` deep."""
    try:
        text = bytes(content).decode("utf-8")
    except UnicodeDecodeError as error:
        fail(f"{name} is not UTF-8 text ({error})")
    depth = json_depth(text)
    if depth > max_depth:
        fail(f"{name} nests arrays and objects {depth} deep; a model file nests them at most {max_depth} deep")
    try:
        return json.loads(text)
    except ValueError as error:  # JSONDecodeError, and integers longer than Python converts
        fail(f"{name} is not valid JSON ({error})")


# ---- .npy arrays (inside the weights' .npz) ---------------------------------------------------------

_NPY_MAGIC = b"\x93NUMPY"
# Header length field per format version: 1.0 uses 2 bytes, 2.0 and 3.0 four.
_NPY_LENGTH_FORMATS = {(1, 0): "<H", (2, 0): "<I", (3, 0): "<I"}
_NPY_MAX_HEADER = 10_000  # numpy's own default limit
# Plain numbers only (no objects, strings or records), in the exact form numpy writes the header.
_NPY_DTYPES = {
    np.dtype(code).newbyteorder(order).str: np.dtype(code).newbyteorder(order)
    for code in ("f2", "f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "b1")
    for order in "<>"
}
_NPY_HEADER = re.compile(
    r"\{'descr': '(?P<descr>[<>|][a-z]\d)', 'fortran_order': (?P<fortran>True|False), "
    r"'shape': \((?P<shape>(?:\d{1,20}, )*(?:\d{1,20},?)?)\), \} *\n"
)


def read_npy(content, name, fail):
    """The array in the ``.npy`` bytes ``content``: a plain numeric dtype, its size exactly the data's.

    The header is matched against the one form numpy writes rather than evaluated,
    so no header, however malformed, reaches a Python parser.
    """
    view = memoryview(content)
    if len(view) < 10 or bytes(view[:6]) != _NPY_MAGIC:
        fail(f"{name} is not a .npy array (no npy magic number)")
    version = (view[6], view[7])
    length_format = _NPY_LENGTH_FORMATS.get(version)
    if length_format is None:
        fail(f"{name} has npy format version {version[0]}.{version[1]}; cnnlab reads 1.0, 2.0 and 3.0")
    length_size = struct.calcsize(length_format)
    if len(view) < 8 + length_size:
        fail(f"{name} ends inside its npy header")
    (header_length,) = struct.unpack(length_format, view[8 : 8 + length_size])
    start = 8 + length_size + header_length
    if header_length > _NPY_MAX_HEADER or start > len(view):
        fail(f"{name} declares an npy header of {header_length} bytes in {len(view)}")
    try:
        header = bytes(view[8 + length_size : start]).decode("latin-1" if version < (3, 0) else "utf-8")
    except UnicodeDecodeError:
        fail(f"{name} has an npy header that is not text")
    match = _NPY_HEADER.fullmatch(header)
    dtype = _NPY_DTYPES.get(match["descr"]) if match else None
    if dtype is None:
        fail(
            f"{name} is not a plain numeric .npy array, which is all that can be read without unpickling "
            f"(its header: {header.strip()[:120]!r})"
        )
    shape = tuple(int(size) for size in match["shape"].replace(",", " ").split())
    data_bytes = math.prod(shape) * dtype.itemsize
    if data_bytes != len(view) - start:
        fail(f"{name} declares shape {shape} of {dtype.name} ({data_bytes} bytes) but holds {len(view) - start}")
    order = "F" if match["fortran"] == "True" else "C"
    values = np.frombuffer(view, dtype=dtype, count=math.prod(shape), offset=start).reshape(shape, order=order)
    return np.array(values, dtype=dtype.newbyteorder("="), order="C")
