"""Dropout's passes over big arrays, on every thread, a cache-sized block at a time.

``keep_scale`` is dropout's random factor (``ops.nn_ops._keep_scale``: 0 where a value is
dropped, ``1 / (1 - rate)`` where it is kept), of the values' own shape, or of a noise
shape that NumPy broadcasts to it (then, or for arrays not C-contiguous, one NumPy call
on this thread).  The backward
pass scales ``dy`` and gates it by the ReLU before it in one pass over memory: both
products run on one block while it is in cache.
"""

import numpy as np

from ..runtime import threads, tuning


def scale(values, keep_scale, out):
    """Writes ``values * keep_scale`` into ``out`` (which may be ``values``) and returns it.

    ``values`` and ``out`` are arrays of one shape and dtype.
    """
    if not _in_parts(keep_scale, values, out):
        return np.multiply(values, keep_scale, out=out)
    flat_values, flat_scale, flat_out = values.reshape(-1), keep_scale.reshape(-1), out.reshape(-1)

    def part(cells):
        np.multiply(flat_values[cells], flat_scale[cells], out=flat_out[cells])

    threads.parallel_parts(part, flat_out.size, flat_out.size)
    return out


def scale_gradient(dy, keep_scale, out, relu_out=None):
    """Writes ``dy * keep_scale`` into ``out`` and returns it, gated to 0 where ``relu_out <= 0`` when
    ``relu_out`` is given (the ReLU before the dropout: its output after the dropout is positive
    exactly where the ReLU passed a value that was kept).

    ``dy``, ``relu_out`` and ``out`` are arrays of one shape and dtype; ``out`` may be ``dy``.
    """
    if not _in_parts(keep_scale, dy, out, *(() if relu_out is None else (relu_out,))):
        np.multiply(dy, keep_scale, out=out)
        return out if relu_out is None else np.multiply(out, relu_out > 0, out=out)
    flat_dy, flat_scale, flat_out = dy.reshape(-1), keep_scale.reshape(-1), out.reshape(-1)
    flat_relu = None if relu_out is None else relu_out.reshape(-1)

    def part(cells):
        for start in range(cells.start, cells.stop, tuning.DROPOUT_BLOCK):
            block = slice(start, min(start + tuning.DROPOUT_BLOCK, cells.stop))
            np.multiply(flat_dy[block], flat_scale[block], out=flat_out[block])
            if flat_relu is not None:
                np.multiply(flat_out[block], flat_relu[block] > 0, out=flat_out[block])

    threads.parallel_parts(part, flat_out.size, flat_out.size)
    return out


def _in_parts(keep_scale, *arrays):
    """Whether the arrays can be taken as flat parts: ``keep_scale`` of their shape, all C-contiguous
    (a flat view of ``out`` then writes through to it)."""
    return all(a.shape == keep_scale.shape and a.flags.c_contiguous for a in (keep_scale, *arrays))
