"""keras.datasets.mnist / cifar10 / cifar100: Keras's shapes and dtypes from small files in the real formats,
the shared search order, the verified download (from a local server), and files that are refused."""

import hashlib
import importlib
import io
import os
import pickle
import tracemalloc
import zipfile

import numpy as np
import pytest
from standard_files import (
    CIFAR10,
    CIFAR100,
    expected_images,
    python2_pickle,
    write_cifar,
    write_mnist_npz,
    write_tar_gz,
)

from cnnlab.datasets import ChecksumError, DatasetFormatError, DatasetNotFoundError, cifar, mnist
from cnnlab.keras import datasets as keras_datasets


def assert_mnist(loaded, arrays):
    (x_train, y_train), (x_test, y_test) = loaded
    for got, name in zip((x_train, y_train, x_test, y_test), ("x_train", "y_train", "x_test", "y_test")):
        assert got.dtype == np.uint8 and got.shape == arrays[name].shape
        np.testing.assert_array_equal(got, arrays[name])


def cifar_expected(batches, layout, label_key):
    """What Keras's cifar10 / cifar100 load_data return for these batches, worked out pixel by pixel."""
    result = []
    for split in ("train", "test"):
        names = layout[split]
        images = np.concatenate([expected_images(batches[name][b"data"]) for name in names])
        labels = np.concatenate([np.array(batches[name][label_key], dtype=np.uint8) for name in names])
        result.append((images, labels.reshape(-1, 1)))
    return tuple(result)


def assert_same(loaded, expected):
    for (got_x, got_y), (want_x, want_y) in zip(loaded, expected):
        assert got_x.dtype == np.uint8 and got_y.dtype == np.uint8
        assert got_x.shape == want_x.shape and got_y.shape == want_y.shape
        np.testing.assert_array_equal(got_x, want_x)
        np.testing.assert_array_equal(got_y, want_y)


# ---- MNIST ------------------------------------------------------------------------------------


def test_mnist_keras_shapes_and_dtypes_from_cnnlab_data_subfolder(isolated, tmp_path, monkeypatch):
    arrays = write_mnist_npz(tmp_path / "data" / "mnist" / "mnist.npz", n_train=12, n_test=5)
    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path / "data"))
    loaded = keras_datasets.mnist.load_data()
    assert [a.shape for pair in loaded for a in pair] == [(12, 28, 28), (12,), (5, 28, 28), (5,)]
    assert_mnist(loaded, arrays)


def test_mnist_search_order_and_path(isolated, tmp_path, monkeypatch):
    cache = write_mnist_npz(isolated.parent / "mnist" / "mnist.npz", seed=1)
    assert_mnist(mnist.load_data(), cache)
    direct = write_mnist_npz(tmp_path / "env" / "mnist.npz", seed=2)  # the file directly in $CNNLAB_DATA
    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path / "env"))
    assert_mnist(mnist.load_data(), direct)
    subfolder = write_mnist_npz(tmp_path / "env" / "mnist" / "mnist.npz", seed=3)  # its subfolder first
    assert_mnist(mnist.load_data(), subfolder)
    own = write_mnist_npz(tmp_path / "own" / "digits.npz", seed=4)
    assert_mnist(mnist.load_data(path=tmp_path / "own" / "digits.npz"), own)
    assert_mnist(mnist.load_data(path=str(tmp_path / "env")), direct)
    with pytest.raises(DatasetNotFoundError, match=r"path=.*nothing.npz.* neither the MNIST file"):
        mnist.load_data(path=tmp_path / "nothing.npz")
    assert [what for _, what in mnist.search_dirs()] == ["$CNNLAB_DATA/mnist", "$CNNLAB_DATA", "the user cache"]


def test_mnist_agrees_with_keras_reading_the_same_file(isolated, tmp_path):
    arrays = write_mnist_npz(tmp_path / "mnist.npz", seed=5)
    with np.load(tmp_path / "mnist.npz", allow_pickle=False) as f:  # as Keras reads it
        keras_view = {name: f[name] for name in arrays}
    assert_mnist(mnist.load_data(path=tmp_path / "mnist.npz"), keras_view)


def _npz_with_member(path, member, header_dict, payload=b""):
    header = repr(header_dict).encode("latin1")
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in ("x_train", "y_train", "x_test", "y_test"):
            if name == member:
                archive.writestr(
                    name + ".npy", b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + payload
                )
            else:
                buffer = io.BytesIO()
                np.save(buffer, np.zeros((2, 28, 28) if name.startswith("x") else (2,), np.uint8))
                archive.writestr(name + ".npy", buffer.getvalue())


def test_mnist_member_declaring_a_huge_array_is_refused_before_allocating(isolated, tmp_path):
    path = tmp_path / "mnist.npz"
    _npz_with_member(path, "x_train", {"descr": "|u1", "fortran_order": False, "shape": (10**9, 28, 28)}, b"\0" * 100)
    tracemalloc.start()
    try:
        with pytest.raises(
            DatasetFormatError, match=r"x_train.npy declares shape \(1000000000, 28, 28\), more than its"
        ):
            mnist.load_data(path=path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20


@pytest.mark.parametrize(
    ("header", "payload", "message"),
    [
        ({"descr": "|O", "fortran_order": False, "shape": (2,)}, pickle.dumps([1, 2]), r"holds object"),
        ({"descr": "<f4", "fortran_order": False, "shape": (2,)}, b"\0" * 8, r"holds float32"),
        ({"descr": "|u1", "fortran_order": False, "shape": (2,)}, b"\0" * 3, r"holds other than the 2 bytes"),
        ({"descr": "|u1", "fortran_order": False, "shape": (4,)}, b"\0" * 3, r"holds other than the 4 bytes"),
    ],
)
def test_mnist_members_that_are_not_uint8_arrays_of_their_size_are_refused(
    isolated, tmp_path, header, payload, message
):
    path = tmp_path / "mnist.npz"
    _npz_with_member(path, "y_train", header, payload)
    with pytest.raises(DatasetFormatError, match=message):
        mnist.load_data(path=path)


def test_mnist_not_a_zip_and_wrong_shapes(isolated, tmp_path):
    (tmp_path / "mnist.npz").write_bytes(b"not a zip")
    with pytest.raises(DatasetFormatError, match=r"mnist.npz: not a valid .npz"):
        mnist.load_data(path=tmp_path / "mnist.npz")
    np.savez(
        tmp_path / "other.npz",
        x_train=np.zeros((2, 32, 32), np.uint8),
        y_train=np.zeros(2, np.uint8),
        x_test=np.zeros((1, 28, 28), np.uint8),
        y_test=np.zeros(1, np.uint8),
    )
    with pytest.raises(DatasetFormatError, match=r"expected x_train of shape \(n, 28, 28\).*found \(2, 32, 32\)"):
        mnist.load_data(path=tmp_path / "other.npz")


def test_mnist_download_from_a_mirror_is_verified(isolated, http_server, monkeypatch):
    base_url, served, requested = http_server
    arrays = write_mnist_npz(served / "mnist.npz", seed=6)
    monkeypatch.setattr(mnist, "SHA256", hashlib.sha256((served / "mnist.npz").read_bytes()).hexdigest())
    monkeypatch.setenv("CNNLAB_DATA_URL", base_url)
    assert_mnist(mnist.load_data(), arrays)
    assert requested == ["/mnist.npz"]
    assert (isolated.parent / "mnist" / "mnist.npz").read_bytes() == (served / "mnist.npz").read_bytes()

    monkeypatch.setattr(mnist, "SHA256", "0" * 64)
    (isolated.parent / "mnist" / "mnist.npz").unlink()
    with pytest.raises(ChecksumError, match=r"mnist: the file mnist.npz downloaded from .* expected SHA-256 0{64}"):
        mnist.load_data()
    assert os.listdir(isolated.parent / "mnist") == []


def test_keras_download_addresses_and_checksums():
    """The addresses and SHA-256 values are those of Keras 3's mnist.py, cifar10.py and cifar100.py."""
    assert (
        mnist.DOWNLOAD_URLS[0] + mnist.FILE == "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
    )
    assert mnist.SHA256 == "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
    assert cifar.DOWNLOAD_URLS[0] + CIFAR10["archive"] == "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    assert cifar.DOWNLOAD_URLS[0] + CIFAR100["archive"] == "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
    assert cifar.CIFAR10_SHA256 == "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
    assert cifar.CIFAR100_SHA256 == "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7"


def test_offline_message_lists_the_places_and_no_system_package(isolated, tmp_path, monkeypatch):
    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path / "d"))
    with pytest.raises(DatasetNotFoundError) as info:
        cifar.load_cifar10()
    message = str(info.value)
    assert "CIFAR-10 was not found and could not be downloaded (http://127.0.0.1:9/" in message
    assert f"{tmp_path / 'd' / 'cifar-10'} ($CNNLAB_DATA/cifar-10)" in message
    assert f"{tmp_path / 'd'} ($CNNLAB_DATA)" in message
    assert f"{isolated.parent / 'cifar-10'} (the user cache)" in message
    assert "apt-get" not in message and "cifar-10-python.tar.gz" in message


# ---- CIFAR ------------------------------------------------------------------------------------


@pytest.mark.parametrize("writer", [python2_pickle, lambda batch: pickle.dumps(batch, protocol=2)], ids=["py2", "py3"])
def test_cifar10_from_the_archive_as_keras_returns_it(isolated, tmp_path, monkeypatch, writer):
    batches = write_cifar(tmp_path / "data" / "cifar-10", CIFAR10, writer=writer)
    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path / "data"))
    loaded = keras_datasets.cifar10.load_data()
    (x_train, y_train), (x_test, y_test) = loaded
    n_train = sum(7 + i for i in range(5))
    assert (x_train.shape, y_train.shape, x_test.shape, y_test.shape) == (
        (n_train, 32, 32, 3),
        (n_train, 1),
        (12, 32, 32, 3),
        (12, 1),
    )
    assert x_train.flags.c_contiguous and x_train.flags.writeable
    assert_same(loaded, cifar_expected(batches, CIFAR10, b"labels"))


def test_cifar10_from_the_unpacked_folder(isolated, tmp_path):
    batches = write_cifar(tmp_path / "d", CIFAR10, extracted=True, seed=3)
    assert_same(cifar.load_cifar10(path=tmp_path / "d"), cifar_expected(batches, CIFAR10, b"labels"))


@pytest.mark.parametrize("label_mode", ["fine", "coarse"])
def test_cifar100_label_modes(isolated, tmp_path, label_mode):
    batches = write_cifar(tmp_path / "d", CIFAR100, seed=4)
    loaded = keras_datasets.cifar100.load_data(label_mode=label_mode, path=tmp_path / "d")
    assert_same(loaded, cifar_expected(batches, CIFAR100, f"{label_mode}_labels".encode()))
    assert loaded[0][1].max() < (100 if label_mode == "fine" else 20)
    with pytest.raises(
        ValueError, match=r'`label_mode` must be one of `"fine"`, `"coarse"`. Received: label_mode=Fine'
    ):
        keras_datasets.cifar100.load_data(label_mode="Fine")


def test_cifar_batches_agree_with_keras_restricted_unpickler(isolated, tmp_path, monkeypatch):
    """Keras's own load_batch (its RestrictedUnpickler) reads the Python 2 layout as cnnlab's parser does."""
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    keras_cifar = importlib.import_module("keras.src.datasets.cifar")
    batches = write_cifar(tmp_path / "d", CIFAR10, extracted=True, seed=8)
    (x_train, y_train), _ = cifar.load_cifar10(path=tmp_path / "d")
    start = 0
    for name in CIFAR10["train"]:
        data, labels = keras_cifar.load_batch(str(tmp_path / "d" / "cifar-10-batches-py" / name))
        n = len(labels)
        np.testing.assert_array_equal(x_train[start : start + n], data.transpose(0, 2, 3, 1))
        np.testing.assert_array_equal(y_train[start : start + n, 0], labels)
        assert labels == batches[name][b"labels"]
        start += n


def test_cifar_download_from_a_mirror_is_verified(isolated, tmp_path, http_server, monkeypatch):
    base_url, served, requested = http_server
    batches = write_cifar(served, CIFAR10, seed=5)
    monkeypatch.setattr(cifar, "CIFAR10_SHA256", hashlib.sha256((served / CIFAR10["archive"]).read_bytes()).hexdigest())
    monkeypatch.setenv("CNNLAB_DATA_URL", base_url)
    assert_same(cifar.load_cifar10(), cifar_expected(batches, CIFAR10, b"labels"))
    assert requested == ["/cifar-10-python.tar.gz"]
    assert os.listdir(isolated.parent / "cifar-10") == ["cifar-10-python.tar.gz"]


def test_a_batch_calling_os_system_is_refused_without_running_it(isolated, tmp_path):
    witness = tmp_path / "ran"

    class Gadget:
        def __reduce__(self):
            return os.system, (f"touch {witness}",)

    batch = {b"data": Gadget(), b"labels": [0]}
    write_tar_gz(
        tmp_path / "d" / CIFAR10["archive"],
        {f"cifar-10-batches-py/{name}": pickle.dumps(batch, protocol=2) for name in CIFAR10["train"] + CIFAR10["test"]},
    )
    with pytest.raises(DatasetFormatError, match=r"data_batch_1: the global (posix|os).system is not one CIFAR's"):
        cifar.load_cifar10(path=tmp_path / "d")
    assert not witness.exists()


def test_archive_caps(isolated, tmp_path, monkeypatch):
    write_cifar(tmp_path / "d", CIFAR10, seed=6, extra_members={"cifar-10-batches-py/zeros.bin": bytes(600_000)})
    monkeypatch.setattr(cifar, "MAX_ARCHIVE_BYTES", 400_000)  # a stream that unpacks to more is cut off
    with pytest.raises(DatasetFormatError, match=r"unpacks to more than 400000 bytes"):
        cifar.load_cifar10(path=tmp_path / "d")
    monkeypatch.setattr(cifar, "MAX_ARCHIVE_BYTES", 10 << 20)
    monkeypatch.setattr(cifar, "MAX_BATCH_BYTES", 1000)  # a batch declaring more is not read
    with pytest.raises(
        DatasetFormatError, match=r"data_batch_1: \d+ bytes, more than any CIFAR batch \(1000 at most\)"
    ):
        cifar.load_cifar10(path=tmp_path / "d")


def test_damaged_and_foreign_archives(isolated, tmp_path):
    write_cifar(tmp_path / "d", CIFAR10, seed=7)
    archive = tmp_path / "d" / CIFAR10["archive"]
    archive.write_bytes(archive.read_bytes()[:-300])
    with pytest.raises(DatasetFormatError, match=r"cifar-10-python.tar.gz: damaged archive"):
        cifar.load_cifar10(path=tmp_path / "d")
    write_tar_gz(
        archive,
        {"cifar-10-batches-py/data_batch_1": python2_pickle({b"data": np.zeros((1, 3072), np.uint8), b"labels": [3]})},
    )
    with pytest.raises(
        DatasetFormatError, match=r"not the CIFAR archive: it holds no cifar-10-batches-py/data_batch_2"
    ):
        cifar.load_cifar10(path=tmp_path / "d")
    bad = {b"data": np.zeros((2, 3072), np.uint8), b"labels": [3, 10]}
    write_tar_gz(archive, {f"cifar-10-batches-py/{n}": python2_pickle(bad) for n in CIFAR10["train"] + CIFAR10["test"]})
    with pytest.raises(DatasetFormatError, match=r"data_batch_1: a label 10 outside 0-9"):
        cifar.load_cifar10(path=tmp_path / "d")
    bad = {b"data": np.zeros((2, 3000), np.uint8), b"labels": [3, 1]}
    write_tar_gz(archive, {f"cifar-10-batches-py/{n}": python2_pickle(bad) for n in CIFAR10["train"] + CIFAR10["test"]})
    with pytest.raises(DatasetFormatError, match=r"'data' must be uint8 pictures \(n, 3072\); found uint8 of shape"):
        cifar.load_cifar10(path=tmp_path / "d")
