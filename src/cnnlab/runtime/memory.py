"""Memory: big arrays reused step after step instead of faulted in afresh.

A training step allocates and frees the same big arrays every time (activations, im2col
matrices, gradients).  glibc's malloc serves blocks above 128 KiB with a fresh ``mmap``
and hands them back to the system when freed, so every step pays one page fault per
4 KiB again, and a small CNN's step can spend more time faulting pages in than computing.  Two remedies:

* ``empty``: the ops that Keras models run on (``ops.fused_ops``) take the big arrays they
  write (activations, im2col rows, gradients) from one pool, which hands an array out
  again once nothing else refers to it;
* ``keep_freed_memory``: glibc is asked to serve blocks up to 32 MiB from its heap and not
  to trim the heap's top, so that everything else (``tf.nn`` ops, temporaries) reuses freed
  memory too.  The process then keeps the memory of its largest step, as PyTorch's caching
  allocator does.  This changes the whole process: only ``cnnlab.runtime.configure`` calls it.

Example:
    >>> pool = BufferPool()
    >>> a = pool.empty((2, 3), np.float32)
    >>> pool.empty((2, 3), np.float32) is a   # `a` is still held here: a new array
    False
    >>> del a
    >>> b = pool.empty((2, 3), np.float32)   # reuses one of the two (uninitialized values)
"""

import ctypes
import ctypes.util
import sys
import threading

import numpy as np

from . import tuning
from .state import STATE

# mallopt's parameter numbers (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# The largest mmap threshold glibc accepts on 64-bit systems (DEFAULT_MMAP_THRESHOLD_MAX).
_MMAP_THRESHOLD_MAX = 32 * 1024 * 1024
_TRIM_THRESHOLD = 1 << 30


def keep_freed_memory():
    """Tell glibc to keep freed blocks of up to 32 MiB for reuse; returns whether it agreed
    (False elsewhere than Linux with glibc, where nothing changes)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_MAX)) and bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD))


def _references_when_only_listed():
    """How many references ``sys.getrefcount`` counts, in ``Workspace.empty``'s loop, for an
    array held by nothing but a list."""
    held = [np.empty(0)]
    for array in held:
        return sys.getrefcount(array)


_FREE = _references_when_only_listed()


def empty(shape, dtype):
    """An uninitialized array like ``np.empty(shape, dtype)`` from the process's pool of big
    arrays: one that nothing refers to any more, when there is one."""
    buffers = STATE.buffers
    if buffers is None:
        buffers = STATE.buffers = BufferPool()
    return buffers.empty(shape, dtype)


class BufferPool:
    """Arrays by (shape, dtype), each handed out again once no one else refers to it.

    An array is handed out again only when the workspace is the last holder of it: no
    tensor, view, closure on a tape or caller still refers to it (CPython's reference
    count says so).  Results that a caller keeps are therefore never overwritten; they
    only stop that array from being reused.
    """

    def __init__(self):
        self._arrays = {}  # (shape, dtype) -> [arrays]; the most recently used kinds last
        self._lock = threading.Lock()  # kernels split over threads, and predict's batches side by side, share it

    def empty(self, shape, dtype):
        """An uninitialized array like ``np.empty(shape, dtype)``, reused when one is free."""
        # (Called several times per op and batch: the key is built without conversions when it can be.)
        key = (shape if type(shape) is tuple else tuple(shape), dtype if isinstance(dtype, np.dtype) else np.dtype(dtype))
        with self._lock:
            arrays = self._arrays.pop(key, None) or []
            self._arrays[key] = arrays  # now the most recently used kind
            for array in arrays:
                if sys.getrefcount(array) <= _FREE:
                    return array
            array = np.empty(key[0], key[1])
            arrays.append(array)
            if len(self._arrays) > tuning.BUFFER_POOL_MAX_KINDS:
                del self._arrays[next(iter(self._arrays))]
            return array

    def zeros(self, shape, dtype):
        """Like ``np.zeros(shape, dtype)``, reused when free."""
        array = self.empty(shape, dtype)
        array.fill(0)
        return array
