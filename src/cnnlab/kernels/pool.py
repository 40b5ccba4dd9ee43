"""Max and average pooling on NumPy arrays (NHWC), forward and backward.

Each function loops over the KH*KW window taps, never over pixels: for a tap,
the strided slice of the (padded) input it sees at every output position is one
array operation.  Padding comes from ``padding.geometry_2d``; padded cells are
-inf for max pooling (never chosen) and are not counted by average pooling,
which divides by the number of real cells in each window, as TF does.

Max pooling sends each output's gradient to the first maximum of its window in
row-major (top-left first) order, as TF's CPU kernel and PyTorch do on ties.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .conv import crop_spatial, pad_spatial, tap_slices


def max_pool(x, geometry, with_argmax=False):
    """The maximum of each window: ``(out, argmax)``.

    ``argmax`` (only when asked for, else None) holds for every output the index
    ``i * KW + j`` of the window tap ``(i, j)`` where the first maximum sits.
    """
    padded = pad_spatial(x, geometry, value=-np.inf)
    taps = list(tap_slices(geometry))
    out = padded[:, taps[0][0], taps[0][1], :].copy()
    for rows, cols in taps[1:]:
        np.maximum(out, padded[:, rows, cols, :], out=out)
    if not with_argmax:
        return out, None
    argmax = np.zeros(out.shape, dtype=np.min_scalar_type(len(taps) - 1))
    # Walk the taps backwards so that, on ties, the first maximum is written last.
    for tap in range(len(taps) - 1, -1, -1):
        rows, cols = taps[tap]
        np.copyto(argmax, tap, where=padded[:, rows, cols, :] == out)
    return out, argmax


def max_pool_backward(out_backprop, argmax, input_shape, geometry):
    """Route each output's gradient to its window's argmax cell (summing where windows overlap)."""
    padded = pad_spatial(np.zeros(input_shape, dtype=out_backprop.dtype), geometry)
    overlapping = any(s < k for s, k in zip(geometry.strides, geometry.kernel))
    for tap, (rows, cols) in enumerate(tap_slices(geometry)):
        if overlapping:
            padded[:, rows, cols, :] += out_backprop * (argmax == tap)
        else:  # each input cell is in at most one window: write in place, no temporary
            np.multiply(out_backprop, argmax == tap, out=padded[:, rows, cols, :])
    return crop_spatial(padded, geometry, input_shape)


def max_pool_gather(input_grad, argmax, geometry):
    """The adjoint of ``max_pool_backward``: for each output, the value of ``input_grad`` at its argmax cell."""
    padded = pad_spatial(input_grad, geometry)
    out = np.zeros(argmax.shape, dtype=input_grad.dtype)
    for tap, (rows, cols) in enumerate(tap_slices(geometry)):
        np.copyto(out, padded[:, rows, cols, :], where=argmax == tap)
    return out


def _real_cell_counts(input_hw, geometry):
    """How many real (not padded) input cells each window covers: an (OH, OW, 1) array."""
    counts = []
    for size, (out, before, after), kernel, stride in zip(input_hw, (geometry.rows, geometry.cols), geometry.kernel, geometry.strides):
        real = np.zeros(before + size + after, dtype=np.int64)
        real[before : before + size] = 1
        counts.append(sliding_window_view(real, kernel)[::stride][:out].sum(axis=1))
    return np.multiply.outer(*counts)[:, :, None]


def avg_pool(x, geometry):
    """The mean of the real cells of each window."""
    padded = pad_spatial(x, geometry)
    total = None
    for rows, cols in tap_slices(geometry):
        seen = padded[:, rows, cols, :]
        if total is None:
            total = seen.copy()
        else:
            total += seen
    return total / _real_cell_counts(x.shape[1:3], geometry).astype(x.dtype)


def avg_pool_backward(out_backprop, input_shape, geometry):
    """The adjoint of ``avg_pool``: each output's gradient shared equally by its window's real cells."""
    share = out_backprop / _real_cell_counts(input_shape[1:3], geometry).astype(out_backprop.dtype)
    padded = pad_spatial(np.zeros(input_shape, dtype=out_backprop.dtype), geometry)
    for rows, cols in tap_slices(geometry):
        padded[:, rows, cols, :] += share
    return crop_spatial(padded, geometry, input_shape)
