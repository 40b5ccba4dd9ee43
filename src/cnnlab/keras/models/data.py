"""Checking and converting what users pass to fit / evaluate / predict, with advice on what to change,
and cutting it into batches.

Arrays are checked once, whole, before the first batch: a mistake shows up as one
clear error instead of a failure deep inside a layer.  A ``tf.data.Dataset`` gives
its own batches (its elements); each is checked as it comes, and the first one is
read ahead to build the model and choose the metrics.
"""

import math
import numbers

import numpy as np

from ...data.dataset import Dataset
from ...tensor import Tensor


def _as_array(value, op, argument):
    if isinstance(value, Tensor):
        return value._value
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, (list, tuple)):
        array = np.asarray(value)
        if array.dtype != object:
            return array
    raise TypeError(
        f"{op}: {argument} must be a NumPy array or a cnnlab tensor (samples on the first axis); "
        f"received {type(value).__name__}."
    )


def input_array(model, x, op, argument="x"):
    """``x`` as an array of the model's dtype whose sample shape fits the model."""
    if x is None:
        raise ValueError(f"{op}: {argument} is required (the input samples).")
    array = _as_array(x, op, argument)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{op}: {argument} must hold numbers; received dtype={array.dtype}.")
    if array.ndim == 0 or array.shape[0] == 0:
        raise ValueError(f"{op}: {argument} must hold at least one sample (first axis); received shape {array.shape}.")
    check_input_shape(model, array.shape, op, argument)
    # One conversion for the whole run (uint8 images keep their values: scale them yourself).
    return array if array.dtype == model._dtype else array.astype(model._dtype)


def label_array(y, op, argument="y"):
    if y is None:
        raise ValueError(f"{op}: {argument} is required (the labels); use predict() to get outputs without labels.")
    array = _as_array(y, op, argument)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{op}: {argument} must hold numbers; received dtype={array.dtype}.")
    if array.ndim == 0:
        raise ValueError(f"{op}: {argument} must have samples on its first axis; received a scalar.")
    return array


def check_lengths(x, y, op, x_name="x", y_name="y"):
    if len(x) != len(y):
        raise ValueError(
            f"{op}: {x_name} and {y_name} must have the same number of samples; received {len(x)} samples in "
            f"{x_name} (shape {x.shape}) and {len(y)} in {y_name} (shape {y.shape})."
        )


def _fits(shape, expected):
    return len(shape) == len(expected) and all(e is None or e == s for s, e in zip(shape, expected))


def check_input_shape(model, shape, op, argument="x"):
    """Compare an input array's shape with the shape the model was built for, and explain a mismatch."""
    expected = model._build_input_shape
    if expected is None or _fits(tuple(shape[1:]), tuple(expected[1:])):
        return
    sample = tuple(expected[1:])
    received = tuple(shape[1:])
    message = (
        f"{op}: the model expects {argument} of shape {(None, *sample)} (samples of shape {sample}); "
        f"received {argument} of shape {tuple(shape)}."
    )
    if _fits(tuple(shape), sample):
        message += f" It looks like one sample: add the batch axis with {argument}[np.newaxis]."
    elif len(received) == len(sample) - 1 and sample[-1] == 1 and _fits(received, sample[:-1]):
        message += (
            f" The samples lack the channel axis: add it with {argument} = {argument}[..., np.newaxis] "
            f"(or np.expand_dims({argument}, -1)), giving shape {(shape[0], *received, 1)}."
        )
    elif len(received) == len(sample) + 1 and received[-1] == 1 and _fits(received[:-1], sample):
        message += f" Drop the extra last axis with {argument}[..., 0]."
    elif None not in sample and int(np.prod(received)) == int(np.prod(sample)):
        message += f" Each sample has the right number of values: reshape with {argument}.reshape((-1, *{sample}))."
    raise ValueError(message)


def batch_size_argument(batch_size, op):
    if batch_size is None:
        return 32
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
        raise ValueError(f"{op}: batch_size must be a positive integer; received batch_size={batch_size!r}.")
    return int(batch_size)


def split_validation(x, y, validation_split):
    """Keras's split: the LAST ``validation_split`` fraction, taken before any shuffling."""
    if not isinstance(validation_split, numbers.Real) or not 0 <= validation_split < 1:
        raise ValueError(
            f"fit: validation_split must be a number in [0, 1); received validation_split={validation_split!r}."
        )
    split_at = int(np.floor(len(x) * (1.0 - validation_split)))
    if split_at == 0 or split_at == len(x):
        raise ValueError(
            f"fit: validation_split={validation_split} leaves {'no training' if split_at == 0 else 'no validation'} "
            f"samples out of {len(x)}; use a larger data set or another fraction."
        )
    return (x[:split_at], y[:split_at]), (x[split_at:], y[split_at:])


def unpack_validation_data(model, validation_data):
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
        length = f" of length {len(validation_data)}" if isinstance(validation_data, (tuple, list)) else ""
        raise ValueError(
            f"fit: validation_data must be a tuple (x_val, y_val); received {type(validation_data).__name__}{length}."
        )
    x_val = input_array(model, validation_data[0], "fit", "x_val (validation_data[0])")
    y_val = label_array(validation_data[1], "fit", "y_val (validation_data[1])")
    check_lengths(x_val, y_val, "fit", "x_val", "y_val")
    return x_val, y_val


def check_labels(model, y, output_shape, op, argument="y"):
    """Check the labels against the loss and the model's output shape (one-hot vs integer ids, classes, shapes)."""
    from .. import losses

    try:
        losses.check_targets(model._loss_fn, y, output_shape)
    except ValueError as error:
        raise ValueError(
            f"{op}: the labels {argument} do not fit the loss {model._loss_name()!r} and the model's output "
            f"shape {tuple(output_shape)}: {error}"
        ) from None


# ---- batches ---------------------------------------------------------------------------------


def is_dataset(value):
    return isinstance(value, Dataset)


class ArrayBatches:
    """Arrays cut into batches of ``batch_size``, in a new random order each epoch when ``shuffle``."""

    def __init__(self, x, y, batch_size, shuffle=False):
        self.x, self.y, self.batch_size, self.shuffle = x, y, batch_size, shuffle
        self.steps = math.ceil(len(x) / batch_size)

    def epoch(self, generator=None):
        """The batches ``(x_batch, y_batch)`` of one pass (``y_batch`` None without labels)."""
        size = self.batch_size
        order = generator.permutation(len(self.x)) if self.shuffle else None
        for step in range(self.steps):
            if order is not None:
                batch = order[step * size : (step + 1) * size]
                yield np.take(self.x, batch, axis=0), None if self.y is None else np.take(self.y, batch, axis=0)
            else:
                part = slice(step * size, (step + 1) * size)
                yield self.x[part], None if self.y is None else self.y[part]


class DatasetBatches:
    """A dataset whose elements are the batches: ``(x, y)`` pairs, or ``x`` alone (or ``(x,)``) for predict.

    ``steps`` is the dataset's cardinality, or None while it is unknown (it is
    counted during the first pass).  Each pass runs the dataset's pipeline anew, so
    a ``shuffle`` in it reshuffles every epoch.
    """

    def __init__(self, model, dataset, op, labelled, argument="x"):
        self.model, self.dataset, self.op, self.labelled, self.argument = model, dataset, op, labelled, argument
        cardinality = int(dataset.cardinality())
        if cardinality == -1:
            raise ValueError(
                f"{op}: {argument} is an infinite dataset (a repeat() without a count?); "
                f"cnnlab's {op} runs whole passes "
                f"over the data: give it a finite dataset, e.g. {argument}.take(n)."
            )
        self.steps = cardinality if cardinality >= 0 else None

    def _split(self, element):
        if isinstance(element, dict) or not isinstance(element, (tuple, list)):
            x, y = element, None
        elif len(element) == 1:
            x, y = element[0], None
        elif len(element) == 2:
            x, y = element
        elif len(element) == 3:
            raise ValueError(
                f"{self.op}: the dataset {self.argument} yields (x, y, sample_weight); "
                "sample weights are not supported "
                "by cnnlab's trainer yet: yield (x, y)."
            )
        else:
            raise ValueError(
                f"{self.op}: a dataset must yield x, (x, y) or (x, y, sample_weight); received a {len(element)}-tuple."
            )
        if isinstance(x, dict):
            raise ValueError(
                f"{self.op}: the dataset {self.argument} yields a dict of inputs; cnnlab's models take one input array."
            )
        if self.labelled and y is None:
            raise ValueError(
                f"{self.op}: the dataset {self.argument} must yield (inputs, labels) pairs; "
                "received elements without labels."
            )
        return x, y

    def first(self):
        """The first batch ``(x, y)``, read ahead (to build the model and choose the metrics)."""
        for element in self.dataset.as_numpy_iterator():
            x, y = self._split(element)
            try:
                x = input_array(self.model, x, self.op, self.argument)
            except ValueError as error:
                raise ValueError(
                    f"{error} The elements of a dataset are whole batches: if {self.argument} yields single samples, "
                    f"batch it first ({self.argument}.batch(32))."
                ) from None
            return x, None if y is None else label_array(y, self.op)
        raise ValueError(f"{self.op}: the dataset {self.argument} is empty.")

    def epoch(self, generator=None):
        """The batches of one pass, checked and converted to the model's dtype."""
        count = 0
        for element in self.dataset.as_numpy_iterator():
            x, y = self._split(element)
            x = input_array(self.model, x, self.op, self.argument)
            if y is not None:
                y = label_array(y, self.op)
                check_lengths(x, y, self.op)
            count += 1
            yield x, y
        self.steps = count


def no_dataset_arguments(op, **arguments):
    """Refuse the array-only arguments Keras refuses with a dataset (labels given apart, a validation split)."""
    for name, value in arguments.items():
        if value is not None and not (isinstance(value, numbers.Number) and value == 0):
            raise ValueError(
                f"{op}: {name} cannot be used when x is a dataset: "
                "the dataset yields the (inputs, labels) batches itself; "
                f"received {name} of type {type(value).__name__}."
            )
