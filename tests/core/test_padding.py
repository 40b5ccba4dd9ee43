"""Property tests for the one padding / output-size helper (TF's rule, DESIGN.md)."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnlab.kernels.padding import geometry_2d, window_geometry

sizes = st.integers(1, 60)
kernels = st.integers(1, 9)
strides = st.integers(1, 6)
dilations = st.integers(1, 4)
SETTINGS = settings(max_examples=300, deadline=None)


def window_starts(length, k_eff, stride):
    """Brute force: every start position p (a multiple of stride) whose window fits in ``length``."""
    return [p for p in range(0, length) if p % stride == 0 and p + k_eff <= length]


@SETTINGS
@given(sizes, kernels, strides, dilations)
def test_same_output_is_ceil_of_size_over_stride_and_padding_is_split_after_heavy(n, k, s, d):
    out, before, after = window_geometry(n, k, s, d, "SAME")
    k_eff = (k - 1) * d + 1
    assert out == math.ceil(n / s)
    assert after - before in (0, 1)
    # The windows fit in the padded input, and the padding is the least that makes them fit.
    assert (out - 1) * s + k_eff <= n + before + after
    assert before + after == max((out - 1) * s + k_eff - n, 0)


@SETTINGS
@given(sizes, kernels, strides, dilations)
def test_same_windows_cover_the_whole_input_when_they_are_dense_enough(n, k, s, d):
    out, before, _ = window_geometry(n, k, s, d, "SAME")
    k_eff = (k - 1) * d + 1
    first_start, last_end = -before, (out - 1) * s - before + k_eff - 1
    assert first_start <= 0
    if s <= k_eff:  # windows touch or overlap: together they span every real cell
        assert last_end >= n - 1


@SETTINGS
@given(sizes, kernels, strides, dilations)
def test_valid_agrees_with_counting_windows(n, k, s, d):
    k_eff = (k - 1) * d + 1
    if k_eff > n:
        with pytest.raises(ValueError, match="larger than the input"):
            window_geometry(n, k, s, d, "VALID")
        return
    geometry = window_geometry(n, k, s, d, "VALID")
    assert geometry == (len(window_starts(n, k_eff, s)), 0, 0)
    assert geometry.out == math.ceil((n - k_eff + 1) / s)


@SETTINGS
@given(sizes, kernels, strides, dilations, st.integers(0, 5), st.integers(0, 5))
def test_explicit_padding_agrees_with_counting_windows_on_the_padded_input(n, k, s, d, before, after):
    k_eff = (k - 1) * d + 1
    if k_eff > n + before + after:
        with pytest.raises(ValueError, match="larger than the (padded )?input"):
            window_geometry(n, k, s, d, (before, after))
        return
    assert window_geometry(n, k, s, d, (before, after)) == (len(window_starts(n + before + after, k_eff, s)), before, after)


@SETTINGS
@given(st.tuples(sizes, sizes), st.tuples(kernels, kernels), st.tuples(strides, strides))
def test_geometry_2d_is_one_window_geometry_per_axis(hw, kernel, stride):
    geometry = geometry_2d(hw, kernel, stride, (1, 1), "SAME")
    assert geometry.rows == window_geometry(hw[0], kernel[0], stride[0], 1, "SAME")
    assert geometry.cols == window_geometry(hw[1], kernel[1], stride[1], 1, "SAME")
    assert geometry.out_shape == (math.ceil(hw[0] / stride[0]), math.ceil(hw[1] / stride[1]))


def test_known_values():
    assert window_geometry(5, 3, 2, 1, "SAME") == (3, 1, 1)
    assert window_geometry(4, 2, 1, 1, "SAME") == (4, 0, 1)  # extra cell after, unlike PyTorch
    assert window_geometry(28, 5, 1, 1, "VALID") == (24, 0, 0)
    assert window_geometry(7, 3, 1, 2, "SAME") == (7, 2, 2)
    assert window_geometry(6, 3, 3, 1, "VALID") == (2, 0, 0)


@pytest.mark.parametrize(
    "arguments, message",
    [
        ((5, 0), r"conv: kernel size must be a positive integer; received kernel size=0"),
        ((5, 3, 0), r"stride must be a positive integer; received stride=0"),
        ((5, 3, 1, -1), r"dilation must be a positive integer; received dilation=-1"),
        ((0, 3), r"the input height must be >= 1; received height=0"),
        ((5, 3, 1, 1, "FULL"), r"padding must be 'SAME', 'VALID' or explicit pairs; received padding='FULL'"),
        ((5, 3, 1, 1, (1, -1)), r"explicit padding must be >= 0"),
        ((2, 3, 1, 1, "VALID"), r"the window \(effective height 3 = \(kernel 3 - 1\) \* dilation 1 \+ 1\) is larger than the input height \(2\)"),
    ],
)
def test_bad_arguments_raise_clear_errors(arguments, message):
    with pytest.raises(ValueError, match=message):
        window_geometry(*arguments, op="conv", axis="height")
