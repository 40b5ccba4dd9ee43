"""conv2d on NumPy arrays: im2col + one GEMM forward, and its two backward passes.

Layouts are TF's: images NHWC, filters HWIO.  The window geometry (padding,
output size) always comes from ``padding.geometry_2d``.

* forward: every receptive field is copied into one row of a
  ``(N*OH*OW, KH*KW*C)`` matrix (im2col), which one matrix product with the
  filters reshaped to ``(KH*KW*C, O)`` turns into the output.  A bias rides along
  in the same product as one more column of ones (and one more filter row);
* gradient w.r.t. the filters (and the bias): ``cols.T @ dy``, one GEMM; the
  forward's ``cols`` can be handed back to skip building them again;
* gradient w.r.t. the input: with stride 1, a correlation of ``dy`` with the
  kernel turned by 180 degrees (im2col + one GEMM again); with larger strides, or
  when that correlation would multiply mostly padding on a small image,
  ``dy @ W.T`` gives each window's share, which col2im adds back onto the image
  with one strided slice per kernel tap;
* inference through a conv and a 2x2 max pool on images with few channels
  (``conv2d_max_pool_by_windows``): one product gives the four conv outputs of
  every pooling window from its (KH+1, KW+1) input patch.

No function here loops over pixels or samples; the only Python loops run over
the KH*KW kernel taps.  Functions that make big arrays take ``empty``, the
allocator to get them from (``np.empty``, or a layer's ``Workspace.empty``).
"""

import functools
import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..runtime import threads
from ..runtime import tuning
from . import blas, padding, relu as relu_kernels


def padded_shape(input_shape, geometry):
    """The NHWC shape of an input of ``input_shape`` once the geometry's padding is added."""
    n, h, w, c = input_shape
    (_, top, bottom), (_, left, right) = geometry.rows, geometry.cols
    return (n, top + h + bottom, left + w + right, c)


def pad_spatial(x, geometry, value=0, empty=np.empty):
    """``x`` (NHWC) with the geometry's padding added around height and width (``x`` itself if none)."""
    if not geometry.is_padded:
        return x
    _, h, w, _ = x.shape
    top, left = geometry.rows.pad_before, geometry.cols.pad_before
    padded = empty(padded_shape(x.shape, geometry), x.dtype)

    # Short runs of border on the left and right of each row are filled one run at a time
    # (slow); then filling the whole array first is quicker.  Measured: (32, 28, 28, 1)
    # padded by 1, 28 -> 19 us; (128, 14, 14, 10), 199 -> 124 us; but (64, 28, 28, 32),
    # 423 -> 830 us.
    fill_all = max(left, geometry.cols.pad_after) * x.shape[3] < 16

    def pad_part(images):
        part = padded[images]
        middle_rows = part[:, top : top + h]
        if fill_all:
            part.fill(value)
        else:
            for border in (part[:, :top], part[:, top + h :], middle_rows[:, :, :left], middle_rows[:, :, left + w :]):
                border.fill(value)  # only the border: the inside is written next
        middle_rows[:, :, left : left + w] = x[images]

    threads.parallel_parts(pad_part, len(x), padded.size)
    return padded


def crop_spatial(padded, geometry, input_shape, empty=np.empty):
    """The inverse of ``pad_spatial``: the (height, width) region of the original input."""
    if not geometry.is_padded:
        return padded
    _, h, w, _ = input_shape
    top, left = geometry.rows.pad_before, geometry.cols.pad_before
    cropped = empty(input_shape, padded.dtype)
    np.copyto(cropped, padded[:, top : top + h, left : left + w, :])
    return cropped


def tap_slices(geometry):
    """For each kernel tap ``(i, j)``, in row-major order, the (rows, cols) slices of the padded
    input that the tap sees across all output positions."""
    (oh, ow), (kh, kw) = geometry.out_shape, geometry.kernel
    (sh, sw), (dh, dw) = geometry.strides, geometry.dilations
    for i in range(kh):
        for j in range(kw):
            yield slice(i * dh, i * dh + (oh - 1) * sh + 1, sh), slice(j * dw, j * dw + (ow - 1) * sw + 1, sw)


def windows(padded, geometry, by_pool_quarter=False):
    """A read-only view of all receptive fields of a padded NHWC array: shape (N, OH, OW, KH, KW, C).

    With ``by_pool_quarter`` (OH and OW even), the view is (2, 2, N, OH/2, OW/2, KH, KW, C):
    ``[i, j, n, a, b]`` is the field of output ``(n, 2a + i, 2b + j)``, so ``[i, j]`` holds
    cell ``(i, j)`` of every 2x2 pooling window over the output (see ``max_pool_quarters``).
    """
    n, _, _, c = padded.shape
    step_n, step_h, step_w, step_c = padded.strides
    (sh, sw), (dh, dw) = geometry.strides, geometry.dilations
    (oh, ow), kernel = geometry.out_shape, geometry.kernel
    taps = (step_h * dh, step_w * dw, step_c)
    if by_pool_quarter:
        shape = (2, 2, n, oh // 2, ow // 2, *kernel, c)
        strides = (step_h * sh, step_w * sw, step_n, 2 * step_h * sh, 2 * step_w * sw, *taps)
    else:
        shape, strides = (n, oh, ow, *kernel, c), (step_n, step_h * sh, step_w * sw, *taps)
    if padded.flags.c_contiguous:  # the same view as ``as_strided``'s, made in a quarter of its time
        view = np.ndarray(shape, padded.dtype, buffer=padded, strides=strides)
        view.flags.writeable = False
        return view
    return as_strided(padded, shape=shape, strides=strides, writeable=False)


def pixels(array):
    """``array`` (its last axis contiguous) with each pixel's channels seen as one opaque element.

    A strided selection of pixels is copied by NumPy with an inner loop over each
    pixel's channels; with few channels the loop's start-up costs as much as the
    copying.  Seen as one ``np.void`` element per pixel, the same copy moves whole
    pixels: twice as fast for 10 channels (a 2x2 pool's output, 114 -> 53 us), and
    0.7-1.0x the time for im2col's receptive fields of 16-128 channels (measured).
    """
    return array.view(np.dtype((np.void, array.shape[-1] * array.itemsize)))[..., 0]


def im2col(x, geometry, ones_column=False, empty=np.empty, by_pool_quarter=False):
    """The receptive fields of ``x`` as the rows of an (N*OH*OW, KH*KW*C) matrix.

    Args:
        x: NHWC array.
        geometry: the conv's ``Geometry2D``.
        ones_column: append a column of ones (the bias's input in ``conv2d``).
        by_pool_quarter: order the rows as ``windows(..., by_pool_quarter=True)`` does
            (OH and OW even), so that a product with the filters comes out as the four
            quarters of 2x2 pooling windows, each a contiguous block.

    The matrix is C-ordered, or for inputs with few channels the transpose of a
    C-ordered (KH*KW*C, N*OH*OW) array; matrix products take either as it is.
    """
    n, _, _, c = x.shape
    (oh, ow), (kh, kw) = geometry.out_shape, geometry.kernel
    positions, size = n * oh * ow, kh * kw * c
    fields = windows(pad_spatial(x, geometry, empty=empty), geometry, by_pool_quarter)
    lead = (slice(None),) * (fields.ndim - 6)  # the (2, 2) quarter axes, if any, come before the images
    position_shape = fields.shape[:-3]
    if c <= tuning.TAP_MAJOR_MAX_CHANNELS:
        rows = empty((size + ones_column, positions), x.dtype)
        taps = rows[:size].reshape(kh, kw, c, *position_shape)
        # The fields with their tap and channel axes first: one copy writes every tap's row.
        by_tap = fields.transpose(-3, -2, -1, *range(fields.ndim - 3))
        at_images = (slice(None),) * (3 + len(lead))  # then the images axis
        threads.parallel_parts(
            lambda images: np.copyto(taps[(*at_images, images)], by_tap[(*at_images, images)]), n, rows.size
        )
        if ones_column:
            rows[size] = 1
        return rows.T
    cols = empty((positions, size + ones_column), x.dtype)
    # The first ``size`` columns seen as the fields' shape: a view, since only the
    # contiguous last axis is split.
    fields_in_cols = cols.reshape(*position_shape, size + ones_column)[..., :size].reshape(fields.shape)
    fields, fields_in_cols = pixels(fields), pixels(fields_in_cols)
    threads.parallel_parts(
        lambda images: np.copyto(fields_in_cols[(*lead, images)], fields[(*lead, images)]), n, cols.size
    )
    if ones_column:
        cols[:, size] = 1
    return cols


def col2im(field_grads, input_shape, geometry, empty=np.empty):
    """Sum per-window gradients (N, OH, OW, KH, KW, C) back onto an input of ``input_shape``.

    The adjoint of ``windows``: each input pixel receives the sum over the windows that saw it.
    """
    padded = empty(padded_shape(input_shape, geometry), field_grads.dtype)
    kw, taps = geometry.kernel[1], list(tap_slices(geometry))
    threads.parallel_parts(
        lambda images: _add_windows(padded[images], field_grads[images], taps, kw), input_shape[0], field_grads.size
    )
    return crop_spatial(padded, geometry, input_shape, empty)


def _add_windows(padded, field_grads, taps, kw):
    """``padded`` (images of a padded input) set to the sum of ``field_grads`` (those images' windows), tap by tap."""
    padded.fill(0)
    for tap, (rows, cols) in enumerate(taps):
        padded[:, rows, cols, :] += field_grads[:, :, :, tap // kw, tap % kw, :]


def conv2d_with_columns(x, filters, geometry, bias=None, empty=np.empty, by_pool_quarter=False, keep_columns=True):
    """Cross-correlate NHWC ``x`` with HWIO ``filters`` (plus ``bias`` per output channel, if given).

    Returns:
        ``(out, cols)``: the (N, OH, OW, O) output and the im2col matrix, from which
        ``filter_grads_from_columns`` takes the gradients (with the ones column when
        ``bias`` is given).  With ``by_pool_quarter`` (OH and OW even) the output is
        (2, 2, N, OH/2, OW/2, O), the quarters of 2x2 pooling windows (see ``windows``).
        Without ``keep_columns``, ``cols`` may be None: for many channels the rows are
        then built a chunk at a time, in a small array that stays in cache.
    """
    out_channels = filters.shape[3]
    weights = filters.reshape(-1, out_channels)
    if bias is not None:
        weights = np.concatenate([weights, bias.reshape(1, out_channels)])
    (oh, ow), n = geometry.out_shape, x.shape[0]
    out_shape = (2, 2, n, oh // 2, ow // 2) if by_pool_quarter else (n, oh, ow)
    out = empty((*out_shape, out_channels), x.dtype)
    if x.shape[3] > tuning.TAP_MAJOR_MAX_CHANNELS and n:
        done, cols = _im2col_and_product_by_chunks(x, geometry, weights, out, empty, by_pool_quarter, keep_columns)
        if done:
            return out, cols
    cols = im2col(x, geometry, ones_column=bias is not None, empty=empty, by_pool_quarter=by_pool_quarter)
    blas.matmul(cols, weights, out=out.reshape(-1, out_channels))
    return out, cols



def _chunks_fit(part_bounds, per_image):
    """Whether a product is split over the cores by rows (a small one runs as before: its copies
    split over the cores, its product on one) at whole images (of ``per_image`` rows), so that
    each part's rows can be taken chunk by chunk."""
    return len(part_bounds) > 2 and per_image > 0 and all(bound % per_image == 0 for bound in part_bounds)


def _chunk_rows(per_image):
    """Rows per chunk: whole images and whole ``ROW_GROUP``s, about ``CHUNK_ROWS`` of them."""
    group = tuning.ROW_GROUP // math.gcd(per_image, tuning.ROW_GROUP) * per_image
    return group * max(1, tuning.CHUNK_ROWS // group)


def _im2col_and_product_by_chunks(x, geometry, weights, out, empty, by_pool_quarter, keep_columns):
    """``conv2d_with_columns`` for inputs with many channels: each core fills its part of the
    im2col rows chunk by chunk, each chunk's product taken while its rows are still in cache.

    Written in one go, a big batch's im2col matrix (36,864 x 288 values, 42 MB, for 64
    images of 26x26x32) is out of cache by the time the product reads it back.  The
    product's rows are cut where ``blas.matmul`` would cut them (one part per core), and
    each part into chunks of whole ``ROW_GROUP``s, so that every output has the bits
    of the one product it replaces.  Measured on the 2-core VM for that batch: 12.4-13.6 ms
    against 15.4-15.8; the deeper CNN's training step 10% faster.  Without ``keep_columns``
    each part writes its chunks into one chunk-sized array instead of the whole matrix.

    Returns:
        ``(done, cols)``: whether it computed ``out`` (not where the parts cannot be cut at
        whole images), and the im2col matrix (None without ``keep_columns``).
    """
    n, _, _, c = x.shape
    kh, kw = geometry.kernel
    size, out_channels = kh * kw * c, weights.shape[1]
    rows, width = out.size // out_channels, weights.shape[0]
    per_image = rows // n // (4 if by_pool_quarter else 1)  # rows of one image in one block
    if not _chunks_fit(blas.row_part_bounds(rows, width, out_channels), per_image):
        return False, None
    chunk = _chunk_rows(per_image)
    fields = pixels(windows(pad_spatial(x, geometry, empty=empty), geometry, by_pool_quarter))
    blocks = list(np.ndindex(fields.shape[:-5]))  # the four quarters (i, j), or one block: () -- each holds every image
    block_rows = n * per_image
    flat_out = out.reshape(rows, out_channels)
    cols = empty((rows, width), x.dtype) if keep_columns else None

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
        chunk_cols = None if keep_columns else empty((min(chunk, part_rows.stop - part_rows.start), width), x.dtype)
        for first in range(part_rows.start, part_rows.stop, chunk):
            last = min(first + chunk, part_rows.stop)
            into = cols[first:last] if keep_columns else chunk_cols[: last - first]
            fill(first, last, into)
            blas.matmul_rows(into, weights, flat_out[first:last])

    blas.by_row_parts(part, rows, width, out_channels)  # rows, as row_part_bounds said
    return True, cols


def pools_by_windows(x, geometry):
    """Whether ``conv2d_max_pool_by_windows`` computes the conv then 2x2 max pool of ``x`` (NHWC)
    with ``geometry``: stride 1, no dilation, few channels, an even output, finite inputs.

    It sums over whole (KH+1, KW+1) patches, the kernel's zeros included, and ``0 * inf``
    is NaN: an infinite input takes the exact path instead.
    """
    (oh, ow), channels = geometry.out_shape, x.shape[3]
    return (
        0 < channels <= tuning.TAP_MAJOR_MAX_CHANNELS
        and geometry.strides == geometry.dilations == (1, 1)
        and oh > 0 and ow > 0 and oh % 2 == 0 and ow % 2 == 0
        and bool(np.isfinite(x).all())
    )  # fmt: skip


def conv2d_max_pool_by_windows(x, filters, geometry, bias=None, relu=False, empty=np.empty):
    """``max_pool(conv2d(x, filters) + bias, 2, 2, 'VALID')``, ReLU'd when ``relu``: one product row per pooling window.

    For inference (no gradient) when ``pools_by_windows`` says so.  The four conv outputs
    of a 2x2 pooling window see one (KH+1, KW+1, C) patch of the padded input, so one
    product of all the patches with the filters placed at the four cells' offsets (zeros
    elsewhere) gives the window's four cells at once.  For a 1-channel 3x3 conv that is
    16 values copied per window instead of im2col's 4 x 9, and a (4*O, 16) @ (16, windows)
    product instead of a thin (positions, 9) @ (9, O) one that BLAS runs slowly.  The cells
    come out channel-first, so the pool is three element-wise maxima over contiguous
    blocks; the bias is added after the pool (the max commutes with adding a constant, in
    floating point too, rounding being monotonic), then the ReLU, and the pooled values
    are turned back to NHWC.  Batches big enough are split over the cores.  Measured on a
    batch of 32 28x28 images and 10 filters: 0.37-0.5 ms against 0.56-0.83 ms for the
    quarters path (im2col, product, pool), and ``predict`` on 10,000 images 11% faster.

    Returns the (N, OH/2, OW/2, O) pooled output, equal to the exact path's up to rounding.
    """
    n, (oh, ow), out_channels = x.shape[0], geometry.out_shape, filters.shape[3]
    out = empty((n, oh // 2, ow // 2, out_channels), x.dtype)
    cells = _filters_at_window_cells(filters)
    threads.parallel_parts(
        lambda images: _pool_windows(x[images], cells, bias, relu, geometry, out[images], empty),
        n,
        n * oh * ow * out_channels,
    )
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
    """``conv2d_max_pool_by_windows`` for the images ``x``, written into ``out``."""
    out_channels, positions = out.shape[3], out.size // out.shape[3]
    # The patches are im2col's fields for a (KH+1, KW+1) kernel with stride 2, tap-major.
    patches = im2col(x, _window_patches(geometry, x.shape[1:3]), empty=empty).T
    by_cell = blas.matmul(cells, patches, out=empty((4 * out_channels, positions), x.dtype))
    # The maximum of the four cells, in three element-wise passes: ``np.maximum.reduce`` over
    # the cells' axis gives the same values but took 3.7x as long (111 vs 30 us for a batch of 32).
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


def conv2d_backprop_filter(x, out_backprop, filter_shape, geometry):
    """The gradient of ``conv2d(x, filters)`` with respect to ``filters``, given ``out_backprop`` = dL/dy."""
    return filter_grads_from_columns(im2col(x, geometry), out_backprop, filter_shape, in_pieces=True)[0]


def filter_grads_from_columns(cols, out_backprop, filter_shape, in_pieces=False):
    """``(filter_grad, bias_grad)`` from the forward's im2col matrix ``cols``, with one product.

    ``bias_grad`` (the sum of ``out_backprop`` over positions) comes from the ones
    column, and is None when ``cols`` has none.  With ``in_pieces``, a small gradient
    (fewer than 128 rows and columns: few input and output channels) is summed over
    pieces of the positions on every core (``blas.matmul_in_pieces``), which rounds
    differently from one product.  ``tf.nn.conv2d``'s gradient takes it; the Keras layers'
    fused ops keep the one product, so that they train to the same values, bit for bit,
    as when the README's accuracy figures were measured.
    """
    size = math.prod(filter_shape[:3])
    dy = out_backprop.reshape(-1, filter_shape[3])
    if in_pieces and max(cols.shape[1], dy.shape[1]) < tuning.SPLIT_MIN_OUTPUT:
        grads = blas.matmul_in_pieces(cols.T, dy)
    # The product is about 1.5x faster with the big matrix in its stored (C-contiguous) order.
    elif cols.flags.c_contiguous:
        grads = blas.matmul(dy.T, cols).T
    else:
        grads = blas.matmul(cols.T, dy)
    bias_grad = grads[size] if cols.shape[1] > size else None
    return grads[:size].reshape(filter_shape), bias_grad


def conv2d_backprop_input(out_backprop, filters, input_shape, geometry, empty=np.empty):
    """The gradient of ``conv2d(x, filters)`` with respect to ``x``, given ``out_backprop`` = dL/dy.

    With stride 1 it is itself a correlation: of ``dy`` with the kernel turned by 180
    degrees (input and output channels swapped), so im2col and one GEMM compute it
    without a scatter (``backprop_input_by_correlation``).  That correlation runs over
    ``dy`` padded back to the input's size; when a quarter or more of its products would
    be with the padding's zeros (a 'VALID' conv on a small image: 10x10 -> 8x8 makes 36%
    of them zeros), and with strides, each window's share (``dy @ W.T``, no zeros) is
    added back onto the image instead (``backprop_input_by_col2im``).  Measured on a
    64-image batch: 12x12x32 -> 10x10x64 took 5.1-5.8 ms by col2im against 9.2 ms, and
    10x10x64 -> 8x8x64 6.0-6.2 against 7.3-7.7; but 26x26x32 -> 24x24x32 (15% zeros)
    took 35 ms against 17-19 (col2im's adds over 10.6 million values).
    """
    full = padding.full_correlation_geometry(geometry)
    (oh, ow), (h, w) = geometry.out_shape, input_shape[1:3]
    if full is not None and 4 * oh * ow > 3 * h * w:  # under a quarter of the products with zeros
        return backprop_input_by_correlation(out_backprop, filters, full, empty)
    return backprop_input_by_col2im(out_backprop, filters, input_shape, geometry, empty)


def backprop_input_by_correlation(out_backprop, filters, full, empty=np.empty):
    """``conv2d_backprop_input`` for stride 1: ``dy`` correlated with the turned kernel over
    ``full``, the geometry from ``padding.full_correlation_geometry``."""
    flipped = np.ascontiguousarray(filters[::-1, ::-1].transpose(0, 1, 3, 2))
    return conv2d_with_columns(out_backprop, flipped, full, empty=empty, keep_columns=False)[0]


def backprop_input_by_col2im(out_backprop, filters, input_shape, geometry, empty=np.empty):
    """``conv2d_backprop_input`` for any geometry: each window's share ``dy @ W.T``, summed back by col2im.

    Each core takes its part of the product's rows (where ``blas.matmul`` would cut them)
    chunk by chunk, adding a chunk's shares onto its images while they are in cache, as
    ``_im2col_and_product_by_chunks`` does for the forward (the same values, bit for bit).
    """
    kh, kw, c, out_channels = filters.shape
    n, oh, ow, _ = out_backprop.shape
    rows, width, per_image = n * oh * ow, kh * kw * c, oh * ow
    dy, transposed = out_backprop.reshape(-1, out_channels), filters.reshape(-1, out_channels).T
    if not _chunks_fit(blas.row_part_bounds(rows, out_channels, width), per_image):
        field_grads = blas.matmul(dy, transposed, out=empty((rows, width), out_backprop.dtype))
        return col2im(field_grads.reshape(n, oh, ow, kh, kw, c), input_shape, geometry, empty)
    padded = empty(padded_shape(input_shape, geometry), out_backprop.dtype)
    taps, chunk = list(tap_slices(geometry)), _chunk_rows(per_image)

    def part(part_rows):
        shares = empty((min(chunk, part_rows.stop - part_rows.start), width), out_backprop.dtype)
        for first in range(part_rows.start, part_rows.stop, chunk):
            last = min(first + chunk, part_rows.stop)
            blas.matmul_rows(dy[first:last], transposed, shares[: last - first])
            images = slice(first // per_image, last // per_image)
            _add_windows(padded[images], shares[: last - first].reshape(-1, oh, ow, kh, kw, c), taps, kw)

    blas.by_row_parts(part, rows, out_channels, width)  # rows, as row_part_bounds said
    return crop_spatial(padded, geometry, input_shape, empty)
