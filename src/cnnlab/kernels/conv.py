"""2-D convolution on NumPy arrays: the forward pass and its two gradients, one dispatcher each.

Layouts are TF's: images NHWC, filters HWIO; the window geometry comes from
``padding.geometry_2d``.  Most strategies are im2col and matrix products: each receptive
field is copied into one row of a matrix (``windows.im2col``), and one product with the
filters reshaped to (KH*KW*C, O) gives the output.  A 3x3 stride-1 conv with enough
channels runs by Winograd's minimal filtering instead (``winograd``: fewer multiplies).
Each dispatcher below lists its strategies; the constants of its rule are in
``runtime.tuning``.

Forward, ``conv2d`` (a bias rides along in the product as one more column of ones and
one more filter row; a ReLU and a 2x2 max pool may follow):

* ``winograd``: a 3x3 stride-1 conv in float32 or float64 where ``winograd_tile``'s cost
  model says the multiplies it saves outweigh its transforms: F(2x2, 3x3) or F(4x4, 3x3)
  (``winograd.conv2d``), keeping the transformed input tiles for the gradients.
* ``whole``: the whole im2col matrix, then one product (split over the threads by
  ``matmul``).  For few input channels the matrix is built one kernel tap at a time.
* ``by_chunks``: many input channels (more than ``TAP_MAJOR_MAX_CHANNELS``) and a
  product that ``matmul`` splits at whole images: each thread fills its part of the rows
  a chunk (``CHUNK_ROWS``) at a time and multiplies each chunk while it is in cache.
  Chunks of whole ``ROW_GROUP``s give every output the bits of ``whole``'s product.
* ``in_bands``: the im2col matrix would exceed ``WORKING_MEMORY_BYTES``: one band of
  output rows of one image at a time, its input rows padded into a small array; the
  threads take bands.  Bounded working memory, whatever the input.

  With a 2x2 max pool after it:

* ``pool_windows``: inference (no gradient) on few channels, stride 1: one product row
  per pooling window (``_conv_max_pool_by_windows``).
* otherwise, with an even output, the conv's rows are computed in the order of the
  pooling windows' quarters (``winograd``, ``whole`` or ``by_chunks``), so that the pool
  and its gradient are element-wise passes over contiguous blocks
  (``pool.max_pool_quarters``); else the conv runs, then ``pool.max_pool``.

Input gradient, ``conv2d_backprop_input`` (after a ``winograd`` forward, a training step's
``conv2d_gradients`` takes both gradients from ``winograd.backward`` instead):

* ``by_correlation``: stride 1, and at most ``CORRELATION_MAX_ZERO_FRACTION`` of the
  products would be with padding: ``dy`` correlated with the kernel turned by 180
  degrees (input and output channels swapped), through the forward's dispatcher (so by
  ``winograd`` where its rule says).
* ``by_col2im``: otherwise each window's share ``dy @ W.T``, added back onto the image
  with one strided slice per kernel tap (``windows.col2im``; 3x3 windows at stride 2 with
  no padding before, by the input's four parity phases, each written once).
* ``in_bands``: ``by_col2im``'s shares would exceed ``WORKING_MEMORY_BYTES``: a band of
  output rows at a time.

Filter gradient, ``conv2d_backprop_filter`` (``cols.T @ dy``, the bias's gradient from
the ones column):

* ``winograd``: the forward's transformed tiles (``winograd.TiledInput``), or tiles
  transformed afresh where ``winograd_tile`` picks Winograd: ``winograd.backward``.
* ``from_columns``: the forward's im2col matrix (kept by the forward when it fits the
  working memory), or one built afresh; one product.  With ``in_pieces``, a small
  gradient over many positions is summed in pieces of the positions on every thread
  (``matmul.matmul_in_pieces``), which rounds differently from one product.
* ``in_bands``: the im2col matrix would exceed ``WORKING_MEMORY_BYTES``: the product
  summed band by band.
"""

import functools
import math
from typing import NamedTuple

import numpy as np

from ..runtime import threads, tuning
from . import matmul as products
from . import padding, pool, winograd
from . import relu as relu_kernels
from .windows import (
    add_windows,
    col2im,
    columns_bytes,
    crop_spatial,
    im2col,
    pad_spatial,
    padded_shape,
    pixels,
    tap_slices,
    windows,
)


class ConvOutput(NamedTuple):
    """What ``conv2d`` computed.

    Attributes:
        out: the (N, OH, OW, O) output, or (N, OH/2, OW/2, O) after a 2x2 max pool.
        columns: what the filter gradient needs of the input, when asked for and within the
            working memory: the im2col matrix, or with the ``winograd`` strategy a
            ``winograd.TiledInput``; else None.
        argmax: the 2x2 pool's argmax (``pool.max_pool``'s), when asked for; else None.
        quarters: whether the conv's rows (of ``columns``, and of the gradient that
            ``pool_backward`` gives) are in the order of the pooling windows' quarters.
    """

    out: np.ndarray
    columns: np.ndarray | None
    argmax: np.ndarray | None
    quarters: bool


# ---- forward -------------------------------------------------------------------------------------


def conv2d(x, filters, geometry, bias=None, *, relu=False, max_pool=False, keep_columns=False, argmax=False, empty=np.empty):
    """The forward dispatcher: ``relu(conv2d(x, filters) + bias)``, then a 2x2 max pool (stride 2, 'VALID').

    Args:
        x: NHWC input; filters: HWIO; bias: (O,) or None.
        geometry: the conv's ``Geometry2D``.
        relu: apply a ReLU to the result (after the pool: they commute).
        max_pool: follow with a 2x2 max pool of stride 2 ('VALID').
        keep_columns: return what the filter gradient needs of the input (the im2col matrix,
            or Winograd's transformed tiles) when it fits ``tuning.WORKING_MEMORY_BYTES``.
        argmax: return the pool's argmax, for its gradient.
        empty: the allocator of the big arrays.

    Returns:
        A ``ConvOutput``.
    """
    (oh, ow), n, out_channels = geometry.out_shape, x.shape[0], filters.shape[3]
    if max_pool and not (keep_columns or argmax) and _pools_by_windows(x, geometry):
        return ConvOutput(_conv_max_pool_by_windows(x, filters, geometry, bias, relu, empty), None, None, False)
    even = oh > 0 and ow > 0 and oh % 2 == 0 and ow % 2 == 0
    tile = winograd_tile(x.shape, filters.shape, geometry, x.dtype)
    if tile:
        quarters = max_pool and even
        out = empty(((2, 2, n, oh // 2, ow // 2) if quarters else (n, oh, ow)) + (out_channels,), x.dtype)
        columns = winograd.conv2d(x, filters, geometry, tile, out, bias=bias, quarters=quarters, keep=keep_columns, empty=empty)
        return _pool_and_relu(out, columns, quarters, geometry, relu, max_pool, argmax, empty)
    fits = columns_bytes(x.shape, geometry, x.itemsize, bias is not None) <= tuning.WORKING_MEMORY_BYTES
    quarters = max_pool and fits and even
    weights = filters.reshape(-1, out_channels)
    if bias is not None:
        weights = np.concatenate([weights, bias.reshape(1, out_channels)])
    out = empty(((2, 2, n, oh // 2, ow // 2) if quarters else (n, oh, ow)) + (out_channels,), x.dtype)
    if not fits:
        columns = _in_bands(x, weights, geometry, out)
    elif x.shape[3] > tuning.TAP_MAJOR_MAX_CHANNELS and n and _by_chunks_fits(x, geometry, weights, quarters):
        columns = _by_chunks(x, geometry, weights, out, quarters, keep_columns, empty)
    else:
        columns = _whole(x, geometry, weights, out, quarters, empty)
    return _pool_and_relu(out, columns if keep_columns else None, quarters, geometry, relu, max_pool, argmax, empty)


def _pool_and_relu(out, columns, quarters, geometry, relu, max_pool, argmax, empty):
    """The dispatcher's last steps on the conv's output ``out``: the pool, the ReLU; the ``ConvOutput``."""
    pool_argmax = None
    if quarters:
        out, pool_argmax = pool.max_pool_quarters(out, argmax, empty)
    elif max_pool:
        pool_geometry = padding.geometry_2d(geometry.out_shape, (2, 2), (2, 2), (1, 1), "VALID", "max_pool2d")
        out, pool_argmax = pool.max_pool(out, pool_geometry, argmax, empty)
    if relu:
        relu_kernels.relu(out, out=out)
    return ConvOutput(out, columns, pool_argmax, quarters)


def winograd_tile(input_shape, filter_shape, geometry, dtype):
    """The ``winograd`` strategy's rule: the output tile size m of F(m x m, 3 x 3) to compute a conv
    with, or None for im2col.

    A 3x3 stride-1 conv in float32 or float64 (Winograd's rounding error grows too fast in
    lower precisions).  Of F(2x2, 3x3) and F(4x4, 3x3), the one with fewer transformed
    entries per output cell, ``t = (m+2)^2 * tiles / (OH * OW)`` (its tiles may hang over
    the output's edge), F(2x2) on a tie (it rounds better).  Per output cell, Winograd's
    products cost ``t * C * O`` multiply-adds against im2col's ``9 * C * O``, and its
    transforms about ``t * (C + O) * tuning.WINOGRAD_TRANSFORM_COST``, so it runs where

        C * O / (C + O) >= WINOGRAD_TRANSFORM_COST * t / (9 - t)

    (16 channels in and out on whole F(4x4) tiles, 24 on a 14x14 output, 27 on a 10x10
    one); and only within the working memory.
    """
    if dtype not in (np.float32, np.float64) or not winograd.applies(geometry, filter_shape):
        return None
    if 0 in input_shape or 0 in geometry.out_shape:
        return None
    (oh, ow), (c, o) = geometry.out_shape, filter_shape[2:]
    entries = {m: (m + 2) ** 2 * -(-oh // m) * -(-ow // m) / (oh * ow) for m in winograd.TILE_SIZES}
    m = min(winograd.TILE_SIZES, key=lambda size: (entries[size], size))
    if c * o * (9 - entries[m]) < tuning.WINOGRAD_TRANSFORM_COST * entries[m] * (c + o):
        return None
    itemsize = np.dtype(dtype).itemsize
    if winograd.tiled_input_bytes(input_shape, m, geometry.out_shape, itemsize) > tuning.WORKING_MEMORY_BYTES:
        return None
    return m


def pool_backward(d_pooled, forward, conv_shape, empty=np.empty):
    """The gradient with respect to the conv's output of a ``conv2d(..., max_pool=True)`` output,
    in the conv's row order (quarters or NHWC, as ``forward.quarters`` says)."""
    if forward.quarters:
        return pool.max_pool_quarters_backward(d_pooled, forward.argmax, empty)
    pool_geometry = padding.geometry_2d(conv_shape[1:3], (2, 2), (2, 2), (1, 1), "VALID", "max_pool2d")
    return pool.max_pool_backward(d_pooled, forward.argmax, tuple(conv_shape), pool_geometry, empty)


def nhwc(d_conv, forward, empty=np.empty):
    """A conv-output gradient in the conv's row order (see ``pool_backward``) as NHWC."""
    return pool.quarters_to_nhwc(d_conv, empty) if forward.quarters else d_conv


def _pools_by_windows(x, geometry):
    """Whether ``_conv_max_pool_by_windows`` computes the conv then 2x2 max pool of ``x`` (NHWC)
    with ``geometry``: stride 1, no dilation, few channels, an even output, finite inputs,
    and patches within the working memory.

    It sums over whole (KH+1, KW+1) patches, the kernel's zeros included, and ``0 * inf``
    is NaN: an infinite input takes the exact path instead.
    """
    (oh, ow), (kh, kw), (n, _, _, channels) = geometry.out_shape, geometry.kernel, x.shape
    patches_bytes = n * oh * ow // 4 * (kh + 1) * (kw + 1) * channels * x.itemsize
    return (
        0 < channels <= tuning.TAP_MAJOR_MAX_CHANNELS
        and geometry.strides == geometry.dilations == (1, 1)
        and oh > 0 and ow > 0 and oh % 2 == 0 and ow % 2 == 0
        and patches_bytes <= tuning.WORKING_MEMORY_BYTES
        and bool(np.isfinite(x).all())
    )  # fmt: skip


def _conv_max_pool_by_windows(x, filters, geometry, bias=None, relu=False, empty=np.empty):
    """The ``pool_windows`` strategy: ``max_pool(conv2d(x, filters) + bias, 2, 2, 'VALID')``,
    ReLU'd when ``relu``, with one product row per pooling window.

    The four conv outputs of a 2x2 pooling window see one (KH+1, KW+1, C) patch of the
    padded input, so one product of all the patches with the filters placed at the four
    cells' offsets (zeros elsewhere) gives the window's four cells at once.  For a
    1-channel 3x3 conv that is 16 values copied per window instead of im2col's 4 x 9, and
    a (4*O, 16) @ (16, windows) product instead of a thin (positions, 9) @ (9, O) one
    that BLAS runs slowly.  The cells come out channel-first, so the pool is three
    element-wise maxima over contiguous blocks; the bias is added after the pool (the max
    commutes with adding a constant, in floating point too, rounding being monotonic),
    then the ReLU, and the pooled values are turned back to NHWC.  The images go a group of
    about ``tuning.WINDOWS_PER_PRODUCT`` windows at a time, one product each, the threads
    taking groups: a product's columns round differently as their number changes, so the
    groups do not depend on the thread count.

    Returns the (N, OH/2, OW/2, O) pooled output, equal to the other strategies' up to rounding.
    """
    n, (oh, ow), out_channels = x.shape[0], geometry.out_shape, filters.shape[3]
    out = empty((n, oh // 2, ow // 2, out_channels), x.dtype)
    cells = _filters_at_window_cells(filters)
    group = max(1, tuning.WINDOWS_PER_PRODUCT // max(1, oh * ow // 4))

    def run(groups):
        for first in range(groups.start * group, min(groups.stop * group, n), group):
            images = slice(first, min(first + group, n))
            _pool_windows(x[images], cells, bias, relu, geometry, out[images], empty)

    threads.parallel_parts(run, -(-n // group), n * oh * ow * out_channels)
    return out


def _filters_at_window_cells(filters):
    """The (4*O, (KH+1)*(KW+1)*C) matrix whose rows ``(i, j, o)`` hold filter ``o`` placed at
    offset (i, j) of a (KH+1, KW+1, C) patch, zeros elsewhere."""
    kh, kw, c, out_channels = filters.shape
    cells = np.zeros(4 * out_channels * (kh + 1) * (kw + 1) * c, filters.dtype)
    targets, sources = _window_cell_places(filters.shape)
    cells[targets] = filters.reshape(-1)[sources]  # one gather, one scatter: it runs for every batch
    return cells.reshape(4 * out_channels, -1)


@functools.lru_cache(maxsize=16)
def _window_cell_places(filter_shape):
    """``(targets, sources)``: where in the flat cells matrix of ``_filters_at_window_cells``
    each of its 4 * KH * KW * C * O filter values goes, and where in the flat filters it is."""
    kh, kw, c, out_channels = filter_shape
    cells = np.full((2, 2, out_channels, kh + 1, kw + 1, c), -1, np.intp)
    by_output = np.arange(math.prod(filter_shape)).reshape(filter_shape).transpose(3, 0, 1, 2)
    for i in range(2):
        for j in range(2):
            cells[i, j, :, i : i + kh, j : j + kw] = by_output
    flat = cells.reshape(-1)
    targets = np.flatnonzero(flat >= 0)
    return targets, flat[targets]


def _pool_windows(x, cells, bias, relu, geometry, out, empty):
    """``_conv_max_pool_by_windows`` for the images ``x``, written into ``out``."""
    out_channels, positions = out.shape[3], out.size // out.shape[3]
    # The patches are im2col's fields for a (KH+1, KW+1) kernel with stride 2, tap-major.
    patches = im2col(x, _window_patches(geometry, x.shape[1:3]), empty=empty).T
    by_cell = products.matmul(cells, patches, out=empty((4 * out_channels, positions), x.dtype))
    # The maximum of the four cells, in three element-wise passes over contiguous blocks
    # (``np.maximum.reduce`` over the cells' axis gives the same values, strided and slower).
    top_left, top_right, bottom_left, bottom_right = by_cell.reshape(4, out_channels, positions)
    pooled = empty((out_channels, positions), x.dtype)
    np.maximum(top_left, top_right, out=pooled)
    np.maximum(pooled, bottom_left, out=pooled)
    np.maximum(pooled, bottom_right, out=pooled)
    if bias is not None:
        np.add(pooled, bias.reshape(-1, 1), out=pooled)
    if relu:
        relu_kernels.relu(pooled, out=pooled)
    np.copyto(out.reshape(positions, out_channels), pooled.T)


@functools.lru_cache(maxsize=64)
def _window_patches(geometry, input_hw):
    """The geometry of the (KH+1, KW+1) input patches under the 2x2 pooling windows of a
    stride-1 conv's output: the conv's padding, a kernel one bigger, stride 2."""
    (kh, kw), rows, cols = geometry.kernel, geometry.rows, geometry.cols
    pads = ((rows.pad_before, rows.pad_after), (cols.pad_before, cols.pad_after))
    return padding.geometry_2d(input_hw, (kh + 1, kw + 1), (2, 2), (1, 1), pads)


def _whole(x, geometry, weights, out, quarters, empty):
    """The ``whole`` strategy: one im2col matrix, one product into ``out``; returns the matrix."""
    ones_column = weights.shape[0] > math.prod(geometry.kernel) * x.shape[3]
    columns = im2col(x, geometry, ones_column=ones_column, empty=empty, by_pool_quarter=quarters)
    products.matmul(columns, weights, out=out.reshape(-1, weights.shape[1]))
    return columns


def _rows_per_image(out, n, quarters):
    """The rows of one image in one block of the product (a quarter's, with ``quarters``)."""
    return out.size // out.shape[-1] // n // (4 if quarters else 1)


def _by_chunks_fits(x, geometry, weights, quarters):
    """Whether ``matmul`` would split the product's rows at whole images (the ``by_chunks`` strategy's
    condition); a small product, which ``matmul`` runs in one piece, takes ``whole``."""
    (oh, ow), n = geometry.out_shape, x.shape[0]
    rows = n * oh * ow
    per_image = rows // n // (4 if quarters else 1)
    bounds = products.row_part_bounds(rows, weights.shape[0], weights.shape[1])
    return len(bounds) > 2 and per_image > 0 and all(bound % per_image == 0 for bound in bounds)


def _chunk_rows(per_image):
    """Rows per chunk: whole images and whole ``tuning.ROW_GROUP``s, about ``tuning.CHUNK_ROWS`` of them."""
    group = tuning.ROW_GROUP // math.gcd(per_image, tuning.ROW_GROUP) * per_image
    return group * max(1, tuning.CHUNK_ROWS // group)


def _by_chunks(x, geometry, weights, out, quarters, keep_columns, empty):
    """The ``by_chunks`` strategy: each thread fills its part of the im2col rows chunk by chunk,
    each chunk's product taken while its rows are still in cache.

    Written in one go, a big batch's im2col matrix (42 MB for 64 images of 26x26x32 and a
    3x3 kernel) is out of cache by the time the product reads it back.  The rows are cut
    where ``matmul`` would cut them (one part per thread), and each part into chunks of
    whole ``tuning.ROW_GROUP``s, so that every output has the bits of the one product it
    replaces.  Without ``keep_columns`` each part writes its chunks into one chunk-sized
    array instead of the whole matrix.  Returns the im2col matrix (None without ``keep_columns``).
    """
    n, _, _, c = x.shape
    kh, kw = geometry.kernel
    size, out_channels = kh * kw * c, weights.shape[1]
    rows, width = out.size // out_channels, weights.shape[0]
    per_image = _rows_per_image(out, n, quarters)
    chunk = _chunk_rows(per_image)
    fields = pixels(windows(pad_spatial(x, geometry, empty=empty), geometry, quarters))
    blocks = list(np.ndindex(fields.shape[:-5]))  # the four quarters (i, j), or one block: () -- each holds every image
    block_rows = n * per_image
    flat_out = out.reshape(rows, out_channels)
    columns = empty((rows, width), x.dtype) if keep_columns else None

    def fill(first, last, into):
        """Copy the fields of rows [first, last) (whole images, of one block or more) into ``into``."""
        into_fields = pixels(into[:, :size].reshape(last - first, kh, kw, c))
        at = 0
        for block in range(first // block_rows, -(-last // block_rows)):
            start = max(first, block * block_rows) - block * block_rows
            stop = min(last, (block + 1) * block_rows) - block * block_rows
            block_fields = fields[(*blocks[block], slice(start // per_image, stop // per_image))]
            np.copyto(into_fields[at : at + stop - start].reshape(block_fields.shape), block_fields)
            at += stop - start
        if width > size:
            into[:, size] = 1  # the bias's column of ones

    def part(part_rows):
        chunk_columns = None if keep_columns else empty((min(chunk, part_rows.stop - part_rows.start), width), x.dtype)
        for first in range(part_rows.start, part_rows.stop, chunk):
            last = min(first + chunk, part_rows.stop)
            into = columns[first:last] if keep_columns else chunk_columns[: last - first]
            fill(first, last, into)
            products.matmul_rows(into, weights, flat_out[first:last])

    products.by_row_parts(part, rows, width, out_channels)  # rows, as _by_chunks_fits checked
    return columns


def _bands(x_shape, geometry, width, itemsize):
    """``(image, first, last)`` for each band of output rows of the ``in_bands`` strategies: a band
    keeps its im2col rows and padded input rows within ``tuning.WORKING_MEMORY_BYTES`` divided by
    ``tuning.BAND_SHARES`` (so that that many threads at once stay within the working memory;
    the bands do not depend on the thread count, so neither do the values)."""
    n, _, w, c = x_shape
    (oh, ow), (sh, _), (kh, _), (dh, _) = geometry.out_shape, geometry.strides, geometry.kernel, geometry.dilations
    padded_width = geometry.cols.pad_before + w + geometry.cols.pad_after
    per_row = (ow * width + sh * padded_width * c) * itemsize  # one output row's im2col row and input rows
    share = tuning.WORKING_MEMORY_BYTES // tuning.BAND_SHARES
    rows = max(1, (share - (kh - 1) * dh * padded_width * c * itemsize) // per_row)
    return [(image, first, min(first + rows, oh)) for image in range(n) for first in range(0, oh, rows)]


def _band(geometry, first, last):
    """``(start, stop, band_geometry)``: the rows [start, stop) of the padded input that output rows
    [first, last) see, and the geometry of the windows over those rows alone (no padding)."""
    (sh, _), (kh, _), (dh, _) = geometry.strides, geometry.kernel, geometry.dilations
    band_geometry = padding.Geometry2D(
        padding.WindowGeometry(last - first, 0, 0),
        padding.WindowGeometry(geometry.cols.out, 0, 0),
        geometry.kernel,
        geometry.strides,
        geometry.dilations,
    )
    return first * sh, (last - 1) * sh + (kh - 1) * dh + 1, band_geometry


def _band_input(x, image, start, stop, geometry):
    """Rows [start, stop) of the padded ``x[image]``, as a (1, rows, padded width, C) array."""
    _, h, w, c = x.shape
    top, left, right = geometry.rows.pad_before, geometry.cols.pad_before, geometry.cols.pad_after
    band = np.zeros((1, stop - start, left + w + right, c), x.dtype)
    low, high = max(start - top, 0), min(stop - top, h)  # rows of the input
    if low < high:
        band[0, low + top - start : high + top - start, left : left + w] = x[image, low:high]
    return band


def _in_bands(x, weights, geometry, out):
    """The ``in_bands`` strategy: band after band of output rows, each its own im2col and product.
    Keeps no im2col matrix: returns None."""
    ones_column = weights.shape[0] > math.prod(geometry.kernel) * x.shape[3]
    bands = _bands(x.shape, geometry, weights.shape[0], x.itemsize)

    def run(part):
        for image, first, last in bands[part]:
            start, stop, band_geometry = _band(geometry, first, last)
            columns = im2col(_band_input(x, image, start, stop, geometry), band_geometry, ones_column=ones_column)
            products.matmul_rows(columns, weights, out[image, first:last].reshape(-1, weights.shape[1]))

    threads.parallel_parts(run, len(bands), elements=out.size * weights.shape[0])
    return None


# ---- input gradient ------------------------------------------------------------------------------


def conv2d_backprop_input(out_backprop, filters, input_shape, geometry, empty=np.empty):
    """The input-gradient dispatcher: dL/dx of ``conv2d(x, filters)`` for ``out_backprop`` = dL/dy.

    See the module docstring for the strategies: by correlation where stride 1 leaves few
    products with padding zeros, else each window's share added back (col2im), in bands
    beyond the working memory.
    """
    full = padding.full_correlation_geometry(geometry)
    (oh, ow), (h, w) = geometry.out_shape, input_shape[1:3]
    if full is not None and oh * ow >= (1 - tuning.CORRELATION_MAX_ZERO_FRACTION) * h * w:
        return backprop_input_by_correlation(out_backprop, filters, full, empty)
    kh, kw, c, _ = filters.shape
    shares_bytes = out_backprop.size // out_backprop.shape[3] * kh * kw * c * out_backprop.itemsize
    if shares_bytes <= tuning.WORKING_MEMORY_BYTES:
        return backprop_input_by_col2im(out_backprop, filters, input_shape, geometry, empty)
    return _backprop_input_in_bands(out_backprop, filters, input_shape, geometry)


def backprop_input_by_correlation(out_backprop, filters, full, empty=np.empty):
    """The ``by_correlation`` strategy: ``dy`` correlated with the turned kernel over ``full``, the
    geometry from ``padding.full_correlation_geometry``."""
    flipped = np.ascontiguousarray(filters[::-1, ::-1].transpose(0, 1, 3, 2))
    return conv2d(out_backprop, flipped, full, empty=empty).out


def backprop_input_by_col2im(out_backprop, filters, input_shape, geometry, empty=np.empty):
    """The ``by_col2im`` strategy: each window's share ``dy @ W.T``, summed back by col2im."""
    kh, kw, c, out_channels = filters.shape
    n, oh, ow, _ = out_backprop.shape
    dy, transposed = out_backprop.reshape(-1, out_channels), filters.reshape(-1, out_channels).T
    field_grads = products.matmul(dy, transposed, out=empty((n * oh * ow, kh * kw * c), out_backprop.dtype))
    return col2im(field_grads.reshape(n, oh, ow, kh, kw, c), input_shape, geometry, empty)


def _backprop_input_in_bands(out_backprop, filters, input_shape, geometry):
    """The ``in_bands`` strategy: a band of output rows' shares at a time, added onto the padded
    input's rows that band sees (one band after another: neighbouring bands share rows)."""
    kh, kw, c, out_channels = filters.shape
    transposed = filters.reshape(-1, out_channels).T
    padded = np.zeros(padded_shape(input_shape, geometry), out_backprop.dtype)
    for image, first, last in _bands(input_shape, geometry, kh * kw * c, out_backprop.itemsize):
        start, stop, band_geometry = _band(geometry, first, last)
        dy = np.ascontiguousarray(out_backprop[image, first:last]).reshape(-1, out_channels)
        shares = products.matmul(dy, transposed).reshape(1, last - first, -1, kh, kw, c)
        band = np.empty((1, stop - start, *padded.shape[2:]), padded.dtype)
        add_windows(band, shares, list(tap_slices(band_geometry)), kw)
        padded[image, start:stop] += band[0]
    return crop_spatial(padded, geometry, input_shape)


# ---- both gradients ------------------------------------------------------------------------------


def conv2d_gradients(x, out_backprop, filters, geometry, forward, *, need_input, need_filters, with_bias=False, empty=np.empty):
    """A training step's gradients of ``conv2d``: ``(dL/dx, dL/dfilters, dL/dbias)``, None for those not needed.

    Args:
        x: the forward's input (not read when ``forward.columns`` holds what the filter
            gradient needs); out_backprop: dL/dy in the forward's row order (see
            ``conv2d_backprop_filter``); filters: HWIO; geometry: the conv's.
        forward: the forward's ``ConvOutput``.
        need_input, need_filters, with_bias: which gradients to compute.

    Where the forward ran by Winograd, both come from one transform of ``dy``'s tiles
    (``winograd.backward``); otherwise each from its own dispatcher.
    """
    if isinstance(forward.columns, winograd.TiledInput) and need_input:
        return winograd.backward(
            forward.columns, out_backprop, filters, geometry, x.shape,
            need_filters=need_filters, with_bias=with_bias and need_filters, empty=empty,
        )  # fmt: skip
    dw = db = dx = None
    if need_filters:
        dw, db = conv2d_backprop_filter(x, out_backprop, filters.shape, geometry, columns=forward.columns, with_bias=with_bias)
    if need_input:
        dx = conv2d_backprop_input(nhwc(out_backprop, forward, empty), filters, x.shape, geometry, empty)
    return dx, dw, db


# ---- filter gradient -----------------------------------------------------------------------------


def conv2d_backprop_filter(x, out_backprop, filter_shape, geometry, *, columns=None, with_bias=False, in_pieces=False):
    """The filter-gradient dispatcher: ``(dL/dfilters, dL/dbias)`` of ``conv2d(x, filters) (+ bias)``.

    Args:
        x: the forward's NHWC input (not read when ``columns`` is given).
        out_backprop: dL/dy, in the row order of ``columns`` (the pool quarters' order when
            the forward computed its rows in that order).
        filter_shape: HWIO.
        geometry: the conv's ``Geometry2D``.
        columns: the forward's im2col matrix (``ConvOutput.columns``), or None.
        with_bias: also return the bias's gradient (else None).
        in_pieces: sum a small gradient over many positions in pieces on every thread
            (``matmul.matmul_in_pieces``: another rounding than one product).

    Returns:
        ``(filter_grad, bias_grad)``.
    """
    if columns is None:
        tile = winograd_tile(x.shape, filter_shape, geometry, x.dtype)
        if tile:
            columns = winograd.transform_input(x, geometry, tile)
    if isinstance(columns, winograd.TiledInput):
        filters = np.zeros(filter_shape, out_backprop.dtype)  # not read without the input's gradient
        return winograd.backward(columns, out_backprop, filters, geometry, x.shape, need_input=False, with_bias=with_bias)[1:]
    size = math.prod(filter_shape[:3])
    dy = out_backprop.reshape(-1, filter_shape[3])
    if columns is None:
        if columns_bytes(x.shape, geometry, x.itemsize, with_bias) > tuning.WORKING_MEMORY_BYTES:
            grads = _backprop_filter_in_bands(x, out_backprop, geometry, with_bias)
            return grads[:size].reshape(filter_shape), grads[size] if with_bias else None
        columns = im2col(x, geometry, ones_column=with_bias)
    if in_pieces and max(columns.shape[1], dy.shape[1]) < tuning.SPLIT_MIN_OUTPUT:
        grads = products.matmul_in_pieces(columns.T, dy)
    else:  # the rows are the filter taps: more of them than output channels, to split over the threads
        grads = products.matmul(columns.T, dy)
    return grads[:size].reshape(filter_shape), grads[size] if columns.shape[1] > size else None


def _backprop_filter_in_bands(x, out_backprop, geometry, with_bias):
    """The ``in_bands`` strategy: the bands' products summed in order, a fixed group of bands per
    sum, the groups shared out over the threads, then the groups' sums added in order: the same
    values whatever the thread count.  At most ``tuning.BAND_SHARES`` groups, and no more than
    the working memory holds sums of."""
    kh, kw = geometry.kernel
    width, out_channels = kh * kw * x.shape[3] + with_bias, out_backprop.shape[3]
    dtype = np.result_type(x, out_backprop)
    bands = _bands(x.shape, geometry, width, x.itemsize)
    fitting = tuning.WORKING_MEMORY_BYTES // (width * out_channels * dtype.itemsize)
    groups = threads.split(len(bands), max(1, min(tuning.BAND_SHARES, len(bands), fitting)))
    sums = np.zeros((len(groups), width, out_channels), dtype)

    def run(part):
        for index in range(part.start, part.stop):
            for image, first, last in bands[groups[index]]:
                start, stop, band_geometry = _band(geometry, first, last)
                columns = im2col(_band_input(x, image, start, stop, geometry), band_geometry, ones_column=with_bias)
                dy = np.ascontiguousarray(out_backprop[image, first:last]).reshape(-1, out_channels)
                sums[index] += products.matmul_rows(columns.T, dy, None)

    threads.parallel_parts(run, len(groups), elements=out_backprop.size * width)
    total = sums[0]
    for group_sum in sums[1:]:
        total += group_sum
    return total
