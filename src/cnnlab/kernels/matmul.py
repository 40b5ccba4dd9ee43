"""Matrix products on cnnlab's threads: each BLAS call on one thread, big products split by cnnlab.

A product large enough to repay a hand-off (``tuning.SPLIT_MULTIPLY_ADDS``) is split in
one part per thread (``runtime.threads``) by rows of ``a`` or columns of ``b``, whichever
are more, and the parts run side by side, each a one-thread BLAS call
(``runtime.blas``).  Unlike a BLAS library's own threads, which spin while they wait for
one another, a part whose thread waits for a core only delays the product by its own
length: when another program holds a core, the product takes about as long as on one
thread instead of many times longer.

A caller that builds ``a`` itself (a conv's im2col rows) can compute each part's rows
right after writing them, while they are in cache: ``by_row_parts`` hands out the same
slices ``matmul`` would, and ``matmul_rows`` computes one slice (or a chunk of it).
"""

import numpy as np

from ..runtime import blas as blas_threads
from ..runtime import threads, tuning


def matmul(a, b, out=None):
    """``np.matmul(a, b, out=out)``; a large 2-D product with a wide enough result is split
    over the threads (see the module docstring)."""
    if a.ndim == b.ndim == 2 and _splits(a.shape[0], a.shape[1], b.shape[1]):
        return _matmul_in_parts(a, b, out, a.shape[0] * a.shape[1] * b.shape[1])
    return _matmul_one_thread(a, b, out)


def _splits(m, k, n):
    """Whether ``matmul`` splits an (m, k) @ (k, n) product over the threads: enough work, and
    a side of the result wide enough (a long, thin product runs slower in thin parts)."""
    return threads.count() > 1 and m * k * n >= tuning.SPLIT_MULTIPLY_ADDS and max(m, n) >= tuning.SPLIT_MIN_OUTPUT


def by_row_parts(task, m, k, n):
    """Calls ``task(rows)`` for the slices of rows in which ``matmul`` computes an (m, k) @ (k, n)
    product, side by side as it does; each slice's product is then to be computed with
    ``matmul_rows``.  Returns False, calling nothing, where ``matmul`` would split the
    product's columns instead."""
    if not _splits(m, k, n):
        task(slice(0, m))
    elif m >= n:
        threads.parallel_parts(task, m, elements=m * k * n)
    else:
        return False
    return True


def row_part_bounds(m, k, n):
    """The first row of each slice ``by_row_parts`` may hand out when it splits the rows (and
    ``m``): a caller can check that they fall where it can cut its rows.  ``[0, m]`` where
    ``matmul`` runs the product in one piece or splits its columns.  (A split product may
    also run in one piece: see ``runtime.threads.parallel_parts``.)"""
    if not _splits(m, k, n) or m < n:
        return [0, m]
    return [part.start for part in threads.split(m, min(threads.count(), m))] + [m]


def matmul_rows(a, b, out):
    """``a @ b`` into ``out`` on the calling thread: one slice of ``by_row_parts``, or a chunk
    of one (chunks of ``tuning.ROW_GROUP`` rows and multiples of it keep one product's values)."""
    return _matmul_one_thread(a, b, out)


def matmul_in_pieces(a, b):
    """``a @ b`` for 2-D ``a`` and ``b`` with a small result and a long shared axis, on every thread.

    As one BLAS call, such a product (a conv's filter gradient, (9, 100,352) @ (100,352, 10))
    runs on one thread at a few GFLOP/s: the library copies both long operands into its
    packing buffers.  Cut along the shared axis into pieces of ``tuning.PIECE`` steps, it
    is a batch of small products that need no packing and that the threads share; their
    (small) results are then summed, in a fixed order.  The sum is taken in another order
    than one product's, so the result rounds differently (by a few units in the last place).
    """
    (m, k), n = a.shape, b.shape[1]
    pieces = k // tuning.PIECE
    if pieces < 2:
        return _matmul_one_thread(a, b)
    whole = pieces * tuning.PIECE
    a_pieces = a[:, :whole].reshape(m, pieces, tuning.PIECE).transpose(1, 0, 2)
    b_pieces = b[:whole].reshape(pieces, tuning.PIECE, n)
    products = np.empty((pieces, m, n), np.result_type(a, b))
    threads.parallel_parts(
        lambda part: _matmul_one_thread(a_pieces[part], b_pieces[part], products[part]), pieces, m * k * n
    )
    total = products.sum(axis=0)
    if whole < k:
        total += _matmul_one_thread(a[:, whole:], b[whole:])
    return total


def _matmul_one_thread(a, b, out=None):
    """``np.matmul`` on one BLAS thread (see ``runtime.blas``)."""
    blas_threads.begin_product()
    try:
        return np.matmul(a, b, out=out)
    finally:
        blas_threads.end_product()


def _matmul_in_parts(a, b, out, multiply_adds):
    if out is None:
        out = np.empty((a.shape[0], b.shape[1]), np.result_type(a, b))
    if a.shape[0] >= b.shape[1]:
        task, n = (lambda rows: _matmul_one_thread(a[rows], b, out[rows])), a.shape[0]
    else:
        task, n = (lambda cols: _matmul_one_thread(a, b[:, cols], out[:, cols])), b.shape[1]
    threads.parallel_parts(task, n, elements=multiply_adds)
    return out
