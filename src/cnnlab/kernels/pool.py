"""Max and average pooling on NumPy arrays (NHWC), forward and backward.

Padding comes from ``padding.geometry_2d``; padded cells are -inf for max pooling (never
chosen) and are not counted by average pooling, which divides by the number of real
cells in each window, as TF does.  Max pooling sends each output's gradient to the first
maximum of its window in row-major (top-left first) order, as TF's CPU kernel and
PyTorch do on ties.  A pool's working memory is that of its input and output: no
strategy needs more.

Max pooling's dispatcher, ``max_pool`` (and ``max_pool_backward``, which follows the
same rule):

* ``tiles_2x2``: 2x2 windows with stride 2 tiling an unpadded even-sized input (Keras's
  default ``MaxPooling2D()``).  With few channels the window taps' slices are short
  strided runs that NumPy walks slowly: the forward first copies the even and odd
  columns apart and works on contiguous runs (``_max_pool_2x2``), and the backward
  writes every input cell once, with no zero fill.  The batch is split over the threads.
* ``by_taps``: any geometry: for each of the KH*KW window taps, the strided slice of the
  (padded) input it sees at every output position is one array operation.

A conv whose output is computed in the quarters of its 2x2 pooling windows
(``conv.conv2d(..., max_pool=True)``) is pooled by ``max_pool_quarters``: element-wise
passes over four contiguous blocks.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..runtime import threads
from .windows import crop_spatial, pad_spatial, padded_shape, pixels, tap_slices


def max_pool(x, geometry, with_argmax=False, empty=np.empty):
    """The max-pool dispatcher: the maximum of each window, ``(out, argmax)``.

    ``argmax`` (only when asked for, else None) holds for every output the index
    ``i * KW + j`` of the window tap ``(i, j)`` where the first maximum sits.
    ``empty`` is the allocator of the big arrays.
    """
    if not tiles_in_2x2(x.shape, geometry):
        return max_pool_by_taps(x, geometry, with_argmax)
    x = np.ascontiguousarray(x)
    n, h, w, c = x.shape
    out = empty((n, h // 2, w // 2, c), x.dtype)
    argmax = empty(out.shape, np.uint8) if with_argmax else None
    threads.parallel_parts(
        lambda images: _max_pool_2x2(x[images], out[images], None if argmax is None else argmax[images], empty), n, x.size
    )
    return out, argmax


def tiles_in_2x2(input_shape, geometry):
    """The dispatchers' rule: whether the windows are 2x2 with stride 2 and tile the whole
    (unpadded, even-sized) input, of at least one channel (the 2x2 kernels move whole pixels)."""
    _, h, w, c = input_shape
    return geometry.kernel == (2, 2) and geometry.strides == (2, 2) and h % 2 == w % 2 == 0 and not geometry.is_padded and c > 0


def _max_pool_2x2(x, out, argmax, empty):
    """Write ``max_pool``'s ``out`` (and ``argmax`` unless None) for 2x2 windows with stride 2
    tiling a contiguous even-sized ``x``.

    The even and odd columns are first copied apart, a whole pixel at a time, into two
    contiguous arrays: every pass after that is a plain element-wise one over half the
    input or less, and ``out`` and ``argmax`` are written in place, in NHWC order.  (A
    window's top and bottom rows are then whole rows apart: contiguous runs again.)
    """
    n, h, w, c = x.shape
    oh, ow = h // 2, w // 2
    by_column = pixels(x).reshape(n, h, ow, 2)  # [..., j]: column j of every window, a pixel at a time
    left, right = empty((n, h, ow, c), x.dtype), empty((n, h, ow, c), x.dtype)
    np.copyto(pixels(left), by_column[..., 0])
    np.copyto(pixels(right), by_column[..., 1])
    row_max = np.maximum(left, right, out=empty(left.shape, x.dtype)).reshape(n * oh, 2, ow * c)  # [:, i]: row i
    np.maximum(row_max[:, 0], row_max[:, 1], out=out.reshape(n * oh, ow * c))
    if argmax is None:
        return
    # Ties go to the left of a pair, then to the top row: the first maximum in row-major order.
    right_won = np.greater(right, left, out=empty(left.shape, np.bool_)).reshape(n * oh, 2, ow * c)
    bottom_won = np.greater(row_max[:, 1], row_max[:, 0], out=empty((n * oh, ow * c), np.bool_))
    # The winning row's column bit (bool operators: np.where on bools is much slower).
    column = (bottom_won & right_won[:, 1]) | (~bottom_won & right_won[:, 0])
    taps = np.multiply(bottom_won.view(np.uint8), 2, out=argmax.reshape(n * oh, ow * c))
    taps += column.view(np.uint8)  # the tap index i * 2 + j


def max_pool_by_taps(x, geometry, with_argmax=False):
    """``max_pool`` for any geometry, one strided slice per window tap."""
    # Padded cells must never win: -inf, or the lowest value of an integer dtype.
    lowest = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
    padded = pad_spatial(x, geometry, value=lowest)
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


def max_pool_backward(out_backprop, argmax, input_shape, geometry, empty=np.empty):
    """The max-pool gradient's dispatcher (``max_pool``'s rule): each output's gradient routed to
    its window's argmax cell, summed where windows overlap."""
    if not tiles_in_2x2(input_shape, geometry):
        return max_pool_backward_by_taps(out_backprop, argmax, input_shape, geometry, empty)
    # Every input cell is in exactly one window: no padding, no zero fill, one write per cell.
    input_grad = empty(input_shape, out_backprop.dtype)
    n, oh, ow, c = out_backprop.shape
    cells = pixels(input_grad.reshape(n, oh, 2, ow, 2, c))  # cells[:, :, i, :, j]: the window taps (i, j)

    def route_part(part):
        # Each tap's share is computed contiguously, then moved into place a pixel at a time.
        share = np.empty(out_backprop[part].shape, out_backprop.dtype)
        for tap in range(4):
            np.multiply(out_backprop[part], argmax[part] == tap, out=share)
            np.copyto(cells[part, :, tap // 2, :, tap % 2], pixels(share))

    threads.parallel_parts(route_part, n, input_grad.size)
    return input_grad


def max_pool_backward_by_taps(out_backprop, argmax, input_shape, geometry, empty=np.empty):
    """``max_pool_backward`` for any geometry, one strided slice per window tap."""
    padded = empty(padded_shape(input_shape, geometry), out_backprop.dtype)
    padded.fill(0)
    overlapping = any(s < k for s, k in zip(geometry.strides, geometry.kernel))
    for tap, (rows, cols) in enumerate(tap_slices(geometry)):
        if overlapping:
            padded[:, rows, cols, :] += out_backprop * (argmax == tap)
        else:  # each input cell is in at most one window: write in place, no temporary
            np.multiply(out_backprop, argmax == tap, out=padded[:, rows, cols, :])
    return crop_spatial(padded, geometry, input_shape, empty)


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
    padded = np.zeros(padded_shape(input_shape, geometry), dtype=out_backprop.dtype)
    for rows, cols in tap_slices(geometry):
        padded[:, rows, cols, :] += share
    return crop_spatial(padded, geometry, input_shape)


def max_pool_quarters(quarters, with_argmax=False, empty=np.empty):
    """2x2 max pooling of an output computed as the quarters of its pooling windows.

    Args:
        quarters: (2, 2, N, OH, OW, C), cell ``(i, j)`` of every window under ``[i, j]``
            (``conv.conv2d(..., max_pool=True)`` computes them so).

    Returns:
        ``(out, argmax)`` as ``max_pool`` gives them for the assembled (N, 2*OH, 2*OW, C)
        input.  Each quarter is contiguous, so every pass here is a plain element-wise
        one over a quarter of the input.
    """
    out = empty(quarters.shape[2:], quarters.dtype)
    top, bottom = empty(out.shape, out.dtype), empty(out.shape, out.dtype)
    argmax = empty(out.shape, np.uint8) if with_argmax else None
    bottom_taps = empty(out.shape, np.uint8) if with_argmax else None
    bottom_won = empty(out.shape, np.bool_) if with_argmax else None
    (top_left, top_right), (bottom_left, bottom_right) = quarters

    def pool_part(part):
        np.maximum(top_left[part], top_right[part], out=top[part])
        np.maximum(bottom_left[part], bottom_right[part], out=bottom[part])
        np.maximum(top[part], bottom[part], out=out[part])
        if argmax is None:
            return
        # Ties go to the left of a pair, then to the top row: the first maximum in row-major order.
        # uint8 arithmetic picks the row's tap (a masked copy, np.copyto(where=), is far slower).
        taps, shift = argmax[part], bottom_taps[part]
        np.greater(top_right[part], top_left[part], out=taps.view(np.bool_))  # the top row's tap: 0 or 1
        np.greater(bottom_right[part], bottom_left[part], out=shift.view(np.bool_))
        shift += 2  # the bottom row's tap: 2 or 3
        shift -= taps  # from the top row's tap to the bottom row's
        shift *= np.greater(bottom[part], top[part], out=bottom_won[part]).view(np.uint8)
        taps += shift

    threads.parallel_parts(pool_part, len(out), quarters.size)
    return out, argmax


def max_pool_quarters_backward(out_backprop, argmax, empty=np.empty):
    """The gradient of ``max_pool_quarters`` with respect to its quarters: (2, 2, N, OH, OW, C)."""
    quarters = empty((2, 2, *out_backprop.shape), out_backprop.dtype)

    def route_part(part):
        for tap in range(4):
            np.multiply(out_backprop[part], argmax[part] == tap, out=quarters[tap // 2, tap % 2, part])

    threads.parallel_parts(route_part, len(out_backprop), quarters.size)
    return quarters


def quarters_to_nhwc(quarters, empty=np.empty):
    """The (N, 2*OH, 2*OW, C) array whose 2x2 window quarters are ``quarters`` (2, 2, N, OH, OW, C)."""
    _, _, n, oh, ow, c = quarters.shape
    image = empty((n, 2 * oh, 2 * ow, c), quarters.dtype)
    by_quarter = pixels(image.reshape(n, oh, 2, ow, 2, c)).transpose(2, 4, 0, 1, 3)
    source = pixels(np.ascontiguousarray(quarters))
    threads.parallel_parts(lambda part: np.copyto(by_quarter[:, :, part], source[:, :, part]), n, image.size)
    return image
