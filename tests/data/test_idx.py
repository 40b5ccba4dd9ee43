"""The IDX reader on files built byte by byte here, and on every kind of broken file."""

import gzip
import struct

import numpy as np
import pytest

from cnnlab.datasets import IDXFormatError, read_idx, write_idx


def idx_bytes(type_code, shape, payload):
    """An IDX file written from the format's definition, independently of write_idx."""
    return bytes([0, 0, type_code, len(shape)]) + b"".join(struct.pack(">I", d) for d in shape) + payload


@pytest.mark.parametrize("compress", [False, True])
def test_reads_labels_and_images_built_by_hand(tmp_path, compress):
    labels = idx_bytes(0x08, (5,), bytes([9, 0, 0, 3, 255]))
    pixels = bytes(range(2 * 3 * 4))
    images = idx_bytes(0x08, (2, 3, 4), pixels)
    opener = gzip.compress if compress else bytes
    (tmp_path / "labels").write_bytes(opener(labels))
    (tmp_path / "images").write_bytes(opener(images))

    got_labels = read_idx(tmp_path / "labels", ndim=1)
    got_images = read_idx(tmp_path / "images", ndim=3)

    assert got_labels.dtype == np.uint8 and got_labels.tolist() == [9, 0, 0, 3, 255]
    assert got_images.dtype == np.uint8 and got_images.shape == (2, 3, 4)
    assert got_images[1, 2, 3] == 23 and got_images[0, 1, 0] == 4  # C order
    got_images[0, 0, 0] = 1  # a plain writable array, as users expect
    assert got_images[0, 0, 0] == 1


def test_multibyte_values_are_big_endian_in_the_file_and_native_in_the_array(tmp_path):
    (tmp_path / "i32").write_bytes(idx_bytes(0x0C, (2,), struct.pack(">ii", 1, -2)))
    (tmp_path / "f32").write_bytes(idx_bytes(0x0D, (1, 2), struct.pack(">ff", 0.5, -3.25)))
    (tmp_path / "i16").write_bytes(idx_bytes(0x0B, (1,), struct.pack(">h", -300)))
    (tmp_path / "i8").write_bytes(idx_bytes(0x09, (2,), struct.pack(">bb", -1, 7)))
    (tmp_path / "f64").write_bytes(idx_bytes(0x0E, (1,), struct.pack(">d", 1e-300)))

    i32 = read_idx(tmp_path / "i32")
    assert i32.dtype == np.int32 and i32.dtype.isnative and i32.tolist() == [1, -2]
    assert read_idx(tmp_path / "f32").tolist() == [[0.5, -3.25]]
    assert read_idx(tmp_path / "i16").tolist() == [-300]
    assert read_idx(tmp_path / "i8").tolist() == [-1, 7]
    assert read_idx(tmp_path / "f64").tolist() == [1e-300]


def test_gzip_is_recognised_by_content_not_name(tmp_path):
    (tmp_path / "labels.gz").write_bytes(idx_bytes(0x08, (2,), b"\x01\x02"))  # raw despite the name
    (tmp_path / "labels").write_bytes(gzip.compress(idx_bytes(0x08, (2,), b"\x03\x04")))
    assert read_idx(tmp_path / "labels.gz").tolist() == [1, 2]
    assert read_idx(tmp_path / "labels").tolist() == [3, 4]


@pytest.mark.parametrize("name", ["a-idx1-ubyte", "a-idx3-ubyte.gz"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_write_then_read_round_trip(tmp_path, name, dtype):
    array = (np.arange(2 * 3 * 5).reshape(2, 3, 5) - 7).astype(dtype)
    write_idx(tmp_path / name, array)
    back = read_idx(tmp_path / name)
    assert back.dtype == array.dtype and back.shape == array.shape
    np.testing.assert_array_equal(back, array)
    assert (tmp_path / name).read_bytes()[:2] == (b"\x1f\x8b" if name.endswith(".gz") else b"\x00\x00")
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # no temporary file left


def test_write_rejects_types_idx_cannot_store(tmp_path):
    with pytest.raises(TypeError, match=r"write_idx: .*int64"):
        write_idx(tmp_path / "x", np.zeros(3, dtype=np.int64))
    assert not list(tmp_path.iterdir())


BROKEN = {
    "bad magic": (
        idx_bytes(0x08, (2,), b"\x01\x02").replace(b"\x00\x00", b"\x50\x4b", 1),
        r"bad magic number 0x504b0801",
    ),
    "unknown type code": (idx_bytes(0x07, (2,), b"\x01\x02"), r"unknown value type code 0x07"),
    "truncated data": (
        idx_bytes(0x08, (2, 28, 28), bytes(28 * 28 + 5)),
        r"truncated: .*shape \(2, 28, 28\) \(1568 bytes.*only 789 bytes",
    ),
    "truncated header": (bytes([0, 0, 8, 3]) + struct.pack(">I", 2), r"truncated: its header declares 3 dimensions"),
    "too short": (b"\x00\x00", r"too short to be an IDX file \(2 bytes"),
    "extra bytes": (idx_bytes(0x08, (2,), b"\x01\x02\x03"), r"1 bytes after the data"),
    "damaged gzip": (
        gzip.compress(idx_bytes(0x08, (1000,), bytes(range(250)) * 4))[:-30],
        r"damaged or truncated gzip",
    ),
}


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_broken_files_get_a_clear_error_naming_the_file(tmp_path, kind):
    content, message = BROKEN[kind]
    path = tmp_path / f"broken-{kind.replace(' ', '-')}"
    path.write_bytes(content)
    with pytest.raises(IDXFormatError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_wrong_number_of_dimensions_is_an_error_naming_the_file(tmp_path):
    path = tmp_path / "train-labels-idx1-ubyte"
    path.write_bytes(idx_bytes(0x08, (3,), b"\x01\x02\x03"))
    with pytest.raises(IDXFormatError, match=r"train-labels-idx1-ubyte' declares 1 dimensions; expected 3"):
        read_idx(path, ndim=3)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nothing.gz")
