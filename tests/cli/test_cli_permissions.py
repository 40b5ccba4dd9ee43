"""Folders the user may not write and files they may not read: one line each, found before the work.

The commands run in one subprocess that the file modes bind: as root, without the
capabilities that let root read and write whatever the modes say
(``setpriv --bounding-set -dac_override,-dac_read_search``), so the modes apply to root
as the files' owner.
"""

import json
import os
import shutil
import subprocess
import sys

import pytest

from cnnlab.cli import main

# Runs each argv of argv[1] (a JSON list) through cnnlab's main, printing [[status, stdout, stderr], ...].
RUN_COMMANDS = r"""
import contextlib, io, json, sys
from cnnlab.cli import main
results = []
for argv in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(argv)
        except SystemExit as exit_:
            status = exit_.code
    results.append([status, out.getvalue(), err.getvalue()])
print(json.dumps(results))
"""


def run_bound_by_file_modes(commands):
    prefix = []
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.fail("setpriv (util-linux) is needed to run commands as root without its override of file modes")
        prefix = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"]
    result = subprocess.run(
        [*prefix, sys.executable, "-c", RUN_COMMANDS, json.dumps([[str(a) for a in argv] for argv in commands])],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr  # a traceback would end the script
    return json.loads(result.stdout)


@pytest.fixture
def locked(tmp_path):
    """``locked(path, mode)`` chmods ``path``, restored afterwards so the folder can be cleaned up."""
    changed = []

    def lock(path, mode):
        changed.append((path, os.stat(path).st_mode & 0o777))
        os.chmod(path, mode)
        return path

    yield lock
    for path, mode in reversed(changed):
        os.chmod(path, mode)


def test_unwritable_folders_and_unreadable_files(tmp_path, locked, fake_data):
    run = tmp_path / "run"
    assert main(["train", "--epochs", "1", "--limit", "30", "--out", str(run)]) == 0
    shutil.copytree(run, tmp_path / "frozen")
    shutil.copytree(run, tmp_path / "hidden-state")
    (tmp_path / "read-only").mkdir()
    read_only = locked(tmp_path / "read-only", 0o555)
    frozen = locked(tmp_path / "frozen", 0o555)
    locked(frozen / "checkpoint", 0o555)
    state = locked(tmp_path / "hidden-state" / "checkpoint" / "state.json", 0o000)
    (tmp_path / "secret.png").write_bytes((run / "history.png").read_bytes())
    secret_picture = locked(tmp_path / "secret.png", 0o000)
    shutil.copy(run / "model.keras", tmp_path / "secret.keras")
    secret_model = locked(tmp_path / "secret.keras", 0o000)

    cases = [
        (["train", "--out", read_only], "train", f"{read_only}: cannot write into it: permission denied"),
        (
            ["train", "--out", read_only / "run"],
            "train",
            f"{read_only / 'run'}: cannot write into {read_only}: permission denied",
        ),
        (["train", "--resume", frozen], "train", f"{frozen}: cannot write into it: permission denied"),
        (
            ["train", "--resume", tmp_path / "hidden-state"],
            "train",
            f"{state}: unreadable checkpoint state (permission denied)",
        ),
        (
            ["evaluate", run, "--out", read_only / "cm.png"],
            "evaluate",
            f"{read_only / 'cm.png'}: cannot write into {read_only}: permission denied",
        ),
        (
            ["evaluate", frozen],  # the PNG goes beside the model by default
            "evaluate",
            f"{frozen / 'confusion_matrix.png'}: cannot write into {frozen}: permission denied",
        ),
        (
            ["inspect", run, "--out", read_only / "look"],
            "inspect",
            f"{read_only / 'look'}: cannot write into {read_only}: permission denied",
        ),
        (
            ["activations", "--out", read_only / "a.png"],
            "activations",
            f"{read_only / 'a.png'}: cannot write into {read_only}: permission denied",
        ),
        (["predict", run, secret_picture], "predict", f"{secret_picture}: permission denied"),
        (
            ["predict", secret_model, secret_picture],
            "predict",
            f"{secret_model}: cannot load the model: permission denied",
        ),
    ]
    results = run_bound_by_file_modes([argv for argv, _, _ in cases])
    for (argv, command, message), (status, out, err) in zip(cases, results):
        assert (status, out, err.splitlines()) == (1, "", [f"cnnlab {command}: error: {message}"]), argv
    assert sorted(p.name for p in read_only.iterdir()) == []
