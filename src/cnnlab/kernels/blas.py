"""cnnlab's matrix products: each BLAS call on one thread, large products split over two.

NumPy's bundled OpenBLAS splits every product above a small size over all cores,
and its helper threads wait for one another.  When another process holds one of
the cores, a thread that is not scheduled stalls the whole product: on the
2-core machine the benchmarks ran on, a (32, 1960) @ (1960, 100) product that
takes 0.3 ms on one thread took 8 to 70 ms on two while another program was
busy.  So ``matmul`` asks OpenBLAS for one thread for the length of each call and
then puts back the count it found: NumPy products made outside cnnlab keep
OpenBLAS's own setting (``OPENBLAS_NUM_THREADS``).  Only products large enough to
repay starting a thread (a deeper CNN's convolutions) are split, by cnnlab, into
two halves on two threads that never spin: when a second core is free the halves
run side by side; when another program holds it, the product took about 7% longer
than on one thread (the hand-off), instead of many times longer.

The switch is OpenBLAS's ``openblas_set_num_threads_local`` (OpenBLAS >= 0.3.27,
which NumPy >= 2 wheels bundle).  With another BLAS (MKL, Accelerate) or an older
OpenBLAS it is not found, and products run as NumPy runs them.
"""

import ctypes
import glob
import os
import threading

import numpy as np


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
            library = ctypes.CDLL(path)  # already loaded by NumPy: this only looks it up
        except OSError:
            continue
        setter = getattr(library, "openblas_set_num_threads_local", None)
        if setter is not None:
            setter.argtypes = [ctypes.c_int]
            setter.restype = ctypes.c_int  # the previous count
            return setter
    return None


_set_threads = _find_thread_setter()

_CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
# A product of at least this many multiply-adds (about 1 ms on one core) is split in two
# halves computed on two threads; starting and joining a thread costs about 0.1 ms.
_SPLIT_MULTIPLY_ADDS = 50_000_000


def matmul(a, b, out=None):
    """``np.matmul(a, b, out=out)``, each BLAS call on one thread (see the module docstring).

    A large 2-D product is split in two halves (by rows of ``a`` or columns of ``b``,
    whichever are more) computed at the same time on two threads, when the machine
    has two cores or more.  Unlike OpenBLAS's own threads, a half whose thread waits
    for a core only delays the product by its own length: it never spins.
    """
    if a.ndim == b.ndim == 2 and _CORES > 1 and a.shape[0] * a.shape[1] * b.shape[1] >= _SPLIT_MULTIPLY_ADDS:
        return _matmul_in_halves(a, b, out)
    return _matmul_one_thread(a, b, out)


def _matmul_one_thread(a, b, out=None):
    if _set_threads is None:
        return np.matmul(a, b, out=out)
    previous = _set_threads(1)
    try:
        return np.matmul(a, b, out=out)
    finally:
        _set_threads(previous)


def _matmul_in_halves(a, b, out):
    if out is None:
        out = np.empty((a.shape[0], b.shape[1]), np.result_type(a, b))
    if a.shape[0] >= b.shape[1]:
        rows = a.shape[0] // 2
        first, second = (a[:rows], b, out[:rows]), (a[rows:], b, out[rows:])
    else:
        cols = b.shape[1] // 2
        first, second = (a, b[:, :cols], out[:, :cols]), (a, b[:, cols:], out[:, cols:])
    done = []
    helper = threading.Thread(target=lambda: done.append(_matmul_one_thread(*first)))
    helper.start()
    _matmul_one_thread(*second)
    helper.join()
    if not done:  # the helper raised; threading printed its traceback
        raise RuntimeError("matmul: the thread computing the first half of the product failed (see above).")
    return out
