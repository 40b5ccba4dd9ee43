"""Batch normalization's training passes over channels-last arrays, with the ReLU and the residual sum after it.

A training step of ``relu(batch_norm(x) + residual)`` needs, at the least, one pass over
``x`` for the statistics and one writing the output; its gradient one pass for the sums
of the gated gradient and one writing ``dx``.  Each pass here is that one pass: the
array is cut into blocks of whole rows (``tuning.NORMALIZE_BLOCK_BYTES``), and each
block goes through all of a pass's steps while it is in cache, the threads taking
blocks as they come free (``threads.parallel_chunks``).  The blocks do not depend on the thread count, and the per-block sums are
combined in block order, so neither do the values.

The statistics take one pass: the sums of ``x - K`` and of its squares, ``K`` each
channel's mean over the batch's first example.  Shifted so near the mean, the variance
``E[(x - K)^2] - E[x - K]^2`` loses no precision to cancellation (as ``E[x^2] - E[x]^2``
would on data far from zero), unless the first example's mean lies many standard
deviations from the batch's.  Sums of products run as ``einsum`` and products with a
row of ones, which need no temporary array.

Arrays are C-contiguous with the channels last; a per-channel vector is applied to
rows of whole trailing axes (``broadcast.channel_rows``), so that every step runs over
long contiguous runs.
"""

import math

import numpy as np

from ..runtime import threads, tuning
from .broadcast import channel_rows


def _blocks(rows):
    """``(rows per block, number of blocks)`` for a (rows, row length) view of an array: blocks of at
    most about ``tuning.NORMALIZE_BLOCK_BYTES``, of nearly equal size, their number a multiple of
    ``tuning.MIN_CHUNKS`` where there are rows enough (threads take whole blocks: two or four
    threads then take as many each)."""
    count = len(rows)
    by_bytes = max(1, tuning.NORMALIZE_BLOCK_BYTES // (rows.shape[1] * rows.itemsize))
    per_block = max(1, -(-count // threads.balanced_chunk_count(count, by_bytes)))
    return per_block, -(-count // per_block)


def _column_sums(block):
    """The sums of the columns of a 2-D block (a product with a row of ones: one read, no temporary)."""
    return np.matmul(np.ones(len(block), block.dtype), block)


def _fold(row_sums, channels, into):
    """Per-channel sums of rows of sums that hold ``tile`` channel vectors each, (k, tile * C) to
    (k, C), written into ``into`` (a product with ones: NumPy's sum over the tile axis would walk the
    short channel axis once per tile)."""
    tiles = row_sums.reshape(len(row_sums), -1, channels)
    np.matmul(np.ones(tiles.shape[1], row_sums.dtype), tiles, out=into)


def statistics(x):
    """``(mean, variance)`` of each channel (the last axis) of ``x`` over all other axes, in ``x``'s dtype
    (the biased variance, as batch normalization uses)."""
    channels = x.shape[-1]
    rows, tile = channel_rows(x)
    first = x.reshape(len(x), -1, channels)[0]
    shift = (_column_sums(first) / x.dtype.type(len(first))).astype(x.dtype)
    shift_row = np.tile(shift, tile)
    per_block, count = _blocks(rows)
    sums = np.empty((count, 2, channels), x.dtype)

    def part(indices):
        block_sums = np.empty((2, rows.shape[1]), x.dtype)
        shifted = np.empty((min(per_block, len(rows)), rows.shape[1]), x.dtype)
        ones = np.ones(len(shifted), x.dtype)
        for index in indices:
            block = rows[index * per_block : (index + 1) * per_block]
            work = np.subtract(block, shift_row, out=shifted[: len(block)])
            np.matmul(ones[: len(block)], work, out=block_sums[0])
            np.einsum("ij,ij->j", work, work, out=block_sums[1])
            _fold(block_sums, channels, sums[index])

    threads.parallel_chunks(part, count, rows.size)
    total = sums.sum(axis=0, dtype=np.float64)  # the blocks in order
    size = x.size // channels
    mean_shifted, mean_squares = total[0] / size, total[1] / size
    variance = np.maximum(mean_squares - mean_shifted * mean_shifted, 0)
    return (shift + mean_shifted).astype(x.dtype), variance.astype(x.dtype)


def normalize(x, scale, shift, out, *, residual=None, relu=False):
    """Writes ``x * scale + shift (+ residual)``, ReLU'd when ``relu``, into ``out`` and returns it.

    Args:
        x: a C-contiguous array, channels last; scale, shift: (channels,) vectors.
        out: a C-contiguous array of ``x``'s shape and dtype (it may be ``x``).
        residual: None, or an array of ``x``'s shape added before the ReLU.
    """
    rows, tile = channel_rows(x)
    out_rows = out.reshape(rows.shape)
    residual_rows = None if residual is None else np.ascontiguousarray(residual).reshape(rows.shape)
    scale_row, shift_row = np.tile(scale, tile), np.tile(shift, tile)
    zeros = np.zeros(rows.shape[1], x.dtype) if relu else None
    per_block, count = _blocks(rows)

    def part(indices):
        for index in indices:
            block = slice(index * per_block, (index + 1) * per_block)
            target = out_rows[block]
            np.multiply(rows[block], scale_row, out=target)
            target += shift_row
            if residual_rows is not None:
                target += residual_rows[block]
            if relu:
                np.maximum(target, zeros, out=target)

    threads.parallel_chunks(part, count, rows.size)
    return out


def backward_sums(dy, x, mean, inverse_std, *, relu_out=None, gated=None):
    """The first pass of the gradient: ``(sum of g, sum of g * x_hat)`` per channel, with
    ``x_hat = (x - mean) * inverse_std`` and ``g`` the gradient before the ReLU: ``dy`` where
    ``relu_out > 0``, else 0, written into ``gated`` (an array of ``x``'s shape) when
    ``relu_out`` is given; ``dy`` itself otherwise.
    """
    channels = x.shape[-1]
    rows, tile = channel_rows(x)
    dy_rows = dy.reshape(rows.shape)
    out_rows = None if relu_out is None else relu_out.reshape(rows.shape)
    gated_rows = None if relu_out is None else gated.reshape(rows.shape)
    mean_row = np.tile(mean, tile)
    per_block, count = _blocks(rows)
    sums = np.empty((count, 2, channels), x.dtype)

    def part(indices):
        block_sums = np.empty((2, rows.shape[1]), x.dtype)
        centred = np.empty((min(per_block, len(rows)), rows.shape[1]), x.dtype)
        positive = None if out_rows is None else np.empty(centred.shape, np.bool_)
        ones = np.ones(len(centred), x.dtype)
        for index in indices:
            block = slice(index * per_block, (index + 1) * per_block)
            g = dy_rows[block]
            size = len(g)
            if out_rows is not None:
                g = np.multiply(g, np.greater(out_rows[block], 0, out=positive[:size]), out=gated_rows[block])
            work = np.subtract(rows[block], mean_row, out=centred[:size])
            np.matmul(ones[:size], g, out=block_sums[0])
            np.einsum("ij,ij->j", g, work, out=block_sums[1])
            _fold(block_sums, channels, sums[index])

    threads.parallel_chunks(part, count, 3 * rows.size)
    total = sums.sum(axis=0, dtype=np.float64)  # the blocks in order
    return total[0].astype(x.dtype), (total[1] * inverse_std).astype(x.dtype)


def input_gradient(g, x, g_scale, x_scale, offset, out):
    """The second pass of the gradient: writes ``g * g_scale + x * x_scale + offset`` (per-channel
    vectors) into ``out`` (which may be ``g``) and returns it."""
    rows, tile = channel_rows(x)
    g_rows, out_rows = g.reshape(rows.shape), out.reshape(rows.shape)
    g_row, x_row, offset_row = np.tile(g_scale, tile), np.tile(x_scale, tile), np.tile(offset, tile)
    per_block, count = _blocks(rows)

    def part(indices):
        scaled = np.empty((min(per_block, len(rows)), rows.shape[1]), x.dtype)
        for index in indices:
            block = slice(index * per_block, (index + 1) * per_block)
            target = out_rows[block]
            work = np.multiply(rows[block], x_row, out=scaled[: len(target)])
            work += offset_row
            np.multiply(g_rows[block], g_row, out=target)
            target += work

    threads.parallel_chunks(part, count, 2 * rows.size)
    return out


def gradient_coefficients(sum_g, sum_g_x_hat, mean, inverse_std, gamma, count):
    """``(g_scale, x_scale, offset)`` of ``input_gradient`` for batch normalization over ``count``
    values per channel::

        dx = gamma * inverse_std * (g - mean(g) - x_hat * mean(g * x_hat))

    written as ``g * g_scale + x * x_scale + offset`` with ``x_hat = (x - mean) * inverse_std``.
    """
    scale = inverse_std if gamma is None else gamma * inverse_std
    mean_g, mean_g_x_hat = sum_g / count, sum_g_x_hat / count
    x_scale = -scale * inverse_std * mean_g_x_hat
    offset = scale * (mean * inverse_std * mean_g_x_hat - mean_g)
    return scale, x_scale, offset


def count_per_channel(shape):
    """How many values each channel of an array of ``shape`` (channels last) has."""
    return math.prod(shape[:-1])
