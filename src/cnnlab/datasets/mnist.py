"""MNIST: handwritten digits, from Keras's ``mnist.npz``, found on this machine or downloaded once.

Where ``load_data`` looks is described in ``cnnlab.datasets.store``: the ``path=``
argument, ``$CNNLAB_DATA/mnist`` or ``$CNNLAB_DATA``, the user cache
``~/.cache/cnnlab/mnist``; otherwise ``mnist.npz`` is downloaded from the address
Keras uses and checked against the SHA-256 Keras gives.  No system package carries
MNIST.

The file is a zip of four ``.npy`` arrays.  Each member's declared size, its
array header (dtype uint8, the shapes MNIST has) and the bytes it holds are checked
before its array is allocated; nothing is unpickled.  MNIST is Yann LeCun's and
Corinna Cortes's, CC BY-SA 3.0.
"""

import os
import zipfile
import zlib

import numpy as np

from . import store
from .store import ChecksumError, DatasetFormatError, DatasetNotFoundError

NAME = "mnist"
FILE = "mnist.npz"
# As in Keras 3's keras/src/datasets/mnist.py.
SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
DOWNLOAD_URLS = ("https://storage.googleapis.com/tensorflow/tf-keras-datasets/",)
CLASS_NAMES = tuple(str(digit) for digit in range(10))
MEMBERS = ("x_train", "y_train", "x_test", "y_test")
# The real x_train.npy holds 47 MB; a member declaring much more is not MNIST.
MAX_MEMBER_BYTES = 64 << 20
_NPY_MAX_HEADER = 10000


def load_data(path=FILE):
    """Load MNIST as Keras does: ``(x_train, y_train), (x_test, y_test)``.

    Args:
        path: ``"mnist.npz"`` (Keras's default) searches the places listed in this
            module's docstring and downloads as a last resort.  Any other value is
            the file to read (or a directory holding ``mnist.npz``), and only it is
            read: unlike Keras, a name of one's own is not downloaded into.

    Returns:
        ``x_train`` uint8 (60000, 28, 28), ``y_train`` uint8 (60000,),
        ``x_test`` uint8 (10000, 28, 28), ``y_test`` uint8 (10000,), labels 0-9.

    Raises:
        DatasetNotFoundError: no copy was found and none could be downloaded.
        ChecksumError: a download did not match its published SHA-256.
        DatasetFormatError: the file is damaged or is not MNIST (the message names it).

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load_data()
        >>> x_train.shape, y_train[:5]
        ((60000, 28, 28), array([5, 0, 4, 1, 9], dtype=uint8))
    """
    path = os.fspath(path)
    if path == FILE:
        file = find_files()[FILE]
    elif os.path.isdir(path):
        file = find_files(path)[FILE]
    elif os.path.isfile(path):
        file = path
    else:
        raise DatasetNotFoundError(
            f"mnist.load_data: path={path!r} is neither the MNIST file nor a directory holding {FILE}."
        )
    arrays = read_npz(file)
    for split in ("train", "test"):
        images, labels = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if images.ndim != 3 or images.shape[1:] != (28, 28) or labels.ndim != 1 or len(labels) != len(images):
            raise DatasetFormatError(
                f"{file}: not MNIST: expected x_{split} of shape (n, 28, 28) and y_{split} of shape (n,); "
                f"found {images.shape} and {labels.shape}"
            )
        if labels.size and labels.max() > 9:
            raise DatasetFormatError(f"{file}: not MNIST: y_{split} has label {labels.max()}; MNIST's are 0-9")
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def find_files(path=None, download=True, base_url=None):
    """Locate (or download) ``mnist.npz``; returns ``{"mnist.npz": path}`` (see ``store.find_files``)."""
    return store.find_files(dataset(), path, download, base_url)


def search_dirs():
    """The directories searched, in order, as ``(directory or None, what it is)``."""
    return store.search_dirs(dataset())


def read_npz(path):
    """The uint8 arrays ``x_train, y_train, x_test, y_test`` of an ``mnist.npz``, as a dict.

    Raises:
        DatasetFormatError: not a zip, a member missing, too large, compressed
            other than by deflate, not a uint8 ``.npy``, or holding other than
            the bytes its header declares.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            return {name: _read_member(archive, name, path) for name in MEMBERS}
    except zipfile.BadZipFile as err:
        raise DatasetFormatError(f"{path}: not a valid .npz (zip) file: {err}") from None
    except (zlib.error, EOFError) as err:  # damaged compressed data
        raise DatasetFormatError(f"{path}: damaged data: {err}") from None


def _read_member(archive, name, path):
    member = name + ".npy"
    try:
        info = archive.getinfo(member)
    except KeyError:
        raise DatasetFormatError(f"{path}: not MNIST: it holds no {member}") from None
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) or info.flag_bits & 0x1:
        raise DatasetFormatError(f"{path}: {member} is encrypted or compressed other than by deflate")
    if info.file_size > MAX_MEMBER_BYTES:
        raise DatasetFormatError(
            f"{path}: {member} declares {info.file_size} bytes, more than MNIST's ({MAX_MEMBER_BYTES} at most)"
        )
    with archive.open(info) as stream:
        try:
            version = np.lib.format.read_magic(stream)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream, max_header_size=_NPY_MAX_HEADER)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream, max_header_size=_NPY_MAX_HEADER)
            else:
                raise ValueError(f".npy version {version}")
        except ValueError as err:
            raise DatasetFormatError(f"{path}: {member} is not a .npy array: {err}") from None
        if dtype != np.uint8 or fortran:
            raise DatasetFormatError(
                f"{path}: {member} holds {dtype} in {'Fortran' if fortran else 'C'} order; MNIST's are uint8"
            )
        count = int(np.prod(shape, dtype=object))
        if count > info.file_size:
            raise DatasetFormatError(f"{path}: {member} declares shape {shape}, more than its {info.file_size} bytes")
        array = np.empty(shape, dtype=np.uint8)
        view = memoryview(array).cast("B")
        filled = 0
        while filled < count and (n := stream.readinto(view[filled:])):
            filled += n
        if filled != count or stream.read(1):
            raise DatasetFormatError(f"{path}: {member} holds other than the {count} bytes its shape {shape} needs")
    return array


def dataset():
    """The ``store.DataSet`` describing these files (what a folder must hold, where they are downloaded from)."""
    return store.DataSet(
        name=NAME,
        title="MNIST",
        loader="mnist.load_data",
        parts=(store.Part(FILE, (FILE,), FILE, SHA256),),
        base_urls=tuple(DOWNLOAD_URLS),
    )


__all__ = ["CLASS_NAMES", "ChecksumError", "DatasetFormatError", "DatasetNotFoundError", "find_files", "load_data"]
