"""Datasets for cnnlab: Fashion-MNIST, MNIST, CIFAR-10 / CIFAR-100, the IDX format, a train / validation split.

from cnnlab import datasets

(x_train, y_train), (x_test, y_test) = datasets.fashion_mnist.load_data()
(x_train, y_train), (x_test, y_test) = datasets.mnist.load_data()
(x_train, y_train), (x_test, y_test) = datasets.cifar.load_cifar10()
(x_train, y_train), (x_val, y_val) = datasets.train_val_split(x_train, y_train, val_fraction=0.2)

Where each data set is looked for, and how it is downloaded, is in ``datasets.store``.
"""

from . import cifar, fashion_mnist, mnist, store
from .fashion_mnist import CLASS_NAMES
from .idx import IDXFormatError, read_idx, write_idx
from .split import train_val_split
from .store import ChecksumError, DatasetFormatError, DatasetNotFoundError

__all__ = [
    "CLASS_NAMES",
    "ChecksumError",
    "DatasetFormatError",
    "DatasetNotFoundError",
    "IDXFormatError",
    "cifar",
    "fashion_mnist",
    "mnist",
    "read_idx",
    "store",
    "train_val_split",
    "write_idx",
]
