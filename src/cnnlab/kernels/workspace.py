"""Big arrays kept for reuse by the layer that made them, once nothing else refers to them.

Freeing a big NumPy array usually hands its memory back to the operating system
(glibc trims the heap), and the next array of that size then costs one page
fault per 4 KiB on first touch.  On the virtual machines this was measured on, a
fault costs microseconds: a small CNN's training step spent more time faulting
than computing.  A layer therefore owns a ``Workspace`` and asks it, instead of
``np.empty``, for the arrays its kernels write: the activations, the im2col
matrices and the gradients of each step.

An array is handed out again only when the workspace is the last holder of it:
no tensor, view, closure on a tape or caller still refers to it (CPython's
reference count says so).  Results that a caller keeps are therefore never
overwritten; they only stop that array from being reused.

Example:
    >>> workspace = Workspace()
    >>> a = workspace.empty((2, 3), np.float32)
    >>> workspace.empty((2, 3), np.float32) is a   # `a` is still held here: a new array
    False
    >>> del a
    >>> b = workspace.empty((2, 3), np.float32)   # reuses one of the two (uninitialized values)
"""

import sys
import threading

import numpy as np

# Distinct (shape, dtype) pairs kept; older ones are dropped.  A layer uses a few per
# batch size, and sees a few batch sizes (training, a last partial batch, evaluation).
_MAX_KINDS = 16


def _references_when_only_listed():
    """How many references ``sys.getrefcount`` counts, in ``Workspace.empty``'s loop, for an
    array held by nothing but a list."""
    held = [np.empty(0)]
    for array in held:
        return sys.getrefcount(array)


_FREE = _references_when_only_listed()


class Workspace:
    """Arrays by (shape, dtype), each handed out again once no one else refers to it."""

    def __init__(self):
        self._arrays = {}  # (shape, dtype) -> [arrays]; the most recently used kinds last
        self._lock = threading.Lock()  # kernels split over threads (kernels.threads) share a workspace

    def empty(self, shape, dtype):
        """An uninitialized array like ``np.empty(shape, dtype)``, reused when one is free."""
        # (Called several times per layer and batch: the key is built without conversions when it can be.)
        key = (shape if type(shape) is tuple else tuple(shape), dtype if isinstance(dtype, np.dtype) else np.dtype(dtype))
        with self._lock:
            arrays = self._arrays.pop(key, None) or []
            self._arrays[key] = arrays  # now the most recently used kind
            for array in arrays:
                if sys.getrefcount(array) <= _FREE:
                    return array
            array = np.empty(key[0], key[1])
            arrays.append(array)
            if len(self._arrays) > _MAX_KINDS:
                del self._arrays[next(iter(self._arrays))]
            return array

    def zeros(self, shape, dtype):
        """Like ``np.zeros(shape, dtype)``, reused when free."""
        array = self.empty(shape, dtype)
        array.fill(0)
        return array
