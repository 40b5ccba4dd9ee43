"""``tf.math``: elementwise math, comparisons, logic and reductions under their TF names.

Not here (see the README's known differences): the segment and sparse families,
the special functions (``lgamma``, ``digamma``, ``erfinv``, ``ndtri``, ``bessel_*``,
``betainc``, ``igamma``, ``polygamma``, ``zeta``, ``lbeta``), complex-number functions
(``angle``, ``conj``, ``real``, ``imag``), ``sobol_sample`` and ``approx_max_k`` / ``approx_min_k``.
"""

from .ops.elementwise_ops import (
    accumulate_n,
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
    divide_no_nan,
    erf,
    erfc,
    expm1,
    invert_permutation,
    is_non_decreasing,
    is_strictly_increasing,
    log_sigmoid,
    multiply_no_nan,
    nextafter,
    polyval,
    reciprocal_no_nan,
    rint,
    scalar_mul,
    sin,
    sinh,
    tan,
    truncatediv,
    truncatemod,
    xdivy,
    xlog1py,
    xlogy,
    zero_fraction,
)
from .ops.histogram_ops import bincount, confusion_matrix
from .ops.linalg_ops import l2_normalize
from .ops.math_ops import (
    abs,  # noqa: A004 - TF's name
    add,
    ceil,
    divide,
    equal,
    exp,
    floor,
    floordiv,
    greater,
    greater_equal,
    is_finite,
    is_inf,
    is_nan,
    less,
    less_equal,
    log,
    log1p,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    maximum,
    minimum,
    mod,
    multiply,
    negative,
    not_equal,
    pow,  # noqa: A004 - TF's name
    reciprocal,
    round,  # noqa: A004 - TF's name
    rsqrt,
    sigmoid,
    sign,
    sqrt,
    square,
    squared_difference,
    subtract,
    tanh,
)
from .ops.math_ops import (
    divide as truediv,
)
from .ops.math_ops import (
    mod as floormod,
)
from .ops.nn_ops import log_softmax, softmax, softplus, softsign
from .ops.reduction_ops import (
    argmax,
    argmin,
    count_nonzero,
    reduce_all,
    reduce_any,
    reduce_euclidean_norm,
    reduce_logsumexp,
    reduce_max,
    reduce_mean,
    reduce_min,
    reduce_prod,
    reduce_std,
    reduce_sum,
    reduce_variance,
)
from .ops.scan_ops import cumprod, cumsum, cumulative_logsumexp
from .ops.sort_ops import in_top_k, top_k
