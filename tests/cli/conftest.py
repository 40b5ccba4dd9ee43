"""Fixtures for the `cnnlab` command tests: a small fake Fashion-MNIST and an in-process runner."""

import types

import numpy as np
import pytest

from cnnlab.cli import main
from cnnlab.datasets import fashion_mnist, write_idx

N_TRAIN, N_TEST = 60, 20


def _images_with_class_stripes(labels, rng):
    """Noise plus a bright horizontal stripe whose row depends on the class (a learnable fake)."""
    images = rng.integers(0, 60, (len(labels), 28, 28), dtype=np.uint8)
    for i, label in enumerate(labels):
        images[i, 3 + 2 * label : 5 + 2 * label, 4:24] = 230
    return images


@pytest.fixture(scope="session")
def fake_data_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("fashion-mnist")
    rng = np.random.default_rng(0)
    y_train = (np.arange(N_TRAIN) % 10).astype(np.uint8)
    y_test = (np.arange(N_TEST) * 3 % 10).astype(np.uint8)
    write_idx(directory / "train-images-idx3-ubyte.gz", _images_with_class_stripes(y_train, rng))
    write_idx(directory / "train-labels-idx1-ubyte.gz", y_train)
    write_idx(directory / "t10k-images-idx3-ubyte.gz", _images_with_class_stripes(y_test, rng))
    write_idx(directory / "t10k-labels-idx1-ubyte.gz", y_test)
    return directory


def use_fake_data(monkeypatch, data_dir, home):
    """Point the loader at the fake data; never at a real copy, never at the network."""
    monkeypatch.setenv(fashion_mnist.DATA_ENV, str(data_dir))
    monkeypatch.delenv(fashion_mnist.URL_ENV, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv(fashion_mnist.SYSTEM_DATASETS_ENV, str(home / "no-system-copy"))
    monkeypatch.setattr(fashion_mnist, "DOWNLOAD_URLS", ("http://127.0.0.1:9/",))


@pytest.fixture(autouse=True)
def fake_data(monkeypatch, tmp_path, fake_data_dir):
    use_fake_data(monkeypatch, fake_data_dir, tmp_path / "home")
    return fake_data_dir


@pytest.fixture(scope="session")
def fake_env():
    """For module-scoped fixtures: ``fake_env.apply(monkeypatch, data_dir, home)`` and the data sizes."""
    return types.SimpleNamespace(apply=use_fake_data, n_train=N_TRAIN, n_test=N_TEST)


@pytest.fixture
def cli(capsys):
    """``cli(*args) -> (exit status, stdout, stderr)``, running ``cnnlab`` in this process."""

    def run(*args):
        try:
            status = main([str(a) for a in args])
        except SystemExit as exit_:  # argparse: --help, usage mistakes
            status = exit_.code
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    return run
