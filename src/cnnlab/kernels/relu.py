"""The ReLU and its gradient over big arrays: on every thread, against zeros that stay in cache.

NumPy's ``np.maximum(x, 0)`` against the scalar runs a scalar loop; against an array
of zeros it is vectorized, but a whole array of zeros is one more array to stream
from memory.  One cache-sized row of zeros (``tuning.RELU_ROW`` values), broadcast
against the array cut into rows of that length, gives the vectorized loop without that
traffic, in a single NumPy call per thread.  The gradient ``dy * (out > 0)`` is one pass
(written as two, the mask as floats into ``out`` and then the product, it is faster in
cache but slower on arrays that come from memory, as a training step's do).
"""

import functools

import numpy as np

from ..runtime import threads, tuning


def relu(x, out):
    """Writes ``max(x, 0)`` into ``out`` (which may be ``x``) and returns it; NaN stays NaN.

    ``out`` is a C-contiguous array of ``x``'s shape and dtype.
    """
    values, results = x.reshape(-1), _flat_view(out)
    zeros = _zeros(x.dtype)
    whole = values.size - values.size % tuning.RELU_ROW  # the values in whole rows; the rest after them
    if whole:
        rows, result_rows = values[:whole].reshape(-1, tuning.RELU_ROW), results[:whole].reshape(-1, tuning.RELU_ROW)
        threads.parallel_parts(lambda part: np.maximum(rows[part], zeros, out=result_rows[part]), len(rows), whole)
    np.maximum(values[whole:], zeros[: values.size - whole], out=results[whole:])
    return out


@functools.lru_cache(maxsize=None)
def _zeros(dtype):
    """A read-only row of zeros, made once per dtype."""
    zeros = np.zeros(tuning.RELU_ROW, dtype)
    zeros.flags.writeable = False
    return zeros


def relu_backward(dy, relu_out, out):
    """Writes ``dy`` where ``relu_out > 0``, else 0, into ``out`` and returns it (TF's ReLU gradient, 0 at 0).

    All three are C-contiguous arrays of one shape; ``relu_out`` may equally be the
    ReLU's input (both are positive at the same places).
    """
    gradients, masks, results = dy.reshape(-1), relu_out.reshape(-1), _flat_view(out)
    threads.parallel_parts(
        lambda part: np.multiply(gradients[part], masks[part] > 0, out=results[part]), results.size, results.size
    )
    return out


def _flat_view(out):
    """``out`` as one flat array that writes through to it (a reshape of a non-contiguous array would copy)."""
    if not out.flags.c_contiguous:
        raise ValueError(f"relu kernels: out must be C-contiguous; received an array with strides {out.strides}.")
    return out.reshape(-1)
