"""The runtime's one settings object: what ``configure`` and the thread-count setters chose,
and the machinery they govern (the worker threads, the BLAS switch).  Nothing else in
cnnlab keeps process-level state."""

import threading


class RuntimeState:
    """Process-level settings and machinery; the one instance is ``STATE``."""

    def __init__(self):
        # Thread counts: what set_num_threads / configure asked for (None: the environment or
        # the default rule), the count in force (worked out at first use), and TF's inter-op
        # setting (accepted, unused: cnnlab runs one op at a time).
        self.requested_threads = None
        self.resolved_threads = None
        self.inter_op_threads = 0
        # Whether configure() set the BLAS libraries to one thread for the whole process (then
        # cnnlab's products need no switch of their own), and the one-thread switch used
        # otherwise (None: not looked up yet; False: this BLAS has none).
        self.blas_single_threaded = False
        self.blas_setter = None
        # What the last configure() applied (None: never called).
        self.configured = None
        self.fork_handler_registered = False
        self.fresh_machinery()

    def fresh_machinery(self):
        """New locks and no workers: at first, and in a child process made by ``fork`` (the
        parent's threads do not exist there, and a lock a parent thread held stays held)."""
        # The worker threads, started on first use, and the lock held by the thread whose
        # tasks they run.
        self.workers = []
        self.workers_lock = threading.Lock()
        # cnnlab's products in flight (on any thread) and the BLAS thread counts found before them
        # (one per OpenBLAS library the switch sets).
        self.blas_products_in_flight = 0
        self.blas_saved_count = None
        self.blas_lock = threading.Lock()
        # The big arrays the ops reuse step after step (``runtime.memory.BufferPool``).
        self.buffers = None


STATE = RuntimeState()
