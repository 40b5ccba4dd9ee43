"""``tf.nn``: convolution, pooling, activations, softmax, losses, dropout and normalization.

Example:
    >>> import cnnlab as tf
    >>> images = tf.random.normal([8, 28, 28, 1])
    >>> features = tf.nn.relu(tf.nn.conv2d(images, tf.random.normal([3, 3, 1, 16]), strides=1, padding="SAME"))
    >>> tf.nn.max_pool2d(features, ksize=2, strides=2, padding="VALID").shape
    TensorShape([8, 14, 14, 16])
"""

from .ops.conv_ops import conv2d, conv2d_backprop_filter, conv2d_backprop_input, conv2d_transpose
from .ops.math_ops import sigmoid, tanh
from .ops.nn_ops import (
    batch_normalization,
    bias_add,
    dropout,
    elu,
    l2_loss,
    leaky_relu,
    log_softmax,
    moments,
    relu,
    relu6,
    selu,
    sigmoid_cross_entropy_with_logits,
    silu,
    softmax,
    softmax_cross_entropy_with_logits,
    softplus,
    softsign,
    sparse_softmax_cross_entropy_with_logits,
    swish,
)
from .ops.pool_ops import avg_pool, avg_pool2d, max_pool, max_pool2d

__all__ = [
    "avg_pool",
    "avg_pool2d",
    "batch_normalization",
    "bias_add",
    "conv2d",
    "conv2d_backprop_filter",
    "conv2d_backprop_input",
    "conv2d_transpose",
    "dropout",
    "elu",
    "l2_loss",
    "leaky_relu",
    "log_softmax",
    "max_pool",
    "max_pool2d",
    "moments",
    "relu",
    "relu6",
    "selu",
    "sigmoid",
    "sigmoid_cross_entropy_with_logits",
    "silu",
    "softmax",
    "softmax_cross_entropy_with_logits",
    "softplus",
    "softsign",
    "sparse_softmax_cross_entropy_with_logits",
    "swish",
    "tanh",
]
