"""Elementwise binary ops where one side is a per-channel vector, a row at a time.

``x + b`` with ``x`` of shape (N, H, W, C) and ``b`` of shape (C,) (a bias, a
batch-norm scale) makes NumPy walk the short channel axis once per pixel, restarting
its inner loop every C values.  Seen as rows of whole trailing axes, such as
(N, H * W * C), against ``b`` repeated H * W times, the same op runs over long
contiguous rows, split over cnnlab's threads for big arrays (``runtime.threads``).
The longer the row, the less NumPy's loop restarts; the tiled vector stays in cache.

Two big arrays of one shape (a gradient summed over the two paths of a residual block)
are split over the threads too, for the ops that give the same bits however they are cut.
"""

import numpy as np

from ..runtime import threads, tuning
from ..runtime.tuning import BROADCAST_ROW_VALUES as ROW_VALUES

# Ufuncs each of whose values is one correctly rounded operation on two inputs: cut anywhere,
# they give the same bits.  (``np.power`` and the like may round a SIMD loop's lanes and its
# scalar tail differently, so where an array is cut would matter.)
SPLIT_ANYWHERE = frozenset((np.add, np.subtract, np.multiply, np.true_divide, np.maximum, np.minimum))


def apply(numpy_fn, a, b):
    """``numpy_fn(a, b)`` (a NumPy binary ufunc, broadcasting as NumPy does)."""
    if _is_channel_vector_for(b, a):
        rows, vector = _rows_and_tiled_vector(a, b)
        return _by_rows(numpy_fn, rows, vector, vector_first=False).reshape(a.shape)
    if _is_channel_vector_for(a, b):
        rows, vector = _rows_and_tiled_vector(b, a)
        return _by_rows(numpy_fn, rows, vector, vector_first=True).reshape(b.shape)
    if _are_big_twins(a, b) and numpy_fn in SPLIT_ANYWHERE:
        return _by_parts(numpy_fn, a, b)
    return numpy_fn(a, b)


def _are_big_twins(a, b):
    """Whether ``a`` and ``b`` are float arrays of one shape and dtype, C-contiguous, big enough to split."""
    return (
        isinstance(a, np.ndarray)
        and isinstance(b, np.ndarray)
        and a.shape == b.shape
        and a.dtype == b.dtype
        and a.dtype.kind == "f"
        and a.size >= tuning.MIN_ELEMENTS
        and a.flags.c_contiguous
        and b.flags.c_contiguous
    )


def _by_parts(numpy_fn, a, b):
    """``numpy_fn(a, b)`` for two arrays of one shape, their flat values split over the cores."""
    out = np.empty(a.shape, a.dtype)
    flat_a, flat_b, flat_out = a.reshape(-1), b.reshape(-1), out.reshape(-1)
    threads.parallel_parts(lambda part: numpy_fn(flat_a[part], flat_b[part], out=flat_out[part]), a.size, a.size)
    return out


def _by_rows(numpy_fn, rows, vector, vector_first):
    """``numpy_fn`` of each row and the vector, the rows split over the cores."""
    in_dtypes = (vector.dtype, rows.dtype) if vector_first else (rows.dtype, vector.dtype)
    out = np.empty(rows.shape, numpy_fn.resolve_dtypes((*in_dtypes, None))[-1])  # bool for a comparison

    def rows_part(part):
        operands = (vector, rows[part]) if vector_first else (rows[part], vector)
        numpy_fn(*operands, out=out[part])

    threads.parallel_parts(rows_part, len(rows), rows.size)
    return out


def _is_channel_vector_for(vector, array):
    """Whether ``vector`` varies along the last axis only of a contiguous, non-empty ``array`` of rank >= 3."""
    if array.ndim < 3 or array.size == 0 or not array.flags.c_contiguous or vector.dtype != array.dtype:
        return False
    return 1 <= vector.ndim <= array.ndim and vector.shape[-1] == vector.size == array.shape[-1]


def channel_rows(array):
    """``(rows, tile)``: a contiguous ``array`` (of rank >= 2) as rows of whole trailing axes
    and the number of channel vectors in a row.

    A row spans the most trailing axes (never the first) whose values number at most
    ``ROW_VALUES``, and at least the last axis: for (N, H, W, C), H * W * C values when
    they fit, else W * C, else C.  The channel vector tiled to a row stays in cache.
    """
    channels = row = array.shape[-1]
    for size in reversed(array.shape[1:-1]):
        if size == 0 or row * size > ROW_VALUES:
            break
        row *= size
    return array.reshape(-1, row), row // channels if channels else 1


def _rows_and_tiled_vector(array, vector):
    rows, tile = channel_rows(array)
    return rows, np.tile(vector.reshape(array.shape[-1]), tile)
