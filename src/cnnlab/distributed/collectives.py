"""The job and its collectives, with Horovod's names: ``init``, ``size``, ``rank``, ``allreduce``, ...

Every function but ``init`` and ``is_initialized`` needs ``init()`` first (as in Horovod,
a ValueError says so).  Tensors go in and come out; the collectives are differentiable
(see ``cnnlab.ops.collective_ops``).
"""

import numpy as np

from ..ops import collective_ops
from ..runtime import mpi
from ..tensor import Tensor, Variable

Average, Sum, Min, Max, Product = "average", "sum", "min", "max", "product"


def init(comm=None):
    """Join the MPI job this process belongs to (``hvd.init()``); one process without ``mpirun`` is a job of one.

    Args:
        comm: Horovod's option to run on a sub-communicator; cnnlab runs on every
            process of the job, so only None is accepted.

    Raises:
        cnnlab.runtime.mpi.MPINotFoundError: mpi4py or an MPI library is not installed
            (the message names the install command, ``pip install '.[mpi]'``).

    From here on, an exception that no one catches in any process stops every process
    of the job with a message naming the failed rank (see ``cnnlab.runtime.mpi.init``).
    """
    if comm is not None:
        raise ValueError(f"init: cnnlab runs on all the processes of the job; comm must be None, received {comm!r}.")
    mpi.init()


def shutdown():
    """Leave the job (``hvd.shutdown()``); ``init()`` joins again."""
    mpi.shutdown()


def is_initialized():
    """Whether ``init()`` has been called (and not undone by ``shutdown()``)."""
    return mpi.job() is not None


def size():
    """The number of processes in the job."""
    return mpi.require("size").size


def rank():
    """This process's number in the job, from 0 to ``size() - 1``."""
    return mpi.require("rank").rank


def local_size():
    """The number of the job's processes on this machine."""
    return mpi.require("local_size").local_size


def local_rank():
    """This process's number among the job's processes on this machine."""
    return mpi.require("local_rank").local_rank


def mpi_threads_supported():
    """Whether the MPI library was initialized for calls from several threads."""
    job = mpi.require("mpi_threads_supported")
    return job.mpi.Query_thread() == job.mpi.THREAD_MULTIPLE


def allreduce(
    tensor,
    average=None,
    device_dense="",
    device_sparse="",
    compression=None,
    op=None,
    name=None,
    prescale_factor=1.0,
    postscale_factor=1.0,
):
    """``tensor`` reduced over the processes element by element (``hvd.allreduce``).

    Args:
        tensor: a tensor or array, of the same shape and dtype in every process.
        average: Horovod's older switch (True: ``Average``, False: ``Sum``); give ``op`` instead.
        op: ``Average`` (the default), ``Sum``, ``Min``, ``Max`` or ``Product``.
        prescale_factor, postscale_factor: multiply the tensor before, the result after.
        device_dense, device_sparse, compression, name: accepted for Horovod's scripts.

    Returns:
        A Tensor; ``Average`` and ``Sum`` have a gradient (that of the other processes' too).

    Raises:
        cnnlab.runtime.mpi.CollectiveMismatchError: the processes' tensors differ in shape or dtype.
    """
    mpi.require("allreduce")
    if average is not None and op is not None:
        raise ValueError("allreduce: give op or average, not both.")
    if op is None:
        op = Sum if average is False else Average
    value = tensor if isinstance(tensor, Tensor) else Tensor(np.asarray(tensor))
    if prescale_factor != 1.0:
        value = value * prescale_factor
    result = collective_ops.allreduce(value, op)
    if postscale_factor != 1.0:
        result = result * postscale_factor
    return result


def allgather(tensor, name=None):
    """The processes' tensors concatenated along the first axis in rank order (``hvd.allgather``).

    The first dimension may differ from process to process, the others may not.
    """
    mpi.require("allgather")
    return collective_ops.allgather(tensor if isinstance(tensor, Tensor) else Tensor(np.asarray(tensor)))


def broadcast(tensor, root_rank, name=None):
    """``tensor`` as the process of rank ``root_rank`` holds it (``hvd.broadcast``)."""
    mpi.require("broadcast")
    return collective_ops.broadcast(tensor if isinstance(tensor, Tensor) else Tensor(np.asarray(tensor)), root_rank)


def broadcast_variables(variables, root_rank=0):
    """Set every process's ``variables`` to the root's values (``hvd.broadcast_variables``).

    One message per dtype carries them all.  Pass the model's and the optimizer's:
    ``broadcast_variables(model.variables, 0)``, ``broadcast_variables(opt.variables(), 0)``.

    Raises:
        cnnlab.runtime.mpi.CollectiveMismatchError: some process's variables differ in
            number, shape or dtype from the root's (raised in every process).
    """
    mpi.require("broadcast_variables")
    variables = list(variables() if callable(variables) and not isinstance(variables, Variable) else variables)
    for variable in variables:
        if not isinstance(variable, Variable):
            raise TypeError(
                f"broadcast_variables: expected Variables (model.variables, optimizer.variables); "
                f"received a {type(variable).__name__}."
            )
    buffers = [np.array(variable._value, order="C", copy=True) for variable in variables]
    mpi.broadcast_into(buffers, root_rank)
    for variable, buffer in zip(variables, buffers):
        variable.assign(buffer)
