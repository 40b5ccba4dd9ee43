"""Fixtures for `cnnlab explain`: the shipped seed model, a live server on loopback, HTTP helpers.

The server runs in a thread of the test process (uvicorn on a socket bound to
127.0.0.1, port chosen by the system), serving the app `cnnlab explain` serves.
The web framework, Playwright and Chromium come from the test command's set-up
(`scripts/test`); where one is missing the tests that need it are skipped, except
under CI=true, where a missing dependency fails them.
"""

import json
import os
import socket
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pytest

CHROMIUM = "/usr/bin/chromium"


def require(condition, what, how):
    """Skip (or, under CI=true, fail) when a dependency the test needs is missing."""
    if condition:
        return
    message = f"{what} is missing ({how})"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message}; under CI=true a missing dependency is a failure", pytrace=False)
    pytest.skip(message)


def _importable(name):
    try:
        __import__(name)
    except ImportError:
        return False
    return True


@pytest.fixture(scope="session")
def web_framework():
    for name in ("starlette", "uvicorn"):
        require(_importable(name), name, "pip install '.[explain]' or scripts/setup-venv test")


@pytest.fixture(scope="session")
def seed_view():
    from cnnlab.cli.explain import load_view

    return load_view(None)


@pytest.fixture(scope="session")
def samples():
    from cnnlab.cli.explain.pictures import Samples

    return Samples()


@pytest.fixture(scope="session")
def curves(web_framework):
    from cnnlab.cli.explain.app import activation_curves

    return activation_curves()


class Client:
    """Requests to one server on loopback; proxies from the environment are ignored."""

    def __init__(self, base):
        self.base = base
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def request(self, path, data=None, content_type=None, headers=None, method=None):
        """``(status, decoded JSON or text)``; 4xx / 5xx answers are returned, not raised."""
        headers = dict(headers or {})
        if content_type:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(self.base + path, data=data, headers=headers, method=method)
        try:
            with self._opener.open(request, timeout=60) as response:
                status, body, kind = response.status, response.read(), response.headers.get("content-type", "")
        except urllib.error.HTTPError as err:
            status, body, kind = err.code, err.read(), err.headers.get("content-type", "")
        return status, (json.loads(body) if kind.startswith("application/json") else body.decode("utf-8", "replace"))

    def get(self, path):
        return self.request(path)

    def post(self, path, body):
        return self.request(path, json.dumps(body).encode(), "application/json")

    def upload(self, path, data, content_type="image/png"):
        return self.request(path, data, content_type)

    def ok(self, path, body=None):
        """The JSON answer of a request that must succeed."""
        status, answer = self.get(path) if body is None else self.post(path, body)
        assert status == 200, (path, status, answer)
        return answer


@pytest.fixture(scope="session")
def server(web_framework, seed_view, samples, curves):
    """The explain app for the seed model, served on 127.0.0.1; yields its base URL."""
    import uvicorn

    from cnnlab.cli.explain.app import create_app

    app = create_app(seed_view, samples, curves)
    listener = socket.create_server(("127.0.0.1", 0))
    uvicorn_server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    thread = threading.Thread(target=uvicorn_server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uvicorn_server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the explain server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    uvicorn_server.should_exit = True
    thread.join(timeout=10)
    listener.close()


@pytest.fixture(scope="session")
def client(server):
    return Client(server)


def layer_outputs(view, pixels):
    """The model input and every layer's output for a picture, by calling the layers (the library)."""
    values = view.model_input(pixels)
    outputs = [values[0]]
    for layer in view.layers:
        values = np.asarray(layer(values, training=False))
        outputs.append(values[0])
    return outputs
