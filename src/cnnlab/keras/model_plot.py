"""``keras.utils.plot_model``: a picture of a model's layers and how they connect.

Each layer is a box (its class, and as asked its name, output shapes, dtype,
activation, trainability) placed by its depth in the graph; arrows follow the
data.  The picture is drawn with matplotlib (PNG, SVG, PDF, ... by the file's
ending); a '.dot' file gets the graph as Graphviz DOT text instead, for ``dot``.
"""

import os

from .layers.base import KerasTensor
from .layers.core import InputLayer


def plot_model(
    model,
    to_file="model.png",
    show_shapes=False,
    show_dtype=False,
    show_layer_names=False,
    rankdir="TB",
    expand_nested=False,
    dpi=200,
    show_layer_activations=False,
    show_trainable=False,
    **kwargs,
):
    """Draw ``model`` to ``to_file`` (``keras.utils.plot_model``).

    Args:
        model: a built Sequential or functional model (or any built model: its
            layers are then drawn in order).
        to_file: the image file; its ending picks the format ('.png', '.svg',
            '.pdf', ...), '.dot' writes Graphviz DOT text.
        show_shapes, show_dtype, show_layer_names, show_layer_activations,
            show_trainable: what each box shows besides the layer's class.
        rankdir: 'TB' (top to bottom, the default) or 'LR' (left to right).
        expand_nested: accepted for Keras's signature; nested models are drawn as one box.
        dpi: the image's resolution.

    Raises:
        ImportError: for an image when matplotlib is not installed, naming the package to install.
        ValueError: for a model that is not built, or a bad ``rankdir``.

    Example:
        >>> keras.utils.plot_model(model, "model.png", show_shapes=True)
    """
    kwargs.pop("splines", None)  # Graphviz's edge style: meaningless for matplotlib
    if kwargs:
        raise TypeError(f"plot_model: unrecognized keyword argument(s) {sorted(kwargs)}.")
    if rankdir not in ("TB", "LR"):
        raise ValueError(f"plot_model: rankdir must be 'TB' or 'LR'; received rankdir={rankdir!r}.")
    if not model.built:
        raise ValueError("plot_model: the model is not built yet; give it an input shape or call it on data first.")
    nodes, edges = model_graph(model)
    labels = [
        _label(layer, show_shapes, show_dtype, show_layer_names, show_layer_activations, show_trainable)
        for layer in nodes
    ]
    to_file = os.fspath(to_file)
    if to_file.lower().endswith(".dot"):
        with open(to_file, "w", encoding="utf-8") as file:
            file.write(to_dot(labels, edges, rankdir))
        return None
    _draw(labels, edges, rankdir, to_file, dpi)
    return None


def model_graph(model):
    """``(layers, edges)``: the model's layers (its InputLayer first, if it has one) and
    ``(from, to)`` index pairs for the connections between them."""
    layers = list(model._layers)
    index = {id(layer): i for i, layer in enumerate(layers)}
    edges = []
    for i, layer in enumerate(layers):
        for record in layer._inbound_nodes:
            for source in record.input_tensors:
                producer = source.source[0] if isinstance(source, KerasTensor) and source.source else None
                if producer is not None and id(producer) in index and (index[id(producer)], i) not in edges:
                    edges.append((index[id(producer)], i))
    if not edges and len(layers) > 1:  # not connected symbolically (a subclassed model): in order
        edges = [(i, i + 1) for i in range(len(layers) - 1)]
    return layers, edges


def _label(layer, show_shapes, show_dtype, show_layer_names, show_activations, show_trainable):
    lines = [f"{layer.name} ({type(layer).__name__})" if show_layer_names else type(layer).__name__]
    if show_shapes:
        outputs = layer._inbound_nodes[0].output_tensors if layer._inbound_nodes else []
        if isinstance(layer, InputLayer):
            shape = str(tuple(layer.batch_shape))
        elif len(outputs) == 1:
            shape = str(tuple(outputs[0].shape))
        else:
            shape = ", ".join(str(tuple(tensor.shape)) for tensor in outputs) or "?"
        lines.append(f"Output shape: {shape}")
    if show_dtype:
        lines.append(f"dtype: {layer.dtype}")
    activation = getattr(layer, "activation", None)
    if show_activations and activation is not None:
        lines.append(f"Activation: {getattr(activation, '__name__', activation)}")
    if show_trainable:
        lines.append(f"Trainable: {layer.trainable}")
    return "\n".join(lines)


def to_dot(labels, edges, rankdir="TB"):
    """The graph as Graphviz DOT text."""
    lines = ["digraph model {", f"  rankdir={rankdir};", "  node [shape=box, style=rounded];"]
    for i, label in enumerate(labels):
        escaped = label.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        lines.append(f'  n{i} [label="{escaped}"];')
    lines += [f"  n{a} -> n{b};" for a, b in edges]
    lines.append("}")
    return "\n".join(lines) + "\n"


def _depths(count, edges):
    """Each node's longest distance from a node without inputs (its row in the picture)."""
    depth = [0] * count
    for _ in range(count):
        changed = False
        for a, b in edges:
            if depth[b] < depth[a] + 1:
                depth[b] = depth[a] + 1
                changed = True
        if not changed:
            break
    return depth


def _draw(labels, edges, rankdir, to_file, dpi):
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(
            "plot_model: drawing the model needs matplotlib; install it with pip install 'cnnlab[plot]' "
            "(or pip install matplotlib), or write Graphviz DOT text with to_file='model.dot'."
        ) from None
    depth = _depths(len(labels), edges)
    rows = {}
    for i, d in enumerate(depth):
        rows.setdefault(d, []).append(i)
    width = max(len(members) for members in rows.values())
    positions = {}
    for d, members in rows.items():
        for k, i in enumerate(members):
            across = (k - (len(members) - 1) / 2) * 3.2
            positions[i] = (across, -d * 1.6) if rankdir == "TB" else (d * 3.6, -across * 0.6)
    size = (2.8 * width + 1, 1.3 * len(rows) + 1) if rankdir == "TB" else (3.2 * len(rows) + 1, 1.2 * width + 1)
    # A Figure of its own (no pyplot): the program's matplotlib backend and figures are left alone.
    figure = Figure(figsize=size)
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    axes.set_axis_off()
    for a, b in edges:
        axes.annotate(
            "",
            xy=positions[b],
            xytext=positions[a],
            arrowprops={"arrowstyle": "->", "color": "0.35", "shrinkA": 18, "shrinkB": 18},
        )
    for i, label in enumerate(labels):
        axes.text(
            *positions[i],
            label,
            ha="center",
            va="center",
            fontsize=8,
            bbox={"boxstyle": "round,pad=0.4", "facecolor": "#e8f0fb", "edgecolor": "#4a6fa5"},
        )
    xs, ys = zip(*positions.values())
    axes.set_xlim(min(xs) - 1.6, max(xs) + 1.6)
    axes.set_ylim(min(ys) - 0.8, max(ys) + 0.8)
    figure.savefig(to_file, dpi=dpi, bbox_inches="tight")
