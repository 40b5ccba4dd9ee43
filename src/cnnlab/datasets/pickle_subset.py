"""Read the Python pickles of CIFAR's batches without unpickling: a parser of the few opcodes they use.

CIFAR-10's and CIFAR-100's "python version" files were written by Python 2's
``cPickle`` with protocol 2: a dict with byte-string keys holding byte strings,
lists of small ints (the labels), lists of byte strings (the file names) and one
NumPy array (the pixels), pickled as ``numpy.core.multiarray._reconstruct(ndarray,
(0,), b'b')`` followed by a BUILD with ``(1, shape, dtype, is_fortran, raw
bytes)``, its dtype as ``numpy.dtype('u1', 0, 1)`` with a BUILD of the dtype's state.

``read_pickle`` interprets exactly those opcodes and those four globals, and what
Python 3's ``pickle`` writes for the same data at protocol 2 (``str`` as BINUNICODE,
``bytes`` as ``_codecs.encode(text, 'latin1')`` or, empty, ``bytes()``, NumPy 2's ``numpy._core`` module
name).  No global is ever imported and nothing in the file is called: each
allowed global stands for a fixed action written here (build an array of numbers
from raw bytes, encode text as Latin-1).  Any other opcode or global is refused
with a ``PickleSubsetError`` naming it and its byte offset.  Every length read
from the file is checked against the bytes the file has left before anything of
that size is read or allocated.
"""

import pickletools

import numpy as np

from .store import DatasetFormatError

# The globals CIFAR's pickles refer to, and what each stands for here.
_RECONSTRUCT = "numpy.core.multiarray._reconstruct"
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy", "ndarray"): "numpy.ndarray",
    ("numpy", "dtype"): "numpy.dtype",
    ("_codecs", "encode"): "_codecs.encode",
    ("__builtin__", "bytes"): "bytes",  # Python 3's protocol 2 writes an empty bytes as bytes()
}
# Arrays of plain numbers only: bool, signed and unsigned integers, floats.
_NUMBER_KINDS = "biuf"
_HIGHEST_PROTOCOL = 2
_MAX_GLOBAL_NAME = 256


class PickleSubsetError(DatasetFormatError):
    """A pickle holds something other than CIFAR's few kinds of values (refused, nothing run)."""


class _Mark:
    """The MARK opcode's place on the stack."""


class _Global:
    def __init__(self, name):
        self.name = name


class _DtypeUnderConstruction:
    def __init__(self, code):
        self.code = code
        self.dtype = None


class _ArrayUnderConstruction:
    def __init__(self):
        self.array = None


_MARK = _Mark()


def read_pickle(stream, size, source="the file"):
    """Parse a protocol-2 pickle of dicts, lists, tuples, strings, numbers and NumPy number arrays.

    Args:
        stream: a binary file object positioned at the pickle's first byte.
        size: how many bytes the pickle may take at most (the file's or the archive
            member's size): no length in the file beyond it is believed.
        source: the file's name, for messages.

    Returns:
        The pickled object: dicts, lists, tuples, ``bytes`` (Python 2 strings, as
        ``pickle.load(..., encoding="bytes")`` gives them), ``str``, ints, bools,
        None, and NumPy arrays of numbers (read-only views of the file's bytes).

    Raises:
        PickleSubsetError: an opcode, global or value outside that subset, a
            length beyond the file's end, a truncated or malformed stream.  The
            message names ``source`` and the byte offset.

    Example:
        >>> with open("cifar-10-batches-py/data_batch_1", "rb") as f:
        ...     batch = read_pickle(f, os.path.getsize(f.name), "data_batch_1")
        >>> batch[b"data"].shape, len(batch[b"labels"])
        ((10000, 3072), 10000)
    """
    return _Parser(stream, size, source).run()


class _Parser:
    def __init__(self, stream, size, source):
        self.stream = stream
        self.left = size
        self.offset = 0
        self.source = source
        self.stack = []
        self.memo = {}

    # ---- reading ----------------------------------------------------------------------------

    def fail(self, message, at=None):
        raise PickleSubsetError(f"{self.source}: {message} (at byte {self.offset if at is None else at})")

    def read(self, n):
        if n > self.left:
            self.fail(f"a length of {n} bytes runs past the end of the data ({self.left} bytes left)")
        data = self.stream.read(n)
        if len(data) != n:
            self.fail(f"the data ends {n - len(data)} bytes early")
        self.left -= n
        self.offset += n
        return data

    def unsigned(self, n):
        return int.from_bytes(self.read(n), "little")

    def line(self):
        """Bytes up to a newline (GLOBAL's module and name), at most ``_MAX_GLOBAL_NAME`` long."""
        text = bytearray()
        while (byte := self.read(1)) != b"\n":
            text += byte
            if len(text) > _MAX_GLOBAL_NAME:
                self.fail("a global's name is longer than any CIFAR's pickle uses")
        try:
            return text.decode("ascii")
        except UnicodeDecodeError:
            self.fail("a global's name is not ASCII")

    # ---- the stack --------------------------------------------------------------------------

    def pop(self):
        if not self.stack or self.stack[-1] is _MARK:
            self.fail("the stack is empty where an opcode needs a value")
        return self.stack.pop()

    def pop_mark(self):
        """The values above the topmost MARK, which is removed."""
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i] is _MARK:
                items = self.stack[i + 1 :]
                del self.stack[i:]
                return items
        self.fail("an opcode needs a MARK that is not there")

    def top(self, kind, opcode):
        if not self.stack or not isinstance(self.stack[-1], kind):
            self.fail(f"{opcode} needs a {kind.__name__} on the stack")
        return self.stack[-1]

    # ---- the loop -----------------------------------------------------------------------------

    def run(self):
        while True:
            at = self.offset
            code = self.read(1)
            handler = _HANDLERS.get(code)
            if handler is None:
                info = pickletools.code2op.get(code.decode("latin-1"))
                name = f"{info.name} (0x{code.hex()})" if info else f"0x{code.hex()}, not a pickle opcode"
                self.fail(f"opcode {name} is not one CIFAR's pickles use; refused without running anything", at)
            if handler is _stop:
                if len(self.stack) != 1:
                    self.fail("STOP with a stack of other than one value", at)
                result = self.stack.pop()
                _check_built(self, result)
                return result
            handler(self, at)


# ---- opcodes ----------------------------------------------------------------------------------


def _stop(parser, at):  # handled in run()
    pass


def _proto(parser, at):
    version = parser.unsigned(1)
    if version > _HIGHEST_PROTOCOL:
        parser.fail(f"pickle protocol {version}; CIFAR's files are protocol 2 or lower", at)


def _push(value):
    def handler(parser, at):
        parser.stack.append(value() if callable(value) else value)

    return handler


def _int(size, signed):
    def handler(parser, at):
        parser.stack.append(int.from_bytes(parser.read(size), "little", signed=signed))

    return handler


def _string(length_size, kind):
    def handler(parser, at):
        data = parser.read(parser.unsigned(length_size))
        if kind is str:
            try:
                data = data.decode("utf-8")
            except UnicodeDecodeError:
                parser.fail("a text string is not UTF-8", at)
        parser.stack.append(data)

    return handler


def _put(index_size):
    def handler(parser, at):
        if not parser.stack or parser.stack[-1] is _MARK:
            parser.fail("a memo store with nothing to store", at)
        parser.memo[parser.unsigned(index_size)] = parser.stack[-1]

    return handler


def _get(index_size):
    def handler(parser, at):
        index = parser.unsigned(index_size)
        if index not in parser.memo:
            parser.fail(f"a memo fetch of entry {index}, never stored", at)
        parser.stack.append(parser.memo[index])

    return handler


def _tuple_of(n):
    def handler(parser, at):
        if n is None:
            items = parser.pop_mark()
        else:
            items = [parser.pop() for _ in range(n)][::-1]
        parser.stack.append(tuple(items))

    return handler


def _append(parser, at):
    value = parser.pop()
    parser.top(list, "APPEND").append(value)


def _appends(parser, at):
    items = parser.pop_mark()
    parser.top(list, "APPENDS").extend(items)


def _setitem(parser, at):
    value = parser.pop()
    key = parser.pop()
    _store(parser, parser.top(dict, "SETITEM"), key, value, at)


def _setitems(parser, at):
    items = parser.pop_mark()
    if len(items) % 2:
        parser.fail("SETITEMS with a key and no value", at)
    target = parser.top(dict, "SETITEMS")
    for key, value in zip(items[::2], items[1::2]):
        _store(parser, target, key, value, at)


def _store(parser, target, key, value, at):
    if not isinstance(key, (bytes, str, int)) or isinstance(key, bool):
        parser.fail(f"a dict key of type {type(key).__name__}; CIFAR's keys are strings", at)
    target[key] = value


def _global(parser, at):
    module = parser.line()
    name = parser.line()
    allowed = _ALLOWED_GLOBALS.get((module, name))
    if allowed is None:
        parser.fail(
            f"the global {module}.{name} is not one CIFAR's pickles use (only NumPy arrays and strings); "
            "refused without importing or calling it",
            at,
        )
    parser.stack.append(_Global(allowed))


def _reduce(parser, at):
    args = parser.pop()
    function = parser.pop()
    if not isinstance(function, _Global) or not isinstance(args, tuple):
        parser.fail("REDUCE of something other than an allowed global and its arguments", at)
    if function.name == _RECONSTRUCT:
        if len(args) != 3 or not (isinstance(args[0], _Global) and args[0].name == "numpy.ndarray"):
            parser.fail("_reconstruct of something other than numpy.ndarray", at)
        parser.stack.append(_ArrayUnderConstruction())
    elif function.name == "numpy.dtype":
        if not args or not isinstance(args[0], (bytes, str)):
            parser.fail("numpy.dtype without a type code", at)
        code = args[0].decode("ascii", "replace") if isinstance(args[0], bytes) else args[0]
        parser.stack.append(_DtypeUnderConstruction(code))
    elif function.name == "_codecs.encode":
        if len(args) != 2 or not isinstance(args[0], str) or args[1] not in ("latin1", "latin-1"):
            parser.fail("_codecs.encode other than of a text as 'latin1' (how Python 3 pickles bytes)", at)
        try:
            parser.stack.append(args[0].encode("latin-1"))
        except UnicodeEncodeError:
            parser.fail("_codecs.encode of a text that is not Latin-1", at)
    elif function.name == "bytes":
        if args:
            parser.fail("bytes() with arguments (Python 3 pickles only an empty bytes so)", at)
        parser.stack.append(b"")
    else:
        parser.fail(f"REDUCE of {function.name}, which is only an argument", at)


def _build(parser, at):
    state = parser.pop()
    target = parser.stack[-1] if parser.stack else None
    if isinstance(target, _DtypeUnderConstruction) and target.dtype is None:
        target.dtype = _dtype(parser, target.code, state, at)
    elif isinstance(target, _ArrayUnderConstruction) and target.array is None:
        target.array = _array(parser, state, at)
        parser.stack[-1] = target.array
        for key, value in parser.memo.items():  # a memo entry made before the BUILD refers to the array
            if value is target:
                parser.memo[key] = target.array
    else:
        parser.fail("BUILD of something other than a NumPy array or dtype being made", at)


def _dtype(parser, code, state, at):
    if not (isinstance(state, tuple) and len(state) >= 8 and isinstance(state[1], (bytes, str))):
        parser.fail("a dtype's state is not numpy's (version, byte order, ...) tuple", at)
    order = state[1].decode("ascii", "replace") if isinstance(state[1], bytes) else state[1]
    if order not in ("<", ">", "|", "=") or any(part is not None for part in state[2:5]):
        parser.fail(f"a dtype {code!r} with byte order {order!r} or fields: not an array of plain numbers", at)
    try:
        dtype = np.dtype((order if order != "|" else "") + code)
    except TypeError:
        parser.fail(f"the dtype {code!r} is not one NumPy knows", at)
    if dtype.kind not in _NUMBER_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        parser.fail(f"an array of dtype {dtype}; only arrays of numbers are read", at)
    return dtype


def _array(parser, state, at):
    if not (isinstance(state, tuple) and len(state) == 5 and state[0] == 1):
        parser.fail("an array's state is not numpy's (1, shape, dtype, is_fortran, data) tuple", at)
    _, shape, dtype, fortran, data = state
    if not isinstance(dtype, _DtypeUnderConstruction) or dtype.dtype is None:
        parser.fail("an array whose dtype was not built", at)
    if not isinstance(shape, tuple) or not all(
        isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape
    ):
        parser.fail(f"an array's shape is not a tuple of sizes: {shape!r:.80}", at)
    if not isinstance(data, bytes):
        parser.fail("an array's data is not a byte string", at)
    count = 1
    for n in shape:
        count *= n
    if count * dtype.dtype.itemsize != len(data):
        parser.fail(
            f"an array of shape {shape} and dtype {dtype.dtype} needs {count * dtype.dtype.itemsize} bytes; "
            f"its data has {len(data)}",
            at,
        )
    array = np.frombuffer(data, dtype=dtype.dtype).reshape(shape, order="F" if fortran else "C")
    if not dtype.dtype.isnative:  # as NumPy unpickles it: the values in this machine's byte order
        array = array.astype(dtype.dtype.newbyteorder("="))
    return array


def _check_built(parser, value):
    """Refuse a result holding a global or a dtype as a value, or an array whose BUILD never came."""
    pending = (_Global, _DtypeUnderConstruction, _ArrayUnderConstruction)
    seen = set()
    values = [value]
    while values:
        item = values.pop()
        if isinstance(item, pending):
            parser.fail("the pickle holds a NumPy dtype, a global or an unfinished array as a value")
        if isinstance(item, (dict, list, tuple)) and id(item) not in seen:  # a list may hold itself
            seen.add(id(item))
            values.extend(item.values() if isinstance(item, dict) else item)


_HANDLERS = {
    b".": _stop,
    b"\x80": _proto,
    b"(": _push(_MARK),
    b"}": _push(dict),
    b"]": _push(list),
    b")": _push(()),
    b"N": _push(None),
    b"\x88": _push(True),
    b"\x89": _push(False),
    b"K": _int(1, signed=False),
    b"M": _int(2, signed=False),
    b"J": _int(4, signed=True),
    b"U": _string(1, bytes),
    b"T": _string(4, bytes),
    b"X": _string(4, str),
    b"q": _put(1),
    b"r": _put(4),
    b"h": _get(1),
    b"j": _get(4),
    b"t": _tuple_of(None),
    b"\x85": _tuple_of(1),
    b"\x86": _tuple_of(2),
    b"\x87": _tuple_of(3),
    b"a": _append,
    b"e": _appends,
    b"s": _setitem,
    b"u": _setitems,
    b"c": _global,
    b"R": _reduce,
    b"b": _build,
}

__all__ = ["PickleSubsetError", "read_pickle"]
