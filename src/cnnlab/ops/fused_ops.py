"""The ops Keras models run on: a layer with the one after it as ONE recorded op.

Which layers run as which op is the planner's decision (``keras/models/planner.py``); the
layers themselves call the plain ``tf.nn`` ops.  Written with ``tf.nn`` ops,
``relu(conv2d(x, w) + b)`` is three ops with three full-size results, a bias gradient
summed over every position and an im2col matrix built twice (forward, then again for the
filter gradient).  Fused:

* forward: the bias is one more row of the conv's product (a column of ones in im2col)
  or is added in place to the dense product's output, and the ReLU is applied in place
  on that output (after a 2x2 max pool, when one follows: they commute);
* a Dropout after the op (``dropout=``) multiplies that output in place by its random
  keep factor, drawn as ``tf.nn.dropout`` draws it (the same values for the same seed
  and generator state), and its gradient scales ``dy`` into the buffer the ReLU's gate
  then works in;
* backward: the ReLU mask gates ``dy`` once; for the conv, one product with the forward's
  im2col matrix gives the filter and bias gradients together (after a Winograd forward,
  one transform of ``dy``'s tiles serves all the gradients); the input's gradient is
  computed only when someone watches the input.

When an outer tape records the backward pass (higher-order gradients), the gradient is
instead built from the differentiable ops, with the formulas of the unfused ops, so it
can itself be differentiated.  Big arrays come from the runtime's buffer pool
(``runtime.memory.empty``), reused step after step.
"""

import functools

import numpy as np

from ..autodiff import GradientTape, is_recording, is_watched, record
from ..kernels import batch_norm as norm_kernels
from ..kernels import conv as conv_kernels
from ..kernels import dropout as dropout_kernels
from ..kernels import matmul as products
from ..kernels import pool as pool_kernels
from ..kernels import relu as relu_kernels
from ..kernels.padding import geometry_2d
from ..runtime.memory import empty
from ..tensor import Tensor, as_tensor, as_tensor_pair
from . import conv_ops, math_ops, nn_ops, pool_ops
from .reduction_ops import reduce_sum


def conv2d_bias_relu(x, filters, bias, strides, padding, dilations, relu, max_pool=False, dropout=None):
    """``relu(conv2d(x, filters) + bias)``, then ``max_pool2d(..., 2, 2, 'VALID')`` when ``max_pool``, then
    ``dropout``, as one op.

    Args:
        x: NHWC input; filters: HWIO; bias: (out_channels,) tensor or None.
        strides, padding, dilations: as ``tf.nn.conv2d``.
        relu: whether to apply a ReLU.
        max_pool: whether a 2x2 max pool of stride 2 follows (a Keras ``MaxPooling2D()``).
            The ReLU then comes after the pool, over a quarter of the values: the max of
            ReLUs is the ReLU of the max, and the gradient reaches the same cell (a window
            whose maximum is <= 0 passes no gradient either way).
        dropout: None, or ``(rate, noise_shape, seed)`` of an inverted dropout applied to
            the result in training (``tf.nn.dropout``'s arguments; None entries of
            ``noise_shape`` take the result's size, as in Keras's ``Dropout``).

    Shape:
        as ``tf.nn.conv2d``: (batch, out_height, out_width, out_channels), halved (rounded
        down) by the pool.
    """
    x, w = as_tensor_pair(x, filters, "conv2d", ("input", "filters"))
    geometry = _conv_geometry(tuple(x.shape), tuple(w.shape), x.dtype, strides, padding, dilations)
    inputs = (x, w) if bias is None else (x, w, bias)
    need_x, need_weights = is_watched(x), any(is_watched(t) for t in inputs[1:])
    forward = conv_kernels.conv2d(
        x._value,
        w._value,
        geometry,
        None if bias is None else bias._value,
        relu=relu,
        max_pool=max_pool,
        keep_columns=need_weights,
        argmax=max_pool and (need_x or need_weights),
        empty=empty,
    )
    out, conv_shape = forward.out, (x.shape[0], *geometry.out_shape, w.shape[3])
    keep_scale = _drop_in_place(out, dropout)

    def grad(dy):
        if is_recording():
            dy = dy if keep_scale is None else math_ops.multiply(dy, Tensor(keep_scale))
            d_conv = _gate(dy, out) if relu else dy
            if max_pool:
                pool_geometry = geometry_2d(conv_shape[1:3], (2, 2), (2, 2), (1, 1), "VALID")
                d_conv = pool_ops._max_pool_grad(d_conv, forward.argmax, conv_shape, pool_geometry)
            return _conv_grads_by_ops(x, w, bias, d_conv, geometry, need_x, need_weights)
        d_conv = _gated_gradient(dy._value, out, relu, keep_scale)
        if max_pool:  # in the conv's row order: the quarters of the pooling windows, or NHWC
            d_conv = conv_kernels.pool_backward(d_conv, forward, conv_shape, empty)
        dx, dw, db = conv_kernels.conv2d_gradients(
            x._value, d_conv, w._value, geometry, forward,
            need_input=need_x, need_filters=need_weights, with_bias=bias is not None, empty=empty,
        )  # fmt: skip
        dx, dw, db = (None if g is None else Tensor(g) for g in (dx, dw, db))
        return (dx, dw) if bias is None else (dx, dw, db)

    return record(out, inputs, grad)


def _conv_grads_by_ops(x, w, bias, d_conv, geometry, need_x, need_weights):
    """The gradients of a conv (plus bias) for ``d_conv`` = dL/d(conv output), built from differentiable
    ops so that a recording outer tape can differentiate them again; None for what nobody watches."""
    return (
        conv_ops._conv2d_backprop_input(x.shape, w, d_conv, geometry) if need_x else None,
        conv_ops._conv2d_backprop_filter(x, w.shape, d_conv, geometry) if need_weights else None,
        *(() if bias is None else (reduce_sum(d_conv, axis=(0, 1, 2)) if need_weights else None,)),
    )


@functools.lru_cache(maxsize=64)
def _conv_geometry(input_shape, filter_shape, dtype, strides, padding, dilations):
    """The checks and window geometry of ``conv2d`` (``conv_ops._conv_geometry``), worked out once per
    combination: a layer sees the same few shapes step after step.  Errors are raised, never cached."""
    return conv_ops._conv_geometry(input_shape, filter_shape, dtype, strides, padding, "NHWC", dilations, "conv2d")


def dense_bias_relu(x, kernel, bias, relu, dropout=None):
    """``relu(x @ kernel + bias)`` as one op, for a 2-D ``x`` (the ReLU only when ``relu``), then ``dropout``.

    Args:
        x: (batch, in_features); kernel: (in_features, units); bias: (units,) tensor or None.
        relu: whether to apply a ReLU.
        dropout: None, or ``(rate, noise_shape, seed)``: as ``conv2d_bias_relu``'s.

    Shape:
        (batch, units).
    """
    x, w = as_tensor_pair(x, kernel, "matmul", ("a", "b"))
    inputs = (x, w) if bias is None else (x, w, bias)
    out = products.matmul(x._value, w._value, out=empty((x._value.shape[0], w._value.shape[1]), x._value.dtype))
    if bias is not None:
        out += bias._value
    if relu:
        relu_kernels.relu(out, out=out)
    keep_scale = _drop_in_place(out, dropout)
    need_x, need_weights = is_watched(x), any(is_watched(t) for t in inputs[1:])

    def grad(dy):
        if is_recording():
            dy = dy if keep_scale is None else math_ops.multiply(dy, Tensor(keep_scale))
            dz = _gate(dy, out) if relu else dy
            return (
                math_ops.matmul(dz, w, transpose_b=True) if need_x else None,
                math_ops.matmul(x, dz, transpose_a=True) if need_weights else None,
                *(() if bias is None else (reduce_sum(dz, axis=0) if need_weights else None,)),
            )
        dz = _gated_gradient(dy._value, out, relu, keep_scale)
        dx = dw = db = None
        if need_x:
            dx = Tensor(products.matmul(dz, w._value.T, out=empty(x.shape, dz.dtype)))
        if need_weights:
            dw = Tensor(products.matmul(x._value.T, dz, out=empty(w.shape, dz.dtype)))
            db = Tensor(dz.sum(axis=0))
        return (dx, dw) if bias is None else (dx, dw, db)

    return record(out, inputs, grad)


def _relu_backward(dy, relu_out):
    """``dy`` where the ReLU's output is positive, else 0 (TF's ReLU gradient, 0 at 0)."""
    return relu_kernels.relu_backward(dy, relu_out, out=empty(dy.shape, dy.dtype))


def max_pool2d_dropout(x, ksize, strides, padding, dropout):
    """``dropout(max_pool2d(x, ksize, strides, padding))`` as one op: the pool's fresh output is
    dropped in place, and the gradient routes ``dy`` times the keep factor to the argmax cells.

    Args:
        x: NHWC float tensor; ksize, strides, padding: as ``tf.nn.max_pool2d``.
        dropout: ``(rate, noise_shape, seed)``: as ``conv2d_bias_relu``'s.
    """
    x = as_tensor(x, "max_pool2d")
    if x._value.dtype.kind != "f":
        raise TypeError(f"max_pool2d_dropout: expected a float tensor for x; received dtype={x.dtype.name}.")
    geometry = pool_ops._pool_geometry(x, ksize, strides, padding, "NHWC", "max_pool2d", allow_explicit=True)
    out, argmax = pool_kernels.max_pool(x._value, geometry, with_argmax=is_watched(x))
    keep_scale = _drop_in_place(out, dropout)
    input_shape = x.shape

    def grad(dy):
        if is_recording():
            return (pool_ops._max_pool_grad(math_ops.multiply(dy, Tensor(keep_scale)), argmax, input_shape, geometry),)
        scaled = _gated_gradient(dy._value, out, False, keep_scale)
        return (Tensor(pool_kernels.max_pool_backward(scaled, argmax, tuple(input_shape), geometry)),)

    return record(out, (x,), grad)


def _drop_in_place(out, dropout):
    """Applies ``dropout`` (None, or ``(rate, noise_shape, seed)``) to an op's fresh output ``out`` in place;
    returns the keep factor it multiplied by (``nn_ops._keep_scale``: 0 or ``1 / (1 - rate)``), or None."""
    if dropout is None:
        return None
    rate, noise_shape, seed = dropout
    if noise_shape is not None:  # None entries take the output's size, as in Keras's Dropout
        noise_shape = tuple(size if entry is None else entry for entry, size in zip(noise_shape, out.shape))
    keep_scale = nn_ops._keep_scale(out.shape, out.dtype, rate, noise_shape, seed)
    dropout_kernels.scale(out, keep_scale, out=out)
    return keep_scale


def _gated_gradient(dy, out, relu, keep_scale):
    """The gradient reaching an op's output pass from ``dy`` (the gradient of its ``out``): times the
    dropout's keep factor, then gated by the ReLU (``out > 0`` marks the cells both kept), in one
    pass into a buffer of the op's own."""
    if keep_scale is None:
        return _relu_backward(dy, out) if relu else dy
    return dropout_kernels.scale_gradient(dy, keep_scale, empty(dy.shape, dy.dtype), relu_out=out if relu else None)


def _gate(dy, relu_out):
    """``_relu_backward`` as a differentiable op (the mask is a constant)."""
    return math_ops.multiply(dy, Tensor((relu_out > 0).astype(dy.dtype)))


def batch_norm_training(x, gamma, beta, epsilon, *, relu=False, residual=None, dropout=None):
    """BatchNormalization's training forward over each channel (the last axis), with the sum of a
    residual branch and a ReLU after it, as one op: ``relu(batch_norm(x) + residual)``.

    ``batch_norm(x) = (x - mean) / sqrt(variance + epsilon) * gamma + beta`` with the biased
    mean and variance of each channel over all other axes (``gamma`` and ``beta`` tensors or
    None), computed as TF's fused kernel does, ``x * scale + (beta - mean * scale)``.  One
    pass over ``x`` takes the statistics, one writes the output (``kernels.batch_norm``).
    The gradient is the closed form::

        dx = gamma / sqrt(variance + epsilon) * (g - mean(g) - x_hat * mean(g * x_hat))

    (``g`` the gradient reaching the normalization, past the ReLU's gate; ``x_hat`` the
    normalized input; means over the same axes), in one pass for the sums and one for
    ``dx``; ``g`` is also the residual's gradient.  A dropout after it multiplies the
    output in place, and ``dy`` by the same factor first.  When an outer tape records the backward
    pass, the gradient is taken through ``tf.nn`` ops instead.

    Args:
        x: the input, channels last.
        gamma, beta: (channels,) tensors or None.
        epsilon: added to the variance.
        relu: apply a ReLU to the result.
        residual: None, or a tensor of ``x``'s shape added before the ReLU.
        dropout: None, or ``(rate, noise_shape, seed)`` of a dropout after it: as
            ``conv2d_bias_relu``'s.

    Returns:
        ``(out, mean, variance)``: the output tensor and the batch statistics as
        (channels,) arrays, for the moving averages.
    """
    x = as_tensor(x, "batch_normalization")
    if residual is not None:
        residual = as_tensor(residual, "batch_normalization")
    inputs = tuple(t for t in (x, gamma, beta, residual) if t is not None)
    value = np.ascontiguousarray(x._value)
    dtype = value.dtype
    count = dtype.type(norm_kernels.count_per_channel(value.shape))
    mean, variance = norm_kernels.statistics(value)
    inverse_std = 1 / np.sqrt(variance + dtype.type(epsilon))
    scale = inverse_std if gamma is None else gamma._value * inverse_std
    shift = -mean * scale if beta is None else beta._value - mean * scale
    out = norm_kernels.normalize(
        value, scale, shift, empty(value.shape, dtype), residual=None if residual is None else residual._value, relu=relu
    )
    keep_scale = _drop_in_place(out, dropout)
    need_weights = any(is_watched(t) for t in (gamma, beta) if t is not None)

    def grad(dy):
        if keep_scale is not None and is_recording():
            dy = math_ops.multiply(dy, Tensor(keep_scale))
        elif keep_scale is not None:
            dy = Tensor(_gated_gradient(dy._value, out, False, keep_scale))
        if is_recording():
            return _gradient_through(lambda *args: _batch_norm_by_ops(args, gamma, beta, epsilon, relu, residual), inputs, dy)
        dy_value = np.ascontiguousarray(dy._value)
        # The dropout's scaled gradient is a buffer of this op's own: the ReLU may gate it in place.
        gated = (dy_value if keep_scale is not None else empty(value.shape, dtype)) if relu else None
        sum_g, sum_g_x_hat = norm_kernels.backward_sums(dy_value, value, mean, inverse_std, relu_out=out if relu else None, gated=gated)
        g = gated if relu else dy_value
        coefficients = norm_kernels.gradient_coefficients(
            sum_g, sum_g_x_hat, mean, inverse_std, None if gamma is None else gamma._value, count
        )
        # With no residual to hand g to, dx may take g's own array (when it is this op's).
        into = g if (relu or keep_scale is not None) and residual is None else empty(value.shape, dtype)
        grads = [Tensor(norm_kernels.input_gradient(g, value, *coefficients, out=into))]
        if gamma is not None:
            grads.append(Tensor(sum_g_x_hat) if need_weights else None)
        if beta is not None:
            grads.append(Tensor(sum_g) if need_weights else None)
        if residual is not None:
            grads.append(Tensor(g))
        return tuple(grads)

    return record(out, inputs, grad), mean, variance


def _batch_norm_by_ops(inputs, gamma, beta, epsilon, relu, residual):
    """``batch_norm_training``'s output from ``tf.nn`` ops; ``inputs`` are x, then gamma, beta and the
    residual when given."""
    x, *others = inputs
    gamma = others.pop(0) if gamma is not None else None
    beta = others.pop(0) if beta is not None else None
    residual = others.pop(0) if residual is not None else None
    mean, variance = nn_ops.moments(x, tuple(range(x.ndim - 1)))
    out = nn_ops.batch_normalization(x, mean, variance, beta, gamma, epsilon)
    if residual is not None:
        out = math_ops.add(out, residual)
    return nn_ops.relu(out) if relu else out


def _gradient_through(fn, inputs, dy):
    """The gradients of ``fn(*inputs)`` for the upstream gradient ``dy``, taken through the ops ``fn`` is
    made of, so that a recording outer tape can differentiate them again."""
    with GradientTape() as tape:
        tape.watch(inputs)
        out = fn(*inputs)
    return tuple(tape.gradient(out, list(inputs), output_gradients=dy))
