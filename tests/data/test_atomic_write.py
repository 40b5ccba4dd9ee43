"""atomic_write: whole files or none, the user's umask, and no leftovers of killed writers."""

import contextlib
import errno
import fcntl
import os
import stat

import pytest

import cnnlab as tf
from cnnlab.datasets._files import atomic_write, remove_leftovers


@contextlib.contextmanager
def umask(mask):
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def mode_of_a_plain_open(directory, mask):
    """What ``open(path, "w")`` gives under ``mask``: the rule Keras's writers follow."""
    with umask(mask), open(directory / "plain", "w") as f:
        f.write("x")
    try:
        return mode(directory / "plain")
    finally:
        os.remove(directory / "plain")


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o077, 0o002])
def test_a_new_file_gets_what_open_gives_under_the_umask(tmp_path, mask):
    with umask(mask), atomic_write(tmp_path / "data.json", "w") as f:
        f.write("{}")
    assert mode(tmp_path / "data.json") == 0o666 & ~mask == mode_of_a_plain_open(tmp_path, mask)
    assert (tmp_path / "data.json").read_text() == "{}"


def test_a_model_file_is_written_0644_under_umask_022_as_keras_writes_it(tmp_path):
    model = tf.keras.Sequential([tf.keras.Input(shape=(3,)), tf.keras.layers.Dense(2)])
    with umask(0o022):
        model.save(tmp_path / "m.keras")
        model.save_weights(tmp_path / "m.weights.keras")
    assert mode(tmp_path / "m.keras") == mode(tmp_path / "m.weights.keras") == 0o644


def test_a_replaced_file_keeps_its_permission_bits(tmp_path):
    target = tmp_path / "private.json"
    target.write_text("old")
    os.chmod(target, 0o600)
    with umask(0o022), atomic_write(target, "w") as f:
        f.write("new")
    assert target.read_text() == "new" and mode(target) == 0o600


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path):
    target = tmp_path / "model.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_write(target) as f:
        f.write(b"half")
        raise RuntimeError("stopped")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.bin"]


def test_a_full_disk_names_the_file(tmp_path, monkeypatch):
    def no_space(descriptor):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(OSError) as info, atomic_write(tmp_path / "out.png") as f:
        f.write(b"png")
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(tmp_path / "out.png")
    assert list(tmp_path.iterdir()) == []


def leftover(directory, name):
    """A temporary file as a killed writer leaves it: unlocked, named as atomic_write names them."""
    path = directory / name
    path.write_bytes(b"partial")
    return path


def test_the_next_write_removes_what_a_killed_writer_left_for_the_same_file(tmp_path):
    killed = [
        leftover(tmp_path, ".history.json.0f3a9c2e.part"),  # atomic_write's names
        leftover(tmp_path, ".history.json.k2_9xq7a.part"),  # tempfile.mkstemp's, as cnnlab used before
    ]
    others = [
        leftover(tmp_path, ".metrics.json.0f3a9c2e.part"),  # another file's
        leftover(tmp_path, "history.json.0f3a9c2e.part"),  # no leading dot: not ours
        leftover(tmp_path, ".history.json.0f3a9c2.part"),  # seven characters: not ours
        leftover(tmp_path, ".history.json.0f3a9c2e.part.bak"),
        leftover(tmp_path, ".history.json.notes"),
    ]
    with atomic_write(tmp_path / "history.json", "w") as f:
        f.write("{}")
    assert not any(path.exists() for path in killed)
    assert all(path.read_bytes() == b"partial" for path in others)


def test_model_saves_remove_the_temporary_files_of_killed_saves(tmp_path):
    killed = leftover(tmp_path, ".model.keras.ab12cd34.tmp")  # the model writer's names before atomic_write
    model = tf.keras.Sequential([tf.keras.Input(shape=(3,)), tf.keras.layers.Dense(2)])
    model.save(tmp_path / "model.keras")
    assert not killed.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.keras"]


def test_a_temporary_file_that_a_living_writer_holds_is_never_removed(tmp_path):
    busy = leftover(tmp_path, ".state.json.12345678.part")
    with open(busy, "rb") as writer:
        fcntl.flock(writer.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # as atomic_write holds its own
        assert remove_leftovers(tmp_path, "state.json".__eq__) == []
        with atomic_write(tmp_path / "state.json", "w") as f:
            f.write("{}")
        assert busy.exists()
    assert remove_leftovers(tmp_path, "state.json".__eq__) == [str(busy)]


def test_remove_leftovers_skips_directories_links_and_missing_folders(tmp_path):
    (tmp_path / ".a.keras.12345678.part").mkdir()
    target = leftover(tmp_path, "real-file")
    (tmp_path / ".b.keras.12345678.part").symlink_to(target)
    assert remove_leftovers(tmp_path, lambda name: True) == []
    assert target.exists() and (tmp_path / ".a.keras.12345678.part").is_dir()
    assert remove_leftovers(tmp_path / "missing", lambda name: True) == []


def test_while_writing_the_temporary_file_is_locked(tmp_path):
    with atomic_write(tmp_path / "big.bin") as f:
        (temporary,) = [p for p in tmp_path.iterdir() if p.name.startswith(".big.bin.")]
        assert remove_leftovers(tmp_path, "big.bin".__eq__) == []  # its writer is alive
        f.write(b"data")
    assert not temporary.exists() and (tmp_path / "big.bin").read_bytes() == b"data"


def test_a_directory_in_the_way_is_named_as_the_target(tmp_path):
    (tmp_path / "out.png").mkdir()
    with pytest.raises(IsADirectoryError) as info, atomic_write(tmp_path / "out.png") as f:
        f.write(b"png")
    assert (info.value.filename, info.value.filename2) == (str(tmp_path / "out.png"), None)
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]
