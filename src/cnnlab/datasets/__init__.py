"""Datasets for cnnlab: the IDX file format, Fashion-MNIST, and a train / validation split.

from cnnlab import datasets

(x_train, y_train), (x_test, y_test) = datasets.fashion_mnist.load_data()
(x_train, y_train), (x_val, y_val) = datasets.train_val_split(x_train, y_train, val_fraction=0.2)
"""

from . import fashion_mnist
from .fashion_mnist import CLASS_NAMES, ChecksumError, DatasetNotFoundError
from .idx import IDXFormatError, read_idx, write_idx
from .split import train_val_split

__all__ = [
    "CLASS_NAMES",
    "ChecksumError",
    "DatasetNotFoundError",
    "IDXFormatError",
    "fashion_mnist",
    "read_idx",
    "train_val_split",
    "write_idx",
]
