"""Saving and loading models in Keras's file formats.

``model.save("m.keras")`` writes a Keras 3 ``.keras`` file, a zip archive of

* ``metadata.json``: ``{"keras_version", "date_saved", "cnnlab_version", "user_metadata"}``;
* ``config.json``: the model in Keras 3's schema (``serialization``), with its
  ``compile_config`` (optimizer, loss, metrics) when it is compiled;
* ``model.weights.h5``: the weights, and the optimizer's state, in Keras 3's HDF5
  layout (``_weights_layout``: ``layers/<name>/vars/0``, ``optimizer/vars/N``...).

``keras.models.load_model`` reads it, and cnnlab reads Keras's.  ``model.save("m.h5")``
writes the legacy HDF5 file (``_legacy_h5``, as Keras 3 writes it), and ``load_model``
reads those of Keras 3 and of tf.keras 2.  ``save_weights("w.weights.h5")`` writes
Keras 3's weights file, ``save_weights("w.h5")`` tf.keras 2's; ``load_weights`` reads
every one of them, a ``.keras`` file too.  Files cnnlab wrote before it wrote Keras's
formats (a zip of ``metadata.json``, ``config.json`` and ``weights.npz``) still load.

HDF5 is written with h5py (a dependency, imported only to write), as Keras writes it, and read
with cnnlab's own reader (``_hdf5_reading``), which checks every structure before
using it: libhdf5 trusts the metadata it parses, and a model file is exactly the kind
of file people download.  Reading treats every file as untrusted: nothing is
unpickled, a member is read only when needed and within ``max_bytes``, and the size
of the model config.json describes is worked out from the JSON and checked against
the weights the file holds before anything is built (see ``load_model`` and
``_archive_reading``).  Files are written to a temporary file in the same directory
and renamed over the target (``cnnlab.datasets._files.atomic_write``, which honours
the umask and removes what a killed writer left), so a crash never leaves a
half-written model.  A file that is truncated, altered (a weight of the wrong shape,
JSON that does not describe a model) or of an unknown format raises
``ModelFileError`` naming the file and the problem.

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

import datetime
import inspect
import io
import json
import math
import os
import warnings
import zipfile

import numpy as np

from ..datasets._files import atomic_write
from . import _legacy_h5, _weights_layout, serialization
from ._archive_reading import BoundedZip, ByteBudget, parse_json, read_npy
from ._hdf5_reading import HDF5FormatError, is_hdf5, read_hdf5
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
from .serialization import deserialize_layer, serialize_layer  # noqa: F401 - keras.saving's names too

# cnnlab's own format before it wrote Keras's (read, no longer written).
FORMAT = "cnnlab-keras"
FORMAT_VERSION = 1
KERAS_VERSION = _legacy_h5.KERAS_VERSION
_KERAS_WEIGHTS = "model.weights.h5"


class ModelFileError(ValueError):
    """A model or weights file that cannot be read: truncated, altered, or of an unknown format."""


# ---- layer (de)serialization --------------------------------------------------------------------


def _layer_class(config, custom_objects):
    """``(class, constructor arguments)`` of a serialized layer, found as ``deserialize_keras_object``
    finds it; ValueError when it describes none."""
    if (
        not isinstance(config, dict)
        or not isinstance(config.get("class_name"), str)
        or not isinstance(config.get("config"), dict)
    ):
        raise ValueError(
            f"a layer must be described as {{'class_name': str, 'config': dict}}; found {str(config)[:200]}."
        )
    for key in ("module", "registered_name"):
        if not isinstance(config.get(key), (str, type(None))):
            raise ValueError(f"a layer's {key} must be a string; found {str(config[key])[:200]}.")
    cls = serialization._find_class(config, custom_objects, None)
    if not inspect.isclass(cls):
        raise ValueError(f"{config['class_name']!r} names a function, not a layer class.")
    return cls, config["config"]


def _construct_layer(cls, arguments, custom_objects):
    """``cls`` made from its config as ``deserialize_keras_object`` makes it, not built."""
    from .layers import Layer

    with custom_object_scope(custom_objects or {}):
        arguments = serialization.keras_arguments(cls, dict(arguments))
        arguments = serialization._resolved_layer_arguments(cls, arguments, custom_objects)
        layer = serialization._from_config(cls, arguments, custom_objects)
    if not isinstance(layer, Layer):
        raise ValueError(f"{cls.__name__}.from_config made a {type(layer).__name__}, not a layer.")
    return layer


def _build_config_shape(config):
    """The input shape a serialized layer's ``build_config`` gives: a tuple, a list of tuples for a
    layer of several inputs (a merge layer), or None; ValueError if it is none of those."""
    build_config = config.get("build_config")
    if not isinstance(build_config, dict) or build_config.get("input_shape") is None:
        return None
    shape = build_config["input_shape"]
    if _is_shape_list(shape):
        return tuple(shape)
    if isinstance(shape, list) and shape and all(_is_shape_list(item) for item in shape):
        return [tuple(item) for item in shape]
    raise ValueError(
        "build_config's input_shape must be a list of sizes (or None), or a list of such lists; "
        f"found {str(shape)[:200]}."
    )


def _is_shape_list(value):
    return isinstance(value, list) and all(_is_size(d) or d is None for d in value)


def _is_size(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


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


def _is_legacy_h5_name(filepath):
    name = os.fspath(filepath).lower()
    return name.endswith((".h5", ".hdf5")) and not name.endswith(".weights.h5")


def _checked_user_metadata(user_metadata, op):
    user_metadata = {} if user_metadata is None else user_metadata
    try:
        json.dumps(user_metadata)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"{op}: user_metadata must be JSON-serializable (dicts, lists, numbers, strings): {error}"
        ) from None
    return user_metadata


def _compile_config(model):
    """The compile settings in Keras 3's schema, or None (with a warning) when they cannot be described."""
    if not model.compiled:
        return None
    try:
        config = serialization._compile_config(model)
        json.dumps(config)
        return config
    except (TypeError, ValueError) as error:
        warnings.warn(
            f"save: the compile settings cannot be saved ({error}); load_model will return an uncompiled model "
            "(compile it again before training).",
            stacklevel=4,
        )
        return None


def _keras_archive(model, include_optimizer, user_metadata, config):
    """The bytes of a Keras 3 ``.keras`` archive."""
    from .. import __cnnlab_version__

    metadata = {
        "keras_version": KERAS_VERSION,
        "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
        "cnnlab_version": __cnnlab_version__,
        "user_metadata": user_metadata,
    }
    weights = _weights_layout.write_weights(model, include_optimizer and model.compiled, "save_model")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("metadata.json", json.dumps(metadata), compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr("config.json", json.dumps(config), compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr(_KERAS_WEIGHTS, weights, compress_type=zipfile.ZIP_STORED)
    return buffer.getvalue()


def save_model(model, filepath, overwrite=True, include_optimizer=True, user_metadata=None):
    """Write ``model`` (architecture, weights, compile settings, optimizer state) to ONE file, atomically.

    Args:
        model: a built model.
        filepath: the file to write: a Keras 3 ``.keras`` archive, or for a name
            ending in ``.h5`` / ``.hdf5`` the legacy HDF5 file Keras writes there.
        overwrite: replace an existing file (default True).
        include_optimizer: also save the optimizer's state, so training continues
            exactly where it stopped.
        user_metadata: a JSON-ready dict stored alongside (e.g. ``{"epoch": 7}``), in
            metadata.json (an attribute ``cnnlab_user_metadata`` of an ``.h5`` file, which
            Keras ignores); read it back with ``load_metadata``.

    Raises:
        ImportError: h5py is missing (``pip install h5py``).
    """
    Model = serialization.model_class("Model")  # noqa: N806 - see model_class
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
    user_metadata = _checked_user_metadata(user_metadata, "save_model")
    if _is_legacy_h5_name(filepath):
        content = _legacy_h5.write_model(model, include_optimizer, "save_model", user_metadata)
    else:
        compile_config = _compile_config(model)
        config = {**architecture, **({"compile_config": compile_config} if compile_config else {})}
        content = _keras_archive(model, include_optimizer and compile_config is not None, user_metadata, config)
    _atomic_write(filepath, lambda file: file.write(content), overwrite, "save_model")


def save_weights(model, filepath, overwrite=True):
    """Write the weights of ``model`` to one HDF5 file, atomically: Keras 3's ``.weights.h5``
    layout, or for a name ending in ``.h5`` (not ``.weights.h5``) tf.keras 2's."""
    if not model.built and not model.weights:  # (a model may make its weights in __init__)
        raise ValueError("save_weights: the model is not built yet, so it has no weights to save.")
    if _is_legacy_h5_name(filepath):
        content = _legacy_h5.write_weights(model, "save_weights")
    else:
        content = _weights_layout.write_weights(model, False, "save_weights")
    _atomic_write(filepath, lambda file: file.write(content), overwrite, "save_weights")


# ---- reading --------------------------------------------------------------------------------------

# The most bytes one load decompresses out of a model file (and, again, out of the weights'
# archive inside it), and the most memory one sample may need in any layer of a model
# loaded from it; ``max_bytes=`` raises it for a file you trust.
MAX_BYTES = 2**31
# Models nest at most this deep (Sequential inside Sequential ...), and JSON, which spends
# three levels per model, at most MAX_JSON_DEPTH: the parsers recurse once per level.
MAX_MODEL_DEPTH = 32
# The most layers a model file may describe, and four times that the most layer calls its
# models make, in all (nested models included): building takes time quadratic in the
# layers of a Sequential model.
MAX_LAYERS = 2048
MAX_JSON_DEPTH = 128
# A JSON member may hold at most max_bytes / this (16 MiB by default): parsed, a byte of
# JSON ("[[],[],...") can take some 25 bytes of Python objects.
_JSON_SHARE_OF_MAX_BYTES = 128
_WEIGHT_DTYPES = {np.dtype(code).name for code in ("f2", "f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8")}
# What building and restoring a model raise for a config that does not describe one
# (OverflowError: a size too large for NumPy's integers).
_REBUILD_ERRORS = (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError)


class _Archive:
    """A model file opened for reading; every failure becomes a ModelFileError naming the file.

    Members are read only when needed, each checked (method, flags, sizes against the
    file and ``max_bytes``) before it is read; see ``_archive_reading``.
    """

    def __init__(self, filepath, op, max_bytes):
        self.path = os.fspath(filepath)
        self.op = op
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0:
            raise ValueError(f"{op}: max_bytes must be an int >= 0; received max_bytes={max_bytes!r}.")
        self.max_bytes = max_bytes
        if not os.path.exists(self.path):
            raise FileNotFoundError(f"{op}: no such file: '{self.path}'.")
        self._zip = BoundedZip(self.path, "the archive", self.fail, ByteBudget(max_bytes, "max_bytes"))

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self._zip.close()

    def fail(self, problem):
        raise ModelFileError(f"{self.op}: cannot read '{self.path}': {problem}.")

    def holds_keras_format(self):
        """Whether this is a Keras 3 ``.keras`` archive (rather than one of cnnlab's older format)."""
        return _KERAS_WEIGHTS in self._zip

    def hdf5(self, name):
        """The root group of the HDF5 member ``name``, read within the byte budget and parsed."""
        return _parse_hdf5(self._zip.read(name), name, self.fail)

    def json(self, name):
        limit = self.max_bytes // _JSON_SHARE_OF_MAX_BYTES
        size = self._zip.declared_size(name)
        if size > limit:
            self.fail(
                f"{name} declares {size} bytes of JSON, more than max_bytes / {_JSON_SHARE_OF_MAX_BYTES} = {limit} "
                "(parsed, a byte of JSON takes up to some 25 bytes)"
            )
        return parse_json(self._zip.read(name), name, self.fail, MAX_JSON_DEPTH)

    def read_metadata(self):
        """``metadata.json``, checked: format, version, kind, and every weight's name, shape and dtype."""
        metadata = self.json("metadata.json")
        if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
            self.fail(f"metadata.json does not describe a {FORMAT} file")
        version = metadata.get("format_version")
        if not _is_size(version) or version != FORMAT_VERSION:
            self.fail(
                f"it has format version {str(version)[:100]}, but this cnnlab reads version {FORMAT_VERSION} "
                "(it was written by a different cnnlab version)"
            )
        if metadata.get("kind") not in ("model", "weights"):
            self.fail(f"metadata.json gives kind {str(metadata.get('kind'))[:100]}; expected 'model' or 'weights'")
        entries = metadata.get("weights")
        if not isinstance(entries, list):
            self.fail("metadata.json has no valid 'weights' list")
        for index, entry in enumerate(entries):
            if not (
                isinstance(entry, dict)
                and isinstance(entry.get("name"), str)
                and isinstance(entry.get("shape"), list)
                and all(_is_size(size) for size in entry["shape"])
                and isinstance(entry.get("dtype"), str)
                and entry["dtype"] in _WEIGHT_DTYPES
            ):
                self.fail(
                    f"metadata.json describes weight {index} as {str(entry)[:200]}; expected "
                    "{'name': str, 'shape': [sizes], 'dtype': a numeric dtype}"
                )
        keys = metadata.get("optimizer_state", [])
        if not isinstance(keys, list) or not all(isinstance(key, str) for key in keys):
            self.fail(f"metadata.json's optimizer_state must be a list of names; found {str(keys)[:200]}")
        self.metadata = metadata
        self.entries = [(entry["name"], tuple(entry["shape"]), np.dtype(entry["dtype"])) for entry in entries]
        return metadata

    def weight_values(self):
        """How many numbers the weights listed in metadata.json hold, once they are known to be in the file."""
        declared = sum(math.prod(shape) * dtype.itemsize for _, shape, dtype in self.entries)
        held = self._zip.declared_size("weights.npz")
        if declared > held:
            self.fail(f"metadata.json lists {declared} bytes of weights, but weights.npz holds {held} bytes")
        return sum(math.prod(shape) for _, shape, _ in self.entries)

    def check_weights_fit(self, model):
        """Compare the weights listed in metadata.json with ``model.weights`` (count, shape, dtype), reading nothing."""
        weights = model.weights
        if len(self.entries) != len(weights):
            self.fail(f"it holds {len(self.entries)} weights but the model has {len(weights)}")
        for index, ((name, shape, dtype), variable) in enumerate(zip(self.entries, weights)):
            if shape != tuple(variable.shape):
                self.fail(
                    f"weight {index} ('{name}') has shape {shape} in the file, "
                    f"but the model's weight has shape {tuple(variable.shape)}"
                )
            if dtype != variable.dtype:
                self.fail(f"weight {index} ('{name}') has dtype {dtype}; the model's is {variable.dtype}")

    def read_arrays(self, optimizer_keys=()):
        """The weights (checked against metadata.json) and the optimizer state named by ``optimizer_keys``."""
        npz = self._zip.read("weights.npz")
        with BoundedZip(npz, "weights.npz", self.fail, ByteBudget(self.max_bytes, "max_bytes")) as arrays:
            weights = []
            for index, (name, shape, dtype) in enumerate(self.entries):
                member = f"weight_{index:04d}"
                if f"{member}.npy" not in arrays:
                    self.fail(f"weights.npz lacks '{member}' (weight '{name}')")
                value = read_npy(arrays.read(f"{member}.npy"), f"weights.npz/{member}.npy", self.fail)
                if value.shape != shape or value.dtype != dtype:
                    self.fail(
                        f"weight {index} ('{name}') has shape {value.shape} and dtype {value.dtype} in weights.npz "
                        f"(recorded as {shape}, {dtype} in metadata.json)"
                    )
                weights.append(value)
            state = {}
            for index, key in enumerate(optimizer_keys):
                member = f"optimizer_{index:04d}"
                if f"{member}.npy" not in arrays:
                    self.fail(f"weights.npz lacks '{member}' (optimizer state '{key}')")
                state[key] = read_npy(arrays.read(f"{member}.npy"), f"weights.npz/{member}.npy", self.fail)
        return weights, state


def _check_max_bytes(max_bytes, op):
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0:
        raise ValueError(f"{op}: max_bytes must be an int >= 0; received max_bytes={max_bytes!r}.")


def _open(filepath, op, max_bytes):
    """The file opened for reading as what it holds: an ``_HDF5File`` or a zip ``_Archive``."""
    path = os.fspath(filepath)
    _check_max_bytes(max_bytes, op)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{op}: no such file: '{path}'.")
    with open(path, "rb") as file:
        head = file.read(_HDF5_HEAD_BYTES)
    if is_hdf5(head):
        return _HDF5File(path, op, max_bytes)
    return _Archive(path, op, max_bytes)


# Bytes read to tell an HDF5 file (its signature may follow a user block of up to 64 KiB).
_HDF5_HEAD_BYTES = 65536 + 8


def _parse_hdf5(content, what, fail):
    try:
        return read_hdf5(content)
    except HDF5FormatError as error:
        fail(f"{what} is not an HDF5 file cnnlab can read: {str(error).rstrip('.')}")


class _HDF5File:
    """An HDF5 file (``.h5``, ``.weights.h5``) read whole (at most ``max_bytes``) and parsed by cnnlab's reader."""

    def __init__(self, path, op, max_bytes):
        self.path = path
        self.op = op
        self.max_bytes = max_bytes
        size = os.path.getsize(path)
        if size > max_bytes:
            self.fail(
                f"it holds {size} bytes, more than max_bytes={max_bytes} (pass a larger max_bytes if it is trusted)"
            )
        with open(path, "rb") as file:
            content = file.read(size + 1)
        if len(content) != size:
            self.fail("it changed while it was read")
        self.root = _parse_hdf5(content, "it", self.fail)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return None

    def fail(self, problem):
        raise ModelFileError(f"{self.op}: cannot read '{self.path}': {problem}.")


def load_metadata(filepath, *, max_bytes=MAX_BYTES):
    """The ``metadata.json`` of a ``.keras`` file: ``keras_version``, ``date_saved``, and the
    ``user_metadata`` given to ``save`` (``{}`` when none); the same of an ``.h5`` model file
    (``keras_version`` and ``user_metadata``); for a file of cnnlab's older format, its
    metadata (format, version, weight names, ``user_metadata``).

    Raises:
        ModelFileError: the file is not a readable model archive (see ``load_model``).
    """
    with _open(filepath, "load_metadata", max_bytes) as reader:
        if isinstance(reader, _HDF5File):
            if not _legacy_h5.is_legacy_model(reader.root):
                reader.fail("it is an HDF5 weights file, which has no metadata (only model files have some)")
            return _legacy_h5.metadata(reader.root, reader.fail)
        if not reader.holds_keras_format():
            return reader.read_metadata()
        metadata = reader.json("metadata.json")
        if not isinstance(metadata, dict):
            reader.fail("metadata.json is not a JSON object")
        user_metadata = metadata.get("user_metadata", {})
        if not isinstance(user_metadata, dict):
            reader.fail(f"metadata.json's user_metadata is not an object: {str(user_metadata)[:200]}")
        return {**metadata, "user_metadata": user_metadata}


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True, *, max_bytes=MAX_BYTES):
    """Rebuild a model saved by ``model.save`` (cnnlab's or Keras's): architecture, weights
    and, with ``compile=True``, the compile settings and the optimizer state.

    Reads Keras 3 ``.keras`` archives, legacy ``.h5`` files of Keras 3 and tf.keras 2,
    and the files of cnnlab's older format, whatever their names.  The file is read as
    untrusted: nothing is unpickled, and before anything is built the architecture's
    size is worked out from its config and checked against the weights the file
    holds, so a file can only cost memory in proportion to its own bytes.

    Args:
        filepath: the file ``model.save`` wrote.
        custom_objects: ``{name: class_or_function}`` for your own layers, models
            or activations named in the file.
        compile: restore the optimizer, loss and metrics (default True).
        safe_mode: accepted for Keras compatibility; files are never unpickled anyway.
        max_bytes: the most bytes read out of the file's members (default 2 GiB;
            a member may also expand at most 100-fold, and a JSON member hold at
            most max_bytes / 128), and the most memory one sample may need in any
            layer of the model (a padded input, an im2col matrix, an output).
            The file may also describe at most ``MAX_LAYERS`` (2048) layers, nested
            at most ``MAX_MODEL_DEPTH`` (32) models deep.

    Returns:
        The model, ready to predict (and to continue training when compiled).

    Raises:
        ModelFileError: the file is truncated or corrupted, is not a model file,
            is of an unknown format, or describes something that cannot be (or is
            too large to be) rebuilt; the message names the file.
        FileNotFoundError: there is no such file.
    """
    with _open(filepath, "load_model", max_bytes) as reader:
        if isinstance(reader, _HDF5File):
            return _load_legacy_model(reader, custom_objects, compile)
        if reader.holds_keras_format():
            return _load_keras_model(reader, custom_objects, compile)
        return _load_cnnlab_model(reader, custom_objects, compile)


def _load_keras_model(archive, custom_objects, compile):
    config = archive.json("config.json")
    if not isinstance(config, dict):
        archive.fail("config.json does not describe a model (it is not a JSON object)")
    if "metadata.json" in archive._zip and not isinstance(archive.json("metadata.json"), dict):
        archive.fail("metadata.json is not a JSON object")
    root = archive.hdf5(_KERAS_WEIGHTS)
    model = _rebuilt_model(archive, config, _weights_layout.weight_values_held(root), custom_objects)
    compile_config = config.get("compile_config")
    optimizer = None
    if compile and compile_config:
        _compile_from(archive, model, compile_config, custom_objects)
        optimizer = model.optimizer if "optimizer" in root.members else None
    try:
        weights, optimizer_values = _weights_layout.read_weights(root, model, archive.fail, optimizer)
    except _REBUILD_ERRORS as error:
        archive.fail(f"its weights do not fit the model: {str(error).rstrip('.')}")
    for variable, value in zip(model.weights, weights):
        variable.assign(value)
    if optimizer_values is not None:
        for variable, value in zip(_weights_layout.optimizer_variables(optimizer, model), optimizer_values):
            variable.assign(value)
    return model


def _load_legacy_model(h5, custom_objects, compile):
    root = h5.root
    if not _legacy_h5.is_legacy_model(root):
        h5.fail("it holds weights only (no model_config); build the model in code and call model.load_weights()")
    config = _legacy_h5.model_config(root, h5.fail)
    if not isinstance(config, dict):
        h5.fail("its model_config does not describe a model")
    weights_group = root.members.get("model_weights")
    if weights_group is None or not hasattr(weights_group, "members"):
        h5.fail("it has no model_weights group")
    model = _rebuilt_model(h5, config, _weights_layout.weight_values_held(weights_group), custom_objects)
    try:
        weights = _legacy_h5.read_weights(root, model, h5.fail, by_name=True)
    except _REBUILD_ERRORS as error:
        h5.fail(f"its weights do not fit the model: {str(error).rstrip('.')}")
    for variable, value in zip(model.weights, weights):
        variable.assign(value)
    compile_config = _legacy_h5.training_config(root, h5.fail) if compile else None
    if compile_config and compile_config.get("optimizer"):
        _compile_from(h5, model, compile_config, custom_objects)
        if model.optimizer._slot_groups and not model.optimizer._slots:
            model.optimizer.build(model.trainable_weights)
        found = _legacy_h5.read_optimizer(root, model, h5.fail)
        for variable, value in zip(*found) if found else ():
            variable.assign(value)
    return model


def _rebuilt_model(reader, config, values_in_file, custom_objects):
    """The model ``config`` describes (its compile settings aside), sized first against the weights the file holds."""
    Model = serialization.model_class("Model")  # noqa: N806 - see model_class
    architecture = {key: value for key, value in config.items() if key != "compile_config"}
    _BuildPlan(reader.fail, custom_objects, reader.max_bytes).check(architecture, values_in_file)
    try:
        model = deserialize_layer(architecture, custom_objects)
    except _REBUILD_ERRORS as error:
        reader.fail(f"the architecture in its config cannot be rebuilt: {str(error).rstrip('.')}")
    if not isinstance(model, Model):
        reader.fail(f"its config describes a {type(model).__name__}, not a model")
    if not model.built:
        reader.fail("its config does not give the model's input shape, so its weights cannot be created")
    return model


def _compile_from(reader, model, compile_config, custom_objects):
    if not isinstance(compile_config, dict):
        reader.fail(f"its compile_config must be an object; found {str(compile_config)[:200]}")
    try:
        serialization.compile_from_config(model, compile_config, custom_objects)
    except _REBUILD_ERRORS as error:
        reader.fail(f"the compile settings in its config cannot be restored: {str(error).rstrip('.')}")


def _load_cnnlab_model(archive, custom_objects, compile):
    """A model file of cnnlab's older format (metadata.json, config.json, weights.npz)."""
    Model = serialization.model_class("Model")  # noqa: N806 - see model_class
    metadata = archive.read_metadata()
    if metadata["kind"] != "model":
        archive.fail(
            "it holds weights only (written by save_weights); build the model in code and call model.load_weights()"
        )
    config = archive.json("config.json")
    plan = _BuildPlan(archive.fail, custom_objects, archive.max_bytes)
    plan.check(config, archive.weight_values())
    try:
        model = deserialize_layer(config, custom_objects)
    except _REBUILD_ERRORS as error:
        archive.fail(f"the architecture in config.json cannot be rebuilt: {str(error).rstrip('.')}")
    if not isinstance(model, Model):
        archive.fail(f"config.json describes a {type(model).__name__}, not a model")
    if not model.built:
        archive.fail("config.json does not give the model's input shape, so its weights cannot be created")
    archive.check_weights_fit(model)
    compile_config = config.get("compile_config")
    restore = bool(compile and compile_config)
    if restore and not isinstance(compile_config, dict):
        archive.fail(f"config.json's compile_config must be an object; found {str(compile_config)[:200]}")
    weights, state = archive.read_arrays(metadata.get("optimizer_state", []) if restore else ())
    for variable, value in zip(model.weights, weights):
        variable.assign(value)
    if restore:
        _restore_compile(archive, model, compile_config, state, custom_objects)
    return model


def _restore_compile(archive, model, compile_config, state, custom_objects):
    from . import losses, metrics, optimizers

    try:
        loss = compile_config["loss"]
        loss = loss if isinstance(loss, str) or loss is None else losses.deserialize(loss, custom_objects)
        metric_list = [
            m if isinstance(m, str) else metrics.deserialize(m, custom_objects) for m in compile_config["metrics"]
        ]
        optimizer = optimizers.deserialize(compile_config["optimizer"], custom_objects)
        model.compile(optimizer=optimizer, loss=loss, metrics=metric_list)
    except _REBUILD_ERRORS as error:
        archive.fail(f"the compile settings in config.json cannot be restored: {error}")
    if not state:
        return
    if any("/" in key for key in state):  # per-variable slots: build them in the order fit uses
        model.optimizer.build(model.trainable_weights)
    try:
        model.optimizer.set_state(state)
    except ValueError as error:
        archive.fail(f"the optimizer state does not fit the model: {error}")


def load_weights(model, filepath, *, max_bytes=MAX_BYTES):
    """Read the weights of a weights file (Keras 3's ``.weights.h5``, tf.keras 2's ``.h5``) or of a
    whole-model file (``.keras``, ``.h5``, cnnlab's older format) into ``model``, which must be built.

    A Keras 3 file gives each layer its weights by where the layer sits in the model
    (``_weights_layout``); a tf.keras 2 file by the order of the layers that have
    weights.  Every stored weight is checked against the model's (count, shape, kind
    of number) before any is assigned.

    Raises:
        ModelFileError: the file is not a readable model or weights file, or its
            weights do not fit the model (see ``load_model``, also for ``max_bytes``).
        ValueError: the model is not built.
    """
    with _open(filepath, "load_weights", max_bytes) as reader:
        if not model.built and not model.weights:  # (a model may make its weights in __init__)
            raise ValueError(
                "load_weights: the model is not built yet, so it has no weights to fill; call it on data or give it "
                "an input shape first."
            )
        if isinstance(reader, _HDF5File):
            root = reader.root
            if _legacy_h5.is_legacy_weights(root):
                weights = _legacy_h5.read_weights(root, model, reader.fail, by_name=False)
            else:
                weights, _ = _weights_layout.read_weights(root, model, reader.fail)
        elif reader.holds_keras_format():
            weights, _ = _weights_layout.read_weights(reader.hdf5(_KERAS_WEIGHTS), model, reader.fail)
        else:
            reader.read_metadata()
            reader.check_weights_fit(model)
            reader.weight_values()
            weights, _ = reader.read_arrays()
    for variable, value in zip(model.weights, weights):
        variable.assign(value)


# ---- sizing a model from its config, before building it -----------------------------------------------


class _PlannedLayer:
    """What the build plan knows of one serialized layer or model.

    ``kind`` is 'leaf' (a cnnlab layer, constructed but not built), 'sequential',
    'functional', or 'opaque' (a class from ``custom_objects`` or outside ``cnnlab.keras``, such as the
    command's ResidualBlock, whose build makes sub-layers: only building it tells
    its weights).  ``output`` is the fixed output shape of a functional model.
    """

    def __init__(self, kind, name, layer=None, children=(), output=None):
        self.kind = kind
        self.name = name
        self.layer = layer
        self.children = list(children)
        self.output = output
        self.built = kind == "functional" or (kind == "leaf" and layer.built)


class _BuildPlan:
    """The size of what ``config.json`` builds, worked out from the JSON before any weight exists.

    It follows what ``deserialize_layer`` will do (construct every layer, build the
    ones that know their input shape, call them in order) with shapes instead of
    arrays: each of cnnlab's layers is built on a copy whose ``add_weight`` records
    the shape instead of making the array, which counts the weight values the real
    build will allocate, and the memory one sample takes in each layer is checked.  A
    class of the caller's own (``custom_objects``, the registry) is the caller's code:
    only building it tells its weights, so the count becomes a lower bound from there on.

    Args:
        fail: raises the loader's ModelFileError.
        custom_objects: the caller's classes, by name.
        max_bytes: the most bytes one sample may take in one layer.
    """

    def __init__(self, fail, custom_objects, max_bytes):
        self.fail = fail
        self.custom_objects = dict(custom_objects or {})
        self.max_bytes = max_bytes
        self.weight_values = 0  # exact while self.exact, else a lower bound
        self.layers = 0
        self.calls = 0
        self.exact = True

    def check(self, config, values_in_file):
        """Fail unless ``config`` builds exactly the ``values_in_file`` weight values the file holds."""
        planned = self.plan(config, depth=0)
        if planned.built and self.exact and self.weight_values != values_in_file:
            self.fail(
                f"config.json describes a model of {self.weight_values} weight values, "
                f"but the file holds {values_in_file}"
            )
        if self.weight_values > values_in_file:
            self.fail(
                f"config.json describes a model of at least {self.weight_values} weight values, "
                f"but the file holds {values_in_file}"
            )

    def plan(self, config, depth):
        """The planned layer ``config`` describes, constructed (and built where its config says how) as on loading."""
        self.layers += 1
        if self.layers > MAX_LAYERS:
            self.fail(f"config.json describes more than {MAX_LAYERS} layers")
        try:
            cls, arguments = _layer_class(config, self.custom_objects)
        except ValueError as error:
            self.fail(f"the architecture in config.json cannot be rebuilt: {str(error).rstrip('.')}")
        name = str(arguments.get("name", config["class_name"]))[:100]
        Functional, Model, Sequential = (serialization.model_class(name) for name in ("Functional", "Model", "Sequential"))  # noqa: N806

        functional = cls is Functional or (cls is Model and "layers" in arguments)  # as Model.from_config
        if cls is Sequential or functional:
            if depth >= MAX_MODEL_DEPTH:
                self.fail(f"config.json nests models more than {MAX_MODEL_DEPTH} deep")
            if cls is Sequential:
                planned = self.sequential(arguments, name, depth + 1)
            else:
                planned = self.functional(arguments, name, depth + 1)
        elif cls.__module__.startswith("cnnlab.keras."):  # cnnlab's Keras layers make their weights with add_weight
            try:
                layer = _construct_layer(cls, arguments, self.custom_objects)
            except _REBUILD_ERRORS as error:
                self.fail(f"the architecture in config.json cannot be rebuilt: {str(error).rstrip('.')}")
            planned = _PlannedLayer("leaf", name, layer)
        else:
            self.exact = False
            planned = _PlannedLayer("opaque", name)
        build_shape = _build_shape_of(config, self.fail)
        if build_shape is not None and not planned.built:
            self.build(planned, build_shape)
        return planned

    def sequential(self, arguments, name, depth):
        configs = arguments.get("layers", [])
        if not isinstance(configs, list):
            self.fail(f"the layers of Sequential '{name}' in config.json are not a list")
        planned = _PlannedLayer("sequential", name, children=[self.plan(c, depth) for c in configs])
        # As Sequential.from_config: the input shape declared by the first layer, else build_input_shape.
        first = planned.children[0] if planned.children else None
        if first is not None and first.kind == "leaf" and type(first.layer).__name__ == "InputLayer":
            self.build(planned, first.layer.batch_shape)
        elif first is not None and first.kind == "leaf" and first.layer._batch_input_shape is not None:
            self.build(planned, first.layer._batch_input_shape)
        elif arguments.get("build_input_shape") is not None:
            self.build(planned, _shape_or_fail(arguments["build_input_shape"], "build_input_shape", self.fail))
        return planned

    def functional(self, arguments, name, depth):
        if "nodes" not in arguments:
            return self.functional_keras(arguments, name, depth)
        configs, nodes, outputs = arguments.get("layers"), arguments.get("nodes"), arguments.get("outputs")
        if not (
            isinstance(configs, list)
            and configs
            and isinstance(nodes, list)
            and all(isinstance(n, list) and len(n) == 2 and all(_is_index(i) for i in n) for n in nodes)
            and isinstance(outputs, list)
            and outputs
            and all(_is_index(i) for i in outputs)
        ):
            self.fail(f"the functional model '{name}' in config.json lacks valid 'layers', 'nodes' and 'outputs'")
        children = [self.plan(c, depth) for c in configs]
        first = children[0]
        if first.kind != "leaf" or type(first.layer).__name__ != "InputLayer":
            self.fail(f"the functional model '{name}' in config.json does not start with its InputLayer")
        shapes = []
        for layer_index, source_index in nodes:
            if not (0 <= layer_index < len(children) and -1 <= source_index < len(shapes)):
                self.fail(f"the functional model '{name}' in config.json connects layers that do not exist")
            source = first.layer.batch_shape if source_index == -1 else shapes[source_index]
            shapes.append(self.call(children[layer_index], source))
        if not all(-1 <= i < len(shapes) for i in outputs):
            self.fail(f"the functional model '{name}' in config.json has outputs that do not exist")
        output = first.layer.batch_shape if outputs[0] == -1 else shapes[outputs[0]]
        single = len(outputs) == 1 and not arguments.get("multiple_outputs")
        return _PlannedLayer("functional", name, children=children, output=output if single else None)

    def functional_keras(self, arguments, name, depth):
        """A functional model in Keras's format (layers with their ``inbound_nodes``), as
        ``functional_from_config`` builds it: each call made once its inputs exist."""
        from .models.functional_config import _call_arguments, _structure

        configs = arguments.get("layers")
        if not (
            isinstance(configs, list)
            and configs
            and all(isinstance(c, dict) and isinstance(c.get("name"), str) for c in configs)
        ):
            self.fail(f"the functional model '{name}' in config.json lacks a valid list of named 'layers'")
        children, pending, made, offset = {}, {}, {}, {}
        for config in configs:
            layer_name = config["name"]
            if layer_name in children:
                self.fail(f"the functional model '{name}' in config.json names two layers {layer_name[:100]!r}")
            child = self.plan({k: v for k, v in config.items() if k not in ("name", "inbound_nodes")}, depth)
            children[layer_name] = child
            nodes = config.get("inbound_nodes", [])
            if not isinstance(nodes, list):
                self.fail(f"the inbound_nodes of layer '{layer_name[:100]}' in config.json are not a list")
            pending[layer_name] = list(nodes)
            is_input = child.kind == "leaf" and type(child.layer).__name__ == "InputLayer"
            made[layer_name] = [_Shape(child.layer.batch_shape)] if is_input else []
            offset[layer_name] = 1 if child.kind == "functional" else 0

        def tensor(history):
            if not (isinstance(history, list) and len(history) >= 3 and history[0] in children):
                raise ValueError(f"a call refers to a tensor {str(history)[:100]} that no layer makes")
            index = history[1] - offset[history[0]] if _is_index(history[1]) else -1
            if index < 0 or not _is_index(history[2]) or history[2] < 0:
                raise ValueError(f"a call refers to node {str(history[1:3])[:40]} of layer '{history[0][:100]}'")
            if index >= len(made[history[0]]):
                return None
            shape = made[history[0]][index].shape
            if isinstance(shape, list):  # a call with several outputs
                if history[2] >= len(shape):
                    raise ValueError(f"a call refers to output {history[2]} of layer '{history[0][:100]}'")
                return _Shape(shape[history[2]])
            return made[history[0]][index]

        try:
            progressed = True
            while progressed and any(pending.values()):
                progressed = False
                for layer_name, nodes in pending.items():
                    while nodes:
                        found, _ = _call_arguments(nodes[0], layer_name, tensor)
                        if found is None:
                            break
                        nodes.pop(0)
                        made[layer_name].append(_Shape(self.call(children[layer_name], _shapes_of(found))))
                        progressed = True
            if any(pending.values()):
                raise ValueError("its graph has loops or calls that never get their inputs")
            _structure(arguments.get("input_layers"), tensor, "input_layers")
            outputs = _structure(arguments.get("output_layers"), tensor, "output_layers")
        except (ValueError, TypeError) as error:
            self.fail(f"the functional model '{name}' in config.json cannot be rebuilt: {str(error).rstrip('.')}")
        output = outputs.shape if isinstance(outputs, _Shape) else None
        return _PlannedLayer("functional", name, children=list(children.values()), output=output)

    def build(self, planned, input_shape):
        """Count the weights ``planned`` makes for inputs of ``input_shape`` (None: unknown), as its build does."""
        if planned.built:
            return
        planned.built = True
        if planned.kind == "sequential":
            shape = None if input_shape is None else (None, *input_shape[1:])
            for child in planned.children:
                if not (child.kind == "leaf" and type(child.layer).__name__ == "InputLayer"):
                    shape = self.call(child, shape)
        elif planned.kind == "leaf":
            self.check_working_memory(planned, input_shape)
            if input_shape is None:
                self.weight_values += _weight_values_at_least(planned.layer)
                self.exact = False
            else:
                try:
                    shapes = _weight_shapes(planned.layer, input_shape)
                except _REBUILD_ERRORS as error:
                    self.fail(f"the architecture in config.json cannot be rebuilt: {str(error).rstrip('.')}")
                self.weight_values += sum(math.prod(shape) for shape in shapes)

    def call(self, planned, input_shape):
        """The output shape of ``planned`` called on ``input_shape`` (None: unknown), building it first if needed."""
        self.calls += 1
        if self.calls > 4 * MAX_LAYERS:
            self.fail(f"the models in config.json call their layers more than {4 * MAX_LAYERS} times")
        self.build(planned, input_shape)
        if input_shape is None or planned.kind == "opaque":
            return None
        if planned.kind == "leaf":
            self.check_working_memory(planned, input_shape)
        if planned.kind == "functional":
            return planned.output
        if planned.kind == "sequential":
            shape = input_shape
            for child in planned.children:
                if not (child.kind == "leaf" and type(child.layer).__name__ == "InputLayer"):
                    shape = self.call(child, shape)
            return shape
        try:
            output = planned.layer.compute_output_shape(
                [tuple(shape) for shape in input_shape] if isinstance(input_shape, list) else tuple(input_shape)
            )
        except (*_REBUILD_ERRORS, NotImplementedError) as error:
            self.fail(f"the architecture in config.json cannot be rebuilt: {str(error).rstrip('.')}")
        what = f"the output shape of layer '{planned.name}'"
        several = isinstance(output, list) and output and all(isinstance(item, (list, tuple)) for item in output)
        outputs = [_shape_or_fail(list(item), what, self.fail) for item in (output if several else [output])]
        for shape in outputs:
            self.check_sample(shape, planned.layer._dtype.itemsize, f"the output of layer '{planned.name}'")
        return outputs if several else outputs[0]

    def check_sample(self, shape, itemsize, what):
        """Fail if one sample of ``shape`` (batch axis first; unknown sizes count as 1) takes more than max_bytes."""
        size = math.prod(d for d in shape[1:] if d is not None) * itemsize
        if size > self.max_bytes:
            self.fail(
                f"{what} would take {size} bytes for one sample (shape {shape}), more than max_bytes={self.max_bytes}"
            )

    def check_working_memory(self, planned, input_shape):
        """The input of one sample, and for a window (conv, pool) the padded input and the im2col matrix."""
        from .layers import Lambda

        layer = planned.layer
        itemsize = layer._dtype.itemsize
        if isinstance(input_shape, list):  # several inputs (a merge layer): each sample of each
            for shape in input_shape:
                self.check_sample(shape, itemsize, f"an input of layer '{planned.name}'")
            return
        if input_shape is not None:
            self.check_sample(input_shape, itemsize, f"the input of layer '{planned.name}'")
        if isinstance(layer, Lambda) and input_shape is not None:  # its output shape is found by running it
            trial = (None, *(7 if d is None else d for d in input_shape))  # on zeros, unknown sizes 7
            self.check_sample(trial, itemsize, f"the trial input of Lambda layer '{planned.name}'")
        window = _window_of(layer)
        if window is None:
            return
        kernel, strides, dilation = window
        rank = len(kernel)
        known = input_shape is not None and len(input_shape) == rank + 2
        channels = input_shape[-1] if known and input_shape[-1] is not None else 1
        padded, out = [], []
        for axis, (k, s, d) in enumerate(zip(kernel, strides, dilation)):
            size = input_shape[axis + 1] if known else None
            k_eff = (k - 1) * d + 1
            if getattr(layer, "padding", None) != "same":
                padded.append(size or 1)
                out.append(max((size - k_eff) // s + 1, 1) if size else 1)
            elif size:  # as window_geometry: out = ceil(size / s), padded to (out - 1) * s + k_eff
                out.append(-(-size // s))
                padded.append(max((out[-1] - 1) * s + k_eff, size))
            else:  # unknown size: at least the window is padded in
                out.append(1)
                padded.append(k_eff)
        self.check_sample((None, *padded, channels), itemsize, f"the padded input of layer '{planned.name}'")
        if hasattr(layer, "kernel_size"):
            columns = (None, *out, math.prod(kernel) * channels)
            self.check_sample(columns, itemsize, f"the im2col matrix of layer '{planned.name}'")


class _Shape:
    """A tensor's shape in the build plan of a functional model (None: not known; a list of shapes
    for a call with several outputs)."""

    def __init__(self, shape):
        self.shape = shape


def _shapes_of(found):
    """What a layer is called on in the build plan: one shape, a list of shapes (None if one is not
    known), or None for a dict of tensors (not sized here)."""
    if isinstance(found, _Shape):
        return found.shape
    if isinstance(found, list):
        shapes = [_shapes_of(item) for item in found]
        return None if any(shape is None or isinstance(shape, list) for shape in shapes) else shapes
    return None


class _PlannedWeight:
    """What a dry build's ``add_weight`` returns instead of a Variable: the shape, no values."""

    def __init__(self, shape, name):
        self.shape = shape
        self.name = name


def _weight_shapes(layer, input_shape):
    """The shapes of the weights ``layer`` (one of cnnlab's, constructed, not built) makes for
    inputs of ``input_shape``: its own build, with an ``add_weight`` that records the shape."""
    from .layers.base import standardize_shape

    shapes = []

    def add_weight(shape=None, initializer=None, dtype=None, trainable=True, name=None, **settings):
        shape = () if shape is None else standardize_shape(shape, "shape", f'Layer "{layer.name}".add_weight')
        shapes.append(shape)
        return _PlannedWeight(shape, name)

    layer.add_weight = add_weight  # this copy of the layer is the plan's own, never used for computing
    try:
        layer.build(input_shape if isinstance(input_shape, list) else tuple(input_shape))
    finally:
        del layer.add_weight
    return shapes


def _weight_values_at_least(layer):
    """A lower bound on the weight values ``layer`` makes for inputs of unknown shape: a kernel
    holds at least one value per filter (unit) and window cell."""
    outputs = getattr(layer, "filters", None) or getattr(layer, "units", None)
    kernel = getattr(layer, "kernel_size", ())
    if not isinstance(outputs, int) or not (isinstance(kernel, tuple) and all(isinstance(k, int) for k in kernel)):
        return 0
    return outputs * math.prod(kernel)


def _window_of(layer):
    """``(kernel, strides, dilation)`` of a layer that slides a window (conv, pool), each a tuple of
    ints of the same length; None for other layers."""
    kernel = getattr(layer, "kernel_size", None) or getattr(layer, "pool_size", None)
    if not (isinstance(kernel, tuple) and kernel and all(isinstance(k, int) and k > 0 for k in kernel)):
        return None
    strides = getattr(layer, "strides", None) or kernel
    dilation = getattr(layer, "dilation_rate", None) or (1,) * len(kernel)
    if isinstance(dilation, int):
        dilation = (dilation,) * len(kernel)
    for values in (strides, dilation):
        if not (
            isinstance(values, tuple)
            and len(values) == len(kernel)
            and all(isinstance(v, int) and v > 0 for v in values)
        ):
            return None
    return kernel, strides, dilation


def _is_index(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _shape_or_fail(value, what, fail):
    """``value`` (a list of sizes or None) as a tuple; fail if it is not one."""
    if not isinstance(value, (list, tuple)) or not all(d is None or _is_size(d) for d in value):
        fail(f"{what} in config.json is not a shape: {str(value)[:200]}")
    return tuple(value)


def _build_shape_of(config, fail):
    try:
        return _build_config_shape(config)
    except ValueError as error:
        fail(f"the architecture in config.json cannot be rebuilt: {str(error).rstrip('.')}")
