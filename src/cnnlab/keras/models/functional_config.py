"""A functional model's config in Keras's format, and the model rebuilt from one.

Keras 3 (``keras/src/models/functional.py``, ``ops/node.py``) describes the graph by
its layers, each with the calls that feed it::

    {"name": "model", "trainable": true,
     "layers": [{"module": "keras.layers", "class_name": "Dense", "config": {...},
                 "name": "dense",
                 "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__",
                                              "config": {"shape": [null, 8], "dtype": "float32",
                                                         "keras_history": ["input_layer", 0, 0]}}],
                                    "kwargs": {}}]},
                ...],
     "input_layers": ["input_layer", 0, 0],         # or a list of them
     "output_layers": [["dense", 0, 0], ...]}

``keras_history`` is ``[layer name, node index, tensor index]``: the node index counts
the calls of that layer inside this model (from 1 for a functional model used as a
layer, whose node 0 is its own construction).  A layer called on several tensors (a
merge layer) has them as a list in ``args[0]``.  Keras 2 and tf.keras wrote each node
as a list of ``[layer name, node index, tensor index, kwargs]`` entries instead, and
cnnlab before it read Keras's format wrote ``nodes`` / ``outputs`` index lists; both
are read too.

The layer order Keras gives ``model.layers`` (``keras/src/ops/function.py``,
``map_graph``: by depth from the outputs, ties in the order a depth-first walk from
the outputs meets them) decides where Keras's weight files keep each layer's
weights; ``keras_layer_order`` works it out for a cnnlab model.
"""

from ... import nest
from .. import serialization
from ..layers.base import CallArguments
from ..serialization import deserialize_layer, serialize_keras_object, serialize_layer

# Call arguments Keras records, accepted when None (the default: nothing to do).
_NEUTRAL_CALL_ARGUMENTS = ("mask", "training")


def graph_of(model):
    """``(inputs, outputs, nodes)`` of a functional model; a node is ``(layer, [input tensors],
    [output tensors])``, the tensors of a call in ``nest.flatten``'s order."""
    nodes = [(layer, record.input_tensors, record.output_tensors) for layer, record in model._nodes]
    return list(model.inputs), list(model.outputs), nodes


def keras_layer_order(model):
    """The layers of a functional model in the order Keras 3 lists them (``model.layers``).

    Keras walks the graph depth-first from each output, numbers each layer when it
    first meets it, gives every call a depth (its distance from the outputs, the
    largest over all paths; a layer takes the largest depth of its calls), and lists
    the layers by decreasing depth, ties by that number.
    """
    inputs, outputs, nodes = graph_of(model)
    # A call is keyed by its position among the nodes, a model input by its tensor.
    made_by = {
        id(target): (("call", position), layer, sources)
        for position, (layer, sources, targets) in enumerate(nodes)
        for target in targets
    }
    input_ids = {id(tensor) for tensor in inputs}
    first_seen = {}
    finished = []  # node keys, inputs first
    done = set()

    def node_of(tensor):
        if id(tensor) in made_by:
            return made_by[id(tensor)]
        return ("input", id(tensor)), tensor.source[0], []  # a model input: its InputLayer's node

    for output in outputs:
        # Depth-first, without recursion: (tensor, whether its inputs were pushed).
        stack = [(output, False)]
        while stack:
            tensor, expanded = stack.pop()
            key, layer, sources = node_of(tensor)
            if key in done:
                continue
            if not expanded:
                first_seen.setdefault(id(layer), len(first_seen))
                stack.append((tensor, True))
                if key[0] == "call":
                    stack.extend((source, False) for source in reversed(sources))
                continue
            done.add(key)
            finished.append((key, layer, sources))
    node_depth, layer_depth, layers = {}, {}, {}
    for key, layer, sources in reversed(finished):
        depth = max(node_depth.setdefault(key, 0), layer_depth.get(id(layer), 0))
        layer_depth[id(layer)] = depth
        layers[id(layer)] = layer
        node_depth[key] = depth
        for source in sources:
            source_key = node_of(source)[0]
            node_depth[source_key] = max(depth + 1, node_depth.get(source_key, 0))
    for tensor in inputs:  # an input no output depends on
        layer = tensor.source[0]
        if id(layer) not in layer_depth:
            layer_depth[id(layer)] = 0
            layers[id(layer)] = layer
            first_seen.setdefault(id(layer), len(first_seen))
    order = sorted(layers, key=lambda key: (-layer_depth[key], first_seen[key]))
    return [layers[key] for key in order]


def functional_config(model):
    """The config of a cnnlab functional model in Keras 3's format (see the module docstring)."""
    Functional = serialization.model_class("Functional")  # noqa: N806 - see model_class
    in_model = {id(tensor) for tensor in model.inputs}
    in_model.update(id(target) for _, record in model._nodes for target in record.output_tensors)
    history = {}  # id(tensor) -> [layer name, node index, tensor index]
    layers = keras_layer_order(model)
    for layer in layers:
        kept = 1 if isinstance(layer, Functional) else 0
        for record in layer._inbound_nodes:
            made = record.output_tensors
            if any(id(tensor) in in_model for tensor in made):
                for index, tensor in enumerate(made):
                    history[id(tensor)] = [layer.name, kept, index]
                kept += 1
    calls = {}
    for layer, record in model._nodes:
        argument = nest.pack_sequence_as(
            record.inputs, [_tensor_config(tensor, history) for tensor in record.input_tensors]
        )
        if isinstance(argument, CallArguments):  # several positional arguments
            args = [list(item) if isinstance(item, tuple) else item for item in argument]
        else:
            args = [list(argument) if isinstance(argument, tuple) else argument]
        calls.setdefault(id(layer), []).append(
            (
                history[id(record.output_tensors[0])][1],
                {"args": args, "kwargs": serialize_keras_object(dict(record.arguments))},
            )
        )
    layer_configs = []
    for layer in layers:
        entry = serialize_layer(layer)
        entry["name"] = layer.name
        entry["inbound_nodes"] = [call for _, call in sorted(calls.get(id(layer), []), key=lambda item: item[0])]
        layer_configs.append(entry)

    def layout(structure):
        found = nest.pack_sequence_as(structure, [history[id(tensor)] for tensor in nest.flatten(structure)])
        return list(found) if isinstance(found, tuple) else found

    return {
        "name": model.name,
        "trainable": model.trainable,
        "layers": layer_configs,
        "input_layers": layout(model._inputs_structure),
        "output_layers": layout(model._outputs_structure),
    }


def _tensor_config(tensor, history):
    return {
        "class_name": "__keras_tensor__",
        "config": {"shape": list(tensor.shape), "dtype": tensor.dtype, "keras_history": history[id(tensor)]},
    }


def functional_from_config(cls, config, custom_objects=None):
    """The functional model a config describes: Keras 3's format, Keras 2's, or cnnlab's older ``nodes`` lists.

    Raises:
        ValueError: the config does not describe a graph (unknown layers, calls of
            layers that do not exist or never get their inputs, a cycle).
    """
    if "nodes" in config:
        return _from_index_lists(cls, config, custom_objects)
    Functional = serialization.model_class("Functional")  # noqa: N806 - see model_class
    layer_configs = config.get("layers")
    if not isinstance(layer_configs, list) or not layer_configs:
        raise ValueError("a functional model's config must list its layers")
    layers, pending, outputs_of = {}, {}, {}
    for entry in layer_configs:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ValueError(f"a layer of a functional model must be a dict with a 'name'; found {str(entry)[:200]}")
        name = entry["name"]
        if name in layers:
            raise ValueError(f"the functional model's config names two layers {name!r}")
        layer = deserialize_layer(
            {key: value for key, value in entry.items() if key not in ("name", "inbound_nodes")}, custom_objects
        )
        layers[name] = layer
        inbound = entry.get("inbound_nodes", [])
        if not isinstance(inbound, list):
            raise ValueError(f"the inbound_nodes of layer {name!r} must be a list")
        pending[name] = list(inbound)
        outputs_of[name] = [layer.output] if _is_input(layer) else []  # an input layer's node 0 is its tensor
    offset = {name: 1 if isinstance(layer, Functional) else 0 for name, layer in layers.items()}

    def tensor(history):
        if not (
            isinstance(history, list)
            and len(history) >= 3
            and isinstance(history[0], str)
            and all(isinstance(i, int) and not isinstance(i, bool) for i in history[1:3])
        ):
            raise ValueError(
                f"a tensor must be named as [layer name, node index, tensor index]; found {str(history)[:200]}"
            )
        name, node_index, tensor_index = history[:3]
        if name not in layers:
            raise ValueError(f"a call refers to a layer {name!r} the config does not have")
        position = node_index - offset[name]
        if position < 0:
            raise ValueError(f"a call refers to node {node_index} of layer {name!r}, which does not exist")
        made = outputs_of[name]
        if position >= len(made):
            return None
        outputs = nest.flatten(made[position])
        if not 0 <= tensor_index < len(outputs):
            raise ValueError(
                f"a call refers to output {tensor_index} of layer {name!r}, whose call has {len(outputs)} output(s)"
            )
        return outputs[tensor_index]

    while any(pending.values()):
        progressed = False
        for entry in layer_configs:
            name = entry["name"]
            while pending[name]:
                arguments, kwargs = _call_arguments(pending[name][0], name, tensor)
                if arguments is None:
                    break
                pending[name].pop(0)
                if isinstance(arguments, CallArguments):
                    outputs_of[name].append(layers[name](*arguments, **kwargs))
                else:
                    outputs_of[name].append(layers[name](arguments, **kwargs))
                progressed = True
        if not progressed:
            stuck = sorted(name for name, nodes in pending.items() if nodes)
            raise ValueError(
                f"the functional model's graph has loops or calls that never get their inputs (layers {stuck[:10]})"
            )
    inputs = _structure(config.get("input_layers"), tensor, "input_layers")
    outputs = _structure(config.get("output_layers"), tensor, "output_layers")
    if _is_keras_2_node_list(layer_configs) and isinstance(outputs, list) and len(outputs) == 1:
        outputs = outputs[0]  # Keras 2 listed even a single output
    return cls(inputs, outputs, name=config.get("name"), trainable=config.get("trainable", True))


def _is_input(layer):
    from ..layers.core import InputLayer

    return isinstance(layer, InputLayer)


def _is_keras_2_node_list(layer_configs):
    return any(
        isinstance(node, list)
        for entry in layer_configs
        for node in entry.get("inbound_nodes") or []
        if node is not None
    )


def _call_arguments(node, name, tensor):
    """``(argument, keyword arguments)`` of one call of layer ``name``: its tensor, or the list / dict
    of tensors it takes, or None while one of them is not made yet."""
    if isinstance(node, dict):  # Keras 3: {"args": [...], "kwargs": {...}}
        args, kwargs = node.get("args"), node.get("kwargs", {})
        if not isinstance(args, list) or not args or not isinstance(kwargs, dict):
            raise ValueError(f"a call of layer {name!r} must pass its tensors as arguments; found {str(node)[:200]}")
        if len(args) == 1:
            return _resolve(args[0], name, tensor), _call_kwargs(kwargs, name)
        found = [_resolve(argument, name, tensor) for argument in args]
        return (None if any(item is None for item in found) else CallArguments(found)), _call_kwargs(kwargs, name)
    if isinstance(node, list) and node and all(isinstance(entry, list) for entry in node):  # Keras 2
        kwargs = {}
        for entry in node:
            if len(entry) > 3 and isinstance(entry[3], dict):
                kwargs.update(_call_kwargs(entry[3], name))
        found = [tensor(entry) for entry in node]
        if any(t is None for t in found):
            return None, kwargs
        return (found[0] if len(found) == 1 else found), kwargs
    raise ValueError(f"a call of layer {name!r} is neither a Keras 3 node nor a Keras 2 one: {str(node)[:200]}")


def _resolve(argument, name, tensor):
    if isinstance(argument, list):
        found = [_resolve(item, name, tensor) for item in argument]
        return None if any(t is None for t in found) else found
    if isinstance(argument, dict) and argument.get("class_name") == "__keras_tensor__":
        inner = argument.get("config")
        if not isinstance(inner, dict):
            raise ValueError(f"a tensor passed to layer {name!r} has no config")
        return tensor(inner.get("keras_history"))
    if isinstance(argument, dict) and argument and "class_name" not in argument:  # a dict of tensors
        found = {key: _resolve(item, name, tensor) for key, item in argument.items()}
        return None if any(t is None for t in found.values()) else found
    raise ValueError(f"layer {name!r} is called on {str(argument)[:200]}, which is not a tensor")


def _call_kwargs(kwargs, name):
    """The keyword arguments of a recorded call that cnnlab passes on: ``training`` (True / False)."""
    passed = {}
    for key, value in kwargs.items():
        if key == "training" and isinstance(value, bool):
            passed[key] = value
        elif key not in _NEUTRAL_CALL_ARGUMENTS or value is not None:
            raise ValueError(f"layer {name!r} is called with {key}={str(value)[:100]}, which cnnlab does not support")
    return passed


def _structure(layout, tensor, what):
    """The tensors ``input_layers`` / ``output_layers`` name: one ``[name, node, index]``, or a list or
    dict of them."""
    if isinstance(layout, list) and len(layout) >= 3 and isinstance(layout[0], str):
        found = tensor(layout)
        if found is None:
            raise ValueError(f"{what} names a tensor no call makes: {str(layout)[:200]}")
        return found
    if isinstance(layout, list) and layout:
        return [_structure(item, tensor, what) for item in layout]
    if isinstance(layout, dict) and layout:
        return {key: _structure(item, tensor, what) for key, item in layout.items()}
    raise ValueError(f"the functional model's {what} must name tensors; found {str(layout)[:200]}")


def _from_index_lists(cls, config, custom_objects):
    """cnnlab's format before it wrote Keras's: ``layers`` (the input first), ``nodes`` and ``outputs``."""
    layers = [deserialize_layer(c, custom_objects) for c in config["layers"]]
    if not layers or not _is_input(layers[0]):
        raise ValueError("the first layer of the functional model must be its InputLayer")
    tensors = []
    inputs = layers[0].output
    for layer_index, source_index in config["nodes"]:
        source = inputs if source_index == -1 else tensors[source_index]
        tensors.append(layers[layer_index](source))
    outputs = [inputs if i == -1 else tensors[i] for i in config["outputs"]]
    return cls(
        inputs,
        outputs if config.get("multiple_outputs") else outputs[0],
        name=config.get("name"),
        trainable=config.get("trainable", True),
    )
