"""cnnlab's process runtime: machinery that concerns the whole process rather than one op.

``runtime.mpi`` holds the processes of an MPI job (who this process is, its communicators)
and the collectives on NumPy arrays that ``cnnlab.distributed`` and the synchronized
BatchNormalization are built on.  Nothing here acts at import: a job exists once
``cnnlab.distributed.init()`` (or ``runtime.mpi.init()``) is called.
"""
