"""Gradients averaged over the processes: ``DistributedOptimizer`` (for ``fit``) and ``DistributedGradientTape``.

Both hand the gradients of one step to ``FusedGradientAverage``, which copies them into
ONE flat buffer and reduces it with ONE allreduce (Horovod's tensor fusion): a step of
a model with twenty weight tensors costs one message latency, not twenty.

The average is weighted by the number of samples each process's gradients come from,
when that number is known (``sample_count``; ``cnnlab.distributed.shard`` sets it step by
step in ``fit``).  Process ``k``, with ``n_k`` of the step's ``N`` samples, contributes
``n_k / N`` of its gradient, so an epoch's last, smaller global batch split unevenly
still gives the gradient of the mean loss over that batch, as one process would.  The
count rides in the same buffer as the gradients.  Without a count every process weighs
the same (Horovod's average).
"""

import numpy as np

from .. import nest
from ..autodiff import GradientTape
from ..keras import optimizers
from ..runtime import mpi
from ..tensor import Tensor, Variable

Average, Sum = "average", "sum"


class Compression:
    """Gradient compression for the allreduce (Horovod's ``hvd.Compression``): cnnlab sends gradients as they are."""

    none = None


def _check_sample_count(value, where):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{where}: sample_count must be None or a whole number >= 0; received sample_count={value!r}.")
    return int(value)


def _check_common_options(where, op, gradient_predivide_factor, compression):
    if op not in (Average, Sum):
        raise ValueError(f"{where}: op must be cnnlab.distributed.Average or Sum; received op={op!r}.")
    if isinstance(gradient_predivide_factor, bool) or not isinstance(gradient_predivide_factor, (int, float)):
        raise ValueError(
            f"{where}: gradient_predivide_factor must be a number > 0; "
            f"received gradient_predivide_factor={gradient_predivide_factor!r}."
        )
    if not gradient_predivide_factor > 0:
        raise ValueError(
            f"{where}: gradient_predivide_factor must be > 0; "
            f"received gradient_predivide_factor={gradient_predivide_factor}."
        )
    if gradient_predivide_factor != 1.0 and op != Average:
        raise ValueError(f"{where}: gradient_predivide_factor is only supported with op=Average (as in Horovod).")
    if compression is not Compression.none:
        raise ValueError(f"{where}: only compression=Compression.none is supported; received {compression!r}.")


class FusedGradientAverage:
    """Averages (or sums) a list of gradients over the processes with one allreduce of one buffer.

    Args:
        op: ``Average`` or ``Sum``.
        gradient_predivide_factor: Horovod's option: the gradients are divided by it
            before the sum and multiplied by it after (the result is the same average).
        where: the caller's name, for error messages.

    The buffer is kept from step to step.  The first step, and any step whose
    gradients have other shapes, first checks with the other processes that they
    bring the same shapes (one small exchange), so a mismatch is an error rather than
    a garbled average or a hang.
    """

    def __init__(self, op=Average, gradient_predivide_factor=1.0, where="DistributedOptimizer"):
        self.op = op
        self.predivide = float(gradient_predivide_factor)
        self.where = where
        self._layout = None
        self._buffer = None

    def __call__(self, gradients, sample_count=None):
        """The reduced gradients: a list in the order given, None where a gradient is None.

        Args:
            gradients: ndarrays (or tensors), None for a variable without gradient.
            sample_count: how many samples this process's gradients come from; with
                ``Average``, the processes' gradients are weighted by it.

        Raises:
            ValueError: the samples counted over all processes total zero.
            cnnlab.runtime.mpi.CollectiveMismatchError: the processes' gradients differ in shape.
        """
        arrays = [None if g is None else (g._value if isinstance(g, Tensor) else np.asarray(g)) for g in gradients]
        if not mpi.is_parallel():
            return arrays
        present = [a for a in arrays if a is not None]
        layout = tuple(None if a is None else (a.shape, a.dtype.str) for a in arrays)
        if layout != self._layout:
            missing = "missing:" + ",".join(str(i) for i, a in enumerate(arrays) if a is None)
            mpi.agree_on_arrays(present, self.where, extra=missing)
            dtype = np.result_type(np.float32, *(a.dtype for a in present))
            self._buffer = np.empty(sum(a.size for a in present) + 1, dtype=dtype)
            self._layout = layout
        buffer = self._buffer
        weight = 1.0 if sample_count is None or self.op == Sum else float(sample_count)
        scale = weight / self.predivide
        offset = 0
        for array in present:
            np.multiply(array.reshape(-1), scale, out=buffer[offset : offset + array.size])
            offset += array.size
        buffer[-1] = weight
        mpi.allreduce_in_place(buffer, "sum")
        if self.op == Average:
            total = buffer[-1]
            if total <= 0:
                raise ValueError(
                    f"{self.where}: no process had samples for this step (the sample counts total {total:g}); "
                    "there is nothing to average."
                )
            factor = self.predivide / total
        else:
            factor = 1.0
        results, offset = [], 0
        for array in arrays:
            if array is None:
                results.append(None)
                continue
            part = buffer[offset : offset + array.size] * factor
            results.append(part.astype(array.dtype, copy=False).reshape(array.shape))
            offset += array.size
        return results


def DistributedOptimizer(  # noqa: N802 - Horovod's name for a function that returns an optimizer
    optimizer,
    name=None,
    device_dense="",
    device_sparse="",
    compression=Compression.none,
    sparse_as_dense=False,
    gradient_predivide_factor=1.0,
    op=Average,
    backward_passes_per_step=1,
    average_aggregated_gradients=False,
    num_groups=0,
    groups=None,
):
    """``optimizer``, averaging the gradients over the processes before applying them (``hvd.DistributedOptimizer``).

    The result is an instance of a subclass of ``optimizer``'s class with the same
    name, holding the same state (weights' slots, ``iterations``, learning rate): a
    model compiled with it trains as before, except that every ``apply_gradients``
    (and so every ``fit`` step and ``minimize``) first averages the gradients over the
    processes with one allreduce (see ``FusedGradientAverage``).  It saves as the
    plain optimizer, so the model file loads without MPI.

    Args:
        optimizer: a ``keras.optimizers.Optimizer`` instance.
        name: a name for the averaging in error messages (default 'Distributed' + the class name).
        device_dense, device_sparse, sparse_as_dense, num_groups, groups: Horovod's
            options about devices, sparse gradients and fusion groups; accepted, and
            nothing to do in cnnlab (NumPy arrays, one fused group).
        compression: ``Compression.none`` (the only one cnnlab has).
        gradient_predivide_factor: as in Horovod (see ``FusedGradientAverage``).
        op: ``Average`` (default) or ``Sum``.
        backward_passes_per_step: 1 (local accumulation over several steps is not supported).
        average_aggregated_gradients: Horovod's option for ``backward_passes_per_step > 1``; accepted.

    Attributes of the result:
        sample_count: None (every process weighs the same) or the number of samples of
            this process's next gradients, to weight the average by it.

    Returns:
        The distributed optimizer (``optimizer`` itself is left as it was, sharing its state).

    Example:
        opt = cnnlab.distributed.DistributedOptimizer(cnnlab.keras.optimizers.Adam(0.001 * hvd.size()))
        model.compile(optimizer=opt, loss="sparse_categorical_crossentropy", experimental_run_tf_function=False)
    """
    where = "DistributedOptimizer"
    if not isinstance(optimizer, optimizers.Optimizer):
        raise TypeError(
            f"{where}: expected a keras.optimizers.Optimizer instance, e.g. keras.optimizers.Adam(0.001); "
            f"received {type(optimizer).__name__} ({optimizer!r})."
        )
    if getattr(optimizer, "_averages_over_processes", False):
        raise ValueError(f"{where}: this optimizer already averages over the processes; wrap the plain optimizer once.")
    _check_common_options(where, op, gradient_predivide_factor, compression)
    if backward_passes_per_step != 1:
        raise ValueError(
            f"{where}: only backward_passes_per_step=1 is supported; received "
            f"backward_passes_per_step={backward_passes_per_step!r}."
        )
    base = type(optimizer)
    label = name or f"Distributed{base.__name__}"
    cls = type(base.__name__, (base,), _distributed_methods(base, label, op, gradient_predivide_factor))
    distributed = cls.__new__(cls)
    distributed.__dict__.update(optimizer.__dict__)
    distributed.sample_count = None
    return distributed


def _distributed_methods(base, label, op, gradient_predivide_factor):
    def averaged(self, grads_and_vars):
        pairs = list(grads_and_vars)
        for pair in pairs:
            if not isinstance(pair, (tuple, list)) or len(pair) != 2 or not isinstance(pair[1], Variable):
                raise TypeError(
                    f"{label}.apply_gradients: expected (gradient, Variable) pairs, e.g. zip(grads, vars); "
                    f"received {pair!r}."
                )
        averager = self.__dict__.get("_fused_average")
        if averager is None:
            averager = self._fused_average = FusedGradientAverage(op, gradient_predivide_factor, label)
        count = _check_sample_count(self.__dict__.get("sample_count"), label)
        gradients = averager([g for g, _ in pairs], count)
        return list(zip(gradients, [v for _, v in pairs]))

    def apply_gradients(self, grads_and_vars, *args, **kwargs):
        if self.__dict__.get("_averaging"):  # the base class's apply_gradients calling apply() or vice versa
            return base.apply_gradients(self, grads_and_vars, *args, **kwargs)
        self._averaging = True
        try:
            return base.apply_gradients(self, averaged(self, grads_and_vars), *args, **kwargs)
        finally:
            self._averaging = False

    methods = {
        "__module__": base.__module__,
        "__doc__": f"{base.__name__} averaging its gradients over the MPI processes (cnnlab.distributed).",
        "_averages_over_processes": True,
        "apply_gradients": apply_gradients,
    }
    if hasattr(base, "apply"):  # Keras 3's apply(grads, trainable_variables)

        def apply(self, grads, trainable_variables=None, *args, **kwargs):
            if self.__dict__.get("_averaging") or trainable_variables is None:
                return base.apply(self, grads, trainable_variables, *args, **kwargs)
            self._averaging = True
            try:
                pairs = averaged(self, zip(grads, trainable_variables))
                return base.apply(self, [g for g, _ in pairs], [v for _, v in pairs], *args, **kwargs)
            finally:
                self._averaging = False

        methods["apply"] = apply
    return methods


class DistributedGradientTape:
    """A ``GradientTape`` whose ``gradient`` averages over the processes (``hvd.DistributedGradientTape``).

    Wrap the tape after recording, as Horovod's examples do; everything but
    ``gradient`` is the wrapped tape's.

    Args:
        gradtape: the ``GradientTape`` that recorded the loss.
        op: ``Average`` (default) or ``Sum``.
        gradient_predivide_factor, compression: as ``DistributedOptimizer``.
        device_dense, device_sparse, sparse_as_dense, num_groups, groups: accepted (see ``DistributedOptimizer``).

    Attributes:
        sample_count: None, or the number of samples of this process's batch, to weight
            the average by it (see ``FusedGradientAverage``).

    Example:
        with tf.GradientTape() as tape:
            loss_value = loss(labels, model(images, training=True))
        tape = hvd.DistributedGradientTape(tape)
        grads = tape.gradient(loss_value, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables))
    """

    def __init__(
        self,
        gradtape,
        device_dense="",
        device_sparse="",
        compression=Compression.none,
        sparse_as_dense=False,
        op=Average,
        gradient_predivide_factor=1.0,
        num_groups=0,
        groups=None,
    ):
        where = "DistributedGradientTape"
        if not isinstance(gradtape, GradientTape):
            raise TypeError(f"{where}: expected a GradientTape; received {type(gradtape).__name__} ({gradtape!r}).")
        _check_common_options(where, op, gradient_predivide_factor, compression)
        self._tape = gradtape
        self._average = FusedGradientAverage(op, gradient_predivide_factor, where)
        self.sample_count = None

    def gradient(self, target, sources, output_gradients=None, unconnected_gradients="none"):
        """The wrapped tape's gradients, averaged over the processes, in the structure of ``sources``."""
        grads = self._tape.gradient(
            target, sources, output_gradients=output_gradients, unconnected_gradients=unconnected_gradients
        )
        reduced = self._average(nest.flatten(grads), _check_sample_count(self.sample_count, "DistributedGradientTape"))
        return nest.pack_sequence_as(grads, [None if r is None else Tensor(r) for r in reduced])

    def __enter__(self):
        self._tape.__enter__()
        return self

    def __exit__(self, *exc_info):
        return self._tape.__exit__(*exc_info)

    def __getattr__(self, name):
        return getattr(self._tape, name)
