"""Callbacks (``tf.keras.callbacks``): code that ``fit`` runs at the start and end of training, epochs and batches.

    early = keras.callbacks.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
    model.fit(x, y, validation_split=0.2, epochs=50, callbacks=[early])

Every callback gets ``set_model(model)`` and ``set_params({'epochs', 'steps', 'verbose'})``
before training; ``logs`` is a dict of the epoch's results ('loss', metric names,
'val_loss', ...).  Setting ``model.stop_training = True`` ends ``fit`` after the
current epoch.
"""

import csv
import math
import os
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
        if not event.startswith("on_"):
            raise AttributeError(event)

        def dispatch(*args):
            for callback in self.callbacks:
                getattr(callback, event)(*args)

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
        mode = "max" if name in ("acc", "accuracy", "auc") or name.endswith("accuracy") else "min"
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
    """Save the model (or its weights) at the end of every epoch, or only when it improved.

    Args:
        filepath: where to save; may hold ``{epoch}`` (1-based, format specs allowed:
            ``{epoch:02d}``) and log names (``{val_loss:.3f}``).
        monitor: the log compared when ``save_best_only`` (default 'val_loss').
        verbose: 1 prints a line per save.
        save_best_only: save only when ``monitor`` improved on the best so far.
        save_weights_only: write ``save_weights`` files instead of whole models.
        mode: 'min', 'max' or 'auto'.
        initial_value_threshold: a value the first save must beat.

    Whole-model files record the number of finished epochs in their user metadata
    (``keras.saving.load_metadata(path)['user_metadata']['epoch']``), so a run can be
    resumed with ``fit(..., initial_epoch=epoch)``.
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
        if save_freq != "epoch":
            raise ValueError(f"ModelCheckpoint: only save_freq='epoch' is supported; received save_freq={save_freq!r}.")
        self.filepath = os.fspath(filepath)
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.mode = _monitor_op(mode, monitor, "ModelCheckpoint")
        self.best = initial_value_threshold

    def _improved(self, current):
        if self.best is None:
            return True
        return current > self.best if self.mode == "max" else current < self.best

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        try:
            path = self.filepath.format(epoch=epoch + 1, **logs)
        except KeyError as error:
            raise KeyError(
                f"ModelCheckpoint: the filepath {self.filepath!r} names {error}, which is not in the logs "
                f"(available: epoch, {', '.join(sorted(logs))})."
            ) from None
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None:
                warnings.warn(
                    f"ModelCheckpoint: can save the best model only with '{self.monitor}' in the logs "
                    f"(available: {sorted(logs)}); skipping.",
                    stacklevel=2,
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
        if self.save_weights_only:
            self.model.save_weights(path, overwrite=True)
        else:
            self.model.save(path, overwrite=True, user_metadata={"epoch": epoch + 1})


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
