"""The loops behind ``Model.fit`` / ``evaluate`` / ``predict``, as Keras's trainer runs them.

``fit`` is a loop around ``model.train_step(data)``, ``evaluate`` around
``model.test_step(data)`` and ``predict`` around ``model.predict_step(data)``: a model
that overrides a step is trained, evaluated or used through it.  Around the steps the
loops check and batch the data, call the callbacks, draw the progress bar and collect
the logs each step returns.  The default steps (``Model``) are the fast path: one
``GradientTape``, the model run through its planner, metrics updated in NumPy from the
predictions already computed.
"""

import math
import numbers
import warnings

import numpy as np

from ... import random as cnnlab_random
from ...autodiff import GradientTape, is_recording
from ...ops import parallel_ops
from ...tensor import Tensor
from .. import callbacks as callbacks_module
from .. import metrics as metrics_module
from . import data
from .progress import Progress, epoch_title, resolve_verbose


def _require_compiled(model, op):
    if not model.compiled or model._loss_fn is None:
        raise RuntimeError(
            f"{op}: the model must be compiled with a loss first, e.g. "
            "model.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])."
        )


def metric_names(model):
    names = []
    for identifier in model._metric_identifiers:
        if isinstance(identifier, str):
            names.append(identifier)
        else:
            names.append(
                getattr(identifier, "name", None) or getattr(identifier, "__name__", type(identifier).__name__)
            )
    return names


def _resolve_metrics(model, y_shape, output_shape):
    """Fresh metric objects for one run; 'accuracy' / 'acc' chosen from the loss and shapes as Keras does."""
    resolved = []
    for identifier in model._metric_identifiers:
        if isinstance(identifier, str) and identifier.lower() in ("accuracy", "acc"):
            resolved.append(metrics_module.resolve_accuracy(identifier, model._loss_fn, y_shape, output_shape))
        else:
            metric = metrics_module.get(identifier)
            metric.reset_state()
            resolved.append(metric)
    return resolved


def _output_shape(model, x, op):
    """The model's output shape, from one sample (this also builds an unbuilt model)."""
    output = model(Tensor(x[:1]), training=False)
    if isinstance(output, (list, tuple)):
        raise ValueError(
            f"{op}: models with several outputs can predict() but cannot be trained or evaluated in cnnlab."
        )
    return (None, *output.shape[1:])


class LossTracker(metrics_module.Mean):
    """The running mean of the loss over the batches of a run, each batch weighted by its size
    (``model.metrics[0]``, History's 'loss').  Plain Python floats: it is updated every step."""

    def __init__(self, name="loss"):
        super().__init__(name=name)

    def update_state(self, value, sample_weight=1):
        self.total += value * sample_weight
        self.count += sample_weight

    def result(self):
        """The mean so far, a float (NaN before the first batch)."""
        return self.total / self.count if self.count else float("nan")


def start_run(model, y_shape, output_shape):
    """Fresh metric objects for a run of ``fit`` / ``evaluate`` (the loss tracker first)."""
    model._run_metrics = [LossTracker(), *_resolve_metrics(model, y_shape, output_shape)]


def unpack_x_y_sample_weight(data):
    """``(x, y, sample_weight)`` from a step's ``data``: a tuple of 1 to 3 items, or ``x`` alone
    (``keras.utils.unpack_x_y_sample_weight``)."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if not 1 <= len(data) <= 3:
        raise ValueError(f"A step's data must be x, (x,), (x, y) or (x, y, sample_weight); received a tuple of {len(data)} items.")
    return (*data, *(None,) * (3 - len(data)))


class Trainer:
    """The steps ``fit``, ``evaluate`` and ``predict`` run, one batch each (Keras's ``Trainer``).

    Override ``train_step(data)`` to change what a training step does: it receives a batch
    (``(x, y)``), and returns the logs (a dict of metric names to values) that the
    progress bar, the callbacks and the History show.  ``test_step`` and
    ``predict_step`` likewise.  The defaults are cnnlab's fast path.
    """

    def train_step(self, data):
        """One training step: forward under a ``GradientTape``, loss, gradients, the optimizer's update.

        Returns:
            The logs so far this epoch: ``{'loss': ..., metric name: ...}`` (``get_metrics_result``).
        """
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        with GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(x, y, y_pred, sample_weight)
        loss_value = float(loss._value)
        self._run_metrics[0].update_state(loss_value, _batch_length(x))
        if self.stop_on_nonfinite_loss and not math.isfinite(loss_value):
            return self.get_metrics_result()  # fit stops before the update (the opt-in guard)
        variables = self.trainable_weights
        self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def test_step(self, data):
        """One evaluation step: forward in inference mode, loss and metrics; returns the logs so far."""
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        y_pred = self(x, training=False)
        loss = self.compute_loss(x, y, y_pred, sample_weight)
        self._run_metrics[0].update_state(float(loss._value), _batch_length(x))
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def predict_step(self, data):
        """The model's outputs for one batch, in inference mode."""
        x, _, _ = unpack_x_y_sample_weight(data)
        return self(x, training=False)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None):
        """The compiled loss of ``y_pred`` against ``y`` (a scalar tensor)."""
        if sample_weight is None:
            return self._loss_fn(y, y_pred)
        return self._loss_fn(y, y_pred, sample_weight)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        """Update the compiled metrics with one batch; returns ``get_metrics_result()``."""
        predictions = y_pred._value
        for metric in self._run_metrics[1:]:
            if sample_weight is None:
                metric.update_state(y, predictions)
            else:
                metric.update_state(y, predictions, sample_weight)
        return self.get_metrics_result()

    def get_metrics_result(self):
        """``{name: value}`` of the loss tracker and the compiled metrics, as floats."""
        return {metric.name: float(metric.result()) for metric in self._run_metrics}

    @property
    def metrics(self):
        """The loss tracker, then the compiled metrics (as resolved for the last run)."""
        return list(self._run_metrics)

    def reset_metrics(self):
        """Start every metric over (``fit`` does at each epoch, ``evaluate`` at its start)."""
        for metric in self._run_metrics:
            metric.reset_state()


def _batch_length(x):
    return x._value.shape[0] if isinstance(x, Tensor) else len(x)


def _prepare_labelled(model, x, y, op):
    _require_compiled(model, op)
    x = data.input_array(model, x, op)
    y = data.label_array(y, op)
    data.check_lengths(x, y, op)
    output_shape = _output_shape(model, x, op)
    data.check_labels(model, y, output_shape, op)
    return x, y, output_shape


def _non_negative_int(value, argument, op):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{op}: {argument} must be a non-negative integer; received {argument}={value!r}.")
    return int(value)


def fit(
    model,
    x,
    y,
    batch_size,
    epochs,
    verbose,
    callbacks,
    validation_split,
    validation_data,
    shuffle,
    initial_epoch,
    validation_batch_size,
):
    verbose = resolve_verbose(verbose, "fit")
    batch_size = data.batch_size_argument(batch_size, "fit")
    epochs = _non_negative_int(epochs, "epochs", "fit")
    initial_epoch = _non_negative_int(initial_epoch, "initial_epoch", "fit")
    if data.is_dataset(x):
        data.no_dataset_arguments("fit", y=y, validation_split=validation_split)
        batches, output_shape, y_shape = _dataset_batches(model, x, "fit")
    else:
        x, y, output_shape = _prepare_labelled(model, x, y, "fit")
        if validation_data is None and validation_split:
            (x, y), validation_data = data.split_validation(x, y, validation_split)
        batches, y_shape = data.ArrayBatches(x, y, batch_size, shuffle), y.shape
    validation = None
    if validation_data is not None:
        validation = _validation_batches(model, validation_data, output_shape, validation_batch_size or batch_size)

    variables = model.trainable_weights
    if not variables:
        raise ValueError("fit: the model has no trainable weights (are all its layers frozen?).")
    # The optimizer's state follows the order of the weights, so a saved state restores exactly.
    model.optimizer.build(variables)
    start_run(model, y_shape, output_shape)
    steps = batches.steps

    history = callbacks_module.History()
    callback_list = callbacks_module.CallbackList(
        [*(callbacks or []), history], model, {"verbose": verbose, "epochs": epochs, "steps": steps}
    )
    builtin_verbose = _builtin_verbose(verbose, callbacks)
    batch_begin_hooks = callback_list.wants("on_train_batch_begin")
    batch_end_hooks = callback_list.wants("on_train_batch_end")
    generator = cnnlab_random.get_global_generator()
    model.stop_training = False
    logs = {}
    callback_list.on_train_begin(logs)
    # A callback that restored an interrupted run (BackupAndRestore) says where to go on.
    initial_epoch = getattr(model, "_initial_epoch", None) or initial_epoch
    model._initial_epoch = None
    for epoch in range(initial_epoch, epochs):
        model.reset_metrics()
        callback_list.on_epoch_begin(epoch, {})
        progress = Progress(builtin_verbose, steps, epoch_title(epoch, epochs))
        for step, (x_batch, y_batch) in enumerate(batches.epoch(generator)):
            if batch_begin_hooks:
                callback_list.on_train_batch_begin(step, {})
            logs = model.train_step((Tensor(x_batch), y_batch))
            if model.stop_on_nonfinite_loss and not math.isfinite(logs["loss"]):
                _stop_on_nonfinite(model, logs["loss"], epoch, epochs, step, steps)
                break
            if batch_end_hooks:
                callback_list.on_train_batch_end(step, logs)
            if progress.due(step + 1):
                progress.draw(step + 1, logs)
            if model.stop_training:
                break
        logs = dict(logs)
        steps = progress.steps = batches.steps  # a dataset of unknown length is counted in its first pass
        if validation is not None:
            val_logs = _evaluate_batches(model, validation)
            logs.update({f"val_{name}": value for name, value in val_logs.items()})
        # The callbacks' copy: sorted by name as Keras shows logs, with what they added ('learning_rate').
        logs = callback_list.on_epoch_end(epoch, logs)
        progress.finish(logs)
        if model.stop_training:
            break
    callback_list.on_train_end(logs)
    return history


def _builtin_verbose(verbose, callbacks):
    """The loop's own progress output, silenced when the program passed a ``ProgbarLogger`` (which prints it)."""
    if any(isinstance(callback, callbacks_module.ProgbarLogger) for callback in callbacks or []):
        return 0
    return verbose


def _dataset_batches(model, dataset, op):
    """A labelled dataset's batches, the model's output shape and the first batch's label shape."""
    _require_compiled(model, op)
    batches = data.DatasetBatches(model, dataset, op, labelled=True)
    x_first, y_first = batches.first()
    output_shape = _output_shape(model, x_first, op)
    data.check_labels(model, y_first, output_shape, op)
    return batches, output_shape, y_first.shape


def _validation_batches(model, validation_data, output_shape, batch_size):
    """The batches of fit's validation data: a dataset, or ``(x_val, y_val)`` arrays."""
    if data.is_dataset(validation_data):
        batches = data.DatasetBatches(model, validation_data, "fit", labelled=True, argument="validation_data")
        x_first, y_first = batches.first()
        data.check_labels(model, y_first, output_shape, "fit", "y_val")
        return batches
    x_val, y_val = data.unpack_validation_data(model, validation_data)
    data.check_labels(model, y_val, output_shape, "fit", "y_val")
    return data.ArrayBatches(x_val, y_val, data.batch_size_argument(batch_size, "fit"))


def _stop_on_nonfinite(model, loss_value, epoch, epochs, step, steps):
    model.stop_training = True
    warnings.warn(
        f"fit: the loss became {loss_value} at epoch {epoch + 1}/{epochs}, step {step + 1}/{steps}; training stopped "
        "without applying that step (the weights are those after the previous step). Usual causes: a learning rate "
        "too high, inputs not scaled (divide images by 255), or labels that do not suit the loss.",
        RuntimeWarning,
        stacklevel=4,
    )


def _evaluate_batches(model, batches, progress=None, callback_list=None):
    """Loss and metrics over the batches through ``model.test_step``; the loss is the size-weighted
    mean of the batch means.  Resets the model's metrics first."""
    model.reset_metrics()
    logs = {}
    for step, (x_batch, y_batch) in enumerate(batches.epoch()):
        if callback_list is not None:
            callback_list.on_test_batch_begin(step, {})
        logs = model.test_step((Tensor(x_batch), y_batch))
        if callback_list is not None:
            callback_list.on_test_batch_end(step, logs)
        if progress is not None and progress.due(step + 1):
            progress.draw(step + 1, logs)
    return dict(logs)


def _results(model, logs, return_dict):
    """A dict sorted by name (as Keras 3 returns it), or the values: the loss, then the metrics in compile order."""
    if return_dict:
        return dict(sorted(logs.items()))
    values = list(logs.values())
    return values[0] if len(values) == 1 else values


def evaluate(model, x, y, batch_size, verbose, callbacks, return_dict):
    verbose = resolve_verbose(verbose, "evaluate")
    batch_size = data.batch_size_argument(batch_size, "evaluate")
    if data.is_dataset(x):
        data.no_dataset_arguments("evaluate", y=y)
        batches, output_shape, y_shape = _dataset_batches(model, x, "evaluate")
    else:
        x, y, output_shape = _prepare_labelled(model, x, y, "evaluate")
        batches, y_shape = data.ArrayBatches(x, y, batch_size), y.shape
    start_run(model, y_shape, output_shape)
    callback_list = callbacks_module.CallbackList(callbacks, model, {"verbose": verbose, "steps": batches.steps})
    callback_list.on_test_begin({})
    progress = Progress(_builtin_verbose(verbose, callbacks), batches.steps)
    logs = _evaluate_batches(model, batches, progress, callback_list if callbacks else None)
    progress.steps = batches.steps
    progress.finish(callback_list.on_test_end(logs))
    return _results(model, logs, return_dict)


def predict(model, x, batch_size, verbose, callbacks, one_batch=False):
    """Outputs for ``x`` through ``model.predict_step``, batch by batch, written into one
    preallocated array (no giant activation, no concatenation).

    When nothing can tell the order of the batches apart (no callbacks, no recording tape,
    the default ``predict_step``, and every layer declaring its inference free of state
    changes), the batches after the first run side by side, one per thread
    (``ops.parallel_ops.map_side_by_side``), once one has taken long enough to repay it.
    A batch then runs its kernels on its thread alone; run alone, a big batch's products
    are split over the threads, which can round them differently.
    """
    op = "predict_on_batch" if one_batch else "predict"
    verbose = resolve_verbose(verbose, op)
    if data.is_dataset(x) and not one_batch:
        return _predict_dataset(model, x, verbose, callbacks)
    x = data.input_array(model, x, op)
    batch_size = len(x) if one_batch else data.batch_size_argument(batch_size, op)
    steps = math.ceil(len(x) / batch_size)
    callback_list = callbacks_module.CallbackList(callbacks, model, {"verbose": verbose, "steps": steps})
    callback_list.on_predict_begin({})
    progress = Progress(_builtin_verbose(verbose, callbacks), steps)
    results = None

    def run_batch(step):
        nonlocal results
        start = step * batch_size
        if callbacks:
            callback_list.on_predict_batch_begin(step, {})
        outputs = model.predict_step(Tensor(x[start : start + batch_size]))
        batch_outputs = [o._value for o in outputs] if isinstance(outputs, (list, tuple)) else [outputs._value]
        if results is None:  # the first batch
            results = [np.empty((len(x), *o.shape[1:]), dtype=o.dtype) for o in batch_outputs]
        for result, output in zip(results, batch_outputs):
            result[start : start + len(output)] = output
        if callbacks:
            callback_list.on_predict_batch_end(step, {"outputs": batch_outputs})
        return outputs

    def report(done):
        if progress.due(done):
            progress.draw(done, {})

    outputs = run_batch(0)  # alone: it builds the model and gives the output shapes
    report(1)
    if steps > 2 and _batches_side_by_side(model, callbacks):
        parallel_ops.map_side_by_side(lambda i: run_batch(1 + i), steps - 1, lambda done: report(1 + done))
    else:
        for step in range(1, steps):
            run_batch(step)
            report(step + 1)
    progress.finish({})
    callback_list.on_predict_end({})
    return results if isinstance(outputs, (list, tuple)) else results[0]


def _predict_dataset(model, dataset, verbose, callbacks):
    """``predict`` over a dataset's batches through ``model.predict_step``, one after another; the
    outputs joined at the end."""
    batches = data.DatasetBatches(model, dataset, "predict", labelled=False)
    callback_list = callbacks_module.CallbackList(callbacks, model, {"verbose": verbose, "steps": batches.steps})
    callback_list.on_predict_begin({})
    progress = Progress(_builtin_verbose(verbose, callbacks), batches.steps)
    parts, outputs = [], None
    for step, (x_batch, _) in enumerate(batches.epoch()):
        callback_list.on_predict_batch_begin(step, {})
        outputs = model.predict_step(Tensor(x_batch))
        batch_outputs = [o._value for o in outputs] if isinstance(outputs, (list, tuple)) else [outputs._value]
        parts.append(batch_outputs)
        callback_list.on_predict_batch_end(step, {"outputs": batch_outputs})
        if progress.due(step + 1):
            progress.draw(step + 1, {})
    if not parts:
        raise ValueError("predict: the dataset x is empty.")
    progress.steps = batches.steps
    progress.finish({})
    callback_list.on_predict_end({})
    results = [np.concatenate(columns) for columns in zip(*parts)]
    return results if isinstance(outputs, (list, tuple)) else results[0]


def _batches_side_by_side(model, callbacks):
    """Whether ``predict`` may run two batches through ``model`` at the same time: nothing could
    tell their order apart.  Callbacks see the batches in order, a recording tape the ops; a
    user's ``predict_step`` or layer may keep state between calls (one that counts its calls,
    say), unless the layer declares otherwise (``Layer._stateless_inference``)."""
    return (
        not callbacks
        and not is_recording()
        and type(model).predict_step is Trainer.predict_step
        and all(layer._stateless_inference for layer in (model, *model._descendants()))
    )


def train_on_batch(model, x, y, return_dict):
    """One step on one batch through ``model.train_step``; the metrics are those of this batch alone (as Keras 2's default)."""
    _require_compiled(model, "train_on_batch")
    x = data.input_array(model, x, "train_on_batch")
    y = data.label_array(y, "train_on_batch")
    data.check_lengths(x, y, "train_on_batch")
    model.optimizer.build(model.trainable_weights)
    start_run(model, y.shape, _output_shape(model, x, "train_on_batch"))
    return _results(model, dict(model.train_step((Tensor(x), y))), return_dict)


def test_on_batch(model, x, y, return_dict):
    """The loss and metrics of one batch through ``model.test_step``."""
    _require_compiled(model, "test_on_batch")
    x = data.input_array(model, x, "test_on_batch")
    y = data.label_array(y, "test_on_batch")
    data.check_lengths(x, y, "test_on_batch")
    start_run(model, y.shape, _output_shape(model, x, "test_on_batch"))
    return _results(model, dict(model.test_step((Tensor(x), y))), return_dict)
