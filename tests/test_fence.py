"""The fence of tests/conftest.py holds: no real data set, no network, for the whole run."""

import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from cnnlab.datasets import fashion_mnist

ROOT_CONFTEST = Path(__file__).parent / "conftest.py"


@pytest.mark.network_attempt_expected
def test_load_data_fails_inside_the_suite_even_where_the_data_set_is_installed(fence):
    # Every place the loader searches is one of the fence's empty folders...
    searched = [directory for directory, _ in fashion_mnist.search_dirs()]
    assert searched == [
        os.path.join(str(fence["folders"]["data"]), "fashion-mnist"),
        str(fence["folders"]["data"]),
        os.path.join(str(fence["folders"]["cache"]), "cnnlab", "fashion-mnist"),
        os.path.join(str(fence["folders"]["system-datasets"]), "fashion-mnist"),
    ]
    assert "/usr/share/datasets" not in " ".join(searched)
    # ...and the download it falls back to is refused, loudly, by the network guard.
    with pytest.raises(fence["guard"].NetworkBlocked, match="storage.googleapis.com"):
        fashion_mnist.load_data()


def test_a_monkeypatch_undo_does_not_lift_the_fence(monkeypatch, fence):
    monkeypatch.setenv("CNNLAB_DATA", "/usr/share/datasets/fashion-mnist")
    monkeypatch.setenv("CNNLAB_SYSTEM_DATASETS", "/usr/share/datasets")
    monkeypatch.setenv("HOME", "/root")
    monkeypatch.undo()
    assert os.environ["CNNLAB_DATA"] == str(fence["folders"]["data"])
    assert os.environ["CNNLAB_SYSTEM_DATASETS"] == str(fence["folders"]["system-datasets"])
    assert os.environ["HOME"] == str(fence["folders"]["home"])
    for folder in fence["folders"].values():
        assert not any(folder.iterdir()) or folder.name in ("home", "cache")


@pytest.mark.network_attempt_expected
@pytest.mark.parametrize(
    "reach",
    [
        lambda: socket.create_connection(("192.0.2.1", 80), timeout=1),
        lambda: socket.getaddrinfo("pypi.org", 443),
        lambda: urllib.request.urlopen("http://example.com/", timeout=1),
        lambda: socket.socket(socket.AF_INET6).connect(("2001:db8::1", 80)),
        lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("192.0.2.1", 53)),
    ],
    ids=["ipv4", "lookup", "urlopen", "ipv6", "udp"],
)
def test_every_way_out_is_refused(reach, fence):
    with pytest.raises(fence["guard"].NetworkBlocked, match="network fence refused"):
        reach()


def test_loopback_still_works():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(("localhost", server.getsockname()[1]), timeout=5):
            connection, _ = server.accept()
            connection.close()


def test_a_refused_attempt_fails_the_test_even_if_caught(pytester):
    pytester.makepyfile(
        """
        import socket

        def test_swallows_the_error():
            try:
                socket.create_connection(("192.0.2.1", 80), timeout=1)
            except Exception:
                pass
        """
    )
    pytester.makeconftest(
        "import importlib.util\n"
        f"spec = importlib.util.spec_from_file_location('root_conftest', {str(ROOT_CONFTEST)!r})\n"
        "root = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(root)\n"
        "pytest_configure, pytest_unconfigure = root.pytest_configure, root.pytest_unconfigure\n"
        "_no_network_attempt = root._no_network_attempt\n"
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*the test tried to reach the network:", "*network fence refused*192.0.2.1*"])


def test_subprocesses_carry_the_fence():
    code = (
        "import socket\n"
        "try:\n"
        "    socket.create_connection(('192.0.2.1', 80), timeout=1)\n"
        "except Exception as err:\n"
        "    print(type(err).__name__)\n"
        "from cnnlab.datasets import fashion_mnist\n"
        "print(fashion_mnist.search_dirs()[-1][0])\n"
    )
    env = dict(os.environ, CNNLAB_TEST_FENCE_LOG=os.devnull)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    blocked, system_dir = out.splitlines()
    assert blocked == "NetworkBlocked"
    assert system_dir == os.path.join(os.environ["CNNLAB_SYSTEM_DATASETS"], "fashion-mnist")
