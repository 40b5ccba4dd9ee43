"""Each process's share of an epoch, so that K processes take the steps one process would take with K times the batch.

``shard(order, batch_size)`` cuts the epoch's order of samples into global batches of
``size() * batch_size`` samples, as one process with that batch would, and gives this
process its part of each: the samples ``rank() * batch_size`` to ``(rank() + 1) *
batch_size`` of every full global batch, and a near-equal part of the last, smaller
one.  Trained with ``DistributedOptimizer`` and the shard's callback (which tells the
optimizer how many samples each step has, so that the last step's gradients are
weighted by them), the processes then compute the same steps as one process with the
global batch on the same order.

If the last global batch has fewer samples than there are processes, it is left out of
the epoch (``dropped`` counts its samples): every process must take part in every step.

Example (each process, with the same seed, so the same order):

    order = np.random.default_rng([seed, epoch]).permutation(len(x))
    part = hvd.shard(order, batch_size=32)
    model.fit(x[part.indices], y[part.indices], batch_size=32, shuffle=False,
              callbacks=[part.callback()], verbose=1 if hvd.rank() == 0 else 0)
"""

import dataclasses
import numbers

import numpy as np

from ..keras import callbacks
from ..runtime import mpi


@dataclasses.dataclass(frozen=True, eq=False)  # eq=False: fields hold arrays
class Shard:
    """This process's part of an epoch.

    Attributes:
        indices: the samples this process trains on, in step order (an int64 array).
        batch_sizes: this process's number of samples at each step (all ``batch_size``
            but perhaps the last).
        global_batch_sizes: the number of samples of each step over all processes.
        dropped: samples of the order left out (a last global batch smaller than the
            number of processes), 0 otherwise.
    """

    indices: np.ndarray
    batch_sizes: tuple
    global_batch_sizes: tuple
    dropped: int

    def callback(self):
        """A Keras callback that sets the optimizer's ``sample_count`` before each step of ``fit`` on this shard."""
        return SampleCountCallback(self.batch_sizes)


class SampleCountCallback(callbacks.Callback):
    """Before each training step, set ``model.optimizer.sample_count`` to the step's number of samples.

    A ``DistributedOptimizer`` weights each process's gradients by it; at the end of
    training the count is cleared (every process weighs the same again).

    Args:
        batch_sizes: this process's number of samples at each step of an epoch.
    """

    def __init__(self, batch_sizes):
        super().__init__()
        self.batch_sizes = tuple(int(n) for n in batch_sizes)

    def on_train_batch_begin(self, batch, logs=None):
        if batch >= len(self.batch_sizes):
            raise ValueError(
                f"SampleCountCallback: fit took step {batch + 1} but the shard has {len(self.batch_sizes)} steps; "
                "train on the shard's samples with its batch size and shuffle=False."
            )
        if _averages_over_processes(self.model.optimizer):
            self.model.optimizer.sample_count = self.batch_sizes[batch]

    def on_train_end(self, logs=None):
        if _averages_over_processes(self.model.optimizer):
            self.model.optimizer.sample_count = None


def _averages_over_processes(optimizer):
    return getattr(optimizer, "_averages_over_processes", False)


def shard(order, batch_size, rank=None, size=None):
    """This process's share of an epoch taken in ``order``, with ``batch_size`` samples per process and step.

    Args:
        order: the epoch's order of samples (a 1-D array of indices, the same in every
            process), or a number of samples ``n`` for the order ``0, 1, ..., n - 1``.
        batch_size: samples per process and step; a step takes ``size * batch_size``.
        rank, size: this process's rank and the number of processes (default: the
            initialized job's; 0 and 1 without one).

    Returns:
        A ``Shard``.

    Raises:
        ValueError: a bad argument, or fewer samples than processes.
    """
    job = mpi.job()
    size = (1 if job is None else job.size) if size is None else size
    rank = (0 if job is None else job.rank) if rank is None else rank
    for name, value, low in (("batch_size", batch_size, 1), ("size", size, 1), ("rank", rank, 0)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise ValueError(f"shard: {name} must be a whole number >= {low}; received {name}={value!r}.")
    if rank >= size:
        raise ValueError(f"shard: rank must be below size={size}; received rank={rank}.")
    if isinstance(order, numbers.Integral) and not isinstance(order, bool):
        order = np.arange(int(order))
    order = np.asarray(order)
    if order.ndim != 1 or order.dtype.kind not in "iu":
        raise ValueError(
            f"shard: order must be a number of samples or a 1-D array of sample indices; "
            f"received an array of shape {order.shape} and dtype {order.dtype}."
        )
    global_batch = size * batch_size
    full_steps, remainder = divmod(len(order), global_batch)
    pieces = [order[step * global_batch + rank * batch_size :][:batch_size] for step in range(full_steps)]
    batch_sizes = [batch_size] * full_steps
    global_sizes = [global_batch] * full_steps
    dropped = 0
    if remainder >= size:
        # The last global batch: split as evenly as possible, the first processes taking one more.
        bounds = np.cumsum([0] + [remainder // size + (k < remainder % size) for k in range(size)])
        start = full_steps * global_batch
        pieces.append(order[start + bounds[rank] : start + bounds[rank + 1]])
        batch_sizes.append(int(bounds[rank + 1] - bounds[rank]))
        global_sizes.append(remainder)
    else:
        dropped = remainder
    if not batch_sizes:
        raise ValueError(
            f"shard: {len(order)} samples cannot be shared by {size} processes (fewer samples than processes)."
        )
    indices = np.concatenate(pieces).astype(np.int64, copy=False)
    return Shard(indices, tuple(batch_sizes), tuple(global_sizes), dropped)
