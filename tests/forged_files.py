"""Files made byte by byte, as a damaged or hostile file would be: zip archives whose every
header field is chosen, decompression bombs, ``.npy`` members with any header.

For the loader tests and the fuzz harness (``fuzz/loader_fuzz.py``).
"""

import dataclasses
import functools
import io
import struct
import zipfile
import zlib

# ---- zip archives at the byte level --------------------------------------------------------------


@dataclasses.dataclass
class Member:
    """One zip member with every header field under the mutator's control.

    ``payload`` is the bytes as stored (deflated when ``method`` is 8); ``local``
    overrides fields of the local header only (a header that disagrees with the
    central directory), by the names used here.
    """

    name: bytes
    payload: bytes
    method: int
    flags: int
    crc: int
    compress_size: int
    file_size: int
    extra: bytes = b""
    local: dict = dataclasses.field(default_factory=dict)
    header_offset: int = None  # None: where it lands


def raw_deflate(content):
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    return compressor.compress(content) + compressor.flush()


def make_member(name, content, method=zipfile.ZIP_DEFLATED):
    name = name.encode() if isinstance(name, str) else name
    payload = raw_deflate(content) if method == zipfile.ZIP_DEFLATED else content
    return Member(name, payload, method, 0, zlib.crc32(content), len(payload), len(content))


def unpack_zip(content):
    """The members of a well-formed archive, as ``Member``s to mutate."""
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return [make_member(info.filename, archive.read(info), info.compress_type) for info in archive.infolist()]


def member_content(member):
    return zlib.decompress(member.payload, -15) if member.method == zipfile.ZIP_DEFLATED else member.payload


def pack_zip(members, comment=b"", end_record=None):
    """The archive's bytes; ``end_record`` overrides fields of the end of central directory record."""
    out = bytearray()
    offsets = []
    for m in members:
        offsets.append(len(out) if m.header_offset is None else m.header_offset)
        fields = {
            "version": 20,
            "flags": m.flags,
            "method": m.method,
            "crc": m.crc,
            "compress_size": m.compress_size,
            "file_size": m.file_size,
            "name": m.name,
            "extra": m.extra,
            **m.local,
        }
        out += struct.pack(
            "<4s2B4HL2L2H",
            b"PK\x03\x04",
            fields["version"],
            0,
            fields["flags"] & 0xFFFF,
            fields["method"] & 0xFFFF,
            0,
            0x21,
            fields["crc"] & 0xFFFFFFFF,
            fields["compress_size"] & 0xFFFFFFFF,
            fields["file_size"] & 0xFFFFFFFF,
            len(fields["name"]),
            len(fields["extra"]),
        )
        out += fields["name"] + fields["extra"] + m.payload
    directory_offset = len(out)
    for m, offset in zip(members, offsets):
        out += struct.pack(
            "<4s4B4HL2L5H2L",
            b"PK\x01\x02",
            20,
            3,
            20,
            0,
            m.flags & 0xFFFF,
            m.method & 0xFFFF,
            0,
            0x21,
            m.crc & 0xFFFFFFFF,
            m.compress_size & 0xFFFFFFFF,
            m.file_size & 0xFFFFFFFF,
            len(m.name),
            len(m.extra),
            0,
            0,
            0,
            0o644 << 16,
            offset & 0xFFFFFFFF,
        )
        out += m.name + m.extra
    record = {
        "entries": len(members),
        "directory_size": len(out) - directory_offset,
        "directory_offset": directory_offset,
        "comment_length": len(comment),
        **(end_record or {}),
    }
    out += struct.pack(
        "<4s4H2LH",
        b"PK\x05\x06",
        0,
        0,
        record["entries"] & 0xFFFF,
        record["entries"] & 0xFFFF,
        record["directory_size"] & 0xFFFFFFFF,
        record["directory_offset"] & 0xFFFFFFFF,
        record["comment_length"] & 0xFFFF,
    )
    return bytes(out + comment)


# ---- bombs: many zeros in few bytes --------------------------------------------------------------

MIB = 1 << 20


@functools.cache
def deflated_mib_of_zeros():
    """One MiB of zeros, deflated and fully flushed: copies of it concatenate into a valid stream."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(bytes(MIB)) + compressor.flush(zlib.Z_FULL_FLUSH)


_FINAL_EMPTY_BLOCK = b"\x03\x00"


def deflate_with_zeros(prefix, mebibytes):
    """A raw deflate stream of ``prefix`` then ``mebibytes`` MiB of zeros, and the CRC-32 of all of it."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = compressor.compress(prefix) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = crc32_after_zeros(zlib.crc32(prefix), mebibytes * MIB)
    return head + deflated_mib_of_zeros() * mebibytes + _FINAL_EMPTY_BLOCK, crc


def crc32_after_zeros(crc, count):
    """``zlib.crc32(bytes(count), crc)`` without making the zeros: zlib's crc32_combine, by matrix powers over GF(2)."""
    register = crc ^ 0xFFFFFFFF
    operator = [0xEDB88320] + [1 << i for i in range(31)]  # the CRC register after one more zero bit
    bits = 8 * count
    while bits:
        if bits & 1:
            register = _gf2_times(operator, register)
        operator = [_gf2_times(operator, column) for column in operator]
        bits >>= 1
    return register ^ 0xFFFFFFFF


def _gf2_times(matrix, vector):
    total, index = 0, 0
    while vector:
        if vector & 1:
            total ^= matrix[index]
        vector >>= 1
        index += 1
    return total


def gzip_frame(deflated, crc, size):
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + deflated + struct.pack("<2L", crc, size & 0xFFFFFFFF)


def npy_with_header(npy, header_text):
    """``npy`` with its header replaced by ``header_text`` (padded as numpy pads), data kept."""
    (length,) = struct.unpack("<H", npy[8:10]) if npy[6:7] == b"\x01" else (0,)
    data = npy[10 + length :]
    header = header_text.encode("utf-8", "surrogatepass") + b" \n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + data
