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

import ctypes
import glob
import os
import threading

import numpy as np

from . import threads


def _find_thread_setter():
    """``openblas_set_num_threads_local`` of the OpenBLAS NumPy loaded, or None."""
    numpy_dir = os.path.dirname(np.__file__)
    # Where NumPy's wheels put their bundled libraries (Linux and Windows, then macOS).
    patterns = [
        os.path.join(numpy_dir, os.pardir, "numpy.libs", "*openblas*"),
        os.path.join(numpy_dir, ".dylibs", "*openblas*"),
    ]
    for path in sorted(p for pattern in patterns for p in glob.glob(pattern)):
        try:
            # Already loaded by NumPy: this only looks it up.  A ``PyDLL``'s functions keep
            # the GIL: a CDLL's would hand it over, and wait to get it back, twice per
            # product, while another thread runs Python (predict's two batches at a time).
            library = ctypes.PyDLL(path)
        except OSError:
            continue
        setter = getattr(library, "openblas_set_num_threads_local", None)
        if setter is not None:
            setter.argtypes = [ctypes.c_int]
            setter.restype = ctypes.c_int  # the previous count
            return setter
    return None


_set_threads = _find_thread_setter()

# A product of at least this many multiply-adds (about 0.2 ms on one core) is split over
# the cores; handing a part to a pool thread costs about 50 microseconds (see threads).
_SPLIT_MULTIPLY_ADDS = 8_000_000
# ... and only along an output side of at least this many rows or columns.  A long, thin
# product, such as a conv's filter gradient (10 x 100,352) @ (100,352 x 10), ran 1.4-2.5x
# slower in two halves of 5 columns than on one thread (``matmul_in_pieces`` shares such a
# product over the cores by pieces of the shared axis instead).
SPLIT_MIN_OUTPUT = 128


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
    return threads.CORES > 1 and m * k * n >= _SPLIT_MULTIPLY_ADDS and max(m, n) >= SPLIT_MIN_OUTPUT


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
    return [part.start for part in threads.split(m, min(threads.CORES, m))] + [m]


# OpenBLAS computes a product's rows in groups of this many: the register tile of the
# kernels NumPy's OpenBLAS runs on the x86-64 machines measured (Haswell's and Zen's).  Cut
# into chunks of whole groups (counted from the row a call starts at), a product gives
# every row the bits that one call over all of them gives; with other chunk sizes some rows
# come out rounded differently (measured: chunks of 12, 24, 36, 48 or 96 rows equal one
# product, of 4, 6, 8, 16 or 32 rows do not).
ROW_GROUP = 12


def matmul_rows(a, b, out):
    """``a @ b`` into ``out`` on the calling thread: one slice of ``by_row_parts``, or a chunk
    of one (chunks of ``ROW_GROUP`` rows and multiples of it keep one product's values)."""
    return _matmul_one_thread(a, b, out)


# A product with a small result and a long shared axis, such as a conv's filter gradient,
# (9, 100,352) @ (100,352, 10), is cut along that axis into pieces of this many steps.
_PIECE = 1024


def matmul_in_pieces(a, b):
    """``a @ b`` for 2-D ``a`` and ``b`` with a small result and a long shared axis, on every core.

    As one OpenBLAS call, such a product runs on one thread at a few GFLOP/s (OpenBLAS
    copies both long operands into its packing buffers, and two halves run no faster
    side by side).  Cut along the shared axis into pieces of ``_PIECE`` steps, it is a
    batch of small products, which OpenBLAS computes without packing and the cores
    share; their (small) results are then summed, in a fixed order.  Measured for the
    (9, 100,352) @ (100,352, 10) filter gradient of a 128-image batch's first conv:
    0.70-0.79 ms against 1.28-1.45 ms.  The sum is taken in another order than one
    product's, so the result rounds differently (by a few units in the last place).
    """
    (m, k), n = a.shape, b.shape[1]
    pieces = k // _PIECE
    if pieces < 2:
        return _matmul_one_thread(a, b)
    whole = pieces * _PIECE
    a_pieces = a[:, :whole].reshape(m, pieces, _PIECE).transpose(1, 0, 2)
    b_pieces = b[:whole].reshape(pieces, _PIECE, n)
    products = np.empty((pieces, m, n), np.result_type(a, b))
    threads.parallel_parts(
        lambda part: _matmul_one_thread(a_pieces[part], b_pieces[part], products[part]), pieces, m * k * n
    )
    total = products.sum(axis=0)
    if whole < k:
        total += _matmul_one_thread(a[:, whole:], b[whole:])
    return total


# The count OpenBLAS had before cnnlab's products in flight, and how many are in flight.
_saved_count = None
_in_flight = 0
_in_flight_lock = threading.Lock()


def _matmul_one_thread(a, b, out=None):
    """``np.matmul`` on one OpenBLAS thread.  OpenBLAS's count is process-wide: the first of
    cnnlab's products to start (on any thread) sets it to 1, the last to end puts it back."""
    global _saved_count, _in_flight
    if _set_threads is None:
        return np.matmul(a, b, out=out)
    with _in_flight_lock:
        if _in_flight == 0:
            _saved_count = _set_threads(1)
        _in_flight += 1
    try:
        return np.matmul(a, b, out=out)
    finally:
        with _in_flight_lock:
            _in_flight -= 1
            if _in_flight == 0:
                _set_threads(_saved_count)


def _matmul_in_parts(a, b, out, multiply_adds):
    if out is None:
        out = np.empty((a.shape[0], b.shape[1]), np.result_type(a, b))
    if a.shape[0] >= b.shape[1]:
        task, n = (lambda rows: _matmul_one_thread(a[rows], b, out[rows])), a.shape[0]
    else:
        task, n = (lambda cols: _matmul_one_thread(a, b[:, cols], out[:, cols])), b.shape[1]
    threads.parallel_parts(task, n, elements=multiply_adds)
    return out
