"""What a run trains on, and how the other commands find it again.

A run trains on a standard data set (Fashion-MNIST, MNIST, CIFAR-10: arrays with a
test set) or on a folder of pictures with one subfolder per class (split into
training and validation pictures, read lazily).  ``--data DIR`` names either kind;
which one is detected: the four Fashion-MNIST files, or class subfolders.

``cnnlab train`` writes ``data.json`` beside the model: the data's kind, class
names, picture size and colour mode, and for a folder of pictures where it was and
the validation pictures (paths inside it, with their labels).  ``evaluate``,
``predict`` and ``inspect`` read it, so they name the run's classes and read a
picture the way training did.  The model file itself stays exactly what Keras
writes; a model without ``data.json`` beside it is taken for a Fashion-MNIST one.
"""

import dataclasses
import hashlib
import json
import os

import numpy as np

from ..datasets import cifar, fashion_mnist, mnist
from ..datasets.store import files_in
from .common import CommandError, model_input, os_error_reason

DATA_FILE = "data.json"
DATA_FORMAT = "cnnlab-run-data"
DATA_VERSION = 1
DATA_MAX_BYTES = 64 << 20  # a data.json lists validation files: millions of them are not one
PICTURES = "pictures"
COLORS = ("grayscale", "rgb", "rgba")
CHANNELS = {"grayscale": 1, "rgb": 3, "rgba": 4}
DEFAULT_PICTURE_SIZE = (64, 64)
INTERPOLATION = "bilinear"


@dataclasses.dataclass(frozen=True)
class Standard:
    """A standard data set as the command uses it."""

    title: str
    load: object  # load(path) -> (x_train, y_train), (x_test, y_test)
    class_names: tuple
    image_size: tuple
    color: str


STANDARD = {
    "fashion-mnist": Standard(
        "Fashion-MNIST", fashion_mnist.load_data, fashion_mnist.CLASS_NAMES, (28, 28), "grayscale"
    ),
    "mnist": Standard(
        "MNIST", lambda path: mnist.load_data(path if path else mnist.FILE), mnist.CLASS_NAMES, (28, 28), "grayscale"
    ),
    "cifar10": Standard("CIFAR-10", cifar.load_cifar10, cifar.CIFAR10_CLASS_NAMES, (32, 32), "rgb"),
}


@dataclasses.dataclass(frozen=True)
class RunData:
    """What a run was trained on (its ``data.json``).

    Attributes:
        kind: a key of ``STANDARD`` or ``"pictures"``.
        class_names: the classes, in the order of the model's outputs.
        image_size: ``(height, width)`` of the model's input.
        color: ``"grayscale"``, ``"rgb"`` or ``"rgba"``.
        data: the folder the data came from (absolute), or None (the data set's usual places).
        validation: for pictures, ``[(path inside data, label), ...]`` held out for validation.
        training_digest: for pictures, the SHA-256 of the training pictures' paths and labels
            (a resumed run checks that they are still the same).
    """

    kind: str
    class_names: tuple
    image_size: tuple
    color: str
    data: str = None
    validation: tuple = ()
    training_digest: str = None

    @property
    def input_shape(self):
        return (*self.image_size, CHANNELS[self.color])

    @property
    def title(self):
        return STANDARD[self.kind].title if self.kind in STANDARD else f"the pictures of {self.data}"

    def validation_files(self):
        """The validation pictures' paths and labels (an int array)."""
        paths = [os.path.join(self.data, path) for path, _ in self.validation]
        return paths, np.array([label for _, label in self.validation], dtype=np.int32)

    def to_json(self):
        return {
            "format": DATA_FORMAT,
            "version": DATA_VERSION,
            "kind": self.kind,
            "class_names": list(self.class_names),
            "image_size": list(self.image_size),
            "color": self.color,
            "interpolation": INTERPOLATION,
            "data": self.data,
            "validation_files": [[path, int(label)] for path, label in self.validation],
            "training_digest": self.training_digest,
        }


def standard_run_data(kind, data_dir=None):
    spec = STANDARD[kind]
    return RunData(kind, tuple(spec.class_names), spec.image_size, spec.color, data_dir)


def fashion_mnist_run_data():
    """What a model without ``data.json`` is taken to be for."""
    return standard_run_data("fashion-mnist")


def detect(data_dir):
    """What ``--data DIR`` holds: a standard data set's files (``"fashion-mnist"``, ``"mnist"``, ``"cifar10"``), or
    class subfolders of pictures (``"pictures"``)."""
    data_dir = os.fspath(data_dir)
    if not os.path.isdir(data_dir):
        raise CommandError(
            f"{data_dir}: no such folder" if not os.path.exists(data_dir) else f"{data_dir}: not a folder"
        )
    for kind, dataset in (
        ("fashion-mnist", fashion_mnist.dataset()),
        ("mnist", mnist.dataset()),
        ("cifar10", cifar.dataset("cifar-10")),
    ):
        if not files_in(dataset, data_dir)[1]:
            return kind
    if any(entry.is_dir() and not entry.name.startswith(".") for entry in os.scandir(data_dir)):
        return PICTURES
    raise CommandError(
        f"{data_dir}: holds neither the files of a data set (Fashion-MNIST's train-images-idx3-ubyte.gz, ..., "
        "mnist.npz, cifar-10-python.tar.gz) nor class subfolders of pictures (DIR/cat/*.jpg, DIR/dog/*.jpg, ...)"
    )


def describe(kind, data_dir):
    """The line ``cnnlab train`` prints about what ``--data DIR`` holds."""
    if kind == PICTURES:
        return f"data: {data_dir} holds class folders of pictures"
    return f"data: {data_dir} holds the {STANDARD[kind].title} files"


def load_standard(kind, data_dir=None):
    """A standard data set as ``(x_train, y_train), (x_test, y_test)``: uint8 pictures, labels (n,), neither empty."""
    spec = STANDARD[kind]
    (x_train, y_train), (x_test, y_test) = spec.load(data_dir)
    for name, images in (("training", x_train), ("test", x_test)):
        if len(images) == 0:
            where = f"{data_dir}: " if data_dir else ""
            raise CommandError(f"{where}the {spec.title} {name} set holds no images")
    return (x_train, y_train.reshape(-1)), (x_test, y_test.reshape(-1))


def load_run_model(path):
    """A model saved by ``cnnlab train`` (a directory means its model file) and the ``RunData`` it was trained on.

    The model is tried on one blank picture of the run's size, so that a model that
    does not fit its data (or, without ``data.json``, is not a Fashion-MNIST
    classifier) is reported here, in one line, rather than by the work that uses it.
    """
    from .common import model_file, read_model

    model = read_model(path)
    path = model_file(path)
    legacy = run_data_path(path) is None
    run_data = read_run_data(path)
    what = "a Fashion-MNIST classifier" if legacy else f"a classifier for {run_data.title} as its data.json says"
    blank = np.zeros((1, *run_data.input_shape), dtype=np.float32)
    try:
        scores = np.asarray(model.predict(blank, verbose=0))
    except ValueError as err:  # another input shape
        raise CommandError(f"{path}: not {what}: {err}") from None
    classes = len(run_data.class_names)
    if scores.shape != (1, classes):
        raise CommandError(
            f"{path}: not {what}: expected {classes} class scores per image; "
            f"the model gives an output of shape {scores.shape[1:]}"
        )
    return model, run_data


# ---- folders of pictures --------------------------------------------------------------------------


def scan_pictures(directory, run_data, verbose=True, what=None):
    """The readable pictures of a folder of class subfolders: ``(paths, labels, class_names)``.

    Prints what was found (Keras's line, then the pictures per class and the files
    left out, each unreadable one a warning naming it).
    """
    from ..keras import image_dataset

    directory = os.fspath(directory)
    try:
        paths, labels, class_names = image_dataset.index_directory(
            directory, "inferred", image_dataset.ALLOWLIST_FORMATS, shuffle=False, verbose=verbose
        )
    except NotADirectoryError:
        raise CommandError(f"{directory}: not a folder") from None
    if not paths:
        raise CommandError(
            f"{directory}: no pictures ({', '.join(image_dataset.ALLOWLIST_FORMATS)}) in class subfolders "
            "(DIR/cat/*.jpg, DIR/dog/*.jpg, ...)"
        )
    decode = picture_decoding(run_data)
    paths, labels = image_dataset._readable(paths, labels, class_names, what, decode, False, verbose)
    if not paths:
        raise CommandError(f"{directory}: none of its pictures can be read")
    return paths, labels, class_names


def picture_decoding(run_data):
    """The arguments of ``decode_picture`` for a run's pictures."""
    return {
        "image_size": tuple(run_data.image_size),
        "num_channels": CHANNELS[run_data.color],
        "interpolation": INTERPOLATION,
    }


def picture_dataset(paths, labels, run_data, batch_size, order=None, transform=None):
    """A dataset of ``(pictures / 255, labels)`` batches decoded lazily, in ``order`` (default: as given).

    Args:
        transform: ``transform(position, picture) -> picture`` for each picture of the
            pass, ``position`` being its index in ``order`` (an epoch's augmentation).
    """
    from ..data import AUTOTUNE, Dataset
    from ..function import TensorSpec
    from ..keras.image_utils import decode_picture

    decode = picture_decoding(run_data)
    order = np.arange(len(paths)) if order is None else order
    labels = np.asarray(labels, dtype=np.int32)

    def element(position):
        index = order[position]
        picture = decode_picture(paths[index], **decode) / np.float32(255.0)
        if transform is not None:
            picture = transform(position, picture)
        return picture, labels[index]

    spec = (TensorSpec(run_data.input_shape, "float32"), TensorSpec([], "int32"))
    return Dataset.from_indexable(len(order), element, spec).batch(batch_size).prefetch(AUTOTUNE)


def training_digest(paths, labels, folder):
    """The SHA-256 (hex) of pictures' paths inside ``folder`` and their labels, in order."""
    digest = hashlib.sha256()
    for path, label in zip(paths, labels):
        digest.update(f"{os.path.relpath(path, folder)}\t{int(label)}\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def labels_for(class_names, known, directory):
    """The positions of ``class_names`` (a folder's classes) among ``known`` (the run's), or a CommandError."""
    unknown = [name for name in class_names if name not in known]
    if unknown:
        raise CommandError(
            f"{directory}: class folder(s) {', '.join(unknown)} are not among the run's classes ({', '.join(known)})"
        )
    return np.array([list(known).index(name) for name in class_names], dtype=np.int32)


# ---- data.json ------------------------------------------------------------------------------------


def write_run_data(run_dir, run_data):
    from ..datasets._files import atomic_write

    with atomic_write(os.path.join(run_dir, DATA_FILE), "w") as f:
        json.dump(run_data.to_json(), f, indent=1)


def run_data_path(model_path):
    """The ``data.json`` of a model file: beside it, or one folder up for a checkpoint's model; None if neither."""
    folder = os.path.dirname(os.path.abspath(model_path))
    for candidate in (folder, os.path.dirname(folder)):
        path = os.path.join(candidate, DATA_FILE)
        if os.path.isfile(path):
            return path
        if os.path.basename(folder) != "checkpoint":
            break
    return None


def read_run_data(model_path):
    """The ``RunData`` recorded for the model at ``model_path``; Fashion-MNIST's when there is no ``data.json``."""
    path = run_data_path(model_path)
    if path is None:
        return fashion_mnist_run_data()
    try:
        with open(path, "rb") as f:
            text = f.read(DATA_MAX_BYTES + 1)
    except OSError as err:
        raise CommandError(f"{path}: unreadable ({os_error_reason(err)})") from None
    if len(text) > DATA_MAX_BYTES:
        raise CommandError(f"{path}: not a cnnlab run's data.json (larger than {DATA_MAX_BYTES} bytes)")
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as err:
        raise CommandError(f"{path}: not a cnnlab run's data.json ({err})") from None
    problem = _problem(document)
    if problem:
        raise CommandError(f"{path}: damaged data.json: {problem}")
    return RunData(
        document["kind"],
        tuple(document["class_names"]),
        tuple(document["image_size"]),
        document["color"],
        document["data"],
        tuple((path, label) for path, label in document["validation_files"]),
        document["training_digest"],
    )


def _problem(document):
    """What is wrong with a data.json document (a string), or None."""
    if not isinstance(document, dict) or document.get("format") != DATA_FORMAT:
        return f"its 'format' is not {DATA_FORMAT!r}"
    if document.get("version") != DATA_VERSION:
        return f"version {document.get('version')!r}; this cnnlab reads version {DATA_VERSION}"
    kind = document.get("kind")
    if kind not in (*STANDARD, PICTURES):
        return f"'kind' must be one of {', '.join((*STANDARD, PICTURES))}"
    names = document.get("class_names")
    if not isinstance(names, list) or len(names) < 2 or not all(isinstance(n, str) for n in names):
        return "'class_names' must be a list of at least 2 names"
    size = document.get("image_size")
    if not (
        isinstance(size, list)
        and len(size) == 2
        and all(isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= 4096 for n in size)
    ):
        return "'image_size' must be [height, width], each from 1 to 4096"
    if document.get("color") not in COLORS:
        return f"'color' must be one of {', '.join(COLORS)}"
    if document.get("data") is not None and not isinstance(document["data"], str):
        return "'data' must be a folder or null"
    files = document.get("validation_files")
    if not isinstance(files, list) or not all(
        isinstance(entry, list)
        and len(entry) == 2
        and isinstance(entry[0], str)
        and isinstance(entry[1], int)
        and not isinstance(entry[1], bool)
        and 0 <= entry[1] < len(names)
        for entry in files
    ):
        return "'validation_files' must be a list of [path, class index] pairs"
    digest = document.get("training_digest")
    if digest is not None and not (isinstance(digest, str) and len(digest) == 64):
        return "'training_digest' must be a SHA-256 in hex or null"
    if kind == PICTURES and (document["data"] is None or not files or digest is None):
        return "a run on pictures must name its folder ('data'), its 'validation_files' and its 'training_digest'"
    return None


# ---- pictures for predict and inspect ------------------------------------------------------------


def picture_input(run_data, path, invert="auto"):
    """A picture file as the run's model reads it: ``(float32 (height, width, channels) in [0, 1], shown)``.

    Fashion-MNIST and MNIST runs convert a photo or drawing the way those images look
    (``images.load_image``: light object on black, trimmed, centred, 28x28); runs on
    CIFAR-10 or a folder of pictures resize it as training did.  ``shown`` is the
    picture as uint8 (2-D for grayscale) for plots.
    """
    from .images import load_image
    from ..keras.image_utils import decode_picture

    if run_data.kind in ("fashion-mnist", "mnist"):
        image = load_image(path, invert=invert)
        return model_input(image[np.newaxis])[0], image
    picture = decode_picture(path, **picture_decoding(run_data))
    shown = picture.astype(np.uint8)
    return picture / np.float32(255.0), shown[..., 0] if shown.shape[-1] == 1 else shown
