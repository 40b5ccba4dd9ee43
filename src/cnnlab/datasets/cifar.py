"""CIFAR-10 and CIFAR-100: small colour pictures, from the "python version" archives Keras downloads.

Where ``load_cifar10`` / ``load_cifar100`` look is described in ``cnnlab.datasets.store``:
the ``path=`` argument, ``$CNNLAB_DATA/cifar-10`` (``cifar-100``) or ``$CNNLAB_DATA``,
the user cache ``~/.cache/cnnlab/cifar-10``; otherwise the archive is downloaded from
the address Keras uses and checked against the SHA-256 Keras gives.  A folder counts
when it holds the archive as published (``cifar-10-python.tar.gz``) or the folder it
unpacks to (``cifar-10-batches-py/``); no system package carries CIFAR.

The archive is read as a stream, never unpacked to disk: only its batch files are
parsed, each at most ``MAX_BATCH_BYTES`` by its declared size, and the whole
stream stops at ``MAX_ARCHIVE_BYTES`` of uncompressed data.  The batches are Python
pickles; they are read by ``pickle_subset.read_pickle``, which interprets the few
opcodes they use and refuses anything else, so a tampered file cannot run code.
CIFAR is Alex Krizhevsky's (2009).
"""

import gzip
import os
import tarfile
import zlib

import numpy as np

from . import store
from .pickle_subset import read_pickle
from .store import DatasetFormatError

CIFAR10_CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
# As in Keras 3's keras/src/datasets/cifar10.py and cifar100.py.
CIFAR10_SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
CIFAR100_SHA256 = "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7"
DOWNLOAD_URLS = ("https://www.cs.toronto.edu/~kriz/",)
# The largest real batch (CIFAR-100's train, 50,000 pictures) is 155 MB; both archives unpack to under 200 MB.
MAX_BATCH_BYTES = 256 << 20
MAX_ARCHIVE_BYTES = 512 << 20
PIXELS = 32 * 32 * 3

_CIFAR10 = {
    "name": "cifar-10",
    "title": "CIFAR-10",
    "loader": "cifar10.load_data",
    "archive": "cifar-10-python.tar.gz",
    "folder": "cifar-10-batches-py",
    "train": tuple(f"data_batch_{i}" for i in range(1, 6)),
    "test": ("test_batch",),
}
_CIFAR100 = {
    "name": "cifar-100",
    "title": "CIFAR-100",
    "loader": "cifar100.load_data",
    "archive": "cifar-100-python.tar.gz",
    "folder": "cifar-100-python",
    "train": ("train",),
    "test": ("test",),
}


def load_cifar10(path=None):
    """Load CIFAR-10 as Keras's ``cifar10.load_data()`` does: ``(x_train, y_train), (x_test, y_test)``.

    Args:
        path: a directory holding ``cifar-10-python.tar.gz`` or ``cifar-10-batches-py/``,
            then only it is looked in (not in Keras, which takes no argument); None
            searches and downloads as the module docstring says.

    Returns:
        ``x_train`` uint8 (50000, 32, 32, 3), ``y_train`` uint8 (50000, 1),
        ``x_test`` uint8 (10000, 32, 32, 3), ``y_test`` uint8 (10000, 1); labels
        0-9 naming ``CIFAR10_CLASS_NAMES``.

    Raises:
        DatasetNotFoundError: no copy was found and none could be downloaded.
        ChecksumError: a download did not match its published SHA-256.
        DatasetFormatError: a file is damaged, is not CIFAR-10, or holds pickle
            opcodes or globals CIFAR's files do not use (nothing of it is run).

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load_cifar10()
        >>> x_train.shape, CIFAR10_CLASS_NAMES[y_train[0, 0]]
        ((50000, 32, 32, 3), 'frog')
    """
    return _load(_CIFAR10, CIFAR10_SHA256, path, b"labels", 10)


def load_cifar100(label_mode="fine", path=None):
    """Load CIFAR-100 as Keras's ``cifar100.load_data(label_mode)`` does.

    Args:
        label_mode: ``"fine"`` (100 classes) or ``"coarse"`` (20 superclasses).
        path: a directory holding ``cifar-100-python.tar.gz`` or ``cifar-100-python/``
            (see ``load_cifar10``).

    Returns:
        ``x_train`` uint8 (50000, 32, 32, 3), ``y_train`` uint8 (50000, 1),
        ``x_test`` uint8 (10000, 32, 32, 3), ``y_test`` uint8 (10000, 1).

    Raises:
        ValueError: ``label_mode`` is neither.
        DatasetNotFoundError, ChecksumError, DatasetFormatError: as ``load_cifar10``.
    """
    if label_mode not in ("fine", "coarse"):
        raise ValueError(f'`label_mode` must be one of `"fine"`, `"coarse"`. Received: label_mode={label_mode}.')
    classes = 100 if label_mode == "fine" else 20
    return _load(_CIFAR100, CIFAR100_SHA256, path, f"{label_mode}_labels".encode(), classes)


def dataset(name):
    """The ``store.DataSet`` of ``"cifar-10"`` or ``"cifar-100"`` (what a folder must hold, where it is downloaded from)."""
    if name == "cifar-10":
        return _dataset(_CIFAR10, CIFAR10_SHA256)
    return _dataset(_CIFAR100, CIFAR100_SHA256)


def _dataset(layout, sha256):
    archive = layout["archive"]
    return store.DataSet(
        name=layout["name"],
        title=layout["title"],
        loader=layout["loader"],
        parts=(store.Part(archive, (archive, layout["folder"] + "/"), archive, sha256),),
        base_urls=tuple(DOWNLOAD_URLS),
    )


def _load(layout, sha256, path, label_key, classes):
    location = store.find_files(_dataset(layout, sha256), path)[layout["archive"]]
    batches = _read_batches(location, layout)
    loaded = []
    for split in ("train", "test"):
        parts = [_images_and_labels(batches.pop(name), name, location, label_key, classes) for name in layout[split]]
        images = np.concatenate([images for images, _ in parts])
        labels = np.concatenate([labels for _, labels in parts]).reshape(-1, 1)
        loaded.append((images, labels))
    return tuple(loaded)


def _read_batches(location, layout):
    """``{batch name: the unpickled dict}`` from the archive or the folder it unpacks to."""
    wanted = layout["train"] + layout["test"]
    if os.path.isdir(location):
        batches = {}
        for name in wanted:
            file = os.path.join(location, name)
            with open(file, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                _check_batch_size(size, file)
                batches[name] = read_pickle(f, size, file)
        return batches
    return _read_archive(location, {f"{layout['folder']}/{name}": name for name in wanted})


def _read_archive(path, members):
    """Parse the archive's members named in ``members`` (archive path -> batch name) in one pass."""
    batches = {}
    try:
        with open(path, "rb") as raw, gzip.GzipFile(fileobj=raw) as unzipped:
            stream = _CappedStream(unzipped, MAX_ARCHIVE_BYTES, path)
            with tarfile.open(fileobj=stream, mode="r|") as archive:
                for member in archive:
                    name = members.get(member.name.removeprefix("./"))
                    if name is None:
                        continue
                    if not member.isfile() or name in batches:
                        raise DatasetFormatError(
                            f"{path}: {member.name} is {'repeated' if name in batches else 'not a file'}"
                        )
                    _check_batch_size(member.size, f"{path}: {member.name}")
                    batches[name] = read_pickle(archive.extractfile(member), member.size, f"{path}: {member.name}")
    except (tarfile.TarError, gzip.BadGzipFile, zlib.error, EOFError) as err:
        raise DatasetFormatError(f"{path}: damaged archive: {err or type(err).__name__}") from None
    missing = [archive_name for archive_name, name in members.items() if name not in batches]
    if missing:
        raise DatasetFormatError(f"{path}: not the CIFAR archive: it holds no {', '.join(missing)}")
    return batches


def _check_batch_size(size, what):
    if size > MAX_BATCH_BYTES:
        raise DatasetFormatError(f"{what}: {size} bytes, more than any CIFAR batch ({MAX_BATCH_BYTES} at most)")


class _CappedStream:
    """A read-only stream that fails once more than ``limit`` bytes have been read through it."""

    def __init__(self, stream, limit, path):
        self._stream = stream
        self._left = limit
        self._limit = limit
        self._path = path

    def read(self, size=-1):
        if size is None or size < 0:
            size = self._left + 1
        data = self._stream.read(min(size, self._left + 1))
        self._left -= len(data)
        if self._left < 0:
            raise DatasetFormatError(
                f"{self._path}: unpacks to more than {self._limit} bytes, more than any CIFAR archive; not read further"
            )
        return data


def _images_and_labels(batch, name, location, label_key, classes):
    """A batch's pictures as uint8 NHWC (n, 32, 32, 3) and its labels as uint8 (n,)."""
    where = f"{location}: {name}"
    if not isinstance(batch, dict):
        raise DatasetFormatError(f"{where}: not a CIFAR batch (a {type(batch).__name__}, not a dict)")
    data, labels = batch.get(b"data"), batch.get(label_key)
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != PIXELS:
        found = f"{data.dtype} of shape {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise DatasetFormatError(
            f"{where}: not a CIFAR batch: 'data' must be uint8 pictures (n, {PIXELS}); found {found}"
        )
    if isinstance(labels, list) and all(type(label) is int for label in labels):
        labels = np.array(labels, dtype=np.int64)
    if not isinstance(labels, np.ndarray) or labels.dtype.kind not in "iu" or labels.shape != (len(data),):
        raise DatasetFormatError(
            f"{where}: not a CIFAR batch: {label_key.decode()!r} must be {len(data)} integer labels, one per picture"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise DatasetFormatError(f"{where}: a label {labels.max()} outside 0-{classes - 1}")
    images = np.ascontiguousarray(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
    return images, labels.astype(np.uint8)
