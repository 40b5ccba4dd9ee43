"""The programs of tests/compat/distributed, written the way Horovod's TF2 examples are, run under ``mpirun -n 2``."""

import ast
import pathlib
import re
import sys

COMPAT = pathlib.Path(__file__).parents[1] / "compat" / "distributed"


def run_example(mpirun, name, tmp_path):
    completed, _ = mpirun(2, sys.executable, COMPAT / name, tmp_path)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    checksums = re.findall(r"weights checksum (\d) (\[.*\])", completed.stdout)
    assert sorted(rank for rank, _ in checksums) == ["0", "1"], output
    for _, gathered in checksums:
        first, second = ast.literal_eval(gathered)
        assert first == second  # both processes hold the same weights
    return completed.stdout


def test_keras_fit_example(mpirun, tmp_path):
    output = run_example(mpirun, "horovod_tensorflow2_keras_mnist.py", tmp_path)
    history = ast.literal_eval(re.search(r"^history (\{.*\})$", output, re.MULTILINE).group(1))
    assert history["loss"][-1] < history["loss"][0] / 2
    assert history["accuracy"][-1] > 0.8
    # The warm-up callback: 0.001 * size reached after its 2 epochs, and logged as 'lr'.
    assert history["lr"][1:] == [0.002, 0.002]
    assert "finished gradual learning rate warmup to 0.002" in output
    assert output.count("finished gradual") == 1  # rank 0 alone prints
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"checkpoint-{epoch}.h5" for epoch in (1, 2, 3)]


def test_gradient_tape_example(mpirun, tmp_path):
    output = run_example(mpirun, "horovod_tensorflow2_mnist.py", tmp_path)
    losses = [float(v) for v in re.findall(r"^Step #\d+\tLoss: ([\d.]+)$", output, re.MULTILINE)]
    assert len(losses) == 3  # steps 0, 10, 20 of 30, printed by local rank 0 only
    assert losses[-1] < losses[0] / 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.weights.h5"]
