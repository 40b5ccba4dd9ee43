"""Bad input to cnnlab.signal: a clear error naming the function, the argument and the value."""

import re

import numpy as np
import pytest

from cnnlab import signal

ALL = ["convolve", "correlate", "convolve2d", "correlate2d"]
IMAGE = np.ones((5, 4))
KERNEL = np.ones((2, 2))


def call(name, in1=IMAGE, in2=KERNEL, **kwargs):
    return getattr(signal, name)(in1, in2, **kwargs)


@pytest.mark.parametrize("name", ["convolve", "correlate"])  # the 2-D ones take empty inputs, as scipy's
@pytest.mark.parametrize("which", ["in1", "in2"])
def test_empty_input(name, which):
    arrays = {"in1": IMAGE, "in2": KERNEL, which: np.ones((0, 3))}
    with pytest.raises(
        ValueError, match=re.escape(f"{name}: {which} must not be empty; received {which}.shape=(0, 3)")
    ):
        call(name, **arrays)


@pytest.mark.parametrize("name", ["convolve", "correlate"])
def test_kernel_with_more_dimensions_than_the_input(name):
    with pytest.raises(ValueError, match=re.escape("in1.shape=(5,), in2.shape=(2, 2)")):
        call(name, np.ones(5), KERNEL)
    with pytest.raises(ValueError, match=f"{name}: in1 and in2 must have the same number of dimensions"):
        call(name, np.ones((5, 4, 3)), KERNEL)


@pytest.mark.parametrize("name", ["convolve2d", "correlate2d"])
def test_2d_functions_need_2d_arrays(name):
    with pytest.raises(ValueError, match=re.escape(f"{name}: in1 must be a 2-D array; received in1.shape=(5,)")):
        call(name, np.ones(5), np.ones(2))
    with pytest.raises(ValueError, match=re.escape(f"{name}: in2 must be a 2-D array; received in2.shape=(1, 1, 2)")):
        call(name, IMAGE, np.ones((1, 1, 2)))


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("mode", ["bad", "FULL", 2, None])
def test_unknown_mode(name, mode):
    with pytest.raises(
        ValueError, match=re.escape(f"{name}: mode must be one of 'full', 'same', 'valid'; received mode={mode!r}")
    ):
        call(name, mode=mode)


@pytest.mark.parametrize("name", ["convolve", "correlate"])
@pytest.mark.parametrize("method", ["magic", "Direct", None])
def test_unknown_method(name, method):
    with pytest.raises(ValueError, match=re.escape(f"received method={method!r}")):
        call(name, method=method)


@pytest.mark.parametrize("name", ["convolve2d", "correlate2d"])
@pytest.mark.parametrize("boundary", ["reflect", "zeros", "Fill"])
def test_unknown_boundary(name, boundary):
    with pytest.raises(ValueError, match=re.escape(f"{name}: boundary must be one of 'fill', 'pad', 'wrap'")):
        call(name, boundary=boundary)
    with pytest.raises(ValueError, match=re.escape(f"received boundary={boundary!r}")):
        call(name, boundary=boundary)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("stride", [0, -1, (1, 0), (2, -3), (1, 2, 3), (2,), 1.5, True, "2", None])
def test_bad_stride(name, stride):
    with pytest.raises(
        ValueError, match=re.escape(f"{name}: stride must be a positive integer or a tuple of 2 positive integers")
    ):
        call(name, stride=stride)
    with pytest.raises(ValueError, match=re.escape(f"received stride={stride!r}")):
        call(name, stride=stride)


@pytest.mark.parametrize("name", ALL)
def test_valid_mode_needs_one_input_at_least_as_large_in_every_dimension(name):
    message = re.escape(
        "mode='valid' one input must be at least as large as the other in every dimension; received in1.shape=(5, 1), in2.shape=(2, 2)"
    )
    with pytest.raises(ValueError, match=message):
        call(name, np.ones((5, 1)), KERNEL, mode="valid")


@pytest.mark.parametrize("name", ALL)
def test_non_numeric_input(name):
    with pytest.raises(
        TypeError,
        match=re.escape(f"{name}: in2 must be numeric (bool, int, float or complex); received in2 of dtype <U1"),
    ):
        call(name, IMAGE, np.array([["a", "b"]]))


@pytest.mark.parametrize("name", ["convolve2d", "correlate2d"])
def test_bad_fillvalue(name):
    with pytest.raises(
        ValueError, match=re.escape("fillvalue must be a scalar or a one-element array; received fillvalue=[1, 2]")
    ):
        call(name, fillvalue=[1, 2])
    with pytest.raises(
        ValueError,
        match=re.escape(
            f"{name}: could not cast `fillvalue` directly to the output type float64 (a complex value needs "
            "complex inputs); received fillvalue=(1+2j)."
        ),
    ):
        call(name, fillvalue=1 + 2j)
    with pytest.raises(
        ValueError,
        match=re.escape(
            f"{name}: could not cast `fillvalue` directly to the output type int64 (an integer output needs a "
            "finite value); received fillvalue=nan."
        ),
    ):
        call(name, IMAGE.astype(int), KERNEL.astype(int), fillvalue=float("nan"))
    with pytest.raises(
        ValueError,
        match=re.escape(
            f"{name}: could not cast `fillvalue` directly to the output type int8 (outside [-128, 127]); "
            "received fillvalue=300."
        ),
    ):
        call(name, IMAGE.astype(np.int8), KERNEL.astype(np.int8), fillvalue=300)
    with pytest.raises(TypeError, match=re.escape("fillvalue must be a number; received fillvalue='x'")):
        call(name, fillvalue="x")


def test_fillvalue_is_cast_to_the_output_dtype_as_in_scipy():
    ints = np.ones((2, 2), dtype=int)
    # 2.7 truncates to 2 for an integer output; a one-element array is a scalar
    np.testing.assert_array_equal(signal.convolve2d(ints, ints, fillvalue=2.7)[0, 0], 1 + 3 * 2)
    np.testing.assert_array_equal(signal.convolve2d(ints, ints, fillvalue=np.array([3]))[0, 0], 1 + 3 * 3)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n": 0, "k": 3}, "output_size: n must be a positive integer or a shape of them; received n=0"),
        ({"n": 5, "k": -1}, "output_size: k must be a positive integer or a shape of them; received k=-1"),
        ({"n": (5, 0), "k": (2, 2)}, "received n=(5, 0)"),
        (
            {"n": 5, "k": 3, "stride": 0},
            "output_size: stride must be a positive integer or a tuple of 1 positive integers",
        ),
        (
            {"n": 5, "k": 3, "mode": "bad"},
            "output_size: mode must be one of 'full', 'same', 'valid'; received mode='bad'",
        ),
        ({"n": (5, 1), "k": (2, 2), "mode": "valid"}, "received n=(5, 1), k=(2, 2)"),
        ({"n": (5, 1), "k": (2,)}, "n and k must have the same number of dimensions"),
    ],
)
def test_output_size_errors(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        signal.output_size(**kwargs)


def test_choose_conv_method_errors():
    with pytest.raises(
        TypeError, match=re.escape("choose_conv_method: measure must be True or False; received measure='yes'")
    ):
        signal.choose_conv_method(IMAGE, KERNEL, measure="yes")
    with pytest.raises(ValueError, match=re.escape("choose_conv_method: mode must be one of")):
        signal.choose_conv_method(IMAGE, KERNEL, mode="bad")
    with pytest.raises(ValueError, match=re.escape("choose_conv_method: in1 must not be empty")):
        signal.choose_conv_method(np.ones((0, 2)), KERNEL)


def test_scalar_inputs_take_no_per_axis_stride():
    with pytest.raises(
        ValueError, match=re.escape("convolve: stride must be a positive integer or a tuple of 0 positive integers")
    ):
        signal.convolve(3, 4, stride=(2,))
