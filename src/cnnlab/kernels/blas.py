"""cnnlab's matrix products, each run on one BLAS thread.

NumPy's bundled OpenBLAS splits every product above a small size over all cores,
and its helper threads wait for one another.  When another process holds one of
the cores, a thread that is not scheduled stalls the whole product: on the
2-core machine the benchmarks ran on, a (32, 1960) @ (1960, 100) product that
takes 0.3 ms on one thread took 8 to 70 ms on two while another program was
busy.  The products of the small CNNs cnnlab is for gain little from a second
thread even on an idle machine, so ``matmul`` asks OpenBLAS for one thread for
the length of the call and then puts back the count it found: NumPy products
made outside cnnlab keep OpenBLAS's own setting (``OPENBLAS_NUM_THREADS``).

The switch is OpenBLAS's ``openblas_set_num_threads_local`` (OpenBLAS >= 0.3.27,
which NumPy >= 2 wheels bundle).  With another BLAS (MKL, Accelerate) or an older
OpenBLAS it is not found, and products run as NumPy runs them.
"""

import ctypes
import glob
import os

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


def matmul(a, b, out=None):
    """``np.matmul(a, b, out=out)`` computed on one BLAS thread (see the module docstring)."""
    if _set_threads is None:
        return np.matmul(a, b, out=out)
    previous = _set_threads(1)
    try:
        return np.matmul(a, b, out=out)
    finally:
        _set_threads(previous)
