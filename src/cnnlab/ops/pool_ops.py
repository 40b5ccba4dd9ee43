"""2-D max and average pooling (``tf.nn.max_pool2d`` / ``avg_pool2d``), each differentiable to any order.

Both poolings are linear once the windows are fixed, so their gradients are
ops with simple adjoints:

* max pool: the gradient routes ``dy`` to each window's argmax (``_max_pool_grad``);
  that op's own gradient gathers the upstream gradient at the same argmax cells
  (``_max_pool_gather``), whose gradient is ``_max_pool_grad`` again.  The
  argmax does not move under an infinitesimal change of the input, so no
  gradient flows back to the input through the routing itself.
* avg pool: the gradient spreads ``dy`` evenly over each window's real cells
  (``_avg_pool_grad``), whose gradient is ``avg_pool`` again.
"""


from ..autodiff import is_watched, record
from ..kernels import pool as pool_kernels
from ..kernels.padding import geometry_2d
from .conv_ops import check_data_format, spatial_pair, spatial_padding
from ..tensor import as_tensor
from .math_ops import _float_tensor


def _pool_geometry(x, ksize, strides, padding, data_format, op, allow_explicit):
    check_data_format(data_format, op)
    if x.ndim != 4:
        raise ValueError(
            f"{op}: input must be 4-D NHWC (batch, height, width, channels); received input.shape={tuple(x.shape)}."
        )
    kernel = spatial_pair(ksize, op, "ksize")
    strides = spatial_pair(strides, op, "strides")
    padding = spatial_padding(padding, op, allow_explicit)
    if not isinstance(padding, str) and any(p >= k for pair, k in zip(padding, kernel) for p in pair):
        raise ValueError(
            f"{op}: explicit padding must be smaller than the window (ksize={list(kernel)}), so that no window is "
            f"only padding; received padding={[list(p) for p in padding]}."
        )
    return geometry_2d(x.shape[1:3], kernel, strides, (1, 1), padding, op)


def max_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None):  # noqa: A002
    """The maximum over each ``ksize`` window of NHWC images (``tf.nn.max_pool2d``).

    Args:
        input: float or integer tensor (batch, height, width, channels).
        ksize, strides: an int, or a list of 1, 2 or 4 ints (``[1, kh, kw, 1]``).
        padding: 'SAME', 'VALID', or explicit ``[[0, 0], [top, bottom], [left, right], [0, 0]]``;
            padded cells never win.
        data_format: only 'NHWC'.

    Shape:
        (batch, out_height, out_width, channels), with per axis SAME ``ceil(n / s)``
        and VALID ``ceil((n - k + 1) / s)``.

    Example:
        >>> cnnlab.nn.max_pool2d(cnnlab.ones([1, 4, 4, 2]), 2, 2, "VALID").shape
        TensorShape([1, 2, 2, 2])
    """
    x = as_tensor(input, "max_pool2d")
    if x._value.dtype.kind not in "iuf":  # integers too, as TF's MaxPool (only floats have a gradient)
        raise TypeError(f"max_pool2d: expected a float or integer tensor for input; received dtype={x.dtype.name}.")
    geometry = _pool_geometry(x, ksize, strides, padding, data_format, "max_pool2d", allow_explicit=True)
    out, argmax = pool_kernels.max_pool(x._value, geometry, with_argmax=is_watched(x))
    input_shape = x.shape  # not x itself: the gradient does not need its values
    return record(out, (x,), lambda dy: (_max_pool_grad(dy, argmax, input_shape, geometry),))


def max_pool(input, ksize, strides, padding, data_format=None, name=None):  # noqa: A002
    """``tf.nn.max_pool`` for 4-D (NHWC) input: see ``max_pool2d``."""
    _check_2d("max_pool", input)
    return max_pool2d(input, ksize, strides, padding, "NHWC" if data_format is None else data_format)


def _max_pool_grad(dy, argmax, input_shape, geometry):
    def grad(g):
        return (_max_pool_gather(g, argmax, geometry),)

    value = pool_kernels.max_pool_backward(dy._value, argmax, tuple(input_shape), geometry)
    return record(value, (dy,), grad)


def _max_pool_gather(g, argmax, geometry):
    def grad(dy):
        return (_max_pool_grad(dy, argmax, g.shape, geometry),)

    return record(pool_kernels.max_pool_gather(g._value, argmax, geometry), (g,), grad)


def avg_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None):  # noqa: A002
    """The mean over each ``ksize`` window of NHWC images (``tf.nn.avg_pool2d``).

    With 'SAME' padding, each window's sum is divided by the number of real
    (not padded) cells it covers, as in TF.  Arguments and shape as ``max_pool2d``,
    except that padding is only 'SAME' or 'VALID', and the input must be a float
    tensor (TF's AvgPool refuses integers: cast them first).
    """
    x = as_tensor(input, "avg_pool2d")
    if x._value.dtype.kind in "iub":
        raise TypeError(
            f"avg_pool2d: expected a floating-point tensor for input (TF's average pooling takes no integers); "
            f"received dtype={x.dtype.name}. Cast it first: tf.cast(input, tf.float32)."
        )
    x = _float_tensor(x, "avg_pool2d", "input")
    geometry = _pool_geometry(x, ksize, strides, padding, data_format, "avg_pool2d", allow_explicit=False)
    return _avg_pool(x, geometry)


def avg_pool(input, ksize, strides, padding, data_format=None, name=None):  # noqa: A002
    """``tf.nn.avg_pool`` for 4-D (NHWC) input: see ``avg_pool2d``."""
    _check_2d("avg_pool", input)
    return avg_pool2d(input, ksize, strides, padding, "NHWC" if data_format is None else data_format)


def _avg_pool(x, geometry):
    return record(pool_kernels.avg_pool(x._value, geometry), (x,), lambda dy: (_avg_pool_grad(dy, x.shape, geometry),))


def _avg_pool_grad(dy, input_shape, geometry):
    def grad(g):
        return (_avg_pool(g, geometry),)

    return record(pool_kernels.avg_pool_backward(dy._value, tuple(input_shape), geometry), (dy,), grad)


def _check_2d(op, input):  # noqa: A002
    rank = getattr(input, "ndim", None)
    if rank is not None and rank != 4:
        raise ValueError(f"{op}: only 2-D pooling of 4-D NHWC input is supported; received an input of rank {rank}.")
