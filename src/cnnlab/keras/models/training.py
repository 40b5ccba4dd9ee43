"""The training loop behind ``Model.fit`` / ``evaluate`` / ``predict`` / ``train_on_batch``.

One training step is: slice a batch, run the model under one ``GradientTape``,
compute the mean loss once, take its gradients with respect to the trainable
weights and let the optimizer apply them.  Everything else a step does is kept
small on purpose (the small CNNs this exists for take a couple of milliseconds
per step): metrics are updated in NumPy from the predictions already computed,
the running logs are only assembled when the progress bar redraws or a callback
asks for per-batch logs, and the opt-in NaN guard is one ``math.isfinite``.
"""

import math
import numbers
import time
import warnings

import numpy as np

from ... import random as cnnlab_random
from ...autodiff import GradientTape, is_recording
from ...runtime import threads
from ...runtime.tuning import SIDE_BY_SIDE_MIN_SECONDS
from ...tensor import Tensor
from .. import callbacks as callbacks_module
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
    from .. import metrics

    resolved = []
    for identifier in model._metric_identifiers:
        if isinstance(identifier, str) and identifier.lower() in ("accuracy", "acc"):
            resolved.append(metrics.resolve_accuracy(identifier, model._loss_fn, y_shape, output_shape))
        else:
            metric = metrics.get(identifier)
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


def _logs(loss_total, count, metrics):
    logs = {"loss": loss_total / count if count else float("nan")}
    for metric in metrics:
        logs[metric.name] = float(metric.result())
    return logs


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
    metrics = _resolve_metrics(model, y_shape, output_shape)
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
        for metric in metrics:
            metric.reset_state()
        loss_total, count = 0.0, 0
        callback_list.on_epoch_begin(epoch, {})
        progress = Progress(builtin_verbose, steps, epoch_title(epoch, epochs))
        for step, (x_batch, y_batch) in enumerate(batches.epoch(generator)):
            if batch_begin_hooks:
                callback_list.on_train_batch_begin(step, {})
            loss_value, y_pred = _train_step(model, x_batch, y_batch, variables)
            loss_total += loss_value * len(x_batch)
            count += len(x_batch)
            if not math.isfinite(loss_value) and model.stop_on_nonfinite_loss:
                _stop_on_nonfinite(model, loss_value, epoch, epochs, step, steps)
                break
            for metric in metrics:
                metric.update_state(y_batch, y_pred._value)
            if batch_end_hooks:
                callback_list.on_train_batch_end(step, _logs(loss_total, count, metrics))
            if progress.due(step + 1):
                progress.draw(step + 1, _logs(loss_total, count, metrics))
            if model.stop_training:
                break
        logs = _logs(loss_total, count, metrics)
        steps = progress.steps = batches.steps  # a dataset of unknown length is counted in its first pass
        if validation is not None:
            val_batches, val_y_shape = validation
            val_metrics = _resolve_metrics(model, val_y_shape, output_shape)
            val_logs = _evaluate_batches(model, val_batches, val_metrics)
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
    """``(batches, label shape)`` of fit's validation data: a dataset, or ``(x_val, y_val)`` arrays."""
    if data.is_dataset(validation_data):
        batches = data.DatasetBatches(model, validation_data, "fit", labelled=True, argument="validation_data")
        x_first, y_first = batches.first()
        data.check_labels(model, y_first, output_shape, "fit", "y_val")
        return batches, y_first.shape
    x_val, y_val = data.unpack_validation_data(model, validation_data)
    data.check_labels(model, y_val, output_shape, "fit", "y_val")
    return data.ArrayBatches(x_val, y_val, data.batch_size_argument(batch_size, "fit")), y_val.shape


def _train_step(model, x_batch, y_batch, variables):
    """Forward, loss, gradients, update; returns the loss as a float and the predictions.

    A non-finite loss returns before the update when the guard is on, so the
    weights stay those of the last good step.
    """
    with GradientTape() as tape:
        y_pred = model(Tensor(x_batch), training=True)
        loss = model._loss_fn(y_batch, y_pred)
    loss_value = float(loss._value)
    if not math.isfinite(loss_value) and model.stop_on_nonfinite_loss:
        return loss_value, y_pred
    gradients = tape.gradient(loss, variables)
    model.optimizer.apply_gradients(zip(gradients, variables))
    return loss_value, y_pred


def _stop_on_nonfinite(model, loss_value, epoch, epochs, step, steps):
    model.stop_training = True
    warnings.warn(
        f"fit: the loss became {loss_value} at epoch {epoch + 1}/{epochs}, step {step + 1}/{steps}; training stopped "
        "without applying that step (the weights are those after the previous step). Usual causes: a learning rate "
        "too high, inputs not scaled (divide images by 255), or labels that do not suit the loss.",
        RuntimeWarning,
        stacklevel=4,
    )


def _evaluate_batches(model, batches, metrics, progress=None, callback_list=None):
    """Loss and metrics over the batches in inference mode; the loss is the sample-weighted mean of the batch means."""
    loss_total, count = 0.0, 0
    for step, (x_batch, y_batch) in enumerate(batches.epoch()):
        if callback_list is not None:
            callback_list.on_test_batch_begin(step, {})
        y_pred = model(Tensor(x_batch), training=False)
        loss_total += float(model._loss_fn(y_batch, y_pred)._value) * len(x_batch)
        count += len(x_batch)
        for metric in metrics:
            metric.update_state(y_batch, y_pred._value)
        if callback_list is not None:
            callback_list.on_test_batch_end(step, _logs(loss_total, count, metrics))
        if progress is not None and progress.due(step + 1):
            progress.draw(step + 1, _logs(loss_total, count, metrics))
    return _logs(loss_total, count, metrics)


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
    metrics = _resolve_metrics(model, y_shape, output_shape)
    callback_list = callbacks_module.CallbackList(callbacks, model, {"verbose": verbose, "steps": batches.steps})
    callback_list.on_test_begin({})
    progress = Progress(_builtin_verbose(verbose, callbacks), batches.steps)
    logs = _evaluate_batches(model, batches, metrics, progress, callback_list if callbacks else None)
    progress.steps = batches.steps
    progress.finish(callback_list.on_test_end(logs))
    return _results(model, logs, return_dict)


def predict(model, x, batch_size, verbose, callbacks, one_batch=False):
    """Outputs for ``x`` in batches, written into one preallocated array (no giant activation, no concatenation).

    Without callbacks, and for a model made of cnnlab's own layers, the batches after
    the second run two (one per core) at a time, each batch through the whole model on
    one thread (see ``_batches_side_by_side``), when the second batch took long enough to
    repay it.  A batch then runs its kernels in one piece; run alone, a big batch's
    products are split over the cores, which can round them differently.
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
    layer_steps = None  # after the first batch, where the model allows: its layers' calls, in order

    def run_batch(step):
        nonlocal results
        start = step * batch_size
        if callbacks:
            callback_list.on_predict_batch_begin(step, {})
        if layer_steps is None:
            outputs = model(Tensor(x[start : start + batch_size]), training=False)
        else:
            outputs = Tensor(x[start : start + batch_size])
            for layer_step in layer_steps:
                outputs = layer_step(outputs)
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
    own_layers = _batches_side_by_side(model)
    if own_layers:
        layer_steps = model._inference_steps()
    first = 1  # the first batch not run yet
    if steps > 2 and not callbacks and own_layers:
        started = time.perf_counter()
        run_batch(1)
        report(2)
        if time.perf_counter() - started < SIDE_BY_SIDE_MIN_SECONDS:
            first = 2
        else:
            threads.parallel_items(lambda i: run_batch(2 + i), steps - 2, lambda done: report(2 + done))
            first = steps
    for step in range(first, steps):
        run_batch(step)
        report(step + 1)
    progress.finish({})
    callback_list.on_predict_end({})
    return results if isinstance(outputs, (list, tuple)) else results[0]


def _predict_dataset(model, dataset, verbose, callbacks):
    """``predict`` over a dataset's batches, one after another; the outputs joined at the end."""
    batches = data.DatasetBatches(model, dataset, "predict", labelled=False)
    callback_list = callbacks_module.CallbackList(callbacks, model, {"verbose": verbose, "steps": batches.steps})
    callback_list.on_predict_begin({})
    progress = Progress(_builtin_verbose(verbose, callbacks), batches.steps)
    parts, outputs = [], None
    for step, (x_batch, _) in enumerate(batches.epoch()):
        callback_list.on_predict_batch_begin(step, {})
        outputs = model(Tensor(x_batch), training=False)
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



def _batches_side_by_side(model):
    """Whether ``predict`` may run two batches through ``model`` at the same time.

    cnnlab's own models and layers keep no state between inference calls (weights are
    only read; workspaces hand each thread its own arrays).  A model subclassed by the
    user, or with a layer of the user's, may (a layer that counts its calls, say), so
    its batches run one after another, in order; as do batches run while a tape records.
    """
    return not is_recording() and all(
        type(layer).__module__.startswith("cnnlab.") for layer in (model, *model._descendants())
    )


def train_on_batch(model, x, y, return_dict):
    """One step on one batch; the metrics are those of this batch alone (as Keras 2's default)."""
    _require_compiled(model, "train_on_batch")
    x = data.input_array(model, x, "train_on_batch")
    y = data.label_array(y, "train_on_batch")
    data.check_lengths(x, y, "train_on_batch")
    variables = model.trainable_weights
    model.optimizer.build(variables)
    loss_value, y_pred = _train_step(model, x, y, variables)
    metrics = _resolve_metrics(model, y.shape, y_pred.shape)
    for metric in metrics:
        metric.update_state(y, y_pred._value)
    return _results(model, _logs(loss_value, 1, metrics), return_dict)


def test_on_batch(model, x, y, return_dict):
    _require_compiled(model, "test_on_batch")
    x = data.input_array(model, x, "test_on_batch")
    y = data.label_array(y, "test_on_batch")
    data.check_lengths(x, y, "test_on_batch")
    y_pred = model(Tensor(x), training=False)
    loss_value = float(model._loss_fn(y, y_pred)._value)
    metrics = _resolve_metrics(model, y.shape, y_pred.shape)
    for metric in metrics:
        metric.update_state(y, y_pred._value)
    return _results(model, _logs(loss_value, 1, metrics), return_dict)
