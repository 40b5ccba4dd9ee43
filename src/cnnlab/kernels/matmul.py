"""Matrix products on cnnlab's threads: each BLAS call on one thread, big products split by cnnlab.

A product large enough to repay a hand-off (``tuning.SPLIT_MULTIPLY_ADDS``) with enough
rows (``tuning.SPLIT_MIN_OUTPUT``) is split by rows of ``a`` into one part per thread
(``runtime.threads``), and the parts run side by side, each a one-thread BLAS call
(``runtime.blas``).  Unlike a BLAS library's own threads, which spin while they wait for
one another, a part whose thread waits for a core only delays the product by its own
length: when another program holds a core, the product takes about as long as on one
thread instead of many times longer.

The parts are cut between whole groups of ``tuning.ROW_GROUP`` rows: OpenBLAS computes a
product's rows in such groups counted from the first row of the call, so every row of
a part gets the bits the one call over all rows gives it, whatever the thread count.
(A product cut by columns, or between rows elsewhere, rounds some of its values
differently: it is never cut so.)

A caller that builds ``a`` itself (a conv's im2col rows) can compute each part's rows
right after writing them, while they are in cache: ``by_row_parts`` hands out the same
slices ``matmul`` would, and ``matmul_rows`` computes one slice (or a chunk of it).
"""

import numpy as np

from ..runtime import blas as blas_threads
from ..runtime import threads, tuning


def matmul(a, b, out=None):
    """``np.matmul(a, b, out=out)``; a large 2-D product with enough rows is split over the threads
    (see the module docstring)."""
    if a.ndim == b.ndim == 2 and splits(a.shape[0], a.shape[1], b.shape[1]):
        if out is None:
            out = np.empty((a.shape[0], b.shape[1]), np.result_type(a, b))
        by_row_parts(lambda rows: _matmul_one_thread(a[rows], b, out[rows]), *a.shape, b.shape[1])
        return out
    return _matmul_one_thread(a, b, out)


def splits(m, k, n):
    """Whether ``matmul`` cuts an (m, k) @ (k, n) product into parts (one per thread, with more
    than one thread): enough work, and enough rows."""
    return m * k * n >= tuning.SPLIT_MULTIPLY_ADDS and m >= tuning.SPLIT_MIN_OUTPUT


def _groups(m):
    return -(-m // tuning.ROW_GROUP)


def by_row_parts(task, m, k, n):
    """Calls ``task(rows)`` for the slices of rows in which ``matmul`` computes an (m, k) @ (k, n)
    product, side by side as it does (one slice, ``slice(0, m)``, where it does not split it);
    each slice's product is then to be computed with ``matmul_rows``."""
    if not splits(m, k, n):
        task(slice(0, m))
        return
    group = tuning.ROW_GROUP
    threads.parallel_parts(
        lambda groups: task(slice(groups.start * group, min(groups.stop * group, m))), _groups(m), _work(m, k, n)
    )


def _work(m, k, n):
    """An (m, k) @ (k, n) product's work in ``runtime.threads``'s elements: ``tuning.SPLIT_MULTIPLY_ADDS``
    weighs ``tuning.MIN_ELEMENTS`` (so each part has at least half of it)."""
    return m * k * n * tuning.MIN_ELEMENTS // max(1, tuning.SPLIT_MULTIPLY_ADDS)


def row_part_bounds(m, k, n):
    """The first row of each slice ``by_row_parts`` may hand out (and ``m``): a caller can check
    that they fall where it can cut its rows.  ``[0, m]`` where ``matmul`` runs the product in
    one piece.  (A split product may also run in one piece: see ``runtime.threads.parallel_parts``.)"""
    if not splits(m, k, n):
        return [0, m]
    groups = _groups(m)
    return [part.start * tuning.ROW_GROUP for part in threads.split(groups, threads.part_count(groups, _work(m, k, n)))] + [m]


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
