"""2-D convolution (``tf.nn.conv2d``) and its two backprop ops, each differentiable.

The three ops are the faces of one bilinear form ``<conv2d(x, w), dy>``, so their
gradients are each other:

* ``conv2d(x, w)``: dx = ``conv2d_backprop_input(w, dy)``, dw = ``conv2d_backprop_filter(x, dy)``;
* ``conv2d_backprop_input(w, dy)`` with upstream ``g`` (shaped like x):
  dw = ``conv2d_backprop_filter(g, dy)``, d(dy) = ``conv2d(g, w)``;
* ``conv2d_backprop_filter(x, dy)`` with upstream ``g`` (shaped like w):
  dx = ``conv2d_backprop_input(g, dy)``, d(dy) = ``conv2d(x, g)``.

That closes the loop, so gradients of any order exist.  Each op asks
``is_watched`` which inputs anyone needs, so a network's input images never get a
(costly) gradient.
"""

import numpy as np

from ..autodiff import is_recording, is_watched, record
from ..kernels import conv as conv_kernels
from ..kernels.padding import geometry_2d, normalize_padding, window_geometry  # noqa: F401 - window_geometry for the layers
from ..tensor import Tensor, as_tensor_pair, is_integral_number

# ---- TF's argument forms ------------------------------------------------------------------


def spatial_pair(value, op, argument):
    """(vertical, horizontal) from TF's forms: an int, or a list of 1, 2 or 4 ints ([1, h, w, 1])."""
    values = [value] if is_integral_number(value) else value
    try:
        values = list(values)
    except TypeError:
        values = None
    if values is None or len(values) not in (1, 2, 4) or not all(is_integral_number(v) for v in values):
        raise ValueError(f"{op}: {argument} must be an int or a list of 1, 2 or 4 ints; received {argument}={value!r}.")
    if len(values) == 4:
        if values[0] != 1 or values[3] != 1:
            raise ValueError(
                f"{op}: {argument} for the batch and channel dimensions must be 1 (NHWC: [1, h, w, 1]); "
                f"received {argument}={value!r}."
            )
        values = values[1:3]
    pair = (values[0], values[-1])
    if min(pair) < 1:
        raise ValueError(f"{op}: {argument} must be positive; received {argument}={value!r}.")
    return pair


def spatial_padding(padding, op, allow_explicit=True):
    """'SAME' / 'VALID', or TF's explicit NHWC form [[0, 0], [top, bottom], [left, right], [0, 0]]."""
    if isinstance(padding, str):
        return normalize_padding(padding, op)
    expected = "'SAME', 'VALID' or explicit [[0, 0], [top, bottom], [left, right], [0, 0]]"
    if not allow_explicit:
        raise ValueError(f"{op}: padding must be 'SAME' or 'VALID'; received padding={padding!r}.")
    try:
        pairs = np.asarray(padding)
    except ValueError:
        pairs = None
    if pairs is None or pairs.shape != (4, 2) or pairs.dtype.kind not in "iu":
        raise ValueError(f"{op}: padding must be {expected}; received padding={padding!r}.")
    if pairs[0].any() or pairs[3].any() or (pairs < 0).any():
        raise ValueError(
            f"{op}: explicit padding must be >= 0 and 0 for the batch and channel dimensions; received padding={padding!r}."
        )
    return tuple(pairs[1].tolist()), tuple(pairs[2].tolist())


def check_data_format(data_format, op):
    if data_format not in (None, "NHWC"):
        raise ValueError(f"{op}: only data_format='NHWC' (channels last) is supported; received data_format={data_format!r}.")


def _conv_geometry(input_shape, filter_shape, dtype, strides, padding, data_format, dilations, op):
    """Check a convolution's shapes and arguments; return its window geometry."""
    check_data_format(data_format, op)
    if dtype.kind != "f":
        raise TypeError(f"{op}: expected floating-point tensors; received dtype={dtype.name}.")
    if len(input_shape) != 4:
        raise ValueError(f"{op}: input must be 4-D NHWC (batch, height, width, channels); received input shape {input_shape}.")
    if len(filter_shape) != 4 or 0 in filter_shape:
        raise ValueError(
            f"{op}: filters must be 4-D HWIO (height, width, in_channels, out_channels) with no zero dimension; "
            f"received filters shape {filter_shape}."
        )
    if filter_shape[2] != input_shape[3]:
        raise ValueError(
            f"{op}: the filters expect {filter_shape[2]} input channel(s) (filters shape {filter_shape}, HWIO) "
            f"but the input has {input_shape[3]} (input shape {input_shape}, NHWC)."
        )
    strides = spatial_pair(strides, op, "strides")
    dilations = spatial_pair(1 if dilations is None else dilations, op, "dilations")
    return geometry_2d(input_shape[1:3], filter_shape[:2], strides, dilations, spatial_padding(padding, op), op)


def _check_out_backprop(dy, input_shape, filter_shape, geometry, op):
    expected = (input_shape[0], *geometry.out_shape, filter_shape[3])
    if tuple(dy.shape) != expected:
        raise ValueError(f"{op}: out_backprop must have the conv2d output shape {expected}; received out_backprop.shape={tuple(dy.shape)}.")


def _sizes(value, op, argument):
    sizes = np.asarray(value._value if isinstance(value, Tensor) else value)
    if sizes.shape != (4,) or sizes.dtype.kind not in "iu" or (sizes < 1).any():
        raise ValueError(f"{op}: {argument} must be 4 positive ints; received {argument}={value!r}.")
    return tuple(sizes.tolist())


# ---- the three ops ------------------------------------------------------------------------


def conv2d(input, filters, strides, padding, data_format="NHWC", dilations=None, name=None):  # noqa: A002
    """2-D cross-correlation of NHWC images with HWIO filters (``tf.nn.conv2d``).

    Args:
        input: float tensor (batch, height, width, in_channels).
        filters: tensor (kernel_height, kernel_width, in_channels, out_channels).
        strides: an int, or a list of 1, 2 or 4 ints (``[1, sh, sw, 1]``).
        padding: 'SAME', 'VALID', or explicit ``[[0, 0], [top, bottom], [left, right], [0, 0]]``.
        data_format: only 'NHWC'.
        dilations: spacing between kernel taps, in the forms of ``strides`` (default 1).

    Shape:
        (batch, out_height, out_width, out_channels), with, per axis and
        ``k_eff = (k - 1) * dilation + 1``: SAME ``ceil(n / s)``, VALID
        ``ceil((n - k_eff + 1) / s)``, explicit ``(n + pads - k_eff) // s + 1``.

    Example:
        >>> x = cnnlab.ones([1, 5, 5, 3])
        >>> cnnlab.nn.conv2d(x, cnnlab.ones([3, 3, 3, 8]), strides=2, padding="SAME").shape
        TensorShape([1, 3, 3, 8])
    """
    x, w = as_tensor_pair(input, filters, "conv2d", ("input", "filters"))
    geometry = _conv_geometry(tuple(x.shape), tuple(w.shape), x.dtype, strides, padding, data_format, dilations, "conv2d")
    return _conv2d(x, w, geometry)


def conv2d_backprop_input(input_sizes, filters, out_backprop, strides, padding, data_format="NHWC", dilations=None, name=None):
    """The gradient of ``conv2d`` with respect to its input, for an input of shape ``input_sizes``."""
    op = "conv2d_backprop_input"
    w, dy = as_tensor_pair(filters, out_backprop, op, ("filters", "out_backprop"))
    input_shape = _sizes(input_sizes, op, "input_sizes")
    geometry = _conv_geometry(input_shape, tuple(w.shape), w.dtype, strides, padding, data_format, dilations, op)
    _check_out_backprop(dy, input_shape, tuple(w.shape), geometry, op)
    return _conv2d_backprop_input(input_shape, w, dy, geometry)


def conv2d_backprop_filter(input, filter_sizes, out_backprop, strides, padding, data_format="NHWC", dilations=None, name=None):  # noqa: A002
    """The gradient of ``conv2d`` with respect to filters of shape ``filter_sizes``."""
    op = "conv2d_backprop_filter"
    x, dy = as_tensor_pair(input, out_backprop, op, ("input", "out_backprop"))
    filter_shape = _sizes(filter_sizes, op, "filter_sizes")
    geometry = _conv_geometry(tuple(x.shape), filter_shape, x.dtype, strides, padding, data_format, dilations, op)
    _check_out_backprop(dy, tuple(x.shape), filter_shape, geometry, op)
    return _conv2d_backprop_filter(x, filter_shape, dy, geometry)


def conv2d_transpose(input, filters, output_shape, strides, padding="SAME", data_format="NHWC", dilations=None, name=None):  # noqa: A002
    """The transpose of ``conv2d`` (``tf.nn.conv2d_transpose``): ``filters`` are (kh, kw, out_channels, in_channels)."""
    return conv2d_backprop_input(output_shape, filters, input, strides, padding, data_format, dilations)


def _conv2d(x, w, geometry):
    need_x, need_w = is_watched(x), is_watched(w)
    forward = conv_kernels.conv2d(x._value, w._value, geometry, keep_columns=need_w)
    columns = forward.columns  # the im2col matrix, kept for the filter gradient (None beyond the working memory)

    def grad(dy):
        dx = _conv2d_backprop_input(x.shape, w, dy, geometry) if need_x else None
        if not need_w:
            return dx, None
        if is_recording():  # an outer tape differentiates this gradient: build it from the op
            return dx, _conv2d_backprop_filter(x, w.shape, dy, geometry)
        # The same product from the forward's im2col matrix instead of a new one.
        dw = conv_kernels.conv2d_backprop_filter(x._value, dy._value, w.shape, geometry, columns=columns, in_pieces=True)[0]
        return dx, Tensor(dw)

    return record(forward.out, (x, w), grad)


def _conv2d_backprop_input(input_shape, w, dy, geometry):
    need_w, need_dy = is_watched(w), is_watched(dy)

    def grad(g):
        dw = _conv2d_backprop_filter(g, w.shape, dy, geometry) if need_w else None
        ddy = _conv2d(g, w, geometry) if need_dy else None
        return dw, ddy

    return record(conv_kernels.conv2d_backprop_input(dy._value, w._value, tuple(input_shape), geometry), (w, dy), grad)


def _conv2d_backprop_filter(x, filter_shape, dy, geometry):
    need_x, need_dy = is_watched(x), is_watched(dy)

    def grad(g):
        dx = _conv2d_backprop_input(x.shape, g, dy, geometry) if need_x else None
        ddy = _conv2d(x, g, geometry) if need_dy else None
        return dx, ddy

    value = conv_kernels.conv2d_backprop_filter(x._value, dy._value, tuple(filter_shape), geometry, in_pieces=True)[0]
    return record(value, (x, dy), grad)
