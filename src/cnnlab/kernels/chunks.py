"""Big batches are processed a cache-sized chunk at a time.

A kernel that makes several passes over an array (compare, then select, then
copy) is limited by memory bandwidth once the array outgrows the caches: on the
machine measured, the 2x2 max pool's forward pass over a (128, 28, 28, 10) batch
took 4.4-5.0 ms in one piece and 2.2-2.5 ms in chunks of 32 images, while smaller
chunks lost again to the per-call overhead.  About 1 MiB of input per chunk was
the best size.  (Kernels with one pass per array, such as the pool's backward
pass or a convolution's products, gained nothing from chunks, and take none.)
"""

from ..runtime.tuning import CACHE_CHUNK_BYTES as CHUNK_BYTES


def batch_chunks(array, chunk_bytes=CHUNK_BYTES):
    """Slices of ``array``'s first (batch) axis holding about ``chunk_bytes`` each (at least one sample)."""
    n = len(array)
    sample_bytes = max(array[:1].nbytes, 1)
    step = max(1, chunk_bytes // sample_bytes)
    return [slice(start, min(start + step, n)) for start in range(0, n, step)]
