"""Depthwise and separable 2-D convolution (``tf.nn.depthwise_conv2d``, ``tf.nn.separable_conv2d``).

As for ``conv2d`` (see conv_ops), the three depthwise ops are the faces of one
bilinear form ``<depthwise_conv2d(x, w), dy>``, so their gradients are each other:

* ``depthwise_conv2d(x, w)``: dx = ``backprop_input(w, dy)``, dw = ``backprop_filter(x, dy)``;
* ``backprop_input(w, dy)`` with upstream ``g``: dw = ``backprop_filter(g, dy)``, d(dy) = ``depthwise_conv2d(g, w)``;
* ``backprop_filter(x, dy)`` with upstream ``g``: dx = ``backprop_input(g, dy)``, d(dy) = ``depthwise_conv2d(x, g)``.

A separable convolution is a depthwise one followed by a 1x1 ``conv2d``.
"""

from ..autodiff import is_watched, record
from ..kernels import depthwise as depthwise_kernels
from ..kernels.padding import geometry_2d
from ..tensor import as_tensor_pair
from .conv_ops import check_data_format, conv2d, spatial_padding, spatial_pair


def _depthwise_geometry(input_shape, filter_shape, dtype, strides, padding, data_format, dilations, op):
    check_data_format(data_format, op)
    if dtype.kind != "f":
        raise TypeError(f"{op}: expected floating-point tensors; received dtype={dtype.name}.")
    if len(input_shape) != 4:
        raise ValueError(
            f"{op}: input must be 4-D NHWC (batch, height, width, channels); received input shape {input_shape}."
        )
    if len(filter_shape) != 4 or 0 in filter_shape:
        raise ValueError(
            f"{op}: filter must be 4-D (height, width, in_channels, channel_multiplier) with no zero dimension; "
            f"received filter shape {filter_shape}."
        )
    if filter_shape[2] != input_shape[3]:
        raise ValueError(
            f"{op}: the filter expects {filter_shape[2]} input channel(s) (filter shape {filter_shape}) "
            f"but the input has {input_shape[3]} (input shape {input_shape}, NHWC)."
        )
    strides = spatial_pair(strides, op, "strides")
    dilations = spatial_pair(1 if dilations is None else dilations, op, "dilations")
    if max(strides) > 1 and max(dilations) > 1:
        raise ValueError(
            f"{op}: strides > 1 together with dilations > 1 is not supported (as in TF); "
            f"received strides={list(strides)}, dilations={list(dilations)}."
        )
    return geometry_2d(input_shape[1:3], filter_shape[:2], strides, dilations, spatial_padding(padding, op), op)


def depthwise_conv2d(input, filter, strides, padding, data_format=None, dilations=None, name=None):  # noqa: A002
    """Each input channel correlated with its own ``channel_multiplier`` filters (``tf.nn.depthwise_conv2d``).

    Args:
        input: float tensor (batch, height, width, in_channels).
        filter: tensor (kernel_height, kernel_width, in_channels, channel_multiplier).
        strides: an int, or a list of 1, 2 or 4 ints (``[1, sh, sw, 1]``).
        padding: 'SAME', 'VALID', or explicit ``[[0, 0], [top, bottom], [left, right], [0, 0]]``.
        data_format: only 'NHWC'.
        dilations: spacing between kernel taps (default 1).

    Shape:
        (batch, out_height, out_width, in_channels * channel_multiplier), output channel
        ``c * channel_multiplier + m`` from input channel ``c`` and filter ``[:, :, c, m]``;
        the spatial sizes as ``conv2d``'s.

    Example:
        >>> depthwise_conv2d(cnnlab.ones([1, 5, 5, 3]), cnnlab.ones([3, 3, 3, 2]), 1, "VALID").shape
        TensorShape([1, 3, 3, 6])
    """
    op = "depthwise_conv2d"
    x, w = as_tensor_pair(input, filter, op, ("input", "filter"))
    geometry = _depthwise_geometry(
        tuple(x.shape), tuple(w.shape), x.dtype, strides, padding, data_format, dilations, op
    )
    return _depthwise(x, w, geometry)


def depthwise_conv2d_backprop_input(
    input_sizes, filter, out_backprop, strides, padding, data_format=None, dilations=None, name=None
):  # noqa: A002
    """The gradient of ``depthwise_conv2d`` with respect to its input, of shape ``input_sizes``."""
    op = "depthwise_conv2d_backprop_input"
    w, dy = as_tensor_pair(filter, out_backprop, op, ("filter", "out_backprop"))
    input_shape = tuple(int(v) for v in input_sizes)
    geometry = _depthwise_geometry(input_shape, tuple(w.shape), w.dtype, strides, padding, data_format, dilations, op)
    _check_out_backprop(dy, input_shape, tuple(w.shape), geometry, op)
    return _backprop_input(input_shape, w, dy, geometry)


def depthwise_conv2d_backprop_filter(
    input, filter_sizes, out_backprop, strides, padding, data_format=None, dilations=None, name=None
):  # noqa: A002
    """The gradient of ``depthwise_conv2d`` with respect to a filter of shape ``filter_sizes``."""
    op = "depthwise_conv2d_backprop_filter"
    x, dy = as_tensor_pair(input, out_backprop, op, ("input", "out_backprop"))
    filter_shape = tuple(int(v) for v in filter_sizes)
    geometry = _depthwise_geometry(tuple(x.shape), filter_shape, x.dtype, strides, padding, data_format, dilations, op)
    _check_out_backprop(dy, tuple(x.shape), filter_shape, geometry, op)
    return _backprop_filter(x, filter_shape, dy, geometry)


def separable_conv2d(
    input, depthwise_filter, pointwise_filter, strides, padding, data_format=None, dilations=None, name=None
):  # noqa: A002
    """A depthwise convolution, then a 1x1 convolution mixing its channels (``tf.nn.separable_conv2d``).

    Args:
        depthwise_filter: (kernel_height, kernel_width, in_channels, channel_multiplier).
        pointwise_filter: (1, 1, in_channels * channel_multiplier, out_channels).
        The other arguments as ``depthwise_conv2d``.
    """
    depthwise = depthwise_conv2d(input, depthwise_filter, strides, padding, data_format, dilations)
    return conv2d(depthwise, pointwise_filter, strides=1, padding="VALID")


def _check_out_backprop(dy, input_shape, filter_shape, geometry, op):
    expected = (input_shape[0], *geometry.out_shape, filter_shape[2] * filter_shape[3])
    if tuple(dy.shape) != expected:
        raise ValueError(
            f"{op}: out_backprop must have the depthwise_conv2d output shape {expected}; "
            f"received out_backprop.shape={tuple(dy.shape)}."
        )


def _depthwise(x, w, geometry):
    need_x, need_w = is_watched(x), is_watched(w)

    def grad(dy):
        dx = _backprop_input(x.shape, w, dy, geometry) if need_x else None
        dw = _backprop_filter(x, w.shape, dy, geometry) if need_w else None
        return dx, dw

    return record(depthwise_kernels.depthwise_conv2d(x._value, w._value, geometry), (x, w), grad)


def _backprop_input(input_shape, w, dy, geometry):
    need_w, need_dy = is_watched(w), is_watched(dy)

    def grad(g):
        dw = _backprop_filter(g, w.shape, dy, geometry) if need_w else None
        ddy = _depthwise(g, w, geometry) if need_dy else None
        return dw, ddy

    value = depthwise_kernels.depthwise_conv2d_backprop_input(dy._value, w._value, tuple(input_shape), geometry)
    return record(value, (w, dy), grad)


def _backprop_filter(x, filter_shape, dy, geometry):
    need_x, need_dy = is_watched(x), is_watched(dy)

    def grad(g):
        dx = _backprop_input(x.shape, g, dy, geometry) if need_x else None
        ddy = _depthwise(x, g, geometry) if need_dy else None
        return dx, ddy

    value = depthwise_kernels.depthwise_conv2d_backprop_filter(x._value, dy._value, tuple(filter_shape), geometry)
    return record(value, (x, dy), grad)
