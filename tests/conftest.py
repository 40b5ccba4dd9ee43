"""The suite's fence: no test sees a real data set or reaches the network.

Set up once in ``pytest_configure``, for the whole run and every process it starts,
so that no fixture's ``monkeypatch.undo()`` can lift it:

- HOME, the user cache (``$XDG_CACHE_HOME``), ``$CNNLAB_DATA`` and the system data
  folder (``$CNNLAB_SYSTEM_DATASETS``) point at empty temporary folders, so a loader
  that is not handed test data finds none, even on a machine with Fashion-MNIST
  installed;
- every socket connection or name lookup beyond loopback is refused
  (``tests/fence_site/sitecustomize.py``, put on ``PYTHONPATH`` so the ``cnnlab``
  command, servers and MPI ranks started by tests carry it too), and any refused
  attempt fails the test that made it, even if the code under test caught the error.
"""

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

FENCE_SITE = Path(__file__).parent / "fence_site"
_fence = {}


def _load_guard():
    spec = importlib.util.spec_from_file_location("cnnlab_test_fence", FENCE_SITE / "sitecustomize.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pytest_configure(config):
    root = Path(tempfile.mkdtemp(prefix="cnnlab-test-fence-"))
    folders = {name: root / name for name in ("home", "cache", "data", "system-datasets")}
    for folder in folders.values():
        folder.mkdir()
    log = root / "network-attempts.log"
    log.touch()
    os.environ.update(
        HOME=str(folders["home"]),
        XDG_CACHE_HOME=str(folders["cache"]),
        CNNLAB_DATA=str(folders["data"]),
        CNNLAB_SYSTEM_DATASETS=str(folders["system-datasets"]),
        CNNLAB_TEST_FENCE_LOG=str(log),
        PYTHONPATH=os.pathsep.join(filter(None, [str(FENCE_SITE), os.environ.get("PYTHONPATH")])),
        # Keras 3, the test oracle, runs on PyTorch (no TensorFlow needed); it reads this when first imported.
        KERAS_BACKEND="torch",
    )
    os.environ.pop("CNNLAB_DATA_URL", None)
    config.addinivalue_line("markers", "network_attempt_expected: the test checks that the fence refuses an attempt")
    guard = _load_guard()
    guard.install()
    _fence.update(root=root, folders=folders, log=log, guard=guard)


def pytest_unconfigure(config):
    if "root" in _fence:
        shutil.rmtree(_fence["root"], ignore_errors=True)


@pytest.fixture(scope="session")
def fence():
    """The fence's folders (``home``, ``cache``, ``data``, ``system-datasets``), its log and ``NetworkBlocked``."""
    return _fence


@pytest.fixture(autouse=True)
def _no_network_attempt(request):
    """Fail the test if it, or a process it started, tried to go beyond loopback."""
    log = _fence["log"]
    start = log.stat().st_size
    yield
    with open(log, encoding="utf-8") as f:
        f.seek(start)
        attempts = f.read()
    if attempts and not request.node.get_closest_marker("network_attempt_expected"):
        pytest.fail("the test tried to reach the network:\n" + attempts, pytrace=False)
