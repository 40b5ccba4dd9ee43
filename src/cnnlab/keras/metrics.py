"""Metrics (``tf.keras.metrics``): running averages computed with NumPy, off the tape.

A metric object accumulates over batches (``update_state``), reports
(``result()``, a float32 scalar tensor) and starts over (``reset_state``).  The
metric functions (``categorical_accuracy`` and friends) return one value per
sample, as Keras's do.

    >>> m = CategoricalAccuracy()
    >>> m.update_state([[0, 1], [1, 0]], [[0.2, 0.8], [0.3, 0.7]])
    >>> float(m.result())
    0.5

``compile(metrics=['accuracy'])`` means binary, sparse categorical or categorical
accuracy depending on the loss and the shapes: see ``resolve_accuracy``.
"""

import numpy as np

from ..tensor import Tensor, Variable, constant
from . import losses
from . import serialization
from .losses import _check_one_hot_targets, _class_ids, _shape_text


def _array(x):
    return x._value if isinstance(x, Tensor) else np.asarray(x)


def _same_rank(y_true, y_pred):
    """NumPy arrays made to the same rank by Keras's squeeze-or-expand rule."""
    y_true, y_pred = losses.squeeze_or_expand_to_same_rank(Tensor(_array(y_true)), Tensor(_array(y_pred)))
    return y_true._value, y_pred._value


def _check_same_shape(fn, y_true, y_pred):
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"{fn}: y_true and y_pred must have the same shape (up to a trailing axis of size 1); received "
            f"y_true.shape={_shape_text(y_true.shape)} and y_pred.shape={_shape_text(y_pred.shape)}."
        )


# ---- metric functions (one value per sample) ---------------------------------------------


def accuracy(y_true, y_pred):
    """1.0 where ``y_pred`` equals ``y_true`` exactly, else 0.0 (elementwise)."""
    y_true, y_pred = _same_rank(y_true, y_pred)
    _check_same_shape("accuracy", y_true, y_pred)
    return Tensor((y_true == y_pred).astype(np.float32))


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """The fraction of entries where ``y_pred > threshold`` matches the 0/1 label, over the last axis.

    Shape:
        y_true, y_pred: the same shape up to a trailing 1, e.g. ``(batch, 1)``; result ``(batch,)``.
    """
    y_true, y_pred = _same_rank(y_true, y_pred)
    _check_same_shape("binary_accuracy", y_true, y_pred)
    hits = (y_pred > threshold).astype(y_true.dtype) == y_true
    return Tensor(np.mean(hits, axis=-1, dtype=np.float32))


def categorical_accuracy(y_true, y_pred):
    """1.0 where the arg-max of ``y_pred`` is the arg-max of the one-hot ``y_true``.

    Shape:
        y_true, y_pred: ``(batch, num_classes)`` (or more leading axes); result ``(batch,)``.
    """
    y_true, y_pred = _array(y_true), _array(y_pred)
    _check_one_hot_targets(
        "categorical_accuracy", y_true.shape, y_pred.shape, sparse_alternative="'sparse_categorical_accuracy'"
    )
    return Tensor((np.argmax(y_true, axis=-1) == np.argmax(y_pred, axis=-1)).astype(np.float32))


def sparse_categorical_accuracy(y_true, y_pred):
    """1.0 where the arg-max of ``y_pred`` is the integer label ``y_true``.

    Shape:
        y_true: ``(batch,)`` or ``(batch, 1)``; y_pred: ``(batch, num_classes)``; result ``(batch,)``.
    """
    y_pred = _array(y_pred)
    labels = _class_ids("sparse_categorical_accuracy", y_true, y_pred.shape, dense_alternative="'categorical_accuracy'")
    return Tensor((np.argmax(y_pred, axis=-1) == labels).astype(np.float32))


def _in_top_k(labels, y_pred, k):
    """Whether each label's score is among the ``k`` highest (ties count in, as ``tf.math.in_top_k``)."""
    scores = y_pred.reshape(-1, y_pred.shape[-1])
    label_scores = np.take_along_axis(scores, labels.reshape(-1, 1), axis=1)
    higher = np.count_nonzero(scores > label_scores, axis=1)
    hits = (higher < k) & np.isfinite(label_scores[:, 0])
    return Tensor(hits.reshape(labels.shape).astype(np.float32))


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1.0 where the one-hot label's class is among the ``k`` highest scores of ``y_pred``."""
    y_true, y_pred = _array(y_true), _array(y_pred)
    _check_one_hot_targets(
        "top_k_categorical_accuracy",
        y_true.shape,
        y_pred.shape,
        sparse_alternative="'sparse_top_k_categorical_accuracy'",
    )
    return _in_top_k(np.argmax(y_true, axis=-1), y_pred, k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1.0 where the integer label is among the ``k`` highest scores of ``y_pred``."""
    y_pred = _array(y_pred)
    labels = _class_ids(
        "sparse_top_k_categorical_accuracy", y_true, y_pred.shape, dense_alternative="'top_k_categorical_accuracy'"
    )
    return _in_top_k(labels, y_pred, k)


# ---- metric objects ------------------------------------------------------------------------------


class Metric:
    """Base class: ``update_state`` accumulates, ``result`` reports, ``reset_state`` starts over.

    A subclass keeps its state in variables made with ``add_variable`` (or Keras 2's
    ``add_weight``); the default ``reset_state`` sets them all to zeros.  A subclass
    may override ``reset_state`` (Keras 3, TF >= 2.5) or the older ``reset_states``:
    either is what both names do.

    Args:
        name: the name (the History key when used in ``compile``); by default the
            class name in snake case.
        dtype: the dtype of ``result()``; float32 by default.

    Example:
        >>> class TruePositives(Metric):
        ...     def __init__(self, name="true_positives", **kwargs):
        ...         super().__init__(name=name, **kwargs)
        ...         self.count = self.add_variable(shape=(), initializer="zeros", name="count")
        ...     def update_state(self, y_true, y_pred, sample_weight=None):
        ...         self.count.assign_add(np.sum((np.asarray(y_true) == 1) & (np.asarray(y_pred) > 0.5)))
        ...     def result(self):
        ...         return self.count
    """

    def __init__(self, name=None, dtype=None):
        self.name = name or serialization.to_snake_case(type(self).__name__)
        self.dtype = np.dtype("float32" if dtype is None else dtype)
        self._variables = []

    def update_state(self, *args, **kwargs):
        raise NotImplementedError(f"Metric '{type(self).__name__}' must override `update_state()`.")

    def result(self):
        raise NotImplementedError(f"Metric '{type(self).__name__}' must override `result()`.")

    def add_variable(self, shape=(), initializer="zeros", dtype=None, aggregation="sum", name=None):
        """A (non-trainable) Variable of the metric's state, reset to zeros by ``reset_state``."""
        from . import initializers

        if "_variables" not in self.__dict__:
            raise RuntimeError(f"{type(self).__name__}: call super().__init__() in __init__ before adding variables.")
        dtype = self.dtype if dtype is None else np.dtype(dtype)
        value = initializers.get(initializer)(tuple(shape), dtype=dtype)
        variable = Variable(value, dtype=dtype, trainable=False, name=name or "variable")
        self._variables.append(variable)
        return variable

    def add_weight(self, name=None, shape=(), initializer="zeros", dtype=None, **kwargs):
        """Keras 2's name for ``add_variable`` (its arguments may come in this order)."""
        return self.add_variable(shape=shape, initializer=initializer, dtype=dtype, name=name)

    @property
    def variables(self):
        return list(self._variables)

    def reset_state(self):
        """Start over: what an overridden ``reset_states`` does, else all variables to zeros."""
        if _overrides(self, "reset_states"):
            self.reset_states()
            return
        self._zero_variables()

    def reset_states(self):
        """TF 2's name for ``reset_state``."""
        if _overrides(self, "reset_state"):
            self.reset_state()
            return
        self._zero_variables()

    def _zero_variables(self):
        for variable in self._variables:
            variable.assign(np.zeros(variable.shape, dtype=variable.dtype))

    def __call__(self, *args, **kwargs):
        """Update with one batch and return the result so far."""
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}>"


def _overrides(metric, method):
    return getattr(type(metric), method) is not getattr(Metric, method)


class Mean(Metric):
    """The (weighted) mean of the values seen (``tf.keras.metrics.Mean``).

    ``update_state(values, sample_weight=None)``: values with more axes than the
    weights are first averaged over the extra axes (per sample, as Keras does).

    Example:
        >>> m = Mean()
        >>> m.update_state([1.0, 3.0])
        >>> m.update_state([5.0], sample_weight=[2.0])
        >>> float(m.result())   # (1 + 3 + 2 * 5) / 4
        3.5
    """

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.reset_state()

    def reset_state(self):
        self.total = 0.0
        self.count = 0.0

    def update_state(self, values, sample_weight=None):
        values = np.asarray(_array(values), dtype=np.float64)
        if sample_weight is None:
            per_sample = values.mean(axis=tuple(range(1, values.ndim))) if values.ndim > 1 else values
            self.total += float(per_sample.sum())
            self.count += per_sample.size
            return
        weights = np.asarray(_array(sample_weight), dtype=np.float64)
        values, weights = _same_rank(values, weights)
        if values.ndim > weights.ndim:
            values = values.mean(axis=tuple(range(weights.ndim, values.ndim)))
        try:
            weights = np.broadcast_to(weights, values.shape)
        except ValueError:
            raise ValueError(
                f"{self.name}: sample_weight of shape {_shape_text(weights.shape)} does not match the values of "
                f"shape {_shape_text(values.shape)}."
            ) from None
        self.total += float(np.sum(values * weights))
        self.count += float(np.sum(weights))

    def result(self):
        return constant(np.asarray(self.total / self.count if self.count else 0.0, dtype=self.dtype))


class MeanMetricWrapper(Mean):
    """The mean of ``fn(y_true, y_pred, **kwargs)`` over all samples seen.

    Args:
        fn: a function returning one value per sample (a metric or loss function).
        name: defaults to the function's name.
        **kwargs: passed to ``fn``.

    Example:
        >>> m = MeanMetricWrapper(losses.mean_squared_error, name="mse")
        >>> float(m([[0.0], [2.0]], [[1.0], [2.0]]))
        0.5
    """

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        self._fn = fn
        self._fn_kwargs = kwargs
        super().__init__(name=name or getattr(fn, "__name__", None), dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        # Plain arrays in, so that nothing a metric computes is recorded on a tape.
        values = np.asarray(self._fn(_array(y_true), _array(y_pred), **self._fn_kwargs))
        super().update_state(values, sample_weight)

    def get_config(self):
        return {**super().get_config(), **self._fn_kwargs}


class Accuracy(MeanMetricWrapper):
    """How often ``y_pred`` equals ``y_true`` exactly (compare class ids, not probabilities)."""

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(accuracy, name=name, dtype=dtype)


class BinaryAccuracy(MeanMetricWrapper):
    """How often ``y_pred > threshold`` matches the 0/1 label."""

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)


class CategoricalAccuracy(MeanMetricWrapper):
    """How often the predicted class (arg-max) is the one-hot label's class."""

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often the predicted class (arg-max) is the integer label."""

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot label's class is among the ``k`` highest scores."""

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=k)


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer label is among the ``k`` highest scores."""

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None):
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k)


# ---- probabilistic metrics -------------------------------------------------------------------------


class BinaryCrossentropy(MeanMetricWrapper):
    """The mean binary cross-entropy over the samples seen (``keras.metrics.BinaryCrossentropy``).

    Args:
        from_logits: the predictions are logits rather than probabilities.
        label_smoothing: squeeze the 0/1 labels towards 0.5 by this amount.
    """

    def __init__(self, name="binary_crossentropy", dtype=None, from_logits=False, label_smoothing=0):
        super().__init__(
            losses.binary_crossentropy, name=name, dtype=dtype, from_logits=from_logits, label_smoothing=label_smoothing
        )


class CategoricalCrossentropy(MeanMetricWrapper):
    """The mean categorical cross-entropy (one-hot labels) over the samples seen."""

    def __init__(self, name="categorical_crossentropy", dtype=None, from_logits=False, label_smoothing=0, axis=-1):
        super().__init__(
            losses.categorical_crossentropy,
            name=name,
            dtype=dtype,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
            axis=axis,
        )


class SparseCategoricalCrossentropy(MeanMetricWrapper):
    """The mean sparse categorical cross-entropy (integer labels) over the samples seen."""

    def __init__(self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False, axis=-1):
        super().__init__(
            losses.sparse_categorical_crossentropy, name=name, dtype=dtype, from_logits=from_logits, axis=axis
        )


# ---- regression metrics ---------------------------------------------------------------------------


def mean_absolute_percentage_error(y_true, y_pred):
    """``100 * mean(|y_true - y_pred| / max(|y_true|, epsilon), axis=-1)``, one value per sample."""
    y_true, y_pred = _same_rank(y_true, y_pred)
    _check_same_shape("mean_absolute_percentage_error", y_true, y_pred)
    y_true = y_true.astype(y_pred.dtype, copy=False)
    ratio = np.abs((y_true - y_pred) / np.maximum(np.abs(y_true), losses.EPSILON))
    return Tensor(100.0 * np.mean(ratio, axis=-1))


class MeanSquaredError(MeanMetricWrapper):
    """The mean of ``mean(square(y_true - y_pred), axis=-1)`` over the samples seen."""

    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(losses.mean_squared_error, name=name, dtype=dtype)


class MeanAbsoluteError(MeanMetricWrapper):
    """The mean of ``mean(abs(y_true - y_pred), axis=-1)`` over the samples seen."""

    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(losses.mean_absolute_error, name=name, dtype=dtype)


class MeanAbsolutePercentageError(MeanMetricWrapper):
    """The mean of ``100 * mean(|y_true - y_pred| / max(|y_true|, epsilon), axis=-1)`` over the samples seen."""

    def __init__(self, name="mean_absolute_percentage_error", dtype=None):
        super().__init__(mean_absolute_percentage_error, name=name, dtype=dtype)


class RootMeanSquaredError(Mean):
    """``sqrt`` of the mean squared error over everything seen (``keras.metrics.RootMeanSquaredError``).

    Example:
        >>> m = RootMeanSquaredError()
        >>> float(m([[0.0, 1.0], [1.0, 1.0]], [[1.0, 1.0], [0.0, 0.0]]))
        0.8660254
    """

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = _same_rank(y_true, y_pred)
        super().update_state(np.square(y_pred - y_true.astype(y_pred.dtype, copy=False)), sample_weight)

    def result(self):
        return constant(np.sqrt(np.asarray(self.total / self.count if self.count else 0.0, dtype=self.dtype)))


# ---- confusion-matrix metrics: Precision, Recall, AUC -----------------------------------------------

# What Keras puts in place of the predictions outside the top k.
_NEG_INF = -1e10


def _thresholds(thresholds, default, owner):
    values = (
        [default]
        if thresholds is None
        else (list(thresholds) if isinstance(thresholds, (list, tuple)) else [thresholds])
    )
    if not values or not all(isinstance(t, (int, float, np.floating)) and 0 <= t <= 1 for t in values if t != _NEG_INF):
        raise ValueError(f"{owner}: thresholds must be numbers in [0, 1]; received thresholds={thresholds!r}.")
    return np.asarray(values, dtype=np.float64)


def confusion_counts(
    y_true, y_pred, thresholds, sample_weight=None, top_k=None, class_id=None, multi_label=False, label_weights=None
):
    """True / false positive / negative totals at each threshold, as Keras counts them
    (``metrics_utils.update_confusion_matrix_variables``): a prediction is positive when it is
    strictly above the threshold, a label when it is non-zero.

    Returns:
        ``(tp, fp, tn, fn)``, each of shape (thresholds,), or (thresholds, labels) with ``multi_label``.
    """
    y_true, y_pred = _same_rank(y_true, y_pred)
    y_pred = y_pred.astype(np.float64)
    labels = y_true.astype(bool)
    weights = None
    if sample_weight is not None:
        weights = np.asarray(_array(sample_weight), dtype=np.float64)[..., None]
        if weights.ndim > labels.ndim and weights.shape[-1] == 1:
            weights = weights[..., 0]
        weights = np.broadcast_to(weights, y_pred.shape)
    if top_k is not None:
        top = np.argsort(-y_pred, axis=-1, kind="stable")[..., :top_k]
        keep = np.zeros(y_pred.shape, dtype=bool)
        np.put_along_axis(keep, top, True, axis=-1)
        y_pred = np.where(keep, y_pred, _NEG_INF)
    if class_id is not None:
        y_pred, labels = y_pred[..., class_id], labels[..., class_id]
        weights = None if weights is None else weights[..., class_id]
    if multi_label:
        y_pred, labels = y_pred.reshape(len(y_pred), -1), labels.reshape(len(labels), -1)
        weights = None if weights is None else weights.reshape(len(y_pred), -1)
    else:
        y_pred, labels = y_pred.reshape(-1), labels.reshape(-1)
        weights = None if weights is None else weights.reshape(-1)
        if label_weights is not None:
            extra = np.broadcast_to(np.asarray(label_weights, dtype=np.float64), labels.shape)
            weights = extra if weights is None else weights * extra
    if weights is None:
        weights = np.ones(labels.shape)
    predicted = y_pred[None] > thresholds.reshape((-1,) + (1,) * y_pred.ndim)
    positive, negative = weights * labels, weights * ~labels
    tp = np.sum(predicted * positive, axis=1)
    fp = np.sum(predicted * negative, axis=1)
    fn = positive.sum(axis=0) - tp
    tn = negative.sum(axis=0) - fp
    return tp, fp, tn, fn


def _divide_no_nan(numerator, denominator):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator == 0, 0.0, numerator / np.where(denominator == 0, 1.0, denominator))


class _ConfusionMetric(Metric):
    """Precision and Recall: counts at one or more thresholds, with Keras's top_k and class_id."""

    _counts = ()

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        owner = type(self).__name__
        if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
            raise ValueError(f"{owner}: top_k must be None or a positive integer; received top_k={top_k!r}.")
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        self.thresholds = _thresholds(thresholds, 0.5 if top_k is None else _NEG_INF, owner)
        for count in self._counts:
            setattr(self, count, self.add_variable(shape=(len(self.thresholds),), name=count))

    def update_state(self, y_true, y_pred, sample_weight=None):
        tp, fp, tn, fn = confusion_counts(y_true, y_pred, self.thresholds, sample_weight, self.top_k, self.class_id)
        counts = {"true_positives": tp, "false_positives": fp, "true_negatives": tn, "false_negatives": fn}
        for count in self._counts:
            variable = getattr(self, count)
            variable.assign(variable._value + counts[count].astype(variable.dtype))

    def _ratio(self, other):
        value = _divide_no_nan(self.true_positives._value, self.true_positives._value + getattr(self, other)._value)
        value = value.astype(self.dtype)
        return constant(value[0] if len(self.thresholds) == 1 else value)

    def get_config(self):
        return {
            **super().get_config(),
            "thresholds": self.init_thresholds,
            "top_k": self.top_k,
            "class_id": self.class_id,
        }


class Precision(_ConfusionMetric):
    """The fraction of predicted positives that are positive: ``tp / (tp + fp)`` (``keras.metrics.Precision``).

    A prediction counts as positive when it is above ``thresholds`` (0.5 by default).

    Args:
        thresholds: a number or a list of numbers in [0, 1]; with a list, ``result()``
            gives one precision per threshold.
        top_k: only the ``top_k`` highest predictions of each sample count as positive.
        class_id: compute the metric for this class (the last axis) only.

    Example:
        >>> m = Precision()
        >>> float(m([0, 1, 1, 1], [1, 0, 1, 1]))
        0.6666667
    """

    _counts = ("true_positives", "false_positives")

    def result(self):
        return self._ratio("false_positives")


class Recall(_ConfusionMetric):
    """The fraction of positives that are predicted positive: ``tp / (tp + fn)`` (``keras.metrics.Recall``).

    Arguments as ``Precision``.

    Example:
        >>> m = Recall()
        >>> float(m([0, 1, 1, 1], [1, 0, 1, 1]))
        0.6666667
    """

    _counts = ("true_positives", "false_negatives")

    def result(self):
        return self._ratio("false_negatives")


_AUC_CURVES = ("ROC", "PR", "PRGAIN")
_AUC_SUMMATIONS = ("interpolation", "minoring", "majoring")


class AUC(Metric):
    """The area under the ROC (or precision-recall) curve, from counts at fixed thresholds (``keras.metrics.AUC``).

    Keras's method: ``num_thresholds`` thresholds evenly spaced over [0, 1] (the
    first just below 0, the last just above 1), true / false positive / negative
    counts at each, and a Riemann sum over the curve they trace.

    Args:
        num_thresholds: default 200.
        curve: 'ROC' (default), 'PR' or 'PRGAIN'.
        summation_method: 'interpolation' (default: trapezoids for ROC, Davis and
            Goadrich's interpolation for PR), 'minoring' or 'majoring'.
        thresholds: explicit thresholds in [0, 1] instead of ``num_thresholds``.
        multi_label: treat each label (last axis) as its own binary problem and
            average their AUCs; otherwise all predictions are pooled.
        num_labels: accepted for Keras's signature (the labels are counted on first use).
        label_weights: per-label weights (of the average with ``multi_label``).
        from_logits: the predictions are logits (a sigmoid is applied first).

    Example:
        >>> m = AUC(num_thresholds=3)
        >>> float(m([0, 0, 1, 1], [0, 0.5, 0.3, 0.9]))
        0.75
    """

    def __init__(
        self,
        num_thresholds=200,
        curve="ROC",
        summation_method="interpolation",
        name=None,
        dtype=None,
        thresholds=None,
        multi_label=False,
        num_labels=None,
        label_weights=None,
        from_logits=False,
    ):
        super().__init__(name=name, dtype=dtype)
        curve = str(curve).upper()
        if curve not in _AUC_CURVES:
            raise ValueError(f"AUC: curve must be one of {list(_AUC_CURVES)}; received curve={curve!r}.")
        summation_method = str(summation_method).lower()
        if summation_method not in _AUC_SUMMATIONS:
            raise ValueError(
                f"AUC: summation_method must be one of {list(_AUC_SUMMATIONS)}; "
                f"received summation_method={summation_method!r}."
            )
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            inner = sorted(float(t) for t in _thresholds(list(thresholds), 0.5, "AUC"))
            self.num_thresholds = len(inner) + 2
        else:
            if isinstance(num_thresholds, bool) or not isinstance(num_thresholds, int) or num_thresholds <= 1:
                raise ValueError(
                    f"AUC: num_thresholds must be an integer > 1; received num_thresholds={num_thresholds!r}."
                )
            self.num_thresholds = num_thresholds
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        self._thresholds = np.array([0.0 - losses.EPSILON] + inner + [1.0 + losses.EPSILON])
        self.curve = curve
        self.summation_method = summation_method
        self.multi_label = bool(multi_label)
        self.num_labels = num_labels
        self.label_weights = None if label_weights is None else np.asarray(label_weights, dtype=self.dtype)
        self._from_logits = bool(from_logits)
        self._counts_shape = None

    @property
    def thresholds(self):
        return list(self._thresholds)

    def _build(self, y_pred_shape):
        self._counts_shape = (self.num_thresholds, y_pred_shape[1]) if self.multi_label else (self.num_thresholds,)
        for count in ("true_positives", "false_positives", "true_negatives", "false_negatives"):
            setattr(self, count, self.add_variable(shape=self._counts_shape, name=count))

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = np.asarray(_array(y_pred), dtype=np.float64)
        if self._counts_shape is None:
            if self.multi_label and y_pred.ndim != 2:
                raise ValueError(f"AUC: with multi_label=True, y_pred must have rank 2; received shape {y_pred.shape}.")
            self._build(y_pred.shape)
        if self._from_logits:
            y_pred = 1.0 / (1.0 + np.exp(-y_pred))
        tp, fp, tn, fn = confusion_counts(
            y_true,
            y_pred,
            self._thresholds,
            sample_weight,
            multi_label=self.multi_label,
            label_weights=None if self.multi_label else self.label_weights,
        )
        for variable, count in zip(
            (self.true_positives, self.false_positives, self.true_negatives, self.false_negatives), (tp, fp, tn, fn)
        ):
            variable.assign(variable._value + count.astype(variable.dtype))

    def reset_state(self):
        if self._counts_shape is not None:
            self._zero_variables()

    def result(self):
        if self._counts_shape is None:
            return constant(np.asarray(0.0, dtype=self.dtype))
        tp, fp = self.true_positives._value.astype(np.float64), self.false_positives._value.astype(np.float64)
        tn, fn = self.true_negatives._value.astype(np.float64), self.false_negatives._value.astype(np.float64)
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._average(self._interpolated_pr_auc(tp, fp, fn))
        recall = _divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _divide_no_nan(fp, fp + tn), recall
        elif self.curve == "PR":
            x, y = recall, _divide_no_nan(tp, tp + fp)
        else:  # PRGAIN
            scaling = _divide_no_nan(tp + fn, tn + fp)
            recall_gain = np.where(tp == 0, 0.0, 1.0 - scaling * _divide_no_nan(fn, tp))
            precision_gain = np.where(tp == 0, 1.0, 1.0 - scaling * _divide_no_nan(fp, tp))
            x, y = np.maximum(recall_gain, 0.0), precision_gain
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:-1], y[1:])
        else:
            heights = np.maximum(y[:-1], y[1:])
        return self._average((x[:-1] - x[1:]) * heights)

    @staticmethod
    def _interpolated_pr_auc(tp, fp, fn):
        """Davis and Goadrich's interpolation between thresholds, in Keras's closed form."""
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = _divide_no_nan(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        ratio = np.where((p[:-1] > 0) & (p[1:] > 0), _divide_no_nan(p[:-1], np.maximum(p[1:], 0)), 1.0)
        return _divide_no_nan(slope * (dtp + intercept * np.log(ratio)), np.maximum(tp[1:] + fn[1:], 0))

    def _average(self, terms):
        if not self.multi_label:
            return constant(np.asarray(np.sum(terms), dtype=self.dtype))
        by_label = np.sum(terms, axis=0)
        if self.label_weights is None:
            return constant(np.asarray(np.mean(by_label), dtype=self.dtype))
        weights = self.label_weights.astype(np.float64)
        return constant(np.asarray(_divide_no_nan(np.sum(by_label * weights), np.sum(weights)), dtype=self.dtype))

    def get_config(self):
        config = {
            **super().get_config(),
            "num_thresholds": self.num_thresholds,
            "curve": self.curve,
            "summation_method": self.summation_method,
            "multi_label": self.multi_label,
            "num_labels": self.num_labels,
            "label_weights": None if self.label_weights is None else self.label_weights.tolist(),
            "from_logits": self._from_logits,
        }
        if self._init_from_thresholds:
            config["thresholds"] = self.thresholds[1:-1]
        return config


# ---- 'accuracy' and lookup ------------------------------------------------------------------------


def resolve_accuracy(name, loss=None, y_true_shape=None, y_pred_shape=None):
    """The metric that ``compile(metrics=['accuracy'])`` (or 'acc') means, named as given.

    Keras's rule, taking the loss into account as tf.keras 2 did:

    * ``BinaryAccuracy`` if the loss is binary cross-entropy or the model has one output unit;
    * else ``SparseCategoricalAccuracy`` if the loss is sparse categorical
      cross-entropy, or the labels are class ids: ``y_true`` has a lower rank than
      ``y_pred``, or a last axis of 1 where ``y_pred``'s is larger;
    * else ``CategoricalAccuracy``.

    Args:
        name: 'accuracy' or 'acc' (any case); kept as the metric's name.
        loss: the compiled loss (name, function or Loss object), or None.
        y_true_shape, y_pred_shape: the shapes of a batch of labels and of predictions.

    Example:
        >>> resolve_accuracy("accuracy", "categorical_crossentropy", (32,), (32, 10))
        <SparseCategoricalAccuracy name='accuracy'>
    """
    if str(name).lower() not in ("accuracy", "acc"):
        raise ValueError(f"resolve_accuracy: expected name 'accuracy' or 'acc'; received name={name!r}.")
    loss_fn = losses.function_of(loss)
    y_true_shape, y_pred_shape = tuple(y_true_shape), tuple(y_pred_shape)
    pred_units = y_pred_shape[-1] if y_pred_shape else 1
    true_last = y_true_shape[-1] if y_true_shape else 1
    if loss_fn is losses.binary_crossentropy or pred_units == 1:
        return BinaryAccuracy(name=str(name))
    if (
        loss_fn is losses.sparse_categorical_crossentropy
        or len(y_true_shape) < len(y_pred_shape)
        or (true_last == 1 and pred_units > 1)
    ):
        return SparseCategoricalAccuracy(name=str(name))
    return CategoricalAccuracy(name=str(name))


_CLASSES = {
    cls.__name__: cls
    for cls in (
        Mean,
        Accuracy,
        BinaryAccuracy,
        CategoricalAccuracy,
        SparseCategoricalAccuracy,
        TopKCategoricalAccuracy,
        SparseTopKCategoricalAccuracy,
        BinaryCrossentropy,
        CategoricalCrossentropy,
        SparseCategoricalCrossentropy,
        MeanSquaredError,
        MeanAbsoluteError,
        MeanAbsolutePercentageError,
        RootMeanSquaredError,
        Precision,
        Recall,
        AUC,
    )
}
_FUNCTIONS = {
    "accuracy": Accuracy,
    "binary_accuracy": BinaryAccuracy,
    "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
    "mean_absolute_percentage_error": MeanAbsolutePercentageError,
    "mape": MeanAbsolutePercentageError,
    "MAPE": MeanAbsolutePercentageError,
    "precision": Precision,
    "recall": Recall,
    "auc": AUC,
}


def get(identifier):
    """A metric object from a name, a ``serialize`` dict, a Metric (returned as is) or a function.

    A metric-function name ('categorical_accuracy') gives its metric class; a loss
    name ('mse', 'categorical_crossentropy') gives the running mean of that loss; a
    class name ('CategoricalAccuracy') gives the class with its default name.  The
    metric is named by the string given, as ``compile`` names History keys.
    'accuracy' here means exact equality (``Accuracy``): ``compile`` resolves
    'accuracy' with ``resolve_accuracy`` instead.
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        if identifier in _FUNCTIONS:
            return _FUNCTIONS[identifier](name=identifier)
        if identifier in _CLASSES:
            return _CLASSES[identifier]()
        loss_fn = losses.function_of(identifier)
        if loss_fn is not None:
            return MeanMetricWrapper(loss_fn, name=identifier)
    elif callable(identifier):
        return MeanMetricWrapper(identifier)
    raise ValueError(
        f"Could not interpret metric identifier: {identifier!r}. Expected a metric name such as "
        f"{sorted(_FUNCTIONS)}, a loss name, a Metric object, or a function."
    )


def serialize(metric):
    """A metric object in Keras 3's schema (``{'module', 'class_name', 'config', 'registered_name'}``)."""
    from .serialization import serialize_keras_object

    if not isinstance(metric, Metric):
        raise ValueError(f"metrics.serialize: cannot serialize {metric!r}; expected a Metric object.")
    return serialize_keras_object(metric)


def deserialize(config, custom_objects=None):
    """The metric object ``serialize`` described."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"metrics.deserialize: expected a dict with 'class_name' and 'config'; received {config!r}.")
    from .serialization import get_registered_object

    name = config["class_name"]
    cls = get_registered_object(config.get("registered_name") or name, custom_objects) or get_registered_object(
        name, custom_objects, _CLASSES
    )
    if cls is None:
        raise ValueError(
            f"metrics.deserialize: unknown metric {name!r}; known: {sorted(_CLASSES)}. If it is your own class, pass "
            "custom_objects or register it with @keras.saving.register_keras_serializable()."
        )
    from .serialization import keras_arguments

    return cls.from_config(keras_arguments(cls, dict(config.get("config") or {})))


serialization.note_builtin_functions("metric", globals())


serialization.note_builtin_namespace(__name__, globals())
