"""``keras.utils.PyDataset`` (tf.keras 2's ``Sequence``): batches by index, for ``fit`` / ``evaluate`` / ``predict``.

Subclass it, give ``__len__`` (the number of batches) and ``__getitem__(index)`` (batch
``index``: ``x``, ``(x, y)`` or ``(x, y, sample_weight)``), and optionally ``on_epoch_end``
(called after each epoch, to reshuffle say).  ``fit(shuffle=True)`` visits the batches in a
new order each epoch, as Keras 3 does.

Example:
    >>> class Batches(keras.utils.PyDataset):
    ...     def __init__(self, x, y, batch_size, **kwargs):
    ...         super().__init__(**kwargs)
    ...         self.x, self.y, self.batch_size = x, y, batch_size
    ...     def __len__(self):
    ...         return math.ceil(len(self.x) / self.batch_size)
    ...     def __getitem__(self, index):
    ...         part = slice(index * self.batch_size, (index + 1) * self.batch_size)
    ...         return self.x[part], self.y[part]
    >>> model.fit(Batches(x_train, y_train, 32), epochs=3)
"""


class PyDataset:
    """Base class of a dataset of batches by index (see the module docstring).

    Args:
        workers, use_multiprocessing, max_queue_size: accepted for Keras's signature; cnnlab
            reads the batches in order, in the process that trains.
    """

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        self.workers = workers
        self.use_multiprocessing = use_multiprocessing
        self.max_queue_size = max_queue_size

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__ (the number of batches).")

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__(index) (batch number index).")

    @property
    def num_batches(self):
        return len(self)

    def on_epoch_begin(self):
        """Called before each epoch (override it)."""

    def on_epoch_end(self):
        """Called after each epoch (override it, to reshuffle the samples say)."""


# tf.keras 2's name.
Sequence = PyDataset
