"""A process that fails stops the whole job with a message naming its rank, within seconds, never a hang."""

import re

import pytest

STOP_WITHIN_SECONDS = 30


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("raise", r"process rank 1 \(of 2\) failed with an uncaught RuntimeError.*a deliberate failure in rank 1"),
        ("kill", r"process rank 1 with PID \d+ on node \S+ exited on\s+signal 9"),
        ("exit", r"MPI_ABORT was invoked on rank 1"),
    ],
)
def test_a_failed_process_stops_every_process(mpirun, program, mode, message):
    completed, seconds = mpirun(2, *program("faults.py"), mode, timeout=STOP_WITHIN_SECONDS + 30)
    output = completed.stdout + completed.stderr
    assert completed.returncode != 0, output
    assert seconds < STOP_WITHIN_SECONDS, output
    assert re.search(message, output, re.DOTALL), output
    assert "finished: the failure went unnoticed" not in output
