"""The windows of a 2-D conv or pool over NHWC arrays: padding, strided views, im2col and col2im.

Every conv and pool strategy is built from these.  The window geometry (padding, output
size) always comes from ``padding.geometry_2d``.  No function here loops over pixels or
samples; the only Python loops run over the KH*KW kernel taps.  Functions that make big
arrays take ``empty``, the allocator to get them from (``np.empty`` by default).
"""

import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..runtime import threads, tuning


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
    # Short runs of border on the left and right of each row are slow to fill one run at a
    # time; then filling the whole array first is quicker, though it writes every value twice.
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
    cell ``(i, j)`` of every 2x2 pooling window over the output (see ``pool.max_pool_quarters``).
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
    return _read_only_view(padded, shape, strides)


def _read_only_view(array, shape, strides):
    """A read-only view of ``array`` from its first element with the given shape and strides (in bytes)."""
    if array.flags.c_contiguous:  # the same view as ``as_strided``'s, made in a quarter of its time
        view = np.ndarray(shape, array.dtype, buffer=array, strides=strides)
        view.flags.writeable = False
        return view
    return as_strided(array, shape=shape, strides=strides, writeable=False)


def pixels(array):
    """``array`` (its last axis contiguous) with each pixel's channels seen as one opaque element.

    A strided selection of pixels is copied by NumPy with an inner loop over each pixel's
    channels; with few channels the loop's start-up costs as much as the copying.  Seen as
    one ``np.void`` element per pixel, the same copy moves whole pixels.
    """
    return array.view(np.dtype((np.void, array.shape[-1] * array.itemsize)))[..., 0]


def columns_bytes(input_shape, geometry, itemsize, ones_column=False):
    """The size in bytes of the im2col matrix of an input of ``input_shape``."""
    n, _, _, c = input_shape
    (oh, ow), (kh, kw) = geometry.out_shape, geometry.kernel
    return n * oh * ow * (kh * kw * c + ones_column) * itemsize


def im2col(x, geometry, ones_column=False, empty=np.empty, by_pool_quarter=False):
    """The receptive fields of ``x`` as the rows of an (N*OH*OW, KH*KW*C) matrix.

    Args:
        x: NHWC array.
        geometry: the conv's ``Geometry2D``.
        ones_column: append a column of ones (a bias's input).
        by_pool_quarter: order the rows as ``windows(..., by_pool_quarter=True)`` does
            (OH and OW even), so that a product with the filters comes out as the four
            quarters of 2x2 pooling windows, each a contiguous block.

    The matrix is C-ordered, or for inputs with few channels (``tuning.TAP_MAJOR_MAX_CHANNELS``)
    the transpose of a C-ordered (KH*KW*C, N*OH*OW) array, built one kernel tap at a time
    with whole image rows per copy; matrix products take either as it is.
    """
    n, _, _, c = x.shape
    (oh, ow), (kh, kw) = geometry.out_shape, geometry.kernel
    positions, size = n * oh * ow, kh * kw * c
    padded = pad_spatial(x, geometry, empty=empty)
    fields = windows(padded, geometry, by_pool_quarter)
    lead = (slice(None),) * (fields.ndim - 6)  # the (2, 2) quarter axes, if any, come before the images
    position_shape = fields.shape[:-3]
    if c <= tuning.TAP_MAJOR_MAX_CHANNELS:
        rows = empty((size + ones_column, positions), x.dtype)
        taps = rows[:size].reshape(kh, kw, c, *position_shape)
        if by_pool_quarter and math.prod(_quarter_offsets(geometry)) < 4 * kh * kw:
            _copy_quarter_taps_by_offsets(padded, geometry, taps, empty)
            if ones_column:
                rows[size] = 1
            return rows.T
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


def _quarter_offsets(geometry):
    """How many input rows and columns the taps of the four pooling quarters' windows start at:
    tap ``(i, j)`` of quarter ``(qi, qj)`` starts at ``(qi*SH + i*DH, qj*SW + j*DW)``."""
    (sh, sw), (dh, dw), (kh, kw) = geometry.strides, geometry.dilations, geometry.kernel
    return sh + (kh - 1) * dh + 1, sw + (kw - 1) * dw + 1


def _copy_quarter_taps_by_offsets(padded, geometry, taps, empty):
    """Fills ``taps`` (KH, KW, C, 2, 2, N, OH/2, OW/2), im2col's tap-major rows in the pooling
    quarters' order, from the padded input through the distinct offsets the taps start at.

    Taps of different quarters share offsets (a 3x3 stride-1 conv's 36 blocks of one tap and
    quarter start at 16).  Copied from the input, every block is a loop over short rows of
    values two strides apart, whose start-up costs more than the copying; here each offset's
    block is gathered once into a contiguous array, and every tap's block is then one long
    contiguous copy out of it.
    """
    n, _, _, c = padded.shape
    step_n, step_h, step_w, step_c = padded.strides
    (sh, sw), (dh, dw) = geometry.strides, geometry.dilations
    half_h, half_w = taps.shape[-2:]
    offset_rows, offset_cols = _quarter_offsets(geometry)
    shape = (offset_rows, offset_cols, c, n, half_h, half_w)
    source = _read_only_view(padded, shape, (step_h, step_w, step_c, step_n, 2 * sh * step_h, 2 * sw * step_w))
    by_offset = empty(shape, padded.dtype)
    s_row, s_col, s_channel, *s_positions = by_offset.strides
    by_tap = _read_only_view(
        by_offset, taps.shape, (dh * s_row, dw * s_col, s_channel, sh * s_row, sw * s_col, *s_positions)
    )

    def copy_part(images):
        np.copyto(by_offset[:, :, :, images], source[:, :, :, images])
        np.copyto(taps[:, :, :, :, :, images], by_tap[:, :, :, :, :, images])

    threads.parallel_parts(copy_part, n, taps.size)


def col2im(field_grads, input_shape, geometry, empty=np.empty):
    """Sum per-window gradients (N, OH, OW, KH, KW, C) back onto an input of ``input_shape``.

    The adjoint of ``windows``: each input pixel receives the sum over the windows that saw it.
    A 3x3 window of stride 2 with no padding before the input (a stride-2 'same' conv on an
    even-sized image, a 'valid' one on an odd-sized one) goes by ``_add_stride_2_windows``,
    straight into the gradient; the same sums, in the same order.
    """
    if _stride_2_windows_fit(field_grads.shape, input_shape, geometry):
        d_input = empty(tuple(input_shape), field_grads.dtype)
        threads.parallel_parts(
            lambda images: _add_stride_2_windows(d_input[images], field_grads[images]), input_shape[0], field_grads.size
        )
        return d_input
    padded = empty(padded_shape(input_shape, geometry), field_grads.dtype)
    kw, taps = geometry.kernel[1], list(tap_slices(geometry))
    threads.parallel_parts(
        lambda images: add_windows(padded[images], field_grads[images], taps, kw), input_shape[0], field_grads.size
    )
    return crop_spatial(padded, geometry, input_shape, empty)


def add_windows(padded, field_grads, taps, kw):
    """``padded`` (images of a padded input) set to the sum of ``field_grads`` (those images' windows), tap by tap."""
    padded.fill(0)
    for tap, (rows, cols) in enumerate(taps):
        padded[:, rows, cols, :] += field_grads[:, :, :, tap // kw, tap % kw, :]


def _stride_2_windows_fit(field_grads_shape, input_shape, geometry):
    """Whether ``_add_stride_2_windows`` computes this ``col2im``: 3x3 windows, stride 2, no dilation, no
    padding before the input, which has at least 2*OH rows and 2*OW columns (some 'same' padding after
    it, or none, or rows and columns after the last window that a 'valid' conv leaves unread)."""
    _, oh, ow, *_ = field_grads_shape
    _, h, w, _ = input_shape
    return (
        geometry.kernel == (3, 3)
        and geometry.strides == (2, 2)
        and geometry.dilations == (1, 1)
        and geometry.rows.pad_before == geometry.cols.pad_before == 0
        and oh > 0
        and ow > 0
        and h >= 2 * oh
        and w >= 2 * ow
    )


def _add_stride_2_windows(d_input, field_grads):
    """``col2im`` of 3x3 windows at stride 2 (see ``_stride_2_windows_fit``), written into ``d_input`` (N, H, W, C)
    from ``field_grads`` (N, OH, OW, 3, 3, C).

    Window (k, l) covers rows 2k .. 2k+2 and columns 2l .. 2l+2.  An odd row 2k+1 is seen by tap row 1
    of window row k alone; an even row 2k by tap row 0 of window row k and tap row 2 of window row
    k-1; likewise the columns.  So each of the four (row parity, column parity) phases of the input
    is one copy or a sum of two or four shifted taps, each written once: no zeroing first, and no
    strided read-modify-write per tap.  A pixel's terms are added in ``add_windows``'s tap order
    (row-major), so the sums round as ``add_windows``'s do.  A last row or column past ``2*OH``
    (``2*OW``), the padding after a 'same' input, is not written; rows and columns after ``2*OH + 1``
    (``2*OW + 1``), which no window reads, are zeros.
    """
    _, oh, ow, _, _, _ = field_grads.shape
    _, h, w, _ = d_input.shape
    last_row, last_col = h > 2 * oh, w > 2 * ow  # row 2*OH / column 2*OW is part of the input
    d_input[:, 2 * oh + 1 :].fill(0)
    d_input[:, : 2 * oh + 1, 2 * ow + 1 :].fill(0)

    def tap(i, j):
        return field_grads[:, :, :, i, j]

    def pair(first, second, into, last):
        """``into`` (..., K [+ 1], C) over the even places 2l of an axis that ``first`` and ``second`` have K
        windows along (the one before the channels): ``first[l] + second[l-1]``, place 0 ``first[0]``
        alone, place K (when ``last``) ``second[K-1]`` alone."""
        k = first.shape[-2]
        np.copyto(pixels(into[..., :1, :]), pixels(first[..., :1, :]))
        np.add(first[..., 1:, :], second[..., :-1, :], out=into[..., 1:k, :])
        if last:
            np.copyto(pixels(into[..., k:, :]), pixels(second[..., k - 1 :, :]))

    def by_rows(array):
        return array.swapaxes(1, 2)  # (N, columns, rows, C): the rows are the axis before the channels

    np.copyto(pixels(d_input[:, 1 : 2 * oh : 2, 1 : 2 * ow : 2]), pixels(tap(1, 1)))  # odd rows, odd columns
    pair(tap(1, 0), tap(1, 2), d_input[:, 1 : 2 * oh : 2, 0::2], last_col)  # odd rows, even columns
    # Even rows, odd columns: tap (0, 1) of window row k, then (2, 1) of row k-1.
    pair(by_rows(tap(0, 1)), by_rows(tap(2, 1)), by_rows(d_input[:, 0::2, 1 : 2 * ow : 2]), last_row)
    # Even rows, even columns: taps (0, 0), (0, 2) of window row k, then (2, 0), (2, 2) of row k-1.
    even_even = d_input[:, 0::2, 0::2]
    pair(tap(0, 0), tap(0, 2), even_even[:, :oh], last_col)
    below = even_even[:, 1:oh]
    below[:, :, :ow] += tap(2, 0)[:, : oh - 1]
    below[:, :, 1:] += tap(2, 2)[:, : oh - 1, : ow + last_col - 1]
    if last_row:
        pair(tap(2, 0)[:, oh - 1], tap(2, 2)[:, oh - 1], even_even[:, oh], last_col)
