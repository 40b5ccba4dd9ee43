"""The direct method: sums of products over sliding windows, in plain NumPy.

Both engines (this one and ``_fft``) solve the same problem, set up by the public
functions::

    out[j] = sum_t padded[j * stride + t] * weights[t]      (every axis)

where ``padded`` is ``data`` extended by ``pads`` cells per axis (a constant, or the
data wrapped around, or mirrored).  A stride only changes which windows are read,
so a strided result costs ``1 / prod(stride)`` of an unstrided one.

Three ways to do the sum; ``direct_seconds`` estimates each and the cheapest runs:

* **by taps**: one NumPy pass per kernel tap, ``out += w[t] * (shifted data)``, over
  one cache-sized block of output rows at a time.  Best for big outputs and small
  kernels (a 5x5 kernel is 25 passes over each block of the image).
* **by windows** (im2col): ``sliding_window_view`` gathers every window, then one
  ``tensordot`` (a BLAS matrix-vector product) does all the sums.  Best for small
  outputs and big kernels, where a Python loop over taps would dominate.  The gather
  is done in blocks of output rows so that memory stays bounded.
* **numpy.correlate**: for 1-D without stride, NumPy's own direct correlation (the
  one ``scipy.signal`` calls for 1-D input).
"""

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

_NUMPY_PAD_MODES = {"wrap": "wrap", "symm": "symmetric"}

# Output bytes the taps method sums at once (all taps over one block of rows).
_TAP_BLOCK_BYTES = 2**20
# Elements gathered at once by the windows method: 2 MiB of float64, which stays in
# cache while BLAS reads it back (bigger blocks were slower, smaller ones too).
_WINDOW_BLOCK_ELEMENTS = 2**18

# Timing model in nanoseconds, timed on the development machine (2-core x86, NumPy
# 2.4 with OpenBLAS) for 1-D to 3-D float32/float64 inputs; good to a factor of ~2,
# which is all that choosing between methods needs.
TAP_CALL_NS = 4_000.0  # taps: slicing, multiply and add for one kernel tap ...
TAP_NS_PER_BYTE = 0.15  # ... and per byte of output it streams through
WINDOW_CALL_NS = 30_000.0  # windows: set-up ...
WINDOW_NS_PER_PRODUCT = 1.2  # ... and per product (gathering the element dominates)
DOT_CALL_NS = 25.0  # numpy.correlate: one BLAS dot call per output (kernels > 12 taps) ...
DOT_NS_PER_BYTE = 0.05  # ... and per byte of kernel per output
_DOT_SMALL_KERNEL = 12  # numpy.correlate's own loop, without a call per output, up to here


def direct_correlate(data, weights, pads, strides, out_shape, boundary="fill", fillvalue=0):
    """``out[j] = sum_t padded[j * stride + t] * weights[t]`` for every output index j.

    Args:
        data, weights: arrays of one dtype, with the same number of dimensions.
        pads: one ``(before, after)`` pair per axis.
        strides: one step per axis.
        out_shape: the output shape (from ``window_geometry``).
        boundary: 'fill' (``fillvalue``), 'wrap' (periodic) or 'symm' (mirrored).
        fillvalue: the constant for 'fill', already of the data's dtype.
    """
    engine = _cheapest_engine(weights.shape, strides, out_shape, data.dtype.itemsize)
    if engine == "numpy" and boundary == "fill" and fillvalue == 0:
        numpy_mode = _numpy_correlate_mode(len(data), len(weights), pads[0])
        if numpy_mode:  # numpy.correlate pads by itself: no padded copy of a long signal
            return np.correlate(data, weights.conj(), mode=numpy_mode)  # it conjugates its 2nd input
    return _ENGINES[engine](_extend(data, pads, boundary, fillvalue), weights, strides, out_shape)


def _extend(data, pads, boundary, fillvalue):
    """``data`` with ``pads`` cells added per axis by the boundary rule."""
    if not any(before or after for before, after in pads):
        return data
    if boundary != "fill":
        return np.pad(data, pads, mode=_NUMPY_PAD_MODES[boundary])
    # np.pad costs tens of microseconds even for tiny arrays; a constant is simply this
    padded = np.full([n + before + after for n, (before, after) in zip(data.shape, pads)], fillvalue, data.dtype)
    padded[tuple(slice(before, before + n) for n, (before, _) in zip(data.shape, pads))] = data
    return padded


def _numpy_correlate_mode(n, k, pads):
    """numpy.correlate's mode with these zero pads, if it has one."""
    if pads == (0, 0):
        return "valid"
    if pads == (k - 1, k - 1):
        return "full"
    if pads == (k // 2, (k - 1) // 2) and n >= k:
        return "same"  # numpy's 'same' has max(n, k) samples
    return None


def direct_seconds(weights_shape, strides, out_shape, itemsize):
    """Estimated run time of the cheapest direct engine."""
    return min(_engine_seconds(weights_shape, strides, out_shape, itemsize).values())


def _engine_seconds(weights_shape, strides, out_shape, itemsize):
    taps = math.prod(weights_shape)
    outputs = math.prod(out_shape)
    tap_blocks = -(-outputs * itemsize // _TAP_BLOCK_BYTES)
    seconds = {
        "taps": taps * (tap_blocks * TAP_CALL_NS + TAP_NS_PER_BYTE * outputs * itemsize),
        "windows": WINDOW_CALL_NS + WINDOW_NS_PER_PRODUCT * taps * outputs,
    }
    if len(weights_shape) == 1 and strides[0] == 1:
        call = DOT_CALL_NS if taps > _DOT_SMALL_KERNEL else 0.0
        seconds["numpy"] = outputs * (call + DOT_NS_PER_BYTE * taps * itemsize)
    return {name: ns * 1e-9 for name, ns in seconds.items()}


def _cheapest_engine(weights_shape, strides, out_shape, itemsize):
    seconds = _engine_seconds(weights_shape, strides, out_shape, itemsize)
    return min(seconds, key=seconds.get)


def _window_slices(start, strides, out_shape):
    """Per axis, the cells ``start + j * stride`` for every output index ``j``."""
    return tuple(slice(t, t + (n - 1) * s + 1, s) for t, s, n in zip(start, strides, out_shape))


def _by_taps(padded, weights, strides, out_shape):
    out = np.zeros(out_shape, weights.dtype)
    taps = list(zip(np.ndindex(weights.shape), weights.ravel().tolist()))
    # All taps for one block of output rows, then the next block: the block, its
    # product and the data it reads stay in cache across the taps.
    rows_per_block = max(1, _TAP_BLOCK_BYTES // out[0].nbytes)
    for first_row in range(0, out_shape[0], rows_per_block):
        block = out[first_row : first_row + rows_per_block]
        product = np.empty_like(block)
        origin = (first_row * strides[0],) + (0,) * (weights.ndim - 1)
        for tap, weight in taps:
            start = [o + t for o, t in zip(origin, tap)]
            np.multiply(padded[_window_slices(start, strides, block.shape)], weight, out=product)
            block += product
    return out


def _by_windows(padded, weights, strides, out_shape):
    windows = sliding_window_view(padded, weights.shape)
    windows = windows[_window_slices((0,) * weights.ndim, strides, out_shape)]
    out = np.empty(out_shape, weights.dtype)
    elements_per_row = math.prod(out_shape[1:]) * weights.size
    rows_per_block = max(1, _WINDOW_BLOCK_ELEMENTS // elements_per_row)
    for row in range(0, out_shape[0], rows_per_block):
        block = slice(row, row + rows_per_block)
        out[block] = np.tensordot(windows[block], weights, axes=weights.ndim)
    return out


def _by_numpy_correlate(padded, weights, strides, out_shape):
    return np.correlate(padded, weights.conj(), mode="valid")  # it conjugates its 2nd input


_ENGINES = {"taps": _by_taps, "windows": _by_windows, "numpy": _by_numpy_correlate}
