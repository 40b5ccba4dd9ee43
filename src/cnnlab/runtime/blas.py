"""The BLAS library's threads while cnnlab's products run: one each, since cnnlab splits
its big products over its own threads (``runtime.threads``).

NumPy's bundled OpenBLAS splits every product above a small size over all cores, and its
helper threads spin while they wait for one another: when another program holds a core,
a product split that way takes many times its one-thread time, and split again by cnnlab
it would run on twice as many threads as cores.  So each of cnnlab's products runs on one
BLAS thread, in one of two ways:

* ``configure()`` (``cnnlab.runtime.configure``) sets the BLAS libraries to one thread
  for the whole process, through ``threadpoolctl``: then nothing is switched per product.
  The ``cnnlab`` command and the benchmark do this.
* Otherwise the process's BLAS setting is the user's, and only the span of cnnlab's own
  products runs on one thread: the first product in flight (on any thread) switches
  OpenBLAS to one thread, the last one to end puts back the count found.  The switch is
  OpenBLAS's ``openblas_set_num_threads_local`` (OpenBLAS >= 0.3.27, which NumPy >= 2
  bundles), which returns the count it replaces; despite its name, in NumPy's pthreads
  build the count is the whole process's.  ``threadpoolctl`` finds the library; its own
  setter is not used here, as it acts only from the one thread that first used it (a
  product may start on any thread) and costs three times as long per product.  It is
  called through a ``ctypes.PyDLL``, which keeps the GIL: a ``CDLL`` call hands the GIL
  over, and waits to get it back, while another thread runs Python.  With another BLAS
  (MKL, Accelerate) or an older OpenBLAS no switch is found, and products run as NumPy
  runs them.

  A process may hold several OpenBLAS libraries (SciPy's wheels bring their own, besides
  NumPy's), and nothing tells which one NumPy calls: the switch sets every OpenBLAS
  loaded when cnnlab's first product looks it up (NumPy's is loaded with NumPy, so it is
  among them) and puts back each one's own count.
"""

import ctypes

from .state import STATE


def limit_process(threads):
    """Set every BLAS library loaded in the process to ``threads`` threads (through threadpoolctl)."""
    import threadpoolctl

    threadpoolctl.threadpool_limits(limits=threads, user_api="blas")
    STATE.blas_single_threaded = threads == 1


def begin_product():
    """Call before each of cnnlab's products (then ``end_product``, whatever happens)."""
    if STATE.blas_single_threaded:
        return
    setter = STATE.blas_setter
    if setter is None:
        setter = STATE.blas_setter = _find_one_thread_switch()
    if setter is False:
        return
    with STATE.blas_lock:
        if STATE.blas_products_in_flight == 0:
            STATE.blas_saved_count = setter(1)
        STATE.blas_products_in_flight += 1


def end_product():
    """The end of a product started after ``begin_product``."""
    if STATE.blas_single_threaded or not STATE.blas_setter:
        return
    with STATE.blas_lock:
        STATE.blas_products_in_flight -= 1
        if STATE.blas_products_in_flight == 0:
            STATE.blas_setter(STATE.blas_saved_count)


class OneThreadSwitch:
    """``openblas_set_num_threads_local`` of every OpenBLAS library found, as one call.

    ``switch(count)`` sets each library to ``count`` threads and returns their previous counts, a
    tuple (one per library, in ``functions``' order); ``switch(counts)`` with such a tuple puts
    back each library's own count.
    """

    def __init__(self, functions):
        self.functions = tuple(functions)

    def __call__(self, counts):
        if isinstance(counts, int):
            counts = (counts,) * len(self.functions)
        return tuple(function(count) for function, count in zip(self.functions, counts))


def _find_one_thread_switch():
    """A ``OneThreadSwitch`` of every OpenBLAS loaded that has ``openblas_set_num_threads_local``, each
    function a GIL-keeping one; False when there is none."""
    import threadpoolctl

    functions = []
    for library in threadpoolctl.ThreadpoolController().select(internal_api="openblas").lib_controllers:
        function = _one_thread_function(library.filepath)
        if function is not None:
            functions.append(function)
    return OneThreadSwitch(functions) if functions else False


def _one_thread_function(filepath):
    """The library's ``openblas_set_num_threads_local`` (whatever its symbols' prefix and suffix) as a
    GIL-keeping function, or None."""
    try:
        handle = ctypes.PyDLL(filepath)  # already loaded: this only looks it up
    except OSError:
        return None
    for prefix in ("", "scipy_"):
        for suffix in ("", "64_", "_64"):
            function = getattr(handle, f"{prefix}openblas_set_num_threads_local{suffix}", None)
            if function is not None:
                function.argtypes = [ctypes.c_int]
                function.restype = ctypes.c_int  # the previous count
                return function
    return None
