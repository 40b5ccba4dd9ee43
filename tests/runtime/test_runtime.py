"""cnnlab's process runtime: nothing changes the process at import, ``configure`` is the one
call that does, and the thread count follows its documented rules."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import cnnlab as tf
from cnnlab import runtime
from cnnlab.runtime import threads, tuning
from cnnlab.runtime.state import STATE

# Run in a fresh interpreter: what the process looks like before and after importing the whole
# of cnnlab, and after ``configure()``.  The malloc probe asks glibc for a 16 MiB block and
# reads, with mallinfo2, whether it was served by its own mmap (glibc's default for blocks
# above 128 KiB, raised dynamically at most to the size of blocks freed so far) or from the
# heap (what ``configure`` asks for, up to 32 MiB).
PROBE = r"""
import ctypes, ctypes.util, json, os, sys, threading
import numpy, threadpoolctl

libc = ctypes.CDLL(ctypes.util.find_library("c"))

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc.mallinfo2.restype = MallInfo2
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]

def block_is_mmapped(size=16 << 20):
    before = libc.mallinfo2().hblks
    pointer = libc.malloc(size)
    mmapped = libc.mallinfo2().hblks > before
    libc.free(pointer)
    return mmapped

def snapshot():
    return {"environ": dict(os.environ), "blas": threadpoolctl.threadpool_info(), "threads": threading.active_count()}

before = snapshot()
import cnnlab, cnnlab.keras, cnnlab.nn, cnnlab.signal, cnnlab.runtime, cnnlab.config, cnnlab.cli, cnnlab.datasets
import cnnlab.data, cnnlab.distributed, cnnlab.image, cnnlab.runtime.mpi
after = snapshot()
mmapped_after_import = block_is_mmapped()
applied = cnnlab.runtime.configure()
print(json.dumps({"before": before, "after": after, "mmapped_after_import": mmapped_after_import,
                  "mmapped_after_configure": block_is_mmapped(), "applied": applied,
                  "blas_after_configure": threadpoolctl.threadpool_info()}))
"""


def _glibc_with_mallinfo2():
    import ctypes
    import ctypes.util
    import platform

    if not (sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"):
        return False
    return hasattr(ctypes.CDLL(ctypes.util.find_library("c")), "mallinfo2")


def test_importing_cnnlab_changes_nothing_in_the_process_and_configure_is_what_does():
    env = {key: value for key, value in os.environ.items() if key not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, env=env)
    seen = json.loads(result.stdout)
    before, after = seen["before"], seen["after"]
    assert after["environ"] == before["environ"]
    assert after["blas"] == before["blas"]  # the libraries, their versions and thread counts
    assert after["threads"] == before["threads"] == 1  # cnnlab's workers start at first use, not at import
    blas_counts = {lib["num_threads"] for lib in seen["blas_after_configure"] if lib["user_api"] == "blas"}
    assert blas_counts == {1}  # configure() sets the BLAS to one thread for the process ...
    assert {lib["num_threads"] for lib in before["blas"] if lib["user_api"] == "blas"} != {1} or os.cpu_count() == 1
    if _glibc_with_mallinfo2():
        assert seen["mmapped_after_import"] is True  # glibc's own policy, untouched by the import ...
        assert seen["mmapped_after_configure"] is False  # ... until configure() asks it to keep blocks in the heap
        assert seen["applied"]["keep_freed_memory"] is True


def test_workers_start_at_the_first_split_and_are_counted_by_the_thread_setting():
    script = (
        "import threading, numpy as np, cnnlab as tf\n"
        "tf.config.threading.set_intra_op_parallelism_threads(3)\n"
        "tf.nn.relu(np.ones(16, np.float32))\n"  # too small to split: no worker
        "small = threading.active_count()\n"
        "tf.nn.relu(np.ones(1 << 20, np.float32))\n"
        "print(small, threading.active_count())\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["1", "3"]  # the caller and two workers


@pytest.fixture
def fresh_thread_setting(monkeypatch):
    """The thread-count rules worked out afresh, with no count set (restored after the test)."""
    monkeypatch.setattr(STATE, "requested_threads", None)
    monkeypatch.setattr(STATE, "resolved_threads", None)
    for name in ("CNNLAB_NUM_THREADS", *threads.LOCAL_PROCESS_VARIABLES):
        monkeypatch.delenv(name, raising=False)
    yield monkeypatch
    STATE.resolved_threads = None


def machine(monkeypatch, cores, allowed):
    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(allowed)), raising=False)
    STATE.resolved_threads = None


def test_the_default_thread_count_is_the_cores_this_process_may_use_shared_under_mpi(fresh_thread_setting):
    monkeypatch = fresh_thread_setting
    monkeypatch.setattr(tuning, "DEFAULT_MAX_THREADS", 64)
    machine(monkeypatch, cores=8, allowed=8)
    assert runtime.num_threads() == 8
    machine(monkeypatch, cores=8, allowed=3)  # taskset / a launcher's binding: its share already
    assert runtime.num_threads() == 3
    for name in threads.LOCAL_PROCESS_VARIABLES:
        monkeypatch.setenv(name, "4")  # four processes of an MPI job on this machine
        machine(monkeypatch, cores=8, allowed=8)
        assert runtime.num_threads() == 2
        machine(monkeypatch, cores=8, allowed=2)  # bound by the launcher: not divided again
        assert runtime.num_threads() == 2
        monkeypatch.setenv(name, "16")
        machine(monkeypatch, cores=8, allowed=8)
        assert runtime.num_threads() == 1  # at least one
        monkeypatch.delenv(name)


def test_the_default_thread_count_stops_at_the_default_most_but_a_count_asked_for_does_not(fresh_thread_setting):
    monkeypatch = fresh_thread_setting
    assert tuning.DEFAULT_MAX_THREADS == 4
    for cores, expected in ((1, 1), (2, 2), (4, 4), (16, 4), (128, 4)):
        machine(monkeypatch, cores=cores, allowed=cores)
        assert runtime.num_threads() == expected
    monkeypatch.setenv(threads.LOCAL_PROCESS_VARIABLES[0], "2")  # two MPI processes on 16 cores: 8 each, then 4
    machine(monkeypatch, cores=16, allowed=16)
    assert runtime.num_threads() == 4
    monkeypatch.setenv("CNNLAB_NUM_THREADS", "16")
    STATE.resolved_threads = None
    assert runtime.num_threads() == 16
    monkeypatch.delenv("CNNLAB_NUM_THREADS")
    runtime.set_num_threads(12)
    assert runtime.num_threads() == 12
    runtime.set_num_threads(None)


def test_the_thread_count_follows_the_setting_then_the_environment(fresh_thread_setting):
    monkeypatch = fresh_thread_setting
    machine(monkeypatch, cores=8, allowed=8)
    monkeypatch.setenv("CNNLAB_NUM_THREADS", "5")
    assert runtime.num_threads() == 5
    assert tf.config.threading.get_intra_op_parallelism_threads() == 0  # nothing set: TF's 0
    tf.config.threading.set_intra_op_parallelism_threads(3)
    assert runtime.num_threads() == 3 and tf.config.threading.get_intra_op_parallelism_threads() == 3
    assert runtime.configure(threads=6, blas_threads=None, keep_freed_memory=False) == {
        "threads": 6,
        "blas_threads": None,
        "keep_freed_memory": False,
    }
    tf.config.threading.set_intra_op_parallelism_threads(0)  # back to the rules
    assert runtime.num_threads() == 5
    monkeypatch.setenv("CNNLAB_NUM_THREADS", "many")
    STATE.resolved_threads = None
    with pytest.raises(ValueError, match="CNNLAB_NUM_THREADS must be a positive integer; received CNNLAB_NUM_THREADS='many'"):
        runtime.num_threads()
    for bad in (-1, 2.5, "2", True):
        with pytest.raises(ValueError, match="count must be a positive integer"):
            runtime.set_num_threads(bad)
    with pytest.raises(ValueError, match="threads must be a positive integer|count must be"):
        runtime.configure(threads=0.5)
    tf.config.threading.set_inter_op_parallelism_threads(4)  # accepted, remembered, changes nothing
    assert tf.config.threading.get_inter_op_parallelism_threads() == 4
    tf.config.threading.set_inter_op_parallelism_threads(0)


@pytest.mark.usefixtures("fresh_thread_setting")
def test_kernels_split_their_work_into_as_many_parts_as_threads():
    for count in (1, 2, 3, 5):
        runtime.set_num_threads(count)
        parts = []
        threads.parallel_parts(parts.append, 100, elements=1 << 30)
        assert sorted(p.start for p in parts) == [100 * i // count for i in range(count)]
    x = np.random.default_rng(0).standard_normal((8, 64, 64, 4)).astype(np.float32)
    results = []
    for count in (1, 2, 4):
        runtime.set_num_threads(count)
        results.append(tf.nn.max_pool2d(tf.nn.relu(x), 2, 2, "VALID").numpy())
    for other in results[1:]:
        np.testing.assert_array_equal(other, results[0])
    runtime.set_num_threads(None)
