"""``mpirun -n 2 cnnlab train``: the same run as one process with the doubled batch; --resume, --scale-lr, Dropout."""

import json
import pathlib
import sys

import numpy as np
import pytest

from cnnlab import keras
from cnnlab.cli import main
from cnnlab.datasets import write_idx

LIMIT = 49  # 39 training images after the validation split: 2 global batches of 16, then 7 split 4 + 3


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """A small Fashion-MNIST look-alike: noise with a bright stripe whose row depends on the class."""
    directory = tmp_path_factory.mktemp("fake-fashion-mnist")
    rng = np.random.default_rng(0)
    for prefix, count in (("train", 60), ("t10k", 20)):
        labels = (np.arange(count) * (1 if prefix == "train" else 3) % 10).astype(np.uint8)
        images = rng.integers(0, 60, (count, 28, 28), dtype=np.uint8)
        for i, label in enumerate(labels):
            images[i, 3 + 2 * label : 5 + 2 * label, 4:24] = 230
        write_idx(directory / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(directory / f"{prefix}-labels-idx1-ubyte.gz", labels)
    return directory


def cnnlab_command(*args):
    """The ``cnnlab`` command installed beside this Python (``python -m cnnlab.cli`` if there is none)."""
    script = pathlib.Path(sys.executable).parent / "cnnlab"
    launcher = [str(script)] if script.exists() else [sys.executable, "-m", "cnnlab.cli"]
    return [*launcher, *map(str, args)]


def train(mpirun, *args):
    completed, _ = mpirun(2, *cnnlab_command("train", *args))
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed.stdout


def run_files(run_dir):
    history = json.loads((run_dir / "history.json").read_text())
    return history, keras.models.load_model(run_dir / "model.keras")


COMMON = ("--model", "seed", "--epochs", "2", "--limit", str(LIMIT))


@pytest.fixture(scope="module")
def two_process_run(mpirun, data_dir, tmp_path_factory):
    """``mpirun -n 2 cnnlab train`` with a batch of 8 per process: (its run folder, what it printed)."""
    out_dir = tmp_path_factory.mktemp("runs") / "two"
    printed = train(mpirun, *COMMON, "--data", data_dir, "--batch-size", 8, "--out", out_dir)
    return out_dir, printed


def test_two_processes_train_as_one_with_the_doubled_batch(two_process_run, data_dir, tmp_path, capsys):
    two_dir, printed = two_process_run
    assert main(["train", *COMMON, "--data", str(data_dir), "--batch-size", "16", "--out", str(tmp_path / "one")]) == 0
    capsys.readouterr()
    assert "batch 8 on 2 processes (a global batch of 16)" in printed
    assert printed.count("epoch 1/2 ") == 1 and printed.count("test accuracy") == 1  # rank 0 alone prints
    (two_history, two), (one_history, one) = run_files(two_dir), run_files(tmp_path / "one")
    assert two_history.keys() == one_history.keys() == {"loss", "accuracy", "val_loss", "val_accuracy"}
    for key in one_history:
        np.testing.assert_allclose(two_history[key], one_history[key], rtol=1e-5, atol=1e-6, err_msg=key)
    for a, b in zip(two.weights, one.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=0, atol=1e-6, err_msg=a.name)
    assert type(two.optimizer) is keras.optimizers.Adam  # saved as the plain optimizer
    state = json.loads((two_dir / "checkpoint" / "state.json").read_text())
    assert state["settings"]["processes"] == 2


def test_a_run_continues_with_the_process_count_it_was_trained_with(two_process_run, capsys):
    two_dir, _ = two_process_run
    assert main(["train", "--resume", str(two_dir), "--epochs", "3"]) == 1
    message = capsys.readouterr().err
    assert "was trained by 2 process(es)" in message and f"mpirun -n 2 cnnlab train --resume {two_dir}" in message


def test_resume_scale_lr_and_dropout_are_reproducible(mpirun, data_dir, tmp_path):
    common = ("--model", "seed-dropout", "--limit", LIMIT, "--data", data_dir, "--batch-size", 8, "--scale-lr")
    out = train(mpirun, *common, "--epochs", 2, "--out", tmp_path / "straight")
    assert "adam lr 0.002 after a 5-epoch warm-up" in out
    train(mpirun, *common, "--epochs", 1, "--out", tmp_path / "resumed")
    resumed_out = train(mpirun, "--resume", tmp_path / "resumed", "--epochs", 2)
    assert "resuming" in resumed_out and resumed_out.count("epoch 2/2 ") == 1
    (straight_history, straight), (resumed_history, resumed) = (
        run_files(tmp_path / "straight"),
        run_files(tmp_path / "resumed"),
    )
    assert straight_history == resumed_history
    for a, b in zip(straight.weights, resumed.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.name)
    # Horovod's warm-up towards twice the rate (2 processes) over 5 epochs, at the last step of the
    # second: 0.002 / 2 * (2 * (2 - 1) / 5 + 1).
    assert float(np.asarray(straight.optimizer.learning_rate)) == pytest.approx(0.0014, rel=1e-6)


def test_a_damaged_process_count_in_a_checkpoint_is_one_line(data_dir, tmp_path, capsys):
    out_dir = tmp_path / "one"
    args = [
        "train",
        *COMMON[:2],
        "--epochs",
        "2",
        "--limit",
        str(LIMIT),
        "--data",
        str(data_dir),
        "--out",
        str(out_dir),
    ]
    assert main(args) == 0
    state_path = out_dir / "checkpoint" / "state.json"
    state = json.loads(state_path.read_text())
    state["epochs_done"], state["history"] = 1, {key: values[:1] for key, values in state["history"].items()}
    state["settings"]["processes"] = 0
    state_path.write_text(json.dumps(state))
    capsys.readouterr()
    assert main(["train", "--resume", str(out_dir)]) == 1
    assert "settings['processes'] must be a whole number >= 1; found 0" in capsys.readouterr().err
