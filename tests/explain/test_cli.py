"""``cnnlab explain`` as a command: its options, its mistakes in one line, the server it starts."""

import os
import re
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from cnnlab.cli import main

from .conftest import Client


def run_cli(capsys, *args):
    try:
        status = main([str(a) for a in args])
    except SystemExit as exit_:  # argparse: --help, usage mistakes
        status = exit_.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_help_names_the_command_and_its_options(capsys):
    status, out, _ = run_cli(capsys, "explain", "--help")
    assert status == 0
    for text in ("RUN_OR_MODEL", "--no-browser", "--port", "--host", "127.0.0.1", "cnnlab explain runs/seed"):
        assert text in out
    status, out, _ = run_cli(capsys, "--help")
    assert "explain" in out


def test_without_the_web_framework_it_says_what_to_install(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # makes `import uvicorn` fail
    status, out, err = run_cli(capsys, "explain", "--no-browser")
    assert status == 1 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("cnnlab explain: error: the explain page needs Starlette, uvicorn and Pillow")
    assert "pip install 'cnnlab[explain]'" in err and "pip install '.[explain]'" in err


@pytest.mark.parametrize(
    "args, message",
    [
        (["no-such-run"], "no-such-run/model.keras: no such model file"),
        (["--port", "70000"], "--port: expected 0-65535"),
    ],
)
def test_mistakes_are_one_line(capsys, web_framework, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    os.mkdir("no-such-run")
    status, _, err = run_cli(capsys, "explain", "--no-browser", *args)
    assert status == 1 and err.count("\n") == 1 and message in err


def test_a_model_that_does_not_take_pictures_is_refused_in_one_line(capsys, web_framework, tmp_path):
    from cnnlab import keras

    model = keras.Sequential([keras.Input(shape=(784,)), keras.layers.Dense(10)])
    model.save(tmp_path / "flat.keras")
    status, _, err = run_cli(capsys, "explain", "--no-browser", tmp_path / "flat.keras")
    assert status == 1 and err.count("\n") == 1
    assert "input is a picture (height, width, 1 or 3 channels); this model takes inputs of shape (None, 784)" in err


def test_a_port_in_use_is_reported(capsys, web_framework):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        status, _, err = run_cli(capsys, "explain", "--no-browser", "--port", port)
    assert status == 1 and err.count("\n") == 1
    assert f"cannot listen on 127.0.0.1:{port}" in err


@pytest.mark.parametrize("browser", [True, False])
def test_the_browser_opens_at_the_printed_address_unless_no_browser(capsys, web_framework, monkeypatch, browser):
    import uvicorn

    opened, served = [], []
    monkeypatch.setattr("webbrowser.open", opened.append)

    def serve(self, sockets):
        served.append(sockets[0].getsockname())
        raise KeyboardInterrupt  # as Ctrl+C ends the server

    monkeypatch.setattr(uvicorn.Server, "run", serve)
    status, out, err = run_cli(capsys, "explain", *([] if browser else ["--no-browser"]))
    assert status == 0
    url = re.search(r"at (http://127\.0\.0\.1:(\d+)/) ", out)
    assert url and int(url.group(2)) == served[0][1] and served[0][0] == "127.0.0.1"
    assert "the seed model shipped with cnnlab" in out
    assert opened == ([url.group(1)] if browser else [])
    assert err == "cnnlab explain: stopped\n"


def test_the_command_serves_the_page_until_interrupted(web_framework):
    process = subprocess.Popen(
        [sys.executable, "-m", "cnnlab.cli", "explain", "--no-browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        url = re.search(r"(http://127\.0\.0\.1:\d+)/", line)
        assert url, (line, process.poll())
        client = Client(url.group(1))
        deadline = time.monotonic() + 30
        while True:  # uvicorn starts serving right after the line is printed
            try:
                status, page = client.get("/")
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        assert status == 200 and "cnnlab explain" in page
        answer = client.ok("/api/predict", {"sample": 0})
        assert answer["top"][0]["class"] == "Ankle boot"
        assert np.array(answer["pixels"]).shape == (28, 28)
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "Traceback" not in err and err.strip().endswith("cnnlab explain: stopped")


def test_a_missing_dependency_skips_but_fails_under_ci(monkeypatch):
    from .conftest import require

    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="Chromium is missing"):
        require(False, "Chromium", "apt-get install chromium")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="under CI=true a missing dependency is a failure"):
        require(False, "Chromium", "apt-get install chromium")
    require(True, "Chromium", "apt-get install chromium")  # present: nothing happens
