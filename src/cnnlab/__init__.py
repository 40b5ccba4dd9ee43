"""cnnlab: convolutional neural networks from scratch on NumPy, with a TensorFlow 2 API.

    import cnnlab as tf

    x = tf.Variable(3.0)
    with tf.GradientTape() as tape:
        y = x ** 2
    tape.gradient(y, x)  # 6.0
"""

import importlib

from . import dtypes
from .autodiff import GradientTape, UnconnectedGradients
from .kernels.memory import keep_freed_memory as _keep_freed_memory
from .dtypes import (
    as_dtype,
    bool_ as bool,  # noqa: A001 - TF's name
    complex64,
    complex128,
    double,
    float16,
    float32,
    float64,
    half,
    int8,
    int16,
    int32,
    int64,
    string,
    uint8,
    uint16,
    uint32,
    uint64,
)
from .ops.array_ops import (
    broadcast_to,
    concat,
    expand_dims,
    eye,
    fill,
    gather,
    identity,
    one_hot,
    ones,
    ones_like,
    pad,
    range,  # noqa: A004 - TF's name
    rank,
    reshape,
    shape,
    size,
    squeeze,
    stack,
    stop_gradient,
    tile,
    transpose,
    unstack,
    where,
    zeros,
    zeros_like,
)
from .ops.math_ops import (
    abs,  # noqa: A004 - TF's name
    add,
    cast,
    clip_by_value,
    divide,
    equal,
    exp,
    greater,
    greater_equal,
    less,
    less_equal,
    log,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    matmul,
    maximum,
    minimum,
    multiply,
    negative,
    not_equal,
    pow,  # noqa: A004 - TF's name
    round,  # noqa: A004 - TF's name
    sigmoid,
    sign,
    sqrt,
    square,
    subtract,
    tanh,
)
from .ops.reduction_ops import (
    argmax,
    argmin,
    reduce_all,
    reduce_any,
    reduce_logsumexp,
    reduce_max,
    reduce_mean,
    reduce_min,
    reduce_prod,
    reduce_sum,
)
from .tensor import Tensor, TensorShape, Variable, constant, convert_to_tensor, is_tensor

__version__ = "0.1.0"

# Training steps allocate and free the same big arrays over and over: let the C
# allocator keep them instead of faulting fresh pages in every step (kernels/memory.py).
_keep_freed_memory()

# Submodules that pull in more code load on first use (``tf.keras``, ``tf.signal``, ...).
# As in TF 2, ``tf.optimizers`` / ``tf.initializers`` / ``tf.losses`` are the Keras ones.
_LAZY_MODULES = {
    "nn": ".nn",
    "math": ".math",
    "linalg": ".linalg",
    "random": ".random",
    "signal": ".signal",
    "testing": ".testing",
    "datasets": ".datasets",
    "keras": ".keras",
    "optimizers": ".keras.optimizers",
    "initializers": ".keras.initializers",
    "losses": ".keras.losses",
}


def __getattr__(name):
    if name in _LAZY_MODULES:
        return importlib.import_module(_LAZY_MODULES[name], __name__)
    if name == "constant_initializer":
        return importlib.import_module(".keras.initializers", __name__).Constant
    raise AttributeError(f"module 'cnnlab' has no attribute {name!r}")
