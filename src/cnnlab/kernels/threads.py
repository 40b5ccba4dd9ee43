"""Big array work split over the machine's cores: one part of the batch per core, side by side.

NumPy's element-wise kernels, copies and reductions, and single-threaded OpenBLAS
products, release the GIL while they run.  So a kernel that is handed a batch can
give each core its own slice of it, on a thread.  PyTorch does the same (intra-op
parallelism); NumPy on its own uses one core for all of it.  How much it pays depends
on the machine: on the 2-core VM measured, a big product took 0.55-0.6 of its
one-thread time, passes limited by memory gained less (a ReLU's gradient over a conv
output not in cache: 0.65-0.7; an im2col copy: little).

The worker threads live in one pool for the whole process (starting a thread per
call costs about 0.1 ms, handing a task to a waiting one about 50 microseconds),
and work below ``MIN_ELEMENTS`` runs on the calling thread.  A task that itself asks
for ``parallel_parts`` from inside a part (a worker's or the caller's own) runs there
in one piece, so parts never queue behind one another.

Example:
    >>> import numpy as np
    >>> x = np.arange(-4.0, 4.0).reshape(4, 2)
    >>> out = np.empty_like(x)
    >>> parallel_parts(lambda part: np.maximum(x[part], 0, out=out[part]), len(x), x.size)
    >>> out[:, 1]
    array([0., 0., 1., 3.])
"""

import contextvars
import os
import threading
from concurrent.futures import ThreadPoolExecutor

CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
# Below this many array elements touched, handing half the work to another thread
# costs more than it saves.  On the 2-core virtual machine measured, waking the waiting
# worker took 45-65 microseconds, as long as a pass over ~100,000 elements; element-wise
# kernels on a (32, 28, 28, 10) batch (250,880 elements) ran faster on one thread.
MIN_ELEMENTS = 1 << 18

_pool = None
_pool_lock = threading.Lock()
_in_part = threading.local()


def _executor():
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=CORES - 1, thread_name_prefix="cnnlab-kernels")
        return _pool


def _run_in_worker(context, task, part):
    _in_part.active = True
    try:
        # The caller's context: NumPy keeps ``np.errstate`` there, so a part warns (or not) as
        # the same work on the calling thread would.
        return context.run(task, part)
    finally:
        _in_part.active = False


def split(n, parts):
    """``range(n)`` cut into ``parts`` contiguous slices of (nearly) equal length."""
    bounds = [n * i // parts for i in range(parts + 1)]
    return [slice(bounds[i], bounds[i + 1]) for i in range(parts)]


def parallel_parts(task, n, elements):
    """Calls ``task(part)`` for slices ``part`` covering ``range(n)``, one per core, at the same time.

    Args:
        task: a function of one slice (of the batch axis, usually) that writes its results
            in place; the parts never overlap, so neither do the tasks' writes.
        n: the length of the axis to split.
        elements: about how many array elements the whole work touches; below
            ``MIN_ELEMENTS`` (or on one core, or inside a part) ``task`` runs once, here,
            on ``slice(0, n)``.

    Returns when every part is done; an exception raised by any part is raised here.
    """
    parts = min(CORES, n)
    if parts < 2 or elements < MIN_ELEMENTS or getattr(_in_part, "active", False):
        task(slice(0, n))
        return
    first, *others = split(n, parts)
    pool = _executor()
    futures = [pool.submit(_run_in_worker, contextvars.copy_context(), task, part) for part in others]
    _in_part.active = True  # the caller's own part, too, runs what it asks for in one piece
    try:
        task(first)
    finally:
        _in_part.active = False
        for future in futures:
            future.result()
