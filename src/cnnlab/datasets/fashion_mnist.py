"""Fashion-MNIST: find the four IDX files on this machine, or download them once, and load them.

Where ``load_data`` looks, in order:

1. the ``path=`` argument (then only there);
2. the directory named by ``$CNNLAB_DATA``;
3. the user cache, ``$XDG_CACHE_HOME/cnnlab/fashion-mnist`` (``~/.cache/cnnlab/fashion-mnist``);
4. ``/usr/share/datasets/fashion-mnist``, where Debian's ``dataset-fashion-mnist`` puts them
   (``$CNNLAB_SYSTEM_DATASETS`` replaces ``/usr/share/datasets``);
5. otherwise it downloads the files into the user cache from the Keras mirror (or
   the Zalando Research repository), checks each file's SHA-256 and only then
   moves it into place.  ``$CNNLAB_DATA_URL`` replaces those addresses.

A directory counts when it holds all four files, each gzip-compressed (``*.gz``,
as published) or not.  Fashion-MNIST is (c) Zalando SE, MIT licence.
"""

import contextlib
import hashlib
import http.client
import importlib.util
import os
import urllib.error
import urllib.request

from ._files import atomic_write
from .idx import IDXFormatError, read_idx

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
SYSTEM_DATASETS = "/usr/share/datasets"
SYSTEM_DATASETS_ENV = "CNNLAB_SYSTEM_DATASETS"
DATA_ENV = "CNNLAB_DATA"
URL_ENV = "CNNLAB_DATA_URL"
DOWNLOAD_TIMEOUT_S = 30


class DatasetNotFoundError(FileNotFoundError):
    """The dataset is on none of the places searched and could not be downloaded."""


class ChecksumError(ValueError):
    """A downloaded file is not the published one (its SHA-256 differs)."""


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
    if path is not None:
        path = os.fspath(path)
        files, missing = _files_in(path)
        if missing:
            raise DatasetNotFoundError(
                f"fashion_mnist.load_data: the directory path={path!r} does not hold the Fashion-MNIST files; "
                f"missing: {', '.join(stem + '.gz' for stem in missing)}."
            )
        return files

    for directory, _ in search_dirs():
        if directory is not None:
            files, missing = _files_in(directory)
            if not missing:
                return files

    cache = cache_dir()
    if not download:
        raise DatasetNotFoundError(_not_found_message("downloading was turned off"))
    if base_url:
        base_urls = [base_url]
    elif os.environ.get(URL_ENV):
        base_urls = [os.environ[URL_ENV]]
    else:
        base_urls = DOWNLOAD_URLS
    failures = []
    for url in base_urls:
        try:
            download_files(cache, url)
        except urllib.error.HTTPError as err:  # the server answered, but not with the file
            failures.append(f"{err.url}: {err}")
        except urllib.error.URLError as err:  # offline, host unknown, connection refused
            failures.append(f"{url}: {err.reason}")
        except (OSError, http.client.HTTPException) as err:  # a dropped connection, disk full, cache not writable
            failures.append(f"{url}: {err}")
        else:
            return _files_in(cache)[0]
    raise DatasetNotFoundError(_not_found_message("; ".join(failures)))


def search_dirs():
    """The directories searched, in order, as ``(directory or None, what it is)``."""
    return [
        (os.environ.get(DATA_ENV) or None, f"${DATA_ENV}"),
        (cache_dir(), "the user cache"),
        (system_data_dir(), "Debian's dataset-fashion-mnist"),
    ]


def system_data_dir():
    """Where Debian's package puts the files: ``$CNNLAB_SYSTEM_DATASETS/fashion-mnist``, else ``/usr/share/datasets/fashion-mnist``."""
    return os.path.join(os.environ.get(SYSTEM_DATASETS_ENV) or SYSTEM_DATASETS, "fashion-mnist")


def cache_dir():
    """The download cache: ``$XDG_CACHE_HOME/cnnlab/fashion-mnist``, else ``~/.cache/cnnlab/fashion-mnist``."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = xdg if xdg and os.path.isabs(xdg) else os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "cnnlab", "fashion-mnist")


def download_files(directory, base_url, progress=True):
    """Download the files ``directory`` lacks from ``base_url``, verifying each SHA-256.

    Each file is streamed into a temporary file in ``directory`` and renamed into
    place only once its checksum matches, so an interrupted or corrupted download
    never leaves a partial ``*.gz`` behind.

    Raises:
        ChecksumError: a file's SHA-256 is not the published one (nothing is kept).
        urllib.error.URLError, OSError: the server could not be reached or refused.
    """
    os.makedirs(directory, exist_ok=True)
    _, missing = _files_in(directory)
    for stem in missing:
        name = stem + ".gz"
        url = base_url.rstrip("/") + "/" + name
        _download_file(url, os.path.join(directory, name), SHA256[stem], progress)


def _download_file(url, target, expected_sha256, progress):
    sha256 = hashlib.sha256()
    with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response, atomic_write(target) as out:
        total = int(response.headers.get("Content-Length") or 0) or None
        with _progress_bar(progress, total, os.path.basename(target)) as bar:
            while chunk := response.read(1 << 16):
                out.write(chunk)
                sha256.update(chunk)
                bar.update(len(chunk))
        actual = sha256.hexdigest()
        if actual != expected_sha256:  # raised inside the write: the file is not kept
            raise ChecksumError(
                f"fashion_mnist: the file {os.path.basename(target)} downloaded from {url} is damaged or not the "
                f"published one: expected SHA-256 {expected_sha256}, got {actual}. It was not kept."
            )


class _NoProgress:
    def update(self, n):
        pass


@contextlib.contextmanager
def _progress_bar(enabled, total, name):
    """A tqdm bar on stderr when tqdm is installed and ``enabled``; otherwise a silent stand-in."""
    if not enabled or importlib.util.find_spec("tqdm") is None:
        yield _NoProgress()
        return
    from tqdm import tqdm

    with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=f"Downloading {name}") as bar:
        yield bar


def _files_in(directory):
    """``({stem: path}, [missing stems])`` for the four files in ``directory`` (``.gz`` or raw)."""
    files, missing = {}, []
    for stem in FILE_STEMS:
        for candidate in (stem + ".gz", stem):
            full = os.path.join(directory, candidate)
            if os.path.isfile(full):
                files[stem] = full
                break
        else:
            missing.append(stem)
    return files, missing


def _not_found_message(reason):
    places = []
    for directory, what in search_dirs():
        places.append(f"  {directory} ({what})" if directory else f"  ${DATA_ENV} (not set)")
    return (
        f"Fashion-MNIST was not found and could not be downloaded ({reason}).\n"
        "Looked in:\n" + "\n".join(places) + "\n"
        "Get the data either way:\n"
        "  - install Debian's package:  sudo apt-get install dataset-fashion-mnist\n"
        f"  - or put the four files ({', '.join(stem + '.gz' for stem in FILE_STEMS)}) into one of the "
        f"directories above, or into any directory and set {DATA_ENV} to it."
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
