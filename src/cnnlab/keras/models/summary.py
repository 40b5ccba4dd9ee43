"""``model.summary()``: Keras 3's table of layers, output shapes and parameter counts.

    Model: "sequential"
    ┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
    ┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
    ┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
    │ conv2d (Conv2D)                 │ (None, 28, 28, 10)     │           100 │
    ├─────────────────────────────────┼────────────────────────┼───────────────┤
    ...
    └─────────────────────────────────┴────────────────────────┴───────────────┘
     Total params: 197,210 (770.35 KB)
     Trainable params: 197,210 (770.35 KB)
     Non-trainable params: 0 (0.00 B)

The text is what Keras 3 prints when stdout is not a terminal (Keras draws the table
with the ``rich`` library, which leaves out its colours there): the same column widths at
any terminal width, the same wrapping of long cells, the same cropping at the console's
width.  Keras's column widths come from ``line_length`` (by default 88, or 108 for a
functional model that is not a plain chain, at most the terminal width less 4) and
``positions``; rich then takes the cell padding and borders out of them.  That part of
rich (a table of fixed-width columns, word wrap with an ellipsis for words too long) is
written out here, since rich is not one of cnnlab's dependencies.
"""

import math
import os
import re
import shutil
import sys

import numpy as np

from .. import serialization
from .progress import write

_WORD = re.compile(r"\s*\S+\s*")
_TRAILING_SPACE = re.compile(r"\s+$")

# rich's HEAVY_HEAD box: (left, fill, junction, right) of each kind of line.
_TOP = ("┏", "━", "┳", "┓")
_HEAD_ROW = ("┃", " ", "┃", "┃")
_HEAD_RULE = ("┡", "━", "╇", "┩")
_ROW = ("│", " ", "│", "│")
_ROW_RULE = ("├", "─", "┼", "┤")
_BOTTOM = ("└", "─", "┴", "┘")


def count_params(weights):
    return int(sum(math.prod(w.shape) for w in weights))


def weight_memory_size(weights):
    """The bytes the distinct ``weights`` take (a weight listed twice counts once, as in Keras)."""
    unique = {id(w): w for w in weights}.values()
    return sum(math.prod(w.shape) * np.dtype(w.dtype).itemsize for w in unique)


def readable_memory_size(size):
    """Bytes as Keras prints them: '770.35 KB'."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size / 1024 < 1:
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} PB"


def _format_shape(shape):
    return "(" + ", ".join(str(d) for d in shape) + ")"  # Keras's: (None,) is '(None)'


def format_output_shape(layer):
    """'(None, 28, 28, 10)', or '?' when the layer has never seen an input (Keras's ``format_layer_shape``)."""
    if layer._inbound_nodes:
        outputs = layer._inbound_nodes[-1].output_tensors
        shape = outputs[0].shape if len(outputs) == 1 else [tensor.shape for tensor in outputs]
    elif layer._build_input_shape is not None:
        try:
            shape = layer.compute_output_shape(layer._build_input_shape)
        except NotImplementedError:
            return "?"
    else:
        return "?"
    if isinstance(shape, list):  # a layer or nested model with several outputs
        return str([_format_shape(s) for s in shape]).replace("'", "")
    return _format_shape(shape)


def console_width():
    """The width rich gives Keras's console: $COLUMNS, else the terminal's on stdin / stdout / stderr, else 80."""
    columns = os.environ.get("COLUMNS")
    if columns is not None and columns.isdigit():
        return int(columns)
    stdout = sys.stdout
    if os.environ.get("TERM", "").lower() in ("dumb", "unknown") and hasattr(stdout, "isatty") and stdout.isatty():
        return 80
    streams = (1, 2) if os.name == "nt" else (0, 1, 2)
    for descriptor in streams:
        try:
            width = os.get_terminal_size(descriptor).columns
        except (AttributeError, ValueError, OSError):  # not a terminal
            continue
        return width or 80
    return 80


# ---- rich's text wrapping and fixed-width table, as Keras's summary uses them --------------
def _break_offsets(text, width, fold):
    """Where ``text`` is broken to fit ``width`` (rich's ``divide_line``): at word starts; a word
    longer than a line is folded across lines when ``fold``, else left whole (and cropped later)."""
    offsets = []
    offset = 0
    for match in _WORD.finditer(text):
        start, word = match.start(), match.group(0)
        length = len(word.rstrip())
        if width - offset >= length:
            offset += len(word)
        elif length > width:
            if fold:
                pieces = [word[i : i + width] for i in range(0, len(word), width)]
                for index, piece in enumerate(pieces):
                    if start:
                        offsets.append(start)
                    if index == len(pieces) - 1:
                        offset = len(piece)
                    else:
                        start += len(piece)
            else:
                if start:
                    offsets.append(start)
                offset = len(word)
        elif offset and start:
            offsets.append(start)
            offset = len(word)
    return offsets


def _broken_lines(text, width, fold):
    """``text`` broken into lines, each without the trailing space that passes ``width`` (rich's ``rstrip_end``)."""
    offsets = _break_offsets(text, width, fold)
    lines = []
    for start, end in zip([0, *offsets], [*offsets, len(text)]):
        line = text[start:end]
        excess = len(line) - width
        trailing = _TRAILING_SPACE.search(line) if excess > 0 else None
        if trailing:
            line = line[: len(line) - min(len(trailing.group(0)), excess)]
        lines.append(line)
    return lines


def _truncate(line, width):
    return line[: width - 1] + "…" if len(line) > width else line


def wrap_cell(text, width, justify):
    """``text`` as the lines of a table cell ``width`` wide, each exactly that wide (rich's
    ``Text.wrap`` with overflow 'ellipsis': broken at spaces, a word too long cut with '…')."""
    justified = []
    for line in _broken_lines(text, width, fold=False):
        if justify == "left":
            line = _truncate(line, width).ljust(width)
        else:
            line = _truncate(line.rstrip(), width)
            if justify == "right":
                line = line.rjust(width)
            else:
                line = (" " * ((width - len(line)) // 2) + line).ljust(width)
        justified.append(line)
    return justified


def wrap_text(text, width):
    """A line of plain text wrapped at ``width`` as ``console.print`` does (long words folded)."""
    return [line[:width] for line in _broken_lines(text, width, fold=True)]


def _reduce(excess, widths):
    """Take ``excess`` cells off ``widths`` evenly, first columns first (rich's ``ratio_reduce``, ratios all 1)."""
    remaining, shares, reduced = excess, len(widths), []
    for width in widths:
        if width:
            taken = min(width, round(remaining / shares))
            reduced.append(width - taken)
            remaining -= taken
            shares -= 1
        else:
            reduced.append(width)
    return reduced


def _distribute(total, widths):
    """Share ``total`` cells out in proportion to ``widths``, rounding up (rich's ``ratio_distribute``)."""
    remaining, weight, shares = total, sum(widths), []
    for width in widths:
        share = math.ceil(width * remaining / weight) if weight > 0 else remaining
        shares.append(share)
        weight -= width
        remaining -= share
    return shares


def rendered_widths(column_widths, table_width):
    """The widths rich draws the columns at, padding included, borders not.

    Each column asks for its width plus one cell of padding either side; what does not
    fit in the table's width (less its borders) is taken off the columns evenly, and a
    table narrower than its width (``positions`` ending before 1) is widened to it, in
    proportion to the columns' widths (a rich table given a width expands to it).
    """
    available = table_width - (len(column_widths) + 1)
    widths = [min(width + 2, available) for width in column_widths]
    if sum(widths) > available:
        widths = _reduce(sum(widths) - available, widths)
    elif sum(widths) < available:
        widths = [width + share for width, share in zip(widths, _distribute(available - sum(widths), widths))]
    return widths


def _rule(widths, box):
    left, fill, junction, right = box
    return left + junction.join(fill * width for width in widths) + right


def _table_row(cells, widths, alignments, box, header=False):
    """The lines of one table row; a cell with fewer lines than the row's is topped up below it,
    or above it in the header (rich aligns header cells to the bottom)."""
    left, _, junction, right = box
    columns = [wrap_cell(text, width - 2, align) for text, width, align in zip(cells, widths, alignments)]
    height = max(len(lines) for lines in columns)
    for index, (lines, width) in enumerate(zip(columns, widths)):
        blank = [" " * (width - 2)] * (height - len(lines))
        columns[index] = blank + lines if header else lines + blank
    return [left + junction.join(" " + line + " " for line in row) + right for row in zip(*columns)]


# ---- the summary ------------------------------------------------------------------------
def _is_functional(model):
    # through the registry: the functional model imports Model, which imports this module
    return isinstance(model, serialization.model_class("Functional"))


def _chain_like(model):
    """Whether a functional model is a plain chain (Keras's ``sequential_like``): no two of its
    calls at the same depth from the outputs, no layer called twice."""
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        return False
    depth = {}  # id(tensor) -> its depth, 0 for the outputs
    for _, record in reversed(model._nodes):  # consumers before producers
        own = max(depth.setdefault(id(target), 0) for target in record.output_tensors)
        for source in record.input_tensors:
            depth[id(source)] = max(depth.get(id(source), 0), own + 1)
    depths = [depth[id(record.output_tensors[0])] for _, record in model._nodes]
    depths.append(depth.get(id(model.inputs[0]), 0))
    layers = [id(layer) for layer, _ in model._nodes]
    return len(set(depths)) == len(depths) and len(set(layers)) == len(layers)


def _connections(model, layer):
    """'conv2d[0][0]' for each input of the layer's calls in ``model``; '-' for none (the InputLayer)."""
    in_model = {id(record) for node_layer, record in model._nodes if node_layer is layer}
    names = []
    for record in layer._inbound_nodes:
        if id(record) not in in_model:
            continue
        for source in record.input_tensors:
            source_layer = source.source[0]
            node_index = next(
                i
                for i, made in enumerate(source_layer._inbound_nodes)
                if any(tensor is source for tensor in made.output_tensors)
            )
            names.append(f"{source_layer.name}[{node_index}][{source.index}]")
    return ", ".join(names) or "-"


def _layer_range(layers, layer_range):
    """The slice of ``layers`` between the first match of ``layer_range[0]`` and the last of ``layer_range[1]``."""
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
    if min(first) > max(last):
        return layers[min(last) : max(first) + 1]
    return layers[min(first) : max(last) + 1]


def column_widths(line_length, positions):
    """Keras's column widths: position p ends a column at ``int(p * line_length)``.

    Raises:
        ValueError: a column would be narrower than 4 characters.
    """
    widths, current = [], 0
    for position in positions:
        width = int(position * line_length) - current
        if width < 4:
            raise ValueError(
                f"summary: the console is too narrow to print the summary: line_length={line_length} with "
                f"positions={list(positions)} gives a column of {width} characters (4 at least). "
                "Pass a larger line_length."
            )
        widths.append(width)
        current += width
    return widths


def summary_lines(model, line_length=None, positions=None, expand_nested=False, show_trainable=False, layer_range=None):
    """The summary as the list of lines Keras 3 prints (``print_summary`` prints them)."""
    functional = _is_functional(model)
    chain = not functional or _chain_like(model)
    if chain:
        default_length, default_positions = 88, [0.45, 0.80, 1.0]
        header, alignments = ["Layer (type)", "Output Shape", "Param #"], ["left", "left", "right"]
    else:
        default_length, default_positions = 108, [0.3, 0.56, 0.74, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
        alignments = ["left", "left", "right", "left"]
    positions = list(positions or default_positions)
    if show_trainable:
        default_length += 12
        positions = [p * 0.90 for p in positions] + [1.0]
        header.append("Trainable")
        alignments.append("center")
    line_length = line_length or min(default_length, shutil.get_terminal_size().columns - 4)
    widths = rendered_widths(column_widths(line_length, positions), line_length)

    def rows_of(layer, depth=0):
        prefix = "   " * depth + "└ " if depth else ""
        if not layer.built:
            params = "0 (unbuilt)"
        else:
            params = f"{layer.count_params():,}"
        cells = [f"{prefix}{layer.name} ({type(layer).__name__})", format_output_shape(layer), params]
        if not chain:
            cells.append(_connections(model, layer))
        if show_trainable:
            cells.append(("Y" if layer.trainable else "N") if layer.weights else "-")
        rows = [cells]
        if expand_nested and getattr(layer, "layers", None):
            for inner in layer.layers:
                rows.extend(rows_of(inner, depth + 1))
        return rows

    layers = _layer_range(model.layers, layer_range)
    table = [
        _rule(widths, _TOP),
        *_table_row(header, widths, alignments, _HEAD_ROW, header=True),
        _rule(widths, _HEAD_RULE),
    ]
    for index, cells in enumerate(cells for layer in layers for cells in rows_of(layer)):
        if index:
            table.append(_rule(widths, _ROW_RULE))
        table.extend(_table_row(cells, widths, alignments, _ROW))
    table.append(_rule(widths, _BOTTOM))

    trainable, non_trainable = model.trainable_weights, model.non_trainable_weights
    optimizer = getattr(model, "optimizer", None)
    optimizer_variables = (
        list(optimizer.variables) if model.compiled and optimizer is not None and optimizer.built else []
    )
    total = count_params(trainable) + count_params(non_trainable) + count_params(optimizer_variables)
    total_memory = sum(weight_memory_size(w) for w in (trainable, non_trainable, optimizer_variables))
    totals = [
        f" Total params: {total:,} ({readable_memory_size(total_memory)})",
        f" Trainable params: {count_params(trainable):,} ({readable_memory_size(weight_memory_size(trainable))})",
        (
            f" Non-trainable params: {count_params(non_trainable):,} "
            f"({readable_memory_size(weight_memory_size(non_trainable))})"
        ),
    ]
    if optimizer_variables:
        totals.append(
            f" Optimizer params: {count_params(optimizer_variables):,} "
            f"({readable_memory_size(weight_memory_size(optimizer_variables))})"
        )
    width = console_width()
    lines = wrap_text(f'Model: "{model.name}"', width)
    lines += [line[:width] for line in table]  # rich crops what is wider than the console
    for line in totals:
        lines += wrap_text(line, width)
    return lines


def print_summary(
    model, line_length=None, positions=None, print_fn=None, expand_nested=False, show_trainable=False, layer_range=None
):
    """Print the summary to stdout, or hand its whole text (ending with a newline) to ``print_fn`` as Keras 3 does."""
    text = "".join(
        line + "\n" for line in summary_lines(model, line_length, positions, expand_nested, show_trainable, layer_range)
    )
    if print_fn is None:
        write(text)
    else:
        print_fn(text)
