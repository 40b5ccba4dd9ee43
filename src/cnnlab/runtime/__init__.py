"""cnnlab's process runtime: its worker threads, the BLAS library's threads, glibc's malloc, MPI.

Importing cnnlab changes nothing in the process.  cnnlab's worker threads start the first
time a kernel splits its work, and its matrix products run on one BLAS thread each
without touching the process's BLAS setting beyond their span (``runtime.blas``).
Whatever changes the whole process happens in one call, ``configure``, which the
``cnnlab`` command and the benchmark make and a training program may make::

    import cnnlab as tf
    tf.runtime.configure()           # cnnlab's tuning for training on this machine
    tf.runtime.configure(threads=4)  # ... on 4 threads

How many threads cnnlab's kernels use, first match wins:

1. ``configure(threads=N)``, ``set_num_threads(N)`` or TF's
   ``tf.config.threading.set_intra_op_parallelism_threads(N)`` (0 or None: back to the rules below);
2. the environment variable ``CNNLAB_NUM_THREADS`` (read at first use);
3. the cores this process may run on (its CPU affinity); under MPI, a process free to
   run on every core takes an equal share of them with the job's other processes on this
   machine, from ``OMPI_COMM_WORLD_LOCAL_SIZE`` (Open MPI), ``MPI_LOCALNRANKS`` (MPICH,
   Intel MPI) or ``PMI_LOCAL_SIZE``, at least one; and no more than
   ``tuning.DEFAULT_MAX_THREADS`` (4): past that, a kernel's parts cost more in hand-offs
   than the cores save (docs/performance.md, "More cores"). Ask for more with 1. or 2.

The count is not meant to change any value: each kernel is cut only where the same bits
come out on any number of threads (docs/performance.md), and
``tests/runtime/test_thread_scaling.py`` checks each on 1 to 8 threads.
"""

from . import blas, memory
from .state import STATE
from .threads import count as _thread_count


def configure(threads=None, *, blas_threads=1, keep_freed_memory=True):
    """Set this process up for cnnlab: the one call of cnnlab that changes process-wide state.

    Args:
        threads: how many threads cnnlab's kernels split their work over; None keeps the
            rules of the module docstring (an earlier setting, ``CNNLAB_NUM_THREADS``, the
            cores this process may use).
        blas_threads: the thread count of every BLAS library in the process, set through
            ``threadpoolctl`` (cnnlab splits its products over its own threads; products
            of other code in the process get this count too).  None leaves the BLAS as it
            is: cnnlab's products then switch it to one thread for their span.
        keep_freed_memory: ask glibc's malloc to keep freed blocks of up to 32 MiB for
            reuse instead of handing them back to the system (a training step frees and
            allocates the same big arrays every time).  Elsewhere than Linux with glibc,
            nothing changes.

    Returns:
        A dict of what is in force: ``threads``, ``blas_threads`` and ``keep_freed_memory``
        (whether glibc agreed; False when not asked).

    Raises:
        ValueError: ``threads`` or ``blas_threads`` is not a positive integer (or None).

    Example (at the start of a training program)::

        import cnnlab as tf
        tf.runtime.configure()  # {'threads': 2, 'blas_threads': 1, 'keep_freed_memory': True} on 2 cores
    """
    if threads is not None:
        set_num_threads(threads)
    if blas_threads is not None:
        blas.limit_process(_positive_int(blas_threads, "blas_threads"))
    kept = bool(keep_freed_memory) and memory.keep_freed_memory()
    STATE.configured = {"threads": num_threads(), "blas_threads": blas_threads, "keep_freed_memory": kept}
    return dict(STATE.configured)


def num_threads():
    """How many threads cnnlab's kernels split their work over (see the module docstring).

    Example:
        >>> cnnlab.runtime.num_threads() >= 1
        True
    """
    return _thread_count()


def set_num_threads(count):
    """Use ``count`` threads for cnnlab's kernels from now on; None or 0: back to the default rules.

    Raises:
        ValueError: ``count`` is not a non-negative integer (or None).
    """
    STATE.requested_threads = None if count in (None, 0) else _positive_int(count, "count")
    STATE.resolved_threads = None


def requested_threads():
    """The count given to ``set_num_threads`` / ``configure`` (0 if none): TF's
    ``get_intra_op_parallelism_threads``."""
    return STATE.requested_threads or 0


def set_inter_op_threads(count):
    """Accepted for TF's ``set_inter_op_parallelism_threads``: cnnlab runs one op at a time."""
    STATE.inter_op_threads = 0 if count is None else _non_negative_int(count, "count")


def inter_op_threads():
    return STATE.inter_op_threads


def _positive_int(value, argument):
    if isinstance(value, bool) or not hasattr(value, "__index__") or value.__index__() < 1:
        raise ValueError(f"cnnlab.runtime: {argument} must be a positive integer; received {argument}={value!r}.")
    return value.__index__()


def _non_negative_int(value, argument):
    if isinstance(value, bool) or not hasattr(value, "__index__") or value.__index__() < 0:
        raise ValueError(f"cnnlab.runtime: {argument} must be a non-negative integer; received {argument}={value!r}.")
    return value.__index__()


__all__ = ["configure", "num_threads", "set_num_threads"]
