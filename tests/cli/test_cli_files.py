"""The files `cnnlab` writes: the user's umask, and a run killed with SIGKILL resumes bit-identically and cleanly.

The runs here are real `cnnlab` processes: the kill is a SIGKILL from this process, no
exception the command could catch, and the umask is set in the child (``subprocess``'s
``umask=``) so this process keeps its own.
"""

import contextlib
import json
import os
import signal
import stat
import subprocess
import sys
import time

import numpy as np
import pytest

import cnnlab as tf

TRAIN = ("train", "--model", "seed-dropout", "--epochs", "3", "--batch-size", "16", "--limit", "40", "--seed", "5")
RUN_FILES = [
    "checkpoint/epoch-0003.keras",
    "checkpoint/state.json",
    "data.json",
    "history.json",
    "history.png",
    "metrics.json",
    "model.keras",
]
UMASK = 0o027  # neither the 0600 of mkstemp nor the 0644 of the usual umask

# `cnnlab train` whose atomic writes pause, complete but not yet renamed into place, at the first
# temporary file whose name matches argv[2] (they are fsynced just before the rename), after
# creating the file argv[1]; the test then kills it.
PAUSING_TRAIN = r"""
import os, re, sys, time
from cnnlab.cli import main
marker, pattern = sys.argv[1], re.compile(sys.argv[2])
fsync = os.fsync

def fsync_then_pause(descriptor):
    fsync(descriptor)
    if pattern.fullmatch(os.path.basename(os.readlink(f"/proc/self/fd/{descriptor}"))):
        open(marker, "w").close()
        time.sleep(600)

os.fsync = fsync_then_pause
sys.exit(main(sys.argv[3:]))
"""


def cnnlab(*args):
    result = subprocess.run(
        [sys.executable, "-m", "cnnlab.cli", *map(str, args)],
        capture_output=True,
        text=True,
        umask=UMASK,
        timeout=300,
        check=False,
    )
    assert "Traceback" not in result.stderr
    return result


def files_under(directory):
    return sorted(str(path.relative_to(directory)) for path in directory.rglob("*") if path.is_file())


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(scope="module")
def straight_run(tmp_path_factory, fake_data_dir, fake_env):
    run = tmp_path_factory.mktemp("straight") / "run"
    with pytest.MonkeyPatch.context() as monkeypatch:  # the child inherits the fake data's environment
        fake_env.apply(monkeypatch, fake_data_dir, run.parent / "home")
        result = cnnlab(*TRAIN, "--out", run)
    assert result.returncode == 0, result.stderr
    return run


def test_every_file_of_a_run_honours_the_umask(straight_run):
    assert files_under(straight_run) == RUN_FILES
    assert {name: mode(straight_run / name) for name in RUN_FILES} == {name: 0o666 & ~UMASK for name in RUN_FILES}
    assert mode(straight_run) == mode(straight_run / "checkpoint") == 0o777 & ~UMASK


@contextlib.contextmanager
def umask(mask):
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def test_the_pictures_honour_the_umask(cli, straight_run, tmp_path):
    with umask(UMASK):
        assert cli("evaluate", straight_run, "--out", tmp_path / "cm.png")[0] == 0
        assert cli("activations", "--out", tmp_path / "a.png")[0] == 0
        assert cli("inspect", straight_run, "--out", tmp_path / "look")[0] == 0
    pictures = [tmp_path / "cm.png", tmp_path / "a.png", *sorted((tmp_path / "look").iterdir())]
    assert len(pictures) == 6 and all(mode(path) == 0o666 & ~UMASK for path in pictures)


def kill_while_saving(run, temporary_name, marker):
    """Start `cnnlab train`, SIGKILL it while its temporary file ``temporary_name`` (a regex) waits to be renamed."""
    child = subprocess.Popen(
        [sys.executable, "-c", PAUSING_TRAIN, str(marker), temporary_name, *TRAIN, "--out", str(run)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        umask=UMASK,
    )
    try:
        deadline = time.monotonic() + 300
        while not marker.exists():
            assert child.poll() is None, f"the run ended before the save to kill: {child.stderr.read().decode()}"
            assert time.monotonic() < deadline, "no save to kill within 300 s"
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()  # nothing if it is dead already
        child.wait()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL


@pytest.mark.parametrize(
    "killed_in, epochs_done, leftover",
    [
        ("checkpoint", 1, r"\.epoch-0002\.keras\..*"),  # the model of the second checkpoint: state.json names epoch 1
        ("run", 3, r"\.model\.keras\..*"),  # the final model, after the last checkpoint
    ],
)
def test_a_run_killed_while_saving_resumes_bit_identically_and_cleans_up(
    straight_run, tmp_path, killed_in, epochs_done, leftover
):
    run = tmp_path / "run"
    kill_while_saving(run, leftover, tmp_path / "paused")
    state = json.loads((run / "checkpoint" / "state.json").read_text())
    assert state["epochs_done"] == epochs_done
    folder = run / "checkpoint" if killed_in == "checkpoint" else run
    left = [path.name for path in folder.iterdir() if path.name.startswith(".")]
    assert len(left) == 1 and os.path.getsize(folder / left[0]) > 0  # what a kill in a save leaves

    resumed = cnnlab("train", "--resume", run)
    assert resumed.returncode == 0, resumed.stderr
    if epochs_done < 3:
        assert f"resuming {run} after epoch {epochs_done} of 3\n" in resumed.stdout
    assert files_under(run) == RUN_FILES  # the temporary file is gone, and nothing else is left
    assert all(mode(run / name) == 0o666 & ~UMASK for name in RUN_FILES)

    straight = tf.keras.models.load_model(straight_run / "model.keras")
    again = tf.keras.models.load_model(run / "model.keras")
    for a, b in zip(straight.get_weights(), again.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    straight_state, again_state = straight.optimizer.get_state(), again.optimizer.get_state()
    assert list(straight_state) == list(again_state) and int(again_state["iterations"]) == 3 * 2  # 32 images, batch 16
    for key in straight_state:
        np.testing.assert_array_equal(straight_state[key], again_state[key], err_msg=key)
    for name in ("history.json", "checkpoint/state.json", "metrics.json"):
        expected, got = (json.loads((directory / name).read_text()) for directory in (straight_run, run))
        for document in (expected, got):
            document.pop("train_seconds", None)  # timings differ
            document.pop("seconds", None)
            document.get("settings", {}).pop("out", None)
        assert got == expected, name


def test_resume_and_overwrite_remove_the_leftovers_of_any_checkpoint_but_nothing_else(cli, tmp_path):
    run = tmp_path / "run"
    assert cli("train", "--epochs", "1", "--limit", "30", "--out", run)[0] == 0
    state = json.loads((run / "checkpoint" / "state.json").read_text())
    state["settings"]["epochs"] = 2  # as if killed after epoch 1 of 2
    (run / "checkpoint" / "state.json").write_text(json.dumps(state))
    leftovers = [
        run / "checkpoint" / ".epoch-0009.keras.k2_9xq7a.tmp",  # of a checkpoint no save of this run rewrites
        run / "checkpoint" / ".state.json.0f3a9c2e.part",
        run / ".metrics.json.0f3a9c2e.part",
    ]
    kept = [run / "checkpoint" / ".epoch-0009.keras.bak", run / "notes.txt", run / ".notes.txt.0f3a9c2e.part"]
    for path in leftovers + kept:
        path.write_text("x")
    status, _, err = cli("train", "--resume", run)
    assert status == 0, err
    assert not any(path.exists() for path in leftovers) and all(path.exists() for path in kept)

    for path in leftovers:
        path.write_text("x")
    assert cli("train", "--epochs", "1", "--limit", "30", "--out", run, "--overwrite")[0] == 0
    assert not any(path.exists() for path in leftovers) and all(path.exists() for path in kept)
