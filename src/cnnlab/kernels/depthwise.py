"""Depthwise 2-D convolution on NumPy arrays: forward and its two backward passes.

Layouts are TF's: images NHWC, depthwise filters (KH, KW, C, M) with M the depth
multiplier; output channel ``c * M + m`` is input channel ``c`` correlated with
filter ``[:, :, c, m]``.  The window geometry comes from ``padding.geometry_2d``.
Each function loops only over the KH*KW kernel taps; each tap is one broadcast
product over the whole batch.
"""

import numpy as np

from .padding import Geometry2D


def _taps(geometry: Geometry2D):
    """``(i, j, rows, cols)`` for each tap: the slices of the padded input it sees at every output position."""
    (oh, ow), (kh, kw) = geometry.out_shape, geometry.kernel
    (sh, sw), (dh, dw) = geometry.strides, geometry.dilations
    for i in range(kh):
        for j in range(kw):
            yield i, j, slice(i * dh, i * dh + (oh - 1) * sh + 1, sh), slice(j * dw, j * dw + (ow - 1) * sw + 1, sw)


def _pad(x, geometry):
    (_, top, bottom), (_, left, right) = geometry.rows, geometry.cols
    if not (top or bottom or left or right):
        return x
    return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))


def depthwise_conv2d(x, filters, geometry):
    """(N, H, W, C) and (KH, KW, C, M) -> (N, OH, OW, C * M)."""
    n, _, _, channels = x.shape
    multiplier = filters.shape[3]
    padded = _pad(x, geometry)
    out = np.zeros((n, *geometry.out_shape, channels, multiplier), dtype=np.result_type(x, filters))
    for i, j, rows, cols in _taps(geometry):
        out += padded[:, rows, cols, :, None] * filters[i, j]
    return out.reshape(n, *geometry.out_shape, channels * multiplier)


def depthwise_conv2d_backprop_input(out_backprop, filters, input_shape, geometry):
    """The gradient with respect to the input, of ``input_shape`` (N, H, W, C)."""
    n, h, w, channels = input_shape
    dy = out_backprop.reshape(n, *geometry.out_shape, channels, filters.shape[3])
    (_, top, bottom), (_, left, right) = geometry.rows, geometry.cols
    padded = np.zeros((n, top + h + bottom, left + w + right, channels), dtype=np.result_type(out_backprop, filters))
    for i, j, rows, cols in _taps(geometry):
        padded[:, rows, cols, :] += np.einsum("nhwcm,cm->nhwc", dy, filters[i, j])
    return np.ascontiguousarray(padded[:, top : top + h, left : left + w, :])


def depthwise_conv2d_backprop_filter(x, out_backprop, filter_shape, geometry):
    """The gradient with respect to filters of ``filter_shape`` (KH, KW, C, M)."""
    n, _, _, channels = x.shape
    dy = out_backprop.reshape(n, *geometry.out_shape, channels, filter_shape[3])
    padded = _pad(x, geometry)
    grads = np.zeros(filter_shape, dtype=np.result_type(x, out_backprop))
    for i, j, rows, cols in _taps(geometry):
        grads[i, j] = np.einsum("nhwc,nhwcm->cm", padded[:, rows, cols, :], dy)
    return grads
