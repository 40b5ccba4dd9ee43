"""A user's mistake ends in one line `cnnlab COMMAND: error: ...` naming the path, status 1, no traceback, no work."""

import errno
import io
import json
import os
import shutil
import struct

import numpy as np
import pytest
from PIL import Image

import cnnlab as tf
from cnnlab.cli import main, train
from cnnlab.cli.common import describe_os_error
from cnnlab.datasets import write_idx


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, fake_data_dir, fake_env):
    """A finished one-epoch run of the seed model, for the tests that read it or copy it."""
    directory = tmp_path_factory.mktemp("run")
    with pytest.MonkeyPatch.context() as monkeypatch:
        fake_env.apply(monkeypatch, fake_data_dir, directory / "home")
        assert main(["train", "--epochs", "1", "--limit", "30", "--out", str(directory)]) == 0
    return directory


def one_error_line(status, out, err, command, message):
    """The checks every mistake shares: status 1, nothing on stdout (no work was done), one line on stderr."""
    assert "Traceback" not in err
    assert err.splitlines() == [f"cnnlab {command}: error: {message}"]
    assert status == 1 and out == ""


def test_train_into_a_file(cli, tmp_path):
    (tmp_path / "notes").write_text("mine")
    one_error_line(
        *cli("train", "--out", tmp_path / "notes"), "train", f"{tmp_path / 'notes'}: exists and is not a directory"
    )
    one_error_line(
        *cli("train", "--out", tmp_path / "notes" / "run"),
        "train",
        f"{tmp_path / 'notes' / 'run'}: {tmp_path / 'notes'} is not a directory",
    )
    assert (tmp_path / "notes").read_text() == "mine"


def test_train_under_a_dangling_link(cli, tmp_path):
    (tmp_path / "gone").symlink_to(tmp_path / "nowhere")
    one_error_line(
        *cli("train", "--out", tmp_path / "gone" / "run"),
        "train",
        f"{tmp_path / 'gone' / 'run'}: the directory {tmp_path / 'gone'} does not exist",
    )


def test_train_creates_missing_folders(cli, tmp_path):
    status, _, err = cli("train", "--epochs", "1", "--limit", "30", "--out", tmp_path / "a" / "b" / "run")
    assert status == 0, err
    assert (tmp_path / "a" / "b" / "run" / "model.keras").is_file()


def test_train_finds_a_folder_where_it_writes_a_file_before_training(cli, tmp_path):
    (tmp_path / "run" / "history.png").mkdir(parents=True)
    one_error_line(
        *cli("train", "--epochs", "1", "--limit", "30", "--out", tmp_path / "run"),
        "train",
        f"{tmp_path / 'run' / 'history.png'}: is a directory, where cnnlab train writes a file",
    )
    (tmp_path / "run2" / "checkpoint").mkdir(parents=True)
    (tmp_path / "run2" / "checkpoint" / "state.json").mkdir()
    one_error_line(
        *cli("train", "--epochs", "1", "--limit", "30", "--out", tmp_path / "run2"),
        "train",
        f"{tmp_path / 'run2' / 'checkpoint' / 'state.json'}: is a directory, where cnnlab train writes a file",
    )
    (tmp_path / "run3").mkdir()
    (tmp_path / "run3" / "checkpoint").write_text("")
    one_error_line(
        *cli("train", "--epochs", "1", "--limit", "30", "--out", tmp_path / "run3"),
        "train",
        f"{tmp_path / 'run3' / 'checkpoint'}: exists and is not a directory",
    )


@pytest.mark.parametrize("command", ["evaluate", "activations"])
def test_a_directory_given_for_the_png(cli, run_dir, tmp_path, command):
    model = (run_dir,) if command == "evaluate" else ()
    one_error_line(
        *cli(command, *model, "--out", tmp_path),
        command,
        f"{tmp_path}: is a directory; expected the name of a file to write",
    )


def test_evaluate_checks_its_output_before_the_work(cli, run_dir, tmp_path):
    one_error_line(
        *cli("evaluate", run_dir, "--out", tmp_path / "missing" / "cm.png"),
        "evaluate",
        f"{tmp_path / 'missing' / 'cm.png'}: the directory {tmp_path / 'missing'} does not exist",
    )


def test_inspect_into_a_file(cli, run_dir, tmp_path):
    (tmp_path / "look").write_text("")
    one_error_line(
        *cli("inspect", run_dir, "--out", tmp_path / "look"),
        "inspect",
        f"{tmp_path / 'look'}: exists and is not a directory",
    )


def test_inspect_makes_no_folder_for_a_picture_it_cannot_read(cli, run_dir, tmp_path):
    one_error_line(
        *cli("inspect", run_dir, "--image", tmp_path / "none.png", "--out", tmp_path / "look"),
        "inspect",
        f"{tmp_path / 'none.png'}: no such file",
    )
    assert not (tmp_path / "look").exists()


@pytest.fixture(scope="module")
def other_models(tmp_path_factory):
    """Models that load but are not Fashion-MNIST classifiers."""
    directory = tmp_path_factory.mktemp("models")
    keras = tf.keras
    keras.Sequential(
        [keras.Input(shape=(32, 32, 3)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")]
    ).save(directory / "rgb.keras")
    keras.Sequential(
        [keras.Input(shape=(28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(3, activation="softmax")]
    ).save(directory / "three.keras")
    return directory


@pytest.mark.parametrize("command", ["predict", "evaluate", "inspect"])
def test_a_model_for_other_data_is_one_line(cli, other_models, tmp_path, command):
    picture = tmp_path / "p.png"
    Image.new("L", (10, 10)).save(picture)
    rest = {"predict": (picture,), "evaluate": ("--out", tmp_path / "cm.png"), "inspect": ("--out", tmp_path / "i")}
    rgb, three = other_models / "rgb.keras", other_models / "three.keras"
    one_error_line(
        *cli(command, rgb, *rest[command]),
        command,
        f"{rgb}: not a Fashion-MNIST classifier: predict: the model expects x of shape (None, 32, 32, 3) "
        "(samples of shape (32, 32, 3)); received x of shape (1, 28, 28, 1).",
    )
    one_error_line(
        *cli(command, three, *rest[command]),
        command,
        f"{three}: not a Fashion-MNIST classifier: expected 10 class scores per image; "
        "the model gives an output of shape (3,)",
    )


# ---- train --resume of a damaged checkpoint --------------------------------------------------------


def damaged_copy(run_dir, tmp_path, change):
    """A copy of ``run_dir`` whose state.json ``change(state)`` altered (or replaced, if it returns bytes)."""
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    path = copy / "checkpoint" / "state.json"
    state = json.loads(path.read_text())
    changed = change(state)
    path.write_bytes(changed if isinstance(changed, bytes) else json.dumps(state).encode())
    return copy


def without(key):
    return lambda state: state.pop(key)


def setting(key, value):
    return lambda state: state["settings"].__setitem__(key, value)


@pytest.mark.parametrize(
    "change, problem",
    [
        (without("settings"), "damaged checkpoint state: 'settings' is missing or not an object"),
        (
            lambda state: state.__setitem__("settings", [1]),
            "damaged checkpoint state: 'settings' is missing or not an object",
        ),
        (lambda state: state["settings"].pop("lr"), "damaged checkpoint state: 'settings' lacks 'lr'"),
        (setting("lr", "fast"), "damaged checkpoint state: settings['lr'] must be a finite number > 0; found \"fast\""),
        (
            setting("lr", float("nan")),
            "damaged checkpoint state: settings['lr'] must be a finite number > 0; found NaN",
        ),
        (
            setting("model", ["seed"]),
            "damaged checkpoint state: settings['model'] must be one of seed, seed-dropout, deep, small-resnet; found [\"seed\"]",
        ),
        (
            setting("epochs", True),
            "damaged checkpoint state: settings['epochs'] must be a whole number >= 1; found true",
        ),
        (
            setting("limit", 0),
            "damaged checkpoint state: settings['limit'] must be null or a whole number >= 1; found 0",
        ),
        (
            lambda state: state.__setitem__("epochs_done", 5),
            "damaged checkpoint state: 'epochs_done' must be a whole number from 0 to settings['epochs']; found 5",
        ),
        (
            lambda state: state["history"]["loss"].append(1.0),
            "damaged checkpoint state: 'history' must map each metric to a list of 1 numbers (one per epoch done)",
        ),
        (without("seconds"), "damaged checkpoint state: 'seconds' must be a number >= 0"),
        (
            lambda state: state.__setitem__("model_file", "../../model.keras"),
            "damaged checkpoint state: 'model_file' must name a file epoch-NNNN.keras beside it; "
            + 'found "../../model.keras"',
        ),
        (without("format"), "not a cnnlab train checkpoint of version 1"),
        (
            lambda state: b"{",
            "unreadable checkpoint state (Expecting property name enclosed in double quotes: line 1 column 2 (char 1))",
        ),
        (lambda state: b"[" * 100_000, "unreadable checkpoint state (JSON nested too deeply)"),
        (
            lambda state: b"\xff",
            "unreadable checkpoint state ('utf-8' codec can't decode byte 0xff in position 0: invalid start byte)",
        ),
    ],
)
def test_resume_from_a_damaged_checkpoint(cli, run_dir, tmp_path, change, problem):
    copy = damaged_copy(run_dir, tmp_path, change)
    one_error_line(*cli("train", "--resume", copy), "train", f"{copy / 'checkpoint' / 'state.json'}: {problem}")


def test_resume_refuses_a_state_file_too_large_to_be_one(cli, run_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(train, "STATE_MAX_BYTES", 100)
    state = tmp_path / "run" / "checkpoint" / "state.json"
    shutil.copytree(run_dir, tmp_path / "run")
    one_error_line(
        *cli("train", "--resume", tmp_path / "run"),
        "train",
        f"{state}: not a cnnlab train checkpoint (larger than 100 bytes)",
    )


def test_resume_where_the_state_or_the_run_is_not_a_file_or_folder(cli, run_dir, tmp_path):
    shutil.copytree(run_dir, tmp_path / "run")
    state = tmp_path / "run" / "checkpoint" / "state.json"
    state.unlink()
    state.mkdir()
    one_error_line(
        *cli("train", "--resume", tmp_path / "run"),
        "train",
        f"{state}: is a directory, where cnnlab train writes a file",
    )
    (tmp_path / "file").write_text("")
    one_error_line(
        *cli("train", "--resume", tmp_path / "file"), "train", f"{tmp_path / 'file'}: exists and is not a directory"
    )


def test_a_new_run_over_a_damaged_checkpoint_says_so(cli, run_dir, tmp_path):
    copy = damaged_copy(run_dir, tmp_path, without("settings"))
    one_error_line(
        *cli("train", "--epochs", "1", "--out", copy),
        "train",
        f"{copy / 'checkpoint' / 'state.json'}: damaged checkpoint state: 'settings' is missing or not an object",
    )
    status, out, err = cli("train", "--epochs", "1", "--limit", "30", "--out", copy, "--overwrite")
    assert status == 0 and out.startswith(f"replacing the run in {copy}\n"), err


# ---- what the system refuses, and warnings -----------------------------------------------------------


def test_an_os_error_during_the_work_is_one_line_naming_the_file(cli, tmp_path, monkeypatch):
    def full_disk(descriptor):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full_disk)
    status, out, err = cli("activations", "--out", tmp_path / "a.png")
    assert status == 1 and out == "" and "Traceback" not in err
    assert err.splitlines() == [f"cnnlab activations: error: {tmp_path / 'a.png'}: no space left on device"]
    assert list(tmp_path.iterdir()) == []


def test_os_errors_are_described_by_their_paths():
    assert (
        describe_os_error(PermissionError(errno.EACCES, "Permission denied", "runs/x")) == "runs/x: permission denied"
    )
    assert (
        describe_os_error(IsADirectoryError(errno.EISDIR, "Is a directory", ".a.part", None, "a"))
        == ".a.part -> a: is a directory"
    )
    assert describe_os_error(OSError(errno.ENOSPC, "No space left on device")) == "no space left on device"


def jpeg_with_damaged_exif():
    header = struct.pack("<2sHI", b"II", 42, 8)
    entry = struct.pack("<HHHI4s", 1, 0x010F, 2, 10, struct.pack("<I", 4000))  # Make, stored beyond the block
    buffer = io.BytesIO()
    picture = Image.new("RGB", (40, 30), (250, 250, 250))
    picture.paste((20, 20, 20), (10, 5, 30, 25))
    picture.save(buffer, "JPEG", exif=b"Exif\x00\x00" + header + entry + struct.pack("<I", 0))
    return buffer.getvalue()


def test_predict_reports_each_bad_picture_and_classifies_the_others(cli, run_dir, tmp_path):
    wide = Image.new("L", (20000, 4000), 250)  # 78 KB as a PNG, 5.3 GB once padded at full size
    wide.paste(40, (20, 400, 19980, 3600))
    wide.save(tmp_path / "wide.png", optimize=True)
    (tmp_path / "exif.jpg").write_bytes(jpeg_with_damaged_exif())
    Image.fromarray(np.full((9, 9), np.nan, np.float32), mode="F").save(tmp_path / "nan.tif")
    Image.new("L", (10000, 10000)).save(tmp_path / "bomb.png")  # past MAX_IMAGE_PIXELS, where Image.open warns
    files = [tmp_path / name for name in ("wide.png", "nan.tif", "exif.jpg", "bomb.png")]
    status, out, err = cli("predict", run_dir, *files, "--json")
    assert status == 1 and "Traceback" not in err
    lines = err.splitlines()
    assert (
        lines[0] == f"cnnlab predict: error: {files[1]}: the image holds NaN or infinite pixel values (81 of 81); "
        "expected finite numbers"
    )
    assert lines[1].startswith(f"cnnlab predict: warning: {files[2]}: partly damaged, read anyway (Pillow: ")
    assert lines[2] == (
        f"cnnlab predict: error: {files[3]}: too large to decode safely: 10000x10000 is 100000000 pixels, "
        f"more than PIL.Image.MAX_IMAGE_PIXELS ({Image.MAX_IMAGE_PIXELS})"
    )
    assert len(lines) == 3
    results = json.loads(out)
    assert [("predictions" in entry, "error" in entry) for entry in results] == [
        (True, False),
        (False, True),
        (True, False),
        (False, True),
    ]


@pytest.mark.parametrize("command", ["train", "evaluate", "inspect"])
def test_an_empty_test_set_is_one_line_before_the_work(cli, run_dir, fake_data_dir, tmp_path, command):
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
        shutil.copy(fake_data_dir / name, tmp_path / name)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.zeros((0, 28, 28), np.uint8))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros((0,), np.uint8))
    rest = {"train": ("--out", tmp_path / "run"), "evaluate": (run_dir, "--out", tmp_path / "cm.png")}
    one_error_line(
        *cli(command, *rest.get(command, (run_dir, "--out", tmp_path / "look")), "--data", tmp_path),
        command,
        f"{tmp_path}: the Fashion-MNIST test set holds no images",
    )
