"""``tf.keras.datasets.mnist``: handwritten digits, loaded as Keras loads them.

Example:
    >>> (x_train, y_train), (x_test, y_test) = tf.keras.datasets.mnist.load_data()
    >>> x_train.shape, x_train.dtype, y_test.shape
    ((60000, 28, 28), dtype('uint8'), (10000,))

Where the file is looked for (and when it is downloaded) is described in
``cnnlab.datasets.mnist``.
"""

from ...datasets.mnist import load_data

__all__ = ["load_data"]
