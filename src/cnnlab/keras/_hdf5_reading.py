"""Reading HDF5 files that may be damaged or hostile, in pure Python: the part of HDF5 Keras's files use.

cnnlab writes HDF5 with h5py, as Keras does, but reads it here.  libhdf5 trusts the
metadata it parses: a flipped byte in a B-tree, a heap or an object header can make it
read out of bounds, loop, or crash the interpreter, and a weights file is exactly the
kind of file people download.  A reader that validates everything before handing the
file to libhdf5 would have to parse all of it first; so this module does the parsing
itself, for the structures Keras 3 (``model.weights.h5``, ``.weights.h5``) and tf.keras
2 (``.h5``) write, under three rules:

* every address and size is checked against the file before it is used, so a read
  never leaves the file and nothing is allocated beyond what the file holds (the
  data of a dataset is a slice of the file, of exactly the size its shape gives);
* every structure is visited at most once (object headers, B-tree nodes, heaps):
  no file makes it loop, and recursion is bounded by ``MAX_DEPTH``;
* checksums are verified where the format has them (version 2 structures).

Supported: superblock versions 0 to 3; object headers of versions 1 and 2 with their
continuation blocks; groups kept as symbol tables (a version 1 B-tree and a local
heap, what h5py writes by default) or as link messages (compact new-style groups);
datasets stored contiguously or compactly, of little- or big-endian integers and IEEE
floats; attributes of those types and of fixed- or variable-length strings (global
heap).  Refused, each with its own message: chunked or filtered (compressed)
datasets, dense (fractal-heap) link and attribute storage, soft and external links,
shared messages (committed datatypes), external and virtual storage.

Every problem raises ``HDF5FormatError`` with a description of what is wrong and where.

Example:
    >>> root = read_hdf5(open("model.weights.h5", "rb").read())
    >>> root.members["layers"].members["dense"].members["vars"].members["0"].read().shape
    (784, 10)
"""

import numpy as np

SIGNATURE = b"\x89HDF\r\n\x1a\n"
# Where the superblock may be (a user block before it is a power of two of at least 512 bytes).
_SUPERBLOCK_SEARCH = (0, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536)
MAX_DEPTH = 64  # groups nested in groups, B-tree levels
_MAX_RANK = 32  # HDF5's own limit on the dimensions of a dataspace

# Object header message types (HDF5 File Format Specification, IV.A.2).
_NIL = 0x00
_DATASPACE = 0x01
_LINK_INFO = 0x02
_DATATYPE = 0x03
_LINK = 0x06
_EXTERNAL_FILES = 0x07
_LAYOUT = 0x08
_FILTER_PIPELINE = 0x0B
_ATTRIBUTE = 0x0C
_CONTINUATION = 0x10
_SYMBOL_TABLE = 0x11
_ATTRIBUTE_INFO = 0x15
_MESSAGE_SHARED = 0x02  # message flag: the message is stored elsewhere

# Datatype classes.
_FIXED_POINT, _FLOATING_POINT, _STRING, _VARIABLE_LENGTH = 0, 1, 3, 9
# IEEE layouts: size -> (exponent location, exponent size, mantissa location, mantissa size, bias).
_IEEE_FLOATS = {2: (10, 5, 0, 10, 15), 4: (23, 8, 0, 23, 127), 8: (52, 11, 0, 52, 1023)}


class HDF5FormatError(ValueError):
    """An HDF5 file that is damaged, hostile, or uses a part of HDF5 this reader does not read."""


class Group:
    """An HDF5 group: ``attrs`` (name -> value) and ``members`` (name -> Group or Dataset), in file order."""

    def __init__(self, path, attrs, members):
        self.path = path
        self.attrs = attrs
        self.members = members

    def __repr__(self):
        return f"<HDF5 group {self.path!r}: {len(self.members)} members>"


class Dataset:
    """An HDF5 dataset: ``shape``, ``dtype``, ``attrs``; ``read()`` returns its values (a new array)."""

    def __init__(self, path, shape, dtype, attrs, data):
        self.path = path
        self.shape = shape
        self.dtype = dtype
        self.attrs = attrs
        self._data = data

    def read(self):
        """The values as a C-ordered array in native byte order."""
        values = np.frombuffer(self._data, dtype=self.dtype).reshape(self.shape)
        return values.astype(self.dtype.newbyteorder("="), copy=True)

    def __repr__(self):
        return f"<HDF5 dataset {self.path!r}: shape {self.shape}, {self.dtype.name}>"


def read_hdf5(content):
    """The root group of the HDF5 file whose bytes are ``content``, its whole tree parsed and checked.

    Args:
        content: the file's bytes (``bytes``, ``bytearray`` or a memoryview).

    Returns:
        The root ``Group``.

    Raises:
        HDF5FormatError: the file is not HDF5, is truncated or damaged, or uses a part of
            HDF5 this reader refuses (see the module docstring).
    """
    return _Parser(memoryview(content).cast("B")).root()


def is_hdf5(content):
    """Whether ``content`` (bytes) starts like an HDF5 file (the signature, at the start or after a user block)."""
    view = memoryview(content).cast("B")
    return any(bytes(view[at : at + 8]) == SIGNATURE for at in _SUPERBLOCK_SEARCH if at + 8 <= len(view))


class _Parser:
    def __init__(self, data):
        self.data = data
        self.visited = set()  # addresses of object headers, B-tree nodes, symbol nodes
        self.global_heaps = {}
        self._superblock()

    # ---- bounds-checked access ---------------------------------------------------------------
    def fail(self, problem):
        raise HDF5FormatError(problem)

    def bytes_at(self, address, size, what):
        """``size`` bytes at the absolute ``address``, which must lie inside the file."""
        if address < 0 or size < 0 or address + size > len(self.data):
            self.fail(
                f"{what} at byte {address} ({size} bytes) lies beyond the end of the file ({len(self.data)} bytes)"
            )
        return self.data[address : address + size]

    def absolute(self, address, what):
        """The file position of a file address (relative to the base address); fails for 'undefined'."""
        if address == self.undefined:
            self.fail(f"{what} has no address (it is undefined)")
        position = self.base + address
        if position >= len(self.data):
            self.fail(f"{what} at address {address} lies beyond the end of the file ({len(self.data)} bytes)")
        return position

    def visit(self, position, what):
        if position in self.visited:
            self.fail(f"{what} at byte {position} is reached a second time: the file's structure loops")
        self.visited.add(position)

    # ---- superblock ---------------------------------------------------------------------------
    def _superblock(self):
        start = next(
            (at for at in _SUPERBLOCK_SEARCH if bytes(self.data[at : at + 8]) == SIGNATURE),
            None,
        )
        if start is None:
            self.fail("it is not an HDF5 file (no HDF5 signature)")
        reader = _Fields(self, start + 8, "the superblock")
        version = reader.byte()
        if version in (0, 1):
            reader.skip(3)  # free-space, root group symbol table entry, reserved
            if reader.byte() != 0:
                self.fail("the superblock's shared header message version is not 0")
            self.set_sizes(reader.byte(), reader.byte())
            reader.skip(1 + 2 + 2 + 4)  # reserved, leaf and internal node K, consistency flags
            if version == 1:
                reader.skip(4)  # indexed storage internal node K, reserved
            base, _, _, _ = reader.address(), reader.address(), reader.address(), reader.address()
            self.set_base(base, start)
            _, header_address, cache_type = reader.length(), reader.address(), reader.uint(4)
            if cache_type not in (0, 1):
                self.fail(f"the root group's symbol table entry has cache type {cache_type}")
            reader.skip(4 + 16)
            self.root_address = header_address
        elif version in (2, 3):
            self.set_sizes(reader.byte(), reader.byte())
            reader.skip(1)  # file consistency flags
            base, extension = reader.address(), reader.address()
            reader.address()  # end of file
            self.root_address = reader.address()
            self.checksum(start, reader.position - start, reader.uint(4), "the superblock")
            self.set_base(base, start)
            if extension != self.undefined:
                self.fail("the file has a superblock extension (shared messages or other extended features)")
        else:
            self.fail(f"its superblock has version {version}; cnnlab reads versions 0 to 3")

    def set_sizes(self, offsets, lengths):
        if offsets not in (2, 4, 8) or lengths not in (2, 4, 8):
            self.fail(f"the superblock gives {offsets}-byte addresses and {lengths}-byte lengths (2, 4 or 8 expected)")
        self.offset_size = offsets
        self.length_size = lengths
        self.undefined = (1 << (8 * offsets)) - 1

    def set_base(self, base, start):
        # The base address is where addresses count from: the superblock's own position
        # when a user block comes first, else 0.
        if base not in (0, start):
            self.fail(f"the superblock gives base address {base}; expected 0 or {start}")
        self.base = base

    def checksum(self, position, size, stored, what):
        if _lookup3(bytes(self.bytes_at(position, size, what))) != stored:
            self.fail(f"{what} at byte {position} fails its checksum (damaged)")

    # ---- the tree -----------------------------------------------------------------------------
    def root(self):
        return self.object_at(self.root_address, "/", depth=0)

    def object_at(self, address, path, depth):
        if depth > MAX_DEPTH:
            self.fail(f"'{path}' is nested more than {MAX_DEPTH} groups deep")
        position = self.absolute(address, f"the object '{path}'")
        self.visit(position, f"the object '{path}'")
        messages = _ObjectHeader(self, position, path).messages
        by_type = {}
        for kind, view, flags in messages:
            if flags & _MESSAGE_SHARED and kind in (_DATATYPE, _DATASPACE, _ATTRIBUTE, _LAYOUT, _LINK):
                self.fail(f"'{path}' uses a shared (committed) message of type {kind}, which cnnlab does not read")
            by_type.setdefault(kind, []).append(view)
        attrs = self.attributes(by_type, path)
        if _DATASPACE in by_type or _LAYOUT in by_type:
            return self.dataset(by_type, path, attrs)
        members = {}
        for name, child_address in self.links(by_type, path):
            if name in members:
                self.fail(f"the group '{path}' holds two members named {name!r}")
            child_path = path.rstrip("/") + "/" + name
            members[name] = self.object_at(child_address, child_path, depth + 1)
        return Group(path, attrs, members)

    # ---- links ------------------------------------------------------------------------------------
    def links(self, by_type, path):
        """``(name, object header address)`` of every member of the group at ``path``."""
        found = []
        for view in by_type.get(_SYMBOL_TABLE, ()):
            reader = _Fields(self, view, f"the symbol table message of '{path}'")
            btree, heap = reader.address(), reader.address()
            names = self.local_heap(heap, path)
            self.btree_group_nodes(btree, names, path, found, level_above=None, depth=0)
        for view in by_type.get(_LINK_INFO, ()):
            reader = _Fields(self, view, f"the link info message of '{path}'")
            if reader.byte() != 0:
                self.fail(f"the link info message of '{path}' has an unknown version")
            flags = reader.byte()
            if flags & 1:
                reader.skip(8)
            fractal_heap = reader.address()
            if fractal_heap != self.undefined:
                self.fail(
                    f"the group '{path}' keeps its links in dense storage (a fractal heap), which cnnlab does not read"
                )
        for view in by_type.get(_LINK, ()):
            found.append(self.link_message(view, path))
        return found

    def link_message(self, view, path):
        reader = _Fields(self, view, f"a link message of '{path}'")
        if reader.byte() != 1:
            self.fail(f"a link message of '{path}' has an unknown version")
        flags = reader.byte()
        link_type = reader.byte() if flags & 0x08 else 0
        if flags & 0x04:
            reader.skip(8)  # creation order
        charset = reader.byte() if flags & 0x10 else 0
        if charset not in (0, 1):
            self.fail(f"a link of '{path}' has an unknown character set {charset}")
        name_length = reader.uint(1 << (flags & 3))
        name = _text(self, reader.take(name_length), f"a link name in '{path}'")
        if link_type != 0:
            kind = {1: "a soft link", 64: "an external link"}.get(link_type, f"a link of type {link_type}")
            self.fail(f"'{path}/{name}' is {kind}; cnnlab reads hard links only")
        return name, reader.address()

    def local_heap(self, address, path):
        """The data segment of the local heap at ``address`` (where a symbol table keeps its names)."""
        what = f"the local heap of '{path}'"
        position = self.absolute(address, what)
        reader = _Fields(self, position, what)
        if bytes(reader.take(4)) != b"HEAP" or reader.byte() != 0:
            self.fail(f"{what} at byte {position} is damaged (no HEAP signature of version 0)")
        reader.skip(3)
        size, _, segment = reader.length(), reader.length(), reader.address()
        return bytes(self.bytes_at(self.absolute(segment, what), size, what))

    def btree_group_nodes(self, address, names, path, found, level_above, depth):
        what = f"a B-tree node of the group '{path}'"
        if depth > MAX_DEPTH:
            self.fail(f"{what} lies more than {MAX_DEPTH} levels deep")
        position = self.absolute(address, what)
        self.visit(position, what)
        reader = _Fields(self, position, what)
        if bytes(reader.take(4)) != b"TREE":
            self.fail(f"{what} at byte {position} is damaged (no TREE signature)")
        node_type, level, entries = reader.byte(), reader.byte(), reader.uint(2)
        if node_type != 0:
            self.fail(f"{what} at byte {position} is not a group node (type {node_type})")
        if level_above is not None and level != level_above - 1:
            self.fail(f"{what} at byte {position} has level {level} under a node of level {level_above}")
        reader.skip(2 * self.offset_size)  # siblings
        children = []
        for _ in range(entries):
            reader.length()  # key: the heap offset of a name, which the symbol node repeats
            children.append(reader.address())
        reader.length()
        for child in children:
            if level > 0:
                self.btree_group_nodes(child, names, path, found, level, depth + 1)
            else:
                self.symbol_node(child, names, path, found)

    def symbol_node(self, address, names, path, found):
        what = f"a symbol table node of the group '{path}'"
        position = self.absolute(address, what)
        self.visit(position, what)
        reader = _Fields(self, position, what)
        if bytes(reader.take(4)) != b"SNOD" or reader.byte() != 1:
            self.fail(f"{what} at byte {position} is damaged (no SNOD signature of version 1)")
        reader.skip(1)
        for _ in range(reader.uint(2)):
            name_offset, header_address, cache_type = reader.length(), reader.address(), reader.uint(4)
            reader.skip(4 + 16)
            if cache_type == 2:
                self.fail(f"a member of '{path}' is a soft link; cnnlab reads hard links only")
            if cache_type not in (0, 1):
                self.fail(f"{what} at byte {position} holds an entry of unknown cache type {cache_type}")
            found.append((_heap_name(self, names, name_offset, path), header_address))

    # ---- attributes -------------------------------------------------------------------------------
    def attributes(self, by_type, path):
        for view in by_type.get(_ATTRIBUTE_INFO, ()):
            reader = _Fields(self, view, f"the attribute info message of '{path}'")
            reader.skip(1)
            flags = reader.byte()
            if flags & 1:
                reader.skip(2)
            if reader.address() != self.undefined:
                self.fail(
                    f"'{path}' keeps its attributes in dense storage (a fractal heap), which cnnlab does not read"
                )
        attrs = {}
        for view in by_type.get(_ATTRIBUTE, ()):
            name, value = self.attribute(view, path)
            if name in attrs:
                self.fail(f"'{path}' has two attributes named {name!r}")
            attrs[name] = value
        return attrs

    def attribute(self, view, path):
        what = f"an attribute of '{path}'"
        reader = _Fields(self, view, what)
        version = reader.byte()
        if version not in (1, 2, 3):
            self.fail(f"{what} has an unknown message version {version}")
        flags = reader.byte()
        if version > 1 and flags & 0x03:
            self.fail(f"{what} uses a shared datatype or dataspace, which cnnlab does not read")
        name_size, type_size, space_size = reader.uint(2), reader.uint(2), reader.uint(2)
        if version == 3:
            reader.skip(1)  # the name's character set
        pad = 8 if version == 1 else 1
        name = _text(self, reader.take(name_size).tobytes().rstrip(b"\0"), f"an attribute name of '{path}'")
        reader.skip(_padded(name_size, pad) - name_size)
        what = f"the attribute '{name}' of '{path}'"
        datatype = _Datatype(self, reader.take(type_size), what)
        reader.skip(_padded(type_size, pad) - type_size)
        shape = self.dataspace(reader.take(space_size), what)
        reader.skip(_padded(space_size, pad) - space_size)
        count = _count(shape)
        raw = reader.take(count * datatype.size)
        return name, datatype.values(raw, shape, what)

    # ---- datasets ---------------------------------------------------------------------------------
    def dataset(self, by_type, path, attrs):
        what = f"the dataset '{path}'"
        for kind in (_DATASPACE, _DATATYPE, _LAYOUT):
            if len(by_type.get(kind, ())) != 1:
                self.fail(f"{what} has {len(by_type.get(kind, ()))} messages of type {kind}; expected one")
        if by_type.get(_EXTERNAL_FILES):
            self.fail(f"{what} keeps its data in external files, which cnnlab does not read")
        if by_type.get(_FILTER_PIPELINE):
            self.fail(f"{what} is filtered (compressed or checksummed), which cnnlab does not read")
        shape = self.dataspace(by_type[_DATASPACE][0], what)
        datatype = _Datatype(self, by_type[_DATATYPE][0], what)
        if datatype.dtype is None:
            self.fail(f"{what} holds strings; cnnlab reads numeric datasets only")
        size = _count(shape) * datatype.size
        return Dataset(path, shape, datatype.dtype, attrs, self.layout(by_type[_LAYOUT][0], size, what))

    def dataspace(self, view, what):
        reader = _Fields(self, view, f"the dataspace of {what}")
        version, rank, flags = reader.byte(), reader.byte(), reader.byte()
        if version == 1:
            reader.skip(5)
        elif version == 2:
            space_type = reader.byte()
            if space_type == 2:
                self.fail(f"{what} has a null dataspace (no value)")
            if space_type not in (0, 1):
                self.fail(f"the dataspace of {what} has an unknown type {space_type}")
        else:
            self.fail(f"the dataspace of {what} has an unknown version {version}")
        if rank > _MAX_RANK:
            self.fail(f"the dataspace of {what} has {rank} dimensions, more than HDF5's {_MAX_RANK}")
        shape = tuple(reader.length() for _ in range(rank))
        if flags & 1:
            maximum = [reader.length() for _ in range(rank)]
            if any(m != self.undefined_length and m < d for m, d in zip(maximum, shape)):
                self.fail(f"the dataspace of {what} gives maximum sizes {maximum} below its sizes {list(shape)}")
        return shape

    @property
    def undefined_length(self):
        return (1 << (8 * self.length_size)) - 1

    def layout(self, view, size, what):
        reader = _Fields(self, view, f"the data layout of {what}")
        version = reader.byte()
        if version in (1, 2):
            rank, layout_class = reader.byte(), reader.byte()
            reader.skip(5)
            address = reader.address() if layout_class != 0 else None
            reader.skip(4 * rank)
            if layout_class == 0:
                return self.compact(reader, reader.uint(4), size, what)
        elif version in (3, 4):
            layout_class = reader.byte()
            if layout_class == 0:
                return self.compact(reader, reader.uint(2), size, what)
            if layout_class == 1:
                address, stored = reader.address(), reader.length()
                if stored != size:
                    self.fail(f"{what} declares {stored} bytes of data; its shape and type need {size}")
        else:
            self.fail(f"the data layout of {what} has an unknown version {version}")
        if layout_class == 2:
            self.fail(f"{what} is stored in chunks; cnnlab reads contiguous and compact datasets only")
        if layout_class == 3:
            self.fail(f"{what} is a virtual dataset; cnnlab reads contiguous and compact datasets only")
        if layout_class != 1:
            self.fail(f"the data layout of {what} has an unknown class {layout_class}")
        if size == 0:
            return b""
        return self.bytes_at(self.absolute(address, f"the data of {what}"), size, f"the data of {what}")

    def compact(self, reader, stored, size, what):
        if stored != size:
            self.fail(f"{what} holds {stored} bytes of compact data; its shape and type need {size}")
        return reader.take(size)

    # ---- variable-length strings --------------------------------------------------------------
    def global_heap_object(self, address, index, what):
        """The bytes of object ``index`` of the global heap collection at ``address``."""
        if address not in self.global_heaps:
            self.global_heaps[address] = self.global_heap(address, what)
        objects = self.global_heaps[address]
        if index not in objects:
            self.fail(f"{what} refers to object {index} of a global heap that has no such object")
        return objects[index]

    def global_heap(self, address, what):
        position = self.absolute(address, f"the global heap of {what}")
        reader = _Fields(self, position, f"the global heap of {what}")
        if bytes(reader.take(4)) != b"GCOL" or reader.byte() != 1:
            self.fail(f"the global heap of {what} at byte {position} is damaged (no GCOL signature of version 1)")
        reader.skip(3)
        size = reader.length()
        header = 8 + self.length_size
        if size < header:
            self.fail(f"the global heap of {what} at byte {position} declares a size of {size} bytes")
        collection = _Fields(self, self.bytes_at(position + header, size - header, "a global heap"), "a global heap")
        objects = {}
        object_header = 8 + self.length_size
        while collection.left >= object_header:
            index = collection.uint(2)
            collection.skip(6)  # reference count, reserved
            length = collection.length()
            if index == 0:  # free space: the rest of the collection
                break
            objects[index] = bytes(collection.take(length))
            collection.skip(min(_padded(length, 8) - length, collection.left))
        return objects


class _Fields:
    """Little-endian fields read one after the other from a view (or from the file at a position)."""

    def __init__(self, parser, source, what):
        self.parser = parser
        self.what = what
        if isinstance(source, int):
            self.view = parser.data
            self.position = source
        else:
            self.view = source
            self.position = 0

    @property
    def left(self):
        return len(self.view) - self.position

    def take(self, size):
        if size < 0 or self.position + size > len(self.view):
            self.parser.fail(f"{self.what} ends before a field of {size} bytes (truncated or damaged)")
        start = self.position
        self.position += size
        return self.view[start : self.position]

    def skip(self, size):
        self.take(size)

    def uint(self, size):
        return int.from_bytes(self.take(size), "little")

    def byte(self):
        return self.uint(1)

    def address(self):
        return self.uint(self.parser.offset_size)

    def length(self):
        return self.uint(self.parser.length_size)


class _ObjectHeader:
    """The messages of the object header at ``position``: ``(type, data view, flags)``, continuations followed."""

    def __init__(self, parser, position, path):
        self.parser = parser
        self.what = f"the object header of '{path}'"
        self.messages = []
        if bytes(parser.bytes_at(position, 4, self.what)) == b"OHDR":
            self.version_2(position)
        else:
            self.version_1(position)

    def version_1(self, position):
        reader = _Fields(self.parser, position, self.what)
        version = reader.byte()
        if version != 1:
            self.parser.fail(f"{self.what} at byte {position} has an unknown version {version}")
        reader.skip(1)
        expected, _, size = reader.uint(2), reader.uint(4), reader.uint(4)
        reader.skip(4)  # aligns the messages to 8 bytes
        pending = [(position + 16, size)]
        while pending:
            start, size = pending.pop(0)
            block = _Fields(self.parser, self.parser.bytes_at(start, size, self.what), self.what)
            while block.left >= 8:
                kind, length, flags = block.uint(2), block.uint(2), block.byte()
                block.skip(3)
                pending += self.message(kind, block.take(length), flags)
        if len(self.messages) > expected:
            self.parser.fail(f"{self.what} holds {len(self.messages)} messages but declares {expected}")

    def version_2(self, position):
        reader = _Fields(self.parser, position + 4, self.what)
        version, flags = reader.byte(), reader.byte()
        if version != 2:
            self.parser.fail(f"{self.what} at byte {position} has an unknown version {version}")
        if flags & 0x20:
            reader.skip(16)  # access, modification, change and birth times
        if flags & 0x10:
            reader.skip(4)  # attribute storage phase change values
        size = reader.uint(1 << (flags & 3))
        order_size = 2 if flags & 0x04 else 0
        start = reader.position
        self.parser.checksum(position, start + size - position, self._stored(start + size), self.what)
        pending = [(start, size)]
        while pending:
            start, size = pending.pop(0)
            block = _Fields(self.parser, self.parser.bytes_at(start, size, self.what), self.what)
            while block.left >= 4 + order_size:
                kind, length, message_flags = block.byte(), block.uint(2), block.byte()
                block.skip(order_size)
                pending += [
                    self.continuation_block(at, length)
                    for at, length in self.message(kind, block.take(length), message_flags)
                ]

    def _stored(self, position):
        return int.from_bytes(self.parser.bytes_at(position, 4, self.what), "little")

    def continuation_block(self, start, size):
        """A version 2 continuation block: 'OCHK', messages, checksum; returns where its messages lie."""
        if size < 8 or bytes(self.parser.bytes_at(start, 4, self.what)) != b"OCHK":
            self.parser.fail(f"a continuation block of {self.what} at byte {start} is damaged (no OCHK signature)")
        self.parser.checksum(start, size - 4, self._stored(start + size - 4), f"a continuation block of {self.what}")
        return start + 4, size - 8

    def message(self, kind, view, flags):
        """Record a message; a continuation returns the block it points to (absolute start, size)."""
        if kind == _NIL:
            return []
        if kind != _CONTINUATION:
            self.messages.append((kind, view, flags))
            return []
        reader = _Fields(self.parser, view, f"a continuation message of {self.what}")
        address, size = reader.address(), reader.length()
        start = self.parser.absolute(address, f"a continuation block of {self.what}")
        self.parser.visit(start, f"a continuation block of {self.what}")
        self.parser.bytes_at(start, size, f"a continuation block of {self.what}")
        return [(start, size)]


class _Datatype:
    """A datatype message: ``size`` (bytes per element), ``dtype`` (numeric types; None for strings)."""

    def __init__(self, parser, view, what):
        self.parser = parser
        self.what = what
        reader = _Fields(parser, view, f"the datatype of {what}")
        class_and_version = reader.byte()
        bits = reader.uint(3)
        self.size = reader.uint(4)
        self.kind = class_and_version & 0x0F
        self.dtype = None
        self.string_pad = None
        if self.kind == _FIXED_POINT:
            if self.size not in (1, 2, 4, 8):
                self.unsupported(f"integers of {self.size} bytes")
            offset, precision = reader.uint(2), reader.uint(2)
            if offset != 0 or precision != 8 * self.size:
                self.unsupported(f"integers of {precision} bits at bit {offset}")
            self.dtype = np.dtype(f"{'>' if bits & 1 else '<'}{'i' if bits & 0x08 else 'u'}{self.size}")
        elif self.kind == _FLOATING_POINT:
            offset, precision = reader.uint(2), reader.uint(2)
            layout = (reader.byte(), reader.byte(), reader.byte(), reader.byte(), reader.uint(4))
            byte_order = bits & 0x41
            if byte_order not in (0, 1) or offset != 0 or precision != 8 * self.size:
                self.unsupported(f"floats of {self.size} bytes in a non-IEEE layout")
            if _IEEE_FLOATS.get(self.size) != layout:
                self.unsupported(f"floats of {self.size} bytes in a non-IEEE layout (bfloat16?)")
            self.dtype = np.dtype(f"{'>' if byte_order else '<'}f{self.size}")
        elif self.kind == _STRING:
            self.string_pad = bits & 0x0F
            self.charset = (bits >> 4) & 0x0F
        elif self.kind == _VARIABLE_LENGTH:
            if bits & 0x0F != 1:
                self.unsupported("variable-length sequences other than strings")
            self.charset = (bits >> 8) & 0x0F
            base = _Datatype(parser, reader.take(reader.left), what)
            if base.kind not in (_STRING, _FIXED_POINT) or base.size != 1:
                self.unsupported("variable-length strings of characters other than bytes")
            self.size = 4 + parser.offset_size + 4
        else:
            self.unsupported(f"values of HDF5 datatype class {self.kind}")
        if self.size == 0:
            parser.fail(f"the datatype of {what} declares elements of 0 bytes")

    def unsupported(self, kind):
        self.parser.fail(f"{self.what} holds {kind}, which cnnlab does not read")

    def values(self, raw, shape, what):
        """An attribute's value: an array for numbers, ``str`` (or a list of them, nested as ``shape``) for text."""
        if self.dtype is not None:
            array = np.frombuffer(raw, dtype=self.dtype).reshape(shape).astype(self.dtype.newbyteorder("="))
            return array[()] if shape == () else array
        texts = [self.text(raw[i * self.size : (i + 1) * self.size], what) for i in range(_count(shape))]
        if shape == ():
            return texts[0]
        return np.array(texts, dtype=object).reshape(shape).tolist()

    def text(self, raw, what):
        if self.kind == _VARIABLE_LENGTH:
            reader = _Fields(self.parser, raw, f"a string of {what}")
            length, address, index = reader.uint(4), reader.address(), reader.uint(4)
            if address == 0 and length == 0:  # an empty string h5py wrote without a heap object
                return ""
            content = self.parser.global_heap_object(address, index, what)
            if length > len(content):
                self.parser.fail(f"a string of {what} declares {length} bytes but its heap object holds {len(content)}")
            raw = content[:length]
        else:
            raw = bytes(raw)
            raw = raw.rstrip(b" ") if self.string_pad == 2 else raw.split(b"\0", 1)[0]
        return _text(self.parser, bytes(raw), f"a string of {what}")


def _text(parser, raw, what):
    try:
        return bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        parser.fail(f"{what} is not UTF-8 text")


def _heap_name(parser, names, offset, path):
    if offset >= len(names):
        parser.fail(f"a member of '{path}' names a string beyond the end of its local heap")
    end = names.find(b"\0", offset)
    if end < 0:
        parser.fail(f"a member name of '{path}' runs past the end of its local heap")
    name = _text(parser, names[offset:end], f"a member name of '{path}'")
    if not name or "/" in name or name in (".", ".."):
        parser.fail(f"the group '{path}' has a member named {name!r}")
    return name


def _padded(size, multiple):
    return -(-size // multiple) * multiple


def _count(shape):
    count = 1
    for size in shape:
        count *= size
    return count


def _rotate(value, bits):
    return ((value << bits) | (value >> (32 - bits))) & 0xFFFFFFFF


def _lookup3(data, initial=0):
    """Bob Jenkins's lookup3 ``hashlittle``, the checksum of HDF5's version 2 structures."""
    mask = 0xFFFFFFFF
    length = len(data)
    a = b = c = (0xDEADBEEF + length + initial) & mask
    position = 0
    while length - position > 12:
        a = (a + int.from_bytes(data[position : position + 4], "little")) & mask
        b = (b + int.from_bytes(data[position + 4 : position + 8], "little")) & mask
        c = (c + int.from_bytes(data[position + 8 : position + 12], "little")) & mask
        a = (a - c) & mask ^ _rotate(c, 4)
        c = (c + b) & mask
        b = (b - a) & mask ^ _rotate(a, 6)
        a = (a + c) & mask
        c = (c - b) & mask ^ _rotate(b, 8)
        b = (b + a) & mask
        a = (a - c) & mask ^ _rotate(c, 16)
        c = (c + b) & mask
        b = (b - a) & mask ^ _rotate(a, 19)
        a = (a + c) & mask
        c = (c - b) & mask ^ _rotate(b, 4)
        b = (b + a) & mask
        position += 12
    if length == position:
        return c
    tail = bytes(data[position:]).ljust(12, b"\0")
    a = (a + int.from_bytes(tail[0:4], "little")) & mask
    b = (b + int.from_bytes(tail[4:8], "little")) & mask
    c = (c + int.from_bytes(tail[8:12], "little")) & mask
    c = ((c ^ b) - _rotate(b, 14)) & mask
    a = ((a ^ c) - _rotate(c, 11)) & mask
    b = ((b ^ a) - _rotate(a, 25)) & mask
    c = ((c ^ b) - _rotate(b, 16)) & mask
    a = ((a ^ c) - _rotate(c, 4)) & mask
    b = ((b ^ a) - _rotate(a, 14)) & mask
    c = ((c ^ b) - _rotate(b, 24)) & mask
    return c
