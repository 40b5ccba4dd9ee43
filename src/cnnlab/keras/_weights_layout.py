"""Keras 3's weights file (``model.weights.h5`` in a ``.keras`` archive, or a ``.weights.h5``).

Keras 3 (``keras/src/saving/saving_lib.py``, ``_save_state``) walks a model as a tree
and gives every layer, model and optimizer an HDF5 group ``<path>/vars`` holding its
own variables as datasets ``"0"``, ``"1"``, ...  (a layer's trainable then
non-trainable ones; an optimizer's ``variables``), with its name as the attribute
``name``; the model itself is ``/vars``.  The paths follow Keras's walk:

* a Sequential or functional model's layers come first, under
  ``layers/<class name in snake case>``, numbered ``_1``, ``_2``... when a class
  repeats (``layers/conv2d``, ``layers/dense``, ``layers/dense_1``); a functional
  model lists its input layers too, in Keras's layer order (``keras_layer_order``);
* then the attributes holding layers or optimizers, by name, public before private
  (``optimizer``; a subclassed model's ``self.encoder = ...`` as ``encoder``, and its
  ``layers``); lists and dicts of them as ``<attribute>/<class name>``;
* an object met a second time is saved only where it was met first.

So a layer's weights are found by where it sits in the model, not by its name: the
same model made twice finds its weights again.  ``write_weights`` uses h5py (what
Keras uses); ``read_weights`` reads with cnnlab's own HDF5 reader (``_hdf5_reading``),
which checks the file before trusting any of it.
"""

import io
import warnings

import numpy as np

from ._hdf5_reading import Dataset, Group
from . import serialization

H5PY_EXTRA = "pip install h5py (a dependency of cnnlab: reinstall it with pip install cnnlab)"


class Entry:
    """One saved object: its ``path`` in the file (``""`` for the model), the object, its variables in order."""

    def __init__(self, path, owner, variables):
        self.path = path
        self.owner = owner
        self.variables = variables

    @property
    def group_path(self):
        return f"{self.path}/vars" if self.path else "vars"


def entries(model, include_optimizer=True):
    """The objects Keras 3 saves for ``model``, in its order (see the module docstring).

    The optimizer of a compiled model is included when ``include_optimizer``; one
    that has not been built yet is first built for the model's trainable weights (as
    ``fit`` would build it, and as Keras builds it on loading), so that its slots are
    in the file.
    """
    from .layers.base import Layer
    from .optimizers import Optimizer

    base_attributes = set(vars(Layer()))
    found = []
    visited = set()

    def save_state(owner, path):
        if id(owner) in visited:
            return
        visited.add(id(owner))
        if isinstance(owner, Optimizer):
            found.append(Entry(path, owner, optimizer_variables(owner, model)))
            return
        found.append(Entry(path, owner, owner._trainable_variables + owner._non_trainable_variables))
        for attribute, child in _children(owner, base_attributes, include_optimizer):
            child_path = f"{path}/{attribute}" if path else attribute
            if isinstance(child, (Layer, Optimizer)):
                save_state(child, child_path)
            else:
                save_container(child, child_path, set())

    def save_container(container, path, containers_seen):
        if id(container) in containers_seen:
            return
        containers_seen.add(id(container))
        used = {}
        for item in container.values() if isinstance(container, dict) else container:
            if isinstance(item, (Layer, Optimizer)):
                save_state(item, f"{path}/{_unique(_snake_case(type(item).__name__), used)}")
            elif isinstance(item, (list, tuple, dict)):
                save_container(item, f"{path}/{_unique('container', used)}", containers_seen)

    if include_optimizer and model.compiled and not model.optimizer._slots and model.optimizer._slot_groups:
        model.optimizer.build(model.trainable_weights)
    save_state(model, "")
    return found


def keras_trainable_variables(layer):
    """The trainable variables of ``layer`` in the order Keras 3 lists them (``trainable_variables``):
    its own, then each sub-layer's, in Keras's layer order (``keras_layer_order`` for a functional model)."""
    Functional = serialization.model_class("Functional")  # noqa: N806 - see model_class
    from .models.functional_config import keras_layer_order

    if not layer.trainable:
        return []
    found, seen = [], set()
    children = keras_layer_order(layer) if isinstance(layer, Functional) else layer._layers
    for variable in [v for v in layer._trainable_variables if v.trainable] + [
        v for child in children for v in keras_trainable_variables(child)
    ]:
        if id(variable) not in seen:
            seen.add(id(variable))
            found.append(variable)
    return found


def optimizer_variables(optimizer, model):
    """``optimizer.variables`` in the order Keras 3 keeps them for ``model``: its slots follow the
    model's trainable variables in Keras's order, which for a functional model differs from
    cnnlab's.  An optimizer that updates other variables than the model's keeps its own order."""
    variables = list(optimizer.variables)
    order = keras_trainable_variables(model)
    if {id(v) for v in order} != {id(v) for v in optimizer._variables_seen}:
        return variables
    own = [optimizer._iterations] + (
        [optimizer._learning_rate] if len(variables) > 1 and variables[1] is optimizer._learning_rate else []
    )
    slots = [
        optimizer._slots[optimizer._index_of[id(variable)]][name]
        for group in optimizer._slot_groups
        for variable in order
        for name in group
    ]
    return own + slots + list(optimizer._shared_state().values())


def _children(owner, base_attributes, include_optimizer):
    """``(attribute, child)`` pairs of ``owner`` that hold layers or optimizers, in Keras's order."""
    from .layers.base import Layer
    Functional, Model, Sequential = (serialization.model_class(name) for name in ("Functional", "Model", "Sequential"))  # noqa: N806
    from .models.functional_config import keras_layer_order
    from .optimizers import Optimizer

    pairs = []
    if isinstance(owner, Functional):
        pairs.append(("layers", keras_layer_order(owner)))
    elif isinstance(owner, Sequential):
        pairs.append(("layers", owner.layers))
    attributes = {name: value for name, value in vars(owner).items() if name not in base_attributes}
    if isinstance(owner, Model) and not isinstance(owner, (Functional, Sequential)):
        attributes["layers"] = owner.layers
    if isinstance(owner, Model) and not (include_optimizer and owner.compiled):
        attributes.pop("optimizer", None)
    for name in sorted(attributes, key=lambda name: f"~{name}" if name.startswith("_") else name):
        value = attributes[name]
        if isinstance(value, (Layer, Optimizer)) or (
            isinstance(value, (list, tuple, dict)) and _holds_saveables(value, depth=0)
        ):
            pairs.append((name, value))
    return pairs


def _holds_saveables(container, depth):
    from .layers.base import Layer
    from .optimizers import Optimizer

    if depth > 8:
        return False
    items = container.values() if isinstance(container, dict) else container
    return any(
        isinstance(item, (Layer, Optimizer))
        or (isinstance(item, (list, tuple, dict)) and _holds_saveables(item, depth + 1))
        for item in items
    )


def _snake_case(name):
    return serialization.to_snake_case(name)


def _unique(name, used):
    if name in used:
        used[name] += 1
        return f"{name}_{used[name]}"
    used[name] = 0
    return name


# ---- writing ----------------------------------------------------------------------------------------


def import_h5py(op):
    """h5py, or an ImportError naming the extra that installs it."""
    try:
        import h5py
    except ImportError:
        raise ImportError(f"{op}: writing HDF5 (Keras) files needs h5py: {H5PY_EXTRA}") from None
    return h5py


def write_weights(model, include_optimizer, op):
    """The bytes of a Keras 3 weights file for ``model`` (and its optimizer's state)."""
    h5py = import_h5py(op)
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as file:
        for entry in entries(model, include_optimizer):
            group = file.create_group(entry.group_path)
            group.attrs["name"] = entry.owner.name
            for index, variable in enumerate(entry.variables):
                group[str(index)] = variable.numpy()
    return buffer.getvalue()


# ---- reading --------------------------------------------------------------------------------------------


def weight_values_held(root):
    """How many numbers the weights file holds for layers (the optimizer's state aside)."""
    total = 0
    for path, dataset in _datasets(root, ""):
        if not (path == "optimizer" or path.startswith("optimizer/")):
            total += int(np.prod(dataset.shape, dtype=np.int64))
    return total


def _datasets(group, path):
    for name, member in group.members.items():
        member_path = f"{path}/{name}" if path else name
        if isinstance(member, Dataset):
            yield member_path, member
        else:
            yield from _datasets(member, member_path)


def read_weights(root, model, fail, optimizer=None):
    """The values for ``model.weights`` (and, when ``optimizer`` is given, for its ``variables``)
    in the Keras 3 weights file whose root group is ``root``, every one checked first.

    Returns:
        ``(weights, optimizer_values)``: arrays in ``model.weights`` order, and the
        optimizer's values in ``optimizer.variables`` order (None when not asked for,
        or when the file's optimizer state does not fit, with a warning as Keras gives).

    Raises whatever ``fail`` raises: a layer's weights missing, of another count,
    shape or type, or weights in the file the model has no place for.
    """
    values = {}
    used = set()
    optimizer_values = None
    for entry in entries(model, include_optimizer=optimizer is not None):
        group = _group(root, entry.group_path)
        if entry.owner is optimizer:
            used.add(entry.group_path)
            optimizer_values = _optimizer_values(group, entry, fail)
            continue
        if group is None:
            if entry.variables:
                fail(
                    f"it holds no weights for '{entry.owner.name}' ({entry.group_path}), "
                    f"which has {len(entry.variables)}"
                )
            continue
        used.add(entry.group_path)
        arrays = _group_values(group, entry, fail)
        for variable, array in zip(entry.variables, arrays):
            values[id(variable)] = array
    for path, _ in _datasets(root, ""):
        group_path = path.rsplit("/", 1)[0]
        if group_path not in used and not (
            optimizer is None and (group_path == "optimizer/vars" or group_path.startswith("optimizer/"))
        ):
            fail(f"it holds weights at '{path}' that the model has no place for (a different model?)")
    missing = [w.name for w in model.weights if id(w) not in values]
    if missing:
        fail(f"it holds no values for the weights {missing[:5]} of the model")
    return [values[id(w)] for w in model.weights], optimizer_values


def _group(root, path):
    group = root
    for part in path.split("/"):
        group = group.members.get(part) if isinstance(group, Group) else None
        if group is None:
            return None
    return group if isinstance(group, Group) else None


def _group_values(group, entry, fail):
    """The arrays of ``group`` for ``entry.variables``: the same count, shapes and kinds of numbers."""
    datasets = group.members
    expected = [str(index) for index in range(len(entry.variables))]
    if sorted(datasets, key=_dataset_order) != expected or not all(isinstance(d, Dataset) for d in datasets.values()):
        fail(
            f"'{entry.group_path}' holds {sorted(datasets)[:10]}, but '{entry.owner.name}' has "
            f"{len(entry.variables)} weights (datasets {expected[:10]} expected)"
        )
    arrays = []
    for index, variable in enumerate(entry.variables):
        dataset = datasets[str(index)]
        if dataset.shape != tuple(variable.shape):
            fail(
                f"weight {index} of '{entry.owner.name}' ('{variable.name}') has shape {dataset.shape} in the file "
                f"({entry.group_path}/{index}), but the model's has shape {tuple(variable.shape)}"
            )
        # Numbers of another width are converted, as Keras's Variable.assign converts them (a Keras
        # model saved with floatx float64 holds its optimizer's learning rate in float64).
        if dataset.dtype.kind != variable.dtype.kind:
            fail(
                f"weight {index} of '{entry.owner.name}' ('{variable.name}') is {dataset.dtype.name} in the file "
                f"({entry.group_path}/{index}); the model's is {variable.dtype.name}"
            )
        arrays.append(dataset.read().astype(variable.dtype, copy=False))
    return arrays


def _dataset_order(name):
    return (len(name), name)


def _optimizer_values(group, entry, fail):
    if group is None:
        return None
    held = len(group.members)
    if held != len(entry.variables):
        warnings.warn(
            f"Skipping variable loading for optimizer '{entry.owner.name}', because it has {len(entry.variables)} "
            f"variables whereas the saved optimizer has {held} variables; it starts afresh.",
            stacklevel=4,
        )
        return None
    return _group_values(group, entry, fail)
