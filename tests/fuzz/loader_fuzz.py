"""Structure-aware fuzzing of cnnlab's file loaders: model files and IDX files.

Random byte flips prove little (the zip CRC and gzip CRC catch nearly all of them),
so each family has mutator classes that know the file's structure: the zip's
headers (methods, flags, sizes, offsets), the JSON inside (types, nesting, huge
layer settings), the ``.npy`` headers in the weights, the IDX header, the gzip
framing, and decompression bombs.  Every mutant is loaded in a child process under
an address-space limit; an *escape* is anything but success or the family's
documented error naming the file: another exception, a MemoryError, a hang, a
crash of the interpreter.

A family is a ``Family`` subclass: seed files, the loaders to run on a mutant, and
mutator classes ``name -> function(rng, seed) -> bytes``.  The families: ``model``
(cnnlab's older zip format), ``keras`` (Keras 3 ``.keras`` archives: the zip and JSON
mutators, and the HDF5 ones on their ``model.weights.h5``), ``h5`` (legacy ``.h5``
models) and ``weights-h5`` (``.weights.h5`` and tf.keras 2 weights files), ``idx``.
The HDF5 mutators know the structures h5py writes (superblock, object headers and
their messages, B-tree nodes, symbol nodes, local and global heaps) and change their
fields, addresses (beyond the file, onto themselves: loops) and sizes; a byte flipped
in a dataset's data is not caught by any checksum in HDF5 and loads as the flipped value.

    scripts/fuzz-loaders                                 # 10,000 of each family
    scripts/fuzz-loaders --family idx --files 2000 --seed 7 --examples

The per-class table goes to stdout; the exit status is 1 when anything escaped.
"""

import argparse
import collections
import copy
import dataclasses
import gzip
import io
import json
import os
import re
import resource
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zipfile

import numpy as np
from forged_files import (
    MIB,
    Member,
    deflate_with_zeros,
    deflated_mib_of_zeros,
    gzip_frame,
    make_member,
    member_content,
    npy_with_header,
    pack_zip,
    unpack_zip,
)

# Address space a child may use on top of what it holds once its seeds are made.
MEMORY_ALLOWANCE = 1 << 30
# What a load may read in the fuzz (``max_bytes``); the allowance above leaves room for
# a few layers' worth of one sample's arrays when a loaded model predicts.
FUZZ_MAX_BYTES = 1 << 26
# A load's limit in CPU time (the process's, all its threads): a loop that never ends uses CPU
# without end, whereas a machine busy with other work only slows the clock.  A child blocked
# without using CPU is caught by ``run_family``'s wall-clock ``timeout``.
CPU_SECONDS_PER_FILE = 10


# ---- JSON helpers ---------------------------------------------------------------------------------


def json_paths(document):
    """Every path (a tuple of keys / indices) to a node of ``document``, the root first."""
    paths, stack = [], [((), document)]
    while stack:
        path, node = stack.pop()
        paths.append(path)
        if isinstance(node, dict):
            stack.extend((path + (key,), value) for key, value in node.items())
        elif isinstance(node, list):
            stack.extend((path + (index,), value) for index, value in enumerate(node))
    return paths


def replace_at(document, path, value):
    if not path:
        return value
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return document


def pick(rng, options):
    """One of ``options`` (itself: changing it changes the option)."""
    return options[int(rng.integers(len(options)))]


def pick_value(rng, values):
    """A copy of one of ``values``, to put in a document that a mutant may change further."""
    return copy.deepcopy(pick(rng, values))


# A JSON entry cnnlab's serializer turns into an array (Keras's schema): strings and void dtypes
# would take gigabytes per element.
NUMPY_ENTRIES = (
    {"class_name": "__numpy__", "config": {"value": [1, 2], "dtype": "U2000000000"}},
    {"class_name": "__numpy__", "config": {"value": [1, 2], "dtype": "V2000000000"}},
    {"class_name": "__numpy__", "config": {"value": [[1], [2, 3]], "dtype": "float32"}},
    {"class_name": "__numpy__", "config": {"value": [1], "dtype": [["a", "U2000000000"]]}},
    {"class_name": "__tensor__", "config": {"value": [1], "dtype": "U2000000000"}},
)

WRONG_TYPED = (
    None, True, False, 0, -1, 1, 7, 1.5, -2.5, 1e308, -1e308, float("inf"), float("-inf"), float("nan"),
    10**30, 2**63, 2**64, "", "x", "float32", "object", "../../etc/passwd", [], {}, [1, 2], [None], ["a"],
    {"a": 1}, {"class_name": "Dense", "config": {}}, [[[]]], [1e308, 1e308], [float("inf")], [-1, -1],
    *NUMPY_ENTRIES,
)  # fmt: skip


def dumps(document):
    return json.dumps(document, allow_nan=True).encode()


def deep(rng, depth):
    opener = pick(rng, ["[", '{"a":'])
    closer = "]" if opener == "[" else "}"
    return opener * depth + "0" + closer * depth


# Values for any layer setting: wrong types, negative, infinite, absurdly large.
CONFIG_VALUES_ANY = (
    10**8, 100_000, 2**40, 2**31, 2**63, 10**30, 0, -1, 1e308, float("inf"), float("nan"), 3.5,
    [2**40, 2**40], [10**4, 10**4], [3, 2**31], [1, 2**40], [0, 0], [float("inf"), 3], [1e308, 1],
    [None, 10**9, 10**9, 1], [None, 2**31, 2**31, 2**31], [None, 28, 28, 10**8], [10**9, 10**9],
    [-1, -1], [2**32, 2**32, 0], "same", "valid", "bogus", True, None, *NUMPY_ENTRIES,
)  # fmt: skip
CONFIG_KEYS = (
    "filters", "units", "kernel_size", "strides", "dilation_rate", "pool_size", "padding", "batch_shape",
    "batch_input_shape", "input_shape", "target_shape", "rate", "axis", "noise_shape", "use_bias",
    "activation", "momentum", "epsilon", "keepdims", "center", "scale", "groups", "data_format", "seed",
    "build_input_shape",
)  # fmt: skip
# Values of the right type but absurd size, per setting: what the build plan must size up.
CONFIG_VALUES_TYPED = {
    "filters": [10**8, 100_000, 2**31, 4096],
    "units": [10**8, 100_000, 2**31, 4096],
    "kernel_size": [2**40, [2**40, 1], [1000, 1000], [3, 2**20], 64],
    "strides": [2**40, [1, 2**40], 1000],
    "dilation_rate": [2**40, [1, 2**40], 2**12, [2**20, 1], 1000],
    "pool_size": [2**40, [1, 2**40], 1000, [8, 8]],
    "padding": ["same", "valid"],
    "batch_shape": [[None, 10**9, 10**9, 1], [None, 2**31, 2**31, 2**31], [None, 8, 8, 10**8], [None, 8, 8, 2**20],
                    [None, None, None, 1], [None, 2**40], [2**40, 8, 8, 1]],
    "target_shape": [[2**32, 2**32, 0], [10**9, 10**9], [-1, 2**40], [2**40, -1]],
    "use_bias": [True, False],
    "axis": [1, 2, -4, 2**40],
    "keepdims": [True, False],
    "depth_multiplier": [10**7, 2**31, 64],
    "size": [2**20, [2**20, 1], [1000, 1000]],
    "cropping": [2**40, [[0, 0], [2**40, 0]], [[3, 3], [3, 3]]],
    "shared_axes": [[1, 2], [2**40], [0]],
    "height": [2**20, 10**9],
    "width": [2**20, 10**9],
    "scale": list(NUMPY_ENTRIES),
    "offset": list(NUMPY_ENTRIES),
}  # fmt: skip
# Headers of .npy members that are not plain numeric arrays, or not headers at all.
NPY_HEADERS = (
    "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }",
    "{'descr': '<U10', 'fortran_order': False, 'shape': (3,), }",
    "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (3,), }",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (3L, 4L), }",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (Infinity,), }",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (1e308,), }",
    "{'descr': '<f4', 'fortran_order': True, 'shape': (3, 3, 1, 4), }",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (100000000,), }",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (18446744073709551616,), }",
    "{'descr': '>f8', 'fortran_order': False, 'shape': (), }",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'extra': __import__('os'), }",
    "{'descr': '<f4', 'fortran_order': 0, 'shape': (3,), }",
    "{'descr': '<f4', 'shape': (3,), }",
    "{" * 5000,
    "(" * 300 + ")" * 300,
    "'\\x" + "\u00e9" * 10,
)


# ---- the families ---------------------------------------------------------------------------------


class Family:
    """A kind of file: its seeds, its loaders, its documented error and its mutator classes."""

    name = None

    def seeds(self, directory):
        """Seed files as ``[(label, bytes, context)]``; ``context`` is whatever ``load`` needs besides the path."""
        raise NotImplementedError

    def load(self, path, context, rng):
        """Load ``path`` the ways a user would; raise what the loaders raise."""
        raise NotImplementedError

    def documented_error(self):
        raise NotImplementedError

    def mutators(self):
        """``{class name: function(rng, seed bytes) -> mutant bytes}``."""
        raise NotImplementedError

    def applies(self, kind, label):
        """Whether mutator class ``kind`` has something to change in the seed ``label``."""
        return True


class ModelFiles(Family):
    """cnnlab's older model and weights files: a zip of metadata.json, config.json and weights.npz
    (written by ``tests/old_format.py``, the writer cnnlab had)."""

    name = "model"
    suffix = ".keras"

    def save(self, model, path, how):
        from old_format import save_old_format, save_weights_old_format

        (save_old_format if how == "save" else save_weights_old_format)(model, path)

    def seed_models(self):
        return (
            ("cnn", "save"),
            ("cnn-weights", "save_weights"),
            ("functional", "save"),
            ("nested", "save"),
            (
                "newer-layers",
                "save",
            ),
        )

    def documented_error(self):
        from cnnlab.keras.saving import ModelFileError

        return ModelFileError

    def seeds(self, directory):
        from cnnlab import keras
        from cnnlab.keras import layers

        keras.utils.set_random_seed(0)
        rng = np.random.default_rng(0)
        x = rng.random((16, 8, 8, 1), dtype=np.float32)
        y = keras.utils.to_categorical(rng.integers(0, 3, 16), 3)

        def cnn():
            return keras.Sequential(
                [
                    keras.Input(shape=(8, 8, 1)),
                    layers.Conv2D(4, 3, padding="same", activation="relu"),
                    layers.MaxPooling2D(),
                    layers.BatchNormalization(),
                    layers.Flatten(),
                    layers.Dropout(0.5),
                    layers.Dense(6, activation="relu"),
                    layers.Dense(3, activation="softmax"),
                ]
            )

        trained = cnn()
        trained.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
        trained.fit(x, y, epochs=1, batch_size=8, verbose=0)
        inputs = keras.Input(shape=(4,))
        hidden = layers.Dense(5, activation="relu")(inputs)
        functional = keras.Model(inputs, [hidden, layers.Dense(2, activation="softmax")(hidden)])
        functional.compile(optimizer="sgd", loss="mse")
        nested = keras.Sequential(
            [
                keras.Input(shape=(6, 6, 2)),
                keras.Sequential([layers.Conv2D(2, 3, dilation_rate=2, padding="same"), layers.AveragePooling2D()]),
                layers.GlobalMaxPooling2D(),
                layers.Reshape((2, 1)),
                layers.Flatten(),
                layers.Dense(2),
            ]
        )
        newer = keras.Sequential(
            [
                keras.Input(shape=(8, 8, 2)),
                layers.SeparableConv2D(3, 3, depth_multiplier=2, padding="same"),
                layers.DepthwiseConv2D(3),
                layers.ZeroPadding2D(1),
                layers.Conv2DTranspose(2, 3, strides=2),
                layers.UpSampling2D(),
                layers.Cropping2D(2),
                layers.PReLU(shared_axes=[1, 2]),
                layers.LayerNormalization(),
                layers.Reshape((-1, 2)),
                layers.Conv1D(2, 3, dilation_rate=2, padding="same"),
                layers.MaxPooling1D(),
                layers.GlobalAveragePooling1D(),
                layers.Dense(2),
                layers.Rescaling(np.array([0.5, 2.0], np.float32), offset=1.0),
            ]
        )
        models = {
            "cnn": (trained, x[:2]),
            "functional": (functional, rng.random((2, 4), dtype=np.float32)),
            "nested": (nested, rng.random((2, 6, 6, 2), dtype=np.float32)),
            "newer-layers": (newer, rng.random((2, 8, 8, 2), dtype=np.float32)),
        }
        found = []
        for label, save in self.seed_models():
            model, sample = models[label.split("-weights")[0]]
            path = os.path.join(directory, f"seed-{label}{self.suffix}")
            self.save(model, path, save)
            with open(path, "rb") as file:
                content = file.read()
            twin = keras.models.clone_model(model)  # same architecture, for load_weights
            found.append((label, content, {"twin": twin, "sample": sample, "kind": save}))
        return found

    def load(self, path, context, rng):
        from cnnlab.keras import saving

        how = int(rng.integers(6))
        if how == 0:
            saving.load_metadata(path, max_bytes=FUZZ_MAX_BYTES)
        elif how == 1:
            context["twin"].load_weights(path, max_bytes=FUZZ_MAX_BYTES)
        else:
            return saving.load_model(path, compile=how % 2 == 0, max_bytes=FUZZ_MAX_BYTES)

    def mutators(self):
        return {
            "json-types": self.json_types,
            "json-nesting": self.json_nesting,
            "json-syntax": self.json_syntax,
            "model-nesting": self.model_nesting,
            "layer-count": self.layer_count,
            "config-values": self.config_values,
            "declared-sizes": self.declared_sizes,
            "npy-header": self.npy_header,
            "zip-method": self.zip_method,
            "zip-flags": self.zip_flags,
            "zip-sizes": self.zip_sizes,
            "zip-structure": self.zip_structure,
            "decompression-bomb": self.decompression_bomb,
            "byte-flips": byte_flips,
        }

    # -- helpers --
    @staticmethod
    def _with_member(content, name, new_content, method=None):
        members = unpack_zip(content)
        for index, m in enumerate(members):
            if m.name == name.encode():
                members[index] = make_member(name, new_content, m.method if method is None else method)
        return pack_zip(members)

    @staticmethod
    def _member(content, name):
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return archive.read(name)

    def _json_members(self, content):
        names = zipfile.ZipFile(io.BytesIO(content)).namelist()
        return [n for n in ("metadata.json", "config.json") if n in names]

    # -- JSON: types, nesting, syntax --
    def json_types(self, rng, content):
        name = pick(rng, self._json_members(content))
        document = json.loads(self._member(content, name))
        for _ in range(int(rng.integers(1, 4))):
            paths = json_paths(document)
            path = pick(rng, paths[1:] or paths)
            action = int(rng.integers(4))
            if action == 0 and path:  # delete the node
                parent = document
                for key in path[:-1]:
                    parent = parent[key]
                del parent[path[-1]]
            else:
                document = replace_at(document, path, pick_value(rng, WRONG_TYPED))
        return self._with_member(content, name, dumps(document))

    def json_nesting(self, rng, content):
        name = pick(rng, self._json_members(content))
        text = self._member(content, name).decode()
        depth = pick(rng, [60, 127, 128, 129, 200, 1000, 5000, 100_000])
        if rng.random() < 0.3:
            return self._with_member(content, name, deep(rng, depth).encode())
        document = json.loads(text)
        paths = json_paths(document)
        path = pick(rng, paths[1:] or paths)
        marker = "__DEEP__"
        document = replace_at(document, path, marker)
        return self._with_member(content, name, dumps(document).replace(b'"__DEEP__"', deep(rng, depth).encode()))

    def json_syntax(self, rng, content):
        name = pick(rng, self._json_members(content))
        text = self._member(content, name)
        action = int(rng.integers(10))
        if action == 0:
            text = text[: int(rng.integers(len(text) + 1))]
        elif action == 9:  # a string left open, full of escaped quotes (and brackets)
            run = pick(rng, [b'\\"', b'\\"[', b"\\\\"]) * int(rng.integers(1, 300_000))
            at = text.index(b'"')
            text = text[: at + 1] + run + (text[at + 1 :] if rng.random() < 0.5 else b"")
        elif action == 1:
            at = int(rng.integers(len(text) + 1))
            text = text[:at] + bytes(rng.integers(0, 256, int(rng.integers(1, 8)), dtype=np.uint8)) + text[at:]
        elif action == 2:
            text = text.replace(b"3", b"1e999999", 1)
        elif action == 3:
            text = text.replace(b"3", b"9" * int(rng.integers(4000, 20000)), 1)
        elif action == 4:
            text = text.replace(b"3", pick(rng, [b"NaN", b"Infinity", b"-Infinity", b"1e308", b"-0"]))
        elif action == 5:
            text = b"\xef\xbb\xbf" + text
        elif action == 6:
            text = text.replace(b'"', b'"\\ud800', 1)
        elif action == 7:
            text = text.replace(b"{", b'{"format": 1, "format": ', 1)
        else:
            text = text.replace(b'"', b"", 1)
        return self._with_member(content, name, text)

    # -- the model inside --
    def model_nesting(self, rng, content):
        config = json.loads(self._member(content, "config.json"))
        levels = pick(rng, [2, 8, 31, 32, 33, 40, 100, 1000])
        opening = '{"class_name": "Sequential", "config": {"name": "s", "layers": ['
        closing = "]}}"
        if rng.random() < 0.5:  # the whole model inside `levels` Sequentials
            compile_config = config.pop("compile_config", None)
            text = opening * levels + dumps(config).decode() + closing * levels
            return self._with_member(
                content, "config.json", (text[:-1] + ', "compile_config": ' + json.dumps(compile_config) + "}").encode()
            )
        layer_paths = [p for p in json_paths(config) if len(p) >= 2 and p[-2] == "layers"]
        if layer_paths:  # one layer wrapped in `levels` Sequentials
            path = pick(rng, layer_paths)
            layer = dumps(_at(config, path)).decode()
            config = replace_at(config, path, "__NESTED__")
            text = dumps(config).decode().replace('"__NESTED__"', opening * levels + layer + closing * levels)
            return self._with_member(content, "config.json", text.encode())
        return self._with_member(content, "config.json", dumps(config))

    def layer_count(self, rng, content):
        """Many layers, or many calls of one layer: loading time grows with them."""
        config = json.loads(self._member(content, "config.json"))
        count = pick(rng, [50, 500, 2100, 9000, 50_000])
        dropout = pick(
            rng,
            [
                {"class_name": "Dropout", "config": {"rate": 0.5}},
                {"class_name": "ReLU", "config": {}},
                {"class_name": "Activation", "config": {"activation": "relu"}},
            ],
        )
        settings = config["config"]
        if "nodes" in settings:  # functional: one shared layer called `count` times in a chain
            settings["layers"].append(dropout)
            layer = len(settings["layers"]) - 1
            source = len(settings["nodes"]) - 1
            for _ in range(count):
                settings["nodes"].append([layer, source])
                source = len(settings["nodes"]) - 1
            settings["outputs"] = [source]
        elif settings.get("layers") and "inbound_nodes" in settings["layers"][-1]:  # Keras's functional format
            last = settings["layers"][-1]
            relu = {**dropout, "name": "chain", "inbound_nodes": []}
            source = [last["name"], len(last["inbound_nodes"]) - 1, 0]
            for index in range(count):
                tensor = {"class_name": "__keras_tensor__", "config": {"keras_history": source}}
                relu["inbound_nodes"].append({"args": [tensor], "kwargs": {}})
                source = ["chain", index, 0]
            settings["layers"].append(relu)
            settings["output_layers"] = source
        else:  # Sequential: `count` more layers, named automatically
            at = int(rng.integers(1, len(settings["layers"]) + 1))
            settings["layers"][at:at] = [dropout] * count
        return self._with_member(content, "config.json", dumps(config))

    def config_values(self, rng, content):
        config = json.loads(self._member(content, "config.json"))
        layers = [p for p in json_paths(config) if isinstance(_at(config, p), dict) and "class_name" in _at(config, p)]
        for _ in range(int(rng.integers(1, 3))):
            layer = _at(config, pick(rng, layers))
            settings = layer.get("config")
            if not isinstance(settings, dict):
                continue
            present = [key for key in settings if key in CONFIG_VALUES_TYPED]
            if present and rng.random() < 0.6:  # a huge value of the right type
                key = pick(rng, present)
                settings[key] = pick_value(rng, CONFIG_VALUES_TYPED[key])
            else:  # anything, anywhere
                settings[pick(rng, [*present, *CONFIG_KEYS])] = pick_value(rng, CONFIG_VALUES_ANY)
            if rng.random() < 0.15:
                layer["build_config"] = {
                    "input_shape": pick_value(rng, [*CONFIG_VALUES_TYPED["batch_shape"], *CONFIG_VALUES_ANY])
                }
        if rng.random() < 0.2:  # a huge layer added to the stack
            stack = config.get("config", {}).get("layers")
            if isinstance(stack, list):
                stack.insert(
                    int(rng.integers(1, len(stack) + 1)),
                    pick(rng, [{"class_name": "Dense", "config": {"units": 100_000}},
                               {"class_name": "Conv2D", "config": {"filters": 10**8, "kernel_size": 3}},
                               {"class_name": "Conv2D", "config": {"filters": 1, "kernel_size": 3, "padding": "same",
                                                                   "dilation_rate": 2**40}}]),
                )  # fmt: skip
        return self._with_member(content, "config.json", dumps(config))

    def applies(self, kind, label):
        return label != "cnn-weights" or kind not in ("config-values", "model-nesting", "layer-count")

    def declared_sizes(self, rng, content):
        metadata = json.loads(self._member(content, "metadata.json"))
        entries = metadata.get("weights", [])
        action = int(rng.integers(6))
        if action == 0 and entries:
            pick(rng, entries)["shape"] = pick(rng, [[10**8], [2**40, 2**40], [2**62, 4], [0], [1], [3, 3, 1, 5]])
        elif action == 1 and entries:
            del entries[int(rng.integers(len(entries)))]
        elif action == 2 and entries:
            entries.append(dict(pick(rng, entries)))
        elif action == 3 and entries:
            pick(rng, entries)["dtype"] = pick(rng, ["float64", "int8", "object", "complex64", "<U10", "V8"])
        elif action == 4:
            metadata["optimizer_state"] = list(metadata.get("optimizer_state", [])) + ["0/m"] * int(rng.integers(1, 9))
        else:  # an npy declaring more than its data
            return self._npz_rewrite(rng, content, lambda rng, npy: npy_with_header(
                npy, f"{{'descr': '<f4', 'fortran_order': False, 'shape': ({pick(rng, ['10**8', '100000000', '2**62', '4294967296, 4294967296'])},), }}"))  # fmt: skip
        return self._with_member(content, "metadata.json", dumps(metadata))

    # -- the weights' npz --
    def _npz_rewrite(self, rng, content, change):
        npz = unpack_zip(self._member(content, "weights.npz"))
        target = pick(rng, npz)
        new = change(rng, member_content(target))
        npz[npz.index(target)] = make_member(target.name, new, target.method)
        return self._with_member(content, "weights.npz", pack_zip(npz), method=zipfile.ZIP_STORED)

    def npy_header(self, rng, content):
        def change(rng, npy):
            action = int(rng.integers(5))
            if action == 0:
                return npy[int(rng.integers(1, 7)) :]  # no (or a partial) magic
            if action == 1:
                return npy[:6] + bytes(rng.integers(0, 256, 2, dtype=np.uint8)) + npy[8:]
            if action == 2:
                return npy[:8] + struct.pack("<H", pick(rng, [0, 1, 65535, len(npy), 10])) + npy[10:]
            if action == 3:
                return npy[: int(rng.integers(len(npy)))]
            return npy_with_header(npy, pick(rng, NPY_HEADERS))

        if rng.random() < 0.1:  # a whole npz member that is not npy at all
            return self._npz_rewrite(rng, content, lambda rng, npy: b"not an array" * int(rng.integers(1, 50)))
        return self._npz_rewrite(rng, content, change)

    # -- the zip archive --
    def zip_method(self, rng, content):
        members = unpack_zip(content)
        m = pick(rng, members)
        method = pick(rng, [0, 8, 12, 14, 93, 95, 98, 99, 1, 6, 9, 65535])
        plain = member_content(m)
        if rng.random() < 0.5 and method in (12, 14):  # really compressed that way, perhaps damaged
            import bz2
            import lzma

            if method == 12:
                payload = bz2.compress(plain)
            else:
                compressor = lzma.LZMACompressor(lzma.FORMAT_RAW, filters=[{"id": lzma.FILTER_LZMA1}])
                body = compressor.compress(plain) + compressor.flush()
                props = lzma._encode_filter_properties({"id": lzma.FILTER_LZMA1})
                payload = struct.pack("<BBH", 9, 4, len(props)) + props + body
            if rng.random() < 0.5:
                payload = _flip(rng, payload, 3)
            m.payload, m.compress_size = payload, len(payload)
        where = int(rng.integers(3))
        if where != 1:
            m.method = method
        if where != 0:
            m.local["method"] = method
        return pack_zip(members)

    def zip_flags(self, rng, content):
        members = unpack_zip(content)
        m = pick(rng, members)
        bits = pick(rng, [0x1, 0x8, 0x20, 0x40, 0x800, 0x2000, 0x1 | 0x40, int(rng.integers(65536))])
        if bits & 0x800 and rng.random() < 0.5:
            m.name = m.name[:2] + b"\xff\xfe" + m.name[2:]  # "UTF-8" names that are not
        where = int(rng.integers(3))
        if where != 1:
            m.flags ^= bits
        if where != 0:
            m.local["flags"] = m.flags ^ bits
        return pack_zip(members)

    def zip_sizes(self, rng, content):
        members = unpack_zip(content)
        m = pick(rng, members)
        action = int(rng.integers(8))
        value = pick(rng, [0, 1, 2**31, 2**32 - 1, 3 * 2**30, m.file_size + 1, max(m.file_size - 1, 0), 10**9])
        if action == 0:
            m.file_size = value
        elif action == 1:
            m.compress_size = value
        elif action == 2:
            m.local[pick(rng, ["file_size", "compress_size"])] = value
        elif action == 3:
            m.crc ^= int(rng.integers(1, 2**32))
        elif action == 4:
            m.header_offset = pick(rng, [0, 1, 2**31, 2**32 - 1, len(content), len(content) + 10])
        elif action == 5:
            return pack_zip(
                members,
                end_record={
                    pick(rng, ["entries", "directory_size", "directory_offset", "comment_length"]): pick(
                        rng, [0, 1, 65535, 2**31, 2**32 - 1, len(content)]
                    )
                },
            )
        elif action == 6:  # a zip64 extra field, consistent or not
            m.extra = struct.pack("<HHQQ", 1, 16, value, value)
            m.file_size = m.compress_size = 0xFFFFFFFF
        else:
            m.local["name"] = m.name + b"x"
        return pack_zip(members)

    def zip_structure(self, rng, content):
        members = unpack_zip(content)
        action = int(rng.integers(8))
        if action == 0:
            return content[: int(rng.integers(len(content)))]
        if action == 1:
            members.append(pick(rng, members))
        elif action == 2:
            del members[int(rng.integers(len(members)))]
        elif action == 3:
            m = pick(rng, members)
            m.name = pick(rng, [b"", b"/", b"../metadata.json", b"weights.npz/x", m.name.upper(), b"a" * 300])
        elif action == 4:
            members.insert(0, make_member(pick(rng, ["junk.bin", "assets/x", "model.weights.h5"]), os.urandom(64)))
        elif action == 5:
            return content + os.urandom(int(rng.integers(1, 200)))
        elif action == 6:
            return os.urandom(int(rng.integers(1, 200))) + content
        else:
            return pack_zip([], comment=content[: int(rng.integers(1, 100))])
        return pack_zip(members)

    def decompression_bomb(self, rng, content):
        members = unpack_zip(content)
        mebibytes = pick(rng, [8, 64, 256, 1024, 3072])
        deflated, crc = deflate_with_zeros(b"", mebibytes)
        where = int(rng.integers(4))
        if where == 3:  # inside the weights' npz
            npz = unpack_zip(self._member(content, "weights.npz"))
            target = pick(rng, npz)
            bomb = Member(target.name, deflated, 8, 0, crc, len(deflated), mebibytes * MIB)
            npz[npz.index(target)] = bomb
            return self._with_member(content, "weights.npz", pack_zip(npz), method=zipfile.ZIP_STORED)
        name = pick(rng, [m.name for m in members] + [b"zeros.bin"])
        declared = pick(rng, [mebibytes * MIB, 1000, 2**32 - 1])
        bomb = Member(name, deflated, 8, 0, crc, len(deflated), declared)
        members = [bomb if m.name == name else m for m in members]
        if name == b"zeros.bin":
            members.append(bomb)
        return pack_zip(members)


class IDXFiles(Family):
    """MNIST-style IDX files, raw and gzip-compressed."""

    name = "idx"

    def documented_error(self):
        from cnnlab.datasets import IDXFormatError

        return IDXFormatError

    def seeds(self, directory):
        from cnnlab.datasets import write_idx

        rng = np.random.default_rng(0)
        arrays = {
            "labels": (np.arange(20) % 10).astype(np.uint8),
            "images": rng.integers(0, 256, (5, 6, 6), dtype=np.uint8),
            "int16": rng.integers(-300, 300, (4, 3), dtype=np.int16),
            "float32": rng.random((2, 3, 4), dtype=np.float32),
            "float64": rng.random(7),
            "int32": rng.integers(-(2**31), 2**31 - 1, 5, dtype=np.int32),
        }
        found = []
        for label, array in arrays.items():
            for ending in ("", ".gz"):
                path = os.path.join(directory, f"seed-{label}-idx{ending}")
                write_idx(path, array)
                with open(path, "rb") as file:
                    found.append((label + ending, file.read(), {"ndim": array.ndim}))
        return found

    def load(self, path, context, rng):
        from cnnlab.datasets import read_idx

        read_idx(path, ndim=context["ndim"] if rng.random() < 0.5 else None, max_bytes=FUZZ_MAX_BYTES)

    def mutators(self):
        return {
            "idx-header": self.header,
            "idx-sizes": self.sizes,
            "gzip-structure": self.gzip_structure,
            "decompression-bomb": self.bomb,
            "byte-flips": byte_flips,
        }

    @staticmethod
    def _plain(content):
        return gzip.decompress(content) if content[:2] == b"\x1f\x8b" else content

    @staticmethod
    def _like(content, plain):
        return gzip.compress(plain, mtime=0) if content[:2] == b"\x1f\x8b" else plain

    def header(self, rng, content):
        plain = bytearray(self._plain(content))
        action = int(rng.integers(6))
        if action == 0:
            plain[int(rng.integers(2))] = int(rng.integers(1, 256))
        elif action == 1:
            plain[2] = pick(rng, [0, 7, 0x0A, 0x0F, 0xFF, int(rng.integers(256))])
        elif action == 2:
            plain[3] = pick(rng, [0, 1, 2, 3, 4, 100, 255])
        elif action == 3 and plain[3]:
            at = 4 + 4 * int(rng.integers(plain[3]))
            plain[at : at + 4] = struct.pack(">I", pick(rng, [0, 1, 2**32 - 1, 2**31, 10**9, 60000, 28]))
        elif action == 4:
            plain = plain[: int(rng.integers(4 + 4 * plain[3]))]
        else:
            plain[3] = min(plain[3] + int(rng.integers(1, 4)), 255)
        return self._like(content, bytes(plain))

    def sizes(self, rng, content):
        plain = self._plain(content)
        action = int(rng.integers(3))
        if action == 0:
            plain = plain[: int(rng.integers(len(plain)))]
        elif action == 1:
            plain = plain + bytes(rng.integers(0, 256, int(rng.integers(1, 5000)), dtype=np.uint8))
        else:
            header_end = 4 + 4 * plain[3]
            sizes = list(struct.unpack(f">{plain[3]}I", plain[4:header_end]))
            if sizes:
                sizes[int(rng.integers(len(sizes)))] += int(pick(rng, [-1, 1, 1000, 2**20]))
            plain = plain[:4] + struct.pack(f">{len(sizes)}I", *(s % 2**32 for s in sizes)) + plain[header_end:]
        return self._like(content, plain)

    def gzip_structure(self, rng, content):
        packed = bytearray(gzip.compress(self._plain(content), mtime=0))
        action = int(rng.integers(8))
        if action == 0:
            packed[2] = pick(rng, [0, 7, 9, 255])  # compression method
        elif action == 1:
            packed[3] = pick(rng, [0x04, 0x08, 0x10, 0x02, 0xE0, 0x1F])  # FEXTRA, FNAME, FCOMMENT, FHCRC, reserved
        elif action == 2:
            packed = packed[: int(rng.integers(2, len(packed)))]
        elif action == 3:
            packed[-8 + int(rng.integers(8))] ^= 0xFF  # CRC or ISIZE
        elif action == 4:
            packed += gzip.compress(bytes(rng.integers(0, 256, 30, dtype=np.uint8)), mtime=0)  # a second member
        elif action == 5:
            packed += bytes(rng.integers(0, 256, int(rng.integers(1, 40)), dtype=np.uint8))
        elif action == 6:
            at = int(rng.integers(10, len(packed) - 8))
            packed[at] ^= 1 << int(rng.integers(8))
        else:
            packed[3] = 0x04
            packed[10:10] = struct.pack("<H", pick(rng, [0, 1, 65535]))  # an FEXTRA length, perhaps past the end
        return bytes(packed)

    def bomb(self, rng, content):
        plain = self._plain(content)
        mebibytes = pick(rng, [1, 16, 128, 1024, 3072])
        if rng.random() < 0.5:  # a valid header and data, then zeros
            deflated, crc = deflate_with_zeros(plain, mebibytes)
            return gzip_frame(deflated, crc, len(plain) + mebibytes * MIB)
        # a header declaring all of the zeros (or more), in a small file
        count = mebibytes * MIB * pick(rng, [1, 2, 1000])
        header = b"\x00\x00\x08\x01" + struct.pack(">I", min(count, 2**32 - 1))
        deflated, crc = deflate_with_zeros(header, mebibytes)
        return gzip_frame(deflated, crc, len(header) + mebibytes * MIB)


def _at(document, path):
    for key in path:
        document = document[key]
    return document


def _flip(rng, content, count):
    content = bytearray(content)
    for _ in range(count):
        if content:
            content[int(rng.integers(len(content)))] ^= 1 << int(rng.integers(8))
    return bytes(content)


def byte_flips(rng, content):
    return _flip(rng, content, int(rng.integers(1, 9)))


# ---- HDF5 ----------------------------------------------------------------------------------------


def h5_structures(content):
    """Where the structures of an h5py-written file (superblock version 0, 8-byte addresses) are:
    ``{"headers": [(position, [(type, data position, size)])], "TREE"/"SNOD"/"HEAP"/"GCOL": [positions],
    "data": [(position, size)]}``."""
    found = {"headers": [], "data": []}
    for signature in (b"TREE", b"SNOD", b"HEAP", b"GCOL"):
        found[signature.decode()] = [m.start() for m in re.finditer(re.escape(signature), content)]
    addresses = {struct.unpack_from("<Q", content, 64)[0]}
    for node in found["SNOD"]:
        (count,) = struct.unpack_from("<H", content, node + 6)
        for entry in range(count):
            at = node + 8 + entry * 40 + 8
            if at + 8 <= len(content):
                addresses.add(struct.unpack_from("<Q", content, at)[0])
    for address in sorted(a for a in addresses if a + 16 <= len(content)):
        if content[address] != 1:
            continue
        (size,) = struct.unpack_from("<I", content, address + 8)
        blocks, messages = [(address + 16, size)], []
        while blocks and len(messages) < 200:
            start, size = blocks.pop(0)
            at = start
            while at + 8 <= min(start + size, len(content)):
                kind, length = struct.unpack_from("<HH", content, at)
                messages.append((kind, at + 8, length))
                if kind == 0x10 and at + 24 <= len(content):
                    blocks.append(struct.unpack_from("<QQ", content, at + 8))
                if kind == 0x08 and content[at + 8] == 3 and content[at + 9] == 1:
                    found["data"].append(struct.unpack_from("<QQ", content, at + 10))
                at += 8 + length
        found["headers"].append((address, messages))
    return found


U64 = (0, 1, 7, 2**31, 2**32 - 1, 2**63, 2**64 - 1, 10**9)


def _poke(content, position, value, width):
    """``content`` with the little-endian ``width``-byte field at ``position`` set to ``value``."""
    if position < 0 or position + width > len(content):
        return content
    return content[:position] + (value % (1 << (8 * width))).to_bytes(width, "little") + content[position + width :]


def h5_superblock(rng, content):
    field = pick(rng, [(8, 1, [1, 2, 3, 4, 255]), (13, 1, [0, 1, 3, 4, 16, 255]), (14, 1, [0, 2, 5, 255]),
                       (16, 2, [0, 65535]), (24, 8, [*U64, 512]), (40, 8, [*U64, len(content) // 2]),
                       (64, 8, [*U64, len(content), len(content) - 8, 0x38])])  # fmt: skip
    position, width, values = field
    return _poke(content, position, pick(rng, values), width)


def h5_object_header(rng, content):
    structures = h5_structures(content)
    address, messages = pick(rng, structures["headers"])
    action = int(rng.integers(6))
    if action == 0 or not messages:  # the prefix: version, message count, size
        position, width = pick(rng, [(address, 1), (address + 2, 2), (address + 8, 4)])
        return _poke(content, position, pick(rng, [0, 2, 255, 65535, 2**31, len(content)]), width)
    kind, data, length = pick(rng, messages)
    if action == 1:  # the message's type, size or flags
        position, width, values = pick(rng, [(data - 8, 2, [0, 1, 3, 8, 0x10, 0x11, 0x15, 0x18, 0xFFFF]),
                                             (data - 6, 2, [0, 1, 7, length + 8, 65535]),
                                             (data - 4, 1, [0x02, 0x08, 0xFF])])  # fmt: skip
        return _poke(content, position, pick(rng, values), width)
    continuations = [(d, n) for k, d, n in messages if k == 0x10]
    if action == 2 and continuations:  # a continuation onto itself, beyond the file, or huge
        data, _ = pick(rng, continuations)
        if rng.random() < 0.5:
            return _poke(content, data, pick(rng, [address, data - 8, *U64, len(content) - 4]), 8)
        return _poke(content, data + 8, pick(rng, U64), 8)
    return h5_message(rng, content, kind, data, length, address)


def h5_message(rng, content, kind, data, length, header):
    """A field of the message's own data, chosen knowing what the message holds."""
    if kind == 0x01:  # dataspace: rank, a dimension, the max-dims flag
        position, width, values = pick(rng, [(data + 1, 1, [0, 2, 5, 32, 33, 255]), (data + 2, 1, [1, 2, 255]),
                                             (data + 8, 8, [0, 2**20, 10**9, 2**40, 2**63, 2**64 - 1])])  # fmt: skip
    elif kind == 0x03:  # datatype: class, size, bit fields
        position, width, values = pick(rng, [(data, 1, [0x10, 0x11, 0x13, 0x16, 0x19, 0x1A, 0x37, 0x1F]),
                                             (data + 4, 4, [0, 1, 3, 16, 2**31]), (data + 1, 1, [0x01, 0x08, 0x41])])  # fmt: skip
    elif kind == 0x08:  # layout: class, address, size
        position, width, values = pick(rng, [(data + 1, 1, [0, 2, 3, 7]), (data + 2, 8, [*U64, header, 0]),
                                             (data + 10, 8, [0, 1, *U64]), (data, 1, [1, 2, 5])])  # fmt: skip
    elif kind == 0x0C:  # attribute: version, the sizes of its name, datatype and dataspace
        position, width, values = pick(rng, [(data, 1, [0, 2, 3, 4]), (data + 2, 2, [0, 1, 200, 65535]),
                                             (data + 4, 2, [0, 1, 65535]), (data + 6, 2, [0, 65535])])  # fmt: skip
    elif kind == 0x11:  # symbol table: the B-tree and local heap addresses
        position, width, values = data + 8 * int(rng.integers(2)), 8, [*U64, header, data - 8]
    else:
        position, width, values = data + int(rng.integers(max(length, 1))), 1, [0, 1, 0x7F, 0xFF]
    return _poke(content, position, pick(rng, values), width)


def h5_nodes(rng, content):
    """B-tree and symbol nodes, local and global heaps: counts, levels, addresses, sizes."""
    structures = h5_structures(content)
    kinds = [k for k in ("TREE", "SNOD", "HEAP", "GCOL") if structures[k]]
    kind = pick(rng, kinds)
    at = pick(rng, structures[kind])
    headers = [address for address, _ in structures["headers"]] or [0]
    if kind == "TREE":
        position, width, values = pick(rng, [(at + 4, 1, [1, 2, 255]), (at + 5, 1, [1, 2, 64, 255]),
                                             (at + 6, 2, [0, 2, 65535]), (at + 24 + 8, 8, [at, *U64, pick(rng, headers)])])  # fmt: skip
    elif kind == "SNOD":
        entry = at + 8 + 40 * int(rng.integers(2))
        position, width, values = pick(rng, [(at + 6, 2, [0, 1000, 65535]), (entry, 8, [*U64, 2**20]),
                                             (entry + 8, 8, [at, *U64, pick(rng, headers)]), (entry + 16, 4, [2, 3, 2**31])])  # fmt: skip
    elif kind == "HEAP":
        position, width, values = pick(rng, [(at + 8, 8, [0, 1, *U64]), (at + 24, 8, [*U64, at, 0])])
    else:
        position, width, values = pick(rng, [(at + 8, 8, [0, 8, 16, *U64]), (at + 16, 2, [0, 1, 65535]),
                                             (at + 24, 8, [0, 1, 2**31, *U64])])  # fmt: skip
    return _poke(content, position, pick(rng, values), width)


def h5_truncation(rng, content):
    return content[: int(rng.integers(len(content)))]


def h5_data(rng, content):
    """Bytes flipped inside datasets' data: no checksum covers them, the file loads with the new values."""
    regions = [(a, n) for a, n in h5_structures(content)["data"] if n and a + n <= len(content)]
    if not regions:
        return _flip(rng, content, 1)
    data = bytearray(content)
    for _ in range(int(rng.integers(1, 4))):
        address, size = pick(rng, regions)
        data[address + int(rng.integers(size))] ^= 1 << int(rng.integers(8))
    return bytes(data)


H5_MUTATORS = {
    "h5-superblock": h5_superblock,
    "h5-object-header": h5_object_header,
    "h5-nodes": h5_nodes,
    "h5-truncation": h5_truncation,
    "h5-data": h5_data,
}


class KerasFiles(ModelFiles):
    """Keras 3 ``.keras`` archives: metadata.json, config.json and model.weights.h5 (HDF5)."""

    name = "keras"

    def save(self, model, path, how):
        model.save(path)

    def seed_models(self):
        return ("cnn", "save"), ("functional", "save"), ("nested", "save"), ("newer-layers", "save")

    def _json_members(self, content):
        return ["config.json"] * 3 + ["metadata.json"]  # load_model reads config.json first and metadata.json

    def mutators(self):
        found = {k: v for k, v in super().mutators().items() if k not in ("declared-sizes", "npy-header")}
        for name, mutate in H5_MUTATORS.items():
            found[name] = self._in_weights(mutate)
        found["decompression-bomb"] = self.decompression_bomb_h5
        return found

    def _in_weights(self, mutate):
        def mutator(rng, content):
            weights = mutate(rng, self._member(content, "model.weights.h5"))
            return self._with_member(content, "model.weights.h5", weights)

        return mutator

    def decompression_bomb_h5(self, rng, content):
        members = unpack_zip(content)
        mebibytes = pick(rng, [8, 64, 256, 1024, 3072])
        deflated, crc = deflate_with_zeros(b"", mebibytes)
        name = pick(rng, [m.name for m in members])
        bomb = Member(name, deflated, 8, 0, crc, len(deflated), pick(rng, [mebibytes * MIB, 1000, 2**32 - 1]))
        return pack_zip([bomb if m.name == name else m for m in members])

    def load(self, path, context, rng):
        from cnnlab.keras import saving

        how = int(rng.integers(8))  # load_model reads every member; the others read one or two
        if how == 0:
            saving.load_metadata(path, max_bytes=FUZZ_MAX_BYTES)
        elif how == 1:
            context["twin"].load_weights(path, max_bytes=FUZZ_MAX_BYTES)
        else:
            return saving.load_model(path, compile=how % 2 == 0, max_bytes=FUZZ_MAX_BYTES)


class H5Files(ModelFiles):
    """Legacy ``.h5`` model files (model_config, model_weights, optimizer_weights), cnnlab's and tf.keras 2's."""

    name = "h5"
    suffix = ".h5"

    def save(self, model, path, how):
        model.save(path)

    def seed_models(self):
        return ("cnn", "save"), ("functional", "save"), ("nested", "save")

    def seeds(self, directory):
        found = super().seeds(directory)
        fixture = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "keras", "data")
        with open(os.path.join(fixture, "tf_keras_2.15_cnn.h5"), "rb") as file:
            found.append(("tf-keras-2", file.read(), {"sample": np.zeros((2, 28, 28, 1), np.float32)}))
        return found

    def mutators(self):
        return {**H5_MUTATORS, "byte-flips": byte_flips}

    def load(self, path, context, rng):
        from cnnlab.keras import saving

        if "twin" in context and rng.random() < 0.3:
            context["twin"].load_weights(path, max_bytes=FUZZ_MAX_BYTES)
            return None
        return saving.load_model(path, compile=bool(rng.integers(2)), max_bytes=FUZZ_MAX_BYTES)


class WeightsH5Files(H5Files):
    """Weights files: Keras 3's ``.weights.h5`` and tf.keras 2's ``save_weights("w.h5")``."""

    name = "weights-h5"
    suffix = ".weights.h5"

    def save(self, model, path, how):
        model.save_weights(path if how == "save_weights" else path.replace(".weights.h5", ".h5"))
        if how != "save_weights":
            os.replace(path.replace(".weights.h5", ".h5"), path)

    def seed_models(self):
        return (
            ("cnn-weights", "save_weights"),
            ("functional-weights", "save_weights"),
            (
                "nested-weights",
                "save_weights",
            ),
            ("newer-layers-weights", "save_weights"),
            ("cnn-weights-tf-keras-2", "legacy"),
        )

    def seeds(self, directory):
        return ModelFiles.seeds(self, directory)

    def load(self, path, context, rng):
        context["twin"].load_weights(path, max_bytes=FUZZ_MAX_BYTES)


FAMILIES = {family.name: family for family in (ModelFiles, KerasFiles, H5Files, WeightsH5Files, IDXFiles)}


# ---- running -------------------------------------------------------------------------------------


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout(f"no result after {CPU_SECONDS_PER_FILE} s of CPU time")


def _address_space():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize in /proc/self/status")


def run_child(family_name, first, count, seed, report):
    """Load ``count`` mutants (numbers ``first``...) of one family here; one JSON line per file to ``report``."""
    family = FAMILIES[family_name]()
    documented = family.documented_error()
    with tempfile.TemporaryDirectory(prefix=f"cnnlab-fuzz-{family_name}-") as directory:
        seeds = family.seeds(directory)
        mutators = family.mutators()
        classes = sorted(mutators)
        deflated_mib_of_zeros()  # the harness's own memory, before the limit
        limit = _address_space() + MEMORY_ALLOWANCE
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        signal.signal(signal.SIGPROF, _alarm)
        path = os.path.join(directory, "mutant")
        for number in range(first, first + count):
            rng = np.random.default_rng([seed, number])
            kind = classes[number % len(classes)]
            candidates = [seed_file for seed_file in seeds if family.applies(kind, seed_file[0])]
            label, content, context = candidates[int(rng.integers(len(candidates)))]
            mutant = mutators[kind](rng, content)  # a failure here is the harness's: it stops the run
            report.write(json.dumps({"started": number, "class": kind, "seed": label}) + "\n")
            report.flush()
            with open(path, "wb") as file:
                file.write(mutant)
            outcome, detail = _load_one(family, path, context, rng, documented)
            report.write(
                json.dumps({"number": number, "class": kind, "seed": label, "outcome": outcome, "detail": detail})
                + "\n"
            )
            report.flush()


def _load_one(family, path, context, rng, documented):
    """``(outcome, detail)``: 'loaded', 'documented', or 'escape' with what escaped."""
    signal.setitimer(signal.ITIMER_PROF, CPU_SECONDS_PER_FILE)
    try:
        model = family.load(path, context, rng)
        if model is not None and "sample" in context:
            try:
                model.predict(context["sample"], verbose=0)
            except ValueError:
                pass  # the mutant describes another input shape: the caller's data does not fit it
        return "loaded", ""
    except documented as error:
        if path not in str(error):
            return "escape", f"{type(error).__name__} without the file's name: {str(error)[:300]}"
        return "documented", str(error).split(path, 1)[1].lstrip("': ")
    except Exception as error:  # noqa: BLE001 - the harness records whatever got out
        return "escape", f"{type(error).__name__}: {str(error)[:300]}"
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)


@dataclasses.dataclass
class Tally:
    files: int = 0
    loaded: int = 0
    documented: int = 0
    escapes: int = 0
    examples: list = dataclasses.field(default_factory=list)
    problems: collections.Counter = dataclasses.field(default_factory=collections.Counter)


def run_family(family_name, count, seed, timeout=None):
    """Run ``count`` mutants of one family in child processes; ``{class: Tally}``.

    A child that dies (a crash of the interpreter, a hang past ``timeout``) is
    counted as an escape of the file it was loading, and a new child carries on.
    """
    tallies = {}
    first = 0
    while first < count:
        command = [sys.executable, __file__, "--child", family_name, "--first", str(first),
                   "--files", str(count - first), "--seed", str(seed)]  # fmt: skip
        try:
            result = subprocess.run(
                command, capture_output=True, text=True, timeout=timeout, check=False, env=_child_environment()
            )
            output, failure = result.stdout, (None if result.returncode == 0 else f"exit {result.returncode}")
            stderr = result.stderr
        except subprocess.TimeoutExpired as expired:
            output = expired.stdout.decode() if isinstance(expired.stdout, bytes) else (expired.stdout or "")
            failure, stderr = f"no result within {timeout} s", ""
        started = None
        for line in output.splitlines():
            if not line.startswith("{"):
                continue
            record = json.loads(line)
            if "started" in record:
                started = record
                continue
            started = None
            tally = tallies.setdefault(record["class"], Tally())
            tally.files += 1
            field = {"loaded": "loaded", "documented": "documented", "escape": "escapes"}[record["outcome"]]
            setattr(tally, field, getattr(tally, field) + 1)
            if record["outcome"] == "documented":
                tally.problems[re.sub(r"\d+", "N", record["detail"])[:90]] += 1
            if record["outcome"] == "escape" and len(tally.examples) < 3:
                tally.examples.append(f"#{record['number']} ({record['seed']}): {record['detail']}")
            first = record["number"] + 1
        if failure is None:
            break
        if started is None:  # died before its first file: nothing to blame on a mutant
            raise RuntimeError(f"the fuzz child failed: {failure}\n{stderr[-3000:]}")
        tally = tallies.setdefault(started["class"], Tally())
        tally.files += 1
        tally.escapes += 1
        tally.examples.append(f"#{started['started']} ({started['seed']}): the process died: {failure}")
        first = started["started"] + 1
    return tallies


def _child_environment():
    """This environment, with the folder of ``forged_files`` (tests/) on the child's import path."""
    tests = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [tests, os.environ.get("PYTHONPATH")]))}


def format_table(family_name, tallies, examples=False):
    lines = [f"{family_name}: {'class':<20} {'files':>6} {'loaded':>7} {'documented':>11} {'escapes':>8}"]
    for kind in sorted(tallies):
        t = tallies[kind]
        lines.append(f"{family_name}: {kind:<20} {t.files:>6} {t.loaded:>7} {t.documented:>11} {t.escapes:>8}")
        lines.extend(f"{family_name}:     {example}" for example in t.examples)
        if examples:
            lines.extend(f"{family_name}:     {n:>5} x {problem}" for problem, n in t.problems.most_common(12))
    total = Tally(*(sum(getattr(t, f) for t in tallies.values()) for f in ("files", "loaded", "documented", "escapes")))
    lines.append(
        f"{family_name}: {'all':<20} {total.files:>6} {total.loaded:>7} {total.documented:>11} {total.escapes:>8}"
    )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--family", choices=sorted(FAMILIES), action="append", help="default: every family")
    parser.add_argument("--files", type=int, default=10_000, help="mutants per family (default 10,000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--examples", action="store_true", help="also list the documented errors met, per class")
    parser.add_argument("--child", choices=sorted(FAMILIES), help=argparse.SUPPRESS)
    parser.add_argument("--first", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        run_child(args.child, args.first, args.files, args.seed, sys.stdout)
        return 0
    escapes = 0
    for family_name in args.family or sorted(FAMILIES):
        start = time.perf_counter()
        tallies = run_family(family_name, args.files, args.seed)
        print(format_table(family_name, tallies, args.examples))
        print(f"{family_name}: {args.files} files in {time.perf_counter() - start:.0f} s\n", flush=True)
        escapes += sum(t.escapes for t in tallies.values())
    return 1 if escapes else 0


if __name__ == "__main__":
    sys.exit(main())
