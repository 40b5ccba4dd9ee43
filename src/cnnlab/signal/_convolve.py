"""convolve / correlate (N-D) and convolve2d / correlate2d, as in scipy.signal, plus stride.

Every function turns its arguments into one problem, shared by both methods::

    out[j] = sum_t padded[j * stride + t] * weights[t]      (every axis)

* correlation slides ``weights = conj(in2)`` over ``in1``; convolution slides the
  flipped kernel ``weights = in2[::-1, ...]``;
* the mode decides the padding of ``in1`` (``k`` is the kernel length of an axis):
  'full' pads ``k - 1`` on both sides, 'valid' pads nothing, and 'same' pads ``k - 1``
  in total, centred on the 'full' output as scipy centres it: the odd cell of an
  even kernel goes *before* the data for ``convolve``, ``correlate`` and
  ``convolve2d``, and *after* it for ``correlate2d`` (the documented one-index
  offset between scipy's ``correlate`` and ``correlate2d``);
* the output size of every axis comes from ``kernels.padding.window_geometry``.

Convolution is commutative, so where the second input is the larger one ('valid'
mode needs this; in 'full' mode it is faster) the two swap roles: the flipped first
input slides over the second.
"""

import numbers
import time
from typing import NamedTuple

import numpy as np

from ..kernels.padding import window_geometry
from ._direct import direct_correlate, direct_seconds
from ._fft import fft_correlate, fft_seconds

MODES = ("full", "same", "valid")
METHODS = ("auto", "direct", "fft")
# scipy's boundary names and their aliases -> the canonical name
BOUNDARIES = {"fill": "fill", "pad": "fill", "wrap": "wrap", "circular": "wrap", "symm": "symm", "symmetric": "symm"}
_LARGEST_EXACT_FLOAT64_INT = 2**52 - 1


class _Problem(NamedTuple):
    """``out[j] = sum_t padded[j * strides + t] * weights[t]``, then the output dtype."""

    data: np.ndarray
    weights: np.ndarray
    pads: tuple  # one (before, after) pair per axis
    strides: tuple
    out_shape: tuple
    boundary: str
    fillvalue: object
    result_dtype: np.dtype
    conjugate_result: bool


def convolve(in1, in2, mode="full", method="auto", *, stride=1):
    """N-dimensional convolution, as ``scipy.signal.convolve``, with an optional stride.

    ``out[i] = sum_t in1[i - t] * in2[t]`` (the kernel is flipped), zero outside ``in1``.

    Args:
        in1: the first input (array-like; bool, int, float or complex).
        in2: the second input, with as many dimensions as ``in1``.
        mode: 'full' (every overlap), 'valid' (no zero padding used; the larger input
            must be at least as large as the other in every dimension) or 'same'
            (the size of ``in1``, centred on 'full').
        method: 'direct' (sums over sliding windows), 'fft' (product of spectra;
            as in scipy, an axis where either input has length 1 is multiplied, not
            transformed) or 'auto' (the faster by ``choose_conv_method``'s estimate).
        stride: an int or one int per axis: keep every ``stride``-th output,
            starting at the first (``scipy``'s result ``[::stride]``), without
            computing the others.

    Returns:
        An array of dtype ``np.result_type(in1, in2)`` (integers stay integers).

    Shape:
        Per axis with ``n = in1`` and ``k = in2`` lengths: see ``output_size``
        ('full': ``ceil((n + k - 1) / stride)``, 'same': ``ceil(n / stride)``,
        'valid': ``(|n - k|) // stride + 1``).

    Example:
        >>> convolve([1, 2, 3], [0, 1, 0.5])
        array([0. , 1. , 2.5, 4. , 1.5])
        >>> convolve([1, 2, 3, 4, 5], [1, 1], mode='valid', stride=2)
        array([3, 7])
    """
    return _run("convolve", in1, in2, mode, method, stride, correlation=False)


def correlate(in1, in2, mode="full", method="auto", *, stride=1):
    """N-dimensional cross-correlation, as ``scipy.signal.correlate``, with an optional stride.

    ``full[f] = sum_t in1[f - (k - 1) + t] * conj(in2[t])`` (the kernel slides
    unflipped; ``k`` is the length of ``in2``), zero outside ``in1``.  'same' keeps
    ``full[(k - 1) // 2 :][:n]`` per axis.

    Args:
        in1, in2, mode, method, stride: as for ``convolve``.

    Returns:
        An array of dtype ``np.result_type(in1, in2)``.

    Shape:
        As for ``convolve`` (see ``output_size``).

    Example:
        >>> correlate([1, 2, 3], [0, 1, 0.5])
        array([0.5, 2. , 3.5, 3. , 0. ])
    """
    return _run("correlate", in1, in2, mode, method, stride, correlation=True)


def convolve2d(in1, in2, mode="full", boundary="fill", fillvalue=0, *, stride=1):
    """2-D convolution with a boundary rule, as ``scipy.signal.convolve2d``, with a stride.

    Always computed directly (sums over windows), as scipy does.

    Args:
        in1, in2: 2-D arrays.
        mode: 'full', 'valid' or 'same' (as for ``convolve``).
        boundary: how ``in1`` is extended past its edges: 'fill' (alias 'pad') with
            ``fillvalue``, 'wrap' (alias 'circular') periodically, or 'symm' (alias
            'symmetric') mirrored with the edge repeated (``3 2 1 | 1 2 3 | 3 2 1``).
        fillvalue: the constant for 'fill' (a scalar, cast to the output dtype; one
            it cannot hold, such as ``1j`` for real inputs, is a ValueError as in scipy).
        stride: an int or a pair: keep every ``stride``-th output, starting at the first.

    Returns:
        A 2-D array of dtype ``np.result_type(in1, in2)``.

    Shape:
        As for ``convolve`` (see ``output_size``).  As in scipy, an input may be
        empty: an empty ``in2`` gives zeros, an empty ``in1`` in 'full' mode gives
        ``fillvalue * sum(in2)`` everywhere (``boundary='fill'`` only).

    Example:
        >>> convolve2d([[1, 2], [3, 4]], [[1, 1]], mode='same', boundary='wrap')
        array([[3, 3],
               [7, 7]])
    """
    return _run(
        "convolve2d", in1, in2, mode, "direct", stride, correlation=False, boundary=boundary, fillvalue=fillvalue
    )


def correlate2d(in1, in2, mode="full", boundary="fill", fillvalue=0, *, stride=1):
    """2-D cross-correlation with a boundary rule, as ``scipy.signal.correlate2d``, with a stride.

    'same' mode keeps ``full[k // 2 :][:n]`` per axis: for an even kernel this is one
    index later than ``correlate`` (scipy documents the difference), and it is
    TensorFlow's 'SAME' padding (the extra padded cell goes after the data).  As in
    scipy, 'valid' mode with a larger ``in2`` and complex inputs returns the complex
    conjugate of ``correlate``'s result.

    Args:
        in1, in2, mode, boundary, fillvalue, stride: as for ``convolve2d``.

    Returns:
        A 2-D array of dtype ``np.result_type(in1, in2)``.

    Shape:
        As for ``convolve2d`` (an empty ``in1`` in 'full' mode gives ``fillvalue * sum(conj(in2))``).

    Example:
        >>> correlate2d([[1, 2, 3], [4, 5, 6]], [[1, -1]], mode='valid')
        array([[-1, -1],
               [-1, -1]])
    """
    return _run(
        "correlate2d", in1, in2, mode, "direct", stride, correlation=True, boundary=boundary, fillvalue=fillvalue
    )


def output_size(n, k, stride=1, mode="full"):
    """The output length of one axis (or shape, given shapes) for a mode and a stride.

    With ``n`` the length of ``in1`` and ``k`` that of ``in2``:

    * 'full':  ``(n + k - 2) // stride + 1``  (= ``ceil((n + k - 1) / stride)``);
    * 'same':  ``(n - 1) // stride + 1``      (= ``ceil(n / stride)``);
    * 'valid': ``(n - k) // stride + 1``, or ``(k - n) // stride + 1`` when ``in2``
      is the larger (scipy swaps the inputs).

    Args:
        n: length of ``in1`` along the axis, or the shape of ``in1``.
        k: length of ``in2`` along the axis, or the shape of ``in2``.
        stride: an int, or one per axis when shapes are given.
        mode: 'full', 'same' or 'valid'.

    Returns:
        An int, or a tuple of ints when shapes are given.

    Example:
        >>> output_size(28, 5, stride=2, mode='valid')
        12
        >>> output_size((512, 512), (5, 5), stride=2, mode='same')
        (256, 256)
    """
    op = "output_size"
    _check_choice(mode, MODES, "mode", op)
    if isinstance(n, numbers.Integral) and isinstance(k, numbers.Integral):
        shape1, shape2, scalar = (n,), (k,), True
    else:
        shape1, shape2, scalar = tuple(n), tuple(k), False
    if len(shape1) != len(shape2):
        raise ValueError(f"{op}: n and k must have the same number of dimensions; received n={n!r}, k={k!r}.")
    for name, value, shape in (("n", n, shape1), ("k", k, shape2)):
        if any(not isinstance(size, numbers.Integral) or isinstance(size, bool) or size < 1 for size in shape):
            raise ValueError(f"{op}: {name} must be a positive integer or a shape of them; received {name}={value!r}.")
    strides = _normalize_stride(stride, len(shape1), op)
    if mode == "valid" and _valid_needs_swap(shape1, shape2, op, names=("n", "k")):
        shape1, shape2 = shape2, shape1
    sizes = tuple(
        window_geometry(a, b, s, padding=_axis_pads(mode, b, same_pads_after=(b - 1) // 2), op=op).out
        for a, b, s in zip(shape1, shape2, strides)
    )
    return sizes[0] if scalar else sizes


def choose_conv_method(in1, in2, mode="full", measure=False, *, stride=1):
    """The faster method, 'direct' or 'fft', for ``convolve`` / ``correlate`` of these inputs.

    As scipy does, integers whose exact result could exceed float64's 52-bit
    mantissa and booleans always get 'direct'.  Otherwise both methods' run times are
    estimated from their operation counts (constants timed on a 2-core x86 machine:
    the direct estimate is that of the cheapest direct engine, see ``_direct``).

    Args:
        in1, in2, mode, stride: as for ``convolve``.
        measure: if True, time both methods on these inputs instead of estimating.

    Returns:
        'direct' or 'fft'; with ``measure=True`` also a dict of the seconds each took.

    Example:
        >>> import numpy as np
        >>> choose_conv_method(np.ones((2000, 2000)), np.ones((64, 64)), mode='same')
        'fft'
        >>> choose_conv_method(np.ones(100), np.ones(3))
        'direct'
    """
    op = "choose_conv_method"
    if not isinstance(measure, (bool, np.bool_)):
        raise TypeError(f"{op}: measure must be True or False; received measure={measure!r}.")
    in1, in2 = _check_inputs(in1, in2, op)
    _check_choice(mode, MODES, "mode", op)
    if measure:
        times = {}
        for method in ("fft", "direct"):
            start = time.perf_counter()
            convolve(in1, in2, mode, method, stride=stride)
            times[method] = time.perf_counter() - start
        return min(times, key=times.get), times
    if in1.ndim == 0:
        return "direct"
    return _auto_method(_plan(op, in1, in2, mode, stride, correlation=False), in1, in2)


# ---- shared by the public functions ------------------------------------------------


def _run(op, in1, in2, mode, method, stride, *, correlation, boundary="fill", fillvalue=0):
    two_d = op.endswith("2d")
    in1, in2 = _check_inputs(in1, in2, op, ndim=2 if two_d else None, allow_empty=two_d)
    _check_choice(mode, MODES, "mode", op)
    _check_choice(method, METHODS, "method", op)
    if two_d:
        _check_choice(boundary, tuple(BOUNDARIES), "boundary", op)
        if in1.size == 0 or in2.size == 0:
            return _empty_input_result(op, in1, in2, mode, stride, correlation, boundary, fillvalue)
    elif in1.ndim == 0:
        _normalize_stride(stride, 0, op)
        return in1 * (np.conj(in2) if correlation else in2)  # as scipy: the product
    problem = _plan(
        op, in1, in2, mode, stride, correlation=correlation, boundary=BOUNDARIES[boundary], fillvalue=fillvalue
    )
    if method == "auto":
        method = _auto_method(problem, in1, in2)
    if method == "fft" and all(1 in pair for pair in zip(problem.data.shape, problem.weights.shape)):
        # As scipy's fftconvolve: an axis where either input has length 1 is multiplied, not
        # transformed.  With no axis left to transform the result is the exact product, and
        # integers wrap as they do in the direct sums instead of passing through float64.
        method = "direct"
    if method == "fft":
        out = _fft_result(problem)
    else:
        out = direct_correlate(
            problem.data,
            problem.weights,
            problem.pads,
            problem.strides,
            problem.out_shape,
            problem.boundary,
            problem.fillvalue,
        ).astype(problem.result_dtype, copy=False)
    return out.conj() if problem.conjugate_result else out


def _plan(op, in1, in2, mode, stride, *, correlation, boundary="fill", fillvalue=0):
    """Set up ``out[j] = sum_t padded[j * stride + t] * weights[t]`` (module docstring)."""
    strides = _normalize_stride(stride, in1.ndim, op)
    result_dtype = np.result_type(in1, in2)
    # NumPy's float16 arithmetic is slow and loses precision: compute in float32.
    compute_dtype = np.float32 if result_dtype == np.float16 else result_dtype
    fill = _check_fillvalue(fillvalue, result_dtype, op).astype(compute_dtype) if boundary == "fill" else None
    every_axis = (slice(None, None, -1),) * in1.ndim
    # The convolution kernel: correlating with in2 is convolving with conj(flip(in2)).
    kernel = np.conj(in2[every_axis]) if correlation else in2
    swapped = (
        _valid_needs_swap(in1.shape, in2.shape, op)
        if mode == "valid"
        else (mode == "full" and boundary == "fill" and fill == 0 and in2.size > in1.size)
    )
    data, kernel = (kernel, in1) if swapped else (in1, kernel)
    weights = kernel[every_axis]
    # correlate2d's 'same' puts the odd cell of an even kernel after the data.
    after_same = [k // 2 if op == "correlate2d" else (k - 1) // 2 for k in weights.shape]
    pads = tuple(_axis_pads(mode, k, after) for k, after in zip(weights.shape, after_same))
    out_shape = tuple(
        window_geometry(n, k, s, padding=p, op=op).out for n, k, s, p in zip(data.shape, weights.shape, strides, pads)
    )
    return _Problem(
        data=data.astype(compute_dtype, copy=False),
        weights=weights.astype(compute_dtype, copy=False),
        pads=pads,
        strides=strides,
        out_shape=out_shape,
        boundary=boundary,
        fillvalue=fill,
        result_dtype=result_dtype,
        # scipy's correlate2d returns the conjugate of a swapped complex 'valid' correlation
        conjugate_result=op == "correlate2d" and mode == "valid" and swapped and result_dtype.kind == "c",
    )


def _axis_pads(mode, k, same_pads_after):
    """The ``(before, after)`` padding of one axis of ``in1`` for a mode."""
    if mode == "full":
        return (k - 1, k - 1)
    if mode == "same":
        return (k - 1 - same_pads_after, same_pads_after)
    return (0, 0)


def _empty_input_result(op, in1, in2, mode, stride, correlation, boundary, fillvalue):
    """scipy's ``convolve2d`` / ``correlate2d`` result when ``in1`` or ``in2`` has no element.

    The shapes follow the usual rules ('full': ``n + k - 1``, 'same': ``n``, 'valid':
    ``|n - k| + 1``, then the stride).  An empty kernel sums no products: zeros.  An
    empty ``in1`` in 'full' mode leaves windows made of the boundary alone: with
    'fill' each output is ``fillvalue * sum(in2)`` (``sum(conj(in2))`` for a
    correlation); 'wrap' and 'symm' have nothing to repeat, an error (scipy crashes
    the process there).  In 'same' mode the output is empty, in 'valid' mode the
    empty input is the kernel.
    """
    strides = _normalize_stride(stride, in1.ndim, op)
    result_dtype = np.result_type(in1, in2)
    fill = _check_fillvalue(fillvalue, result_dtype, op) if BOUNDARIES[boundary] == "fill" else None
    shape1, shape2 = in1.shape, in2.shape
    if mode == "valid" and _valid_needs_swap(shape1, shape2, op):
        shape1, shape2 = shape2, shape1
    lengths = [{"full": n + k - 1, "same": n, "valid": n - k + 1}[mode] for n, k in zip(shape1, shape2)]
    if min(lengths) < 0:
        raise ValueError(
            f"{op}: in mode='full' in1 and in2 cannot both be empty along an axis; "
            f"received in1.shape={in1.shape}, in2.shape={in2.shape}."
        )
    out = np.zeros([-(-length // s) for length, s in zip(lengths, strides)], result_dtype)
    if out.size and mode == "full" and in2.size:  # in1 is the empty one: boundary values only
        if fill is None:
            raise ValueError(
                f"{op}: boundary={boundary!r} has nothing to repeat around an empty in1; "
                f"received in1.shape={in1.shape} (use boundary='fill')."
            )
        out[...] = fill * np.sum(np.conj(in2) if correlation else in2, dtype=result_dtype)
    return out


def _auto_method(problem, in1, in2):
    """scipy's precision rules first, then the method with the smaller estimated time."""
    if problem.result_dtype.kind == "b":
        return "direct"
    if in1.dtype.kind in "iu" or in2.dtype.kind in "iu":
        # As scipy: the FFT's float64 could not hold every integer of the exact result.
        bound = _largest_magnitude(in1) * _largest_magnitude(in2) * min(in1.size, in2.size)
        if bound > _LARGEST_EXACT_FLOAT64_INT:
            return "direct"
    weights_shape, out_shape = problem.weights.shape, problem.out_shape
    direct = direct_seconds(weights_shape, problem.strides, out_shape, problem.data.dtype.itemsize)
    before = [b for b, _ in problem.pads]
    is_complex = problem.result_dtype.kind == "c"
    fft = fft_seconds(problem.data.shape, weights_shape, before, problem.strides, out_shape, is_complex)
    return "fft" if fft < direct else "direct"


def _largest_magnitude(array):
    if array.dtype.kind in "biu":  # exact, and abs(int8(-128)) would overflow
        return max(abs(int(array.max())), abs(int(array.min())))
    return float(np.abs(array).max())


def _fft_result(problem):
    """The FFT method in double precision, then rounded back to integers or bool, or cast to float32.

    numpy.fft transforms float64 faster than float32 (about 2x, on x86 with NumPy 2.4)
    and more accurately, so single-precision inputs are transformed in double.
    Integers are rounded to the nearest: exact while the result's magnitudes stay
    below 2**52 (beyond, 'auto' picks 'direct'; an explicit 'fft' rounds as scipy's).
    """
    float_dtype = np.complex128 if problem.result_dtype.kind == "c" else np.float64
    out = fft_correlate(
        problem.data.astype(float_dtype, copy=False),
        problem.weights.astype(float_dtype, copy=False),
        problem.pads,
        problem.strides,
        problem.out_shape,
    )
    kind = problem.result_dtype.kind
    if kind == "b":
        return np.rint(out) != 0
    if kind in "iu":
        return np.rint(out).astype(np.uint64 if kind == "u" else np.int64).astype(problem.result_dtype)
    return out.astype(problem.result_dtype, copy=False)


# ---- argument checks ------------------------------------------------------------------


def _check_inputs(in1, in2, op, ndim=None, allow_empty=False):
    """Both inputs as arrays: numeric, of one number of dimensions (``ndim`` if given), not empty
    unless ``allow_empty``."""
    arrays = []
    for name, value in (("in1", in1), ("in2", in2)):
        array = np.asarray(value)
        if array.dtype.kind not in "biufc":
            raise TypeError(
                f"{op}: {name} must be numeric (bool, int, float or complex); received {name} of dtype {array.dtype}."
            )
        if ndim is not None and array.ndim != ndim:
            raise ValueError(f"{op}: {name} must be a {ndim}-D array; received {name}.shape={array.shape}.")
        if array.size == 0 and not allow_empty:
            raise ValueError(f"{op}: {name} must not be empty; received {name}.shape={array.shape}.")
        arrays.append(array)
    if arrays[0].ndim != arrays[1].ndim:
        raise ValueError(
            f"{op}: in1 and in2 must have the same number of dimensions; "
            f"received in1.shape={arrays[0].shape}, in2.shape={arrays[1].shape}."
        )
    return arrays


def _check_choice(value, choices, name, op):
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{op}: {name} must be one of {', '.join(map(repr, choices))}; received {name}={value!r}.")


def _valid_needs_swap(shape1, shape2, op, names=("in1.shape", "in2.shape")):
    """scipy's 'valid' rule: in1 must be at least as large as in2 in every dimension, or the reverse."""
    if all(a >= b for a, b in zip(shape1, shape2)):
        return False
    if all(b >= a for a, b in zip(shape1, shape2)):
        return True
    raise ValueError(
        f"{op}: in mode='valid' one input must be at least as large as the other in every dimension; "
        f"received {names[0]}={tuple(shape1)}, {names[1]}={tuple(shape2)}."
    )


def _normalize_stride(stride, ndim, op):
    values = (stride,) * ndim if isinstance(stride, numbers.Integral) else stride
    try:
        values = tuple(values)
    except TypeError:
        values = None
    if (
        values is None
        or len(values) != ndim
        or any(not isinstance(s, numbers.Integral) or isinstance(s, bool) or s < 1 for s in values)
        or isinstance(stride, bool)
    ):
        raise ValueError(
            f"{op}: stride must be a positive integer or a tuple of {ndim} positive integers (one per axis); "
            f"received stride={stride!r}."
        )
    return tuple(int(s) for s in values)


def _check_fillvalue(fillvalue, result_dtype, op):
    """``fillvalue`` as a 0-d array of the output dtype.

    As in scipy, a value the output dtype cannot hold is a ValueError with scipy's
    words: a complex number with an imaginary part for a real output, NaN or
    infinity for an integer output, a Python int beyond the output's range.
    (A real value is cast as NumPy casts, so 2.7 fills an integer output with 2.)
    """
    if isinstance(fillvalue, int) and not isinstance(fillvalue, bool):
        # a Python int, exact at any size (np.asarray would hold a huge one as an object)
        if result_dtype.kind in "iu":
            info = np.iinfo(result_dtype)
            if not info.min <= fillvalue <= info.max:
                raise _uncastable_fillvalue(fillvalue, result_dtype, op, f"outside [{info.min}, {info.max}]")
        try:
            return np.asarray(fillvalue, result_dtype)
        except OverflowError:
            raise _uncastable_fillvalue(fillvalue, result_dtype, op, "too large") from None
    fill = np.asarray(fillvalue)
    if fill.dtype.kind not in "biufc":
        raise TypeError(f"{op}: fillvalue must be a number; received fillvalue={fillvalue!r}.")
    if fill.size != 1:
        raise ValueError(f"{op}: fillvalue must be a scalar or a one-element array; received fillvalue={fillvalue!r}.")
    fill = fill.reshape(())
    if fill.dtype.kind == "c" and result_dtype.kind != "c":
        if fill.imag != 0:
            raise _uncastable_fillvalue(fillvalue, result_dtype, op, "a complex value needs complex inputs")
        fill = fill.real
    if result_dtype.kind in "biu" and not np.isfinite(fill):
        raise _uncastable_fillvalue(fillvalue, result_dtype, op, "an integer output needs a finite value")
    return fill.astype(result_dtype)


def _uncastable_fillvalue(fillvalue, result_dtype, op, why):
    return ValueError(
        f"{op}: could not cast `fillvalue` directly to the output type {result_dtype} ({why}); "
        f"received fillvalue={fillvalue!r}."
    )
