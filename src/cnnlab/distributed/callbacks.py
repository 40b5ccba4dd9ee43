"""Keras callbacks for data-parallel training (``hvd.callbacks``), with Horovod's names and behaviour.

callbacks = [
    hvd.callbacks.BroadcastGlobalVariablesCallback(0),   # every process starts from rank 0's weights
    hvd.callbacks.MetricAverageCallback(),               # epoch logs averaged over the processes
    hvd.callbacks.LearningRateWarmupCallback(initial_lr=0.001 * hvd.size(), warmup_epochs=3),
]
model.fit(x_shard, y_shard, callbacks=callbacks, verbose=1 if hvd.rank() == 0 else 0)
"""

import numbers

import numpy as np

from ..keras import callbacks
from ..runtime import mpi
from . import collectives


class BroadcastGlobalVariablesCallback(callbacks.Callback):
    """Make every process start training from the root's model and optimizer state.

    Horovod broadcasts after the first batch, once TensorFlow has created the
    optimizer's slots; cnnlab creates them before training begins, so the broadcast
    happens then and the first step already starts from the root's weights.

    Args:
        root_rank: the rank whose variables everyone receives (0 in Horovod's examples).
        device: Horovod's device option; accepted, nothing to do on a CPU.
    """

    def __init__(self, root_rank, device=""):
        super().__init__()
        mpi.check_root(root_rank, "BroadcastGlobalVariablesCallback")
        self.root_rank = root_rank
        self.device = device
        self.broadcast_done = False

    def on_train_begin(self, logs=None):
        if self.broadcast_done:
            return
        model = self.model
        if model.optimizer is not None:
            model.optimizer.build(model.trainable_weights)
        collectives.broadcast_variables(model.variables, root_rank=self.root_rank)
        if model.optimizer is not None:
            collectives.broadcast_variables(model.optimizer.variables, root_rank=self.root_rank)
        self.broadcast_done = True


class MetricAverageCallback(callbacks.Callback):
    """Replace each epoch's logs (loss, metrics, validation results) by their average over the processes.

    Every process computes its metrics on its own shard; Horovod averages them at the
    end of every epoch, each process weighing the same, so callbacks later in the
    list (checkpoints, early stopping, the History ``fit`` returns) see the averages.
    Put it before those callbacks.  All the logs travel in one allreduce.

    Args:
        device: Horovod's device option; accepted, nothing to do on a CPU.
    """

    def __init__(self, device=""):
        super().__init__()
        self.device = device

    def on_epoch_end(self, epoch, logs=None):
        if not logs:
            return
        names = sorted(name for name, value in logs.items() if isinstance(value, (numbers.Real, np.ndarray)))
        averaged = collectives.allreduce(np.array([float(logs[name]) for name in names]), op="average")
        for name, value in zip(names, averaged.numpy()):
            logs[name] = float(value)


class LearningRateScheduleCallback(callbacks.Callback):
    """Set the learning rate to ``initial_lr * multiplier(epoch)`` during some epochs (``hvd.callbacks``).

    Args:
        initial_lr: the learning rate the multiplier applies to.
        multiplier: a number (the rate is ``initial_lr * multiplier ** (epoch - start_epoch)``)
            or a function of the epoch (fractional between epochs when not ``staircase``).
        start_epoch, end_epoch: the epochs it acts in: ``start_epoch <= epoch < end_epoch``
            (``end_epoch`` None: to the end).
        staircase: change the rate once at the start of each epoch; otherwise before
            every batch, with the epoch counted in fractions.
        momentum_correction: when the optimizer has a ``momentum`` (SGD), scale it by
            ``new_lr / old_lr`` for the batch where the rate changes (Goyal et al. 2017).
        steps_per_epoch: batches per epoch, to count fractions of an epoch (default:
            ``fit``'s number of steps).

    At the end of every epoch the learning rate is added to the logs as 'lr'.
    """

    def __init__(
        self,
        initial_lr,
        multiplier,
        start_epoch=0,
        end_epoch=None,
        staircase=True,
        momentum_correction=True,
        steps_per_epoch=None,
    ):
        super().__init__()
        if initial_lr is None:
            raise ValueError("Parameter `initial_lr` is required")
        if isinstance(initial_lr, bool) or not isinstance(initial_lr, numbers.Real) or not initial_lr >= 0:
            raise ValueError(
                f"{type(self).__name__}: initial_lr must be a number >= 0; received initial_lr={initial_lr!r}."
            )
        if steps_per_epoch is not None and (
            isinstance(steps_per_epoch, bool)
            or not isinstance(steps_per_epoch, numbers.Integral)
            or steps_per_epoch < 1
        ):
            raise ValueError(
                f"{type(self).__name__}: steps_per_epoch must be None or a whole number >= 1; "
                f"received steps_per_epoch={steps_per_epoch!r}."
            )
        self.initial_lr = float(initial_lr)
        self.start_epoch = start_epoch
        self.end_epoch = end_epoch
        self.staircase = staircase
        self.momentum_correction = momentum_correction
        self.steps_per_epoch = steps_per_epoch
        self.restore_momentum = None
        self.current_epoch = None
        if callable(multiplier):
            self.multiplier = multiplier
        else:
            self.multiplier = lambda epoch: multiplier ** (epoch - start_epoch)

    def _autodetect_steps_per_epoch(self):
        if self.params.get("steps"):
            return self.params["steps"]
        raise ValueError(
            "Could not autodetect the number of steps per epoch. Please specify the steps_per_epoch parameter to "
            f"the {type(self).__name__}()."
        )

    def _adjust_learning_rate(self, epoch):
        optimizer = self.model.optimizer
        old_lr = float(np.asarray(optimizer.learning_rate))
        new_lr = self.initial_lr * self.multiplier(epoch)
        optimizer.learning_rate = new_lr
        if hasattr(optimizer, "momentum") and self.momentum_correction and old_lr > 0:
            # Goyal et al. 2017: with momentum, a changed rate would otherwise apply the
            # old velocity at the new scale for one step.
            self.restore_momentum = optimizer.momentum
            optimizer.momentum = self.restore_momentum * new_lr / old_lr

    def _restore_momentum_if_needed(self):
        if self.restore_momentum:
            self.model.optimizer.momentum = self.restore_momentum
            self.restore_momentum = None

    def on_train_begin(self, logs=None):
        if not self.staircase and not self.steps_per_epoch:
            self.steps_per_epoch = self._autodetect_steps_per_epoch()

    def on_epoch_begin(self, epoch, logs=None):
        self.current_epoch = epoch

    def on_batch_begin(self, batch, logs=None):
        if self.current_epoch < self.start_epoch or (
            self.end_epoch is not None and self.current_epoch >= self.end_epoch
        ):
            return
        if self.staircase and batch == 0:
            self._adjust_learning_rate(self.current_epoch)
        elif not self.staircase:
            self._adjust_learning_rate(self.current_epoch + float(batch) / self.steps_per_epoch)

    def on_batch_end(self, batch, logs=None):
        self._restore_momentum_if_needed()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["lr"] = float(np.asarray(self.model.optimizer.learning_rate))


class LearningRateWarmupCallback(LearningRateScheduleCallback):
    """Raise the learning rate gradually from ``initial_lr / size()`` to ``initial_lr`` (``hvd.callbacks``).

    Goyal et al. 2017 ("Accurate, Large Minibatch SGD"): with K processes the global
    batch is K times bigger and the learning rate is scaled by K to match, but
    starting at the full rate harms the final accuracy, so it grows linearly over the
    first ``warmup_epochs``, batch by batch::

        lr = initial_lr / size * (epoch * (size - 1) / warmup_epochs + 1)

    with ``epoch`` counted in fractions (and shifted by one batch, so that it ends an
    epoch on a round number), reaching ``initial_lr`` at the end of the warm-up.

    Args:
        initial_lr: the rate to reach, usually ``base_lr * hvd.size()``.
        warmup_epochs: epochs of warm-up (default 5).
        momentum_correction: see ``LearningRateScheduleCallback``.
        steps_per_epoch: batches per epoch (default: ``fit``'s number of steps).
        verbose: 1 prints a line on rank 0 when the warm-up ends.
    """

    def __init__(self, initial_lr, warmup_epochs=5, momentum_correction=True, steps_per_epoch=None, verbose=0):
        if isinstance(warmup_epochs, bool) or not isinstance(warmup_epochs, numbers.Integral) or warmup_epochs < 1:
            raise ValueError(
                "LearningRateWarmupCallback: warmup_epochs must be a whole number >= 1; "
                f"received warmup_epochs={warmup_epochs!r}."
            )

        def multiplier(epoch):
            processes = collectives.size()
            epoch += 1.0 / self.steps_per_epoch
            return 1.0 / processes * (epoch * (processes - 1) / warmup_epochs + 1)

        super().__init__(
            initial_lr,
            multiplier,
            start_epoch=0,
            end_epoch=warmup_epochs,
            staircase=False,
            momentum_correction=momentum_correction,
            steps_per_epoch=steps_per_epoch,
        )
        self.warmup_epochs = int(warmup_epochs)
        self.verbose = verbose

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        if epoch == self.end_epoch - 1 and self.verbose > 0 and collectives.rank() == 0:
            new_lr = float(np.asarray(self.model.optimizer.learning_rate))
            print(f"\nEpoch {epoch + 1}: finished gradual learning rate warmup to {new_lr:g}.")
