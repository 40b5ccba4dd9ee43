"""``tf.keras.datasets``: the datasets Keras ships, as far as cnnlab has them."""

from . import cifar10, cifar100, fashion_mnist, mnist

__all__ = ["cifar10", "cifar100", "fashion_mnist", "mnist"]
