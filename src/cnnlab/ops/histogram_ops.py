"""Counting ops: ``tf.math.bincount`` and ``tf.math.confusion_matrix`` (integer inputs, no gradient)."""

import numpy as np

from .. import dtypes
from ..tensor import Tensor, as_tensor, is_integral_number


def _non_negative_ints(value, op, argument):
    array = as_tensor(value, op)._value
    if array.dtype.kind not in "iu":
        raise TypeError(f"{op}: {argument} must be integers; received dtype={array.dtype.name}.")
    if array.size and array.min() < 0:
        raise ValueError(f"{op}: {argument} must be non-negative; received a value {array.min()}.")
    return array


def bincount(
    arr, weights=None, minlength=None, maxlength=None, dtype=dtypes.int32, name=None, axis=None, binary_output=False
):
    """How many times each value ``0, 1, ...`` occurs in ``arr`` (or the sum of its ``weights``).

    Args:
        arr: non-negative integers.
        weights: same shape as ``arr``: each occurrence counts its weight.
        minlength, maxlength: bounds on the number of bins (values >= ``maxlength`` are dropped).
        dtype: of the counts when there are no weights (int32).
        axis: None (count over all of ``arr``) or -1 (one count per row of a 2-D ``arr``).
        binary_output: 1 where a value occurs at all, instead of the count.

    Example:
        >>> cnnlab.math.bincount([1, 1, 3]).numpy()
        array([0, 2, 0, 1], dtype=int32)
    """
    values = _non_negative_ints(arr, "bincount", "arr")
    if axis not in (None, -1, values.ndim - 1 if values.ndim == 2 else None):
        raise ValueError(f"bincount: axis must be None or -1; received axis={axis!r}.")
    weight = None if weights is None else as_tensor(weights, "bincount")._value
    if weight is not None and weight.shape != values.shape:
        raise ValueError(f"bincount: weights must have the shape of arr {values.shape}; received {weight.shape}.")
    for bound, argument in ((minlength, "minlength"), (maxlength, "maxlength")):
        if bound is not None and (not is_integral_number(bound) or bound < 0):
            raise ValueError(f"bincount: {argument} must be a non-negative integer; received {argument}={bound!r}.")
    length = int(values.max()) + 1 if values.size else 0
    length = max(length, minlength or 0)
    if maxlength is not None:
        length = min(length, maxlength)
    out_dtype = weight.dtype if weight is not None and not binary_output else dtypes.as_dtype(dtype)
    rows = values.reshape(-1, values.shape[-1]) if axis is not None and values.ndim == 2 else values.reshape(1, -1)
    row_weights = None if weight is None else weight.reshape(rows.shape)
    counts = np.zeros((len(rows), length), dtype=out_dtype)
    for i, row in enumerate(rows):
        keep = row < length
        counts[i] = np.bincount(row[keep], None if row_weights is None else row_weights[i][keep], minlength=length)[
            :length
        ]
    if binary_output:
        counts = (counts != 0).astype(out_dtype)
    return Tensor(counts if axis is not None and values.ndim == 2 else counts[0])


def confusion_matrix(labels, predictions, num_classes=None, weights=None, dtype=dtypes.int32, name=None):
    """``matrix[i, j]``: how many examples of class ``i`` were predicted as class ``j``.

    Example:
        >>> cnnlab.math.confusion_matrix([1, 2, 4], [2, 2, 4]).numpy()
        array([[0, 0, 0, 0, 0],
               [0, 0, 1, 0, 0],
               [0, 0, 1, 0, 0],
               [0, 0, 0, 0, 0],
               [0, 0, 0, 0, 1]], dtype=int32)
    """
    truth = _non_negative_ints(labels, "confusion_matrix", "labels").reshape(-1)
    guess = _non_negative_ints(predictions, "confusion_matrix", "predictions").reshape(-1)
    if truth.shape != guess.shape:
        raise ValueError(
            "confusion_matrix: labels and predictions must have the same number of elements; "
            f"received {truth.size} and {guess.size}."
        )
    if num_classes is None:
        num_classes = int(max(truth.max(initial=-1), guess.max(initial=-1))) + 1
    elif not is_integral_number(num_classes) or num_classes < 1:
        raise ValueError(
            f"confusion_matrix: num_classes must be a positive integer; received num_classes={num_classes!r}."
        )
    if truth.size and max(truth.max(), guess.max()) >= num_classes:
        raise ValueError(f"confusion_matrix: labels and predictions must be < num_classes={num_classes}.")
    matrix = np.zeros((num_classes, num_classes), dtype=dtypes.as_dtype(dtype))
    if weights is None:
        weight = np.ones(truth.size, dtype=matrix.dtype)
    else:
        weight = as_tensor(weights, "confusion_matrix")._value.reshape(-1)
    if weight.size != truth.size:
        raise ValueError(
            f"confusion_matrix: weights must have one value per label; received {weight.size} for {truth.size}."
        )
    np.add.at(matrix, (truth, guess), weight.astype(matrix.dtype))
    return Tensor(matrix)
