"""Where the standard data sets' files are looked for, and their verified download.

Fashion-MNIST, MNIST, CIFAR-10 and CIFAR-100 share this search.  A data set named
``NAME`` (``fashion-mnist``, ``mnist``, ``cifar-10``, ``cifar-100``) is looked for, in order:

1. the ``path=`` argument of its ``load_data`` (then only there);
2. ``$CNNLAB_DATA/NAME``, then ``$CNNLAB_DATA`` itself: one variable serves every data
   set, each in its own subfolder, or the files of one set put there directly (the
   sets' file names differ, so several can share the folder);
3. the user cache, ``$XDG_CACHE_HOME/cnnlab/NAME`` (``~/.cache/cnnlab/NAME``);
4. for a data set a system package installs (Debian's ``dataset-fashion-mnist``),
   ``/usr/share/datasets/NAME`` (``$CNNLAB_SYSTEM_DATASETS`` replaces ``/usr/share/datasets``);
5. otherwise its files are downloaded into the user cache from the addresses Keras
   uses, each checked against its published SHA-256 before it is moved into place.
   ``$CNNLAB_DATA_URL`` replaces those addresses (a mirror holding the files side by side).
"""

import contextlib
import dataclasses
import hashlib
import http.client
import importlib.util
import os
import urllib.error
import urllib.request

from ._files import atomic_write

SYSTEM_DATASETS = "/usr/share/datasets"
SYSTEM_DATASETS_ENV = "CNNLAB_SYSTEM_DATASETS"
DATA_ENV = "CNNLAB_DATA"
URL_ENV = "CNNLAB_DATA_URL"
DOWNLOAD_TIMEOUT_S = 30


class DatasetNotFoundError(FileNotFoundError):
    """The dataset is on none of the places searched and could not be downloaded."""


class ChecksumError(ValueError):
    """A downloaded file is not the published one (its SHA-256 differs)."""


class DatasetFormatError(ValueError):
    """A data set's file is damaged, or is not the file it should be (the message names it)."""


@dataclasses.dataclass(frozen=True)
class Part:
    """One thing a data set's folder must hold, in any of several forms.

    Attributes:
        key: how the loader asks for it (e.g. ``"train-images-idx3-ubyte"``).
        names: the names it may have in the folder, in order of preference; a name
            ending in ``/`` is a folder (an extracted archive), the others files.
        download: the file downloaded when no copy is found (``base_url + download``).
        sha256: the published SHA-256 of ``download``.
    """

    key: str
    names: tuple
    download: str
    sha256: str


@dataclasses.dataclass(frozen=True)
class DataSet:
    """A standard data set's files and where they come from.

    Attributes:
        name: its folder name in the cache, the system folder and ``$CNNLAB_DATA``.
        title: its name for people (``"Fashion-MNIST"``).
        loader: the function users call, for messages (``"fashion_mnist.load_data"``).
        parts: the ``Part``s a folder must hold, all of them.
        base_urls: the addresses tried in turn for a download.
        system_package: the Debian package installing it under the system folder, or None.
    """

    name: str
    title: str
    loader: str
    parts: tuple
    base_urls: tuple
    system_package: str = None


def find_files(dataset, path=None, download=True, base_url=None):
    """Locate (or download) a data set's files; returns ``{part key: path}``.

    Args:
        dataset: the ``DataSet``.
        path: look only in this directory.
        download: download into the user cache when no copy is found.
        base_url: where to download from (default ``$CNNLAB_DATA_URL``, else the
            data set's ``base_urls`` in turn).

    Raises:
        DatasetNotFoundError: no copy was found and none could be downloaded (the
            message lists the places searched and how to get the data).
        ChecksumError: a download did not match its published SHA-256.
    """
    if path is not None:
        path = os.fspath(path)
        files, missing = files_in(dataset, path)
        if missing:
            raise DatasetNotFoundError(
                f"{dataset.loader}: the directory path={path!r} does not hold the {dataset.title} files; "
                f"missing: {', '.join(part.download for part in missing)}."
            )
        return files

    for directory, _ in search_dirs(dataset):
        if directory is not None:
            files, missing = files_in(dataset, directory)
            if not missing:
                return files

    if not download:
        raise DatasetNotFoundError(_not_found_message(dataset, "downloading was turned off"))
    cache = cache_dir(dataset.name)
    if base_url:
        base_urls = [base_url]
    elif os.environ.get(URL_ENV):
        base_urls = [os.environ[URL_ENV]]
    else:
        base_urls = dataset.base_urls
    failures = []
    for url in base_urls:
        try:
            download_files(dataset, cache, url)
        except urllib.error.HTTPError as err:  # the server answered, but not with the file
            failures.append(f"{err.url}: {err}")
        except urllib.error.URLError as err:  # offline, host unknown, connection refused
            failures.append(f"{url}: {err.reason}")
        except (OSError, http.client.HTTPException) as err:  # a dropped connection, disk full, cache not writable
            failures.append(f"{url}: {err}")
        else:
            return files_in(dataset, cache)[0]
    raise DatasetNotFoundError(_not_found_message(dataset, "; ".join(failures)))


def search_dirs(dataset):
    """The directories searched, in order, as ``(directory or None, what it is)``."""
    data = os.environ.get(DATA_ENV) or None
    places = []
    if data is not None:
        places.append((os.path.join(data, dataset.name), f"${DATA_ENV}/{dataset.name}"))
    places.append((data, f"${DATA_ENV}"))
    places.append((cache_dir(dataset.name), "the user cache"))
    if dataset.system_package:
        places.append((system_data_dir(dataset.name), f"Debian's {dataset.system_package}"))
    return places


def system_data_dir(name):
    """Where a system package puts data set ``name``: ``$CNNLAB_SYSTEM_DATASETS/name``, else ``/usr/share/datasets/name``."""
    return os.path.join(os.environ.get(SYSTEM_DATASETS_ENV) or SYSTEM_DATASETS, name)


def cache_dir(name):
    """The download cache of data set ``name``: ``$XDG_CACHE_HOME/cnnlab/name``, else ``~/.cache/cnnlab/name``."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = xdg if xdg and os.path.isabs(xdg) else os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "cnnlab", name)


def files_in(dataset, directory):
    """``({part key: path}, [missing parts])`` for ``dataset`` in ``directory``."""
    files, missing = {}, []
    for part in dataset.parts:
        for name in part.names:
            full = os.path.join(directory, name.rstrip("/"))
            if os.path.isdir(full) if name.endswith("/") else os.path.isfile(full):
                files[part.key] = full
                break
        else:
            missing.append(part)
    return files, missing


def download_files(dataset, directory, base_url, progress=True):
    """Download the parts ``directory`` lacks from ``base_url``, verifying each SHA-256.

    Each file is streamed into a temporary file in ``directory`` and renamed into
    place only once its checksum matches, so an interrupted or corrupted download
    never leaves a partial file behind.

    Raises:
        ChecksumError: a file's SHA-256 is not the published one (nothing is kept).
        urllib.error.URLError, OSError: the server could not be reached or refused.
    """
    os.makedirs(directory, exist_ok=True)
    _, missing = files_in(dataset, directory)
    for part in missing:
        url = base_url.rstrip("/") + "/" + part.download
        _download_file(dataset, url, os.path.join(directory, part.download), part.sha256, progress)


def _download_file(dataset, url, target, expected_sha256, progress):
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
                f"{dataset.loader.split('.')[0]}: the file {os.path.basename(target)} downloaded from {url} is damaged "
                f"or not the published one: expected SHA-256 {expected_sha256}, got {actual}. It was not kept."
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


def _not_found_message(dataset, reason):
    places = []
    for directory, what in search_dirs(dataset):
        places.append(f"  {directory} ({what})" if directory else f"  ${DATA_ENV} (not set)")
    ways = []
    if dataset.system_package:
        ways.append(f"  - install Debian's package:  sudo apt-get install {dataset.system_package}")
    files = ", ".join(part.download for part in dataset.parts)
    ways.append(
        f"  - or put the files ({files}) into one of the directories above, or into a directory DIR/{dataset.name} "
        f"(or DIR itself) and set {DATA_ENV} to DIR."
    )
    return (
        f"{dataset.title} was not found and could not be downloaded ({reason}).\n"
        "Looked in:\n" + "\n".join(places) + "\nGet the data either way:\n" + "\n".join(ways)
    )
