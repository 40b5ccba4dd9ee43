"""The loops behind ``Model.fit`` / ``evaluate`` / ``predict``, as Keras's trainer runs them.

``fit`` is a loop around ``model.train_step(data)``, ``evaluate`` around
``model.test_step(data)`` and ``predict`` around ``model.predict_step(data)``: a model
that overrides a step is trained, evaluated or used through it, and the dict its step
returns is what the progress bar, the callbacks and the History show.  Around the steps
the loops check and batch the data (``data``), call the callbacks, draw the progress bar
and collect the logs.  The default steps (``Trainer``) are the fast path: one
``GradientTape``, the model run through its planner, metrics updated in NumPy from the
predictions already computed.

Both generations of Keras's guide code run in an overridden step: Keras 3's
(``self.compute_loss(x, y, y_pred)``, ``self.optimizer.apply(grads, variables)``, a loop
over ``self.metrics`` calling ``update_state`` / ``result``) and tf.keras 2's
(``self.compiled_loss(y, y_pred, regularization_losses=self.losses)``,
``self.compiled_metrics.update_state(y, y_pred)``,
``self.optimizer.apply_gradients(zip(grads, variables))``,
``return {m.name: m.result() for m in self.metrics}``).
"""

import math
import numbers
import warnings

import numpy as np

from ... import nest
from ... import random as cnnlab_random
from ...autodiff import GradientTape, is_recording
from ...ops import parallel_ops
from ...ops.math_ops import cast
from ...ops.reduction_ops import reduce_sum
from ...tensor import Tensor
from .. import callbacks as callbacks_module
from ..utils import pack_x_y_sample_weight, unpack_x_y_sample_weight
from . import data
from .progress import Progress, epoch_title, resolve_verbose


def _require_compiled(model, op):
    if not model.compiled:
        raise RuntimeError(
            f"{op}: the model must be compiled with a loss first, e.g. "
            "model.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])."
        )


class _CompiledLoss:
    """``model.compiled_loss`` (tf.keras 2): ``compiled_loss(y, y_pred, sample_weight=None,
    regularization_losses=None)`` is the compiled loss plus the given extra losses, and updates
    the model's loss tracker (its 'loss' metric) with it."""

    def __init__(self, model):
        self.model = model

    def __call__(self, y_true, y_pred, sample_weight=None, regularization_losses=None):
        model = self.model
        total = None
        if model._compile_loss is not None:
            total = model._compile_loss(y_true, y_pred, sample_weight)
        for extra in regularization_losses or []:
            total = extra if total is None else total + extra
        if total is None:
            raise ValueError("compiled_loss: the model was compiled without a loss; give loss= to compile().")
        model._loss_tracker.update_state(total, _batch_length(y_pred))
        return total

    @property
    def metrics(self):
        return [self.model._loss_tracker, *(self.model._compile_loss.metrics if self.model._compile_loss else [])]


class _CompiledMetrics:
    """``model.compiled_metrics`` (tf.keras 2): ``update_state(y, y_pred, sample_weight=None)``
    updates the metrics given to ``compile``; ``metrics`` lists them."""

    def __init__(self, model):
        self.model = model

    def update_state(self, y_true, y_pred, sample_weight=None):
        if self.model._compile_metrics is not None:
            self.model._compile_metrics.update_state(y_true, y_pred, sample_weight)

    def reset_state(self):
        if self.model._compile_metrics is not None:
            self.model._compile_metrics.reset_state()

    @property
    def metrics(self):
        return self.model._compile_metrics.metrics if self.model._compile_metrics is not None else []


class Trainer:
    """The steps ``fit``, ``evaluate`` and ``predict`` run, one batch each (Keras's ``Trainer``).

    Override ``train_step(data)`` to change what a training step does: it receives a batch
    (``x``, ``(x, y)`` or ``(x, y, sample_weight)``), and returns the logs (a dict of metric
    names to values) that the progress bar, the callbacks and the History show.
    ``test_step`` and ``predict_step`` likewise.  The defaults are cnnlab's fast path.
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
        self._loss_tracker.update_state(loss_value, _batch_length(x))
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
        self._loss_tracker.update_state(float(loss._value), _batch_length(x))
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def predict_step(self, data):
        """The model's outputs for one batch, in inference mode."""
        x, _, _ = unpack_x_y_sample_weight(data)
        return self(x, training=False)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The total loss of a batch (a scalar tensor): the compiled loss of ``y_pred`` against ``y``,
        plus the model's ``losses`` (``add_loss``, regularizers).

        Raises:
            ValueError: there is no loss at all (no compiled loss, no added losses).
        """
        total = None
        if self._compile_loss is not None:
            total = self._compile_loss(y, y_pred, sample_weight)
        for extra in self.losses:
            if extra.dtype.kind != "f":
                extra = cast(extra, self._dtype)
            if extra.ndim:
                extra = reduce_sum(extra)
            total = extra if total is None else total + extra
        if total is None:
            raise ValueError("No loss to compute. Provide a `loss` argument in `compile()`.")
        return total

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        """Update the compiled metrics with one batch; returns ``get_metrics_result()``."""
        if self._compile_metrics is not None:
            self._compile_metrics.update_state(y, y_pred, sample_weight)
        return self.get_metrics_result()

    def get_metrics_result(self):
        """``{name: value}`` of every metric in ``metrics`` (a metric whose result is a dict, the
        compiled metrics, gives its entries), as floats."""
        logs = {}
        for metric in self.metrics:
            value = metric.result()
            if isinstance(value, dict):
                logs.update(value)
            else:
                logs[metric.name] = value
        return pythonify_logs(logs)

    @property
    def metrics(self):
        """The metrics ``fit`` resets each epoch, in Keras 3's order: the loss tracker, the compiled
        metrics (one metric, 'compile_metrics'), each output's loss tracker, then metrics held as
        attributes by the model and its layers."""
        found = []
        if self.compiled:
            found.append(self._loss_tracker)
            if self._compile_metrics is not None:
                found.append(self._compile_metrics)
            if self._compile_loss is not None:
                found.extend(self._compile_loss.metrics)
        found.extend(self._metrics)
        for layer in self._descendants():
            if not isinstance(layer, Trainer):
                found.extend(layer._metrics)
        return found

    @property
    def metrics_names(self):
        """The names of ``evaluate``'s list: 'loss', then the other metrics (as tf.keras 2 named them)."""
        names = []
        for metric in self.metrics:
            if metric is self._compile_metrics:
                names.extend(metric.names())
            else:
                names.append(metric.name)
        return names

    def reset_metrics(self):
        """Start every metric over (``fit`` does at each epoch, ``evaluate`` at its start)."""
        for metric in self.metrics:
            metric.reset_state()

    @property
    def compiled_loss(self):
        """tf.keras 2's compiled loss: ``self.compiled_loss(y, y_pred, regularization_losses=self.losses)``."""
        return _CompiledLoss(self)

    @property
    def compiled_metrics(self):
        """tf.keras 2's compiled metrics: ``self.compiled_metrics.update_state(y, y_pred)``."""
        return _CompiledMetrics(self)

    def _flatten_metrics_in_order(self, logs):
        """``logs`` as a list: the values of the metrics in ``metrics`` order, then any others by name
        (Keras 3's order for ``evaluate``'s list)."""
        names = []
        for metric in self.metrics:
            if metric is self._compile_metrics:
                names.extend(sub.name for sub in metric.metrics)
            else:
                names.append(metric.name)
        values = [logs[name] for name in names if name in logs]
        values.extend(logs[key] for key in sorted(logs) if key not in names)
        return values


def pythonify_logs(logs):
    """A step's logs as plain floats, nested dicts flattened (Keras 3's ``pythonify_logs``)."""
    found = {}
    for key, value in logs.items():
        if isinstance(value, dict):
            found.update(pythonify_logs(value))
        elif isinstance(value, Tensor):
            found[key] = float(value._value) if value._value.size == 1 else value.numpy()
        elif isinstance(value, (np.ndarray, np.generic)):
            found[key] = float(value) if np.size(value) == 1 else value
        else:
            found[key] = value
    return found


def _logs_of(model, returned, step_name):
    if not isinstance(returned, dict):
        raise TypeError(
            f"{type(model).__name__}.{step_name} must return a dict of logs (metric name -> value); "
            f"it returned {type(returned).__name__}."
        )
    return pythonify_logs(returned)


def start_run(model):
    """Before a run of ``fit`` / ``evaluate``: the compiled metrics are chosen again from its first
    batch ('accuracy' follows that run's labels), and every metric starts over."""
    if model._compile_metrics is not None:
        model._compile_metrics.built = False
        model._compile_metrics._groups = []
    model.reset_metrics()


def _batch_length(x):
    first = nest.flatten(x)[0]
    if isinstance(first, Tensor):
        return first._value.shape[0] if first._value.ndim else 1
    return len(first)


def _tensors(structure):
    """The arrays of a batch's inputs as tensors (a structure keeps its shape)."""
    if isinstance(structure, np.ndarray):
        return Tensor(structure)
    return nest.pack_sequence_as(structure, [Tensor(leaf) for leaf in nest.flatten(structure)])


def _step_data(batch):
    x, y, sample_weight = batch
    return pack_x_y_sample_weight(_tensors(x), y, sample_weight)


def _first_samples(x):
    if isinstance(x, np.ndarray):
        return x[:1]
    return nest.pack_sequence_as(x, [leaf[:1] for leaf in nest.flatten(x)])


def _uses_default_steps(model):
    return type(model).train_step is Trainer.train_step and type(model).test_step is Trainer.test_step


def _needs_labels(model):
    """Whether each batch must carry labels: the default steps with a compiled loss."""
    return _uses_default_steps(model) and model._compile_loss is not None


def _output_shape(model, x):
    """The model's output shape(s), from one sample (this also builds an unbuilt model)."""
    output = model(_tensors(_first_samples(x)), training=False)
    if isinstance(output, Tensor):
        return (None, *output.shape[1:])
    return nest.pack_sequence_as(output, [(None, *leaf.shape[1:]) for leaf in nest.flatten(output)])


def _prepared(model, batches, op):
    """Read the first batch ahead: with the default steps, build the model on it and check its
    labels against the loss (a clear error before any step)."""
    x_first, y_first, _ = batches.first()
    if not _uses_default_steps(model):
        return
    if y_first is None and model._compile_loss is not None:
        raise ValueError(f"{op}: y is required (the labels); use predict() to get outputs without labels.")
    output_shape = _output_shape(model, x_first)
    labels = batches.y if isinstance(batches, data.ArrayBatches) else y_first  # arrays: every label checked
    if labels is not None:
        data.check_labels(model, labels, output_shape, op)


def _array_batches(model, x, y, sample_weight, class_weight, batch_size, shuffle, op):
    """``(ArrayBatches, class_weight)`` of array data, every array checked."""
    x = data.inputs_of(model, x, op)
    y = None if y is None else data.labels_of(y, op)
    sample_weight = data.weights_of(sample_weight, op)
    if y is not None:
        data.check_lengths(x, y, op)
    if sample_weight is not None:
        data.check_lengths(x, sample_weight, op, y_name="sample_weight")
    class_weight = data.check_class_weight(class_weight, y, sample_weight, op)
    return data.ArrayBatches(x, y, sample_weight, batch_size, shuffle), class_weight


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
    class_weight,
    sample_weight,
    initial_epoch,
    steps_per_epoch,
    validation_steps,
    validation_batch_size,
    validation_freq,
):
    op = "fit"
    _require_compiled(model, op)
    verbose = resolve_verbose(verbose, op)
    batch_size = data.batch_size_argument(batch_size, op)
    epochs = _non_negative_int(epochs, "epochs", op)
    initial_epoch = _non_negative_int(initial_epoch, "initial_epoch", op)
    steps_per_epoch = data.steps_argument(steps_per_epoch, "steps_per_epoch", op)
    validation_steps = data.steps_argument(validation_steps, "validation_steps", op)
    validation_freq = data.steps_argument(validation_freq, "validation_freq", op) or 1
    if data.is_batch_source(x):
        data.no_source_arguments(op, y=y, sample_weight=sample_weight, validation_split=validation_split)
        batches = data.SourceBatches(model, x, op, labelled=_needs_labels(model), shuffle=shuffle)
        class_weight = data.check_class_weight(class_weight, None, None, op)
    else:
        if validation_data is None and validation_split:
            x, y, sample_weight = (
                data.inputs_of(model, x, op),
                None if y is None else data.labels_of(y, op),
                data.weights_of(sample_weight, op),
            )
            if y is not None:
                data.check_lengths(x, y, op)
            (x, y, sample_weight), validation_data = data.split_validation((x, y, sample_weight), validation_split)
        batches, class_weight = _array_batches(model, x, y, sample_weight, class_weight, batch_size, shuffle, op)
    _prepared(model, batches, op)
    iterator = data.EpochIterator(batches, steps_per_epoch, class_weight, op)
    validation = None
    if validation_data is not None:
        validation = _validation_iterator(model, validation_data, validation_batch_size or batch_size, validation_steps)

    if _uses_default_steps(model):
        # The optimizer's state follows the order of the weights, so a saved state restores exactly.
        model.optimizer.build(model.trainable_weights)
    start_run(model)

    history = callbacks_module.History()
    callback_list = callbacks_module.CallbackList(
        [*(callbacks or []), history], model, {"verbose": verbose, "epochs": epochs, "steps": iterator.steps}
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
        progress = Progress(builtin_verbose, iterator.steps, epoch_title(epoch, epochs))
        stepped = False
        for step, batch in enumerate(iterator.epoch(generator)):
            stepped = True
            if batch_begin_hooks:
                callback_list.on_train_batch_begin(step, {})
            logs = _logs_of(model, model.train_step(_step_data(batch)), "train_step")
            if model.stop_on_nonfinite_loss and not math.isfinite(logs.get("loss", 0.0)):
                _stop_on_nonfinite(model, logs["loss"], epoch, epochs, step, iterator.steps)
                break
            if batch_end_hooks:
                callback_list.on_train_batch_end(step, logs)
            if progress.due(step + 1):
                progress.draw(step + 1, logs)
            if model.stop_training:
                break
        if not stepped and iterator.ran_out:
            break  # the data is used up (Keras warned): training ends
        logs = dict(logs)
        progress.steps = iterator.steps  # a source of unknown length is counted in its first pass
        if validation is not None and (epoch + 1) % validation_freq == 0:
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


def _validation_iterator(model, validation_data, batch_size, steps):
    """The batches of fit's validation data: a dataset, a generator, a PyDataset, or a tuple
    ``(x_val, y_val)`` / ``(x_val, y_val, sample_weight_val)`` of arrays."""
    op = "fit"
    if data.is_batch_source(validation_data):
        batches = data.SourceBatches(
            model, validation_data, op, labelled=_needs_labels(model), argument="validation_data"
        )
    else:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            length = f" of length {len(validation_data)}" if isinstance(validation_data, (tuple, list)) else ""
            raise ValueError(
                "fit: validation_data must be a tuple (x_val, y_val) or (x_val, y_val, sample_weight_val), or a "
                f"dataset; received {type(validation_data).__name__}{length}."
            )
        x_val, y_val, weights = (*validation_data, None)[:3]
        x_val = data.inputs_of(model, x_val, op, "x_val (validation_data[0])")
        y_val = data.labels_of(y_val, op, "y_val (validation_data[1])")
        data.check_lengths(x_val, y_val, op, "x_val", "y_val")
        weights = data.weights_of(weights, op, "sample_weight_val (validation_data[2])")
        batches = data.ArrayBatches(x_val, y_val, weights, data.batch_size_argument(batch_size, op))
    if _uses_default_steps(model):
        x_first, y_first, _ = batches.first()
        data.check_labels(model, y_first, _output_shape(model, x_first), op, "y_val")
    return data.EpochIterator(batches, steps, op=op)


def _stop_on_nonfinite(model, loss_value, epoch, epochs, step, steps):
    model.stop_training = True
    warnings.warn(
        f"fit: the loss became {loss_value} at epoch {epoch + 1}/{epochs}, step {step + 1}/{steps}; training stopped "
        "without applying that step (the weights are those after the previous step). Usual causes: a learning rate "
        "too high, inputs not scaled (divide images by 255), or labels that do not suit the loss.",
        RuntimeWarning,
        stacklevel=4,
    )


def _evaluate_batches(model, iterator, progress=None, callback_list=None):
    """Loss and metrics over the batches through ``model.test_step`` (the loss the size-weighted
    mean of the batch means).  Resets the model's metrics first."""
    model.reset_metrics()
    logs = {}
    for step, batch in enumerate(iterator.epoch()):
        if callback_list is not None:
            callback_list.on_test_batch_begin(step, {})
        logs = _logs_of(model, model.test_step(_step_data(batch)), "test_step")
        if callback_list is not None:
            callback_list.on_test_batch_end(step, logs)
        if progress is not None and progress.due(step + 1):
            progress.draw(step + 1, logs)
    return dict(logs)


def _results(model, logs, return_dict):
    """A dict sorted by name (as Keras 3 returns it), or the values in Keras 3's order: the loss, then
    the other metrics."""
    if return_dict:
        return dict(sorted(logs.items()))
    values = model._flatten_metrics_in_order(logs)
    return values[0] if len(values) == 1 else values


def evaluate(model, x, y, batch_size, verbose, sample_weight, steps, callbacks, return_dict):
    op = "evaluate"
    _require_compiled(model, op)
    verbose = resolve_verbose(verbose, op)
    batch_size = data.batch_size_argument(batch_size, op)
    steps = data.steps_argument(steps, "steps", op)
    if data.is_batch_source(x):
        data.no_source_arguments(op, y=y, sample_weight=sample_weight)
        batches = data.SourceBatches(model, x, op, labelled=_needs_labels(model))
    else:
        batches, _ = _array_batches(model, x, y, sample_weight, None, batch_size, False, op)
    _prepared(model, batches, op)
    iterator = data.EpochIterator(batches, steps, op=op)
    start_run(model)
    callback_list = callbacks_module.CallbackList(callbacks, model, {"verbose": verbose, "steps": iterator.steps})
    callback_list.on_test_begin({})
    progress = Progress(_builtin_verbose(verbose, callbacks), iterator.steps)
    logs = _evaluate_batches(model, iterator, progress, callback_list if callbacks else None)
    progress.steps = iterator.steps
    progress.finish(callback_list.on_test_end(logs))
    return _results(model, logs, return_dict)


def predict(model, x, batch_size, verbose, steps, callbacks, one_batch=False):
    """Outputs for ``x`` through ``model.predict_step``, batch by batch, written into preallocated
    arrays (no giant activation, no concatenation); a model of several outputs gives them as it
    returns them (a list or a dict of arrays).

    When nothing can tell the order of the batches apart (no callbacks, no recording tape,
    the default ``predict_step``, and every layer declaring its inference free of state
    changes), the batches after the first run side by side, one per thread
    (``ops.parallel_ops.map_side_by_side``), once one has taken long enough to repay it.
    A batch then runs its kernels on its thread alone; run alone, a big batch's products
    are split over the threads, which can round them differently.
    """
    op = "predict_on_batch" if one_batch else "predict"
    verbose = resolve_verbose(verbose, op)
    if data.is_batch_source(x) and not one_batch:
        return _predict_source(model, x, verbose, data.steps_argument(steps, "steps", op), callbacks)
    x = data.inputs_of(model, x, op)
    count = data.length_of(x)
    batch_size = count if one_batch else data.batch_size_argument(batch_size, op)
    batch_count = math.ceil(count / batch_size)
    limit = data.steps_argument(steps, "steps", op)
    if limit is not None and limit < batch_count:
        batch_count, count = limit, limit * batch_size
    callback_list = callbacks_module.CallbackList(callbacks, model, {"verbose": verbose, "steps": batch_count})
    callback_list.on_predict_begin({})
    progress = Progress(_builtin_verbose(verbose, callbacks), batch_count)
    results = None

    def run_batch(step):
        nonlocal results
        start = step * batch_size
        if callbacks:
            callback_list.on_predict_batch_begin(step, {})
        part = slice(start, min(start + batch_size, count))
        if isinstance(x, np.ndarray):
            batch = Tensor(x[part])
        else:
            batch = _tensors(nest.pack_sequence_as(x, [leaf[part] for leaf in nest.flatten(x)]))
        outputs = model.predict_step(pack_x_y_sample_weight(batch))
        batch_outputs = [_array_of(o) for o in nest.flatten(outputs)]
        if results is None:  # the first batch
            results = [np.empty((count, *o.shape[1:]), dtype=o.dtype) for o in batch_outputs]
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
    if batch_count > 2 and _batches_side_by_side(model, callbacks):
        parallel_ops.map_side_by_side(lambda i: run_batch(1 + i), batch_count - 1, lambda done: report(1 + done))
    else:
        for step in range(1, batch_count):
            run_batch(step)
            report(step + 1)
    progress.finish({})
    callback_list.on_predict_end({})
    return _like(outputs, results)


def _array_of(output):
    return output._value if isinstance(output, Tensor) else np.asarray(output)


def _like(outputs, arrays):
    """``arrays`` in the structure of one batch's ``outputs`` (one array for one output)."""
    if isinstance(outputs, Tensor) or not isinstance(outputs, (list, tuple, dict)):
        return arrays[0]
    return nest.pack_sequence_as(outputs, arrays)


def _predict_source(model, source, verbose, steps, callbacks):
    """``predict`` over the batches of a dataset, a generator or a PyDataset through
    ``model.predict_step``, one after another; the outputs joined at the end."""
    iterator = data.EpochIterator(data.SourceBatches(model, source, "predict", labelled=False), steps, op="predict")
    callback_list = callbacks_module.CallbackList(callbacks, model, {"verbose": verbose, "steps": iterator.steps})
    callback_list.on_predict_begin({})
    progress = Progress(_builtin_verbose(verbose, callbacks), iterator.steps)
    parts, outputs = [], None
    for step, (x_batch, _, _) in enumerate(iterator.epoch()):
        callback_list.on_predict_batch_begin(step, {})
        outputs = model.predict_step(pack_x_y_sample_weight(_tensors(x_batch)))
        batch_outputs = [_array_of(o) for o in nest.flatten(outputs)]
        parts.append(batch_outputs)
        callback_list.on_predict_batch_end(step, {"outputs": batch_outputs})
        if progress.due(step + 1):
            progress.draw(step + 1, {})
    if not parts:
        raise ValueError("predict: the dataset x is empty.")
    progress.steps = iterator.steps
    progress.finish({})
    callback_list.on_predict_end({})
    return _like(outputs, [np.concatenate(columns) for columns in zip(*parts)])


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


def _one_batch(model, x, y, sample_weight, class_weight, op):
    """The one batch of ``train_on_batch`` / ``test_on_batch``, checked, the model built on it."""
    _require_compiled(model, op)
    x = data.inputs_of(model, x, op)
    batches, class_weight = _array_batches(model, x, y, sample_weight, class_weight, data.length_of(x), False, op)
    _prepared(model, batches, op)
    start_run(model)
    return next(data.EpochIterator(batches, class_weight=class_weight, op=op).epoch())


def train_on_batch(model, x, y, sample_weight, class_weight, return_dict):
    """One step on one batch through ``model.train_step``; the metrics are those of this batch
    alone (as Keras 2's default)."""
    batch = _one_batch(model, x, y, sample_weight, class_weight, "train_on_batch")
    if _uses_default_steps(model):
        model.optimizer.build(model.trainable_weights)
    return _results(model, _logs_of(model, model.train_step(_step_data(batch)), "train_step"), return_dict)


def test_on_batch(model, x, y, sample_weight, return_dict):
    """The loss and metrics of one batch through ``model.test_step``."""
    batch = _one_batch(model, x, y, sample_weight, None, "test_on_batch")
    return _results(model, _logs_of(model, model.test_step(_step_data(batch)), "test_step"), return_dict)
