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
taking whole chunks as it comes free (``threads.parallel_chunks``), so that a chunk's tiles stay in cache from one stage to the next
(the input is padded a chunk at a time too, and each stage reuses the working arrays of
the stages done before it).  The chunks, a multiple of ``tuning.MIN_CHUNKS`` of them, do
not depend on the thread count, so neither do the values.

The gradients are the adjoints of the same computation (``backward``), from one transform
of the output gradient's tiles, ``dM = A dY AT``, a chunk of images at a time:

* filter: ``dU = V^T dM`` for each of the (m+2)^2 entries over the chunk's tiles, the
  chunks' sums added in chunk order, then ``dg = G^T dU G``; or, with few tiles and many
  channels (``filter_products_whole``), ``dM`` kept for the whole batch and ``V^T dM`` once
  per entry over all its tiles.  The forward keeps ``V`` (``TiledInput``) for it, as im2col
  keeps its matrix;
* input: ``dV = dM U^T`` for each entry, ``B dV BT``, and the tiles added back at their
  places.  (The input-gradient dispatcher alone, ``conv.conv2d_backprop_input``, runs a
  correlation with the turned kernel, itself a 3x3 stride-1 conv that may come here.)

Layouts: images NHWC, filters HWIO, as everywhere in ``kernels``.  A conv followed by a
2x2 max pool may be asked for its output in the pooling windows' quarters
(``conv.conv2d``'s ``quarters``): each tile then writes its cells straight into them.
"""

import functools
import math
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


def chunk_count(m, tiles, channels, itemsize, n):
    """How many chunks a batch of ``n`` images goes in: chunks of nearly equal size (``chunk_bounds``),
    each at most about ``tuning.WINOGRAD_CHUNK_BYTES`` of transformed tiles of ``channels`` (the
    larger of the input's and the output's), their number a multiple of ``tuning.MIN_CHUNKS``
    where the batch allows, so that two or four threads (which take whole chunks) get the
    same number of images."""
    per_image = (m + 2) ** 2 * tiles.per_image * channels * itemsize
    return threads.balanced_chunk_count(n, max(1, tuning.WINOGRAD_CHUNK_BYTES // per_image))


def chunk_bounds(indices, chunks, n):
    """``(index, first, last)``: each chunk of ``indices`` (an iterable of the ``chunks`` chunk indices of
    a batch of ``n``) and its images [first, last)."""
    for index in indices:
        yield index, n * index // chunks, n * (index + 1) // chunks


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
    = matrix . tiles . matrix^T, through ``first`` (p, q, rest), all C-contiguous.

    Each product is one (p, q) @ (q, rest) per column of the other axis: OpenBLAS runs one
    (p, q) @ (q, q * rest) product several times slower, for p = 6, once the long axis
    outgrows its cache blocks."""
    p, q = matrix.shape
    rest = tiles.shape[-1]
    first = first.reshape(p, q, rest)
    np.matmul(matrix, tiles.reshape(q, q, rest).transpose(1, 0, 2), out=first.transpose(1, 0, 2))
    np.matmul(matrix, first, out=into)


# ---- forward -------------------------------------------------------------------------------------


def _padded_chunk(x, geometry, tiles, first, last, work):
    """Images [first, last) of ``x`` (NHWC) with the conv's padding, and zeros below and to the right
    up to whole tiles: (last - first, rows*m + 2, cols*m + 2, C), C-contiguous (in ``work``, so
    that the tiles are gathered from it while it is in cache); ``x``'s own images where that is
    what they are already."""
    _, h, w, c = x.shape
    top, left = geometry.rows.pad_before, geometry.cols.pad_before
    height, width = tiles.rows * tiles.m + 2, tiles.cols * tiles.m + 2
    if (top, left, height, width) == (0, 0, h, w) and x.flags.c_contiguous:
        return x[first:last]
    part = work.array("padded", (last - first, height, width, c))
    rows, cols = min(h, height - top), min(w, width - left)  # a 'valid' conv may leave input unread
    part[:, :top].fill(0)
    part[:, top + rows :].fill(0)
    middle = part[:, top : top + rows]
    middle[:, :, :left].fill(0)
    middle[:, :, left + cols :].fill(0)
    middle[:, :, left : left + cols] = x[first:last, :rows, :cols]
    return part


def conv2d(x, filters, geometry, m, out, *, bias=None, quarters=False, keep=False, empty=np.empty):
    """``conv2d(x, filters) + bias`` by F(m x m, 3 x 3), written into ``out``.

    Args:
        x: NHWC input; filters: HWIO (3, 3, C, O); bias: (O,) or None.
        geometry: the conv's ``Geometry2D`` (3x3, stride 1, no dilation: see ``applies``).
        m: the output tile size, 2 or 4.
        out: (N, OH, OW, O), or with ``quarters`` (2, 2, N, OH/2, OW/2, O) (OH, OW even): the
            conv's output in the quarters of its 2x2 pooling windows.
        keep: return the transformed input tiles for the gradients.
        empty: the allocator of the big arrays.

    Returns:
        A ``TiledInput`` with ``keep``, else None.
    """
    n, _, _, c = x.shape
    o, dtype = filters.shape[3], x.dtype
    tiles = tiling(m, geometry.out_shape)
    a = m + 2
    mats = matrices(m, dtype)
    transformed = transform_filters(filters, m)
    chunks = chunk_count(m, tiles, max(c, o), x.itemsize, n)
    kept = empty((a * a, n * tiles.per_image, c), dtype) if keep else None
    corner = a + 1  # entry (1, 1) of a transformed tile: every output cell takes it once (see below)

    def part(indices):
        work = _Work(tiles, -(-n // chunks), dtype)
        for _, first, last in chunk_bounds(indices, chunks, n):
            count = (last - first) * tiles.per_image
            v = work.array("v", (a * a, count, c)) if kept is None else kept[:, first * tiles.per_image : last * tiles.per_image]
            _transform_input_chunk(_padded_chunk(x, geometry, tiles, first, last, work), tiles, mats, work, v)
            # The stages reuse the arrays of the ones before that are done with them (the gathered
            # tiles', the half-transformed rows', the padded images'): fewer arrays, more of them in cache.
            products = np.matmul(v, transformed, out=work.array("tiles", (a * a, count, o)))
            if bias is not None:
                # Column 1 of AT is all ones (the interpolation point 1), so what is added to entry
                # (1, 1) of the transformed tile reaches each of its m*m output cells once.
                products[corner] += bias
            y = work.array("padded", (m, m, count * o))
            _transform_both_axes(mats.AT, products.reshape(a, a, count * o), work.array("rows", (m, a, count * o)), y)
            _write_tiles(y.reshape(m, m, last - first, tiles.rows, tiles.cols, o), out, first, last, quarters, work)

    threads.parallel_chunks(part, chunks, elements=n * tiles.per_image * a * a * max(c, o))
    return TiledInput(kept, tiles, quarters) if keep else None


def transform_input(x, geometry, m, empty=np.empty):
    """The ``TiledInput`` of ``x`` for a conv of ``geometry`` by F(m x m, 3 x 3), without the conv
    (for a gradient whose forward kept nothing)."""
    n, _, _, c = x.shape
    tiles = tiling(m, geometry.out_shape)
    a = m + 2
    mats = matrices(m, x.dtype)
    kept = empty((a * a, n * tiles.per_image, c), x.dtype)
    chunks = chunk_count(m, tiles, c, x.itemsize, n)

    def part(indices):
        work = _Work(tiles, -(-n // chunks), x.dtype)
        for _, first, last in chunk_bounds(indices, chunks, n):
            v = kept[:, first * tiles.per_image : last * tiles.per_image]
            _transform_input_chunk(_padded_chunk(x, geometry, tiles, first, last, work), tiles, mats, work, v)

    threads.parallel_chunks(part, chunks, elements=kept.size)
    return TiledInput(kept, tiles, False)


class _Work:
    """One thread's working arrays, each made once for the largest chunk and reused by the next ones."""

    def __init__(self, tiles, images, dtype):
        self.tiles, self.images, self.dtype = tiles, images, dtype
        self._arrays = {}

    def array(self, name, shape):
        """A C-contiguous array of ``shape`` (for at most ``images`` images) under ``name``."""
        size = math.prod(shape)
        array = self._arrays.get(name)
        if array is None or array.size < size:
            array = self._arrays[name] = np.empty(size, self.dtype)
        return array[:size].reshape(shape)


def _transform_input_chunk(padded, tiles, mats, work, into):
    """``into`` (a*a, tiles, C): the transformed tiles ``BT d B`` of the images ``padded``."""
    a = tiles.m + 2
    n, _, _, c = padded.shape
    count = n * tiles.per_image
    gathered = work.array("tiles", (a, a, n, tiles.rows, tiles.cols, c))
    _input_tiles(padded, tiles, gathered)
    _transform_both_axes(
        mats.BT, gathered.reshape(a, a, count * c), work.array("rows", (a, a, count * c)), into.reshape(a, a, count * c)
    )


def _height_width(array, quarters):
    """The (height, width) of a conv output stored as NHWC or in pooling quarters."""
    return (2 * array.shape[3], 2 * array.shape[4]) if quarters else array.shape[1:3]


def _write_tiles(y, out, first, last, quarters, work):
    """Write the output tiles ``y`` (m, m, images, rows, cols, O) of images [first, last) into ``out``
    (NHWC or quarters); tiles hanging over the output's edge go through a whole-tiles array."""
    m, _, images, rows, cols, o = y.shape
    height, width = _height_width(out, quarters)
    by_cell = y.transpose(2, 3, 0, 4, 1, 5)  # (images, rows, m, cols, m, O): an image's rows and columns
    if height == rows * m and width == cols * m and quarters:
        half = m // 2
        target = out[:, :, first:last].reshape(2, 2, images, rows, half, cols, half, o)
        source = y.reshape(half, 2, half, 2, images, rows, cols, o).transpose(1, 3, 4, 5, 0, 6, 2, 7)
        np.copyto(pixels(target), pixels(source))
    elif height == rows * m and width == cols * m:
        np.copyto(pixels(out[first:last].reshape(images, rows, m, cols, m, o)), pixels(by_cell))
    else:
        whole = work.array("whole_tiles", (images, rows, m, cols, m, o))
        np.copyto(pixels(whole), pixels(by_cell))
        whole = whole.reshape(images, rows * m, cols * m, o)
        if quarters:
            for i in range(2):
                for j in range(2):
                    np.copyto(pixels(out[i, j, first:last]), pixels(whole[:, i:height:2, j:width:2]))
        else:
            np.copyto(pixels(out[first:last]), pixels(whole[:, :height, :width]))


# ---- gradients -----------------------------------------------------------------------------------


def filter_products_whole(all_tiles, chunks, channels):
    """Whether the filter gradient's products ``V^T dM`` run once over all ``all_tiles`` tiles, from
    the whole batch's ``dM`` (kept as the forward keeps ``V``), rather than once per chunk, each
    chunk's (a*a, C, O) sum then added: where all the tiles' ``dM`` is at most twice the size of
    the chunks' sums, ``all_tiles * O <= 2 * chunks * C * O`` (few tiles, many channels).  Twice:
    a chunk's products sum over its few tiles only, which OpenBLAS does at a fraction of the
    speed of one long sum."""
    return all_tiles <= 2 * chunks * channels


def _gradient_tiles(d_out, tiles, first, last, quarters, work):
    """The output gradient's m x m tiles of images [first, last): (m, m, images, rows, cols, O), zeros
    where a tile hangs over the output's edge."""
    m, rows, cols = tiles
    images, o = last - first, d_out.shape[-1]
    height, width = _height_width(d_out, quarters)
    into = work.array("tiles", (m, m, images, rows, cols, o))
    by_cell = into.transpose(2, 3, 0, 4, 1, 5)  # (images, rows, m, cols, m, O)
    if height == rows * m and width == cols * m and quarters:
        half = m // 2
        source = d_out[:, :, first:last].reshape(2, 2, images, rows, half, cols, half, o)
        target = into.reshape(half, 2, half, 2, images, rows, cols, o).transpose(1, 3, 4, 5, 0, 6, 2, 7)
        np.copyto(pixels(target), pixels(source))
    elif height == rows * m and width == cols * m:
        np.copyto(pixels(by_cell), pixels(d_out[first:last].reshape(images, rows, m, cols, m, o)))
    else:
        whole = work.array("whole_tiles", (images, rows * m, cols * m, o))
        whole[:, height:].fill(0)
        whole[:, :height, width:].fill(0)
        if quarters:
            for i in range(2):
                for j in range(2):
                    np.copyto(pixels(whole[:, i:height:2, j:width:2]), pixels(d_out[i, j, first:last]))
        else:
            np.copyto(pixels(whole[:, :height, :width]), pixels(d_out[first:last]))
        np.copyto(pixels(by_cell), pixels(whole.reshape(images, rows, m, cols, m, o)))
    return into


def _add_tiles_back(d_tiles, tiles, strips, into):
    """The adjoint of ``_input_tiles``: ``into`` (images, rows*m + 2, cols*m + 2, C) set to the sum of the
    tiles ``d_tiles`` (a, a, images, rows, cols, C) at their places (neighbours overlap by two rows
    and two columns).  Separable: the columns of each tile row first, into ``strips`` (a, images,
    rows, cols*m + 2, C), then the rows."""
    m, rows, cols = tiles
    a, _, images, _, _, c = d_tiles.shape
    width = cols * m + 2
    # Along the columns: cells j < m of a tile cover its m columns; cells m and m+1 add onto the
    # first two columns of the next tile (or are the image's last two).  Each column is written
    # once, as a copy or as the sum of its two cells.
    _overlap_add(d_tiles.transpose(0, 2, 3, 4, 1, 5), strips[:, :, :, : cols * m].reshape(a, images, rows, cols, m, c), strips[:, :, :, cols * m :])
    # Along the rows, likewise.
    by_row = strips.reshape(a, images, rows, width * c).transpose(1, 2, 0, 3)
    into = into.reshape(images, rows * m + 2, width * c)
    _overlap_add(by_row, into[:, : rows * m].reshape(images, rows, m, width * c), into[:, rows * m :])


def _overlap_add(cells, blocks, last):
    """``blocks`` (..., tiles, m, rest) and ``last`` (..., a - m, rest): the sums of the tiles' ``cells``
    (..., tiles, a, rest) laid m apart along one axis, tile t's cells [0, a) at t*m + [0, a)."""
    m, a = blocks.shape[-2], cells.shape[-2]
    overlap = a - m  # two: a 3x3 filter's tiles overlap by two cells
    np.copyto(blocks[..., 0, :overlap, :], cells[..., 0, :overlap, :])
    np.add(cells[..., 1:, :overlap, :], cells[..., :-1, m:, :], out=blocks[..., 1:, :overlap, :])
    if m > overlap:
        np.copyto(blocks[..., overlap:, :], cells[..., overlap:m, :])
    np.copyto(last, cells[..., -1, m:, :])


def backward(kept, d_out, filters, geometry, input_shape, *, need_input=True, need_filters=True, with_bias=False, empty=np.empty):
    """The gradients of ``conv2d`` from its ``TiledInput``: ``(dL/dx, dL/dfilters, dL/dbias)``.

    Args:
        kept: the forward's ``TiledInput`` (``conv2d(..., keep=True)`` or ``transform_input``).
        d_out: dL/dy in the forward's output layout (NHWC, or the pooling windows' quarters
            when ``kept.quarters``).
        filters: the forward's filters, HWIO (3, 3, C, O).
        geometry: the conv's ``Geometry2D``; input_shape: the forward's input shape (NHWC).
        need_input, need_filters, with_bias: which gradients to compute (None for the others).
        empty: the allocator of the big arrays.

    A chunk of images at a time, the output gradient's tiles are transformed once,
    ``dM = A dY AT``, for both gradients:

    * filters: each entry's ``V^T dM`` over the chunk's tiles, the chunks' sums then added in
      chunk order (so that the thread count changes nothing), and ``G^T dU G``; the bias's
      gradient is the sum of entry (1, 1) of ``dM`` (every output cell reaches it once);
    * input: ``dV = dM U^T`` for each entry, ``B dV BT``, and the tiles added back at their
      places (``_add_tiles_back``), then the conv's padding cut off.
    """
    tiles, v = kept.tiling, kept.tiles
    m, a = tiles.m, tiles.m + 2
    _, _, c, o = filters.shape
    dtype = d_out.dtype
    n = input_shape[0]
    mats = matrices(m, dtype)
    chunks = chunk_count(m, tiles, max(c, o), np.dtype(dtype).itemsize, n)
    all_tiles = n * tiles.per_image
    whole = need_filters and filter_products_whole(all_tiles, chunks, c)
    d_products_all = empty((a * a, all_tiles, o), dtype) if whole else None
    filter_sums = np.empty((chunks, a * a, c, o), dtype) if need_filters and not whole else None
    bias_sums = np.empty((chunks, o), dtype) if with_bias else None
    d_input = d_transposed = None
    if need_input:
        d_input = empty(tuple(input_shape), dtype)
        d_transposed = np.ascontiguousarray(transform_filters(filters, m).transpose(0, 2, 1))  # U^T: (a*a, O, C)
    top, left = geometry.rows.pad_before, geometry.cols.pad_before
    _, height, width, _ = input_shape
    padded_height, padded_width = tiles.rows * m + 2, tiles.cols * m + 2
    in_place = (top, left, padded_height, padded_width) == (0, 0, height, width)

    def part(indices):
        work = _Work(tiles, -(-n // chunks), dtype)
        for index, first, last in chunk_bounds(indices, chunks, n):
            count = (last - first) * tiles.per_image
            cells = _gradient_tiles(d_out, tiles, first, last, kept.quarters, work)
            if whole:
                d_products = d_products_all[:, first * tiles.per_image : last * tiles.per_image]
            else:
                d_products = work.array("tiles", (a * a, count, o))  # in place of ``cells``, done with by then
            _transform_both_axes(mats.A, cells.reshape(m, m, count * o), work.array("rows", (a, m, count * o)), d_products.reshape(a, a, count * o))
            if need_filters and not whole:
                v_chunk = v[:, first * tiles.per_image : last * tiles.per_image]
                np.matmul(v_chunk.transpose(0, 2, 1), d_products, out=filter_sums[index])
            if with_bias:
                d_products[a + 1].sum(axis=0, out=bias_sums[index])
            if need_input:
                # As in the forward, arrays reused once their stage is done with them.
                d_v = np.matmul(d_products, d_transposed, out=work.array("v", (a * a, count, c)))
                d_tiles = work.array("v", (a, a, count * c))
                _transform_both_axes(mats.B, d_v.reshape(a, a, count * c), work.array("rows", (a, a, count * c)), d_tiles)
                images = last - first
                target = d_input[first:last] if in_place else work.array("tiles", (images, padded_height, padded_width, c))
                strips = work.array("rows", (a, images, tiles.rows, padded_width, c))
                _add_tiles_back(d_tiles.reshape(a, a, images, tiles.rows, tiles.cols, c), tiles, strips, target)
                if not in_place:
                    rows, cols = min(height, padded_height - top), min(width, padded_width - left)
                    np.copyto(d_input[first:last, :rows, :cols], target[:, top : top + rows, left : left + cols])
                    d_input[first:last, rows:].fill(0)  # input a 'valid' conv never read
                    d_input[first:last, :rows, cols:].fill(0)

    threads.parallel_chunks(part, chunks, elements=all_tiles * a * a * max(c, o))
    d_filters = None
    if whole:
        d_transformed = np.empty((a * a, c, o), dtype)

        def entries_part(entries):
            np.matmul(v[entries].transpose(0, 2, 1), d_products_all[entries], out=d_transformed[entries])

        threads.parallel_parts(entries_part, a * a, elements=all_tiles * a * a * (c + o))
        d_filters = filter_gradient(d_transformed, m)
    elif need_filters:
        d_filters = filter_gradient(filter_sums.sum(axis=0), m)
    d_bias = bias_sums.sum(axis=0) if with_bias else None
    return d_input, d_filters, d_bias
