"""Elementwise binary ops where one side is a per-channel vector, a row at a time.

``x + b`` with ``x`` of shape (N, H, W, C) and ``b`` of shape (C,) (a bias, a
batch-norm scale) makes NumPy walk the short channel axis once per pixel, about
3x slower than a plain elementwise op.  Seen as rows of the whole next-to-last
axis, (N * H, W * C), against ``b`` repeated W times, the same op runs over long
contiguous rows, split over the cores for big arrays (see ``threads``).
"""

import numpy as np

from . import threads


def apply(numpy_fn, a, b):
    """``numpy_fn(a, b)`` (a NumPy binary ufunc, broadcasting as NumPy does)."""
    if _is_channel_vector_for(b, a):
        rows, vector = _rows_and_tiled_vector(a, b)
        return _by_rows(numpy_fn, rows, vector, vector_first=False).reshape(a.shape)
    if _is_channel_vector_for(a, b):
        rows, vector = _rows_and_tiled_vector(b, a)
        return _by_rows(numpy_fn, rows, vector, vector_first=True).reshape(b.shape)
    return numpy_fn(a, b)


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
    """Whether ``vector`` varies along the last axis only of a contiguous ``array`` of rank >= 3."""
    if array.ndim < 3 or not array.flags.c_contiguous or vector.dtype != array.dtype:
        return False
    return 1 <= vector.ndim <= array.ndim and vector.shape[-1] == vector.size == array.shape[-1]


def channel_rows(array):
    """``(rows, tile)``: a contiguous ``array`` as rows of whole next-to-last axes (W * C
    values, or C for a 2-D array) and the number W of channel vectors in a row."""
    if array.ndim < 3:
        return array.reshape(-1, array.shape[-1]), 1
    return array.reshape(-1, array.shape[-2] * array.shape[-1]), array.shape[-2]


def _rows_and_tiled_vector(array, vector):
    rows, tile = channel_rows(array)
    return rows, np.tile(vector.reshape(array.shape[-1]), tile)
