"""Keras's file formats read as untrusted (issue 21): cnnlab's HDF5 reader against what h5py writes in
each of its layouts, what it refuses (each by name), and damaged or hostile .keras / .h5 / .weights.h5
files giving ModelFileError naming the file.  tests/fuzz does the same damage at random."""

import io
import struct
import zipfile

import h5py
import numpy as np
import pytest

from cnnlab import keras
from cnnlab.keras import layers, saving
from cnnlab.keras._hdf5_reading import HDF5FormatError, read_hdf5
from cnnlab.keras.saving import ModelFileError


def h5_bytes(fill, **options):
    buffer = io.BytesIO()
    with h5py.File(buffer, "w", **options) as file:
        fill(file)
    return buffer.getvalue()


def weights_layout(file):
    group = file.create_group("layers/dense/vars")
    group.attrs["name"] = "dense"
    group["0"] = np.arange(12, dtype=np.float32).reshape(3, 4)
    group["1"] = np.float32(0.5)
    file["layers/dense/vars"].attrs["sizes"] = np.array([3, 4], dtype=">i4")
    file.attrs["names"] = [b"a", b"bcd"]
    file.attrs["text"] = "h\u00e9llo"
    file.attrs["empty"] = np.asarray([])
    file["big_endian"] = np.arange(5, dtype=">f8")
    file["empty"] = np.zeros((0, 3), np.float32)
    many = 20 if file.libver[0] == "earliest" else 6  # more than 8 links: dense storage under 'latest'
    for index in range(many):  # under 'earliest', a symbol table of more than one node
        file[f"many/d{index:02d}"] = np.int64(index)


@pytest.mark.parametrize("libver", ["earliest", "latest"])
def test_the_reader_reads_what_h5py_writes(libver):
    root = read_hdf5(h5_bytes(weights_layout, libver=libver, **({"track_order": False} if libver == "latest" else {})))
    variables = root.members["layers"].members["dense"].members["vars"]
    assert variables.attrs["name"] == "dense" and list(variables.attrs["sizes"]) == [3, 4]
    np.testing.assert_array_equal(variables.members["0"].read(), np.arange(12, dtype=np.float32).reshape(3, 4))
    assert variables.members["1"].read() == np.float32(0.5) and variables.members["1"].shape == ()
    assert root.attrs["names"] == ["a", "bcd"] and root.attrs["text"] == "h\u00e9llo" and root.attrs["empty"].size == 0
    big = root.members["big_endian"].read()
    assert big.dtype == np.float64 and big.dtype.isnative and list(big) == [0, 1, 2, 3, 4]
    assert root.members["empty"].read().shape == (0, 3)
    if libver == "earliest":
        assert sorted(root.members["many"].members) == [f"d{i:02d}" for i in range(20)]


@pytest.mark.parametrize(
    ("fill", "message"),
    [
        (lambda f: f.create_dataset("x", data=np.ones(100), chunks=(10,)), "stored in chunks"),
        (lambda f: f.create_dataset("x", data=np.ones(100), compression="gzip"), "filtered"),
        (lambda f: f.__setitem__("x", h5py.SoftLink("/y")), "is a soft link"),
        (lambda f: f.__setitem__("x", h5py.ExternalLink("other.h5", "/y")), "link"),
        (lambda f: f.create_dataset("x", data=np.array([b"a", b"b"])), "holds strings"),
        (lambda f: f.create_dataset("x", data=np.ones(3, np.complex64)), "HDF5 datatype class 6"),
    ],
)
def test_what_the_reader_refuses_is_named(fill, message):
    with pytest.raises(HDF5FormatError, match=message):
        read_hdf5(h5_bytes(fill))


def test_dense_link_storage_is_refused_by_name():
    def many(file):
        for index in range(20):
            file[f"d{index}"] = np.int8(index)

    with pytest.raises(HDF5FormatError, match="dense storage"):
        read_hdf5(h5_bytes(many, libver="latest"))


@pytest.fixture
def model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(6,)), layers.Dense(5, activation="relu"), layers.Dense(3)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((4, 6), np.float32), np.zeros((4, 3), np.float32), verbose=0)
    return model


def rewrite_weights(path, change):
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members["model.weights.h5"] = change(members["model.weights.h5"])
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)


def h5_with(content, change):
    """The HDF5 file ``content`` rewritten by ``change(h5py.File)`` (as someone tampering would)."""
    buffer = io.BytesIO(content)
    with h5py.File(buffer, "r+") as file:
        change(file)
    return buffer.getvalue()


def test_a_keras_file_with_weights_of_another_shape_or_count_is_named(model, tmp_path):
    path = tmp_path / "m.keras"
    model.save(path)

    def reshape(file):
        del file["layers/dense/vars/0"]
        file["layers/dense/vars/0"] = np.zeros((5, 6), np.float32)  # as many values: the size check passes

    rewrite_weights(path, lambda content: h5_with(content, reshape))
    with pytest.raises(ModelFileError, match=r"m.keras'.*weight 0 of 'dense' \('kernel'\) has shape \(5, 6\)"):
        keras.models.load_model(path)
    model.save(path)
    rewrite_weights(path, lambda content: h5_with(content, lambda f: f["layers/dense/vars"].__delitem__("1")))
    with pytest.raises(ModelFileError, match=r"'layers/dense/vars' holds \['0'\], but 'dense' has 2 weights"):
        keras.models.clone_model(model).load_weights(path)
    with pytest.raises(ModelFileError, match="describes a model of 53 weight values, but the file holds 48"):
        keras.models.load_model(path)  # the model's size is checked against the file's before it is built
    model.save(path)
    rewrite_weights(
        path, lambda content: h5_with(content, lambda f: f.create_dataset("layers/extra/vars/0", data=[1.0]))
    )
    with pytest.raises(ModelFileError, match="holds weights at 'layers/extra/vars/0' that the model has no place for"):
        keras.models.clone_model(model).load_weights(path)


def test_a_huge_model_described_beside_small_weights_is_refused_before_it_is_built(model, tmp_path):
    path = tmp_path / "m.keras"
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members["config.json"] = members["config.json"].replace(b'"units": 5', b'"units": 500000000')
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    with pytest.raises(
        ModelFileError, match=r"config.json describes a model of \d+ weight values, but the file holds 53"
    ):
        keras.models.load_model(path)


def test_damaged_hdf5_metadata_is_a_model_file_error(model, tmp_path):
    path = tmp_path / "w.weights.h5"
    model.save_weights(path)
    content = path.read_bytes()
    root_header = struct.unpack_from("<Q", content, 64)[0]
    for damage, message in [
        (lambda c: c[:100], "truncated or damaged|beyond the end of the file"),
        (lambda c: c[:64] + struct.pack("<Q", 2**63) + c[72:], "beyond the end of the file"),
        (lambda c: c[:13] + b"\x03" + c[14:], "3-byte addresses"),
        (lambda c: c[:root_header] + b"\x07" + c[root_header + 1 :], "unknown version 7"),
        (lambda c: b"not HDF5 at all" + c, "not a complete zip archive"),  # neither HDF5 nor a zip
    ]:
        path.write_bytes(damage(content))
        with pytest.raises(ModelFileError, match=f"w.weights.h5'.*{message}"):
            model.load_weights(path)
    tree = content.find(b"TREE")  # a B-tree node whose child is itself: a loop
    looped = content[: tree + 24 + 8] + struct.pack("<Q", tree) + content[tree + 24 + 16 :]
    path.write_bytes(looped)
    with pytest.raises(ModelFileError, match="reached a second time|not a group node|SNOD"):
        model.load_weights(path)


def test_max_bytes_bounds_an_hdf5_file_before_it_is_read(model, tmp_path):
    path = tmp_path / "m.h5"
    model.save(path)
    with pytest.raises(ModelFileError, match=r"m.h5'.*more than max_bytes=1000"):
        saving.load_model(path, max_bytes=1000)
    np.testing.assert_array_equal(saving.load_model(path).get_weights()[0], model.get_weights()[0])
