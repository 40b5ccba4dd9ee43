"""Data-parallel training on MPI, with Horovod's API: a Horovod script ports by changing its import.

    import cnnlab as tf
    import cnnlab.distributed as hvd

    hvd.init()
    model = tf.keras.Sequential([...])
    opt = hvd.DistributedOptimizer(tf.keras.optimizers.Adam(0.001 * hvd.size()))
    model.compile(optimizer=opt, loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  experimental_run_tf_function=False)
    model.fit(x_shard, y_shard, batch_size=64, epochs=5,
              callbacks=[hvd.callbacks.BroadcastGlobalVariablesCallback(0), hvd.callbacks.MetricAverageCallback()],
              verbose=1 if hvd.rank() == 0 else 0)

run with ``mpirun -n 4 python train.py`` (MPI comes with ``pip install '.[mpi]'``).  Each
process trains on its part of the data; before every update ``DistributedOptimizer``
(or ``DistributedGradientTape`` in a ``GradientTape`` loop) averages the gradients of
all the processes with one allreduce, so every process applies the same update and
the weights stay the same everywhere.

What is here:

- the job: ``init``, ``shutdown``, ``size``, ``rank``, ``local_size``, ``local_rank``;
- collectives on tensors: ``allreduce`` (``op=Average``, ``Sum``, ``Min``, ``Max``,
  ``Product``), ``allgather``, ``broadcast``, ``broadcast_variables``;
- training: ``DistributedOptimizer``, ``DistributedGradientTape``, ``callbacks``
  (``BroadcastGlobalVariablesCallback``, ``MetricAverageCallback``,
  ``LearningRateWarmupCallback``, ``LearningRateScheduleCallback``),
  ``SyncBatchNormalization``, ``load_model``;
- cnnlab's own: ``shard`` (each process's part of an epoch, so K processes take the
  steps one process takes with K times the batch; see ``sharding``).

BatchNormalization keeps per-process statistics by default, as in Horovod;
``SyncBatchNormalization`` (Keras's ``BatchNormalization(synchronized=True)``) takes
them over the processes' batches together.

Faults: after ``init()``, an uncaught exception in any process prints its traceback
under the process's rank and aborts the whole job; a killed process is noticed by
``mpirun``, which stops the others.  A process that ends with ``sys.exit(status)``
while others still train is not caught that way (Python gives no hook for it): let
the exception propagate, or call ``cnnlab.runtime.mpi.abort(status)``.

Without MPI installed, ``import cnnlab.distributed`` works and ``init()`` raises an
error naming the install command.
"""

from . import callbacks
from .collectives import (
    Average,
    Max,
    Min,
    Product,
    Sum,
    allgather,
    allreduce,
    broadcast,
    broadcast_variables,
    init,
    is_initialized,
    local_rank,
    local_size,
    mpi_threads_supported,
    rank,
    shutdown,
    size,
)
from ..runtime.mpi import CollectiveMismatchError, MPINotFoundError
from .optimizer import Compression, DistributedGradientTape, DistributedOptimizer
from .sharding import Shard, shard


def SyncBatchNormalization(**kwargs):  # noqa: N802 - Horovod's class name; Keras 3 spells it as an argument
    """A BatchNormalization layer whose training statistics are those of all the processes' batches together.

    ``hvd.SyncBatchNormalization(...)`` is ``keras.layers.BatchNormalization(synchronized=True, ...)``,
    and is saved that way, so the model file loads in Keras 3 and in cnnlab without
    MPI.  It takes BatchNormalization's arguments.  With it, K processes with a batch
    of B samples each compute the same statistics, and the same step, as one process
    with a batch of K * B.
    """
    from ..keras import layers

    if "synchronized" in kwargs:
        raise TypeError("SyncBatchNormalization: synchronized is always True here; do not pass it.")
    return layers.BatchNormalization(synchronized=True, **kwargs)


def load_model(filepath, custom_optimizers=None, custom_objects=None, compile=True):  # noqa: A002 - Keras's name
    """``keras.models.load_model`` with the optimizer wrapped in ``DistributedOptimizer`` (``hvd.load_model``).

    Args:
        filepath: the model file.
        custom_optimizers: your own optimizer classes, by name, for the loader.
        custom_objects: other classes of your own (see ``keras.models.load_model``).
        compile: restore the optimizer and compile settings (then wrapped).
    """
    from ..keras import models

    objects = dict(custom_objects or {})
    objects.update({cls.__name__: cls for cls in (custom_optimizers or [])})
    model = models.load_model(filepath, custom_objects=objects or None, compile=compile)
    if compile and model.optimizer is not None:
        model.optimizer = DistributedOptimizer(model.optimizer)
    return model


__all__ = [
    "Average",
    "CollectiveMismatchError",
    "Compression",
    "DistributedGradientTape",
    "DistributedOptimizer",
    "MPINotFoundError",
    "Max",
    "Min",
    "Product",
    "Shard",
    "Sum",
    "SyncBatchNormalization",
    "allgather",
    "allreduce",
    "broadcast",
    "broadcast_variables",
    "callbacks",
    "init",
    "is_initialized",
    "load_model",
    "local_rank",
    "local_size",
    "mpi_threads_supported",
    "rank",
    "shard",
    "shutdown",
    "size",
]
