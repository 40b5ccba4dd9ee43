"""The legacy HDF5 model file (``model.save("x.h5")``), as tf.keras 2 and Keras 3 write it.

A whole model (``keras/src/legacy/saving/legacy_h5_format.py``)::

    /                      attributes: keras_version, backend, model_config (JSON:
                           {"class_name", "config"}), training_config (JSON: loss, metrics,
                           optimizer_config), all optional but model_config
    /model_weights         attributes: layer_names, backend, keras_version
    /model_weights/<layer> attribute weight_names ("dense/kernel:0", ...); a dataset per
                           name, at that path inside the layer's group
    /optimizer_weights     attribute weight_names; the optimizer's variables in order

A weights file (``save_weights("x.h5")`` in tf.keras) is ``/model_weights``'s content
at the root.  A layer's weights are its trainable then its non-trainable ones, those
of the layers inside it included.  Names inside the weights groups are matched by
layer name when the model comes from the same file, and by order (the layers that
have weights, in ``model.layers`` order) when weights are loaded into a model built
in code, as tf.keras's ``load_weights`` does.

tf.keras 2 wrote its configs in Keras 2's format (``batch_input_shape``, node lists,
``BatchNormalization(axis=[3])``, optimizers named ``Custom>Adam``, metrics wrapped in
``MeanMetricWrapper``); ``keras2_config`` brings them to what cnnlab reads.
"""

import io
import json
import warnings

import numpy as np

from ._hdf5_reading import Dataset, Group
from ._weights_layout import import_h5py, optimizer_variables
from . import serialization

KERAS_VERSION = "3.15.1"  # the Keras release whose files cnnlab writes (and loads them in its tests)
BACKEND = "cnnlab"
USER_METADATA = "cnnlab_user_metadata"


def legacy_weights(layer):
    """A layer's weights in the legacy order: trainable, then non-trainable (inner layers' included)."""
    return list(layer.trainable_weights) + list(layer.non_trainable_weights)


def _layers_in_order(model):
    Functional = serialization.model_class("Functional")  # noqa: N806 - see model_class
    from .models.functional_config import keras_layer_order

    return keras_layer_order(model) if isinstance(model, Functional) else list(model.layers)


def _weight_names(layer):
    """Names for ``legacy_weights(layer)``, unique within the layer: ``dense/kernel``, ``block/dense/kernel``."""
    names = {}

    def visit(owner, prefix):
        for variable in owner._trainable_variables + owner._non_trainable_variables:
            names.setdefault(id(variable), f"{prefix}{owner.name}/{variable.name}")
        for inner in owner._layers:
            visit(inner, f"{prefix}{owner.name}/")

    visit(layer, "")
    found, seen = [], set()
    for variable in legacy_weights(layer):
        name = names.get(id(variable), f"{layer.name}/{variable.name}")
        while name in seen:
            name += "_"
        seen.add(name)
        found.append(name)
    return found


# ---- writing ----------------------------------------------------------------------------------------


def write_model(model, include_optimizer, op, user_metadata=None):
    """The bytes of a legacy ``.h5`` file holding ``model`` (and its optimizer's state); ``user_metadata``
    (JSON-ready) goes into the root attribute ``cnnlab_user_metadata``, which Keras ignores."""
    from .serialization import serialize_keras_object

    h5py = import_h5py(op)
    architecture = serialize_keras_object(model)
    compile_config = architecture.pop("compile_config", None)
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as file:
        file.attrs["backend"] = BACKEND
        file.attrs["keras_version"] = KERAS_VERSION
        if user_metadata:
            file.attrs[USER_METADATA] = json.dumps(user_metadata).encode("utf-8")
        file.attrs["model_config"] = json.dumps(
            {"class_name": architecture["class_name"], "config": architecture["config"]}
        ).encode("utf-8")
        if compile_config:
            training_config = {key: value for key, value in compile_config.items() if key != "optimizer"}
            training_config["optimizer_config"] = {
                "class_name": compile_config["optimizer"]["class_name"],
                "config": compile_config["optimizer"]["config"],
            }
            file.attrs["training_config"] = json.dumps(training_config).encode("utf-8")
        _write_weights_group(file.create_group("model_weights"), model)
        if include_optimizer and model.compiled:
            if not model.optimizer._slots and model.optimizer._slot_groups:
                model.optimizer.build(model.trainable_weights)
            variables = optimizer_variables(model.optimizer, model)
            group = file.create_group("optimizer_weights")
            names = [f"{model.optimizer.name}/{variable.name}" for variable in variables]
            names = [name if names.count(name) == 1 else f"{name}_{i}" for i, name in enumerate(names)]
            group.attrs["weight_names"] = [name.encode("utf-8") for name in names]
            for name, variable in zip(names, variables):
                group[name] = variable.numpy()
    return buffer.getvalue()


def write_weights(model, op):
    """The bytes of a tf.keras 2 weights file (``save_weights("x.h5")``): the layers' weights at the root."""
    h5py = import_h5py(op)
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as file:
        _write_weights_group(file, model)
    return buffer.getvalue()


def _write_weights_group(group, model):
    layers = _layers_in_order(model)
    group.attrs["layer_names"] = [layer.name.encode("utf-8") for layer in layers]
    group.attrs["backend"] = BACKEND
    group.attrs["keras_version"] = KERAS_VERSION
    for layer in sorted(layers, key=lambda layer: layer.name):
        layer_group = group.create_group(layer.name)
        names = _weight_names(layer)
        layer_group.attrs["weight_names"] = [name.encode("utf-8") for name in names]
        for name, variable in zip(names, legacy_weights(layer)):
            layer_group[name] = variable.numpy()
    top = group.create_group("top_level_model_weights")
    own = model._trainable_variables + model._non_trainable_variables
    top.attrs["weight_names"] = [variable.name.encode("utf-8") for variable in own]
    for variable in own:
        top[variable.name] = variable.numpy()


# ---- reading ---------------------------------------------------------------------------------------------


def is_legacy_model(root):
    return "model_config" in root.attrs


def is_legacy_weights(root):
    return "layer_names" in root.attrs or (
        isinstance(root.members.get("model_weights"), Group) and "layer_names" in root.members["model_weights"].attrs
    )


def metadata(root, fail):
    """``{"keras_version", "user_metadata"}`` of a model file (``user_metadata`` ``{}`` when it has none)."""
    user_metadata = _json_attribute(root, USER_METADATA, fail) if USER_METADATA in root.attrs else {}
    if not isinstance(user_metadata, dict):
        fail(f"its {USER_METADATA} is not a JSON object")
    version = root.attrs.get("keras_version")
    return {"keras_version": version if isinstance(version, str) else None, "user_metadata": user_metadata}


def model_config(root, fail):
    """The architecture in ``model_config``, parsed and brought to what cnnlab reads."""
    return keras2_config(_json_attribute(root, "model_config", fail), fail)


def training_config(root, fail):
    """The compile settings in ``training_config`` as a Keras 3 ``compile_config`` (None when absent)."""
    if "training_config" not in root.attrs:
        return None
    config = _json_attribute(root, "training_config", fail)
    if not isinstance(config, dict):
        fail("its training_config is not a JSON object")
    optimizer = config.get("optimizer_config")
    if isinstance(optimizer, dict) and isinstance(optimizer.get("class_name"), str):
        # tf.keras 2.11+ named its optimizers "Custom>Adam"; legacy configs carry no module.
        optimizer = {"module": "keras.optimizers", **optimizer, "class_name": optimizer["class_name"].split(">")[-1]}
        optimizer_config = dict(optimizer.get("config") or {})
        if optimizer_config.get("decay") in (0, 0.0):  # tf.keras 2's optimizers wrote it unused
            optimizer_config.pop("decay")
        optimizer["config"] = optimizer_config
    loss = config.get("loss")
    if isinstance(loss, dict):
        loss = _keras2_loss(loss)
    return {"optimizer": optimizer, "loss": loss, "metrics": _keras2_metrics(config.get("metrics"))}


def _json_attribute(root, name, fail):
    text = root.attrs.get(name)
    if isinstance(text, np.ndarray) and text.dtype.kind == "u" and text.ndim == 1:
        text = text.tobytes().decode("utf-8", errors="replace")
    if not isinstance(text, str):
        fail(f"its {name} attribute is not text")
    try:
        return json.loads(text)
    except ValueError as error:
        fail(f"its {name} attribute is not valid JSON ({error})")


def keras2_config(config, fail):
    """``config`` with Keras 2's spellings turned into Keras 3's (a copy; the rest as it was)."""

    def convert(value, depth):
        if depth > 200:
            fail("its model_config nests too deeply")
        if isinstance(value, list):
            return [convert(item, depth + 1) for item in value]
        if not isinstance(value, dict):
            return value
        value = {key: convert(item, depth + 1) for key, item in value.items()}
        inner = value.get("config")
        if value.get("class_name") == "BatchNormalization" and isinstance(inner, dict):
            axis = inner.get("axis")
            if isinstance(axis, list) and len(axis) == 1:  # tf.keras 2 wrote the built layer's axis list
                value["config"] = dict(inner, axis=axis[0])
        return value

    return convert(config, 0)


def _keras2_loss(loss):
    inner = dict(loss.get("config") or {})
    if inner.get("reduction") == "auto":  # tf.keras 2's default, Keras 3's sum_over_batch_size
        inner["reduction"] = "sum_over_batch_size"
    return {"module": "keras.losses", **loss, "config": inner}


def _keras2_metrics(metrics):
    """tf.keras 2's metrics (nested per output; MeanMetricWrapper entries) as a flat list for one output."""
    if metrics is None:
        return []
    if isinstance(metrics, list) and len(metrics) == 1 and isinstance(metrics[0], list):
        metrics = metrics[0]
    if not isinstance(metrics, list):
        return [metrics]
    found = []
    for metric in metrics:
        if isinstance(metric, dict) and metric.get("class_name") == "MeanMetricWrapper":
            inner = metric.get("config") or {}
            found.append(inner.get("name") or inner.get("fn"))
        elif isinstance(metric, dict):
            found.append({"module": "keras.metrics", **metric})
        else:
            found.append(metric)
    return found


def _names(group, attribute, fail):
    """A list-of-names attribute (``layer_names``, ``weight_names``), also split in chunks (``weight_names0``...)."""
    if attribute in group.attrs:
        values = group.attrs[attribute]
    else:
        values, index = [], 0
        while f"{attribute}{index}" in group.attrs:
            values += _as_list(group.attrs[f"{attribute}{index}"])
            index += 1
    values = _as_list(values)
    if not all(isinstance(value, str) for value in values):
        fail(f"the {attribute} of '{group.path}' are not names")
    return values


def _as_list(value):
    if isinstance(value, np.ndarray):
        return [] if value.size == 0 else value.tolist()
    if isinstance(value, str):
        return [value]
    return list(value) if isinstance(value, list) else [value]


def _weights_root(root):
    return root.members["model_weights"] if isinstance(root.members.get("model_weights"), Group) else root


def _layer_values(name, layer_group, variables, what, fail):
    weight_names = _names(layer_group, "weight_names", fail)
    if len(weight_names) != len(variables):
        fail(f"{what} has {len(variables)} weights, but the file holds {len(weight_names)} for '{name}'")
    values = []
    for index, (weight_name, variable) in enumerate(zip(weight_names, variables)):
        dataset = _dataset(layer_group, weight_name)
        if dataset is None:
            fail(f"the file lists the weight '{weight_name}' of '{name}' but does not hold it")
        if dataset.shape != tuple(variable.shape):
            fail(
                f"weight {index} of {what} ('{weight_name}') has shape {dataset.shape} in the file; "
                f"the model's has shape {tuple(variable.shape)}"
            )
        if dataset.dtype.kind != variable.dtype.kind:
            fail(f"weight {index} of {what} ('{weight_name}') is {dataset.dtype.name} in the file")
        values.append(dataset.read().astype(variable.dtype, copy=False))
    return values


def _dataset(group, path):
    node = group
    for part in path.split("/"):
        node = node.members.get(part) if isinstance(node, Group) else None
        if node is None:
            return None
    return node if isinstance(node, Dataset) else None


def read_weights(root, model, fail, by_name):
    """Values for ``model.weights`` from a legacy file (a whole model's or a weights file), every one checked.

    Args:
        by_name: match the file's layers to the model's by name (the model was made
            from this file); else by order, as tf.keras's ``load_weights`` does.
    """
    group = _weights_root(root)
    file_layers = [name for name in _names(group, "layer_names", fail)]
    with_weights = []
    for name in file_layers:
        layer_group = group.members.get(name)
        if not isinstance(layer_group, Group):
            fail(f"it lists the layer '{name}' but holds no group for it")
        if _names(layer_group, "weight_names", fail):
            with_weights.append((name, layer_group))
    layers = [layer for layer in _layers_in_order(model) if legacy_weights(layer)]
    if by_name:
        by_layer_name = dict(with_weights)
        missing = [layer.name for layer in layers if layer.name not in by_layer_name]
        if missing or len(layers) != len(with_weights):
            fail(
                f"its weights are for the layers {[name for name, _ in with_weights][:10]}, "
                f"not {[layer.name for layer in layers][:10]}"
            )
        pairs = [(layer, layer.name, by_layer_name[layer.name]) for layer in layers]
    else:
        if len(layers) != len(with_weights):
            fail(
                f"it holds weights for {len(with_weights)} layers, but the model has {len(layers)} layers with weights"
            )
        pairs = [(layer, name, layer_group) for layer, (name, layer_group) in zip(layers, with_weights)]
    values = {}
    for layer, name, layer_group in pairs:
        variables = legacy_weights(layer)
        for variable, value in zip(
            variables, _layer_values(name, layer_group, variables, f"layer '{layer.name}'", fail)
        ):
            values[id(variable)] = value
    own = model._trainable_variables + model._non_trainable_variables
    top = group.members.get("top_level_model_weights")
    if own and isinstance(top, Group):
        for variable, value in zip(own, _layer_values("top_level_model_weights", top, own, "the model", fail)):
            values[id(variable)] = value
    missing = [w.name for w in model.weights if id(w) not in values]
    if missing:
        fail(f"it holds no values for the weights {missing[:5]} of the model")
    return [values[id(w)] for w in model.weights]


def read_optimizer(root, model, fail):
    """``(variables, values)`` of the model's optimizer (built already) from ``/optimizer_weights``, or None
    with a warning (as Keras gives) when the file holds another count of them."""
    group = root.members.get("optimizer_weights")
    if not isinstance(group, Group):
        return None
    optimizer = model.optimizer
    names = _names(group, "weight_names", fail)
    variables = optimizer_variables(optimizer, model)
    if len(names) != len(variables):
        warnings.warn(
            f"Error in loading the saved optimizer state: the file holds {len(names)} values and the "
            f"optimizer has {len(variables)} variables. As a result, your model is starting with a freshly "
            "initialized optimizer.",
            stacklevel=4,
        )
        return None
    return variables, _layer_values("optimizer_weights", group, variables, f"the optimizer '{optimizer.name}'", fail)
