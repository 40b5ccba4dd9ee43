"""cnnlab.signal against scipy.signal: values, dtypes and shapes, with and without stride.

scipy has no stride: a strided result must equal scipy's result sampled every
``stride`` cells from the first, ``scipy_result[::s0, ::s1, ...]``.
"""

import itertools
import re
import warnings

import numpy as np
import pytest
import scipy.signal
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnlab import signal

MODES = ["full", "same", "valid"]
BOUNDARIES = ["fill", "pad", "wrap", "circular", "symm", "symmetric"]
# every pair is exact in float64 with the small integer values used below
DTYPES = [np.int32, np.int64, np.float32, np.float64, np.complex64, np.complex128]


def random_array(rng, shape, dtype):
    """Small integers (and integer imaginary parts): exact sums in every dtype."""
    values = rng.integers(-4, 5, shape)
    if np.dtype(dtype).kind == "c":
        values = values + 1j * rng.integers(-4, 5, shape)
    return values.astype(dtype)


def strided(array, stride):
    return array[tuple(slice(None, None, s) for s in stride)]


def assert_same_result(ours, theirs):
    """Same dtype and shape; integer results exactly equal, floats to their precision."""
    assert ours.dtype == theirs.dtype
    assert ours.shape == theirs.shape
    if theirs.dtype.kind in "biu":
        np.testing.assert_array_equal(ours, theirs)
    else:
        eps = np.finfo(theirs.dtype).eps
        scale = max(1.0, float(np.abs(theirs).max(initial=0)))
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=200 * eps * scale)


@st.composite
def nd_cases(draw, max_ndim=3):
    ndim = draw(st.integers(1, max_ndim))
    longest = {1: 24, 2: 9, 3: 6}[ndim]
    shape1 = tuple(draw(st.lists(st.integers(1, longest), min_size=ndim, max_size=ndim)))
    shape2 = tuple(draw(st.lists(st.integers(1, 5), min_size=ndim, max_size=ndim)))
    if draw(st.booleans()):  # the kernel the larger input, half the time
        shape1, shape2 = shape2, shape1
    stride = tuple(draw(st.lists(st.integers(1, 3), min_size=ndim, max_size=ndim)))
    dtype1, dtype2 = draw(st.sampled_from(DTYPES)), draw(st.sampled_from(DTYPES))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return random_array(rng, shape1, dtype1), random_array(rng, shape2, dtype2), stride


def valid_allowed(shape1, shape2):
    return all(a >= b for a, b in zip(shape1, shape2)) or all(b >= a for a, b in zip(shape1, shape2))


# scipy's own direct N-D code warns while casting mixed int/complex inputs (its result is right)
@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")
@settings(max_examples=300, deadline=None)
@given(case=nd_cases(), mode=st.sampled_from(MODES), method=st.sampled_from(["direct", "fft", "auto"]))
@pytest.mark.parametrize("name", ["convolve", "correlate"])
def test_nd_matches_scipy(name, case, mode, method):
    in1, in2, stride = case
    if mode == "valid" and not valid_allowed(in1.shape, in2.shape):
        return  # the error is tested in test_signal_errors
    theirs = getattr(scipy.signal, name)(in1, in2, mode=mode, method="direct")
    assert_same_result(getattr(signal, name)(in1, in2, mode=mode, method=method), theirs)
    assert_same_result(
        getattr(signal, name)(in1, in2, mode=mode, method=method, stride=stride), strided(theirs, stride)
    )


@settings(max_examples=200, deadline=None)
@given(
    case=nd_cases(max_ndim=2).filter(lambda c: c[0].ndim == 2),
    mode=st.sampled_from(MODES),
    boundary=st.sampled_from(BOUNDARIES),
    fillvalue=st.sampled_from([0, 2, -1.5]),
)
@pytest.mark.parametrize("name", ["convolve2d", "correlate2d"])
def test_2d_matches_scipy(name, case, mode, boundary, fillvalue):
    in1, in2, stride = case
    if mode == "valid" and not valid_allowed(in1.shape, in2.shape):
        return
    theirs = getattr(scipy.signal, name)(in1, in2, mode, boundary, fillvalue)
    assert_same_result(getattr(signal, name)(in1, in2, mode, boundary, fillvalue), theirs)
    ours = getattr(signal, name)(in1, in2, mode, boundary, fillvalue, stride=stride)
    assert_same_result(ours, strided(theirs, stride))


@pytest.mark.parametrize("method", ["direct", "fft"])
def test_same_mode_offset_between_correlate_and_correlate2d(method):
    # scipy documents a one-index offset for even kernels in 'same' mode.
    x = np.arange(1.0, 8.0)[None, :]
    k = np.array([[1.0, 10.0]])
    np.testing.assert_allclose(signal.correlate(x, k, "same", method), [[10, 21, 32, 43, 54, 65, 76]], atol=1e-12)
    np.testing.assert_allclose(signal.correlate(x, k, "same", method), scipy.signal.correlate(x, k, "same"), atol=1e-12)
    np.testing.assert_array_equal(signal.correlate2d(x, k, "same"), [[21, 32, 43, 54, 65, 76, 7]])
    np.testing.assert_array_equal(signal.correlate2d(x, k, "same"), scipy.signal.correlate2d(x, k, "same"))


def test_correlate_conjugates_in2_and_correlate2d_keeps_scipys_swapped_valid_result():
    x = np.array([1 + 2j, 3 - 1j])
    y = np.arange(1, 8) + 1j * np.arange(7, 0, -1)
    # in2 larger: both swap; correlate gives sum x[l] conj(y[l - k]), correlate2d its conjugate
    ours = signal.correlate(x, y, "valid")
    np.testing.assert_allclose(ours, scipy.signal.correlate(x, y, "valid"), atol=1e-12)
    np.testing.assert_allclose(ours[0], np.sum(x * np.conj(y[-2:])), atol=1e-12)
    ours2d = signal.correlate2d(x[None], y[None], "valid")
    np.testing.assert_array_equal(ours2d, scipy.signal.correlate2d(x[None], y[None], "valid"))
    np.testing.assert_allclose(ours2d[0], np.conj(ours), atol=1e-12)


@pytest.mark.parametrize(
    "dtype1, dtype2",
    [
        (np.int8, np.int8),
        (np.uint8, np.uint8),
        (np.uint8, np.int8),
        (np.int16, np.float32),
        (np.uint64, np.uint64),
        (np.int64, np.complex64),
        (np.float32, np.float64),
        (np.float32, np.complex64),
        (np.bool_, np.int32),
    ],
)
@pytest.mark.parametrize("method", ["direct", "fft", "auto"])
def test_dtypes_as_scipy(dtype1, dtype2, method):
    rng = np.random.default_rng(0)
    in1 = rng.integers(0, 3, (6, 5)).astype(dtype1)
    in2 = rng.integers(0, 3, (3, 2)).astype(dtype2)
    for name in ("convolve", "correlate"):
        theirs = getattr(scipy.signal, name)(in1, in2, "same", method="direct")
        assert_same_result(getattr(signal, name)(in1, in2, "same", method=method), theirs)
    for name in ("convolve2d", "correlate2d"):
        assert_same_result(
            getattr(signal, name)(in1, in2, "same", "wrap"), getattr(scipy.signal, name)(in1, in2, "same", "wrap")
        )


@pytest.mark.parametrize("method", ["direct", "fft"])
def test_bool_inputs_give_bool(method):
    # scipy's direct N-D code has no bool loop; 1-D goes through numpy.correlate
    x = np.array([True, False, False, True, False, False, False])
    k = np.array([True, True])
    ours = signal.convolve(x, k, method=method)
    assert ours.dtype == np.bool_
    np.testing.assert_array_equal(ours, scipy.signal.convolve(x, k, method="direct"))
    np.testing.assert_array_equal(signal.correlate(x[None], k[None], method=method)[0], np.correlate(x, k, "full"))


def test_float16_is_computed_in_float32_and_returned_as_float16():
    rng = np.random.default_rng(1)
    x, k = rng.standard_normal((7, 6)).astype(np.float16), rng.standard_normal((3, 3)).astype(np.float16)
    theirs = scipy.signal.convolve(x, k, "same", method="fft")
    for method in ("direct", "fft"):
        ours = signal.convolve(x, k, "same", method=method)
        assert ours.dtype == np.float16
        np.testing.assert_allclose(ours.astype(np.float32), theirs.astype(np.float32), atol=2e-2)


def test_integers_stay_exact_where_float64_could_not_hold_them():
    x = np.array([2**40, 3, 2**40 + 1], dtype=np.int64)
    k = np.array([2**13 + 1, 1], dtype=np.int64)
    assert signal.choose_conv_method(x, k) == "direct"
    np.testing.assert_array_equal(signal.convolve(x, k), scipy.signal.convolve(x, k))


def test_scalars_multiply_as_in_scipy():
    assert signal.convolve(3, 4) == scipy.signal.convolve(3, 4) == 12
    assert signal.correlate(3j, 2j) == scipy.signal.correlate(3j, 2j) == 6


def test_stride_accepts_numpy_integers_and_per_axis_tuples():
    rng = np.random.default_rng(2)
    x, k = rng.standard_normal((11, 10)), rng.standard_normal((3, 4))
    full = scipy.signal.correlate(x, k)
    np.testing.assert_allclose(signal.correlate(x, k, stride=np.int64(2)), full[::2, ::2])
    np.testing.assert_allclose(signal.correlate(x, k, stride=(3, 1)), full[::3, :])
    np.testing.assert_allclose(signal.convolve2d(x, k, stride=[1, 4]), scipy.signal.convolve2d(x, k)[:, ::4])


@pytest.mark.parametrize("method", ["direct", "fft"])
def test_large_strided_and_unstrided_cases(method):
    # bigger than the generated cases: both FFT paths (real, complex) and several engines
    rng = np.random.default_rng(3)
    x = rng.standard_normal((61, 47))
    k = rng.standard_normal((8, 5))
    for mode in MODES:
        theirs = scipy.signal.correlate(x, k, mode)
        for stride in [(1, 1), (2, 3), (5, 1), (4, 4)]:
            np.testing.assert_allclose(
                signal.correlate(x, k, mode, method, stride=stride), strided(theirs, stride), atol=1e-10
            )
    xc = x + 1j * rng.standard_normal(x.shape)
    theirs = scipy.signal.convolve(xc, k, "same")
    np.testing.assert_allclose(signal.convolve(xc, k, "same", method, stride=(3, 2)), theirs[::3, ::2], atol=1e-10)
    x1 = rng.standard_normal(3001)
    theirs = scipy.signal.convolve(x1, k[:, 0], "same")
    np.testing.assert_allclose(signal.convolve(x1, k[:, 0], "same", method, stride=7), theirs[::7], atol=1e-10)


@pytest.mark.parametrize("method", ["direct", "fft"])
def test_small_integers_wrap_around_as_scipys_direct_sums(method):
    x = np.full((4, 4), 100, np.int8)
    k = np.full((3, 3), 3, np.int8)
    theirs = scipy.signal.convolve(x, k, "same", method="direct")  # 2700 wraps to -116 in int8
    assert theirs[1, 1] == -116
    assert_same_result(signal.convolve(x, k, "same", method), theirs)
    assert_same_result(signal.convolve2d(x, k, "same"), scipy.signal.convolve2d(x, k, "same"))


@pytest.mark.parametrize("method", ["direct", "fft"])
def test_non_contiguous_views_and_array_likes(method):
    rng = np.random.default_rng(4)
    big = rng.standard_normal((30, 40))
    in1, in2 = big[::2, ::-3], big[:4, :3].T  # strided, reversed and transposed views
    for name in ("convolve", "correlate"):
        theirs = getattr(scipy.signal, name)(in1, in2, "same")
        np.testing.assert_allclose(
            getattr(signal, name)(in1, in2, "same", method, stride=2), theirs[::2, ::2], atol=1e-12
        )
    np.testing.assert_allclose(signal.correlate2d(in1, in2, "valid"), scipy.signal.correlate2d(in1, in2, "valid"))
    np.testing.assert_array_equal(signal.convolve([[1, 2], [3, 4]], [[1]]), [[1, 2], [3, 4]])


EMPTY_CASE_SHAPES = [(0, 3), (2, 0), (0, 0), (3, 4), (1, 3)]


@pytest.mark.parametrize("name", ["convolve2d", "correlate2d"])
def test_2d_empty_inputs_give_scipys_result(name):
    # scipy's 2-D functions take an empty input (the N-D ones do not): an empty in2
    # sums no products, an empty in1 leaves 'full' windows of fill values only.
    n_compared = 0
    for shape1, shape2 in itertools.product(EMPTY_CASE_SHAPES, repeat=2):
        if np.prod(shape1) and np.prod(shape2):
            continue
        in1 = np.arange(np.prod(shape1), dtype=np.int64).reshape(shape1) + 1
        in2 = (np.arange(np.prod(shape2)).reshape(shape2) + 1) * (1 + 2j)
        for mode, boundary, fillvalue in itertools.product(MODES, ["fill", "wrap", "symm"], [0, 2]):
            if boundary != "fill" and (fillvalue or (mode == "full" and in1.size == 0)):
                continue  # scipy dies of SIGFPE extending an empty in1 (see the next test)
            try:
                theirs = getattr(scipy.signal, name)(in1, in2, mode, boundary, fillvalue)
            except ValueError:  # both empty along an axis in 'full' mode, or 'valid' sizes
                with pytest.raises(ValueError, match=f"{name}: in mode="):
                    getattr(signal, name)(in1, in2, mode, boundary, fillvalue)
                continue
            assert_same_result(getattr(signal, name)(in1, in2, mode, boundary, fillvalue), theirs)
            ours = getattr(signal, name)(in1, in2, mode, boundary, fillvalue, stride=(2, 3))
            assert_same_result(ours, strided(theirs, (2, 3)))
            n_compared += 1
    assert n_compared == 192
    b = np.arange(1.0, 13.0).reshape(3, 4)
    np.testing.assert_array_equal(signal.convolve2d(np.zeros((0, 3)), b), np.zeros((2, 6)))  # the case
    np.testing.assert_array_equal(signal.convolve2d(np.zeros((0, 3)), b, fillvalue=2), np.full((2, 6), 2 * 78.0))


@pytest.mark.parametrize("boundary", ["wrap", "circular", "symm"])
def test_2d_empty_in1_cannot_be_wrapped_or_mirrored(boundary):
    with pytest.raises(
        ValueError,
        match=re.escape(
            f"convolve2d: boundary={boundary!r} has nothing to repeat around an empty in1; received "
            "in1.shape=(0, 3) (use boundary='fill')."
        ),
    ):
        signal.convolve2d(np.zeros((0, 3)), np.ones((3, 4)), boundary=boundary)
    # without windows to fill ('same', 'valid') or with an empty kernel there is no boundary to make
    assert signal.convolve2d(np.zeros((0, 3)), np.ones((3, 4)), "same", boundary).shape == (0, 3)
    empty_kernel = signal.convolve2d(np.ones((3, 4)), np.zeros((0, 3)), boundary=boundary)
    np.testing.assert_array_equal(empty_kernel, np.zeros((2, 6)))


@pytest.mark.parametrize("name", ["convolve", "correlate"])
@pytest.mark.parametrize("mode", MODES)
def test_fft_of_inputs_with_nothing_to_transform_is_the_exact_product_as_scipy(name, mode):
    # scipy's fftconvolve multiplies along axes where an input has length 1: 2**40 * 2**40
    # wraps to 0 in int64 exactly, where a float64 product cast back would give INT64_MIN.
    z = np.array([2**40], np.int64)
    x = np.array([[2**40, -3, 2**35]], np.int64)
    k = np.array([[2**30], [7]], np.int64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_same_result(getattr(signal, name)(z, z, mode, "fft"), getattr(scipy.signal, name)(z, z, mode, "fft"))
        assert getattr(signal, name)(z, z, mode, "fft").tolist() == [0]
        if mode != "valid":
            ours = getattr(signal, name)(x, k, mode, "fft")
            assert_same_result(ours, getattr(scipy.signal, name)(x, k, mode, "fft"))
            assert_same_result(ours, getattr(scipy.signal, name)(x, k, mode, "direct"))


def test_a_complex_fillvalue_for_real_inputs_is_scipys_error():
    ints = np.ones((2, 2), np.int64)
    scipys = "could not cast `fillvalue` directly to the output type"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", np.exceptions.ComplexWarning)  # scipy warns, then raises
        with pytest.raises(ValueError, match=scipys):
            scipy.signal.convolve2d(ints, ints, fillvalue=1j)
    for name in ("convolve2d", "correlate2d"):
        ours = f"{name}: {scipys} int64 (a complex value needs complex inputs)"
        with pytest.raises(ValueError, match=re.escape(ours)):
            getattr(signal, name)(ints, ints, fillvalue=1j)
    # where scipy can cast, it fills as scipy does
    assert_same_result(signal.convolve2d(ints, ints, fillvalue=2.7), scipy.signal.convolve2d(ints, ints, fillvalue=2.7))
    complexes = ints.astype(np.complex128)
    theirs = scipy.signal.convolve2d(complexes, ints, fillvalue=1j)
    assert_same_result(signal.convolve2d(complexes, ints, fillvalue=1j), theirs)
