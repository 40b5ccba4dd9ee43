"""Fixtures for the dataset tests: an environment where no real copy of a data set is visible."""

import functools
import http.server
import threading

import numpy as np
import pytest

from cnnlab.datasets import cifar, fashion_mnist, mnist, write_idx


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    """No $CNNLAB_DATA / $CNNLAB_DATA_URL, a fresh home and cache, and no system copy of any data set.

    Returns the cache directory load_data would use.
    """
    monkeypatch.delenv(fashion_mnist.DATA_ENV, raising=False)
    monkeypatch.delenv(fashion_mnist.URL_ENV, raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv(fashion_mnist.SYSTEM_DATASETS_ENV, str(tmp_path / "system"))
    # A base URL nobody listens on: a test that reaches the download by mistake fails fast, offline.
    for module in (fashion_mnist, mnist, cifar):
        monkeypatch.setattr(module, "DOWNLOAD_URLS", ("http://127.0.0.1:9/",))
    return tmp_path / "home" / ".cache" / "cnnlab" / "fashion-mnist"


def _make_fake_fashion_mnist(directory, n_train=30, n_test=10, seed=0, compress=True):
    """Write four small Fashion-MNIST-shaped IDX files; returns ``(x_train, y_train), (x_test, y_test)``."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    arrays = {
        fashion_mnist.TRAIN_IMAGES: rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        fashion_mnist.TRAIN_LABELS: (np.arange(n_train) % 10).astype(np.uint8),
        fashion_mnist.TEST_IMAGES: rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        fashion_mnist.TEST_LABELS: (np.arange(n_test) % 10).astype(np.uint8),
    }
    for stem, array in arrays.items():
        write_idx(directory / (stem + (".gz" if compress else "")), array)
    return (
        (arrays[fashion_mnist.TRAIN_IMAGES], arrays[fashion_mnist.TRAIN_LABELS]),
        (arrays[fashion_mnist.TEST_IMAGES], arrays[fashion_mnist.TEST_LABELS]),
    )


@pytest.fixture
def fake_data():
    return _make_fake_fashion_mnist


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def http_server(tmp_path):
    """An HTTP server on 127.0.0.1 serving ``tmp_path/served``; yields (base_url, requested paths)."""
    served = tmp_path / "served"
    served.mkdir()
    requested = []

    class Handler(_QuietHandler):
        def do_GET(self):
            requested.append(self.path)
            super().do_GET()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(served)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", served, requested
    server.shutdown()
    server.server_close()
    thread.join()
