"""``tf.keras.datasets.cifar100``: 60,000 colour pictures of 32x32 in 100 classes (20 superclasses).

Example:
    >>> (x_train, y_train), (x_test, y_test) = tf.keras.datasets.cifar100.load_data(label_mode="coarse")
    >>> x_train.shape, int(y_train.max())
    ((50000, 32, 32, 3), 19)

Where the archive is looked for (and when it is downloaded), and how its pickles
are read without unpickling, is described in ``cnnlab.datasets.cifar``.
"""

from ...datasets.cifar import load_cifar100 as load_data

__all__ = ["load_data"]
