"""``cnnlab train``: train a classifier, checkpointing every epoch so a run can be resumed.

It trains on Fashion-MNIST (the default), MNIST or CIFAR-10 (``--dataset``), or on a
folder of pictures with one subfolder per class (``--data DIR``), resized to
``--image-size`` in ``--color``, with a stratified validation split or ``--val-dir``.
A run directory holds, when training ends:

    model.keras       the trained model (keras.models.load_model reads it)
    data.json         what it was trained on: classes, picture size, colour mode, validation pictures
    history.json      loss / accuracy / val_loss / val_accuracy per epoch
    history.png       those curves
    metrics.json      test (or, for pictures, validation) loss and accuracy, epochs, training time
    checkpoint/       state.json + the model (weights and optimizer state) after the last epoch

Reproducible: everything random in epoch ``e`` (the shuffling order, the augmentation,
the Dropout masks) is drawn from generators seeded with ``(seed, e)``, and the
checkpoint holds the weights and the optimizer's state, so a run resumed from
epoch ``e`` ends with the same weights as one that was never interrupted.

Data-parallel: started by ``mpirun -n K``, the K processes share every epoch's order
(each takes its part of every global batch of K * batch-size samples, see
``cnnlab.distributed.shard``), average their gradients before every update and
their metrics at the end of every epoch, weighted by their samples; only rank 0
prints and writes files.  ``--scale-lr`` multiplies the learning rate by K, reached by
a linear warm-up (Goyal et al. 2017).  A folder of pictures trains in one process.
"""

import argparse
import contextlib
import json
import math
import os
import re
import sys
import time
import warnings

import numpy as np

from ..datasets import train_val_split
from ..datasets._files import atomic_write, remove_leftovers
from . import data as run_data_module
from .common import (
    MODEL_FILE,
    CommandError,
    add_data_option,
    add_parser,
    check_output_directory,
    fraction,
    model_input,
    non_negative_int,
    os_error_reason,
    positive_float,
    positive_int,
)
from .data import COLORS, DATA_FILE, PICTURES, STANDARD, RunData
from .models import MODELS, augment

RUN_FILES = (MODEL_FILE, DATA_FILE, "history.json", "history.png", "metrics.json")
CHECKPOINT_DIR = "checkpoint"
STATE_FILE = "state.json"
STATE_FORMAT = "cnnlab-train-checkpoint"
STATE_VERSION = 1
STATE_MAX_BYTES = 16 << 20  # a state.json holds a few numbers per epoch: anything near this is not one
CHECKPOINT_MODEL = re.compile(r"epoch-\d{4,}\.keras")
# --optimizer name -> (keras.optimizers class, its Keras default learning rate)
OPTIMIZERS = {"adam": ("Adam", 1e-3), "sgd": ("SGD", 0.01), "rmsprop": ("RMSprop", 1e-3), "adagrad": ("Adagrad", 1e-3)}
EVAL_BATCH_SIZE = 256
# Options that define a run; with --resume they come from the checkpoint instead.
RUN_SETTINGS = (
    "model",
    "batch_size",
    "optimizer",
    "lr",
    "augment",
    "val_fraction",
    "seed",
    "limit",
    "data",
    "out",
    "scale_lr",
    "dataset",
    "image_size",
    "color",
    "val_dir",
)
# What a checkpoint written before other data sets and pictures existed lacks: its values then.
DATA_SETTING_DEFAULTS = {"dataset": "fashion-mnist", "image_size": None, "color": None, "val_dir": None}
# --scale-lr: epochs of linear warm-up to the scaled learning rate (Goyal et al. 2017).  Fixed, so
# that a run continued with more --epochs takes the steps a longer run would have taken.
WARMUP_EPOCHS = 5


def register(subparsers):
    parser = add_parser(
        subparsers,
        "train",
        "train a model on Fashion-MNIST, MNIST, CIFAR-10 or your own pictures",
        "Loads the data, holds out a stratified validation set, trains the chosen model with a progress "
        "bar and writes the model, data.json, history.json, history.png and metrics.json into the run directory, "
        "then prints the test accuracy (for your own pictures: the validation accuracy). The data is Fashion-MNIST, "
        "or --dataset mnist / cifar10, or --data DIR: the folder of a data set's files, or a folder with one "
        "subfolder of pictures per class (DIR/cat/*.jpg, DIR/dog/*.png, ...), which are resized to --image-size "
        "in --color and read lazily, a batch at a time. The models adapt their input to the pictures and their "
        "output to the classes. A checkpoint is saved after every epoch: after an interruption, "
        "'--resume DIR' continues and ends with the weights an uninterrupted run would have.\n\n"
        "models:\n" + "\n".join(f"  {name:13} {spec.summary}" for name, spec in MODELS.items()),
        [
            "cnnlab train --model seed                  # 20 epochs, writes runs/seed/",
            "cnnlab train --model deep --out runs/deep",
            "cnnlab train --model seed --epochs 2 --limit 5000   # a quick try",
            "cnnlab train --data photos/ --image-size 64 64 --model small-resnet --out runs/photos",
            "cnnlab train --data shapes/ --image-size 32 32 --color grayscale --val-dir shapes-val/",
            "cnnlab train --dataset cifar10 --model small-resnet",
            "cnnlab train --resume runs/deep            # continue an interrupted run",
            "cnnlab train --resume runs/seed --epochs 30   # train a finished run for more epochs",
            "mpirun -n 4 cnnlab train --model deep      # 4 processes, batch 64 each",
        ],
    )
    parser.add_argument("--model", choices=sorted(MODELS), help="the architecture (default: seed)")
    parser.add_argument(
        "--epochs", type=positive_int, metavar="N", help="epochs to train (default: the model's, 20 for seed)"
    )
    parser.add_argument(
        "--batch-size", type=positive_int, metavar="N", help="samples per step (default: the model's, 32 for seed)"
    )
    parser.add_argument("--optimizer", choices=sorted(OPTIMIZERS), help="(default: adam)")
    parser.add_argument(
        "--lr", type=positive_float, help="learning rate (default: the model's, else the optimizer's Keras default)"
    )
    parser.add_argument(
        "--val-fraction",
        type=fraction,
        metavar="F",
        help="fraction of the training images held out for validation (default: 0.2)",
    )
    parser.add_argument(
        "--seed",
        type=non_negative_int,
        metavar="N",
        help="seed of the initial weights, split, shuffling and dropout (default: 42)",
    )
    parser.add_argument(
        "--augment",
        action=argparse.BooleanOptionalAction,
        help="train on randomly shifted and mirrored images (default: on for deep and small-resnet)",
    )
    parser.add_argument(
        "--limit", type=positive_int, metavar="N", help="use only the first N training images (quick runs)"
    )
    parser.add_argument(
        "--scale-lr",
        action="store_true",
        default=None,
        help="under mpirun -n K: multiply the learning rate by K, reached by a linear warm-up over the first "
        f"{WARMUP_EPOCHS} epochs (for a per-process batch kept as is)",
    )
    parser.add_argument(
        "--dataset", choices=sorted(STANDARD), help="a standard data set (default: fashion-mnist, or what --data holds)"
    )
    add_data_option(parser)
    parser.add_argument(
        "--image-size",
        type=positive_int,
        nargs=2,
        metavar=("HEIGHT", "WIDTH"),
        help="pictures: the size they are resized to (default: "
        + " ".join(map(str, run_data_module.DEFAULT_PICTURE_SIZE))
        + ")",
    )
    parser.add_argument("--color", choices=COLORS, help="pictures: the colour mode they are read in (default: rgb)")
    parser.add_argument(
        "--val-dir", metavar="DIR", help="pictures: validate on this folder of class subfolders instead of a split"
    )
    parser.add_argument("--out", metavar="DIR", help="the run directory (default: runs/MODEL)")
    parser.add_argument("--overwrite", action="store_true", help="replace a run already in --out")
    parser.add_argument(
        "--resume",
        metavar="DIR",
        help="continue the run in DIR from its last checkpoint (only --epochs may be changed)",
    )
    parser.set_defaults(run=run)


def run(args):
    job = _join_mpi_job()
    if job is not None:
        return _run_in_job(args, job)
    if args.resume:
        settings, model, epochs_done, history, seconds = _resume(args)
        _check_processes(settings, 1)
    else:
        settings = _new_settings(args)
        model, epochs_done, history, seconds = None, 0, {}, 0.0
    out_dir = settings["out"]
    detected = not args.resume and args.data is not None and args.dataset is None
    data = _prepare_data(settings, resumed=model is not None, report=detected)
    steps_per_epoch = _steps(data["n_train"], settings["batch_size"])
    if model is None:
        model = _new_model(settings, data["run_data"], steps_per_epoch)
    else:
        _stretch_cosine_schedule(model, steps_per_epoch * settings["epochs"])
    try:
        history, seconds = _train(model, settings, data, epochs_done, history, seconds)
    except KeyboardInterrupt:
        raise CommandError(f"interrupted; continue with: cnnlab train --resume {out_dir}", exit_status=130) from None
    _finish(model, settings, data, history, seconds)
    return 0


# ---- settings and checkpoints --------------------------------------------------------------------


def _new_settings(args):
    name = args.model or "seed"
    spec = MODELS[name]
    optimizer = args.optimizer or spec.optimizer
    if args.lr is not None:
        lr = args.lr
    elif optimizer == spec.optimizer:
        lr = spec.learning_rate
    else:
        lr = OPTIMIZERS[optimizer][1]
    kind, image_size, color, val_dir = _data_settings(args)
    out = args.out or os.path.join("runs", name)
    _check_run_directory(out)
    if os.path.exists(os.path.join(out, CHECKPOINT_DIR, STATE_FILE)):
        # A finished run is simply replaced; an interrupted one is kept unless --overwrite says otherwise.
        state = None if args.overwrite else _read_state(out)
        if state is not None and state["epochs_done"] < state["settings"]["epochs"]:
            raise CommandError(
                f"{out} holds an interrupted run (epoch {state['epochs_done']} of {state['settings']['epochs']}); "
                f"continue it with --resume {out}, or pass --overwrite or another --out"
            )
        print(f"replacing the run in {out}")
        _remove_run_files(out)
    os.makedirs(out, exist_ok=True)
    return {
        "model": name,
        "epochs": args.epochs or spec.epochs,
        "batch_size": args.batch_size or spec.batch_size,
        "optimizer": optimizer,
        "lr": lr,
        "val_fraction": 0.2 if args.val_fraction is None else args.val_fraction,
        "seed": 42 if args.seed is None else args.seed,
        "augment": spec.augment if args.augment is None else args.augment,
        "limit": args.limit,
        "data": os.path.abspath(args.data) if args.data else None,
        "out": out,
        "scale_lr": bool(args.scale_lr),
        "dataset": kind,
        "image_size": image_size,
        "color": color,
        "val_dir": val_dir,
    }


def _data_settings(args):
    """``(dataset, image_size, color, val_dir)`` from the options: a standard data set's, or a picture folder's."""
    kind = args.dataset
    if kind is None and args.data:
        kind = run_data_module.detect(args.data)
    kind = kind or "fashion-mnist"
    picture_options = (("--image-size", args.image_size), ("--color", args.color), ("--val-dir", args.val_dir))
    if kind != PICTURES:
        given = [option for option, value in picture_options if value is not None]
        if given:
            spec = STANDARD[kind]
            raise CommandError(
                f"{given[0]} is for a folder of pictures (--data DIR with class subfolders); "
                f"{spec.title} is {spec.image_size[0]}x{spec.image_size[1]} {spec.color}"
            )
        return kind, None, None, None
    if args.limit is not None:
        raise CommandError("--limit is for the standard data sets; make a smaller folder of pictures instead")
    if args.val_dir is not None:
        if args.val_fraction is not None:
            raise CommandError(
                "--val-dir and --val-fraction exclude each other: the validation pictures are the folder's"
            )
        if not os.path.isdir(args.val_dir):
            raise CommandError(f"--val-dir {args.val_dir}: no such folder")
    image_size = list(args.image_size or run_data_module.DEFAULT_PICTURE_SIZE)
    return kind, image_size, args.color or "rgb", os.path.abspath(args.val_dir) if args.val_dir else None


def _resume(args):
    given = [f"--{name.replace('_', '-')}" for name in RUN_SETTINGS if getattr(args, name) is not None]
    if given or args.overwrite:
        raise CommandError(
            "--resume continues a run with its own settings; only --epochs may be changed "
            f"(got {' '.join(given) or '--overwrite'})"
        )
    _check_run_directory(args.resume)
    state = _read_state(args.resume)
    _remove_leftovers(args.resume)
    settings = {**DATA_SETTING_DEFAULTS, **state["settings"], "out": args.resume}
    epochs_done = state["epochs_done"]
    if args.epochs is not None:
        if args.epochs < epochs_done:
            raise CommandError(
                f"--epochs {args.epochs} is fewer than the {epochs_done} epochs this run has already trained"
            )
        settings["epochs"] = args.epochs
    model, _ = run_data_module.load_run_model(os.path.join(args.resume, CHECKPOINT_DIR, state["model_file"]))
    return settings, model, epochs_done, state["history"], state["seconds"]


def _read_state(run_dir):
    """The checkpoint state of the run in ``run_dir`` (a dict), or a CommandError saying what is wrong."""
    state_path = os.path.join(run_dir, CHECKPOINT_DIR, STATE_FILE)
    try:
        with open(state_path, "rb") as f:
            text = f.read(STATE_MAX_BYTES + 1)
    except FileNotFoundError:
        raise CommandError(f"{run_dir}: no checkpoint to resume from ({state_path} does not exist)") from None
    except OSError as err:
        raise CommandError(f"{state_path}: unreadable checkpoint state ({os_error_reason(err)})") from None
    if len(text) > STATE_MAX_BYTES:
        raise CommandError(f"{state_path}: not a cnnlab train checkpoint (larger than {STATE_MAX_BYTES} bytes)")
    try:
        state = json.loads(text)
    except ValueError as err:  # not UTF-8, not JSON
        raise CommandError(f"{state_path}: unreadable checkpoint state ({err})") from None
    except RecursionError:
        raise CommandError(f"{state_path}: unreadable checkpoint state (JSON nested too deeply)") from None
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT or state.get("version") != STATE_VERSION:
        raise CommandError(f"{state_path}: not a cnnlab train checkpoint of version {STATE_VERSION}")
    problem = _state_problem(state)
    if problem:
        raise CommandError(f"{state_path}: damaged checkpoint state: {problem}")
    return state


def _is_whole(value, least):
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


# settings key -> (test, what it must be)
_SETTING_RULES = {
    "model": (lambda v: isinstance(v, str) and v in MODELS, f"one of {', '.join(MODELS)}"),
    "epochs": (lambda v: _is_whole(v, 1), "a whole number >= 1"),
    "batch_size": (lambda v: _is_whole(v, 1), "a whole number >= 1"),
    "optimizer": (lambda v: isinstance(v, str) and v in OPTIMIZERS, f"one of {', '.join(OPTIMIZERS)}"),
    "lr": (lambda v: _is_number(v) and v > 0, "a finite number > 0"),
    "val_fraction": (lambda v: _is_number(v) and 0 < v < 1, "a number strictly between 0 and 1"),
    "seed": (lambda v: _is_whole(v, 0), "a whole number >= 0"),
    "augment": (lambda v: isinstance(v, bool), "true or false"),
    "limit": (lambda v: v is None or _is_whole(v, 1), "null or a whole number >= 1"),
    "data": (lambda v: v is None or isinstance(v, str), "null or a path"),
    "out": (lambda v: isinstance(v, str), "a path"),
}
# Settings that checkpoints of earlier runs lack (their defaults: False, 1, DATA_SETTING_DEFAULTS).
_OPTIONAL_SETTING_RULES = {
    "scale_lr": (lambda v: isinstance(v, bool), "true or false"),
    "processes": (lambda v: _is_whole(v, 1), "a whole number >= 1"),
    "dataset": (lambda v: v in (*STANDARD, PICTURES), f"one of {', '.join((*STANDARD, PICTURES))}"),
    "image_size": (
        lambda v: v is None or (isinstance(v, list) and len(v) == 2 and all(_is_whole(n, 1) for n in v)),
        "null or [height, width]",
    ),
    "color": (lambda v: v is None or v in COLORS, f"null or one of {', '.join(COLORS)}"),
    "val_dir": (lambda v: v is None or isinstance(v, str), "null or a path"),
}


def _state_problem(state):
    """What is wrong with a checkpoint state of the right format and version (a string), or None."""
    settings = state.get("settings")
    if not isinstance(settings, dict):
        return "'settings' is missing or not an object"
    for key, (test, expected) in _SETTING_RULES.items():
        if key not in settings:
            return f"'settings' lacks {key!r}"
        if not test(settings[key]):
            return f"settings[{key!r}] must be {expected}; found {json.dumps(settings[key])[:80]}"
    for key, (test, expected) in _OPTIONAL_SETTING_RULES.items():
        if key in settings and not test(settings[key]):
            return f"settings[{key!r}] must be {expected}; found {json.dumps(settings[key])[:80]}"
    epochs_done = state.get("epochs_done")
    if not _is_whole(epochs_done, 0) or epochs_done > settings["epochs"]:
        return f"'epochs_done' must be a whole number from 0 to settings['epochs']; found {json.dumps(epochs_done)}"
    history = state.get("history")
    if not isinstance(history, dict) or not all(
        isinstance(values, list) and len(values) == epochs_done and all(map(_is_real, values))
        for values in history.values()
    ):
        return f"'history' must map each metric to a list of {epochs_done} numbers (one per epoch done)"
    if not _is_number(state.get("seconds")) or state["seconds"] < 0:
        return "'seconds' must be a number >= 0"
    model_file = state.get("model_file")
    if not isinstance(model_file, str) or not CHECKPOINT_MODEL.fullmatch(model_file):
        return f"'model_file' must name a file epoch-NNNN.keras beside it; found {json.dumps(model_file)[:80]}"
    return None


def _is_real(value):
    """A number of a history: NaN and infinities included (a metric can be either)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_run_directory(run_dir):
    """Fail before any training unless everything ``cnnlab train`` writes into ``run_dir`` can be written."""
    check_output_directory(run_dir)
    checkpoint = os.path.join(run_dir, CHECKPOINT_DIR)
    if os.path.lexists(checkpoint):
        check_output_directory(checkpoint)
    for path in [os.path.join(run_dir, name) for name in RUN_FILES] + [os.path.join(checkpoint, STATE_FILE)]:
        if os.path.isdir(path):
            raise CommandError(f"{path}: is a directory, where cnnlab train writes a file")


def _remove_leftovers(run_dir):
    """Delete the temporary files that a run killed while saving left in ``run_dir`` (see ``atomic_write``)."""
    remove_leftovers(run_dir, RUN_FILES.__contains__)
    remove_leftovers(os.path.join(run_dir, CHECKPOINT_DIR), _is_checkpoint_file)


def _remove_run_files(run_dir):
    """Delete what ``cnnlab train`` wrote into ``run_dir``, so no file of the old run is mistaken for the new one's."""
    _remove_leftovers(run_dir)
    checkpoint = os.path.join(run_dir, CHECKPOINT_DIR)
    stale = [os.path.join(run_dir, name) for name in RUN_FILES]
    stale += [os.path.join(checkpoint, name) for name in os.listdir(checkpoint) if _is_checkpoint_file(name)]
    for path in stale:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)


def _is_checkpoint_model(name):
    return CHECKPOINT_MODEL.fullmatch(name) is not None


def _is_checkpoint_file(name):
    return name == STATE_FILE or _is_checkpoint_model(name)


def save_checkpoint(model, settings, epochs_done, history, seconds):
    """Save the model (weights + optimizer state), then the state that points to it.

    ``state.json`` is replaced last and atomically, so it always names a complete
    model file: an interruption at any moment leaves the previous checkpoint usable.
    """
    directory = os.path.join(settings["out"], CHECKPOINT_DIR)
    os.makedirs(directory, exist_ok=True)
    model_file = f"epoch-{epochs_done:04d}.keras"
    model.save(os.path.join(directory, model_file))
    state = {
        "format": STATE_FORMAT,
        "version": STATE_VERSION,
        "settings": settings,
        "epochs_done": epochs_done,
        "history": history,
        "seconds": seconds,
        "model_file": model_file,
    }
    with atomic_write(os.path.join(directory, STATE_FILE), "w") as f:
        json.dump(state, f, indent=1)
    for name in os.listdir(directory):
        if _is_checkpoint_model(name) and name != model_file:
            os.remove(os.path.join(directory, name))


# ---- data, model, training -----------------------------------------------------------------------


def _prepare_data(settings, resumed, report=False, write=True):
    """The run's data (a dict), and its data.json: written for a new run, compared with the folder on --resume.

    With ``report``, says which kind of folder ``--data`` was found to be (once it is read).  Without
    ``write`` (the other processes of an MPI job), data.json is neither written nor compared.
    """
    describe = run_data_module.describe(settings["dataset"], settings["data"])
    if settings["dataset"] == PICTURES:
        if report:
            print(describe, flush=True)
        data = _prepare_pictures(settings)
    else:
        data = _prepare_arrays(settings)
        if report:
            print(describe, flush=True)
    recorded_path = os.path.join(settings["out"], DATA_FILE)
    if not write:
        return data
    if resumed and os.path.isfile(recorded_path):
        recorded = run_data_module.read_run_data(os.path.join(settings["out"], MODEL_FILE))
        if recorded != data["run_data"]:
            raise CommandError(
                f"{settings['data']}: its pictures changed since the run started ({recorded_path} records other "
                "classes, training or validation pictures); train a new run"
            )
    else:
        run_data_module.write_run_data(settings["out"], data["run_data"])
    return data


def _prepare_arrays(settings):
    kind = settings["dataset"]
    (x_train, y_train), (x_test, y_test) = run_data_module.load_standard(kind, settings["data"])
    if settings["limit"]:
        x_train, y_train = x_train[: settings["limit"]], y_train[: settings["limit"]]
    try:
        (x_train, y_train), (x_val, y_val) = train_val_split(
            x_train, y_train, settings["val_fraction"], seed=settings["seed"]
        )
    except ValueError as err:  # e.g. --limit too small for the validation fraction
        raise CommandError(str(err)) from None
    return {
        "kind": "arrays",
        "run_data": run_data_module.standard_run_data(kind, settings["data"]),
        "n_train": len(x_train),
        "n_val": len(x_val),
        "x_train": x_train,  # uint8; converted to float32 one epoch at a time
        "y_train": y_train,
        "x_val": model_input(x_val),
        "y_val": y_val,
        "x_test": model_input(x_test),
        "y_test": y_test,
    }


def _prepare_pictures(settings):
    """The folder's pictures, checked once, split by class (or the --val-dir folder's), as file lists."""
    folder = settings["data"]
    reading = RunData(PICTURES, (), tuple(settings["image_size"]), settings["color"], folder)
    paths, labels, class_names = run_data_module.scan_pictures(folder, reading)
    if len(class_names) < 2:
        raise CommandError(f"{folder}: a classifier needs at least 2 class folders; found {len(class_names)}")
    for name, count in zip(class_names, np.bincount(labels, minlength=len(class_names))):
        if count == 0:
            warnings.warn(f"{os.path.join(folder, name)}: no pictures; the model will never predict {name!r}")
    paths = np.array(paths, dtype=object)
    if settings["val_dir"]:
        val_paths, local, val_names = run_data_module.scan_pictures(settings["val_dir"], reading, what="validation")
        train_paths, train_labels = paths, labels
        val_paths = np.array(val_paths, dtype=object)
        val_labels = run_data_module.labels_for(val_names, class_names, settings["val_dir"])[local]
    else:
        try:
            (train_paths, train_labels), (val_paths, val_labels) = train_val_split(
                paths, labels, settings["val_fraction"], seed=settings["seed"]
            )
        except ValueError as err:  # too few pictures for the fraction
            raise CommandError(f"{folder}: {err}") from None
    validation = tuple((os.path.relpath(path, folder), int(label)) for path, label in zip(val_paths, val_labels))
    digest = run_data_module.training_digest(train_paths, train_labels, folder)
    run_data = RunData(
        PICTURES, tuple(class_names), tuple(settings["image_size"]), settings["color"], folder, validation, digest
    )
    return {
        "kind": PICTURES,
        "run_data": run_data,
        "n_train": len(train_paths),
        "n_val": len(val_paths),
        "train_paths": list(train_paths),
        "train_labels": train_labels,
        "val": run_data_module.picture_dataset(list(val_paths), val_labels, run_data, EVAL_BATCH_SIZE),
    }


def _steps(n, batch_size):
    return -(-n // batch_size)


def _new_model(settings, run_data, steps_per_epoch, processes=1):
    from .. import keras, random

    spec = MODELS[settings["model"]]
    random.set_seed(settings["seed"])  # the initial weights
    model = spec.build(run_data.input_shape, len(run_data.class_names))
    learning_rate = settings["lr"]
    if _scales_lr(settings, processes):
        # The warm-up and the decay are set step by step by callbacks (_learning_rate_callbacks).
        learning_rate *= processes
    elif spec.cosine_decay:
        learning_rate = keras.optimizers.schedules.CosineDecay(
            learning_rate, decay_steps=steps_per_epoch * settings["epochs"]
        )
    elif spec.lr_decay_per_epoch != 1.0:
        learning_rate = keras.optimizers.schedules.ExponentialDecay(
            learning_rate, decay_steps=steps_per_epoch, decay_rate=spec.lr_decay_per_epoch, staircase=True
        )
    options = spec.optimizer_options if settings["optimizer"] == spec.optimizer else {}
    optimizer = getattr(keras.optimizers, OPTIMIZERS[settings["optimizer"]][0])(learning_rate=learning_rate, **options)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _stretch_cosine_schedule(model, total_steps):
    """A resumed run given another --epochs: its cosine learning-rate schedule, if it has one, now ends
    with the new last step (the rate reaches 0 at the end of the run, not at the end of the old one)."""
    from .. import keras

    schedule = model.optimizer._learning_rate
    if isinstance(schedule, keras.optimizers.schedules.CosineDecay):
        schedule.decay_steps = total_steps


def _epoch_generator(seed, epoch):
    """The generator every random choice of epoch ``epoch`` comes from (so a resumed run repeats them)."""
    return np.random.default_rng([seed, epoch])


def _train(model, settings, data, epochs_done, history, seconds, job=None):
    """Train from epoch ``epochs_done`` on; in an MPI ``job``, this process's part of it (rank 0 prints and saves)."""
    from .. import random

    max_shift = MODELS[settings["model"]].max_shift
    epochs, batch_size = settings["epochs"], settings["batch_size"]
    root = job is None or job.rank == 0
    if epochs_done == 0 and root:
        augmented = "shifted and mirrored" if max_shift else "mirrored"
        processes = "" if job is None else f" on {job.size} processes (a global batch of {job.size * batch_size})"
        scaled = job is not None and _scales_lr(settings, job.size)
        lr = f"{settings['lr'] * job.size:g} after a {WARMUP_EPOCHS}-epoch warm-up" if scaled else settings["lr"]
        if MODELS[settings["model"]].cosine_decay:
            lr = f"{lr} on a cosine to 0"
        what = "pictures" if data["kind"] == PICTURES else "images"
        print(
            f"training {settings['model']} on {data['n_train']} {what}, validating on {data['n_val']}: "
            f"{epochs} epochs, batch {batch_size}{processes}, {settings['optimizer']} lr {lr}"
            + (f", {augmented} {what}" if settings["augment"] else ""),
            flush=True,
        )
    elif epochs_done < epochs and root:
        print(f"resuming {settings['out']} after epoch {epochs_done} of {epochs}", flush=True)
    for epoch in range(epochs_done, epochs):
        started = time.perf_counter()
        rng = _epoch_generator(settings["seed"], epoch)
        dropout_seed = int(rng.integers(2**63))
        if job is not None and job.rank > 0:  # each process its own masks, reproducible for a seed and a count
            dropout_seed = int(np.random.default_rng([settings["seed"], epoch, job.rank]).integers(2**63))
        random.set_seed(dropout_seed)  # this epoch's Dropout masks
        order = rng.permutation(data["n_train"])
        if data["kind"] == PICTURES:
            training = _picture_epoch(data, order, rng, settings, max_shift)
            logs = _fit_epoch(model, training, data["val"], epoch, epochs, batch_size, _steps(len(order), batch_size))
        else:
            x_train, y_train = data["x_train"], data["y_train"]
            images = augment(x_train[order], rng, max_shift=max_shift) if settings["augment"] else x_train[order]
            if job is None:
                training, validation = (model_input(images), y_train[order]), (data["x_val"], data["y_val"])
                steps = _steps(len(order), batch_size)
                logs = _fit_epoch(model, training, validation, epoch, epochs, batch_size, steps)
            else:
                logs = _fit_epoch_in_job(model, images, y_train[order], data, epoch, settings, job)
        for key, values in logs.items():
            history.setdefault(key, []).extend(float(v) for v in values)
        seconds += time.perf_counter() - started
        if root:
            print(
                f"epoch {epoch + 1}/{epochs}  "
                + "  ".join(f"{key} {values[-1]:.4f}" for key, values in history.items())
                + f"  ({time.perf_counter() - started:.0f} s)",
                flush=True,
            )
        if model.stop_training:  # the non-finite-loss guard fired
            raise CommandError(
                f"training stopped in epoch {epoch + 1}: the loss became NaN or infinite; try a smaller --lr"
            )
        if root:
            save_checkpoint(model, settings, epoch + 1, history, seconds)
    return history, seconds


def _picture_epoch(data, order, rng, settings, max_shift):
    """The epoch's pictures in ``order``, decoded a batch at a time; each augmented from its own generator."""
    transform = None
    if settings["augment"]:
        epoch_seed = int(rng.integers(2**63))

        def transform(position, picture):
            return augment(picture[np.newaxis], np.random.default_rng([epoch_seed, position]), max_shift)[0]

    return run_data_module.picture_dataset(
        data["train_paths"], data["train_labels"], data["run_data"], settings["batch_size"], order, transform
    )


def _fit_epoch(model, training, validation, epoch, epochs, batch_size, steps):
    """One epoch of ``model.fit`` on data already in this epoch's order: arrays ``(x, y)`` or a dataset of batches.

    Returns its History dict.
    """
    if isinstance(training, tuple):
        x, y = training
        arguments = {"x": x, "y": y, "batch_size": batch_size, "validation_batch_size": EVAL_BATCH_SIZE}
    else:
        arguments = {"x": training}
    # A diverging run stops before its first non-finite step (not Keras's default, which
    # carries on with NaN weights) and _train reports it in one line, instead of the
    # guard's warning and NumPy's overflow warnings.
    model.stop_on_nonfinite_loss = True
    with warnings.catch_warnings(), np.errstate(over="ignore", invalid="ignore"):
        warnings.filterwarnings("ignore", message="fit: the loss became", category=RuntimeWarning)
        return model.fit(
            **arguments,
            epochs=epoch + 1,
            initial_epoch=epoch,
            shuffle=False,
            validation_data=validation,
            verbose=0,
            callbacks=[_progress_bar(epoch, epochs, steps)],
        ).history


# ---- data-parallel training under mpirun -------------------------------------------------------


def _join_mpi_job():
    """The MPI job of several processes this command was started in (``mpirun -n K``), or None."""
    from ..runtime import mpi

    if not mpi.launched_by_mpi():
        return None
    try:
        job = mpi.init()
    except mpi.MPINotFoundError as err:
        raise CommandError(f"started by an MPI launcher, but {err}") from None
    return job if job.size > 1 else None


def _run_in_job(args, job):
    """``run`` in process ``job.rank`` of ``job.size``: rank 0 reads and writes the files, all of them train.

    A user's mistake in any process is printed by that process and stops the whole job
    (``MPI_Abort``), since the others would otherwise wait for it forever.
    """
    from .. import distributed
    from ..runtime import mpi
    from .common import USER_ERRORS

    try:
        model = None
        if job.rank == 0:
            if args.resume:
                settings, model, epochs_done, history, seconds = _resume(args)
                _check_processes(settings, job.size)
            else:
                settings = dict(_new_settings(args), processes=job.size)
                epochs_done, history, seconds = 0, {}, 0.0
            run_state = {"settings": settings, "epochs_done": epochs_done, "history": history, "seconds": seconds}
        run_state = mpi.broadcast_json(run_state if job.rank == 0 else None)
        settings, epochs_done = run_state["settings"], run_state["epochs_done"]
        history, seconds = run_state["history"], run_state["seconds"]
        if settings["dataset"] == PICTURES:
            raise CommandError(
                "under mpirun, cnnlab train trains on the standard data sets; train on a folder of pictures in one "
                "process"
            )
        data = _prepare_data(settings, resumed=model is not None, write=job.rank == 0)
        global_steps = _steps(data["n_train"], job.size * settings["batch_size"])
        if model is None:  # a new run, or another rank than the one that read the checkpoint
            model = _new_model(settings, data["run_data"], global_steps, job.size)
        else:
            _stretch_cosine_schedule(model, global_steps * settings["epochs"])
        # Every process starts from rank 0's weights and optimizer state (a checkpoint's, when resuming).
        model.optimizer.build(model.trainable_weights)
        distributed.broadcast_variables(model.variables, root_rank=0)
        distributed.broadcast_variables(model.optimizer.variables, root_rank=0)
        model.optimizer = distributed.DistributedOptimizer(model.optimizer)
        try:
            history, seconds = _train(model, settings, data, epochs_done, history, seconds, job)
        except KeyboardInterrupt:
            raise CommandError(
                f"interrupted; continue with: mpirun -n {job.size} cnnlab train --resume {settings['out']}",
                exit_status=130,
            ) from None
        if job.rank == 0:
            _finish(model, settings, data, history, seconds)
    except (*USER_ERRORS, KeyboardInterrupt) as err:
        message = "interrupted" if isinstance(err, KeyboardInterrupt) else str(err)
        print(f"cnnlab train: error: {message} (in process rank {job.rank} of {job.size})", file=sys.stderr)
        mpi.abort(130 if isinstance(err, KeyboardInterrupt) else getattr(err, "exit_status", 1))
    return 0


def _check_processes(settings, processes):
    trained_by = settings.get("processes", 1)
    if trained_by != processes:
        launch = f"mpirun -n {trained_by} " if trained_by > 1 else ""
        raise CommandError(
            f"{settings['out']} was trained by {trained_by} process(es), each with its part of every global batch; "
            f"continue it the same way: {launch}cnnlab train --resume {settings['out']}"
        )


def _scales_lr(settings, processes):
    return settings.get("scale_lr", False) and processes > 1


def _fit_epoch_in_job(model, images, labels, data, epoch, settings, job):
    """This process's part of one epoch (``images`` uint8, in the epoch's order); returns the History dict
    averaged over the processes, each weighted by its samples (training) and its validation images."""
    from .. import distributed
    from ..runtime import mpi

    batch_size, epochs = settings["batch_size"], settings["epochs"]
    part = distributed.shard(len(images), batch_size)
    callbacks = [part.callback(), *_learning_rate_callbacks(settings, job.size)]
    if job.rank == 0:
        callbacks.append(_progress_bar(epoch, epochs, len(part.batch_sizes)))
    with warnings.catch_warnings(), np.errstate(over="ignore", invalid="ignore"):
        warnings.filterwarnings("ignore", message="fit: the loss became", category=RuntimeWarning)
        logs = model.fit(
            model_input(images[part.indices]),
            labels[part.indices],
            batch_size=batch_size,
            epochs=epoch + 1,
            initial_epoch=epoch,
            shuffle=False,
            verbose=0,
            callbacks=callbacks,
        ).history
    logs.pop("lr", None)  # the warm-up callbacks' record of the rate
    # Validation: each process its contiguous part of the validation images.
    val_part = np.array_split(np.arange(len(data["y_val"])), job.size)[job.rank]
    val_logs = {}
    if len(val_part):
        val_logs = model.evaluate(
            data["x_val"][val_part], data["y_val"][val_part], batch_size=EVAL_BATCH_SIZE, verbose=0, return_dict=True
        )
    train_keys, val_keys = list(logs), [f"val_{key}" for key in logs]
    totals = mpi.allreduce(
        np.array(
            [logs[key][-1] * len(part.indices) for key in train_keys]
            + [len(part.indices)]
            + [val_logs.get(key[len("val_") :], 0.0) * len(val_part) for key in val_keys]
            + [len(val_part)],
            dtype=np.float64,
        ),
        "sum",
    )
    count, val_count = totals[len(train_keys)], totals[-1]
    averaged = {key: [totals[i] / count] for i, key in enumerate(train_keys)}
    averaged.update({key: [totals[len(train_keys) + 1 + i] / val_count] for i, key in enumerate(val_keys)})
    return averaged


def _learning_rate_callbacks(settings, processes):
    """--scale-lr: Horovod's warm-up to K times the rate over the first epochs, then the model's decay, if any."""
    from .. import distributed

    if not _scales_lr(settings, processes):
        return []
    scaled = settings["lr"] * processes
    callbacks = [distributed.callbacks.LearningRateWarmupCallback(initial_lr=scaled, warmup_epochs=WARMUP_EPOCHS)]
    spec = MODELS[settings["model"]]
    decay = spec.lr_decay_per_epoch
    if spec.cosine_decay:
        decay_epochs = max(settings["epochs"] - WARMUP_EPOCHS, 1)

        def cosine(epoch):  # epoch counted in fractions: from 1 after the warm-up to 0 at the run's end
            return 0.5 * (1.0 + math.cos(math.pi * min((epoch - WARMUP_EPOCHS) / decay_epochs, 1.0)))

        callbacks.append(
            distributed.callbacks.LearningRateScheduleCallback(
                initial_lr=scaled,
                multiplier=cosine,
                start_epoch=WARMUP_EPOCHS,
                staircase=False,
            )
        )
    elif decay != 1.0:
        callbacks.append(
            distributed.callbacks.LearningRateScheduleCallback(
                initial_lr=scaled, multiplier=decay, start_epoch=WARMUP_EPOCHS
            )
        )
    return callbacks


def _progress_bar(epoch, epochs, steps):
    """A Keras callback drawing a tqdm bar (step, loss, accuracy, ETA) on stderr, when stderr is a terminal."""
    from tqdm import tqdm

    from .. import keras

    class TqdmProgress(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch_index, logs=None):
            self.bar = tqdm(total=steps, desc=f"epoch {epoch + 1}/{epochs}", unit="step", disable=None, leave=False)

        def on_train_batch_end(self, batch, logs=None):
            self.bar.update(1)
            if logs:
                self.bar.set_postfix({key: f"{value:.4f}" for key, value in logs.items()}, refresh=False)

        def on_epoch_end(self, epoch_index, logs=None):
            self.bar.close()

    return TqdmProgress()


def _finish(model, settings, data, history, seconds):
    out = settings["out"]
    from .plots import plot_history

    model.save(os.path.join(out, MODEL_FILE))
    with atomic_write(os.path.join(out, "history.json"), "w") as f:
        json.dump(history, f, indent=1)
    plot_history(history, os.path.join(out, "history.png"), title=f"{settings['model']}: training history")
    metrics = {"model": settings["model"], "epochs": settings["epochs"], "data": settings["dataset"]}
    if data["kind"] == PICTURES:
        final = model.evaluate(data["val"], verbose=0, return_dict=True)
        which, count = "validation", data["n_val"]
    else:
        final = model.evaluate(data["x_test"], data["y_test"], batch_size=EVAL_BATCH_SIZE, verbose=0, return_dict=True)
        which, count = "test", len(data["y_test"])
    # float32 metrics, rounded so that 0.9045 is not written as 0.9045000076293945
    metrics[f"{which}_loss"] = round(float(final["loss"]), 6)
    metrics[f"{which}_accuracy"] = round(float(final["accuracy"]), 6)
    if which == "test":
        metrics["val_accuracy"] = round(history["val_accuracy"][-1], 6) if history.get("val_accuracy") else None
    metrics["train_seconds"] = round(seconds, 1)
    metrics["classes"] = list(data["run_data"].class_names)
    with atomic_write(os.path.join(out, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=1)
    what = "pictures" if which == "validation" else "images"
    print(
        f"{which} accuracy: {metrics[f'{which}_accuracy']:.4f}  "
        f"({which} loss {metrics[f'{which}_loss']:.4f}, {count} {what})"
    )
    print(f"wrote {out}/: {MODEL_FILE}, {DATA_FILE}, history.json, history.png, metrics.json")
