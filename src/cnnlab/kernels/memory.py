"""Big arrays freed by one training step are kept by the C allocator for the next.

A training step allocates and frees the same big arrays every time (activations,
im2col matrices, gradients).  glibc's malloc serves blocks above 128 KiB with a
fresh ``mmap`` and hands them back to the system when freed, so every step pays one
page fault per 4 KiB again: on the virtual machines cnnlab was measured on, a
low-level training loop spent a tenth of its time in the kernel faulting pages in.
Layers reuse their own arrays (``Workspace``); for everything else (``tf.nn`` ops,
temporaries) ``keep_freed_memory`` asks glibc to serve blocks up to 32 MiB from its
heap and not to trim the heap's top, so freed memory is reused as it is.  The
process keeps the memory of its largest step, as PyTorch's caching allocator does.

Elsewhere than Linux with glibc, nothing changes.
"""

import ctypes
import ctypes.util
import sys

# mallopt's parameter numbers (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# The largest mmap threshold glibc accepts on 64-bit systems (DEFAULT_MMAP_THRESHOLD_MAX).
_MMAP_THRESHOLD_MAX = 32 * 1024 * 1024
_TRIM_THRESHOLD = 1 << 30


def keep_freed_memory():
    """Tell glibc to keep freed blocks of up to 32 MiB for reuse; returns whether it agreed."""
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
