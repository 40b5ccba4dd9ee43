"""``tf.keras.datasets.fashion_mnist``: Zalando's clothing images, loaded as Keras loads them.

Example:
    >>> (x_train, y_train), (x_test, y_test) = tf.keras.datasets.fashion_mnist.load_data()
    >>> x_train.shape, x_train.dtype, y_test.shape
    ((60000, 28, 28), dtype('uint8'), (10000,))
    >>> class_names[y_train[0]]
    'Ankle boot'

Where the files are looked for (and when they are downloaded) is described in
``cnnlab.datasets.fashion_mnist``.
"""

from ...datasets.fashion_mnist import CLASS_NAMES, load_data

class_names = CLASS_NAMES  # the name Keras tutorials use

__all__ = ["class_names", "load_data"]
