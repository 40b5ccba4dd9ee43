"""Differentiable collectives between the processes of an MPI job, and BatchNormalization over all of them.

``allreduce``, ``allgather`` and ``broadcast`` have Horovod's gradients: the gradient
of a sum (or average) over the processes is the sum (or average) of the processes'
gradients; of a gather, this process's slice of the summed gradient; of a broadcast,
the summed gradient at the root and zero elsewhere.

``sync_batch_norm_training`` is BatchNormalization whose statistics are those of the
global batch, the union of every process's batch.  Its gradient follows the
convention of data-parallel training in cnnlab: process ``k`` with ``n_k`` of the
global batch's ``N`` samples takes the gradient of its own mean loss, and the
processes' gradients are then averaged with weights ``n_k / N`` (what
``cnnlab.distributed.DistributedOptimizer`` does), which gives the gradient of the
global batch's mean loss, as one process with the whole batch would compute it.

Outside an initialized job of several processes, every op here is the local op.
"""

import numpy as np

from ..autodiff import GradientTape, is_recording, is_watched, record
from ..runtime import mpi
from ..tensor import Tensor, as_tensor
from . import array_ops, math_ops, nn_ops, reduction_ops


def in_parallel_job():
    """Whether this process is one of several in an initialized MPI job (``cnnlab.distributed.init``)."""
    return mpi.is_parallel()


def allreduce(x, op="average"):
    """``x`` reduced over the processes, element by element (``hvd.allreduce``).

    Args:
        x: a tensor (or array) of the same shape and dtype in every process.
        op: 'average' (default), 'sum', 'min', 'max' or 'product'.

    Returns:
        A tensor of ``x``'s shape.  Only 'average' and 'sum' have a gradient.
    """
    mpi.check_reduce_op(op, "allreduce")
    x = as_tensor(x, "allreduce")
    value = mpi.allreduce(x._value, op)

    def grad(dy):
        if op not in ("average", "sum"):
            raise ValueError(f"allreduce: op={op!r} has no gradient; only 'average' and 'sum' do.")
        return (allreduce(dy, op),)

    return record(value, (x,), grad)


def allgather(x):
    """The processes' tensors concatenated along the first axis, in rank order (``hvd.allgather``).

    The first dimensions may differ between processes; the other dimensions may not.
    """
    x = as_tensor(x, "allgather")
    value = mpi.allgather(x._value)
    lengths = mpi.allgather(np.array([len(x._value)], dtype=np.int64))
    job = mpi.job()
    start = int(lengths[: job.rank].sum()) if job is not None else 0

    def grad(dy):
        summed = allreduce(dy, "sum")
        return (array_ops.gather(summed, np.arange(start, start + len(x._value))),)

    return record(value, (x,), grad)


def broadcast(x, root_rank):
    """``x`` as the process of rank ``root_rank`` has it (``hvd.broadcast``)."""
    x = as_tensor(x, "broadcast")
    value = mpi.broadcast(x._value, root_rank)
    job = mpi.job()
    is_root = job is None or job.rank == root_rank

    def grad(dy):
        summed = allreduce(dy, "sum")
        return (summed if is_root else summed * 0,)

    return record(value, (x,), grad)


def _weighted_sum_across(x, weight):
    """The sum of ``x`` over the processes, whose gradient follows the weighted-average convention.

    With ``weight`` this process's share ``n_k / N`` of the global batch, the gradient
    sent back to process ``k``'s input is ``sum_j weight_j * dy_j / weight_k``: averaged
    with the weights, the processes' gradients then add up to the gradient of the
    global batch's loss (see the module docstring).  Itself differentiable.
    """
    value = mpi.allreduce_in_place(np.array(x._value, order="C", copy=True), "sum")

    def grad(dy):
        return (_weighted_sum_across(dy * weight, weight) / weight,)

    return record(value, (x,), grad)


def sync_batch_norm_training(x, gamma, beta, epsilon, channel_axis):
    """BatchNormalization's training forward with the statistics of the processes' batches together.

    ``out = (x - mean) / sqrt(variance + epsilon) * gamma + beta`` per channel, where
    ``mean`` and the (biased) ``variance`` are taken over every process's batch: the
    processes exchange their per-channel sums (with the sample counts, so batches of
    different sizes are weighted by their size), then their sums of squared
    deviations.  The gradient exchanges the per-channel sums of ``dy`` and
    ``dy * x_hat`` once::

        dx = gamma / sqrt(variance + epsilon) * (dy - A / n_k - x_hat * B / n_k)

    where ``n_k`` is this process's count of values per channel and ``A``, ``B`` are
    the sums over the processes of ``n_j / N`` times their sums of ``dy`` and
    ``dy * x_hat``.  When an outer tape records the backward pass, the gradient is
    taken through differentiable ops instead.

    Args:
        x: the input tensor; ``channel_axis`` its channel axis (non-negative).
        gamma, beta: (channels,) tensors, or None.
        epsilon: added to the variance.

    Returns:
        ``(out, mean, variance)``: the output tensor and the global batch statistics as
        (channels,) arrays, for the moving averages.
    """
    x = as_tensor(x, "batch_normalization")
    inputs = tuple(t for t in (x, gamma, beta) if t is not None)
    value = np.moveaxis(x._value, channel_axis, -1)  # channels last (a view)
    dtype, axes = value.dtype, tuple(range(value.ndim - 1))
    channels = value.shape[-1]
    local_count = value.size // channels
    # One exchange for the counts and the sums, one for the squared deviations around the global mean.
    sums = _sum_across(np.concatenate([[local_count], value.sum(axis=axes, dtype=np.float64)]))
    count = sums[0]
    weight = local_count / count  # this process's share of the global batch
    mean = (sums[1:] / count).astype(dtype)
    centred = value - mean
    squares = _sum_across(np.square(centred).sum(axis=axes, dtype=np.float64))
    variance = (squares / count).astype(dtype)
    inverse_std = (1 / np.sqrt(variance + dtype.type(epsilon))).astype(dtype)
    x_hat = centred * inverse_std
    out = x_hat * gamma._value if gamma is not None else x_hat.copy()
    if beta is not None:
        out += beta._value
    need_weights = any(is_watched(t) for t in inputs[1:])

    def grad(dy):
        if is_recording():
            return _gradient_through(
                lambda *args: _sync_batch_norm_by_ops(args, gamma, beta, epsilon, channel_axis, weight, count),
                inputs,
                dy,
            )
        dy_value = np.moveaxis(dy._value, channel_axis, -1)
        d_beta = dy_value.sum(axis=axes, dtype=np.float64)
        d_gamma = (dy_value * x_hat).sum(axis=axes, dtype=np.float64)
        across = _sum_across(np.concatenate([d_beta, d_gamma]) * weight)
        mean_dy = (across[:channels] / local_count).astype(dtype)
        mean_dy_x_hat = (across[channels:] / local_count).astype(dtype)
        dx = dy_value - mean_dy - x_hat * mean_dy_x_hat
        dx *= inverse_std if gamma is None else gamma._value * inverse_std
        grads = [Tensor(np.ascontiguousarray(np.moveaxis(dx, -1, channel_axis)))]
        if gamma is not None:
            grads.append(Tensor(d_gamma.astype(dtype)) if need_weights else None)
        if beta is not None:
            grads.append(Tensor(d_beta.astype(dtype)) if need_weights else None)
        return tuple(grads)

    out = np.ascontiguousarray(np.moveaxis(out, -1, channel_axis))
    return record(out, inputs, grad), mean, variance


def _sum_across(array):
    """A float64 array summed over the processes.  Every process of a model brings the same
    channels, so no shape check is made (it would be one more exchange per layer and step)."""
    return mpi.allreduce_in_place(np.ascontiguousarray(array, dtype=np.float64), "sum")


def _sync_batch_norm_by_ops(inputs, gamma, beta, epsilon, channel_axis, weight, count):
    """``sync_batch_norm_training``'s output from differentiable ops (for higher-order gradients)."""
    x, *weights = inputs
    gamma = weights.pop(0) if gamma is not None else None
    beta = weights.pop(0) if beta is not None else None
    axes = tuple(i for i in range(x.ndim) if i != channel_axis)
    shape = tuple(x.shape[i] if i == channel_axis else 1 for i in range(x.ndim))
    mean = _weighted_sum_across(reduction_ops.reduce_sum(x, axis=axes, keepdims=True), weight) / count
    deviations = math_ops.squared_difference(x, array_ops.stop_gradient(mean))
    variance = _weighted_sum_across(reduction_ops.reduce_sum(deviations, axis=axes, keepdims=True), weight) / count
    gamma = None if gamma is None else array_ops.reshape(gamma, shape)
    beta = None if beta is None else array_ops.reshape(beta, shape)
    return nn_ops.batch_normalization(x, mean, variance, beta, gamma, epsilon)


def _gradient_through(fn, inputs, dy):
    with GradientTape() as tape:
        tape.watch(inputs)
        out = fn(*inputs)
    return tuple(tape.gradient(out, list(inputs), output_gradients=dy))
