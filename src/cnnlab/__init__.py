"""cnnlab: convolutional neural networks from scratch on NumPy, with a TensorFlow 2 API.

``cnnlab.__version__`` is the TensorFlow version whose API cnnlab follows (see
``cnnlab.version``); cnnlab's own version is ``cnnlab.__cnnlab_version__``.

    import cnnlab as tf

    x = tf.Variable(3.0)
    with tf.GradientTape() as tape:
        y = x ** 2
    tape.gradient(y, x)  # 6.0
"""

import importlib

from . import dtypes
from .autodiff import GradientTape, UnconnectedGradients
from .config import device
from .dtypes import (
    as_dtype,
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
from .dtypes import (
    bool_ as bool,  # noqa: A001 - TF's name
)
from .function import TensorSpec, executing_eagerly, function
from .module import Module
from .ops.array_ops import (
    broadcast_to,
    concat,
    expand_dims,
    eye,
    fill,
    gather,
    identity,
    linspace,
    meshgrid,
    one_hot,
    ones,
    ones_like,
    pad,
    range,  # noqa: A004 - TF's name
    rank,
    repeat,
    reshape,
    reverse,
    roll,
    sequence_mask,
    shape,
    size,
    split,
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
from .ops.elementwise_ops import (
    acos,
    acosh,
    add_n,
    asin,
    asinh,
    atan,
    atan2,
    atanh,
    cos,
    cosh,
    scalar_mul,
    sin,
    sinh,
    tan,
    truncatediv,
    truncatemod,
)
from .ops.indexing_ops import (
    boolean_mask,
    gather_nd,
    scatter_nd,
    slice,  # noqa: A004 - TF's name
    tensor_scatter_nd_add,
    tensor_scatter_nd_sub,
    tensor_scatter_nd_update,
)
from .ops.linalg_ops import clip_by_global_norm, clip_by_norm, einsum, norm, tensordot
from .ops.math_ops import (
    abs,  # noqa: A004 - TF's name
    add,
    cast,
    clip_by_value,
    divide,
    equal,
    exp,
    floor,
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
from .ops.math_ops import (
    divide as realdiv,
)
from .ops.math_ops import (
    divide as truediv,
)
from .ops.print_ops import print  # noqa: A004 - TF's name
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
from .ops.scan_ops import cumsum
from .ops.sort_ops import argsort, searchsorted, sort, unique, unique_with_counts
from .tensor import (
    Tensor,
    TensorShape,
    Variable,
    constant,
    convert_to_tensor,
    is_tensor,
)
from .version import CNNLAB_VERSION as __cnnlab_version__
from .version import VERSION as __version__

# ``x[:, tf.newaxis]`` adds an axis, as NumPy's ``np.newaxis`` does.
newaxis = None

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
    "config": ".config",
    "runtime": ".runtime",
    "keras": ".keras",
    "optimizers": ".keras.optimizers",
    "initializers": ".keras.initializers",
    "losses": ".keras.losses",
    "version": ".version",
    "data": ".data",
    "image": ".image",
    "nest": ".nest",
}

# TF 2's initializer classes at the top level are the Keras initializers.
_INITIALIZERS = {
    "constant_initializer": "Constant",
    "ones_initializer": "Ones",
    "random_normal_initializer": "RandomNormal",
    "random_uniform_initializer": "RandomUniform",
    "zeros_initializer": "Zeros",
}


def __getattr__(name):
    if name in _LAZY_MODULES:
        return importlib.import_module(_LAZY_MODULES[name], __name__)
    if name in _INITIALIZERS:
        return getattr(importlib.import_module(".keras.initializers", __name__), _INITIALIZERS[name])
    raise AttributeError(f"module 'cnnlab' has no attribute {name!r}")
