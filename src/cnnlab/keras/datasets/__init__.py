"""``tf.keras.datasets``: the datasets Keras ships, as far as cnnlab has them."""

from . import fashion_mnist

__all__ = ["fashion_mnist"]
