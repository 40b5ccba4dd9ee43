"""output_size (the size formulas) and choose_conv_method (which method 'auto' runs)."""

import numpy as np
import pytest
import scipy.signal
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnlab import signal


def test_output_size_formulas():
    assert signal.output_size(28, 5, mode="valid") == 24
    assert signal.output_size(28, 5, stride=2, mode="valid") == 12  # (28 - 5) // 2 + 1
    assert signal.output_size(28, 5, stride=2, mode="same") == 14  # ceil(28 / 2)
    assert signal.output_size(28, 5, stride=3, mode="full") == 11  # ceil(32 / 3)
    assert signal.output_size(3, 8, mode="valid") == 6  # the larger kernel: |3 - 8| + 1
    assert signal.output_size(5, 3) == 7  # mode 'full' by default, as scipy
    assert signal.output_size((512, 100), (5, 7), stride=(2, 3), mode="same") == (256, 34)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 12),
    k=st.integers(1, 12),
    stride=st.integers(1, 5),
    mode=st.sampled_from(["full", "same", "valid"]),
)
def test_output_size_is_the_length_of_the_strided_scipy_result(n, k, stride, mode):
    scipy_length = len(scipy.signal.convolve(np.ones(n), np.ones(k), mode)[::stride])
    assert signal.output_size(n, k, stride, mode) == scipy_length
    assert signal.correlate2d(np.ones((1, n)), np.ones((1, k)), mode, stride=stride).shape == (1, scipy_length)


def test_choose_conv_method_picks_fft_for_big_kernels_and_direct_for_small():
    assert signal.choose_conv_method(np.ones((2000, 2000)), np.ones((64, 64)), "same") == "fft"
    assert signal.choose_conv_method(np.ones((512, 512)), np.ones((3, 3)), "same") == "direct"
    assert signal.choose_conv_method(np.ones(100_000), np.ones(31), "same") == "direct"
    assert signal.choose_conv_method(np.ones(100_000), np.ones(5_000), "same") == "fft"
    assert signal.choose_conv_method(np.ones(50), np.ones(3)) == "direct"


def test_choose_conv_method_keeps_scipys_exactness_rules():
    big = np.ones((300, 300), dtype=np.int64)
    assert signal.choose_conv_method(big, big, "same") == "fft"
    big[0, 0] = 2**40
    assert signal.choose_conv_method(big, big, "same") == "direct"  # float64 could not hold the result
    assert signal.choose_conv_method(np.ones((300, 300), bool), np.ones((300, 300), bool)) == "direct"


def test_choose_conv_method_exactness_rule_covers_an_integer_input_with_a_float_one():
    # scipy's rule applies when either input is an integer array: 2**45 * 1600 taps > 2**52.
    kernel = np.ones((40, 40))
    small = np.full((64, 64), 3, np.int64)
    assert signal.choose_conv_method(small, kernel, "same") == "fft"  # the size alone would pick the FFT
    big = np.full((64, 64), 2**45, np.int64)
    for in1, in2 in ((big, kernel), (kernel, big)):
        assert signal.choose_conv_method(in1, in2, "same") == "direct"
        assert scipy.signal.choose_conv_method(in1, in2, "same") == "direct"


def test_a_stride_makes_direct_more_attractive():
    image, kernel = np.ones((300, 300)), np.ones((9, 9))
    assert signal.choose_conv_method(image, kernel, "same") == "fft"
    assert signal.choose_conv_method(image, kernel, "same", stride=8) == "direct"


def test_choose_conv_method_can_measure():
    method, times = signal.choose_conv_method(np.ones(200), np.ones(5), measure=True)
    assert method in ("direct", "fft")
    assert set(times) == {"direct", "fft"} and method == min(times, key=times.get)


@pytest.mark.parametrize("method", ["direct", "fft"])
def test_auto_gives_what_the_chosen_method_gives(method):
    rng = np.random.default_rng(0)
    x, k = rng.standard_normal((40, 30)), rng.standard_normal((4, 3))
    np.testing.assert_allclose(signal.convolve(x, k, "same", method), signal.convolve(x, k, "same", "auto"), atol=1e-12)
