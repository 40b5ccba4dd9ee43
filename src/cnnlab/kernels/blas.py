"""cnnlab's matrix products: each BLAS call on one thread, large products split over two.

NumPy's bundled OpenBLAS splits every product above a small size over all cores,
and its helper threads wait for one another.  When another process holds one of
the cores, a thread that is not scheduled stalls the whole product: on the
2-core machine the benchmarks ran on, a (32, 1960) @ (1960, 100) product that
takes 0.3 ms on one thread took 8 to 70 ms on two while another program was
busy.  So ``matmul`` asks OpenBLAS for one thread while cnnlab's products run and
then puts back the count it found: NumPy products made outside cnnlab keep
OpenBLAS's own setting (``OPENBLAS_NUM_THREADS``), unless they run on another thread
at the same moment as one of cnnlab's.  Products large enough to
repay a hand-off are split by cnnlab into one part per core, computed side by side
by ``threads.parallel_parts``, whose threads never spin: when another program holds
a core, the product takes about as long as on one thread (plus the hand-off),
instead of many times longer.

The switch is OpenBLAS's ``openblas_set_num_threads_local`` (OpenBLAS >= 0.3.27,
which NumPy >= 2 wheels bundle), which returns the count it replaces; despite its
name, in NumPy's (pthreads) build the count is the whole process's, so cnnlab counts
its products in flight on all threads and switches only at the first and the last.
With another BLAS (MKL, Accelerate) or an older OpenBLAS it is not found, and
products run as NumPy runs them.
"""

import numpy as np

from ..runtime import blas as blas_threads
from ..runtime import threads
from ..runtime import tuning


def matmul(a, b, out=None):
    """``np.matmul(a, b, out=out)``, each BLAS call on one thread (see the module docstring).

    A large 2-D product with a wide enough result is split in one part per core (by
    rows of ``a`` or columns of ``b``, whichever are more), computed at the same time.
    Unlike OpenBLAS's own threads, a part whose thread waits for a core only delays the
    product by its own length: it never spins.
    """
    if a.ndim == b.ndim == 2 and _splits(a.shape[0], a.shape[1], b.shape[1]):
        return _matmul_in_parts(a, b, out, a.shape[0] * a.shape[1] * b.shape[1])
    return _matmul_one_thread(a, b, out)


def _splits(m, k, n):
    """Whether ``matmul`` splits an (m, k) @ (k, n) product over the cores."""
    return threads.count() > 1 and m * k * n >= tuning.SPLIT_MULTIPLY_ADDS and max(m, n) >= tuning.SPLIT_MIN_OUTPUT


def by_row_parts(task, m, k, n):
    """Calls ``task(rows)`` for the slices of rows in which ``matmul`` computes an (m, k) @ (k, n)
    product, side by side as it does (see ``_matmul_in_parts``); each slice's product is then
    to be computed with ``matmul_rows``.  Returns False, calling nothing, where ``matmul``
    would split the product's columns instead.  A caller that fills ``a`` itself (a conv's
    im2col) can so compute each part's rows right after writing them, while they are in cache.
    """
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
    also run in one piece: see ``threads.parallel_parts``.)"""
    if not _splits(m, k, n) or m < n:
        return [0, m]
    return [part.start for part in threads.split(m, min(threads.count(), m))] + [m]


def matmul_rows(a, b, out):
    """``a @ b`` into ``out`` on the calling thread: one slice of ``by_row_parts``, or a chunk
    of one (chunks of ``ROW_GROUP`` rows and multiples of it keep one product's values)."""
    return _matmul_one_thread(a, b, out)


def matmul_in_pieces(a, b):
    """``a @ b`` for 2-D ``a`` and ``b`` with a small result and a long shared axis, on every core.

    As one OpenBLAS call, such a product runs on one thread at a few GFLOP/s (OpenBLAS
    copies both long operands into its packing buffers, and two halves run no faster
    side by side).  Cut along the shared axis into pieces of ``PIECE`` steps, it is a
    batch of small products, which OpenBLAS computes without packing and the cores
    share; their (small) results are then summed, in a fixed order.  Measured for the
    (9, 100,352) @ (100,352, 10) filter gradient of a 128-image batch's first conv:
    0.70-0.79 ms against 1.28-1.45 ms.  The sum is taken in another order than one
    product's, so the result rounds differently (by a few units in the last place).
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
