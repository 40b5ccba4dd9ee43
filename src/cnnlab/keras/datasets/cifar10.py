"""``tf.keras.datasets.cifar10``: 60,000 colour pictures of 32x32 in 10 classes, loaded as Keras loads them.

Example:
    >>> (x_train, y_train), (x_test, y_test) = tf.keras.datasets.cifar10.load_data()
    >>> x_train.shape, y_train.shape, y_train.dtype
    ((50000, 32, 32, 3), (50000, 1), dtype('uint8'))

Where the archive is looked for (and when it is downloaded), and how its pickles
are read without unpickling, is described in ``cnnlab.datasets.cifar``.
"""

from ...datasets.cifar import load_cifar10 as load_data

__all__ = ["load_data"]
