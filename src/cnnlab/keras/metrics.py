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

from ..tensor import Tensor, constant
from . import losses
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

    Args:
        name: the name (the History key when used in ``compile``).
        dtype: the dtype of ``result()``; float32 by default.
    """

    def __init__(self, name=None, dtype=None):
        self.name = name or type(self).__name__.lower()
        self.dtype = np.dtype("float32" if dtype is None else dtype)
        self.reset_state()

    def update_state(self, *args, **kwargs):
        raise NotImplementedError(f"Metric '{type(self).__name__}' must override `update_state()`.")

    def result(self):
        raise NotImplementedError(f"Metric '{type(self).__name__}' must override `result()`.")

    def reset_state(self):
        raise NotImplementedError(f"Metric '{type(self).__name__}' must override `reset_state()`.")

    def reset_states(self):
        """TF 2's name for ``reset_state``."""
        self.reset_state()

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
    )
}
_FUNCTIONS = {
    "accuracy": Accuracy,
    "binary_accuracy": BinaryAccuracy,
    "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
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
    return cls.from_config(dict(config.get("config", {})))
