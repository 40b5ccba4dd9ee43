"""``model.summary()``: Keras 3's table of layers, output shapes and parameter counts.

Model: "sequential"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━┓
┃ Layer (type)                         ┃ Output Shape                ┃         Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━┩
│ conv2d (Conv2D)                      │ (None, 28, 28, 10)          │             100 │
├──────────────────────────────────────┼─────────────────────────────┼─────────────────┤
...
└──────────────────────────────────────┴─────────────────────────────┴─────────────────┘
 Total params: 197,210 (770.35 KB)
 Trainable params: 197,210 (770.35 KB)
 Non-trainable params: 0 (0.00 B)
"""

import re
import shutil

import numpy as np

_DEFAULT_LINE_LENGTH = 88


def count_params(weights):
    return int(sum(int(np.prod(w.shape, dtype=np.int64)) for w in weights))


def readable_memory_size(size):
    """Bytes as Keras prints them: '770.35 KB'."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size / 1024 < 1:
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} PB"


def _memory(weights):
    return sum(int(np.prod(w.shape, dtype=np.int64)) * np.dtype(w.dtype).itemsize for w in weights)


def format_output_shape(layer):
    """'(None, 28, 28, 10)', or '?' when the layer has never seen an input."""
    if layer._inbound_nodes:
        return _format_shape(layer._inbound_nodes[0][1].shape)
    if layer._build_input_shape is not None:
        try:
            return _format_shape(layer.compute_output_shape(layer._build_input_shape))
        except NotImplementedError:
            return "?"
    return "?"


def _format_shape(shape):
    if isinstance(shape, list):  # a model with several outputs
        return ", ".join(_format_shape(s) for s in shape)
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _column_widths(line_length, positions):
    """Inner widths of the columns so that the whole table, borders included, is ``line_length`` wide."""
    available = line_length - (len(positions) + 1)
    ends = [int(round(p * available)) for p in positions]
    widths = [end - start for start, end in zip([0, *ends[:-1]], ends)]
    if any(w < 4 for w in widths):
        raise ValueError(f"summary: line_length={line_length} is too narrow to print the summary.")
    return widths


def _row(cells, widths, alignments, left, middle, right):
    padded = []
    for text, width, align in zip(cells, widths, alignments):
        text = text if len(text) <= width - 2 else text[: width - 3] + "…"
        padded.append(" " + (text.rjust(width - 2) if align == "right" else text.ljust(width - 2)) + " ")
    return left + middle.join(padded) + right


def _rule(widths, left, fill, middle, right):
    return left + middle.join(fill * w for w in widths) + right


def _layer_range(layers, layer_range):
    if layer_range is None:
        return layers
    if len(layer_range) != 2 or not all(isinstance(name, str) for name in layer_range):
        raise ValueError(f"summary: layer_range must be two layer-name patterns; received layer_range={layer_range!r}.")
    first = [i for i, layer in enumerate(layers) if re.match(layer_range[0], layer.name)]
    last = [i for i, layer in enumerate(layers) if re.match(layer_range[1], layer.name)]
    if not first or not last:
        raise ValueError(
            f"summary: layer_range={layer_range!r} matches no layer names ({[layer.name for layer in layers]})."
        )
    return layers[min(first) : max(last) + 1]


def summary_lines(model, line_length=None, positions=None, expand_nested=False, show_trainable=False, layer_range=None):
    """The summary as a list of lines (``print_summary`` prints them)."""
    header = ["Layer (type)", "Output Shape", "Param #"]
    alignments = ["left", "left", "right"]
    positions = list(positions or [0.45, 0.80, 1.0])
    default_length = _DEFAULT_LINE_LENGTH
    if show_trainable:
        default_length += 12
        positions = [p * 0.90 for p in positions] + [1.0]
        header.append("Trainable")
        alignments.append("right")
    line_length = line_length or min(default_length, max(shutil.get_terminal_size().columns - 4, 60))
    widths = _column_widths(line_length, positions)

    def rows_of(layer, depth=0):
        prefix = "   " * depth + "└ " if depth else ""
        params = f"{layer.count_params():,}" if layer.built else "0 (unbuilt)"
        cells = [f"{prefix}{layer.name} ({type(layer).__name__})", format_output_shape(layer), params]
        if show_trainable:
            cells.append(("Y" if layer.trainable else "N") if layer.weights else "-")
        rows = [cells]
        if expand_nested and hasattr(layer, "layers"):
            for inner in layer.layers:
                rows.extend(rows_of(inner, depth + 1))
        return rows

    rows = [cells for layer in _layer_range(model.layers, layer_range) for cells in rows_of(layer)]
    lines = [
        f'Model: "{model.name}"',
        _rule(widths, "┏", "━", "┳", "┓"),
        _row(header, widths, alignments, "┃", "┃", "┃"),
    ]
    lines.append(_rule(widths, "┡", "━", "╇", "┩"))
    for index, cells in enumerate(rows):
        if index:
            lines.append(_rule(widths, "├", "─", "┼", "┤"))
        lines.append(_row(cells, widths, alignments, "│", "│", "│"))
    lines.append(_rule(widths, "└", "─", "┴", "┘"))

    trainable, non_trainable = model.trainable_weights, model.non_trainable_weights
    optimizer_variables = _optimizer_variables(model)
    total = count_params(trainable) + count_params(non_trainable) + count_params(optimizer_variables)
    total_memory = _memory(trainable) + _memory(non_trainable) + _memory(optimizer_variables)
    lines.append(f" Total params: {total:,} ({readable_memory_size(total_memory)})")
    lines.append(f" Trainable params: {count_params(trainable):,} ({readable_memory_size(_memory(trainable))})")
    lines.append(
        f" Non-trainable params: {count_params(non_trainable):,} ({readable_memory_size(_memory(non_trainable))})"
    )
    if optimizer_variables:
        lines.append(
            f" Optimizer params: {count_params(optimizer_variables):,} "
            f"({readable_memory_size(_memory(optimizer_variables))})"
        )
    return lines


def _optimizer_variables(model):
    """The optimizer's state once it has taken a step (Keras counts it in the total then)."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or int(optimizer.iterations.numpy()) == 0:
        return []
    return list(optimizer.variables)


def print_summary(
    model, line_length=None, positions=None, print_fn=None, expand_nested=False, show_trainable=False, layer_range=None
):
    text = "\n".join(summary_lines(model, line_length, positions, expand_nested, show_trainable, layer_range))
    (print_fn or print)(text)
