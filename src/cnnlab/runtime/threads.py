"""cnnlab's worker threads: big array work split in one part per thread, side by side.

NumPy's element-wise kernels, copies and reductions, and single-threaded BLAS products,
release the GIL while they run.  So a kernel handed a batch can give each thread its own
slice of it.  PyTorch does the same (intra-op parallelism); NumPy on its own uses one
core for all of it.

The workers (one per thread beyond the calling one) start on first use and then live for
the whole process: starting a thread per call would cost more than most parts.  A task is
handed to a waiting worker with two locks, one it waits on to start and one the caller
waits on for the end (a ``concurrent.futures`` pool's queue, futures and conditions are
Python, and cost twice as long per hand-off).  Work below ``tuning.MIN_ELEMENTS`` runs on
the calling thread, and bigger work goes in parts of at least half of that (``part_count``):
on many cores, a part costs its wake-up and its turns of the interpreter lock, which the
threads take one at a time, whatever the part's size.  A task that itself asks for
``parallel_parts`` from inside a part (a worker's or the caller's own) runs there in one
piece, so parts never queue behind one another; so does work asked for while another
thread has the workers.

Work already cut into chunks that do not depend on the thread count (Winograd's, batch
normalization's) is shared out a chunk at a time instead, with ``parallel_chunks``: each
thread takes the next chunk as it comes free, so a worker woken late takes fewer.

Small batches make small kernels, where each hand-off costs as much as the part it hands
over.  A loop of independent batches (``predict``'s) is shared out whole instead, with
``parallel_items``: every thread takes the next batch and runs all of it, so the threads
meet once per loop rather than once per kernel.

How many threads: ``count()`` (see ``cnnlab.runtime`` for the rule and its knobs).

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
import time

from . import tuning
from .state import STATE

# Launchers' variables for the number of processes an MPI job runs on this machine:
# Open MPI, MPICH / Intel MPI (Hydra), and PMI-based launchers.
LOCAL_PROCESS_VARIABLES = ("OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "PMI_LOCAL_SIZE")

_in_part = threading.local()


def count():
    """How many threads cnnlab's kernels split their work over (at least 1)."""
    resolved = STATE.resolved_threads
    if resolved is None:
        resolved = STATE.resolved_threads = _resolve_count()
    return resolved


def _resolve_count():
    if STATE.requested_threads is not None:
        return STATE.requested_threads
    text = os.environ.get("CNNLAB_NUM_THREADS", "").strip()
    if text:
        try:
            value = int(text)
        except ValueError:
            value = 0
        if value < 1:
            raise ValueError(f"CNNLAB_NUM_THREADS must be a positive integer; received CNNLAB_NUM_THREADS={text!r}.")
        return value
    return default_count()


def default_count():
    """The cores this process may run on, shared among the MPI processes on this machine, but no
    more than ``tuning.DEFAULT_MAX_THREADS``.

    A process that a launcher bound to some of the machine's cores (``mpirun``'s default
    binding, ``taskset``) may run on those cores only: its CPU affinity is its share.  A
    process free to run on every core shares them with the other processes of its job on
    this machine (``LOCAL_PROCESS_VARIABLES``): each takes an equal part, at least one.
    """
    if hasattr(os, "sched_getaffinity"):
        cores = len(os.sched_getaffinity(0))
    else:
        cores = os.cpu_count() or 1
    if cores == (os.cpu_count() or cores):
        cores //= local_processes()
    return max(1, min(cores, tuning.DEFAULT_MAX_THREADS))


def local_processes():
    """How many processes of this MPI job run on this machine (1 outside MPI)."""
    for name in LOCAL_PROCESS_VARIABLES:
        text = os.environ.get(name, "").strip()
        if text.isdigit() and int(text) >= 1:
            return int(text)
    return 1


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


def _take_workers(wanted):
    """``wanted`` workers for the calling thread, or None when another thread has them;
    ``STATE.workers_lock`` is then held until ``_give_back_workers``."""
    lock = STATE.workers_lock
    if wanted < 1 or not lock.acquire(blocking=False):
        return None
    try:
        if not STATE.fork_handler_registered and hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=STATE.fresh_machinery)
            STATE.fork_handler_registered = True
        workers = STATE.workers
        while len(workers) < wanted:
            workers.append(_Worker(f"cnnlab-worker-{len(workers)}"))
    except BaseException:  # no thread to be had: give the lock back, then fail as Python does
        lock.release()
        raise
    return workers[:wanted]


def _give_back_workers():
    STATE.workers_lock.release()


def split(n, parts):
    """``range(n)`` cut into ``parts`` contiguous slices of (nearly) equal length."""
    bounds = [n * i // parts for i in range(parts + 1)]
    return [slice(bounds[i], bounds[i + 1]) for i in range(parts)]


def balanced_chunk_count(n, per_chunk):
    """How many chunks ``n`` items go in, at most about ``per_chunk`` items each: a multiple of
    ``tuning.MIN_CHUNKS`` (two or four threads, which take whole chunks, then take as many each),
    but never more than ``n`` (and at least 1)."""
    by_size = -(-n // per_chunk)
    return max(1, min(n, -(-by_size // tuning.MIN_CHUNKS) * tuning.MIN_CHUNKS))


def part_count(n, elements):
    """How many parts ``parallel_parts(task, n, elements)`` cuts ``range(n)`` into (and how many threads
    ``parallel_chunks`` runs): one per thread, but no more than ``n``, and none smaller than half of
    ``tuning.MIN_ELEMENTS`` elements (so work of ``MIN_ELEMENTS`` splits in two, and twice that in
    up to four): a part handed to a worker costs a wake-up and a few turns of the interpreter lock,
    more than a small part saves.  1 below ``MIN_ELEMENTS``, or inside a part."""
    if elements < tuning.MIN_ELEMENTS or getattr(_in_part, "active", False):
        return 1
    grain = tuning.MIN_ELEMENTS // 2
    return max(1, min(count(), n, elements // grain if grain else n))


def parallel_parts(task, n, elements):
    """Calls ``task(part)`` for slices ``part`` covering ``range(n)``, one per thread (``part_count``), at the same time.

    Args:
        task: a function of one slice (of the batch axis, usually) that writes its results
            in place; the parts never overlap, so neither do the tasks' writes.
        n: the length of the axis to split.
        elements: about how many array elements the whole work touches (or the number
            that costs as long); below ``tuning.MIN_ELEMENTS`` (or with one thread, or
            inside a part) ``task`` runs once, here, on ``slice(0, n)``, and each part
            has at least half of that (``part_count``).

    Returns when every part is done; an exception raised by any part is raised here.
    """
    parts = part_count(n, elements)
    if parts < 2:
        task(slice(0, n))
        return
    workers = _take_workers(parts - 1)
    if workers is None:
        task(slice(0, n))
        return
    first, *others = split(n, parts)
    _side_by_side(workers, [(task, part) for part in others], lambda: task(first))


def parallel_chunks(task, n, elements):
    """Calls ``task(indices)`` once on each thread, at the same time: together the calls take every
    chunk index in ``range(n)`` once, each thread the next one not yet taken as it comes free.

    For work already cut into chunks that do not depend on the thread count (Winograd's chunks of
    images, batch normalization's blocks of rows), each written to its own place: a thread that
    starts late (the hand-off to a worker takes a while to wake it) or runs slow (waiting for the
    interpreter lock, or for a core) takes fewer chunks, so the threads finish together, where
    fixed parts of whole chunks leave one waiting for the other.  Which thread runs a chunk
    changes nothing in its values.

    Args:
        task: a function of an iterator of chunk indices, which runs each chunk it yields (so
            that it can make its working arrays once for all of them); chunks run in any
            order, two at a time, so they must not write to the same places.
        n: how many chunks.
        elements: about how many array elements the whole work touches; below
            ``tuning.MIN_ELEMENTS`` (or with one thread, or inside a part) ``task`` runs
            once, here, on ``range(n)`` (in order); else on ``part_count(n, elements)`` threads.

    Returns when every chunk is done; an exception raised by any call is raised here (the
    other threads finish the chunks they take meanwhile).
    """
    threads = part_count(n, elements)
    if threads < 2:
        task(iter(range(n)))
        return
    workers = _take_workers(threads - 1)
    if workers is None:
        task(iter(range(n)))
        return
    next_index = itertools.count().__next__  # atomic under the GIL: no two threads get the same index

    def taken():
        index = next_index()
        while index < n:
            yield index
            index = next_index()

    def run(_):
        task(taken())

    _side_by_side(workers, [(run, None)] * len(workers), lambda: run(None))


def parallel_items(task, n, after_own_item=None):
    """Calls ``task(i)`` for every ``i`` in ``range(n)``, the calling thread and the workers each taking the next ``i``.

    For many independent items of a millisecond or so each, such as the batches of a
    ``predict``.  Inside ``task``, ``parallel_parts`` runs its work in one piece: every
    thread already has an item of its own.

    Args:
        task: a function of one index that writes its results in place; items may run
            in any order and two at a time, so tasks must not share mutable state.
        n: how many items.
        after_own_item: called on the calling thread after each item that thread ran,
            with how many items are finished so far (to draw a progress bar); or None.

    Returns when every item is done.  After an exception in an item, no new items are
    started, and the exception is raised here once the running ones are over (the
    calling thread's own, if both failed).  With one thread, or inside a part, the items
    run one by one, in order, on the calling thread.
    """
    threads = count()
    if threads < 2 or n < 2 or getattr(_in_part, "active", False):
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

    workers = _take_workers(min(threads, n) - 1)
    if workers is None:
        take_items(after_own_item)
        return
    _side_by_side(workers, [(take_items, None)] * len(workers), lambda: take_items(after_own_item))


def parallel_items_if_worth_it(task, n, after_own_item=None):
    """``parallel_items(task, n, after_own_item)`` once item 0, run first and alone, has shown that
    items take long enough to repay it (``tuning.SIDE_BY_SIDE_MIN_SECONDS``); else the items
    run one by one, in order, on the calling thread.  Either way items 1 to n-1 run their work
    in one piece, so their values do not depend on the way taken."""
    if n < 1:
        return
    started = time.perf_counter()
    task(0)
    if after_own_item is not None:
        after_own_item(1)
    if time.perf_counter() - started >= tuning.SIDE_BY_SIDE_MIN_SECONDS:
        report = None if after_own_item is None else (lambda done: after_own_item(done + 1))
        parallel_items(lambda i: task(i + 1), n - 1, report)
        return
    # One by one, but each in one piece as side by side: which way was taken depends on a
    # clock, so each item does the same work in the same pieces either way.
    _in_part.active = True
    try:
        for i in range(1, n):
            task(i)
            if after_own_item is not None:
                after_own_item(i + 1)
    finally:
        _in_part.active = False


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
