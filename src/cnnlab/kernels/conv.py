"""conv2d on NumPy arrays: im2col + one GEMM forward, and its two backward passes.

Layouts are TF's: images NHWC, filters HWIO.  The window geometry (padding,
output size) always comes from ``padding.geometry_2d``.

* forward: every receptive field is copied into one row of a
  ``(N*OH*OW, KH*KW*C)`` matrix (im2col), which one matrix product with the
  filters reshaped to ``(KH*KW*C, O)`` turns into the output;
* gradient w.r.t. the filters: ``cols.T @ dy``, one GEMM;
* gradient w.r.t. the input: ``dy @ W.T`` gives each window's share, which
  col2im adds back onto the image with one strided slice per kernel tap.

No function here loops over pixels or samples; the only Python loops run over
the KH*KW kernel taps.
"""

import numpy as np
from numpy.lib.stride_tricks import as_strided


def pad_spatial(x, geometry, value=0):
    """``x`` (NHWC) with the geometry's padding added around height and width (``x`` itself if none)."""
    if not geometry.is_padded:
        return x
    n, h, w, c = x.shape
    _, top, bottom = geometry.rows
    _, left, right = geometry.cols
    padded = np.full((n, top + h + bottom, left + w + right, c), value, dtype=x.dtype)
    padded[:, top : top + h, left : left + w, :] = x
    return padded


def crop_spatial(padded, geometry, input_shape):
    """The inverse of ``pad_spatial``: the (height, width) region of the original input."""
    if not geometry.is_padded:
        return padded
    _, h, w, _ = input_shape
    top, left = geometry.rows.pad_before, geometry.cols.pad_before
    return np.ascontiguousarray(padded[:, top : top + h, left : left + w, :])


def tap_slices(geometry):
    """For each kernel tap ``(i, j)``, in row-major order, the (rows, cols) slices of the padded
    input that the tap sees across all output positions."""
    (oh, ow), (kh, kw) = geometry.out_shape, geometry.kernel
    (sh, sw), (dh, dw) = geometry.strides, geometry.dilations
    for i in range(kh):
        for j in range(kw):
            yield slice(i * dh, i * dh + (oh - 1) * sh + 1, sh), slice(j * dw, j * dw + (ow - 1) * sw + 1, sw)


def windows(padded, geometry):
    """A read-only view of all receptive fields of a padded NHWC array: shape (N, OH, OW, KH, KW, C)."""
    n, _, _, c = padded.shape
    step_n, step_h, step_w, step_c = padded.strides
    (sh, sw), (dh, dw) = geometry.strides, geometry.dilations
    return as_strided(
        padded,
        shape=(n, *geometry.out_shape, *geometry.kernel, c),
        strides=(step_n, step_h * sh, step_w * sw, step_h * dh, step_w * dw, step_c),
        writeable=False,
    )


def im2col(x, geometry):
    """The receptive fields of ``x`` as rows of a contiguous (N*OH*OW, KH*KW*C) matrix."""
    fields = windows(pad_spatial(x, geometry), geometry)
    n, oh, ow, kh, kw, c = fields.shape
    return fields.reshape(n * oh * ow, kh * kw * c)  # a copy (the view is not contiguous) unless 1x1


def col2im(field_grads, input_shape, geometry):
    """Sum per-window gradients (N, OH, OW, KH, KW, C) back onto an input of ``input_shape``.

    The adjoint of ``windows``: each input pixel receives the sum over the windows that saw it.
    """
    n, h, w, c = input_shape
    padded = np.zeros(
        (n, h + geometry.rows.pad_before + geometry.rows.pad_after, w + geometry.cols.pad_before + geometry.cols.pad_after, c),
        dtype=field_grads.dtype,
    )
    kw = geometry.kernel[1]
    for tap, (rows, cols) in enumerate(tap_slices(geometry)):
        padded[:, rows, cols, :] += field_grads[:, :, :, tap // kw, tap % kw, :]
    return crop_spatial(padded, geometry, input_shape)


def conv2d(x, filters, geometry):
    """Cross-correlate NHWC ``x`` with HWIO ``filters``: an (N, OH, OW, O) array."""
    n = x.shape[0]
    out_channels = filters.shape[3]
    product = im2col(x, geometry) @ filters.reshape(-1, out_channels)
    return product.reshape(n, *geometry.out_shape, out_channels)


def conv2d_backprop_filter(x, out_backprop, filter_shape, geometry):
    """The gradient of ``conv2d(x, filters)`` with respect to ``filters``, given ``out_backprop`` = dL/dy."""
    dy = out_backprop.reshape(-1, filter_shape[3])
    return (im2col(x, geometry).T @ dy).reshape(filter_shape)


def conv2d_backprop_input(out_backprop, filters, input_shape, geometry):
    """The gradient of ``conv2d(x, filters)`` with respect to ``x``, given ``out_backprop`` = dL/dy."""
    kh, kw, c, out_channels = filters.shape
    n, oh, ow, _ = out_backprop.shape
    field_grads = out_backprop.reshape(-1, out_channels) @ filters.reshape(-1, out_channels).T
    return col2im(field_grads.reshape(n, oh, ow, kh, kw, c), input_shape, geometry)
