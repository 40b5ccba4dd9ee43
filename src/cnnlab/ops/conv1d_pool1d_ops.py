"""1-D convolution and pooling over sequences (NWC): ``tf.nn.conv1d``, ``max_pool1d``, ``avg_pool1d``.

As TensorFlow does, each is its 2-D op on images one row high: (N, W, C) becomes
(N, 1, W, C), the kernel (K, C, O) becomes (1, K, C, O), and the row axis is
dropped again.  The 2-D ops carry the gradients.
"""

import numpy as np

from ..tensor import is_integral_number
from .array_ops import expand_dims, squeeze
from .conv_ops import conv2d
from .math_ops import _float_tensor
from .pool_ops import avg_pool2d, max_pool2d


def _check_nwc(x, op, argument="input"):
    if x.ndim != 3:
        raise ValueError(
            f"{op}: {argument} must be 3-D NWC (batch, width, channels); received {argument}.shape={tuple(x.shape)}."
        )


def _single(value, op, argument):
    """One positive int from TF's 1-D forms: an int, or a list of 1 or 3 ints ([1, s, 1])."""
    values = [value] if is_integral_number(value) else value
    try:
        values = list(values)
    except TypeError:
        values = None
    if values is None or len(values) not in (1, 3) or not all(is_integral_number(v) for v in values):
        raise ValueError(f"{op}: {argument} must be an int or a list of 1 or 3 ints; received {argument}={value!r}.")
    if len(values) == 3:
        if values[0] != 1 or values[2] != 1:
            raise ValueError(
                f"{op}: {argument} for the batch and channel axes must be 1 ([1, s, 1]); received {argument}={value!r}."
            )
        values = values[1:2]
    if values[0] < 1:
        raise ValueError(f"{op}: {argument} must be positive; received {argument}={value!r}.")
    return int(values[0])


def _padding_2d(padding, op):
    """'SAME' / 'VALID' as they are; explicit NWC pairs [[0, 0], [left, right], [0, 0]] as NHWC ones."""
    if isinstance(padding, str):
        return padding
    pairs = np.asarray(padding)
    if pairs.shape != (3, 2) or pairs.dtype.kind not in "iu" or pairs[0].any() or pairs[2].any() or (pairs < 0).any():
        raise ValueError(
            f"{op}: padding must be 'SAME', 'VALID' or explicit [[0, 0], [left, right], [0, 0]]; "
            f"received padding={padding!r}."
        )
    return [[0, 0], [0, 0], pairs[1].tolist(), [0, 0]]


def _check_data_format(data_format, op):
    if data_format not in (None, "NWC"):
        raise ValueError(
            f"{op}: only data_format='NWC' (channels last) is supported; received data_format={data_format!r}."
        )


def conv1d(input, filters, stride, padding, data_format="NWC", dilations=None, name=None):  # noqa: A002
    """1-D cross-correlation of NWC sequences with (K, in_channels, out_channels) filters (``tf.nn.conv1d``).

    Args:
        input: float tensor (batch, width, in_channels).
        filters: tensor (kernel_width, in_channels, out_channels).
        stride: an int, or a list of 1 or 3 ints.
        padding: 'SAME', 'VALID', or explicit ``[[0, 0], [left, right], [0, 0]]``.
        dilations: spacing between kernel taps (default 1).

    Shape:
        (batch, out_width, out_channels), out_width as one axis of ``conv2d``.

    Example:
        >>> conv1d(cnnlab.ones([2, 10, 3]), cnnlab.ones([3, 3, 4]), 1, "VALID").shape
        TensorShape([2, 8, 4])
    """
    op = "conv1d"
    _check_data_format(data_format, op)
    x = _float_tensor(input, op, "input")
    _check_nwc(x, op)
    w = _float_tensor(filters, op, "filters")
    if w.ndim != 3:
        raise ValueError(
            f"{op}: filters must be 3-D (width, in_channels, out_channels); received filters.shape={tuple(w.shape)}."
        )
    stride = _single(stride, op, "stride")
    dilation = _single(1 if dilations is None else dilations, op, "dilations")
    out = conv2d(expand_dims(x, 1), expand_dims(w, 0), (1, stride), _padding_2d(padding, op), dilations=(1, dilation))
    return squeeze(out, 1)


def max_pool1d(input, ksize, strides, padding, data_format="NWC", name=None):  # noqa: A002
    """The maximum over each window of ``ksize`` steps of NWC sequences (``tf.nn.max_pool1d``).

    Example:
        >>> max_pool1d(cnnlab.ones([1, 6, 2]), 2, 2, "VALID").shape
        TensorShape([1, 3, 2])
    """
    op = "max_pool1d"
    _check_data_format(data_format, op)
    x = _float_tensor(input, op, "input")
    _check_nwc(x, op)
    kernel, stride = _single(ksize, op, "ksize"), _single(strides, op, "strides")
    return squeeze(max_pool2d(expand_dims(x, 1), (1, kernel), (1, stride), _padding_2d(padding, op)), 1)


def avg_pool1d(input, ksize, strides, padding, data_format="NWC", name=None):  # noqa: A002
    """The mean over each window of NWC sequences (``tf.nn.avg_pool1d``); 'SAME' averages only real steps."""
    op = "avg_pool1d"
    _check_data_format(data_format, op)
    x = _float_tensor(input, op, "input")
    _check_nwc(x, op)
    if not isinstance(padding, str):
        raise ValueError(f"{op}: padding must be 'SAME' or 'VALID'; received padding={padding!r}.")
    kernel, stride = _single(ksize, op, "ksize"), _single(strides, op, "strides")
    return squeeze(avg_pool2d(expand_dims(x, 1), (1, kernel), (1, stride), padding), 1)
