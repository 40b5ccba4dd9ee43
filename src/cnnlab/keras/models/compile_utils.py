"""What ``compile`` makes of its ``loss``, ``loss_weights`` and ``metrics``: one object each, as Keras 3's
``CompileLoss`` and ``CompileMetrics`` (``keras/src/trainers/compile_utils.py``).

For a model of one output, the loss is the compiled loss of ``(y, y_pred)`` and the metrics
are named as given (History keys 'loss', 'accuracy').  For several outputs (a list or a dict
of them) each output may have its own loss and metrics:

* ``loss``: one loss for every output, a list (one per output, None for none) or a dict by
  output name; ``loss_weights`` likewise (a number for one output);
* ``metrics``: a list with one entry (a metric or a list of them) per output, or a dict by
  output name (a list of another length gives every output those metrics, as tf.keras 2 did);
* the total loss is the weighted sum; History also shows each output's unweighted loss
  as ``<output>_loss`` and its metrics as ``<output>_<metric>`` (Keras 3's names), where an
  output is named by its dict key, else by the layer that makes it.

Both objects resolve what depends on the data ('accuracy' is binary, sparse or categorical
accuracy by the loss and the shapes) on the first batch they see.
"""

import numpy as np

from ... import nest
from ...tensor import Tensor
from .. import losses as losses_module
from .. import metrics as metrics_module


class LossTracker(metrics_module.Mean):
    """The running mean of the loss over the batches of a run, each batch weighted by its size
    (``model.metrics[0]``, History's 'loss').  Plain Python floats: it is updated every step."""

    def __init__(self, name="loss"):
        super().__init__(name=name)

    def update_state(self, value, sample_weight=1):
        if isinstance(value, Tensor):
            value = float(value._value)
        self.total += value * sample_weight
        self.count += sample_weight

    def result(self):
        """The mean so far, a float (NaN before the first batch)."""
        return self.total / self.count if self.count else float("nan")


def loss_object(identifier):
    """A Loss object for a compile ``loss`` entry: a function is wrapped to reduce its per-sample
    losses to the batch mean."""
    loss = losses_module.get(identifier)
    if not isinstance(loss, losses_module.Loss):
        loss = losses_module.LossFunctionWrapper(loss, name=identifier if isinstance(identifier, str) else None)
    return loss


def _structure_entries(value, names, argument, allow_single=True):
    """``value`` given per output (a list in order, or a dict by output name) as a list aligned with
    ``names``; a single entry (when ``allow_single``) is the same for every output."""
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise ValueError(
                f"compile: {argument} names outputs {unknown} the model does not have; its outputs are {names}."
            )
        return [value.get(name) for name in names]
    if isinstance(value, (list, tuple)):
        if len(value) != len(names):
            raise ValueError(
                f"compile: {argument} must have one entry per output ({len(names)}: {names}), or be a dict by "
                f"output name; received a list of {len(value)}."
            )
        return list(value)
    if not allow_single:
        raise ValueError(
            f"compile: for a model of {len(names)} outputs ({names}), {argument} must be a list with one entry per "
            f"output or a dict by output name; received {value!r}."
        )
    return [value] * len(names)


class OutputNames:
    """How a model's outputs are named, in Keras 3's order: for a dict of outputs its keys (in the
    order the functional model was given them, else sorted), for a list the names of the layers
    that make them; None for a model of one output."""

    def __init__(self, model):
        self.model = model

    def of(self, y_pred):
        if isinstance(y_pred, Tensor):
            return None
        if isinstance(y_pred, dict):
            given = getattr(self.model, "_outputs_structure", None)
            if isinstance(given, dict) and set(given) == set(y_pred):
                return list(given)
            return sorted(y_pred)
        names = getattr(self.model, "output_names", None)
        flat = nest.flatten(y_pred)
        if names is None or len(names) != len(flat) or len(set(names)) != len(names):
            names = [f"output_{index + 1}" for index in range(len(flat))]
        return list(names)


def by_name(y_pred, names):
    """The predictions of each output, in the order of ``names``."""
    if isinstance(y_pred, dict):
        return [y_pred[name] for name in names]
    return nest.flatten(y_pred)


class CompileLoss:
    """The compiled loss (``model.compiled_loss``): ``compile_loss(y_true, y_pred, sample_weight)`` is
    the total, weighted loss; with several losses each output's unweighted loss is tracked too
    (``metrics``, History's ``<output>_loss``).

    Args:
        loss: as ``compile`` takes it.
        loss_weights: None, a number, a list or a dict (as ``loss``).
        output_names: an ``OutputNames`` of the model.
    """

    def __init__(self, loss, loss_weights, output_names):
        if loss_weights is not None and not isinstance(loss_weights, (int, float, list, tuple, dict)):
            raise ValueError(
                "compile: loss_weights must be a number (one output), a list or a dict (several outputs); "
                f"received loss_weights={loss_weights!r}."
            )
        self.loss, self.loss_weights, self.output_names = loss, loss_weights, output_names
        self.entries = None  # [(output index or None, Loss object, weight)] once built
        self.metrics = []
        self._names = None
        for identifier in nest.flatten(loss):  # checked now, so that a bad compile changes nothing
            if identifier is not None:
                loss_object(identifier)

    @property
    def single(self):
        """The Loss object of a model of one output (before the first batch: of a single loss given)."""
        if self.entries is not None:
            return self.entries[0][1] if self._names is None else None
        if isinstance(self.loss, (list, tuple, dict)):
            return None
        return loss_object(self.loss)

    def build(self, y_pred):
        names = self.output_names.of(y_pred)
        if names is None:
            if isinstance(self.loss, (list, tuple, dict)) and len(nest.flatten(self.loss)) != 1:
                raise ValueError(
                    f"compile: the model has one output, but loss={self.loss!r} gives several losses."
                )
            weight = self.loss_weights
            if isinstance(weight, (list, tuple, dict)):
                weight = nest.flatten(weight)[0]
            self.entries = [(None, loss_object(nest.flatten(self.loss)[0]), weight)]
            self._names = None
            return
        losses = _structure_entries(self.loss, names, "loss")
        weights = [None] * len(names)
        if self.loss_weights is not None:
            weights = _structure_entries(self.loss_weights, names, "loss_weights")
        self.entries = [
            (index, loss_object(loss), weight)
            for index, (loss, weight) in enumerate(zip(losses, weights))
            if loss is not None
        ]
        if not self.entries:
            raise ValueError("compile: every output's loss is None; give at least one loss.")
        self._names = names
        self.metrics = (
            [LossTracker(name=f"{names[index]}_loss") for index, _, _ in self.entries] if len(self.entries) > 1 else []
        )

    def __call__(self, y_true, y_pred, sample_weight=None, regularization_losses=None):
        """The total loss of one batch (a scalar tensor).

        Args:
            y_true, y_pred: the labels and the predictions (each a structure matching the outputs).
            sample_weight: per-sample weights: one array, or one per output.
            regularization_losses: tensors added to the total (tf.keras 2's ``self.losses``).
        """
        if self.entries is None:
            self.build(y_pred)
        if self._names is None:
            _, loss, weight = self.entries[0]
            if isinstance(y_true, (list, tuple)) and len(y_true) == 1:
                y_true = y_true[0]
            if isinstance(sample_weight, (list, tuple)) and len(sample_weight) == 1:
                sample_weight = sample_weight[0]
            total = loss(y_true, y_pred) if sample_weight is None else loss(y_true, y_pred, sample_weight)
            if weight is not None:
                total = total * float(weight)
        else:
            predictions = by_name(y_pred, self._names)
            labels = self.per_output(y_true, "y")
            weights = self.per_output(sample_weight, "sample_weight", allow_single=True)
            total = None
            for position, (index, loss, weight) in enumerate(self.entries):
                if weights[index] is None:
                    value = loss(labels[index], predictions[index])
                else:
                    value = loss(labels[index], predictions[index], weights[index])
                if self.metrics:
                    self.metrics[position].update_state(value, _batch_size(predictions[index]))
                if weight is not None:
                    value = value * float(weight)
                total = value if total is None else total + value
        for extra in regularization_losses or []:
            total = total + extra
        return total

    def per_output(self, value, argument, allow_single=False):
        """``value`` (labels or sample weights) as a list aligned with the outputs."""
        names = self._names
        if value is None:
            return [None] * len(names)
        if isinstance(value, (dict, list, tuple)):
            return _structure_entries(value, names, argument)
        if allow_single:
            return [value] * len(names)
        raise ValueError(
            f"The model has {len(names)} outputs ({names}): give {argument} as a list with one array per output or "
            f"as a dict by output name; received one {type(value).__name__}."
        )


def _batch_size(tensor):
    return tensor.shape[0] if tensor.ndim else 1


class CompileMetrics:
    """The compiled metrics (``model.compiled_metrics``), as one metric named 'compile_metrics'.

    ``update_state(y_true, y_pred, sample_weight)`` updates each output's metrics (the
    ``weighted_metrics`` with the sample weights, the ``metrics`` without); ``result()`` is a
    dict of their values by name.

    Args:
        metrics, weighted_metrics: as ``compile`` takes them.
        output_names: an ``OutputNames`` of the model.
        compile_loss: the ``CompileLoss`` (its losses decide what 'accuracy' means), or None.
    """

    name = "compile_metrics"

    def __init__(self, metrics, weighted_metrics, output_names, compile_loss):
        for argument, value in (("metrics", metrics), ("weighted_metrics", weighted_metrics)):
            if value is not None and not isinstance(value, (list, tuple, dict)):
                raise TypeError(
                    f"compile: {argument} must be a list (or a dict by output), e.g. {argument}=['accuracy']; "
                    f"received {argument}={value!r}."
                )
            for identifier in nest.flatten(value):
                if identifier is not None and not _is_accuracy(identifier):
                    metrics_module.get(identifier)  # checked now, so that a bad compile changes nothing
        self.identifiers, self.weighted_identifiers = metrics, weighted_metrics
        self.output_names, self.compile_loss = output_names, compile_loss
        self.built = False
        self._groups = []  # [(output index or None, prefix, [(metric, weighted)])]

    @property
    def metrics(self):
        """Every metric object, in the order they were given (empty before the first batch)."""
        return [metric for _, _, group in self._groups for metric, _ in group]

    def names(self):
        """The History keys of the metrics, in order (known before the first batch for one output)."""
        if self.built:
            return [prefix + metric.name for _, prefix, group in self._groups for metric, _ in group]
        found = []
        for identifier in nest.flatten([self.identifiers, self.weighted_identifiers]):
            if identifier is None:
                continue
            if isinstance(identifier, str):
                found.append(identifier)
            else:
                found.append(
                    getattr(identifier, "name", None) or getattr(identifier, "__name__", type(identifier).__name__)
                )
        return found

    def build(self, y_true, y_pred):
        names = self.output_names.of(y_pred)
        predictions = [y_pred] if names is None else by_name(y_pred, names)
        if names is None:
            labels = [y_true[0] if isinstance(y_true, (list, tuple)) and len(y_true) == 1 else y_true]
            plain = [self.identifiers or []]
            weighted = [self.weighted_identifiers or []]
            prefixes = [""]
        else:
            labels = self._labels(y_true, names)
            plain = _per_output_metrics(self.identifiers, names, "metrics")
            weighted = _per_output_metrics(self.weighted_identifiers, names, "weighted_metrics")
            prefixes = [f"{name}_" for name in names]
        self._groups = []
        for index, prefix in enumerate(prefixes):
            loss = self._loss_of(index if names is not None else None)
            group = [
                (_resolved(identifier, loss, labels[index], predictions[index]), flag)
                for identifiers, flag in ((plain[index], False), (weighted[index], True))
                for identifier in identifiers
            ]
            if group:
                self._groups.append((None if names is None else index, prefix, group))
        self.built = True

    def _loss_of(self, index):
        if self.compile_loss is None or self.compile_loss.entries is None:
            return None
        for position, loss, _ in self.compile_loss.entries:
            if position == index:
                return loss
        return None

    def update_state(self, y_true, y_pred, sample_weight=None):
        if not self.built:
            self.build(y_true, y_pred)
        single = not self._groups or self._groups[0][0] is None
        predictions = [y_pred] if single else by_name(y_pred, self.output_names.of(y_pred))
        if single:
            labels = [y_true[0] if isinstance(y_true, (list, tuple)) and len(y_true) == 1 else y_true]
            weights = [sample_weight]
        else:
            labels = self._labels(y_true, self.output_names.of(y_pred))
            weights = (
                self.compile_loss.per_output(sample_weight, "sample_weight", allow_single=True)
                if self.compile_loss is not None and self.compile_loss._names is not None
                else [sample_weight] * len(predictions)
            )
        for index, _, group in self._groups:
            position = 0 if index is None else index
            prediction = predictions[position]
            values = prediction._value if isinstance(prediction, Tensor) else np.asarray(prediction)
            for metric, weighted in group:
                if weighted and weights[position] is not None:
                    metric.update_state(labels[position], values, weights[position])
                else:
                    metric.update_state(labels[position], values)

    def _labels(self, y_true, names):
        """The labels of each output, in the order of ``names``."""
        if self.compile_loss is not None and self.compile_loss._names is not None:
            return self.compile_loss.per_output(y_true, "y")
        return _structure_entries(y_true, names, "y")

    def result(self):
        return {
            prefix + metric.name: float(metric.result()) for _, prefix, group in self._groups for metric, _ in group
        }

    def reset_state(self):
        for metric in self.metrics:
            metric.reset_state()

    def reset_states(self):
        self.reset_state()


def _per_output_metrics(identifiers, names, argument):
    """The metrics of each output: a dict by name, a list of one entry per output (Keras 3), or else a
    flat list of metrics that every output gets (tf.keras 2)."""
    if identifiers is None:
        return [[] for _ in names]
    if isinstance(identifiers, (list, tuple)) and len(identifiers) != len(names):
        if any(isinstance(entry, (list, tuple, dict)) for entry in identifiers):
            raise ValueError(
                f"compile: {argument} must have one entry per output ({len(names)}: {names}), or be a dict by "
                f"output name; received a list of {len(identifiers)}."
            )
        return [list(identifiers) for _ in names]
    entries = _structure_entries(identifiers, names, argument, allow_single=False)
    return [[] if entry is None else list(entry) if isinstance(entry, (list, tuple)) else [entry] for entry in entries]


def _is_accuracy(identifier):
    return isinstance(identifier, str) and identifier.lower() in ("accuracy", "acc")


def _resolved(identifier, loss, y_true, y_pred):
    """A fresh metric object for ``identifier`` ('accuracy' chosen from the loss and shapes as Keras does)."""
    if _is_accuracy(identifier):
        true_shape = np.shape(y_true._value if isinstance(y_true, Tensor) else y_true)
        pred_shape = np.shape(y_pred._value if isinstance(y_pred, Tensor) else y_pred)
        return metrics_module.resolve_accuracy(identifier, loss, true_shape, pred_shape)
    metric = metrics_module.get(identifier)
    metric.reset_state()
    return metric
