"""Where Fashion-MNIST is looked for, the verified download (from a local HTTP server), the offline error."""

import gzip
import hashlib
import socket

import numpy as np
import pytest

from cnnlab.datasets import ChecksumError, DatasetNotFoundError, IDXFormatError, fashion_mnist, write_idx


def assert_same_data(loaded, expected):
    (x_train, y_train), (x_test, y_test) = loaded
    for got, want in zip((x_train, y_train, x_test, y_test), (*expected[0], *expected[1])):
        assert got.dtype == np.uint8 and got.shape == want.shape
        np.testing.assert_array_equal(got, want)


def test_load_data_returns_keras_structure_dtypes_and_shapes(isolated, tmp_path, monkeypatch, fake_data):
    expected = fake_data(tmp_path / "data", n_train=30, n_test=10)
    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path / "data"))
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    assert (x_train.shape, y_train.shape, x_test.shape, y_test.shape) == ((30, 28, 28), (30,), (10, 28, 28), (10,))
    assert_same_data(((x_train, y_train), (x_test, y_test)), expected)


def test_keras_namespace_delegates_to_the_same_loader(isolated, tmp_path, monkeypatch, fake_data):
    from cnnlab.keras.datasets import fashion_mnist as keras_fashion_mnist

    expected = fake_data(tmp_path / "data")
    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path / "data"))
    assert_same_data(keras_fashion_mnist.load_data(), expected)
    assert keras_fashion_mnist.class_names[0] == "T-shirt/top" and keras_fashion_mnist.class_names[9] == "Ankle boot"
    assert len(keras_fashion_mnist.class_names) == 10


def test_search_order(isolated, tmp_path, monkeypatch, fake_data):
    """path= beats $CNNLAB_DATA, which beats the cache, which beats the system copy."""
    system = fake_data(tmp_path / "system" / "fashion-mnist", seed=1)
    assert_same_data(fashion_mnist.load_data(), system)

    cache = fake_data(isolated, seed=2)
    assert_same_data(fashion_mnist.load_data(), cache)

    env = fake_data(tmp_path / "env", seed=3, compress=False)  # raw files count too
    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path / "env"))
    assert_same_data(fashion_mnist.load_data(), env)

    explicit = fake_data(tmp_path / "explicit", seed=4)
    assert_same_data(fashion_mnist.load_data(path=tmp_path / "explicit"), explicit)


def test_xdg_cache_home_moves_the_cache(isolated, tmp_path, monkeypatch, fake_data):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert fashion_mnist.cache_dir() == str(tmp_path / "xdg" / "cnnlab" / "fashion-mnist")
    expected = fake_data(tmp_path / "xdg" / "cnnlab" / "fashion-mnist", seed=5)
    fake_data(isolated, seed=6)  # ~/.cache is not looked at when XDG_CACHE_HOME is set
    assert_same_data(fashion_mnist.load_data(), expected)


def test_a_directory_missing_a_file_is_skipped(isolated, tmp_path, monkeypatch, fake_data):
    fake_data(tmp_path / "env", seed=7)
    (tmp_path / "env" / "t10k-labels-idx1-ubyte.gz").unlink()
    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path / "env"))
    system = fake_data(tmp_path / "system" / "fashion-mnist", seed=8)
    assert_same_data(fashion_mnist.load_data(), system)


def test_explicit_path_is_the_only_place_looked(isolated, tmp_path, fake_data):
    fake_data(tmp_path / "system" / "fashion-mnist")
    (tmp_path / "partial").mkdir()
    with pytest.raises(
        DatasetNotFoundError, match=r"path=.*partial.*missing: train-images-idx3-ubyte.gz, .*t10k-labels-idx1-ubyte.gz"
    ):
        fashion_mnist.load_data(path=tmp_path / "partial")


def test_files_that_are_not_fashion_mnist_are_rejected(isolated, tmp_path, fake_data):
    fake_data(tmp_path / "d", n_train=4)
    write_idx(tmp_path / "d" / "train-labels-idx1-ubyte.gz", np.array([0, 1, 2, 10], dtype=np.uint8))
    with pytest.raises(IDXFormatError, match=r"train-labels-idx1-ubyte.gz' has label 10"):
        fashion_mnist.load_data(path=tmp_path / "d")
    write_idx(tmp_path / "d" / "train-labels-idx1-ubyte.gz", np.array([0, 1, 2], dtype=np.uint8))
    with pytest.raises(IDXFormatError, match=r"holds 4 images but .* holds 3 labels"):
        fashion_mnist.load_data(path=tmp_path / "d")
    write_idx(tmp_path / "d" / "train-images-idx3-ubyte.gz", np.zeros((3, 32, 32), dtype=np.uint8))
    with pytest.raises(IDXFormatError, match=r"expected uint8 images of 28x28; found uint8 of shape \(3, 32, 32\)"):
        fashion_mnist.load_data(path=tmp_path / "d")


# ---- download ------------------------------------------------------------------------


def publish(served, monkeypatch, fake_data):
    """Fake files to serve, with their SHA-256 made the 'published' ones; returns the arrays."""
    expected = fake_data(served, seed=9)
    checksums = {
        stem: hashlib.sha256((served / (stem + ".gz")).read_bytes()).hexdigest() for stem in fashion_mnist.FILE_STEMS
    }
    monkeypatch.setattr(fashion_mnist, "SHA256", checksums)
    return expected


def test_download_into_the_cache_with_checksums(isolated, http_server, monkeypatch, fake_data):
    base_url, served, requested = http_server
    expected = publish(served, monkeypatch, fake_data)
    monkeypatch.setenv("CNNLAB_DATA_URL", base_url)

    assert_same_data(fashion_mnist.load_data(), expected)
    assert sorted(requested) == sorted(f"/{stem}.gz" for stem in fashion_mnist.FILE_STEMS)
    assert sorted(p.name for p in isolated.iterdir()) == sorted(stem + ".gz" for stem in fashion_mnist.FILE_STEMS)
    for stem in fashion_mnist.FILE_STEMS:
        assert (isolated / (stem + ".gz")).read_bytes() == (served / (stem + ".gz")).read_bytes()

    requested.clear()
    assert_same_data(fashion_mnist.load_data(), expected)  # the second time from the cache
    assert requested == []


def test_download_fetches_only_what_the_cache_lacks(isolated, http_server, monkeypatch, fake_data):
    base_url, served, requested = http_server
    expected = publish(served, monkeypatch, fake_data)
    isolated.mkdir(parents=True)
    for stem in (fashion_mnist.TRAIN_IMAGES, fashion_mnist.TEST_LABELS):
        (isolated / (stem + ".gz")).write_bytes((served / (stem + ".gz")).read_bytes())
    monkeypatch.setenv("CNNLAB_DATA_URL", base_url)
    assert_same_data(fashion_mnist.load_data(), expected)
    assert sorted(requested) == ["/t10k-images-idx3-ubyte.gz", "/train-labels-idx1-ubyte.gz"]


def test_a_bad_checksum_is_rejected_and_nothing_half_written_is_left(isolated, http_server, monkeypatch, fake_data):
    base_url, served, _ = http_server
    publish(served, monkeypatch, fake_data)
    good = (served / "train-images-idx3-ubyte.gz").read_bytes()
    damaged = gzip.compress(gzip.decompress(good)[:-1] + b"\x01")
    (served / "train-images-idx3-ubyte.gz").write_bytes(damaged)
    monkeypatch.setenv("CNNLAB_DATA_URL", base_url)

    with pytest.raises(ChecksumError) as info:
        fashion_mnist.load_data()
    message = str(info.value)
    assert "train-images-idx3-ubyte.gz" in message
    assert fashion_mnist.SHA256[fashion_mnist.TRAIN_IMAGES] in message  # expected
    assert hashlib.sha256(damaged).hexdigest() in message  # actual
    left = sorted(p.name for p in isolated.iterdir())
    assert "train-images-idx3-ubyte.gz" not in left
    assert not [name for name in left if name.startswith(".") or name.endswith(".part")]


def test_offline_without_a_copy_is_one_clear_error(isolated, tmp_path, monkeypatch):
    with socket.socket() as probe:  # a port on which nothing listens
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    monkeypatch.setenv("CNNLAB_DATA_URL", f"http://127.0.0.1:{closed_port}/")

    with pytest.raises(DatasetNotFoundError) as info:
        fashion_mnist.load_data()
    message = str(info.value)
    assert "$CNNLAB_DATA (not set)" in message
    assert str(isolated) in message
    assert str(tmp_path / "system" / "fashion-mnist") in message
    assert "apt-get install dataset-fashion-mnist" in message
    assert "set CNNLAB_DATA" in message
    assert f"127.0.0.1:{closed_port}" in message
    assert not list(isolated.iterdir())  # the cache was created, but nothing was left in it


def test_a_server_without_the_files_is_reported_like_offline(isolated, http_server, monkeypatch):
    base_url, _, _ = http_server
    monkeypatch.setenv("CNNLAB_DATA", str(isolated.parent / "elsewhere"))
    with pytest.raises(
        DatasetNotFoundError,
        match=r"(?s)train-images-idx3-ubyte.gz: HTTP Error 404.*Looked in:.*elsewhere \(\$CNNLAB_DATA\)",
    ):
        fashion_mnist.find_files(base_url=base_url)
