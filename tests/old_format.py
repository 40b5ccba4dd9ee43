"""cnnlab's model file format before it wrote Keras's, written as cnnlab 0.1 wrote it (tests only).

A zip archive of ``metadata.json`` (``{"format": "cnnlab-keras", "format_version": 1,
"kind", "cnnlab_version", "weights": [{"name", "shape", "dtype"}], "optimizer_state":
[keys], "user_metadata"}``), ``config.json`` (the model in Keras 3's schema, its compile
settings as ``{"optimizer", "loss", "metrics"}``) and ``weights.npz`` (``weight_NNNN``,
then ``optimizer_NNNN``).  The writer is the one cnnlab's ``saving.py`` had (its
``save_model`` / ``save_weights``), kept here so that the tests can make such files:
cnnlab still reads them (models and the checkpoints of interrupted ``cnnlab train``
runs saved before the change).
"""

import io
import json
import zipfile

import numpy as np

from cnnlab.keras import losses, metrics, optimizers
from cnnlab.keras.models import Functional
from cnnlab.keras.saving import serialize_layer


def _architecture(model):
    """``serialize_layer(model)``, a functional model's config as cnnlab wrote it then: ``layers`` (the
    input first), ``nodes`` ([layer index, source node index (-1: the input)]), ``outputs``."""
    serialized = serialize_layer(model)
    if isinstance(model, Functional):
        index_of_node = {id(model.inputs[0]): -1}
        nodes = []
        for position, (layer, record) in enumerate(model._nodes):
            nodes.append(
                [next(i for i, known in enumerate(model._layers) if known is layer), index_of_node[id(record.inputs)]]
            )
            index_of_node[id(record.outputs)] = position
        serialized["config"] = {
            "name": model.name,
            "trainable": model.trainable,
            "layers": [serialize_layer(layer) for layer in model._layers],
            "nodes": nodes,
            "outputs": [index_of_node[id(o)] for o in model._output_tensors],
            "multiple_outputs": model._multiple_outputs,
        }
    return serialized


def _weight_names(model):
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


def _metadata(model, kind, user_metadata):
    weights = model.weights
    metadata = {
        "format": "cnnlab-keras",
        "format_version": 1,
        "kind": kind,
        "cnnlab_version": "0.1.0",
        "weights": [
            {"name": name, "shape": list(w.shape), "dtype": w.dtype.name}
            for name, w in zip(_weight_names(model), weights)
        ],
        "user_metadata": user_metadata if user_metadata is not None else {},
    }
    return metadata, {f"weight_{i:04d}": w.numpy() for i, w in enumerate(weights)}


def _write(path, metadata, arrays, config=None):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    with open(path, "wb") as file, zipfile.ZipFile(file, "w") as archive:
        archive.writestr("metadata.json", json.dumps(metadata, indent=1), compress_type=zipfile.ZIP_DEFLATED)
        if config is not None:
            archive.writestr("config.json", json.dumps(config, indent=1), compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr("weights.npz", buffer.getvalue(), compress_type=zipfile.ZIP_STORED)


def save_old_format(model, path, include_optimizer=True, user_metadata=None):
    """``model.save(path)`` as cnnlab wrote it before it wrote Keras's format."""
    metadata, arrays = _metadata(model, "model", user_metadata)
    compile_config = None
    if model.compiled:
        loss = model.loss if isinstance(model.loss, str) or model.loss is None else losses.serialize(model._compile_loss.single)
        metric_list = [m if isinstance(m, str) else metrics.serialize(m) for m in model._compile_settings["metrics"] or []]
        compile_config = {"optimizer": optimizers.serialize(model.optimizer), "loss": loss, "metrics": metric_list}
    config = {**_architecture(model), "compile_config": compile_config}
    metadata["optimizer_state"] = []
    if include_optimizer and compile_config is not None:
        for index, (key, value) in enumerate(model.optimizer.get_state().items()):
            metadata["optimizer_state"].append(key)
            arrays[f"optimizer_{index:04d}"] = value
    _write(path, metadata, arrays, config)


def save_weights_old_format(model, path):
    """``model.save_weights(path)`` as cnnlab wrote it before it wrote Keras's format."""
    metadata, arrays = _metadata(model, "weights", None)
    _write(path, metadata, arrays)
