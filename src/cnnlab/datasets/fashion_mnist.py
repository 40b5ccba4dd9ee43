"""Fashion-MNIST: find the four IDX files on this machine, or download them once, and load them.

Where ``load_data`` looks is described in ``cnnlab.datasets.store`` (the search all
standard data sets share): the ``path=`` argument, ``$CNNLAB_DATA/fashion-mnist`` or
``$CNNLAB_DATA``, the user cache ``~/.cache/cnnlab/fashion-mnist``, then
``/usr/share/datasets/fashion-mnist``, where Debian's ``dataset-fashion-mnist`` puts
them; otherwise the files are downloaded from the Keras mirror (or the Zalando
Research repository), each checked against its SHA-256.

A directory counts when it holds all four files, each gzip-compressed (``*.gz``,
as published) or not.  Fashion-MNIST is (c) Zalando SE, MIT licence.
"""

from . import store
from .idx import IDXFormatError, read_idx
from .store import DATA_ENV, SYSTEM_DATASETS, SYSTEM_DATASETS_ENV, URL_ENV, ChecksumError, DatasetNotFoundError

CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

TRAIN_IMAGES = "train-images-idx3-ubyte"
TRAIN_LABELS = "train-labels-idx1-ubyte"
TEST_IMAGES = "t10k-images-idx3-ubyte"
TEST_LABELS = "t10k-labels-idx1-ubyte"
FILE_STEMS = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)

# SHA-256 of the published ``<stem>.gz`` files (Zalando's originals, MD5s as in their
# README; the Keras mirror serves the same bytes).  Debian's package re-compresses
# them, so only downloads are checked against these.
SHA256 = {
    TRAIN_IMAGES: "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    TRAIN_LABELS: "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    TEST_IMAGES: "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    TEST_LABELS: "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
}
DOWNLOAD_URLS = (
    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
)
NAME = "fashion-mnist"


def load_data(path=None):
    """Load Fashion-MNIST as Keras does: ``(x_train, y_train), (x_test, y_test)``.

    Args:
        path: a directory holding the four IDX files; None searches the places
            listed in this module's docstring and downloads as a last resort.

    Returns:
        ``x_train`` uint8 (60000, 28, 28), ``y_train`` uint8 (60000,),
        ``x_test`` uint8 (10000, 28, 28), ``y_test`` uint8 (10000,), labels 0-9
        naming ``CLASS_NAMES``.

    Raises:
        DatasetNotFoundError: no copy was found and none could be downloaded (the
            message lists the places searched and how to get the data).
        ChecksumError: a download did not match its published SHA-256.
        IDXFormatError: a file is damaged or is not Fashion-MNIST.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load_data()
        >>> x_train.shape, CLASS_NAMES[y_train[0]]
        ((60000, 28, 28), 'Ankle boot')
    """
    files = find_files(path)
    x_train, y_train = _load_pair(files[TRAIN_IMAGES], files[TRAIN_LABELS])
    x_test, y_test = _load_pair(files[TEST_IMAGES], files[TEST_LABELS])
    return (x_train, y_train), (x_test, y_test)


def find_files(path=None, download=True, base_url=None):
    """Locate (or download) the four files; returns ``{stem: file path}``.

    Args:
        path: look only in this directory.
        download: download into the user cache when no copy is found.
        base_url: where to download from (default ``$CNNLAB_DATA_URL``, else
            ``DOWNLOAD_URLS`` in turn); each file is ``base_url + stem + ".gz"``.
    """
    return store.find_files(dataset(), path, download, base_url)


def search_dirs():
    """The directories searched, in order, as ``(directory or None, what it is)``."""
    return store.search_dirs(dataset())


def system_data_dir():
    """Where Debian's package puts the files: ``$CNNLAB_SYSTEM_DATASETS/fashion-mnist``, else ``/usr/share/datasets/fashion-mnist``."""
    return store.system_data_dir(NAME)


def cache_dir():
    """The download cache: ``$XDG_CACHE_HOME/cnnlab/fashion-mnist``, else ``~/.cache/cnnlab/fashion-mnist``."""
    return store.cache_dir(NAME)


def download_files(directory, base_url, progress=True):
    """Download the files ``directory`` lacks from ``base_url``, verifying each SHA-256 (see ``store.download_files``)."""
    store.download_files(dataset(), directory, base_url, progress)


def dataset():
    """The ``store.DataSet`` describing these files (what a folder must hold, where they are downloaded from)."""
    # Built when asked, from the module's constants, so that a mirror or checksum set here takes effect.
    return store.DataSet(
        name=NAME,
        title="Fashion-MNIST",
        loader="fashion_mnist.load_data",
        parts=tuple(store.Part(stem, (stem + ".gz", stem), stem + ".gz", SHA256[stem]) for stem in FILE_STEMS),
        base_urls=tuple(DOWNLOAD_URLS),
        system_package="dataset-fashion-mnist",
    )


def _load_pair(images_path, labels_path):
    images = read_idx(images_path, ndim=3)
    labels = read_idx(labels_path, ndim=1)
    if images.dtype != "uint8" or images.shape[1:] != (28, 28):
        raise IDXFormatError(
            f"fashion_mnist: {images_path!r} is not Fashion-MNIST images: expected uint8 images of 28x28; "
            f"found {images.dtype} of shape {images.shape}."
        )
    if labels.dtype != "uint8":
        raise IDXFormatError(
            f"fashion_mnist: {labels_path!r} is not Fashion-MNIST labels: expected uint8; found {labels.dtype}."
        )
    if len(images) != len(labels):
        raise IDXFormatError(
            f"fashion_mnist: {images_path!r} holds {len(images)} images but {labels_path!r} holds {len(labels)} labels."
        )
    if labels.size and labels.max() >= len(CLASS_NAMES):
        raise IDXFormatError(
            f"fashion_mnist: {labels_path!r} has label {labels.max()}; "
            f"Fashion-MNIST labels are 0-{len(CLASS_NAMES) - 1}."
        )
    return images, labels


__all__ = [
    "CLASS_NAMES",
    "DATA_ENV",
    "SYSTEM_DATASETS",
    "SYSTEM_DATASETS_ENV",
    "URL_ENV",
    "ChecksumError",
    "DatasetNotFoundError",
    "cache_dir",
    "download_files",
    "find_files",
    "load_data",
    "search_dirs",
    "system_data_dir",
]
