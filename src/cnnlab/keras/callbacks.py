"""Callbacks (``tf.keras.callbacks``): code that ``fit`` runs at the start and end of training, epochs and batches.

    early = keras.callbacks.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
    model.fit(x, y, validation_split=0.2, epochs=50, callbacks=[early])

Every callback gets ``set_model(model)`` and ``set_params({'epochs', 'steps', 'verbose'})``
before training; ``logs`` is a dict of the epoch's results ('loss', metric names,
'val_loss', ...).  Setting ``model.stop_training = True`` ends ``fit`` after the
current epoch.
"""

import csv
import json
import math
import os
import shutil
import time
import warnings

import numpy as np


class Callback:
    """Base class: override any of the ``on_*`` methods."""

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs)

    def on_test_begin(self, logs=None):
        pass

    def on_test_end(self, logs=None):
        pass

    def on_test_batch_begin(self, batch, logs=None):
        pass

    def on_test_batch_end(self, batch, logs=None):
        pass

    def on_predict_begin(self, logs=None):
        pass

    def on_predict_end(self, logs=None):
        pass

    def on_predict_batch_begin(self, batch, logs=None):
        pass

    def on_predict_batch_end(self, batch, logs=None):
        pass

    # Keras 2 names of the training-batch hooks (the on_train_batch_* ones call them).
    def on_batch_begin(self, batch, logs=None):
        pass

    def on_batch_end(self, batch, logs=None):
        pass


class CallbackList:
    """Dispatches each event to a list of callbacks.

    Batch events are the only per-step cost of callbacks, so ``wants(event)`` lets
    the training loop skip building per-batch logs when no callback overrides that hook.
    """

    def __init__(self, callbacks, model, params):
        self.callbacks = list(callbacks or [])
        for callback in self.callbacks:
            if not isinstance(callback, Callback):
                raise TypeError(
                    "callbacks must be keras.callbacks.Callback instances; "
                    f"received {type(callback).__name__} ({callback!r})."
                )
            callback.set_model(model)
            callback.set_params(params)

    def wants(self, event):
        """Whether some callback overrides ``event`` (e.g. 'on_train_batch_end')."""
        names = (event, _KERAS2_BATCH_HOOKS.get(event))
        return any(_overrides(callback, name) for callback in self.callbacks for name in names if name)

    def __getattr__(self, event):
        """``callback_list.on_epoch_end(epoch, logs)`` calls every callback's ``on_epoch_end``.

        The callbacks share one copy of ``logs`` with its keys sorted by name (Keras 3
        hands every callback its logs so: History's keys come out as 'accuracy', 'loss',
        'val_accuracy', 'val_loss'); what one callback adds to it (ReduceLROnPlateau's
        'learning_rate') the next ones see.  The call returns that copy.
        """
        if not event.startswith("on_"):
            raise AttributeError(event)

        def dispatch(*args, logs=None):
            if args and (args[-1] is None or isinstance(args[-1], dict)):  # logs passed by position
                *args, logs = args
            logs = dict(sorted((logs or {}).items()))
            for callback in self.callbacks:
                getattr(callback, event)(*args, logs)
            return logs

        return dispatch


_KERAS2_BATCH_HOOKS = {"on_train_batch_begin": "on_batch_begin", "on_train_batch_end": "on_batch_end"}


def _overrides(callback, event):
    if event in callback.__dict__:  # a LambdaCallback's function
        return True
    return getattr(type(callback), event) is not getattr(Callback, event)


class History(Callback):
    """Records the logs of every epoch: ``history.history['val_loss'][3]``; ``fit`` returns it."""

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        self.model.history = self


def _monitor_op(mode, monitor, owner):
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{owner}: mode must be 'auto', 'min' or 'max'; received mode={mode!r}.")
    if mode == "auto":
        # As Keras: accuracy-like quantities grow, everything else (losses) shrinks.
        name = monitor.removeprefix("val_")
        mode = (
            "max" if name in ("acc", "accuracy", "auc", "precision", "recall") or name.endswith("accuracy") else "min"
        )
    return mode


class EarlyStopping(Callback):
    """Stop training when a monitored quantity has stopped improving.

    Args:
        monitor: the log to watch (default 'val_loss').
        min_delta: the smallest change that counts as an improvement.
        patience: epochs without improvement before stopping.
        verbose: 1 prints a message when stopping and restoring.
        mode: 'min', 'max' or 'auto' (max for accuracies, min otherwise).
        baseline: a value the quantity must beat; training stops if it does not
            within ``patience`` epochs.
        restore_best_weights: at the end of training, set the weights back to those
            of the best epoch (as Keras 3, also when training ran to the last epoch).
        start_from_epoch: epochs to wait before watching at all.
    """

    def __init__(
        self,
        monitor="val_loss",
        min_delta=0,
        patience=0,
        verbose=0,
        mode="auto",
        baseline=None,
        restore_best_weights=False,
        start_from_epoch=0,
    ):
        super().__init__()
        if patience < 0 or int(patience) != patience:
            raise ValueError(f"EarlyStopping: patience must be an integer >= 0; received patience={patience!r}.")
        self.monitor = monitor
        self.mode = _monitor_op(mode, monitor, "EarlyStopping")
        self.min_delta = abs(min_delta)
        self.patience = int(patience)
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch

    def _is_improvement(self, value, reference):
        if reference is None:
            return True
        if self.mode == "max":
            return value - self.min_delta > reference
        return value + self.min_delta < reference

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        current = (logs or {}).get(self.monitor)
        if current is None:
            warnings.warn(
                f"EarlyStopping is conditioned on '{self.monitor}', which is not in the logs "
                f"(available: {sorted(logs or {})}); give validation data or pick another monitor.",
                stacklevel=2,
            )
            return
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


class ModelCheckpoint(Callback):
    """Save the model (or its weights) at the end of every epoch, every ``save_freq`` batches,
    or only when it improved.

    Args:
        filepath: where to save; may hold ``{epoch}`` (1-based, format specs allowed:
            ``{epoch:02d}``), ``{batch}`` (with ``save_freq=<int>``) and log names
            (``{val_loss:.3f}``).  Missing folders are created.
        monitor: the log compared when ``save_best_only`` (default 'val_loss').
        verbose: 1 prints a line per save.
        save_best_only: save only when ``monitor`` improved on the best so far.
        save_weights_only: write ``save_weights`` files instead of whole models.
        mode: 'min', 'max' or 'auto'.
        save_freq: 'epoch', or an integer: save after every that many training batches
            (counted across epochs, as Keras).
        initial_value_threshold: a value the first save must beat.

    Whole-model files record the number of finished epochs in their user metadata
    (``keras.saving.load_metadata(path)['user_metadata']['epoch']``), so a run can be
    resumed with ``fit(..., initial_epoch=epoch)``; a save within an epoch also records
    the batches done in it (``'batch'``).
    """

    def __init__(
        self,
        filepath,
        monitor="val_loss",
        verbose=0,
        save_best_only=False,
        save_weights_only=False,
        mode="auto",
        save_freq="epoch",
        initial_value_threshold=None,
    ):
        super().__init__()
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int) or save_freq < 1):
            raise ValueError(
                "ModelCheckpoint: save_freq must be 'epoch' or a positive integer (batches); "
                f"received save_freq={save_freq!r}."
            )
        self.filepath = os.fspath(filepath)
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.mode = _monitor_op(mode, monitor, "ModelCheckpoint")
        self.save_freq = save_freq
        self.best = initial_value_threshold
        self._batches_since_save = 0
        self._current_epoch = 0

    def _improved(self, current):
        if self.best is None:
            return True
        return current > self.best if self.mode == "max" else current < self.best

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches_since_save += 1
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._save(self._current_epoch, batch, logs or {})

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, None, logs or {})

    def _path(self, epoch, batch, logs):
        fields = {"epoch": epoch + 1, **logs}
        if batch is not None:
            fields.setdefault("batch", batch + 1)
        try:
            return self.filepath.format(**fields)
        except KeyError as error:
            raise KeyError(
                f"ModelCheckpoint: the filepath {self.filepath!r} names {error}, which is not in the logs "
                f"(available: {', '.join(sorted(fields))})."
            ) from None

    def _save(self, epoch, batch, logs):
        path = self._path(epoch, batch, logs)
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None:
                warnings.warn(
                    f"ModelCheckpoint: can save the best model only with '{self.monitor}' in the logs "
                    f"(available: {sorted(logs)}); skipping.",
                    stacklevel=3,
                )
                return
            if not self._improved(current):
                if self.verbose > 0:
                    print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {self.best:.5f}")
                return
            if self.verbose > 0:
                previous = "inf" if self.best is None else f"{self.best:.5f}"
                print(
                    f"\nEpoch {epoch + 1}: {self.monitor} improved from {previous} to {current:.5f}, "
                    f"saving model to {path}"
                )
            self.best = current
        elif self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: saving model to {path}")
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(path, overwrite=True)
        else:
            progress = {"epoch": epoch + 1} if batch is None else {"epoch": epoch, "batch": batch + 1}
            self.model.save(path, overwrite=True, user_metadata=progress)


class CSVLogger(Callback):
    """Append each epoch's logs to a CSV file: a header ``epoch,<log names sorted>`` then one row per epoch.

    Args:
        filename: the CSV file.
        separator: the column separator.
        append: add to an existing file (no new header) instead of overwriting it.
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename = os.fspath(filename)
        self.separator = separator
        self.append = append
        self.keys = None
        self._file = None
        self._writer = None

    def on_train_begin(self, logs=None):
        resuming = self.append and os.path.exists(self.filename) and os.path.getsize(self.filename) > 0
        self._file = open(self.filename, "a" if self.append else "w", newline="", encoding="utf-8")
        self._writer = None
        self.keys = None
        self._header_written = resuming

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
        if self._writer is None:
            self._writer = csv.DictWriter(self._file, fieldnames=["epoch", *self.keys], delimiter=self.separator)
            if not self._header_written:
                self._writer.writeheader()
        self._writer.writerow({"epoch": epoch, **{key: _csv_value(logs.get(key, "NA")) for key in self.keys}})
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
            self._file = None


def _csv_value(value):
    if isinstance(value, (np.ndarray, np.generic)):
        value = value.item() if np.ndim(value) == 0 else value.tolist()
    return value


class LambdaCallback(Callback):
    """A callback made of functions: ``LambdaCallback(on_epoch_end=lambda epoch, logs: print(epoch))``.

    Accepts on_epoch_begin / on_epoch_end (epoch, logs), on_train_begin / on_train_end
    (logs), on_train_batch_begin / on_train_batch_end (batch, logs) and Keras 2's
    on_batch_begin / on_batch_end.
    """

    _EVENTS = (
        "on_epoch_begin",
        "on_epoch_end",
        "on_train_begin",
        "on_train_end",
        "on_train_batch_begin",
        "on_train_batch_end",
        "on_batch_begin",
        "on_batch_end",
    )

    def __init__(self, **hooks):
        super().__init__()
        for event, function in hooks.items():
            if event not in self._EVENTS:
                raise TypeError(f"LambdaCallback: unknown event {event!r}; expected one of {list(self._EVENTS)}.")
            if not callable(function):
                raise TypeError(f"LambdaCallback: {event} must be callable; received {function!r}.")
            # An instance attribute, so CallbackList.wants sees which hooks are set.
            setattr(self, event, function)


class TerminateOnNaN(Callback):
    """Stop training after a batch whose loss is NaN or infinite (that step is applied, as in Keras)."""

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


class LearningRateScheduler(Callback):
    """Set the optimizer's learning rate at the start of each epoch from ``schedule(epoch, lr)``."""

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        learning_rate = float(np.asarray(self.model.optimizer.learning_rate))
        new_rate = self.schedule(epoch, learning_rate)
        if not isinstance(new_rate, (float, int, np.floating, np.integer)):
            raise ValueError(f"LearningRateScheduler: the schedule must return a float; returned {new_rate!r}.")
        self.model.optimizer.learning_rate = float(new_rate)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {float(new_rate)}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(np.asarray(self.model.optimizer.learning_rate))


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` when a monitored quantity stops improving.

    Args:
        monitor: the log to watch (default 'val_loss').
        factor: the factor applied to the learning rate, < 1 (default 0.1).
        patience: epochs without improvement before reducing (default 10).
        verbose: 1 prints a line at each reduction.
        mode: 'min', 'max' or 'auto' (max for accuracies, min otherwise).
        min_delta: the smallest change that counts as an improvement (default 1e-4).
        cooldown: epochs to wait after a reduction before counting again.
        min_lr: the learning rate is never set below this.

    Each epoch's logs gain 'learning_rate' (the rate used in that epoch), as in Keras.
    """

    def __init__(
        self,
        monitor="val_loss",
        factor=0.1,
        patience=10,
        verbose=0,
        mode="auto",
        min_delta=1e-4,
        cooldown=0,
        min_lr=0.0,
        **kwargs,
    ):
        super().__init__()
        if kwargs:
            raise TypeError(f"ReduceLROnPlateau: unrecognized keyword argument(s) {sorted(kwargs)}.")
        if not isinstance(factor, (int, float)) or isinstance(factor, bool) or not 0 <= factor < 1:
            raise ValueError(f"ReduceLROnPlateau: factor must be a number in [0, 1); received factor={factor!r}.")
        self.monitor = monitor
        self.factor = float(factor)
        self.patience = patience
        self.verbose = verbose
        self.mode = _monitor_op(mode, monitor, "ReduceLROnPlateau")
        self.min_delta = abs(min_delta)
        self.cooldown = cooldown
        self.min_lr = min_lr
        self._reset()

    def _reset(self):
        self.best = None
        self.cooldown_counter = 0
        self.wait = 0

    def _is_improvement(self, value):
        if self.best is None:
            return True
        if self.mode == "max":
            return value - self.min_delta > self.best
        return value + self.min_delta < self.best

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        optimizer = self.model.optimizer
        logs["learning_rate"] = float(np.asarray(optimizer.learning_rate))
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(
                f"ReduceLROnPlateau: learning rate reduction is conditioned on '{self.monitor}', which is not in the "
                f"logs (available: {', '.join(logs)}).",
                stacklevel=2,
            )
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current):
            self.best = current
            self.wait = 0
            return
        if self.cooldown_counter > 0:
            return
        self.wait += 1
        if self.wait < self.patience:
            return
        old_rate = logs["learning_rate"]
        if old_rate > np.float32(self.min_lr):
            new_rate = max(old_rate * self.factor, self.min_lr)
            optimizer.learning_rate = new_rate
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_rate}.")
            self.cooldown_counter = self.cooldown
            self.wait = 0


class ProgbarLogger(Callback):
    """Prints the progress bar of ``fit`` / ``evaluate`` / ``predict`` (``keras.callbacks.ProgbarLogger``).

    ``fit`` prints the same output by itself (as its ``verbose`` says); given this
    callback, it leaves the printing to it, so nothing is printed twice.  As Keras's, it
    prints the ``Epoch k/n`` line when there are several epochs, redraws the bar after the
    batches (``verbose=1``) and prints each pass's final line with the logs it is given.
    """

    def __init__(self):
        super().__init__()
        self._progress = None
        self._in_fit = False
        self.verbose = 1
        self.epochs = 1
        self.target = None

    def set_params(self, params):
        from .models.progress import resolve_verbose

        super().set_params(params)
        self.verbose = resolve_verbose(params.get("verbose", 1), "ProgbarLogger")
        self.epochs = params.get("epochs", 1)
        self.target = params.get("steps")

    def _start(self, title=None):
        from .models.progress import Progress

        self._progress = Progress(self.verbose, self.target, title)

    def _update(self, batch, logs):
        if self._progress is not None and self._progress.due(batch + 1):
            self._progress.draw(batch + 1, dict(logs or {}))

    def _finish(self, logs):
        if self._progress is not None:
            self._progress.finish(dict(logs or {}))
            self._progress = None

    def on_train_begin(self, logs=None):
        self._in_fit = True  # the validation passes of fit print nothing

    def on_train_end(self, logs=None):
        self._in_fit = False

    def on_epoch_begin(self, epoch, logs=None):
        from .models.progress import epoch_title

        self._start(epoch_title(epoch, self.epochs))

    def on_train_batch_end(self, batch, logs=None):
        self._update(batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._finish(logs)

    def on_test_begin(self, logs=None):
        if not self._in_fit:
            self._start()

    def on_test_batch_end(self, batch, logs=None):
        if not self._in_fit:
            self._update(batch, logs)

    def on_test_end(self, logs=None):
        if not self._in_fit:
            self._finish(logs)

    def on_predict_begin(self, logs=None):
        self._start()

    def on_predict_batch_end(self, batch, logs=None):
        self._update(batch, None)

    def on_predict_end(self, logs=None):
        self._finish(None)


class BackupAndRestore(Callback):
    """Back up the training state, so that a run interrupted by a crash or a kill resumes where it stopped.

    At the end of every epoch (or every ``save_freq`` batches) the weights, the
    optimizer's state and the epoch reached are written to ``backup_dir``.  When
    ``fit`` starts with a backup there, it restores them and continues from that
    epoch.  When training ends normally, the backup is deleted.

    Args:
        backup_dir: the folder for the backup (created if missing).
        save_freq: 'epoch', an integer (batches), or False (never save).
        double_checkpoint: also keep the previous backup, used if the latest cannot be read.
        delete_checkpoint: delete the backup when training ends normally.

    Example:
        >>> model.fit(x, y, epochs=10, callbacks=[keras.callbacks.BackupAndRestore("backup")])
    """

    def __init__(self, backup_dir, save_freq="epoch", double_checkpoint=False, delete_checkpoint=True):
        super().__init__()
        if not backup_dir:
            raise ValueError("BackupAndRestore: backup_dir must be a folder path; received an empty one.")
        if save_freq not in ("epoch", False) and (
            isinstance(save_freq, bool) or not isinstance(save_freq, int) or save_freq < 1
        ):
            raise ValueError(
                f"BackupAndRestore: save_freq must be 'epoch', a positive integer (batches) or False; "
                f"received save_freq={save_freq!r}."
            )
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.double_checkpoint = double_checkpoint
        self.delete_checkpoint = delete_checkpoint
        self._weights_path = os.path.join(self.backup_dir, "latest.weights.h5")
        self._optimizer_path = os.path.join(self.backup_dir, "optimizer_state.npz")
        self._metadata_path = os.path.join(self.backup_dir, "training_metadata.json")
        self._current_epoch = 0
        self._batch_in_epoch = 0
        self._batches_since_save = 0

    def _paths(self, previous=False):
        suffix = ".bkp" if previous else ""
        return [path + suffix for path in (self._weights_path, self._optimizer_path, self._metadata_path)]

    def on_train_begin(self, logs=None):
        if not self.model.built:
            raise ValueError(
                "BackupAndRestore: the model must be built before fit() so that a backup can be loaded into it "
                "(give it an input shape, or call it on a batch first)."
            )
        for previous in (False, True):
            if all(os.path.exists(path) for path in self._paths(previous)):
                try:
                    self._restore(*self._paths(previous))
                    return
                except (OSError, ValueError, KeyError) as error:
                    if previous or not self.double_checkpoint:
                        raise
                    warnings.warn(
                        f"BackupAndRestore: the latest backup cannot be read ({error}); using the previous one.",
                        stacklevel=2,
                    )

    def _restore(self, weights_path, optimizer_path, metadata_path):
        self.model.load_weights(weights_path)
        with np.load(optimizer_path, allow_pickle=False) as state:
            optimizer_state = {key: state[key] for key in state.files}
        self.model.optimizer.build(self.model.trainable_weights)
        self.model.optimizer.set_state(optimizer_state)
        with open(metadata_path, encoding="utf-8") as file:
            metadata = json.load(file)
        self.model._initial_epoch = int(metadata["epoch"])

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch
        self._batch_in_epoch = 0

    def on_train_batch_end(self, batch, logs=None):
        self._batch_in_epoch = batch + 1
        if self.save_freq in ("epoch", False):
            return
        self._batches_since_save += 1
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._save(self._current_epoch)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch + 1)

    def _save(self, epoch):
        from .saving import _atomic_write

        os.makedirs(self.backup_dir, exist_ok=True)
        if self.double_checkpoint:
            for latest, previous in zip(self._paths(), self._paths(previous=True)):
                if os.path.exists(latest):
                    os.replace(latest, previous)
        self.model.save_weights(self._weights_path, overwrite=True)
        state = self.model.optimizer.get_state()
        _atomic_write(self._optimizer_path, lambda file: np.savez(file, **state), True, "BackupAndRestore")
        metadata = json.dumps({"epoch": epoch, "batch": self._batch_in_epoch}).encode("utf-8")
        _atomic_write(self._metadata_path, lambda file: file.write(metadata), True, "BackupAndRestore")

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and os.path.isdir(self.backup_dir):
            shutil.rmtree(self.backup_dir)


class TensorBoard(Callback):
    """Write TensorBoard logs: per-epoch scalars (loss, metrics, learning rate), optionally per-batch
    scalars and weight histograms (``keras.callbacks.TensorBoard``), with tensorboardX.

    Logs go to ``log_dir/train`` and ``log_dir/validation`` under Keras's tags:
    'epoch_loss', 'epoch_accuracy', ..., 'epoch_learning_rate' (train), the
    validation values without their 'val_' prefix (validation), 'batch_<name>' with
    ``update_freq``, '<layer>/<weight>/histogram' with ``histogram_freq``, and
    'evaluation_<name>_vs_iterations' after ``evaluate``.  View them with
    ``tensorboard --logdir LOG_DIR``.

    Args:
        log_dir: the folder of the logs (default 'logs').
        histogram_freq: every this many epochs, write weight histograms (0: never).
        write_graph: write the model's architecture (its JSON, as a text summary 'keras').
        write_images: only False.
        write_steps_per_second: also write 'epoch_steps_per_second'.
        update_freq: 'epoch' (default), 'batch', or an integer: write 'batch_<name>'
            scalars every that many batches.
        profile_batch: only 0 (profiling is not available).
        embeddings_freq, embeddings_metadata: only 0 / None.

    Requires the ``tensorboardX`` package (``pip install 'cnnlab[tensorboard]'``).
    """

    def __init__(
        self,
        log_dir="logs",
        histogram_freq=0,
        write_graph=True,
        write_images=False,
        write_steps_per_second=False,
        update_freq="epoch",
        profile_batch=0,
        embeddings_freq=0,
        embeddings_metadata=None,
    ):
        super().__init__()
        try:
            import tensorboardX
        except ImportError:
            raise ImportError(
                "TensorBoard: writing TensorBoard logs needs the tensorboardX package; install it with "
                "pip install 'cnnlab[tensorboard]' (or pip install tensorboardX)."
            ) from None
        for argument, value in (
            ("write_images", write_images),
            ("profile_batch", profile_batch),
            ("embeddings_freq", embeddings_freq),
        ):
            if value:
                raise ValueError(f"TensorBoard: {argument} is not supported in cnnlab; received {argument}={value!r}.")
        if embeddings_metadata is not None:
            raise ValueError("TensorBoard: embeddings are not supported in cnnlab; leave embeddings_metadata=None.")
        if update_freq not in ("epoch", "batch") and (
            isinstance(update_freq, bool) or not isinstance(update_freq, int) or update_freq < 1
        ):
            raise ValueError(
                "TensorBoard: update_freq must be 'epoch', 'batch' or a positive integer; "
                f"received update_freq={update_freq!r}."
            )
        self._writer_class = tensorboardX.SummaryWriter
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = histogram_freq
        self.write_graph = write_graph
        self.write_steps_per_second = write_steps_per_second
        self.update_freq = 1 if update_freq == "batch" else update_freq
        self._writers = {}
        self._in_fit = False
        self._global_train_batch = 0
        self._epoch_start = None
        self._epoch_start_iterations = 0

    def _writer(self, kind):
        if kind not in self._writers:
            self._writers[kind] = self._writer_class(os.path.join(self.log_dir, kind))
        return self._writers[kind]

    def _close_writers(self):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    def on_train_begin(self, logs=None):
        self._in_fit = True
        self._global_train_batch = 0
        if self.write_graph:
            from .serialization import serialize_keras_object

            try:
                architecture = json.dumps(serialize_keras_object(self.model))
            except (TypeError, ValueError, NotImplementedError):
                architecture = None  # a subclassed model without get_config: nothing to show
            if architecture is not None:
                self._writer("train").add_text("keras", architecture, 0)

    def on_train_end(self, logs=None):
        self._in_fit = False
        self._close_writers()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.perf_counter()
        self._epoch_start_iterations = int(self.model.optimizer.iterations)

    def on_train_batch_end(self, batch, logs=None):
        self._global_train_batch += 1
        if self.update_freq == "epoch" or self._global_train_batch % self.update_freq:
            return
        writer = self._writer("train")
        for name, value in (logs or {}).items():
            writer.add_scalar(f"batch_{name}", float(value), self._global_train_batch)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        validation = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        train["learning_rate"] = float(np.asarray(self.model.optimizer.learning_rate))
        if self.write_steps_per_second and self._epoch_start is not None:
            steps = int(self.model.optimizer.iterations) - self._epoch_start_iterations
            train["steps_per_second"] = steps / max(time.perf_counter() - self._epoch_start, 1e-9)
        for kind, values in (("train", train), ("validation", validation)):
            if values:
                writer = self._writer(kind)
                for name, value in values.items():
                    writer.add_scalar(f"epoch_{name}", float(value), epoch)
                writer.flush()
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            writer = self._writer("train")
            for layer in self.model.layers:
                for weight in layer.weights:
                    writer.add_histogram(f"{layer.name}/{weight.name}/histogram", weight.numpy(), epoch)
            writer.flush()

    def on_test_end(self, logs=None):
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None or not logs:
            return
        writer = self._writer("validation")
        for name, value in logs.items():
            writer.add_scalar(f"evaluation_{name}_vs_iterations", float(value), int(optimizer.iterations))
        if self._in_fit:
            writer.flush()
        else:  # an evaluate() of its own: nothing more will come, so the files are finished
            self._close_writers()
