"""Saving and loading models: one file, JSON for the architecture, NumPy arrays for the numbers.

A model file (``model.save('clothes.keras')``) is a zip archive, like Keras's
``.keras`` files, holding:

* ``metadata.json``: ``{"format": "cnnlab-keras", "format_version": 1, "kind": "model"
  or "weights", "cnnlab_version", "weights": [{"name", "shape", "dtype"}, ...],
  "optimizer_state": [...keys...], "user_metadata": {...}}``;
* ``config.json`` (whole models only): the architecture (layer class names and
  ``get_config()``) and the compile settings (optimizer config, loss, metrics);
* ``weights.npz``: the weights in ``model.weights`` order (``weight_0000``, ...) and
  the optimizer state (``optimizer_0000``, ...: iterations, learning rate, slots).

Nothing is unpickled when reading (JSON, and ``np.load(allow_pickle=False)``);
files are written to a temporary file in the same directory and renamed over the
target (``cnnlab.datasets._files.atomic_write``, which honours the umask and removes
what a killed writer left), so a crash never leaves a half-written model.  A file
that is truncated, altered (a weight of the wrong shape, JSON that does not describe
a model) or of an unknown format version raises ``ModelFileError`` naming the file
and the problem.

Resuming training: the optimizer state (including ``iterations``) is saved with
the model and restored by ``load_model``, and ``user_metadata`` (any JSON-ready
dict, e.g. ``{"epoch": 7}``) travels in the same atomic write, so one file is a
consistent checkpoint:

    model.save(path, user_metadata={"epoch": epoch + 1})
    ...
    model = keras.models.load_model(path)
    start = keras.saving.load_metadata(path)["user_metadata"]["epoch"]
    model.fit(x, y, epochs=20, initial_epoch=start)
"""

import io
import json
import os
import warnings
import zipfile
import zlib

import numpy as np

from ..datasets._files import atomic_write
from .serialization import (  # noqa: F401 - keras.saving's names for the one serializer
    CustomObjectScope,
    custom_object_scope,
    deserialize_keras_object,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
    serialize_keras_object,
)

FORMAT = "cnnlab-keras"
FORMAT_VERSION = 1


class ModelFileError(ValueError):
    """A model or weights file that cannot be read: truncated, altered, or of an unknown format."""


# ---- layer (de)serialization --------------------------------------------------------------------


def serialize_layer(layer):
    """A layer or model in Keras 3's schema (``serialization.serialize_keras_object``):
    ``{"module", "class_name", "config", "registered_name", "build_config"}``.

    The build config (as in Keras 3) lets a layer or model whose config does not
    say its input shape (a subclassed model) be built, so its weights exist to be
    loaded.  The compile settings are left out: a model file keeps its own.
    """

    serialized = serialize_keras_object(layer)
    serialized.pop("compile_config", None)
    return serialized


def deserialize_layer(config, custom_objects=None):
    """The layer (or model) ``serialize_layer`` described (also cnnlab's older ``{"class_name", "config"}``
    dicts); ``custom_objects`` maps names of your own classes."""

    if (
        not isinstance(config, dict)
        or not isinstance(config.get("class_name"), str)
        or not isinstance(config.get("config"), dict)
    ):
        raise ValueError(
            f"a layer must be described as {{'class_name': str, 'config': dict}}; found {str(config)[:200]}."
        )
    return deserialize_keras_object({k: v for k, v in config.items() if k != "compile_config"}, custom_objects)


# ---- writing --------------------------------------------------------------------------------------


def _atomic_write(filepath, write, overwrite, op):
    filepath = os.fspath(filepath)
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"{op}: '{filepath}' already exists; pass overwrite=True to replace it.")
    directory = os.path.dirname(os.path.abspath(filepath))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"{op}: the directory '{directory}' does not exist.")
    with atomic_write(filepath) as file:
        write(file)


def _weight_names(model):
    """'layer/weight' names for ``model.weights`` (sub-layers as 'outer/inner/weight')."""
    names = {}

    def visit(layer, prefix):
        for variable in layer._trainable_variables + layer._non_trainable_variables:
            names.setdefault(id(variable), f"{prefix}{layer.name}/{variable.name}")
        for inner in layer._layers:
            visit(inner, f"{prefix}{layer.name}/")

    for variable in model._trainable_variables + model._non_trainable_variables:
        names.setdefault(id(variable), variable.name)
    for layer in model._layers:
        visit(layer, "")
    return [names.get(id(w), w.name) for w in model.weights]


def _write_archive(file, metadata, arrays, config=None):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    with zipfile.ZipFile(file, "w") as archive:
        archive.writestr("metadata.json", json.dumps(metadata, indent=1), compress_type=zipfile.ZIP_DEFLATED)
        if config is not None:
            archive.writestr("config.json", json.dumps(config, indent=1), compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr("weights.npz", buffer.getvalue(), compress_type=zipfile.ZIP_STORED)


def _base_metadata(model, kind, user_metadata, op):
    from .. import __cnnlab_version__

    weights = model.weights
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "cnnlab_version": __cnnlab_version__,
        "weights": [
            {"name": name, "shape": list(w.shape), "dtype": w.dtype.name}
            for name, w in zip(_weight_names(model), weights)
        ],
        "user_metadata": user_metadata if user_metadata is not None else {},
    }
    try:
        json.dumps(metadata["user_metadata"])
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"{op}: user_metadata must be JSON-serializable (dicts, lists, numbers, strings): {error}"
        ) from None
    arrays = {f"weight_{i:04d}": w.numpy() for i, w in enumerate(weights)}
    return metadata, arrays


def _compile_config(model):
    """The compile settings as JSON, or None (with a warning) when they cannot be described."""
    from . import losses, metrics, optimizers

    if not model.compiled:
        return None
    try:
        loss = model.loss if isinstance(model.loss, str) or model.loss is None else losses.serialize(model._loss_fn)
        metric_list = [m if isinstance(m, str) else metrics.serialize(m) for m in model._metric_identifiers]
        return {"optimizer": optimizers.serialize(model.optimizer), "loss": loss, "metrics": metric_list}
    except ValueError as error:
        warnings.warn(
            f"save: the compile settings cannot be saved ({error}); load_model will return an uncompiled model "
            "(compile it again before training).",
            stacklevel=4,
        )
        return None


def save_model(model, filepath, overwrite=True, include_optimizer=True, user_metadata=None):
    """Write ``model`` (architecture, weights, compile settings, optimizer state) to ONE file, atomically.

    Args:
        model: a built model.
        filepath: the file to write (``.keras`` is the customary ending).
        overwrite: replace an existing file (default True).
        include_optimizer: also save the optimizer's state, so training continues
            exactly where it stopped.
        user_metadata: a JSON-ready dict stored alongside (e.g. ``{"epoch": 7}``);
            read it back with ``load_metadata``.
    """
    from .models import Model

    if not isinstance(model, Model):
        raise TypeError(f"save_model: expected a keras Model; received {type(model).__name__}.")
    if not model.built:
        raise ValueError(
            "save_model: the model is not built yet; call it on data, fit it, or give it an input shape first."
        )
    try:
        architecture = serialize_layer(model)
        json.dumps(architecture)
    except (NotImplementedError, TypeError, ValueError) as error:
        raise ValueError(
            f"save_model: the architecture of {type(model).__name__} cannot be described as JSON ({error}). "
            "Implement get_config() for your subclass, or save only the weights with model.save_weights()."
        ) from None
    metadata, arrays = _base_metadata(model, "model", user_metadata, "save_model")
    config = {**architecture, "compile_config": _compile_config(model)}
    metadata["optimizer_state"] = []
    if include_optimizer and config["compile_config"] is not None:
        for index, (key, value) in enumerate(model.optimizer.get_state().items()):
            metadata["optimizer_state"].append(key)
            arrays[f"optimizer_{index:04d}"] = value
    _atomic_write(filepath, lambda file: _write_archive(file, metadata, arrays, config), overwrite, "save_model")


def save_weights(model, filepath, overwrite=True):
    """Write the weights of ``model`` (in ``model.weights`` order) to one file, atomically."""
    if not model.built:
        raise ValueError("save_weights: the model is not built yet, so it has no weights to save.")
    metadata, arrays = _base_metadata(model, "weights", None, "save_weights")
    _atomic_write(filepath, lambda file: _write_archive(file, metadata, arrays), overwrite, "save_weights")


# ---- reading --------------------------------------------------------------------------------------


class _Archive:
    """A model file opened for reading; every failure becomes a ModelFileError naming the file."""

    def __init__(self, filepath, op):
        self.path = os.fspath(filepath)
        self.op = op
        if not os.path.exists(self.path):
            raise FileNotFoundError(f"{op}: no such file: '{self.path}'.")
        try:
            with zipfile.ZipFile(self.path) as archive:
                self._members = {name: archive.read(name) for name in archive.namelist()}
        except (zipfile.BadZipFile, EOFError, zlib.error, OSError) as error:
            self.fail(f"it is not a complete cnnlab model file (truncated or corrupted?): {error}")
        self.metadata = self.json("metadata.json")
        if not isinstance(self.metadata, dict) or self.metadata.get("format") != FORMAT:
            self.fail(f"metadata.json does not describe a {FORMAT} file")
        version = self.metadata.get("format_version")
        if version != FORMAT_VERSION:
            self.fail(
                f"it has format version {version!r}, but this cnnlab reads version {FORMAT_VERSION} "
                "(it was written by a different cnnlab version)"
            )

    def fail(self, problem):
        raise ModelFileError(f"{self.op}: cannot read '{self.path}': {problem}.")

    def member(self, name):
        if name not in self._members:
            self.fail(f"the archive has no '{name}'")
        return self._members[name]

    def json(self, name):
        try:
            return json.loads(self.member(name).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            self.fail(f"{name} is not valid JSON ({error})")

    def arrays(self):
        try:
            with np.load(io.BytesIO(self.member("weights.npz")), allow_pickle=False) as npz:
                return {key: npz[key] for key in npz.files}
        except (ValueError, OSError, zipfile.BadZipFile, EOFError, zlib.error) as error:
            self.fail(f"weights.npz cannot be read without unpickling or is damaged ({error})")

    def set_weights(self, model):
        """Check every stored weight against ``model.weights`` (count, shape, dtype), then assign them all."""
        entries = self.metadata.get("weights")
        weights = model.weights
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            self.fail("metadata.json has no valid 'weights' list")
        if len(entries) != len(weights):
            self.fail(f"it holds {len(entries)} weights but the model has {len(weights)}")
        arrays = self.arrays()
        values = []
        for index, (entry, variable) in enumerate(zip(entries, weights)):
            key = f"weight_{index:04d}"
            if key not in arrays:
                self.fail(f"weights.npz lacks '{key}' (weight '{entry.get('name')}')")
            value = arrays[key]
            if value.shape != tuple(variable.shape) or list(value.shape) != entry.get("shape"):
                self.fail(
                    f"weight {index} ('{entry.get('name')}') has shape {value.shape} in the file "
                    f"(recorded as {entry.get('shape')}), but the model's weight has shape {tuple(variable.shape)}"
                )
            if value.dtype != variable.dtype:
                self.fail(
                    f"weight {index} ('{entry.get('name')}') has dtype {value.dtype}; the model's is {variable.dtype}"
                )
            values.append(value)
        for variable, value in zip(weights, values):
            variable.assign(value)
        return arrays


def load_metadata(filepath):
    """The ``metadata.json`` of a model or weights file (format, version, weight names, ``user_metadata``)."""
    return _Archive(filepath, "load_metadata").metadata


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):  # noqa: A002 - Keras's argument name
    """Rebuild a model saved by ``model.save``: architecture, weights and, with
    ``compile=True``, the compile settings and the optimizer state.

    Args:
        filepath: the file ``model.save`` wrote.
        custom_objects: ``{name: class_or_function}`` for your own layers, models
            or activations named in the file.
        compile: restore the optimizer, loss and metrics (default True).
        safe_mode: accepted for Keras compatibility; files are never unpickled anyway.

    Returns:
        The model, ready to predict (and to continue training when compiled).
    """
    from .models import Model

    archive = _Archive(filepath, "load_model")
    if archive.metadata.get("kind") != "model":
        archive.fail(
            "it holds weights only (written by save_weights); build the model in code and call model.load_weights()"
        )
    config = archive.json("config.json")
    try:
        model = deserialize_layer(config, custom_objects)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as error:
        archive.fail(f"the architecture in config.json cannot be rebuilt: {str(error).rstrip('.')}")
    if not isinstance(model, Model):
        archive.fail(f"config.json describes a {type(model).__name__}, not a model")
    if not model.built:
        archive.fail("config.json does not give the model's input shape, so its weights cannot be created")
    arrays = archive.set_weights(model)
    compile_config = config.get("compile_config")
    if compile and compile_config:
        _restore_compile(archive, model, compile_config, arrays, custom_objects)
    return model


def _restore_compile(archive, model, compile_config, arrays, custom_objects):
    from . import losses, metrics, optimizers

    try:
        loss = compile_config["loss"]
        loss = loss if isinstance(loss, str) or loss is None else losses.deserialize(loss, custom_objects)
        metric_list = [
            m if isinstance(m, str) else metrics.deserialize(m, custom_objects) for m in compile_config["metrics"]
        ]
        optimizer = optimizers.deserialize(compile_config["optimizer"], custom_objects)
        model.compile(optimizer=optimizer, loss=loss, metrics=metric_list)
    except (ValueError, TypeError, KeyError) as error:
        archive.fail(f"the compile settings in config.json cannot be restored: {error}")
    keys = archive.metadata.get("optimizer_state") or []
    if not keys:
        return
    state = {}
    for index, key in enumerate(keys):
        name = f"optimizer_{index:04d}"
        if name not in arrays:
            archive.fail(f"weights.npz lacks '{name}' (optimizer state '{key}')")
        state[key] = arrays[name]
    if any("/" in key for key in keys):  # per-variable slots: build them in the order fit uses
        model.optimizer.build(model.trainable_weights)
    try:
        model.optimizer.set_state(state)
    except ValueError as error:
        archive.fail(f"the optimizer state does not fit the model: {error}")


def load_weights(model, filepath):
    """Read the weights of a ``save_weights`` (or ``save``) file into ``model``, which must be built."""
    archive = _Archive(filepath, "load_weights")
    if not model.built:
        raise ValueError(
            "load_weights: the model is not built yet, so it has no weights to fill; call it on data or give it an "
            "input shape first."
        )
    archive.set_weights(model)
