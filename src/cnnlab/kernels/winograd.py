"""Winograd minimal filtering for 3x3 stride-1 convolutions (Lavin & Gray, 2016): fewer multiplies.

A 3x3 conv computes each m x m tile of its output from an (m+2) x (m+2) tile of its
padded input.  Winograd's F(m x m, 3 x 3) computes that tile as

    Y = AT [ (G g G^T) (.) (BT d B) ] A

per (input channel, output channel) pair, summed over the input channels: ``d`` the
input tile, ``g`` the 3x3 filter, ``(.)`` the element-wise product, ``AT``, ``G``, ``BT``
small constant matrices.  The transformed filters ``U = G g G^T`` and tiles
``V = BT d B`` have (m+2)^2 entries each, and the sum over the input channels of their
element-wise product is (m+2)^2 independent matrix products (tiles x C) @ (C x O): for
an m x m tile that is (m+2)^2 multiplies per channel pair instead of im2col's 9 m^2,
2.25 times fewer for F(2x2, 3x3), 4 times fewer for F(4x4, 3x3).  The transforms are
additions and small multiples, done here as products with the small matrices along one
tile axis at a time.  Their rounding grows with m: F(4x4, 3x3) is some ten times less
exact than im2col in float32 (the tests state each strategy's error against float64).

The work goes a chunk of images at a time (``tuning.WINOGRAD_CHUNK_BYTES``), each thread
taking whole chunks, so that a chunk's tiles stay in cache from one stage to the next.
The chunks do not depend on the thread count, so neither do the values.

The gradients are the adjoints of the same computation:

* filter: ``dU = V^T dM`` for each of the (m+2)^2 entries, over every tile of the batch
  (one product each, shared out over the threads), with ``dM = A dY AT`` the output
  gradient's tiles transformed, then ``dg = G^T dU G``.  The forward keeps ``V``
  (``TiledInput``) for it, as im2col keeps its matrix;
* input: the conv dispatcher's correlation with the turned kernel, itself a 3x3
  stride-1 conv that this module computes (see ``conv.conv2d_backprop_input``).

Layouts: images NHWC, filters HWIO, as everywhere in ``kernels``.  A conv followed by a
2x2 max pool may be asked for its output in the pooling windows' quarters
(``conv.conv2d``'s ``quarters``): each tile then writes its cells straight into them.
"""

import functools
from fractions import Fraction
from typing import NamedTuple

import numpy as np

from ..runtime import threads, tuning
from .windows import pixels

# Lavin & Gray's matrices (interpolation points 0, 1, -1 for F(2x2, 3x3); 0, 1, -1, 2, -2
# for F(4x4, 3x3)), exact.
_MATRICES = {
    2: {
        "BT": [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]],
        "G": [[1, 0, 0], [Fraction(1, 2)] * 3, [Fraction(1, 2), Fraction(-1, 2), Fraction(1, 2)], [0, 0, 1]],
        "AT": [[1, 1, 1, 0], [0, 1, -1, -1]],
    },
    4: {
        "BT": [
            [4, 0, -5, 0, 1, 0],
            [0, -4, -4, 1, 1, 0],
            [0, 4, -4, -1, 1, 0],
            [0, -2, -1, 2, 1, 0],
            [0, 2, -1, -2, 1, 0],
            [0, 4, 0, -5, 0, 1],
        ],
        "G": [
            [Fraction(1, 4), 0, 0],
            [-Fraction(1, 6), -Fraction(1, 6), -Fraction(1, 6)],
            [-Fraction(1, 6), Fraction(1, 6), -Fraction(1, 6)],
            [Fraction(1, 24), Fraction(1, 12), Fraction(1, 6)],
            [Fraction(1, 24), -Fraction(1, 12), Fraction(1, 6)],
            [0, 0, 1],
        ],
        "AT": [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]],
    },
}

# The sizes m of output tile this module computes, F(m x m, 3 x 3).
TILE_SIZES = tuple(_MATRICES)


class Matrices(NamedTuple):
    """The transforms of F(m x m, 3 x 3) in one dtype: ``BT`` (a, a), ``G`` (a, 3), ``AT`` (m, a),
    ``B`` and ``A`` their transposes (contiguous), with a = m + 2."""

    m: int
    BT: np.ndarray
    B: np.ndarray
    G: np.ndarray
    GT: np.ndarray
    AT: np.ndarray
    A: np.ndarray


@functools.lru_cache(maxsize=None)
def matrices(m, dtype):
    """``Matrices`` of F(m x m, 3 x 3) in ``dtype`` (a NumPy dtype)."""

    def array(rows):
        values = np.array([[float(value) for value in row] for row in rows], dtype)
        values.flags.writeable = False
        return values

    def transposed(rows):
        return array([list(column) for column in zip(*rows)])

    table = _MATRICES[m]
    return Matrices(
        m,
        array(table["BT"]),
        transposed(table["BT"]),
        array(table["G"]),
        transposed(table["G"]),
        array(table["AT"]),
        transposed(table["AT"]),
    )


def applies(geometry, filter_shape):
    """Whether a conv of ``geometry`` with filters of ``filter_shape`` (HWIO) is one this module
    computes: a 3x3 kernel, stride 1, no dilation."""
    return filter_shape[:2] == (3, 3) and geometry.strides == (1, 1) and geometry.dilations == (1, 1)


class Tiling(NamedTuple):
    """How F(m x m, 3 x 3) covers a conv's output: ``rows`` x ``cols`` tiles of m x m per image
    (the last ones may reach past the output, over zeros)."""

    m: int
    rows: int
    cols: int

    @property
    def per_image(self):
        return self.rows * self.cols


def tiling(m, out_shape):
    """The ``Tiling`` of an (OH, OW) output by m x m tiles."""
    return Tiling(m, -(-out_shape[0] // m), -(-out_shape[1] // m))


class TiledInput(NamedTuple):
    """The forward's transformed input tiles, kept for the filter gradient (``conv.ConvOutput.columns``).

    Attributes:
        tiles: (a*a, N * tiles per image, C), entry by entry of the transformed tiles.
        tiling: their ``Tiling``.
        quarters: whether the output (and so the gradient the backward pass gets) is in
            the 2x2 pooling windows' quarters.
    """

    tiles: np.ndarray
    tiling: Tiling
    quarters: bool


def tiled_input_bytes(input_shape, m, out_shape, itemsize):
    """The size in bytes of a ``TiledInput``'s tiles for an input of ``input_shape`` (NHWC)."""
    tiles = tiling(m, out_shape)
    return (m + 2) ** 2 * input_shape[0] * tiles.per_image * input_shape[3] * itemsize


def chunk_images(m, tiles, channels, itemsize):
    """Images per chunk: about ``tuning.WINOGRAD_CHUNK_BYTES`` of transformed tiles of ``channels``
    (the larger of the input's and the output's), at least one image."""
    per_image = (m + 2) ** 2 * tiles.per_image * channels * itemsize
    return max(1, tuning.WINOGRAD_CHUNK_BYTES // per_image)


# ---- the three transforms ------------------------------------------------------------------------


def transform_filters(filters, m):
    """``U = G g G^T`` for every (input, output) channel pair: (a*a, C, O) from HWIO (3, 3, C, O)."""
    mats = matrices(m, filters.dtype)
    _, _, c, o = filters.shape
    a = m + 2
    by_rows = np.matmul(mats.G, filters.reshape(3, 3 * c * o)).reshape(a, 3, c * o)
    return np.matmul(mats.G, by_rows).reshape(a * a, c, o)


def filter_gradient(d_transformed, m):
    """The adjoint of ``transform_filters``: ``G^T dU G``, HWIO (3, 3, C, O) from (a*a, C, O)."""
    mats = matrices(m, d_transformed.dtype)
    a, (_, c, o) = m + 2, d_transformed.shape
    by_rows = np.matmul(mats.GT, d_transformed.reshape(a, a * c * o)).reshape(3, a, c * o)
    return np.matmul(mats.GT, by_rows).reshape(3, 3, c, o)


def _input_tiles(padded, tiles, into):
    """``into`` (a, a, n, rows, cols, C): every (a x a) tile of ``padded`` (n, rows*m + 2, cols*m + 2, C),
    tile (r, s) starting at row r*m, column s*m (the tiles overlap by two rows and columns)."""
    m, a = tiles.m, tiles.m + 2
    n, _, _, c = padded.shape
    step_n, step_h, step_w, step_c = padded.strides
    view = np.lib.stride_tricks.as_strided(
        padded, (a, a, n, tiles.rows, tiles.cols, c), (step_h, step_w, step_n, m * step_h, m * step_w, step_c), writeable=False
    )
    np.copyto(pixels(into), pixels(view))


def _transform_both_axes(matrix, tiles, first, into):
    """``matrix`` (p, q) applied along both tile axes of ``tiles`` (q, q, rest): ``into`` (p, p, rest)
    = matrix . tiles . matrix^T, through ``first`` (p, q, rest), all C-contiguous."""
    p, q = matrix.shape
    rest = tiles.shape[-1]
    first = first.reshape(p, q, rest)
    np.matmul(matrix, tiles.reshape(q, q * rest), out=first.reshape(p, q * rest))
    np.matmul(matrix, first, out=into)


# ---- forward -------------------------------------------------------------------------------------


def padded_for_tiles(x, geometry, tiles, empty=np.empty):
    """``x`` (NHWC) with the conv's padding, and zeros below and to the right up to whole tiles:
    (N, rows*m + 2, cols*m + 2, C).  ``x`` itself when that is its shape already."""
    n, h, w, c = x.shape
    top, left = geometry.rows.pad_before, geometry.cols.pad_before
    height, width = tiles.rows * tiles.m + 2, tiles.cols * tiles.m + 2
    if (top, left, height, width) == (0, 0, h, w):
        return np.ascontiguousarray(x)
    padded = empty((n, height, width, c), x.dtype)
    rows, cols = min(h, height - top), min(w, width - left)  # a 'valid' conv may leave input unread

    def pad_part(images):
        part = padded[images]
        part[:, :top].fill(0)
        part[:, top + rows :].fill(0)
        middle = part[:, top : top + rows]
        middle[:, :, :left].fill(0)
        middle[:, :, left + cols :].fill(0)
        middle[:, :, left : left + cols] = x[images, :rows, :cols]

    threads.parallel_parts(pad_part, n, padded.size)
    return padded


def conv2d(x, filters, geometry, m, out, *, bias=None, quarters=False, keep=False, empty=np.empty):
    """``conv2d(x, filters) + bias`` by F(m x m, 3 x 3), written into ``out``.

    Args:
        x: NHWC input; filters: HWIO (3, 3, C, O); bias: (O,) or None.
        geometry: the conv's ``Geometry2D`` (3x3, stride 1, no dilation: see ``applies``).
        m: the output tile size, 2 or 4.
        out: (N, OH, OW, O), or with ``quarters`` (2, 2, N, OH/2, OW/2, O) (OH, OW even): the
            conv's output in the quarters of its 2x2 pooling windows.
        keep: return the transformed input tiles for the filter gradient.
        empty: the allocator of the big arrays.

    Returns:
        A ``TiledInput`` with ``keep``, else None.
    """
    n, _, _, c = x.shape
    o, dtype = filters.shape[3], x.dtype
    tiles = tiling(m, geometry.out_shape)
    a = m + 2
    mats = matrices(m, dtype)
    padded = padded_for_tiles(x, geometry, tiles, empty)
    transformed = transform_filters(filters, m)
    chunk = chunk_images(m, tiles, max(c, o), x.itemsize)
    chunks = -(-n // chunk)
    kept = empty((a * a, n * tiles.per_image, c), dtype) if keep else None
    corner = (a + 1) if bias is not None else None  # entry (1, 1): every output cell takes it once (see below)

    def part(chunk_range):
        images = min(chunk, n)
        buffers = _Buffers(a, images * tiles.per_image, c, o, dtype)
        for index in range(chunk_range.start, chunk_range.stop):
            first, last = index * chunk, min(n, (index + 1) * chunk)
            count = (last - first) * tiles.per_image
            gathered, rows_first, v, products, cols_first, y = buffers.views(count)
            if kept is not None:
                v = kept[:, first * tiles.per_image : last * tiles.per_image]
            _input_tiles(padded[first:last], tiles, gathered.reshape(a, a, last - first, tiles.rows, tiles.cols, c))
            _transform_both_axes(mats.BT, gathered.reshape(a, a, count * c), rows_first, v.reshape(a, a, count * c))
            np.matmul(v, transformed, out=products)
            if corner is not None:
                # Column 1 of AT is all ones (the interpolation point 1), so what is added to entry
                # (1, 1) of the transformed tile reaches each of its m*m output cells once.
                products[corner] += bias
            _transform_both_axes(mats.AT, products.reshape(a, a, count * o), cols_first, y.reshape(m, m, count * o))
            _write_tiles(y.reshape(m, m, last - first, tiles.rows, tiles.cols, o), out, first, last, quarters)

    threads.parallel_parts(part, chunks, elements=n * tiles.per_image * a * a * max(c, o))
    return TiledInput(kept, tiles, quarters) if keep else None


class _Buffers:
    """One thread's working arrays for chunks of up to ``count`` tiles."""

    def __init__(self, a, count, c, o, dtype):
        m = a - 2
        self.shapes = ((a * a, c), (a * a, c), (a * a, c), (a * a, o), (m * a, o), (m * m, o))
        self.arrays = [np.empty((rows * count, width), dtype) for rows, width in self.shapes]

    def views(self, count):
        """(gathered tiles, their rows transformed, V, products M, M's rows transformed, output Y) for
        ``count`` tiles, each C-contiguous: (a*a, count, C) x 3, (a*a, count, O), (m*a, ...), (m*m, ...)."""
        return [
            array[: rows * count].reshape(rows, count, width)
            for array, (rows, width) in zip(self.arrays, self.shapes)
        ]


def _output_cells(out, first, last, quarters, m, rows, cols):
    """For each cell (i, j) of an m x m tile, ``(target, rows_i, cols_j)``: the view of ``out`` that the
    cell (i, j) of the tiles of images [first, last) is written to, and how many tile rows and
    columns reach it (the last tiles may hang over the output's edge)."""
    if quarters:
        _, _, _, half_h, half_w, _ = out.shape
        height, width = 2 * half_h, 2 * half_w
    else:
        _, height, width, _ = out.shape
    for i in range(m):
        rows_i = len(range(i, height, m))
        for j in range(m):
            cols_j = len(range(j, width, m))
            if quarters:  # output row r = m*t + i sits in window row r // 2, quarter row r % 2
                target = out[i % 2, j % 2, first:last, i // 2 :: m // 2, j // 2 :: m // 2]
            else:
                target = out[first:last, i::m, j::m]
            yield (i, j), target, rows_i, cols_j


def _write_tiles(y, out, first, last, quarters):
    """Write the output tiles ``y`` (m, m, images, rows, cols, O) of images [first, last) into ``out``."""
    m, _, _, rows, cols, _ = y.shape
    height = 2 * out.shape[3] if quarters else out.shape[1]
    width = 2 * out.shape[4] if quarters else out.shape[2]
    if height == rows * m and width == cols * m:
        if quarters:
            half = m // 2
            target = out[:, :, first:last].reshape(2, 2, last - first, rows, half, cols, half, -1)
            source = y.reshape(half, 2, half, 2, last - first, rows, cols, -1).transpose(1, 3, 4, 5, 0, 6, 2, 7)
        else:
            target = out[first:last].reshape(last - first, rows, m, cols, m, -1)
            source = y.transpose(2, 3, 0, 4, 1, 5)
        np.copyto(pixels(target), pixels(source))
        return
    for (i, j), target, rows_i, cols_j in _output_cells(out, first, last, quarters, m, rows, cols):
        np.copyto(pixels(target), pixels(y[i, j, :, :rows_i, :cols_j]))


# ---- filter gradient -----------------------------------------------------------------------------


def _gradient_tiles(d_out, tiles, first, last, quarters, into):
    """``into`` (m, m, images, rows, cols, O): the output gradient's m x m tiles of images [first, last),
    zeros where a tile hangs over the output's edge."""
    m = tiles.m
    exact = None
    if quarters:
        height, width = 2 * d_out.shape[3], 2 * d_out.shape[4]
    else:
        height, width = d_out.shape[1:3]
    if height == tiles.rows * m and width == tiles.cols * m:
        if quarters:
            half = m // 2
            exact = d_out[:, :, first:last].reshape(2, 2, last - first, tiles.rows, half, tiles.cols, half, -1)
            target = into.reshape(half, 2, half, 2, last - first, tiles.rows, tiles.cols, -1).transpose(1, 3, 4, 5, 0, 6, 2, 7)
        else:
            exact = d_out[first:last].reshape(last - first, tiles.rows, m, tiles.cols, m, -1)
            target = into.transpose(2, 3, 0, 4, 1, 5)
        np.copyto(pixels(target), pixels(exact))
        return
    for (i, j), source, rows_i, cols_j in _output_cells(d_out, first, last, quarters, m, tiles.rows, tiles.cols):
        cell = into[i, j]
        cell[:, rows_i:].fill(0)
        cell[:, :rows_i, cols_j:].fill(0)
        np.copyto(pixels(cell[:, :rows_i, :cols_j]), pixels(source))


def backprop_filter(kept, d_out, filter_shape, with_bias=False, empty=np.empty):
    """``(dL/dfilters, dL/dbias)`` of ``conv2d`` from its ``TiledInput`` and ``d_out`` = dL/dy.

    Args:
        kept: the forward's ``TiledInput``.
        d_out: dL/dy in the forward's output layout (NHWC, or the pooling windows' quarters
            when ``kept.quarters``).
        filter_shape: HWIO (3, 3, C, O).
        with_bias: also return the bias's gradient (else None).

    The output gradient's tiles are transformed a chunk of images at a time; then each of
    the (m+2)^2 entries is one product over every tile of the batch, the entries shared
    out over the threads.  The bias's gradient is the sum of the transformed gradient's
    entry (1, 1) over the tiles: every output cell reaches it once (see ``conv2d``).
    """
    tiles, v = kept.tiling, kept.tiles
    m, a = tiles.m, tiles.m + 2
    _, _, c, o = filter_shape
    dtype = v.dtype
    n = v.shape[1] // tiles.per_image
    mats = matrices(m, dtype)
    d_products = empty((a * a, n * tiles.per_image, o), dtype)
    chunk = chunk_images(m, tiles, max(c, o), v.itemsize)

    def transform_part(chunk_range):
        images = min(chunk, n)
        gathered = np.empty((m * m * images * tiles.per_image, o), dtype)
        rows_first = np.empty((a * m * images * tiles.per_image, o), dtype)
        for index in range(chunk_range.start, chunk_range.stop):
            first, last = index * chunk, min(n, (index + 1) * chunk)
            count = (last - first) * tiles.per_image
            cells = gathered[: m * m * count].reshape(m, m, last - first, tiles.rows, tiles.cols, o)
            _gradient_tiles(d_out, tiles, first, last, kept.quarters, cells)
            d_chunk = d_products[:, first * tiles.per_image : last * tiles.per_image].reshape(a, a, count * o)
            _transform_both_axes(mats.A, cells.reshape(m, m, count * o), rows_first[: a * m * count].reshape(a, m, count * o), d_chunk)

    threads.parallel_parts(transform_part, -(-n // chunk), elements=d_products.size)
    d_transformed = np.empty((a * a, c, o), dtype)

    def product_part(entries):
        np.matmul(v[entries].transpose(0, 2, 1), d_products[entries], out=d_transformed[entries])

    threads.parallel_parts(product_part, a * a, elements=v.size + d_products.size)
    bias_grad = d_products[a + 1].sum(axis=0) if with_bias else None
    return filter_gradient(d_transformed, m), bias_grad


def transform_input(x, geometry, m, empty=np.empty):
    """The ``TiledInput`` of ``x`` for a conv of ``geometry`` by F(m x m, 3 x 3), without the conv
    (for a filter gradient whose forward kept nothing)."""
    n, _, _, c = x.shape
    tiles = tiling(m, geometry.out_shape)
    a = m + 2
    mats = matrices(m, x.dtype)
    padded = padded_for_tiles(x, geometry, tiles, empty)
    kept = empty((a * a, n * tiles.per_image, c), x.dtype)
    chunk = chunk_images(m, tiles, c, x.itemsize)

    def part(chunk_range):
        images = min(chunk, n)
        gathered = np.empty((a * a * images * tiles.per_image, c), x.dtype)
        rows_first = np.empty_like(gathered)
        for index in range(chunk_range.start, chunk_range.stop):
            first, last = index * chunk, min(n, (index + 1) * chunk)
            count = (last - first) * tiles.per_image
            cells = gathered[: a * a * count].reshape(a, a, last - first, tiles.rows, tiles.cols, c)
            _input_tiles(padded[first:last], tiles, cells)
            v = kept[:, first * tiles.per_image : last * tiles.per_image].reshape(a, a, count * c)
            _transform_both_axes(mats.BT, cells.reshape(a, a, count * c), rows_first[: a * a * count].reshape(a, a, count * c), v)

    threads.parallel_parts(part, -(-n // chunk), elements=kept.size)
    return TiledInput(kept, tiles, False)
