"""Bad input gets a ValueError / TypeError naming the op, the argument, what was expected and what was received."""

import numpy as np
import pytest

import cnnlab as tf

IMAGES = tf.ones([1, 5, 5, 3])
FILTERS = tf.ones([3, 3, 3, 4])

CASES = [
    # conv2d
    ("conv2d_channels", lambda: tf.nn.conv2d(IMAGES, tf.ones([3, 3, 1, 4]), 1, "SAME"), ValueError,
     r"conv2d: the filters expect 1 input channel\(s\) \(filters shape \(3, 3, 1, 4\), HWIO\) but the input has 3 \(input shape \(1, 5, 5, 3\), NHWC\)"),
    ("conv2d_padding", lambda: tf.nn.conv2d(IMAGES, FILTERS, 1, "FULL"), ValueError, r"conv2d: padding must be 'SAME', 'VALID' .*received padding='FULL'"),
    ("conv2d_padding_none", lambda: tf.nn.conv2d(IMAGES, FILTERS, 1, None), ValueError, r"conv2d: padding must be .*received padding=None"),
    ("conv2d_strides_zero", lambda: tf.nn.conv2d(IMAGES, FILTERS, 0, "SAME"), ValueError, r"conv2d: strides must be positive; received strides=0"),
    ("conv2d_strides_negative", lambda: tf.nn.conv2d(IMAGES, FILTERS, [1, -2], "SAME"), ValueError, r"conv2d: strides must be positive; received strides=\[1, -2\]"),
    ("conv2d_strides_batch", lambda: tf.nn.conv2d(IMAGES, FILTERS, [2, 1, 1, 1], "SAME"), ValueError, r"conv2d: strides for the batch and channel dimensions must be 1"),
    ("conv2d_strides_length", lambda: tf.nn.conv2d(IMAGES, FILTERS, [1, 2, 2], "SAME"), ValueError, r"conv2d: strides must be an int or a list of 1, 2 or 4 ints; received strides=\[1, 2, 2\]"),
    ("conv2d_strides_float", lambda: tf.nn.conv2d(IMAGES, FILTERS, 1.5, "SAME"), ValueError, r"conv2d: strides must be an int .*received strides=1.5"),
    ("conv2d_dilations", lambda: tf.nn.conv2d(IMAGES, FILTERS, 1, "SAME", dilations=0), ValueError, r"conv2d: dilations must be positive; received dilations=0"),
    ("conv2d_valid_too_big", lambda: tf.nn.conv2d(IMAGES, tf.ones([6, 3, 3, 4]), 1, "VALID"), ValueError,
     r"conv2d: the window \(effective height 6 .*\) is larger than the input height \(5\)"),
    ("conv2d_dilated_too_big", lambda: tf.nn.conv2d(IMAGES, FILTERS, 1, "VALID", dilations=[1, 3]), ValueError,
     r"conv2d: the window \(effective width 7 = \(kernel 3 - 1\) \* dilation 3 \+ 1\) is larger than the input width \(5\)"),
    ("conv2d_input_rank", lambda: tf.nn.conv2d(tf.ones([5, 5, 3]), FILTERS, 1, "SAME"), ValueError,
     r"conv2d: input must be 4-D NHWC .*received input shape \(5, 5, 3\)"),
    ("conv2d_filters_rank", lambda: tf.nn.conv2d(IMAGES, tf.ones([3, 3, 3]), 1, "SAME"), ValueError, r"conv2d: filters must be 4-D HWIO .*received filters shape \(3, 3, 3\)"),
    ("conv2d_int", lambda: tf.nn.conv2d(tf.ones([1, 5, 5, 3], tf.int32), tf.ones([3, 3, 3, 4], tf.int32), 1, "SAME"), TypeError,
     r"conv2d: expected floating-point tensors; received dtype=int32"),
    ("conv2d_mixed_dtypes", lambda: tf.nn.conv2d(IMAGES, tf.ones([3, 3, 3, 4], tf.float64), 1, "SAME"), TypeError,
     r"conv2d: both operands must have the same dtype; received input.dtype=float32 and filters.dtype=float64"),
    ("conv2d_nchw", lambda: tf.nn.conv2d(IMAGES, FILTERS, 1, "SAME", data_format="NCHW"), ValueError,
     r"conv2d: only data_format='NHWC' \(channels last\) is supported; received data_format='NCHW'"),
    ("conv2d_explicit_batch_padding", lambda: tf.nn.conv2d(IMAGES, FILTERS, 1, [[1, 1], [1, 1], [1, 1], [0, 0]]), ValueError,
     r"conv2d: explicit padding must be >= 0 and 0 for the batch and channel dimensions"),
    ("conv2d_explicit_form", lambda: tf.nn.conv2d(IMAGES, FILTERS, 1, [[1, 1], [1, 1]]), ValueError,
     r"conv2d: padding must be 'SAME', 'VALID' or explicit \[\[0, 0\], \[top, bottom\], \[left, right\], \[0, 0\]\]"),
    ("conv2d_backprop_input_shape", lambda: tf.nn.conv2d_backprop_input([1, 5, 5, 3], FILTERS, tf.ones([1, 4, 4, 4]), 1, "SAME"), ValueError,
     r"conv2d_backprop_input: out_backprop must have the conv2d output shape \(1, 5, 5, 4\); received out_backprop.shape=\(1, 4, 4, 4\)"),
    ("conv2d_backprop_input_sizes", lambda: tf.nn.conv2d_backprop_input([1, 5, 5], FILTERS, tf.ones([1, 5, 5, 4]), 1, "SAME"), ValueError,
     r"conv2d_backprop_input: input_sizes must be 4 positive ints; received input_sizes=\[1, 5, 5\]"),
    # pooling
    ("max_pool_ksize", lambda: tf.nn.max_pool2d(IMAGES, 0, 1, "SAME"), ValueError, r"max_pool2d: ksize must be positive; received ksize=0"),
    ("max_pool_strides", lambda: tf.nn.max_pool2d(IMAGES, 2, -1, "SAME"), ValueError, r"max_pool2d: strides must be positive; received strides=-1"),
    ("max_pool_valid_too_big", lambda: tf.nn.max_pool2d(IMAGES, [2, 6], 1, "VALID"), ValueError, r"max_pool2d: the window \(effective width 6 .*larger than the input width \(5\)"),
    ("max_pool_padding", lambda: tf.nn.max_pool2d(IMAGES, 2, 2, "same-ish"), ValueError, r"max_pool2d: padding must be .*received padding='same-ish'"),
    ("max_pool_rank", lambda: tf.nn.max_pool(tf.ones([1, 5, 5, 5, 3]), 2, 2, "VALID"), ValueError, r"max_pool: only 2-D pooling of 4-D NHWC input is supported; received an input of rank 5"),
    ("max_pool2d_rank", lambda: tf.nn.max_pool2d(tf.ones([5, 5, 3]), 2, 2, "VALID"), ValueError, r"max_pool2d: input must be 4-D NHWC .*received input.shape=\(5, 5, 3\)"),
    ("max_pool_ksize_form", lambda: tf.nn.max_pool2d(IMAGES, [1, 2, 2, 2], 2, "VALID"), ValueError, r"max_pool2d: ksize for the batch and channel dimensions must be 1"),
    ("max_pool_explicit_too_big", lambda: tf.nn.max_pool2d(IMAGES, 2, 2, [[0, 0], [2, 1], [1, 1], [0, 0]]), ValueError,
     r"max_pool2d: explicit padding must be smaller than the window"),
    ("max_pool_bool", lambda: tf.nn.max_pool2d(tf.ones([1, 4, 4, 1], tf.bool), 2, 2, "VALID"), TypeError, r"max_pool2d: expected a float or integer tensor for input; received dtype=bool"),
    ("avg_pool_int", lambda: tf.nn.avg_pool2d(tf.ones([1, 4, 4, 1], tf.int32), 2, 2, "VALID"), TypeError, r"avg_pool2d: expected a floating-point tensor for input \(TF's average pooling takes no integers\); received dtype=int32. Cast it first"),
    ("avg_pool_valid_too_big", lambda: tf.nn.avg_pool2d(np.ones((1, 2, 2, 1), np.float32), 3, 1, "VALID"), ValueError,
     r"avg_pool2d: the window \(effective height 3 .*larger than the input height \(2\)"),
    ("avg_pool_explicit", lambda: tf.nn.avg_pool2d(IMAGES, 2, 2, [[0, 0], [1, 1], [1, 1], [0, 0]]), ValueError, r"avg_pool2d: padding must be 'SAME' or 'VALID'"),
    ("avg_pool_nchw", lambda: tf.nn.avg_pool2d(IMAGES, 2, 2, "VALID", data_format="NCHW"), ValueError, r"avg_pool2d: only data_format='NHWC'"),
    # shapes
    ("reshape_does_not_fit", lambda: tf.reshape(tf.ones([2, 3]), [4, 2]), ValueError, r"reshape: cannot reshape a tensor of shape \(2, 3\) \(6 elements\) to shape=\[4, 2\]"),
    ("reshape_two_unknowns", lambda: tf.reshape(tf.ones([2, 3]), [-1, -1]), ValueError, r"reshape: shape may contain at most one -1"),
    ("reshape_float_shape", lambda: tf.reshape(tf.ones([2, 3]), [2.5, 2]), TypeError, r"reshape: shape must be an integer or a list of integers; received shape=\[2.5, 2\]"),
    ("matmul_inner", lambda: tf.matmul(tf.ones([2, 3]), tf.ones([2, 3])), ValueError, r"matmul: the inner dimensions must agree; received a.shape=\(2, 3\)"),
    ("matmul_rank", lambda: tf.matmul(tf.ones([3]), tf.ones([3, 2])), ValueError, r"matmul: both arguments must have rank >= 2; received a.shape=\(3,\)"),
    ("add_broadcast", lambda: tf.ones([2, 3]) + tf.ones([4]), ValueError, r"add: the shapes of x and y must be broadcast-compatible; received x.shape=\(2, 3\), y.shape=\(4,\)"),
    ("concat", lambda: tf.concat([tf.ones([2, 3]), tf.ones([3, 2])], 0), ValueError, r"concat: .*received shapes \[\(2, 3\), \(3, 2\)\]"),
    ("concat_empty", lambda: tf.concat([], 0), ValueError, r"concat: expected a non-empty list of tensors"),
    ("stack", lambda: tf.stack([tf.ones([2]), tf.ones([3])]), ValueError, r"stack: all tensors must have the same shape; received shapes \[\(2,\), \(3,\)\]"),
    ("squeeze", lambda: tf.squeeze(tf.ones([2, 3]), 0), ValueError, r"squeeze: cannot squeeze axis 0 of size 2"),
    ("transpose", lambda: tf.transpose(tf.ones([2, 3]), [0, 0]), ValueError, r"transpose: perm must be a permutation of the 2 axes; received perm=\[0, 0\]"),
    ("expand_dims", lambda: tf.expand_dims(tf.ones([2, 3]), 5), ValueError, r"expand_dims: axis must be an integer in \[-3, 2\]; received axis=5"),
    ("gather", lambda: tf.gather(tf.ones([2, 3]), [5]), ValueError, r"gather: indices must be in \[0, 2\) for axis 0 .*received values in \[5, 5\]"),
    ("tile", lambda: tf.tile(tf.ones([2, 3]), [2]), ValueError, r"tile: multiples must have one entry per axis \(2\); received multiples=\[2\]"),
    ("pad", lambda: tf.pad(tf.ones([2, 3]), [[1, 1]]), ValueError, r"pad: paddings must be 2 pairs"),
    ("zeros_negative", lambda: tf.zeros([-1, 2]), ValueError, r"zeros: shape must not contain negative sizes; received shape=\[-1, 2\]"),
    ("where_shapes", lambda: tf.where([True, False, True], tf.ones([2]), tf.ones([2])), ValueError, r"where: condition, x and y must broadcast together"),
    ("where_condition_dtype", lambda: tf.where([1, 0], [1.0, 2.0], [3.0, 4.0]), TypeError, r"where: condition must be a bool tensor; received dtype=int32"),
    ("clip_broadcast", lambda: tf.clip_by_value(tf.ones([2]), tf.zeros([3, 2]), 1.0), ValueError, r"clip_by_value: the clip values must not broadcast the tensor"),
    # values and dtypes
    ("one_hot_float", lambda: tf.one_hot([0.5], 3), TypeError, r"one_hot: indices must be integers \(TF refuses float indices too\); received dtype=float32. Cast them first: tf.cast\(indices, tf.int32\)"),
    ("range_zero_delta", lambda: tf.range(0, 5, 0), ValueError, r"range: delta must not be 0"),
    ("reduce_axis", lambda: tf.reduce_sum(tf.ones([2, 3]), axis=2), ValueError, r"reduce_sum: axis 2 is out of range for a tensor of rank 2"),
    ("reduce_bool", lambda: tf.reduce_mean(tf.constant([True])), TypeError, r"reduce_mean: expected a numeric tensor; received dtype=bool"),
    ("reduce_any_float", lambda: tf.reduce_any(tf.ones([2])), TypeError, r"reduce_any: expected a bool tensor; received dtype=float32"),
    ("argmax_scalar", lambda: tf.argmax(tf.constant(1.0)), ValueError, r"argmax: expected a tensor of rank >= 1; received a scalar"),
    ("exp_int", lambda: tf.exp(tf.constant([1, 2])), TypeError, r"exp: expected a floating-point tensor for x; received dtype=int32"),
    ("relu_bool", lambda: tf.nn.relu(tf.constant([True, False])), TypeError, r"relu: expected a floating-point tensor for features; received dtype=bool"),
    ("logical_float", lambda: tf.logical_and(tf.ones([2]), tf.ones([2])), TypeError, r"logical_and: expected a bool tensor for x; received dtype=float32"),
    ("cast_unknown_dtype", lambda: tf.cast(tf.ones([2]), "nope"), TypeError, r"cast: cannot convert 'nope' to a dtype"),
    ("float_into_int", lambda: tf.constant([1, 2]) * 0.5, TypeError, r"multiply: cannot convert a value of dtype float64 to dtype int32"),
    # losses and nn
    ("sparse_label_too_big", lambda: tf.nn.sparse_softmax_cross_entropy_with_logits([3], [[1.0, 2.0, 3.0]]), ValueError,
     r"sparse_softmax_cross_entropy_with_logits: labels must be in \[0, 3\) \(the number of classes\); received a label 3"),
    ("sparse_label_negative", lambda: tf.nn.sparse_softmax_cross_entropy_with_logits([-1], [[1.0, 2.0, 3.0]]), ValueError, r"received a label -1"),
    ("sparse_label_float", lambda: tf.nn.sparse_softmax_cross_entropy_with_logits([1.0], [[1.0, 2.0, 3.0]]), TypeError,
     r"sparse_softmax_cross_entropy_with_logits: labels must be integer class indices; received dtype=float32"),
    ("sparse_label_shape", lambda: tf.nn.sparse_softmax_cross_entropy_with_logits([1, 2], [[1.0, 2.0, 3.0]]), ValueError,
     r"labels must have the shape of logits without the last \(class\) axis; received labels.shape=\(2,\), logits.shape=\(1, 3\)"),
    ("softmax_ce_shape", lambda: tf.nn.softmax_cross_entropy_with_logits([[1.0, 0.0]], [[1.0, 2.0, 3.0]]), ValueError,
     r"softmax_cross_entropy_with_logits: labels and logits must have the same shape"),
    ("sigmoid_ce_shape", lambda: tf.nn.sigmoid_cross_entropy_with_logits(labels=[1.0], logits=[1.0, 2.0]), ValueError,
     r"sigmoid_cross_entropy_with_logits: labels and logits must have the same shape"),
    ("bias_add_size", lambda: tf.nn.bias_add(tf.ones([2, 3]), tf.ones([2])), ValueError, r"bias_add: bias must be 1-D with one entry per channel \(3, .*received bias.shape=\(2,\)"),
    ("dropout_rate_one", lambda: tf.nn.dropout(tf.ones([2]), 1.0), ValueError, r"dropout: rate must be a number in \[0, 1\); received rate=1.0"),
    ("dropout_noise_shape", lambda: tf.nn.dropout(tf.ones([2, 3]), 0.5, noise_shape=[4, 1]), ValueError, r"dropout: noise_shape=\[4, 1\] does not broadcast to x.shape=\(2, 3\)"),
    ("softmax_scalar", lambda: tf.nn.softmax(tf.constant(1.0)), ValueError, r"softmax: expected a tensor of rank >= 1"),
    ("softmax_axis", lambda: tf.nn.softmax(tf.ones([2, 3]), axis=2), ValueError, r"softmax: axis 2 is out of range for a tensor of rank 2"),
]  # fmt: skip


@pytest.mark.parametrize("call, error, message", [pytest.param(c, e, m, id=name) for name, c, e, m in CASES])
def test_bad_input_gets_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()

