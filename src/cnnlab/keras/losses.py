"""Losses (``tf.keras.losses``): per-sample loss functions and Loss objects that reduce them.

The functions return one loss per sample (shape ``y_pred.shape[:-1]``, e.g.
``(batch,)``); the classes call them and reduce to a scalar, by default the mean
over the batch ('sum_over_batch_size').  Everything is built from cnnlab ops, so a
loss computed under a ``GradientTape`` is differentiable.

Probabilities are clipped to ``[1e-7, 1 - 1e-7]`` (Keras's epsilon) before the log.
When ``y_pred`` came out of a softmax (or sigmoid) activation, the activation leaves
its input on ``y_pred._keras_logits`` (and its name on ``y_pred._keras_activation``)
and the cross-entropy is computed from those logits with the stable ``tf.nn`` op, as
Keras on TensorFlow does.

    >>> y_true = [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    >>> y_pred = [[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]]
    >>> np.round(categorical_crossentropy(y_true, y_pred).numpy(), 4)
    array([0.0513, 2.3026], dtype=float32)
"""

import warnings

import numpy as np

from .. import nn
from ..ops.array_ops import reshape
from ..ops.math_ops import abs as tensor_abs
from ..ops.math_ops import cast, clip_by_value, log, square
from ..ops.reduction_ops import reduce_mean, reduce_sum
from ..tensor import Tensor, _to_array
from . import serialization

EPSILON = 1e-7  # Keras's backend.epsilon()


# ---- argument handling ------------------------------------------------------------------


def _prediction(y_pred, fn):
    """``y_pred`` as a floating tensor (a non-tensor becomes float32, as Keras's floatx)."""
    if isinstance(y_pred, Tensor):
        if y_pred.dtype.kind != "f":
            raise TypeError(f"{fn}: y_pred must be a floating-point tensor; received dtype={y_pred.dtype.name}.")
        return y_pred
    array = _to_array(y_pred, context=fn)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{fn}: y_pred must be numeric; received dtype={array.dtype}.")
    return Tensor(array.astype(np.float32) if array.dtype.kind != "f" else array)


def _target(y_true, y_pred, fn):
    """``y_true`` as a tensor of ``y_pred``'s dtype (differentiable if it was a float tensor)."""
    if isinstance(y_true, Tensor):
        return cast(y_true, y_pred.dtype)
    array = np.asarray(y_true)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{fn}: y_true must be numeric; received dtype={array.dtype}.")
    return Tensor(array.astype(y_pred.dtype))


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1=True):
    """Make two tensors' ranks equal when they differ by a trailing axis of size 1 (Keras's rule).

    The one with the extra size-1 last axis loses it; except that when the other
    is a rank-1 vector and ``expand_rank_1``, the vector gains a last axis instead.
    Other rank differences are left alone.  Returns ``(x1, x2)``.
    """
    rank1, rank2 = len(x1.shape), len(x2.shape)
    if rank1 == rank2 + 1 and x1.shape[-1] == 1:
        if rank2 == 1 and expand_rank_1:
            x2 = reshape(x2, tuple(x2.shape) + (1,))
        else:
            x1 = reshape(x1, tuple(x1.shape)[:-1])
    elif rank2 == rank1 + 1 and x2.shape[-1] == 1:
        if rank1 == 1 and expand_rank_1:
            x1 = reshape(x1, tuple(x1.shape) + (1,))
        else:
            x2 = reshape(x2, tuple(x2.shape)[:-1])
    return x1, x2


def _logits_behind(y_pred, from_logits, activation, axis, fn):
    """The logits to compute a cross-entropy from, or None for the probability path.

    With ``from_logits`` the logits are ``y_pred`` itself.  Otherwise they are the
    input of the activation that produced ``y_pred`` (``y_pred._keras_logits``), if
    that activation (``y_pred._keras_activation``) was ``activation``.
    """
    logits = y_pred._keras_logits if y_pred._keras_activation == activation else None
    if logits is not None and activation == "softmax" and axis not in (-1, y_pred.ndim - 1):
        logits = None  # the softmax normalized another axis than the loss's
    if from_logits:
        if logits is not None:
            warnings.warn(
                f"`{fn}` received `from_logits=True`, but the `y_pred` argument was produced by a {activation} "
                "activation and thus does not represent logits. Was this intended?",
                stacklevel=3,
            )
            return logits
        return y_pred
    return logits


def _shape_text(shape):
    return str(tuple(int(d) for d in shape))


# ---- label checks (shared by the loss functions and check_targets) -------------------------


def _check_one_hot_targets(fn, true_shape, pred_shape, sparse_alternative="loss='sparse_categorical_crossentropy'"):
    """Categorical losses (and metrics) need labels shaped like the predictions; explain integer labels."""
    true_shape, pred_shape = tuple(true_shape), tuple(pred_shape)
    if true_shape == pred_shape:
        return
    num_classes = pred_shape[-1] if pred_shape else None
    looks_sparse = len(true_shape) == len(pred_shape) - 1 or (
        len(true_shape) == len(pred_shape) and true_shape[-1:] == (1,) and num_classes != 1
    )
    if looks_sparse and true_shape[:1] == pred_shape[:1]:
        raise ValueError(
            f"{fn} expects one-hot labels of shape {_shape_text(pred_shape)} (the shape of y_pred); received labels "
            f"of shape {_shape_text(true_shape)}, which look like integer class ids. Use "
            f"{sparse_alternative}, or one-hot encode the labels with "
            f"tf.keras.utils.to_categorical(y, num_classes={num_classes})."
        )
    raise ValueError(
        f"{fn}: y_true and y_pred must have the same shape; received y_true.shape={_shape_text(true_shape)} "
        f"and y_pred.shape={_shape_text(pred_shape)}."
    )


def _class_ids(fn, y_true, pred_shape, dense_alternative="loss='categorical_crossentropy'"):
    """Sparse labels as an int64 array of shape ``pred_shape[:-1]``, each in ``[0, num_classes)``."""
    labels = y_true._value if isinstance(y_true, Tensor) else np.asarray(y_true)
    pred_shape = tuple(pred_shape)
    num_classes = pred_shape[-1]
    if labels.ndim == len(pred_shape) and labels.shape[-1] == 1:
        labels = labels.reshape(labels.shape[:-1])
    elif labels.ndim == len(pred_shape) and labels.shape == pred_shape:
        raise ValueError(
            f"{fn} expects integer class ids of shape {_shape_text(pred_shape[:-1])}; received labels of shape "
            f"{_shape_text(labels.shape)}, the shape of y_pred, which look one-hot. Use "
            f"{dense_alternative}, or turn them into class ids with np.argmax(y, axis=-1)."
        )
    if labels.shape != pred_shape[:-1]:
        raise ValueError(
            f"{fn}: labels must have shape {_shape_text(pred_shape[:-1])} (y_pred.shape without its last axis, "
            f"optionally with a trailing 1); received labels of shape {_shape_text(labels.shape)} for "
            f"y_pred.shape={_shape_text(pred_shape)}."
        )
    if labels.dtype.kind not in "iuf" or (labels.dtype.kind == "f" and not np.array_equal(labels, np.round(labels))):
        raise ValueError(
            f"{fn}: labels must be integer class ids; received values of dtype {labels.dtype} that are not whole numbers."
        )
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"{fn}: labels must be class ids in [0, {num_classes}) since y_pred has {num_classes} classes; "
            f"received labels with min={labels.min():g} and max={labels.max():g}."
        )
    return labels.astype(np.int64, copy=False)


def _check_same_shape(fn, y_true, y_pred):
    if tuple(y_true.shape) != tuple(y_pred.shape):
        raise ValueError(
            f"{fn}: y_true and y_pred must have the same shape (up to a trailing axis of size 1); received "
            f"y_true.shape={_shape_text(y_true.shape)} and y_pred.shape={_shape_text(y_pred.shape)}."
        )


# ---- loss functions --------------------------------------------------------------------------


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Cross-entropy between one-hot labels and predicted class probabilities (or logits).

    Args:
        y_true: one-hot (or soft) labels, the shape of ``y_pred``.
        y_pred: probabilities along ``axis`` (or logits with ``from_logits=True``).
        from_logits: whether ``y_pred`` holds logits.
        label_smoothing: in [0, 1]; labels become ``y * (1 - s) + s / num_classes``.
        axis: the class axis.

    Shape:
        result: ``y_pred.shape`` without ``axis``, e.g. ``(batch,)``.

    Probabilities are first renormalized to sum to 1 along ``axis``, then clipped
    to ``[1e-7, 1 - 1e-7]``.
    """
    fn = "categorical_crossentropy"
    y_pred = _prediction(y_pred, fn)
    y_true = _target(y_true, y_pred, fn)
    _check_one_hot_targets(fn, y_true.shape, y_pred.shape)
    if label_smoothing:
        num_classes = y_pred.shape[axis]
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / num_classes
    logits = _logits_behind(y_pred, from_logits, "softmax", axis, fn)
    if logits is not None:
        return nn.softmax_cross_entropy_with_logits(labels=y_true, logits=logits, axis=axis)
    probabilities = y_pred / reduce_sum(y_pred, axis=axis, keepdims=True)
    probabilities = clip_by_value(probabilities, EPSILON, 1.0 - EPSILON)
    return -reduce_sum(y_true * log(probabilities), axis=axis)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, axis=-1):
    """Cross-entropy between integer class ids and predicted class probabilities (or logits).

    Args:
        y_true: class ids in ``[0, num_classes)``, shape ``y_pred.shape[:-1]``
            (a trailing axis of size 1 is allowed).
        y_pred: probabilities over the last axis (or logits with ``from_logits=True``).
        from_logits: whether ``y_pred`` holds logits.
        axis: only -1 (the last axis) is supported, as in Keras.

    Shape:
        result: ``y_pred.shape[:-1]``, e.g. ``(batch,)``.
    """
    fn = "sparse_categorical_crossentropy"
    y_pred = _prediction(y_pred, fn)
    if axis not in (-1, y_pred.ndim - 1):
        raise ValueError(f"{fn}: only axis=-1 is currently supported. Received: axis={axis}")
    labels = _class_ids(fn, y_true, y_pred.shape)
    logits = _logits_behind(y_pred, from_logits, "softmax", -1, fn)
    if logits is None:
        # log of the clipped probabilities, renormalized by the softmax inside the op (as Keras does).
        logits = log(clip_by_value(y_pred, EPSILON, 1.0 - EPSILON))
    return nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Binary cross-entropy, averaged over ``axis``.

    Args:
        y_true: 0/1 (or soft) labels, the shape of ``y_pred`` up to a trailing axis of size 1.
        y_pred: probabilities (or logits with ``from_logits=True``).
        from_logits: whether ``y_pred`` holds logits.
        label_smoothing: in [0, 1]; labels become ``y * (1 - s) + s / 2``.
        axis: the axis averaged over.

    Shape:
        result: ``y_pred.shape`` without ``axis``, e.g. ``(batch,)`` for ``(batch, 1)``.
    """
    fn = "binary_crossentropy"
    y_pred = _prediction(y_pred, fn)
    y_true = _target(y_true, y_pred, fn)
    logits = _logits_behind(y_pred, from_logits, "sigmoid", axis, fn)
    y_true, matched_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    _check_same_shape(fn, y_true, matched_pred)
    if logits is not None and matched_pred is not y_pred:
        logits = reshape(logits, matched_pred.shape)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if logits is not None:
        elementwise = nn.sigmoid_cross_entropy_with_logits(labels=y_true, logits=logits)
    else:
        p = clip_by_value(matched_pred, EPSILON, 1.0 - EPSILON)
        elementwise = -(y_true * log(p) + (1.0 - y_true) * log(1.0 - p))
    return reduce_mean(elementwise, axis=axis)


def mean_squared_error(y_true, y_pred):
    """``mean(square(y_true - y_pred), axis=-1)``.

    Shape:
        y_true, y_pred: the same shape (up to a trailing axis of size 1); result:
        that shape without its last axis.
    """
    y_pred = _prediction(y_pred, "mean_squared_error")
    y_true, y_pred = squeeze_or_expand_to_same_rank(_target(y_true, y_pred, "mean_squared_error"), y_pred)
    _check_same_shape("mean_squared_error", y_true, y_pred)
    return reduce_mean(square(y_true - y_pred), axis=-1)


def mean_absolute_error(y_true, y_pred):
    """``mean(abs(y_true - y_pred), axis=-1)``; shapes as in ``mean_squared_error``."""
    y_pred = _prediction(y_pred, "mean_absolute_error")
    y_true, y_pred = squeeze_or_expand_to_same_rank(_target(y_true, y_pred, "mean_absolute_error"), y_pred)
    _check_same_shape("mean_absolute_error", y_true, y_pred)
    return reduce_mean(tensor_abs(y_true - y_pred), axis=-1)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error


# ---- Loss objects ------------------------------------------------------------------------------

_REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


class Loss:
    """Base class: ``__call__`` runs ``call(y_true, y_pred)`` and reduces the per-sample losses.

    Args:
        name: the loss's name.
        reduction: 'sum_over_batch_size' (default) and 'mean' divide the (weighted)
            sum by the number of per-sample losses; 'sum' sums;
            'mean_with_sample_weight' divides by the sum of the weights as given
            (a scalar weight is summed once, as in Keras);
            'none' / None return the (weighted) per-sample losses.

    The loss is computed in ``y_pred``'s dtype (float32 for a model's output; a
    float64 tensor stays float64).
    """

    def __init__(self, name=None, reduction="sum_over_batch_size"):
        if reduction not in _REDUCTIONS:
            raise ValueError(
                f"Invalid value for argument `reduction`. Expected one of {list(_REDUCTIONS)}. Received: reduction={reduction!r}"
            )
        self.name = name or type(self).__name__.lower()
        self.reduction = reduction

    def __call__(self, y_true, y_pred, sample_weight=None):
        """The reduced loss: by default a scalar tensor, the mean over the batch.

        Args:
            sample_weight: optional weights, one per sample (or broadcastable to the
                per-sample losses).
        """
        return _reduce(self.call(y_true, y_pred), sample_weight, self.reduction, self.name)

    def call(self, y_true, y_pred):
        raise NotImplementedError(f"Loss '{type(self).__name__}' must override `call(self, y_true, y_pred)`.")

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _reduce(values, sample_weight, reduction, name):
    if sample_weight is not None:
        weights = _target(sample_weight, values, name)
        values, weights = squeeze_or_expand_to_same_rank(values, weights)
        try:
            np.broadcast_shapes(tuple(weights.shape), tuple(values.shape))
        except ValueError:
            raise ValueError(
                f"{name}: sample_weight of shape {_shape_text(weights.shape)} does not match the per-sample losses "
                f"of shape {_shape_text(values.shape)}."
            ) from None
        values = values * weights
    if reduction in ("none", None) or values.ndim == 0 or values.shape == (0,):
        return values
    total = reduce_sum(values)
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        # As Keras: the sum of the weights as given, not broadcast (a scalar 2.0 divides by 2).
        weight_sum = float(np.sum(weights._value))
        return total / weight_sum if weight_sum else total * 0.0
    return total / values._value.size


class LossFunctionWrapper(Loss):
    """A Loss object around a per-sample loss function (what ``compile(loss='mse')`` builds).

    Args:
        fn: ``fn(y_true, y_pred, **kwargs)`` returning per-sample losses.
        reduction, name: as in ``Loss``; ``name`` defaults to the function's name.
        **kwargs: passed to ``fn`` on every call.

    Example:
        >>> loss = LossFunctionWrapper(mean_squared_error, name="mse")
        >>> float(loss([[1.0], [3.0]], [[2.0], [3.0]]))
        0.5
    """

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", None), reduction=reduction)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        fn_name = serialize(self.fn)
        return {**super().get_config(), "fn": fn_name, **self._fn_kwargs}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        return cls(get(config.pop("fn")), **config)


class _BuiltinLoss(LossFunctionWrapper):
    """A LossFunctionWrapper around a fixed function; its config is its own arguments."""

    def get_config(self):
        return {**Loss.get_config(self), **self._fn_kwargs}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class CategoricalCrossentropy(_BuiltinLoss):
    """``categorical_crossentropy`` reduced over the batch; see that function for the arguments.

    Example:
        >>> loss = CategoricalCrossentropy()
        >>> round(float(loss([[0.0, 1.0], [1.0, 0.0]], [[0.2, 0.8], [0.6, 0.4]])), 4)   # mean of -log 0.8, -log 0.6
        0.367
    """

    def __init__(
        self,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction="sum_over_batch_size",
        name="categorical_crossentropy",
    ):
        super().__init__(
            categorical_crossentropy,
            reduction=reduction,
            name=name,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
            axis=axis,
        )


class SparseCategoricalCrossentropy(_BuiltinLoss):
    """``sparse_categorical_crossentropy`` reduced over the batch; see that function for the arguments."""

    def __init__(
        self, from_logits=False, axis=-1, reduction="sum_over_batch_size", name="sparse_categorical_crossentropy"
    ):
        super().__init__(
            sparse_categorical_crossentropy, reduction=reduction, name=name, from_logits=from_logits, axis=axis
        )


class BinaryCrossentropy(_BuiltinLoss):
    """``binary_crossentropy`` reduced over the batch; see that function for the arguments."""

    def __init__(
        self,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction="sum_over_batch_size",
        name="binary_crossentropy",
    ):
        super().__init__(
            binary_crossentropy,
            reduction=reduction,
            name=name,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
            axis=axis,
        )


class MeanSquaredError(_BuiltinLoss):
    """``mean_squared_error`` reduced over the batch.

    Example:
        >>> float(MeanSquaredError()([[0.0, 1.0]], [[1.0, 1.0]]))
        0.5
    """

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_error"):
        super().__init__(mean_squared_error, reduction=reduction, name=name)


class MeanAbsoluteError(_BuiltinLoss):
    """``mean_absolute_error`` reduced over the batch."""

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_error"):
        super().__init__(mean_absolute_error, reduction=reduction, name=name)


# ---- lookup ---------------------------------------------------------------------------------------

_FUNCTIONS = {
    "categorical_crossentropy": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
    "binary_crossentropy": binary_crossentropy,
    "mean_squared_error": mean_squared_error,
    "mse": mean_squared_error,
    "MSE": mean_squared_error,
    "mean_absolute_error": mean_absolute_error,
    "mae": mean_absolute_error,
    "MAE": mean_absolute_error,
}
_CLASSES = {
    cls.__name__: cls
    for cls in (
        LossFunctionWrapper,
        CategoricalCrossentropy,
        SparseCategoricalCrossentropy,
        BinaryCrossentropy,
        MeanSquaredError,
        MeanAbsoluteError,
    )
}


def function_of(loss):
    """The built-in loss function behind ``loss`` (a name, function or Loss object), or None.

    Used to pick the right label checks and the meaning of metrics=['accuracy'].
    """
    if isinstance(loss, str):
        if loss not in _FUNCTIONS and (loss not in _CLASSES or loss == "LossFunctionWrapper"):
            return None
        loss = get(loss)
    if isinstance(loss, LossFunctionWrapper):
        loss = loss.fn
    return loss if loss in _FUNCTIONS.values() else None


def check_targets(loss, y_true, y_pred_shape):
    """Check a whole label array against the loss and the model's output shape, before training.

    Raises the same clear errors the loss would raise on the first batch (integer
    labels given to a categorical loss, one-hot labels to a sparse one, class ids
    out of range, mismatched shapes), but for all of ``y_true`` at once.  Losses
    that are not built in are not checked.

    Args:
        loss: a name, function or Loss object.
        y_true: all the labels (array-like), first axis the samples.
        y_pred_shape: the model's output shape; its first entry (the batch size,
            possibly None) is ignored.
    """
    fn = function_of(loss)
    labels = y_true._value if isinstance(y_true, Tensor) else np.asarray(y_true)
    pred_shape = (labels.shape[0] if labels.ndim else 1,) + tuple(int(d) for d in tuple(y_pred_shape)[1:])
    if fn is categorical_crossentropy:
        _check_one_hot_targets(fn.__name__, labels.shape, pred_shape)
    elif fn is sparse_categorical_crossentropy:
        _class_ids(fn.__name__, labels, pred_shape)
    elif fn is not None:
        placeholder = Tensor(np.zeros(pred_shape, dtype=np.float32))
        matched_true, matched_pred = squeeze_or_expand_to_same_rank(Tensor(labels), placeholder)
        _check_same_shape(fn.__name__, matched_true, matched_pred)


def serialize(loss):
    """A Loss object in Keras 3's schema (``{'module', 'class_name', 'config', 'registered_name'}``);
    a built-in function as its name."""
    from .serialization import serialize_keras_object

    if isinstance(loss, Loss):
        return serialize_keras_object(loss)
    for name, fn in _FUNCTIONS.items():
        if loss is fn:
            return name
    raise ValueError(
        f"losses.serialize: cannot serialize {loss!r}; expected a Loss object or a built-in loss function."
    )


def deserialize(config, custom_objects=None):
    """The loss ``serialize`` described (a name gives the function, a dict the Loss object)."""
    if isinstance(config, str):
        return get(config)
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            f"losses.deserialize: expected a loss name or a dict with 'class_name' and 'config'; received {config!r}."
        )
    from .serialization import get_registered_object

    name = config["class_name"]
    cls = get_registered_object(config.get("registered_name") or name, custom_objects) or get_registered_object(
        name, custom_objects, _CLASSES
    )
    if cls is None:
        raise ValueError(
            f"losses.deserialize: unknown loss {name!r}; known: {sorted(_CLASSES)}. If it is your own class, pass "
            "custom_objects or register it with @keras.saving.register_keras_serializable()."
        )
    from .serialization import keras_arguments

    return cls.from_config(keras_arguments(cls, dict(config.get("config") or {})))


def get(identifier):
    """A loss from a function name ('categorical_crossentropy', 'mse', ...: the function),
    a class name ('CategoricalCrossentropy': a new object), a ``serialize`` dict, a Loss
    object or a callable (returned as they are); None gives None.

    ``compile`` wraps a function in ``LossFunctionWrapper(fn, name=identifier)``.
    """
    if identifier is None or isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        if identifier in _FUNCTIONS:
            return _FUNCTIONS[identifier]
        if identifier in _CLASSES and identifier != "LossFunctionWrapper":
            return _CLASSES[identifier]()
    elif callable(identifier):
        return identifier
    raise ValueError(
        f"Could not interpret loss identifier: {identifier!r}. Expected one of "
        f"{sorted(set(_FUNCTIONS) | set(_CLASSES) - {'LossFunctionWrapper'})}, a Loss object, or a callable."
    )


serialization.note_builtin_functions("loss", globals())


serialization.note_builtin_namespace(__name__, globals())
