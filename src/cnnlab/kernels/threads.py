"""Big array work split over the machine's cores: one part of the batch per core, side by side.

NumPy's element-wise kernels, copies and reductions, and single-threaded OpenBLAS
products, release the GIL while they run.  So a kernel that is handed a batch can
give each core its own slice of it, on a thread.  PyTorch does the same (intra-op
parallelism); NumPy on its own uses one core for all of it.  How much it pays depends
on the machine: on the 2-core VM measured, a big product took 0.55-0.6 of its
one-thread time, passes limited by memory gained less (a ReLU's gradient over a conv
output not in cache: 0.65-0.7; an im2col copy: little).

The worker threads, one per core beyond the first, live for the whole process
(starting a thread per call costs about 0.1 ms).  A task is handed to a waiting
worker with two locks, one it waits on to start and one the caller waits on for the
end: on the VM measured that took 25-30 microseconds, against 45-65 through a
``concurrent.futures`` pool (its queue, futures and conditions are Python), and made
the GradientTape training loop 2-4% faster.  Work below ``MIN_ELEMENTS`` runs on the
calling thread.  A task that itself asks for ``parallel_parts`` from inside a part (a
worker's or the caller's own) runs there in one piece, so parts never queue behind
one another; so does work asked for while another thread has the workers.

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

CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
# Below this many array elements touched, handing half the work to another thread
# costs more than it saves.  On the 2-core virtual machine measured, waking a waiting
# worker took 45-65 microseconds through a concurrent.futures pool (25-30 with the locks
# used now), as long as a pass over ~100,000 elements; element-wise kernels on a
# (32, 28, 28, 10) batch (250,880 elements) ran faster on one thread.
MIN_ELEMENTS = 1 << 18

_in_part = threading.local()


class _Worker:
    """A thread that runs one task at a time, started and awaited through two locks."""

    def __init__(self, name):
        self._start = threading.Lock()
        self._start.acquire()  # released by ``start``
        self._done = threading.Lock()
        self._done.acquire()  # released when the task is over
        self._task = self._error = None
        threading.Thread(target=self._serve, name=name, daemon=True).start()

    def start(self, task, argument):
        """Run ``task(argument)`` on this worker, in the caller's context (NumPy keeps
        ``np.errstate`` there, so the task warns, or not, as it would on the caller)."""
        self._task = (contextvars.copy_context(), task, argument)
        self._start.release()

    def wait(self):
        """Wait for the task to end; return the exception it raised, or None."""
        self._done.acquire()
        error, self._error, self._task = self._error, None, None
        return error

    def _serve(self):
        while True:
            self._start.acquire()
            self._run(*self._task)  # in a call of its own: nothing of the task outlives it here
            self._done.release()

    def _run(self, context, task, argument):
        _in_part.active = True
        try:
            context.run(task, argument)
        except BaseException as error:  # handed to the caller, which raises it
            self._error = error
        finally:
            _in_part.active = False


_workers = []
_workers_lock = threading.Lock()  # held by the thread whose tasks the workers run


def _take_workers(count):
    """``count`` workers for the calling thread, or None when another thread has them (or on
    one core); ``_workers_lock`` is then held until ``_give_back_workers``."""
    if count < 1 or not _workers_lock.acquire(blocking=False):
        return None
    try:
        while len(_workers) < count:
            _workers.append(_Worker(f"cnnlab-kernels-{len(_workers)}"))
    except BaseException:  # no thread to be had: give the lock back, then fail as Python does
        _workers_lock.release()
        raise
    return _workers[:count]


def _give_back_workers():
    _workers_lock.release()


def _forget_workers():
    """In a child process made by ``fork``, the workers' threads do not exist: start afresh."""
    global _workers_lock
    _workers.clear()
    _workers_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_workers)


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
    workers = _take_workers(parts - 1)
    if workers is None:
        task(slice(0, n))
        return
    first, *others = split(n, parts)
    _side_by_side(workers, [(task, part) for part in others], lambda: task(first))


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
        try:
            while not failed.is_set():
                i = next_index()
                if i >= n:
                    return
                task(i)
                done = finished()
                if report is not None:
                    report(done)
        except BaseException:
            failed.set()  # no thread starts another item
            raise

    workers = _take_workers(min(CORES, n) - 1)
    if workers is None:
        take_items(after_own_item)
        return
    _side_by_side(workers, [(take_items, None)] * len(workers), lambda: take_items(after_own_item))


def _side_by_side(workers, jobs, own_job):
    """Start ``task(argument)`` for each ``(task, argument)`` of ``jobs`` on its worker, run
    ``own_job()`` here meanwhile (as a part), and give the workers back once all are over
    (none is left running behind the caller's back).  The caller's exception is raised
    first, then the first a worker's task raised."""
    try:
        for worker, (task, argument) in zip(workers, jobs):
            worker.start(task, argument)
        _in_part.active = True  # the caller's own job, too, runs what it asks for in one piece
        try:
            own_job()
        finally:
            _in_part.active = False
            errors = [worker.wait() for worker in workers]
    finally:
        _give_back_workers()
    for error in errors:
        if error is not None:
            raise error
