"""What the subcommands share: the user-error types, data and model loading, output checks, help layout."""

import argparse
import os
import textwrap

import numpy as np

from ..datasets import ChecksumError, DatasetFormatError, DatasetNotFoundError, IDXFormatError
from .images import ImageError

MODEL_FILE = "model.keras"


class CommandError(Exception):
    """A mistake the user can fix; shown as one line on stderr, without a traceback."""

    def __init__(self, message, exit_status=1):
        super().__init__(message)
        self.exit_status = exit_status


# Errors caused by what the user gave us (files, options, environment), reported without traceback.
USER_ERRORS = (CommandError, DatasetNotFoundError, ChecksumError, IDXFormatError, DatasetFormatError, ImageError)


def add_parser(subparsers, name, summary, description, examples):
    """A subcommand parser whose ``--help`` shows ``description`` and an ``Examples:`` section."""
    paragraphs = description.split("\n\n")
    # Keep hand-laid-out paragraphs (indented lines) as written; wrap the prose.
    description = "\n\n".join(p if "\n " in p else textwrap.fill(p, width=79) for p in paragraphs)
    return subparsers.add_parser(
        name,
        help=summary,
        description=description,
        epilog="examples:\n" + "\n".join(f"  {line}" for line in examples),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def add_data_option(parser, pictures=True):
    what = (
        "a folder of the data set's files, or of class subfolders of pictures"
        if pictures
        else ("a folder of the data set's files")
    )
    parser.add_argument(
        "--data",
        metavar="DIR",
        help=f"{what} (default for a data set: $CNNLAB_DATA, the user cache, /usr/share/datasets, else download)",
    )


def model_input(images):
    """uint8 pictures (n, height, width[, channels]) -> the float32 batch (n, height, width, channels) in [0, 1]."""
    batch = np.asarray(images, dtype=np.float32) / np.float32(255.0)
    return batch[..., np.newaxis] if batch.ndim == 3 else batch


def positive_int(text):
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1; Received: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1; Received: {value}")
    return value


def positive_float(text):
    """argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0; Received: {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0; Received: {text}")
    return value


def non_negative_int(text):
    """argparse type: an integer >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0; Received: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0; Received: {value}")
    return value


def fraction(text):
    """argparse type: a number strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1; Received: {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a number strictly between 0 and 1; Received: {text}")
    return value


def read_model(path):
    """Load any model saved by ``model.save`` (a directory means its model file), whatever data it is for."""
    path = model_file(path)
    if not os.path.isfile(path):
        raise CommandError(f"{path}: no such model file (train one with 'cnnlab train --out DIR')")
    from .. import keras
    from .models import custom_objects

    try:
        with open(path, "rb"):  # the system's reason, rather than the loader's view of an unreadable file
            pass
        return keras.models.load_model(path, custom_objects=custom_objects())
    except OSError as err:
        raise CommandError(f"{path}: cannot load the model: {os_error_reason(err)}") from None
    except ValueError as err:  # truncated, tampered with, unknown version
        raise CommandError(f"{path}: cannot load the model: {err}") from None


def model_file(path):
    path = os.fspath(path)
    return os.path.join(path, MODEL_FILE) if os.path.isdir(path) else path


def check_output_file(path):
    """Fail early, before any work, unless the file ``path`` can be written (created or replaced)."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise CommandError(f"{path}: is a directory; expected the name of a file to write")
    _check_writable_directory(path, os.path.dirname(os.path.abspath(path)))


def check_output_directory(path):
    """Fail early, before any work, unless the directory ``path`` exists and can be written or can be created."""
    path = os.fspath(path)
    if os.path.exists(path):
        if not os.path.isdir(path):
            raise CommandError(f"{path}: exists and is not a directory")
        _check_writable_directory(path, path)
        return
    ancestor = os.path.dirname(os.path.abspath(path))
    while not os.path.lexists(ancestor):  # a dangling link stops here: it cannot be created
        ancestor = os.path.dirname(ancestor)
    _check_writable_directory(path, ancestor)


def _check_writable_directory(path, directory):
    if not os.path.isdir(directory):
        if os.path.exists(directory):
            raise CommandError(f"{path}: {directory} is not a directory")
        raise CommandError(f"{path}: the directory {directory} does not exist")
    if not os.access(directory, os.W_OK | os.X_OK):
        where = "it" if directory == path else directory
        raise CommandError(f"{path}: cannot write into {where}: permission denied")


def describe_os_error(err):
    """One line for an ``OSError``: the path(s) it names, then the reason, e.g. ``runs/x: permission denied``."""
    if err.filename is None:
        return os_error_reason(err)
    names = os.fsdecode(err.filename)
    if err.filename2 is not None:
        names += f" -> {os.fsdecode(err.filename2)}"
    return f"{names}: {os_error_reason(err)}"


def os_error_reason(err):
    """The system's words for an ``OSError`` without the path, in lower case: ``permission denied``."""
    reason = err.strerror or str(err)
    return reason[:1].lower() + reason[1:]
