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

Small batches make small kernels, where each hand-off costs as much as the half it
hands over.  A loop of independent batches (``predict``'s) is shared out whole
instead, with ``parallel_items``: every core takes the next batch and runs all of it,
so the cores meet once per loop rather than once per kernel.

Example:
    >>> import numpy as np
    >>> x = np.arange(-4.0, 4.0).reshape(4, 2)
    >>> out = np.empty_like(x)
    >>> parallel_parts(lambda part: np.maximum(x[part], 0, out=out[part]), len(x), x.size)
    >>> out[:, 1]
    array([0., 0., 1., 3.])
"""

import contextvars
import itertools
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


def parallel_items(task, n, after_own_item=None):
    """Calls ``task(i)`` for every ``i`` in ``range(n)``, the calling thread and the workers each taking the next ``i``.

    For many independent items of a millisecond or so each, such as the batches of a
    ``predict``.  Inside ``task``, ``parallel_parts`` runs its work in one piece: every
    core already has an item of its own.

    Args:
        task: a function of one index that writes its results in place; items may run
            in any order and two at a time, so tasks must not share mutable state.
        n: how many items.
        after_own_item: called on the calling thread after each item that thread ran,
            with how many items are finished so far (to draw a progress bar); or None.

    Returns when every item is done.  After an exception in an item, no new items are
    started, and the exception is raised here once the running ones are over (the
    calling thread's own, if both failed).  On one core, or inside a part, the items
    run one by one, in order, on the calling thread.
    """
    if CORES < 2 or n < 2 or getattr(_in_part, "active", False):
        for i in range(n):
            task(i)
            if after_own_item is not None:
                after_own_item(i + 1)
        return
    next_index = itertools.count().__next__  # atomic under the GIL: no two threads get the same index
    finished = itertools.count(1).__next__
    failed = threading.Event()

    def take_items(report):
        while not failed.is_set():
            i = next_index()
            if i >= n:
                return
            try:
                task(i)
            except BaseException:
                failed.set()
                raise
            done = finished()
            if report is not None:
                report(done)

    pool = _executor()
    futures = [
        pool.submit(_run_in_worker, contextvars.copy_context(), take_items, None) for _ in range(min(CORES, n) - 1)
    ]
    _in_part.active = True
    try:
        take_items(after_own_item)
    except BaseException:
        failed.set()
        for future in futures:
            future.exception()  # waits: no item is left running behind the caller's back
        raise
    finally:
        _in_part.active = False
    for future in futures:
        future.result()
