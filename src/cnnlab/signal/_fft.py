"""The FFT method: a correlation as a product of spectra (``numpy.fft``).

Both engines (this one and ``_direct``) solve the same problem, set up by the
public functions::

    out[j] = sum_t padded[j * stride + t] * weights[t]      (every axis)

where ``padded`` is ``data`` with ``before`` zeros in front of every axis.  Here that
sum is read as the linear *convolution* of ``data`` with ``kernel = flip(weights)``:
``out[j] = full[offset + j * stride]`` with ``offset = (k - 1) - before``.  The full
convolution is the inverse transform of the product of the two spectra, once both
are zero-padded to a length ``N`` that keeps the circular convolution the FFT
computes from wrapping onto the samples we keep.

Stride without the unstrided result: keeping every ``s``-th sample of a length-``N``
signal (``N`` a multiple of ``s``) folds its spectrum onto ``N / s`` bins::

    y[m] = x[m * s]   <=>   Y[g] = (1 / s) * sum_r X[g + r * N / s]

so the product spectrum is folded and only the short inverse transform is done.
The two forward transforms still have the full length: an FFT needs every sample.
"""

import math

import numpy as np

# Timing model in nanoseconds, timed on the development machine (2-core x86, NumPy
# 2.4's pocketfft): per complex point * log2(points) of one transform (1-D real
# transforms of long signals came out slower per point than N-D ones), and per
# 1-D pass of a transform over one axis.
FFT_NS_PER_POINT_LOG2_1D = 3.0
FFT_NS_PER_POINT_LOG2_ND = 1.5
FFT_PASS_NS = 25_000.0


def next_fast_len(target):
    """The smallest ``2**a * 3**b * 5**c >= target``: a length pocketfft transforms fast."""
    best = 1 << (target - 1).bit_length()  # the next power of two
    power5 = 1
    while power5 < best:
        power35 = power5
        while power35 < best:
            quotient = -(-target // power35)
            best = min(best, power35 << (quotient - 1).bit_length())
            power35 *= 3
        power5 *= 5
    return best


def transform_shape(data_shape, kernel_shape, before, strides, out_shape):
    """The zero-padded length of every axis (see the module docstring).

    The wanted samples are ``full[f]`` for ``f`` in ``[offset, last]``; a circular
    convolution of length ``N`` adds ``full[f +- N]`` to them, which is zero when
    ``N >= n + k - 1 - offset`` and ``N > last``.  'valid' mode thus needs only
    ``N = n``.  ``N`` is a multiple of the stride so that the spectrum folds.
    """
    shape = []
    for n, k, b, s, out in zip(data_shape, kernel_shape, before, strides, out_shape):
        offset = k - 1 - b
        needed = max(n + k - 1 - offset, offset + (out - 1) * s + 1)
        shape.append(s * next_fast_len(-(-needed // s)))
    return tuple(shape)


def fft_correlate(data, weights, pads, strides, out_shape):
    """``out[j] = sum_t padded[j * stride + t] * weights[t]`` by FFT (zero padding).

    ``data`` and ``weights`` are float or complex arrays of one precision; the result
    is float (both real) or complex.

    The N-D transforms are done one axis at a time, the last axis first, so that no
    time goes into transforming the zeros a small kernel is padded with, and the
    inverse of the last axis is taken only for the rows that are kept.
    """
    before = [b for b, _ in pads]
    shape = transform_shape(data.shape, weights.shape, before, strides, out_shape)
    last = data.ndim - 1
    real = not (np.iscomplexobj(data) or np.iscomplexobj(weights))
    forward = np.fft.rfft if real else np.fft.fft  # along the last axis

    # Put kernel tap t at (t - offset) mod N: the product's inverse then starts at
    # the first wanted sample, full[offset], and the kept samples are j * stride.
    taps = [(np.arange(k) - (k - 1 - b)) % n for k, b, n in zip(weights.shape, before, shape)]
    kernel_rows = np.zeros(weights.shape[:-1] + shape[-1:], weights.dtype)
    kernel_rows[..., taps[-1]] = weights[(slice(None, None, -1),) * weights.ndim]
    kernel = forward(kernel_rows, axis=last)
    spectrum = forward(data, shape[-1], axis=last)
    if last:
        # The other axes: numpy transforms a contiguous axis faster than a strided
        # one, so the last axis (frequencies now) moves to the front meanwhile.
        spectrum = np.ascontiguousarray(np.moveaxis(spectrum, last, 0))
        kernel_taps = np.moveaxis(kernel, last, 0)
        kernel = np.zeros(kernel_taps.shape[:1] + shape[:-1], kernel_taps.dtype)
        kernel[np.ix_(np.arange(kernel.shape[0]), *taps[:-1])] = kernel_taps
        others = tuple(range(1, data.ndim))
        kernel = np.fft.fftn(kernel, axes=others)
        spectrum = np.fft.fftn(spectrum, shape[:-1], axes=others)
    spectrum *= kernel

    # Back: fold each axis by its stride and invert it, keeping only the wanted
    # rows before the last axis (a real signal's half spectrum, if real) is inverted.
    if last:
        for axis, stride in zip(others, strides):
            spectrum = _fold(spectrum, axis, stride)
        spectrum = np.fft.ifftn(spectrum, axes=others)[(slice(None),) + tuple(slice(0, n) for n in out_shape[:-1])]
        spectrum = np.ascontiguousarray(np.moveaxis(spectrum, 0, last))
    samples = shape[-1] // strides[-1]
    if real:
        out = np.fft.irfft(_fold_half_spectrum(spectrum, shape[-1], strides[-1]), samples, axis=last)
    else:
        out = np.fft.ifft(_fold(spectrum, last, strides[-1]), axis=last)
    out = out[..., : out_shape[-1]]
    out /= math.prod(strides)
    return out


def _fold(spectrum, axis, stride):
    """Fold a full spectrum onto ``N / stride`` bins along ``axis``."""
    if stride == 1:
        return spectrum
    n = spectrum.shape[axis]
    folded_shape = spectrum.shape[:axis] + (stride, n // stride) + spectrum.shape[axis + 1 :]
    return spectrum.reshape(folded_shape).sum(axis=axis)


def _fold_half_spectrum(half, n, stride):
    """Fold the last axis of a real signal's half spectrum (``n // 2 + 1`` bins).

    The folded signal is real too, so only its own half spectrum is built; a bin
    ``f`` above ``n // 2`` is read as ``conj(X[n - f])`` (Hermitian symmetry).
    """
    if stride == 1:
        return half
    m = n // stride
    bins = np.arange(m // 2 + 1)[:, None] + m * np.arange(stride)[None, :]
    stored = bins <= n // 2
    values = half[..., np.where(stored, bins, n - bins)]
    return np.where(stored, values, values.conj()).sum(axis=-1)


def fft_seconds(data_shape, kernel_shape, before, strides, out_shape, is_complex):
    """Estimated run time of ``fft_correlate``, from the timing model above."""
    shape = transform_shape(data_shape, kernel_shape, before, strides, out_shape)
    points = math.prod(shape) / (1 if is_complex else 2)  # a real transform is half a complex one
    per_point = FFT_NS_PER_POINT_LOG2_1D if len(shape) == 1 else FFT_NS_PER_POINT_LOG2_ND
    # two forward transforms of N points and an inverse one shortened by the strides
    transforms = 2 + 1 / math.prod(strides)
    ns = transforms * (len(shape) * FFT_PASS_NS + per_point * points * math.log2(max(points, 2)))
    return ns * 1e-9
