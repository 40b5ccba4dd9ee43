"""IDX files read as untrusted: the header is checked before the data is read, and the data
is decompressed only as far as the header declares (issue 17.2).

Bombs are made with ``tests/forged_files.py`` (gigabytes of zeros in a few megabytes);
memory is measured with tracemalloc.
"""

import gzip
import struct
import tracemalloc

import numpy as np
import pytest
from forged_files import deflate_with_zeros, gzip_frame

from cnnlab.datasets import IDXFormatError, read_idx, write_idx

MIB = 1 << 20


def header(type_code, shape):
    return bytes([0, 0, type_code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)


def refused(path, message, **kwargs):
    """Assert read_idx(path) raises IDXFormatError matching ``message`` and naming the file; the peak memory."""
    tracemalloc.start()
    try:
        with pytest.raises(IDXFormatError, match=message) as info:
            read_idx(path, **kwargs)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(path) in str(info.value)
    return peak


def test_a_gzip_bomb_after_the_declared_data_is_read_only_a_little_way(tmp_path):
    labels = bytes(range(10)) * 2
    deflated, crc = deflate_with_zeros(header(0x08, (20,)) + labels, 1024)  # then 1 GiB of zeros
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(gzip_frame(deflated, crc, 4 + 4 + 20 + 1024 * MIB))
    assert path.stat().st_size < 2 * MIB
    peak = refused(path, r"has at least 65536 bytes after the data its header declares \(shape \(20,\)\)")
    assert peak < 4 * MIB


def test_a_header_declaring_more_than_the_file_can_hold_is_refused_before_reading(tmp_path):
    compressed = tmp_path / "images.gz"
    compressed.write_bytes(gzip.compress(header(0x08, (10**9,)) + bytes(100)))
    peak = refused(
        compressed, r"declares shape \(1000000000,\) \(1000000000 bytes of data\), more than a gzip file of \d+ bytes "
        r"can hold \(deflate expands at most 1032-fold\)"
    )  # fmt: skip
    assert peak < MIB
    raw = tmp_path / "images"
    raw.write_bytes(header(0x0E, (2**31, 2**31)) + bytes(100))
    assert refused(raw, r"truncated: its header declares shape \(2147483648, 2147483648\) .*only 100 bytes") < MIB


def test_max_bytes_caps_what_a_header_may_declare(tmp_path):
    path = tmp_path / "labels.gz"
    write_idx(path, np.arange(1000, dtype=np.int32))
    refused(path, r"declares shape \(1000,\) \(4000 bytes of data\), more than max_bytes=3999", max_bytes=3999)
    np.testing.assert_array_equal(read_idx(path, max_bytes=4000), np.arange(1000))
    with pytest.raises(ValueError, match="read_idx: max_bytes must be an int >= 0; received max_bytes=None"):
        read_idx(path, max_bytes=None)


def test_a_consistent_bomb_stops_at_max_bytes(tmp_path):
    deflated, crc = deflate_with_zeros(header(0x08, (1024 * MIB,)), 1024)  # 1 GiB of zeros, all declared
    path = tmp_path / "zeros.gz"
    path.write_bytes(gzip_frame(deflated, crc, 8 + 1024 * MIB))
    assert refused(path, r"1073741824 bytes of data\), more than max_bytes=16777216", max_bytes=16 * MIB) < MIB


def test_damaged_gzip_framing_is_an_idx_error(tmp_path):
    good = gzip.compress(header(0x08, (3,)) + b"\x01\x02\x03", mtime=0)
    path = tmp_path / "labels.gz"
    for content, message in [
        (good[:-8] + bytes(8), "damaged or truncated gzip file .*CRC check failed"),
        (good[:2] + b"\x07" + good[3:], "damaged or truncated gzip file .*Unknown compression method"),
        (good[:3] + b"\x04" + good[4:10] + b"\xff\xff" + good[10:], "damaged or truncated gzip file"),
        (good + b"garbage!", "damaged or truncated gzip file .*Not a gzipped file"),
        (good + gzip.compress(b"\x04"), r"has 1 bytes after the data its header declares"),
    ]:
        path.write_bytes(content)
        refused(path, message)
