"""Runs every program of the compatibility corpus (see conftest.py)."""

import runpy
from pathlib import Path

import pytest

import cnnlab as tf

PROGRAMS = sorted(
    path
    for path in Path(__file__).parent.glob("*.py")
    if not path.name.startswith("test_") and path.name != "conftest.py"
)


@pytest.mark.parametrize("program", PROGRAMS, ids=[path.stem for path in PROGRAMS])
def test_program_runs_to_its_end(program, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # programs write their files (logs, models) where they run
    tf.random.set_seed(0)
    runpy.run_path(str(program), run_name="__main__")
