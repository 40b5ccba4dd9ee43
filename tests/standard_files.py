"""Small files in the exact formats of Keras's mnist.npz and CIFAR's python archives, for the loader tests."""

import io
import struct
import tarfile

import numpy as np

CIFAR10 = {
    "archive": "cifar-10-python.tar.gz",
    "folder": "cifar-10-batches-py",
    "train": [f"data_batch_{i}" for i in range(1, 6)],
    "test": ["test_batch"],
    "labels": [b"labels"],
    "classes": [10],
}
CIFAR100 = {
    "archive": "cifar-100-python.tar.gz",
    "folder": "cifar-100-python",
    "train": ["train"],
    "test": ["test"],
    "labels": [b"fine_labels", b"coarse_labels"],
    "classes": [100, 20],
}


def write_mnist_npz(path, n_train=12, n_test=5, seed=0):
    """An ``mnist.npz`` as Keras's: four uint8 .npy members in a zip; returns the four arrays."""
    rng = np.random.default_rng(seed)
    arrays = {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, n_train).astype(np.uint8),
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, n_test).astype(np.uint8),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)
    return arrays


class Python2Pickle:
    """Writes what Python 2's cPickle.dump(batch, f, 2) wrote for CIFAR's batches, opcode by opcode.

    The layout of the real files: a dict of byte-string keys (SHORT_BINSTRING /
    BINSTRING, memoized with BINPUT), labels as a list of ints appended 1,000 at a
    time (EMPTY_LIST, MARK, BININT1/BININT2, APPENDS), file names as a list of byte
    strings, and the pixels as numpy.core.multiarray._reconstruct(ndarray, (0,), 'b')
    with a BUILD of (1, shape, dtype('u1', 0, 1) with its BUILD, False, raw bytes).
    """

    def __init__(self):
        self.out = bytearray(b"\x80\x02")
        self.memo = 0

    def put(self):
        self.memo += 1
        self.out += b"q" + bytes([self.memo]) if self.memo < 256 else b"r" + struct.pack("<I", self.memo)

    def string(self, data):
        self.out += (b"U" + bytes([len(data)]) if len(data) < 256 else b"T" + struct.pack("<I", len(data))) + data
        self.put()

    def integer(self, value):
        if 0 <= value < 256:
            self.out += b"K" + bytes([value])
        elif 0 <= value < 65536:
            self.out += b"M" + struct.pack("<H", value)
        else:
            self.out += b"J" + struct.pack("<i", value)

    def global_(self, module, name):
        self.out += b"c" + module + b"\n" + name + b"\n"
        self.put()

    def value(self, value):
        if isinstance(value, bytes):
            self.string(value)
        elif isinstance(value, list):
            self.out += b"]"
            self.put()
            for start in range(0, len(value), 1000):
                self.out += b"("
                for item in value[start : start + 1000]:
                    self.value(item)
                self.out += b"e"
        elif isinstance(value, int):
            self.integer(value)
        else:
            self.array(value)

    def array(self, array):
        assert array.dtype == np.uint8 and array.flags.c_contiguous
        self.global_(b"numpy.core.multiarray", b"_reconstruct")
        self.global_(b"numpy", b"ndarray")
        self.out += b"K\x00\x85U\x01b\x87R"
        self.put()
        self.out += b"(K\x01"
        for n in array.shape:
            self.integer(n)
        self.out += {1: b"\x85", 2: b"\x86", 3: b"\x87"}[array.ndim]
        self.global_(b"numpy", b"dtype")
        self.out += b"U\x02u1K\x00K\x01\x87R"
        self.put()
        self.out += b"(K\x03U\x01|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89"
        self.string(array.tobytes())
        self.out += b"tb"

    def dumps(self, batch):
        self.out += b"}"
        self.put()
        self.out += b"("
        for key, value in batch.items():
            self.string(key)
            self.value(value)
        self.out += b"u."
        return bytes(self.out)


def python2_pickle(batch):
    return Python2Pickle().dumps(batch)


def cifar_batch(layout, n, rng, label_values=None):
    """A batch dict in the real files' key order: data, labels, batch_label, filenames (CIFAR-100: its keys)."""
    data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    batch = {b"data": data}
    for key, classes in zip(layout["labels"], layout["classes"]):
        batch[key] = [int(v) for v in rng.integers(0, classes, n)] if label_values is None else list(label_values)
    batch[b"batch_label"] = b"training batch 1 of 5"
    batch[b"filenames"] = [b"picture_%d.png" % i for i in range(n)]
    return batch


def write_cifar(directory, layout, n_per_batch=7, seed=0, writer=python2_pickle, extracted=False, extra_members=()):
    """The archive (or the folder it unpacks to) in ``directory``; returns ``{batch name: batch dict}``."""
    rng = np.random.default_rng(seed)
    batches = {
        name: cifar_batch(layout, n_per_batch + i, rng) for i, name in enumerate(layout["train"] + layout["test"])
    }
    files = {f"{layout['folder']}/{name}": writer(batch) for name, batch in batches.items()}
    files[f"{layout['folder']}/readme.html"] = b"<html>CIFAR</html>"
    files.update(extra_members)
    directory.mkdir(parents=True, exist_ok=True)
    if extracted:
        for name, content in files.items():
            (directory / name).parent.mkdir(parents=True, exist_ok=True)
            (directory / name).write_bytes(content)
    else:
        write_tar_gz(directory / layout["archive"], files)
    return batches


def write_tar_gz(path, files):
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))


def expected_images(data):
    """CIFAR's rows (n, 3072: 1024 red, 1024 green, 1024 blue, each row-major) as (n, 32, 32, 3), pixel by pixel."""
    n = len(data)
    images = np.empty((n, 32, 32, 3), dtype=np.uint8)
    for channel in range(3):
        for row in range(32):
            images[:, row, :, channel] = data[:, channel * 1024 + row * 32 : channel * 1024 + row * 32 + 32]
    return images
