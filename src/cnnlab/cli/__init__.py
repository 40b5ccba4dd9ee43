"""The ``cnnlab`` command: train, evaluate, use and look inside a Fashion-MNIST classifier.

    cnnlab train --model seed --out runs/seed
    cnnlab evaluate runs/seed/model.keras
    cnnlab predict runs/seed/model.keras my-shirt.jpg
    cnnlab inspect runs/seed/model.keras --index 0
    cnnlab export runs/seed --format onnx --out seed.onnx
    cnnlab activations
    cnnlab explain runs/seed

Each subcommand is a module in this package with ``register(subparsers)``, which adds
its parser and sets ``run=`` to the function that does the work (``run(args)``
returns the exit status).  Adding a subcommand means adding its module name to
``SUBCOMMANDS``.  Modules import NumPy-heavy and plotting code inside ``run``, so
``cnnlab --help`` stays instant.

User mistakes (a missing file, a bad option, an unreadable image, no dataset) and
what the system refuses (any ``OSError``: a folder that cannot be written, a full
disk) end with one line on stderr, ``cnnlab COMMAND: error: ...`` naming the file,
and exit status 1 (2 for bad command-line syntax, with a second line pointing to
``--help``; 130 when interrupted); everything else is a bug and shows its traceback.
A warning raised while a command runs is shown as one line too,
``cnnlab COMMAND: warning: ...``.
"""

import argparse
import functools
import importlib
import os
import sys
import warnings

from .common import USER_ERRORS, describe_os_error

SUBCOMMANDS = ("train", "evaluate", "predict", "inspect", "export", "activations", "explain")


class _ArgumentParser(argparse.ArgumentParser):
    """argparse, but a usage mistake is reported in two lines rather than the whole usage text."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\nsee '{self.prog} --help'\n")


def build_parser():
    """The ``cnnlab`` argument parser with every subcommand in ``SUBCOMMANDS`` registered."""
    parser = _ArgumentParser(
        prog="cnnlab",
        description="Train, evaluate, use and look inside a CNN that tells clothes apart (Fashion-MNIST), "
        "built on cnnlab, a NumPy CNN framework with a TensorFlow 2 / Keras API.",
        epilog="Run 'cnnlab COMMAND --help' for the options and examples of each command.",
    )
    from .. import __cnnlab_version__

    parser.add_argument("--version", action="version", version=f"cnnlab {__cnnlab_version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in SUBCOMMANDS:
        importlib.import_module(f".{name}", __name__).register(subparsers)
    return parser


def main(argv=None):
    """Run the ``cnnlab`` command with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    from .. import runtime

    runtime.configure()  # threads, BLAS and malloc set for training (the command owns its process)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = functools.partial(_show_warning, args.command)
            return args.run(args)
    except USER_ERRORS as err:
        _print_error(args.command, str(err))
        return getattr(err, "exit_status", 1)
    except KeyboardInterrupt:
        _print_error(args.command, "interrupted")
        return 130
    except BrokenPipeError:  # the reader went away (`cnnlab evaluate ... | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit flush cannot fail again
        return 141
    except OSError as err:  # refused by the system: permissions, a full disk, a path that is not what it must be
        _print_error(args.command, describe_os_error(err))
        return 1


def _print_error(command, message):
    print(f"cnnlab {command}: error: {message}", file=sys.stderr)


def _show_warning(command, message, category, filename, lineno, file=None, line=None):
    """``warnings.showwarning`` for the command: one line, without the source location."""
    print(f"cnnlab {command}: warning: {message}", file=sys.stderr if file is None else file)
