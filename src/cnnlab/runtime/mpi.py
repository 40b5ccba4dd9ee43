"""The processes of an MPI job, and collectives on NumPy arrays between them.

This is the machinery under ``cnnlab.distributed`` (Horovod's API) and the synchronized
BatchNormalization: MPI through ``mpi4py``, with an MPI library from the package index
(``pip install '.[mpi]'`` brings Open MPI's wheel) or the cluster's own.

Nothing happens at import, and mpi4py is not even loaded: ``init()`` loads MPI and
makes the job's communicators.  Without ``init()``, or in one process started without
``mpirun``, everything behaves as a job of one process.

The job is the one piece of process state here (MPI itself is process-wide: it is
initialized once and lives until the process ends).  ``init()`` also makes a failure
in one process stop every process (see ``init``), so a job never hangs waiting for a
process that is gone.

Example, in each process of ``mpirun -n 2 python program.py``::

    job = init()
    allreduce(np.array([job.rank + 1.0]), "sum")   # array([3.]) in both
"""

import collections
import hashlib
import json
import os
import sys
import time

import numpy as np

INSTALL_COMMAND = "pip install '.[mpi]'"
REDUCE_OPS = ("average", "sum", "min", "max", "product")
# Variables an MPI launcher sets in the processes it starts: Open MPI's mpirun, MPICH's and
# Intel MPI's Hydra (mpiexec), PMIx launchers (Open MPI 5, Slurm's srun --mpi=pmix), MVAPICH.
LAUNCHER_VARIABLES = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS", "MV2_COMM_WORLD_SIZE")
# Collectives check first that every process brings the same kind of array; a shape is
# sent as this many numbers (arrays of more dimensions are refused).
_MAX_DIMENSIONS = 32


class MPINotFoundError(ImportError):
    """MPI for Python (mpi4py) or an MPI library is not installed."""


class CollectiveMismatchError(ValueError):
    """The processes of a job called a collective with arrays that do not match."""


class Job:
    """An initialized MPI job, seen from one of its processes.

    Attributes:
        rank, size: this process's number in the job and the number of processes.
        local_rank, local_size: the same among the job's processes on this machine.
        world: the communicator of every process (a duplicate of ``MPI.COMM_WORLD``,
            so cnnlab's messages never mix with a program's own).
        local: the communicator of this machine's processes.
        calls, seconds, bytes: per collective ('allreduce', 'allgather', 'broadcast',
            'agree'), how many ran, the seconds spent in them and the bytes they reduced
            or sent; the benchmark and the tests read them.
    """

    def __init__(self, mpi, world, local):
        self.mpi = mpi
        self.world, self.local = world, local
        self.rank, self.size = world.Get_rank(), world.Get_size()
        self.local_rank, self.local_size = local.Get_rank(), local.Get_size()
        self.calls = collections.Counter()
        self.seconds = collections.Counter()
        self.bytes = collections.Counter()
        self.previous_excepthook = None

    def account(self, kind, started, nbytes):
        self.calls[kind] += 1
        self.seconds[kind] += time.perf_counter() - started
        self.bytes[kind] += nbytes


_job = None  # the Job after init(), None before (and after shutdown())


def launched_by_mpi():
    """Whether an MPI launcher (``mpirun``, ``mpiexec``, ``srun``) started this process."""
    return any(name in os.environ for name in LAUNCHER_VARIABLES)


def load_mpi():
    """The ``mpi4py.MPI`` module (initializing MPI), or an MPINotFoundError naming the install command."""
    try:
        from mpi4py import MPI
    except ModuleNotFoundError as error:
        raise MPINotFoundError(
            f"cnnlab.distributed needs MPI for Python ({error}); install it with the MPI wheel: "
            f"{INSTALL_COMMAND} (in the cnnlab checkout), or pip install mpi4py where the cluster has its own MPI."
        ) from None
    except RuntimeError as error:  # mpi4py is there but cannot load an MPI library
        raise MPINotFoundError(
            f"mpi4py cannot load an MPI library ({error}); install Open MPI's wheel with {INSTALL_COMMAND}, "
            "or load the cluster's MPI module."
        ) from None
    return MPI


def init():
    """Join the MPI job this process was started in (a job of one without ``mpirun``).

    Calling it again does nothing.  In a job of several processes it also sets
    ``sys.excepthook`` so that an exception nobody catches, in any process, prints its
    traceback under the process's rank and then aborts the whole job
    (``MPI_Abort``) instead of leaving the others waiting for it forever.  A process
    that is killed is noticed by ``mpirun``, which stops the rest.

    Returns:
        The ``Job``.

    Raises:
        MPINotFoundError: mpi4py or an MPI library is missing.
    """
    global _job
    if _job is not None:
        return _job
    MPI = load_mpi()
    world = MPI.COMM_WORLD.Dup()
    local = world.Split_type(MPI.COMM_TYPE_SHARED, key=world.Get_rank())
    job = Job(MPI, world, local)
    if job.size > 1:
        job.previous_excepthook = sys.excepthook
        sys.excepthook = _abort_job_on_exception
    _job = job
    return job


def shutdown():
    """Leave the job: free cnnlab's communicators and give ``sys.excepthook`` back.

    MPI itself stays initialized (it can be initialized only once per process); ``init()``
    joins again.
    """
    global _job
    job, _job = _job, None
    if job is None:
        return
    if job.previous_excepthook is not None and sys.excepthook is _abort_job_on_exception:
        sys.excepthook = job.previous_excepthook
    job.local.Free()
    job.world.Free()


def job():
    """The initialized ``Job``, or None before ``init()``."""
    return _job


def require(op):
    """The initialized ``Job``; a ValueError saying to call init() when there is none (Horovod's rule)."""
    if _job is None:
        raise ValueError(f"{op}: cnnlab.distributed has not been initialized; call cnnlab.distributed.init() first.")
    return _job


def is_parallel():
    """Whether this process is one of several in an initialized job."""
    return _job is not None and _job.size > 1


def _abort_job_on_exception(exc_type, exc, traceback):
    job = _job
    rank = "?" if job is None else job.rank
    size = "?" if job is None else job.size
    sys.stderr.write(
        f"cnnlab.distributed: process rank {rank} (of {size}) failed with an uncaught {exc_type.__name__}; "
        "stopping every process of the job.\n"
    )
    hook = sys.__excepthook__ if job is None or job.previous_excepthook is None else job.previous_excepthook
    hook(exc_type, exc, traceback)
    abort(1)


def abort(status=1):
    """End every process of the job now with exit ``status`` (``MPI_Abort``); outside a job, exit this process."""
    sys.stderr.flush()
    sys.stdout.flush()
    if _job is None:
        sys.exit(status)
    _job.mpi.COMM_WORLD.Abort(status)


# ---- collectives on arrays ----------------------------------------------------------------------


def _mpi_op(job, op):
    MPI = job.mpi
    return {"sum": MPI.SUM, "average": MPI.SUM, "min": MPI.MIN, "max": MPI.MAX, "product": MPI.PROD}[op]


def check_reduce_op(op, where):
    """``op`` as one of REDUCE_OPS, or a ValueError naming what was given."""
    if op not in REDUCE_OPS:
        raise ValueError(f"{where}: op must be one of {', '.join(REDUCE_OPS)}; received op={op!r}.")
    return op


def allreduce_in_place(buffer, op="sum"):
    """Reduce the contiguous array ``buffer`` over the job's processes, in place (no shape check).

    Every process must pass an array of the same size and dtype: this is the fast path
    for arrays whose layout the caller has already agreed on (the fused gradients).
    'average' divides the sum by the number of processes.
    """
    job = _job
    if job is None or job.size == 1:
        return buffer
    started = time.perf_counter()
    job.world.Allreduce(job.mpi.IN_PLACE, buffer, op=_mpi_op(job, op))
    if op == "average":
        buffer /= job.size
    job.account("allreduce", started, buffer.nbytes)
    return buffer


def allreduce(array, op="sum", where="allreduce"):
    """``array`` reduced element by element over the processes ('average', 'sum', 'min', 'max', 'product').

    Returns a new array of the same shape (and dtype; an integer 'average' is float64).

    Raises:
        CollectiveMismatchError: the processes passed arrays of different shapes or dtypes.
    """
    check_reduce_op(op, where)
    array = np.asarray(array)
    if op == "average" and array.dtype.kind in "biu":
        array = array.astype(np.float64)
    result = np.array(array, order="C", copy=True)
    if is_parallel():
        agree_on_arrays([result], where)
        allreduce_in_place(result, op)
    return result


def allgather(array, where="allgather"):
    """The processes' arrays concatenated along the first axis, in rank order.

    The first dimensions may differ; the others and the dtype must be the same everywhere.
    """
    array = np.ascontiguousarray(array)
    if array.ndim == 0:
        raise ValueError(f"{where}: cannot gather a scalar along its first axis; received shape ().")
    job = _job
    if job is None or job.size == 1:
        return array.copy()
    agree_on_arrays([array[:0]], where, first_axis_may_differ=True)
    started = time.perf_counter()
    lengths = np.empty(job.size, dtype=np.int64)
    job.world.Allgather(np.array([len(array)], dtype=np.int64), lengths)
    row = int(np.prod(array.shape[1:], dtype=np.int64))
    result = np.empty((int(lengths.sum()), *array.shape[1:]), dtype=array.dtype)
    counts = lengths * row
    job.world.Allgatherv(array, [result, counts.tolist()])
    job.account("allgather", started, result.nbytes)
    return result


def broadcast(array, root):
    """``array`` as the process of rank ``root`` has it (the same shape and dtype everywhere)."""
    job = _job
    result = np.array(array, order="C", copy=True)
    if job is None or job.size == 1:
        return result
    check_root(root, "broadcast")
    agree_on_arrays([result], "broadcast", root=root)
    started = time.perf_counter()
    job.world.Bcast(result, root=root)
    job.account("broadcast", started, result.nbytes)
    return result


def broadcast_into(arrays, root, where="broadcast_variables"):
    """Overwrite each of ``arrays`` (writable, C-contiguous) with the root's, one message per dtype."""
    job = _job
    if job is None or job.size == 1:
        return
    check_root(root, where)
    agree_on_arrays(arrays, where, root=root)
    groups = collections.defaultdict(list)
    for array in arrays:
        groups[array.dtype.str].append(array)
    started = time.perf_counter()
    nbytes = 0
    for dtype in sorted(groups):
        members = groups[dtype]
        buffer = np.concatenate([a.reshape(-1) for a in members]) if len(members) > 1 else members[0].reshape(-1)
        job.world.Bcast(buffer, root=root)
        if len(members) > 1:
            offset = 0
            for array in members:
                array.reshape(-1)[...] = buffer[offset : offset + array.size]
                offset += array.size
        nbytes += buffer.nbytes
    job.account("broadcast", started, nbytes)


def broadcast_json(value, root=0):
    """A JSON-ready value as the root has it (sent as UTF-8 JSON text: nothing is unpickled)."""
    job = _job
    if job is None or job.size == 1:
        return value
    data = np.frombuffer(json.dumps(value).encode("utf-8"), dtype=np.uint8) if job.rank == root else None
    length = np.array([0 if data is None else len(data)], dtype=np.int64)
    job.world.Bcast(length, root=root)
    if data is None:
        data = np.empty(int(length[0]), dtype=np.uint8)
    job.world.Bcast(data, root=root)
    return json.loads(data.tobytes().decode("utf-8"))


def check_root(root, where):
    job = _job
    size = 1 if job is None else job.size
    if isinstance(root, bool) or not isinstance(root, (int, np.integer)) or not 0 <= root < size:
        raise ValueError(f"{where}: root_rank must be a process rank in [0, {size}); received root_rank={root!r}.")


def _describe(arrays, first_axis_may_differ, extra):
    """A short fingerprint of the arrays' dtypes and shapes (and ``extra``), and their readable description."""
    shapes = []
    for array in arrays:
        if array.ndim > _MAX_DIMENSIONS:
            raise ValueError(f"collectives take arrays of at most {_MAX_DIMENSIONS} dimensions; received {array.ndim}.")
        shape = array.shape[1:] if first_axis_may_differ else array.shape
        shapes.append(f"{array.dtype.str}{list(shape)}")
    text = ";".join(shapes) + "|" + extra
    digest = np.frombuffer(hashlib.blake2b(text.encode("ascii"), digest_size=16).digest(), dtype=np.int64)
    described = ", ".join(shapes) if len(shapes) <= 4 else f"{len(shapes)} arrays ({shapes[0]}, ... {shapes[-1]})"
    return digest, described


def agree_on_arrays(arrays, where, root=None, first_axis_may_differ=False, extra=""):
    """Check that every process brings arrays of the same dtypes and shapes (the root's, when given).

    ``extra`` is any other text the processes must agree on (which gradients are missing).

    Every process learns the outcome, so all of them raise together rather than some
    going on into a collective that would never complete.

    Raises:
        CollectiveMismatchError: naming the ranks whose arrays differ and what they hold.
    """
    job = _job
    if job is None or job.size == 1:
        return
    digest, described = _describe(arrays, first_axis_may_differ, extra)
    started = time.perf_counter()
    digests = np.empty((job.size, len(digest)), dtype=np.int64)
    job.world.Allgather(digest, digests)
    job.account("agree", started, digests.nbytes)
    reference = digests[root if root is not None else 0]
    differing = [rank for rank in range(job.size) if not np.array_equal(digests[rank], reference)]
    if differing:
        whose = f"rank {root}'s" if root is not None else "rank 0's"
        raise CollectiveMismatchError(
            f"{where}: the processes' arrays do not match: rank(s) {differing} hold different dtypes or shapes "
            f"than {whose}; this process (rank {job.rank}) holds {described}."
        )
