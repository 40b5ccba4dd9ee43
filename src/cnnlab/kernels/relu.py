"""The ReLU and its gradient over big arrays, split over cnnlab's threads."""

import numpy as np

from ..runtime import threads


def relu(x, out):
    """Writes ``max(x, 0)`` into ``out`` (which may be ``x``) and returns it; NaN stays NaN.

    ``out`` is a C-contiguous array of ``x``'s shape and dtype.
    """
    values, results = x.reshape(-1), _flat_view(out)
    threads.parallel_parts(lambda part: np.maximum(values[part], 0, out=results[part]), values.size, values.size)
    return out


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
