"""cnnlab.signal against its reference (written from the definition), and the reference itself.

The reference is checked on hand-computed examples, so that it is an oracle of its
own and not a copy of scipy; the fast functions are then checked against it on
generated cases, including every direct engine and the strided FFT on its own.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnlab import signal
from cnnlab.signal import _direct, _fft, reference

MODES = ["full", "same", "valid"]


# ---- the reference on examples worked by hand ------------------------------------------


def test_reference_convolve_flips_the_kernel():
    # full[f] = sum_t x[f - t] y[t]
    np.testing.assert_array_equal(reference.convolve([1, 2, 3], [1, 10]), [1, 12, 23, 30])
    np.testing.assert_array_equal(reference.convolve([1, 2, 3], [1, 10], "valid"), [12, 23])
    np.testing.assert_array_equal(reference.convolve([1, 2, 3], [1, 10], "same"), [1, 12, 23])


def test_reference_correlate_slides_the_kernel_as_is():
    # full[f] = sum_t x[f - 1 + t] y[t]: 10*1, 1*1 + 10*2, 1*2 + 10*3, 1*3
    np.testing.assert_array_equal(reference.correlate([1, 2, 3], [1, 10]), [10, 21, 32, 3])
    np.testing.assert_array_equal(reference.correlate([1, 2, 3], [1, 10], "same"), [10, 21, 32])
    np.testing.assert_array_equal(reference.correlate2d([[1, 2, 3]], [[1, 10]], "same"), [[21, 32, 3]])
    np.testing.assert_array_equal(reference.correlate([1, 2, 3], [1, 10], "full", stride=2), [10, 32])


def test_reference_valid_with_the_larger_kernel():
    # the shorter input lies inside the longer one at 2 placements
    np.testing.assert_array_equal(reference.correlate([1, 10], [1, 2, 3]), [3, 32, 21, 10])
    np.testing.assert_array_equal(reference.correlate([1, 10], [1, 2, 3], "valid"), [32, 21])
    # conj(in2): 1j * conj(2) + 10 * conj(3j) and 1j * conj(1) + 10 * conj(2)
    np.testing.assert_array_equal(reference.correlate([1j, 10], [1, 2, 3j], "valid"), [2j - 30j, 1j + 20])


def test_reference_boundaries():
    x = [[1, 2, 3]]
    # extended rows: wrap ... 2 3 | 1 2 3 | 1 2 ..., symm ... 2 1 | 1 2 3 | 3 2 ...
    np.testing.assert_array_equal(reference.correlate2d(x, [[1, 0, 0]], "same", "wrap"), [[3, 1, 2]])
    np.testing.assert_array_equal(reference.correlate2d(x, [[0, 0, 1]], "same", "symm"), [[2, 3, 3]])
    np.testing.assert_array_equal(reference.correlate2d(x, [[1, 1, 1]], "same", "fill", fillvalue=5), [[8, 6, 10]])
    np.testing.assert_array_equal(
        reference.convolve2d(x, [[1, 0, 0, 0, 0, 0, 0]], "full", "wrap"), [[1, 2, 3, 1, 2, 3, 1, 2, 3]]
    )


# ---- the fast functions against the reference -------------------------------------------


@st.composite
def small_cases(draw):
    """Cases small enough for the reference (a Python loop over outputs and taps)."""
    ndim = draw(st.integers(1, 3))
    longest = {1: 12, 2: 6, 3: 4}[ndim]
    shape1 = tuple(draw(st.lists(st.integers(1, longest), min_size=ndim, max_size=ndim)))
    shape2 = tuple(draw(st.lists(st.integers(1, 4), min_size=ndim, max_size=ndim)))
    if draw(st.booleans()):
        shape1, shape2 = shape2, shape1
    stride = tuple(draw(st.lists(st.integers(1, 3), min_size=ndim, max_size=ndim)))
    complex_ = draw(st.booleans())
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    in1, in2 = rng.standard_normal(shape1), rng.standard_normal(shape2)
    if complex_:
        in1 = in1 + 1j * rng.standard_normal(shape1)
    return in1, in2, stride


def valid_allowed(shape1, shape2):
    return all(a >= b for a, b in zip(shape1, shape2)) or all(b >= a for a, b in zip(shape1, shape2))


@settings(max_examples=120, deadline=None)
@given(case=small_cases(), mode=st.sampled_from(MODES), method=st.sampled_from(["direct", "fft"]))
@pytest.mark.parametrize("name", ["convolve", "correlate"])
def test_nd_matches_reference(name, case, mode, method):
    in1, in2, stride = case
    if mode == "valid" and not valid_allowed(in1.shape, in2.shape):
        return
    expected = getattr(reference, name)(in1, in2, mode, stride)
    got = getattr(signal, name)(in1, in2, mode, method, stride=stride)
    assert got.dtype == expected.dtype
    np.testing.assert_allclose(got, expected, atol=1e-10)


@settings(max_examples=100, deadline=None)
@given(
    case=small_cases().filter(lambda c: c[0].ndim == 2),
    mode=st.sampled_from(MODES),
    boundary=st.sampled_from(["fill", "wrap", "symm"]),
)
@pytest.mark.parametrize("name", ["convolve2d", "correlate2d"])
def test_2d_matches_reference(name, case, mode, boundary):
    in1, in2, stride = case
    if mode == "valid" and not valid_allowed(in1.shape, in2.shape):
        return
    expected = getattr(reference, name)(in1, in2, mode, boundary, 0.5, stride)
    got = getattr(signal, name)(in1, in2, mode, boundary, 0.5, stride=stride)
    np.testing.assert_allclose(got, expected, atol=1e-10)


# ---- every engine, whichever the cost model would pick -----------------------------------


@st.composite
def padded_problems(draw):
    """``out[j] = sum_t padded[j * s + t] * w[t]`` set up as the public functions do."""
    ndim = draw(st.integers(1, 3))
    data_shape = tuple(draw(st.lists(st.integers(1, {1: 30, 2: 9, 3: 5}[ndim]), min_size=ndim, max_size=ndim)))
    weights_shape = tuple(draw(st.lists(st.integers(1, 4), min_size=ndim, max_size=ndim)))
    pads = tuple((draw(st.integers(0, k - 1)), draw(st.integers(0, k - 1))) for k in weights_shape)
    if any(n + b + a < k for n, (b, a), k in zip(data_shape, pads, weights_shape)):
        pads = tuple((k - 1, k - 1) for k in weights_shape)
    strides = tuple(draw(st.lists(st.integers(1, 4), min_size=ndim, max_size=ndim)))
    out_shape = tuple((n + b + a - k) // s + 1 for n, (b, a), k, s in zip(data_shape, pads, weights_shape, strides))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dtype = draw(st.sampled_from([np.float64, np.complex128]))
    data = rng.standard_normal(data_shape).astype(dtype)
    weights = rng.standard_normal(weights_shape).astype(dtype)
    return data, weights, pads, strides, out_shape


def sum_of_products(data, weights, pads, strides, out_shape):
    """The problem's definition, one output at a time."""
    padded = np.pad(data, pads)
    out = np.zeros(out_shape, np.result_type(data, weights))
    for j in np.ndindex(*out_shape):
        window = padded[tuple(slice(i * s, i * s + k) for i, s, k in zip(j, strides, weights.shape))]
        out[j] = np.sum(window * weights)
    return out


@settings(max_examples=150, deadline=None)
@given(problem=padded_problems())
def test_every_engine_solves_the_same_problem(problem):
    data, weights, pads, strides, out_shape = problem
    expected = sum_of_products(*problem)
    padded = np.pad(data, pads)
    for name, engine in _direct._ENGINES.items():
        if name == "numpy" and (data.ndim != 1 or strides != (1,)):
            continue
        np.testing.assert_allclose(engine(padded, weights, strides, out_shape), expected, atol=1e-10, err_msg=name)
        with pytest.MonkeyPatch.context() as patch:  # blocks of a few rows, so that there are several
            patch.setattr(_direct, "_TAP_BLOCK_BYTES", 3 * padded.itemsize * math.prod(out_shape[1:]))
            patch.setattr(_direct, "_WINDOW_BLOCK_ELEMENTS", 2 * weights.size * math.prod(out_shape[1:]))
            blocked = engine(padded, weights, strides, out_shape)
        np.testing.assert_allclose(blocked, expected, atol=1e-10, err_msg=f"{name} in blocks")
    np.testing.assert_allclose(_fft.fft_correlate(data, weights, pads, strides, out_shape), expected, atol=1e-10)
    np.testing.assert_allclose(_direct.direct_correlate(data, weights, pads, strides, out_shape), expected, atol=1e-10)


def test_next_fast_len_is_the_next_5_smooth_number():
    def is_5_smooth(n):
        for p in (2, 3, 5):
            while n % p == 0:
                n //= p
        return n == 1

    for target in list(range(1, 400)) + [100_001, 2_063, 4_097]:
        got = _fft.next_fast_len(target)
        assert got >= target and is_5_smooth(got)
        assert not any(is_5_smooth(n) for n in range(target, got))


def test_fft_transform_length_is_a_multiple_of_the_stride_and_short_for_valid():
    # 'valid' only needs n points; the strided inverse transform is N / stride long
    assert _fft.transform_shape((1000,), (31,), [0], (1,), (970,)) == (1000,)
    (length,) = _fft.transform_shape((1000,), (31,), [30], (7,), (148,))
    assert length % 7 == 0 and length >= 1000 + 31 - 1
    assert math.prod(_fft.transform_shape((64, 64), (5, 5), [2, 2], (2, 3), (32, 22))) % 6 == 0
