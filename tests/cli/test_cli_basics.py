"""The `cnnlab` command itself: help, usage errors, the console script, and `cnnlab activations`."""

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from cnnlab.cli import SUBCOMMANDS
from cnnlab.cli.activations import activation_curves


def test_console_script_runs_and_lists_every_subcommand():
    result = subprocess.run([sys.executable, "-m", "cnnlab.cli", "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    for name in ("train", "evaluate", "predict", "inspect", "activations"):
        assert name in result.stdout


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_subcommand_has_help_with_examples(cli, command):
    status, out, _ = cli(command, "--help")
    assert status == 0
    assert out.startswith(f"usage: cnnlab {command}")
    assert "\nexamples:\n  cnnlab " + command in out


@pytest.mark.parametrize(
    "args, message",
    [
        ((), "the following arguments are required: COMMAND"),
        (("fly",), "invalid choice: 'fly'"),
        (("train", "--epochs", "0"), "argument --epochs: expected a whole number >= 1; Received: 0"),
        (("train", "--val-fraction", "1.5"), "expected a number strictly between 0 and 1; Received: 1.5"),
        (("train", "--lr", "nan"), "expected a finite number > 0; Received: nan"),
        (("train", "--model", "huge"), "invalid choice: 'huge'"),
        (("predict", "model.keras"), "the following arguments are required: IMAGE"),
        (("inspect", "m.keras", "--image", "a.png", "--index", "3"), "not allowed with argument --image"),
    ],
)
def test_usage_mistakes_are_two_lines_on_stderr_with_status_2(cli, args, message):
    status, out, err = cli(*args)
    assert status == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 2 and message in lines[0] and "--help" in lines[1]


def test_activations_png(cli, tmp_path):
    out = tmp_path / "act.png"
    status, stdout, err = cli("activations", "--out", out)
    assert status == 0 and err == ""
    assert stdout.strip() == f"wrote {out}"
    with Image.open(out) as image:
        assert image.format == "PNG" and image.size == (1500, 600)


def test_activations_into_a_missing_directory_is_one_line(cli, tmp_path):
    status, _, err = cli("activations", "--out", tmp_path / "no" / "act.png")
    assert status == 1
    assert err.strip().splitlines() == [
        f"cnnlab activations: error: {tmp_path / 'no' / 'act.png'}: the directory {tmp_path / 'no'} does not exist"
    ]


def test_activation_derivatives_from_the_tape_match_the_formulas():
    x = np.linspace(-6, 6, 241, dtype=np.float32)
    x = x[np.abs(x) > 1e-3]  # ReLU-like kinks at 0: no derivative there
    curves = {name.split(" (")[0]: (values, grads) for name, values, grads in activation_curves(x)}
    sigmoid = 1 / (1 + np.exp(-x.astype(np.float64)))
    tanh = np.tanh(x.astype(np.float64))
    expected = {
        "sigmoid": (sigmoid, sigmoid * (1 - sigmoid)),
        "tanh": (tanh, 1 - tanh**2),
        "ReLU": (np.maximum(x, 0), (x > 0).astype(float)),
        "leaky ReLU": (np.where(x > 0, x, 0.2 * x), np.where(x > 0, 1.0, 0.2)),
        "ELU": (np.where(x > 0, x, np.expm1(np.minimum(x, 0))), np.where(x > 0, 1.0, np.exp(np.minimum(x, 0)))),
    }
    assert set(curves) == set(expected)
    for name, (values, grads) in expected.items():
        np.testing.assert_allclose(curves[name][0], values, atol=2e-6, err_msg=name)
        np.testing.assert_allclose(curves[name][1], grads, atol=2e-6, err_msg=name)
    assert curves["sigmoid"][1].max() <= 0.25 + 1e-6  # the vanishing-gradient point the picture makes
