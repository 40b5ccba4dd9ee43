"""Runs every program of the compatibility corpus (see conftest.py)."""

import runpy
from pathlib import Path

import pytest

import cnnlab as tf
from cnnlab.datasets import fashion_mnist

PROGRAMS = sorted(
    path
    for path in Path(__file__).parent.glob("*.py")
    if not path.name.startswith("test_") and path.name != "conftest.py"
)


@pytest.mark.parametrize("program", PROGRAMS, ids=[path.stem for path in PROGRAMS])
def test_program_runs_to_its_end(program, tmp_path, monkeypatch, fake_fashion_mnist):
    monkeypatch.chdir(tmp_path)  # programs write their files (logs, models, plots) where they run
    monkeypatch.setenv(fashion_mnist.DATA_ENV, str(fake_fashion_mnist))
    monkeypatch.setenv("MPLBACKEND", "Agg")  # the tutorials' plots, drawn without a display
    tf.random.set_seed(0)
    runpy.run_path(str(program), run_name="__main__")


def test_the_corpus_has_twenty_programs_each_naming_its_guide():
    assert len(PROGRAMS) + len(list((Path(__file__).parent / "distributed").glob("*.py"))) >= 20
    for program in PROGRAMS:
        assert program.read_text(encoding="utf-8").startswith('"""Mirrors '), program.name
