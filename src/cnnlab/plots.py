"""The pictures of the clothing classifier: training curves, confusion matrix, image grids, activations.

Every ``plot_*`` function draws one figure and writes it as a PNG, atomically, of a
size fixed by its layout (``FIGURE_DPI`` pixels per inch, no tight cropping), and
returns the path.  Matplotlib is imported on first use and only its object API is
used (``matplotlib.figure.Figure`` rendered by Agg): no pyplot, so nothing changes the
backend or keeps figures alive in a user's session.
"""

import math

import numpy as np

from .datasets._files import atomic_write

FIGURE_DPI = 100


def save_figure(figure, path):
    """Write ``figure`` to ``path`` as a PNG (atomically) and return ``path``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    with atomic_write(path) as f:
        figure.savefig(f, format="png", dpi=FIGURE_DPI)
    return path


def plot_history(history, path, title="Training history"):
    """Loss and accuracy per epoch, training beside validation (1000 x 400 pixels).

    Args:
        history: a Keras ``History.history`` dict: ``loss`` and optionally
            ``val_loss``, ``accuracy``, ``val_accuracy``, one value per epoch.
        path: the PNG to write.

    Example:
        >>> plot_history(model.fit(...).history, "history.png")
    """
    if not history.get("loss"):
        raise ValueError(f"plot_history: history must hold a non-empty 'loss' list; Received: keys {sorted(history)}")
    figure = _figure(10, 4)
    for position, metric in enumerate(("loss", "accuracy"), start=1):
        axes = figure.add_subplot(1, 2, position)
        for key, style in ((metric, "o-"), (f"val_{metric}", "s--")):
            values = history.get(key)
            if values:
                epochs = np.arange(1, len(values) + 1)
                axes.plot(epochs, values, style, markersize=3, label=key)
        axes.set_xlabel("epoch")
        axes.set_ylabel(metric)
        axes.set_title(metric)
        axes.grid(alpha=0.3)
        if axes.lines:
            axes.legend()
    figure.suptitle(title)
    return save_figure(figure, path)


def plot_confusion_matrix(matrix, class_names, path, title="Confusion matrix"):
    """A confusion matrix with its counts written in the cells (800 x 700 pixels).

    Args:
        matrix: integer array (classes, classes); ``matrix[true, predicted]``.
        class_names: one name per class.
        path: the PNG to write.
    """
    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] != len(class_names):
        raise ValueError(
            "plot_confusion_matrix: matrix must be square with one row per class name; "
            f"Received: matrix.shape={matrix.shape}, {len(class_names)} class names"
        )
    figure = _figure(8, 7)
    axes = figure.add_subplot(1, 1, 1)
    image = axes.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04)
    ticks = np.arange(len(class_names))
    axes.set_xticks(ticks, class_names, rotation=45, ha="right")
    axes.set_yticks(ticks, class_names)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    dark_above = matrix.max() / 2
    for (row, col), count in np.ndenumerate(matrix):
        axes.text(col, row, str(count), ha="center", va="center", fontsize=8, color="white" if count > dark_above else "black")
    axes.set_title(title)
    figure.subplots_adjust(left=0.18, bottom=0.2, right=0.92, top=0.93)
    return save_figure(figure, path)


def plot_image_grid(images, titles, path, title, columns=8, cmap="gray", symmetric=False, panel_inches=1.6):
    """Images in a grid of labelled panels, e.g. the feature maps of a layer.

    Each panel is ``panel_inches`` square (160 pixels by default) and scaled to its
    own range; with ``symmetric=True`` zero is the middle of a red-blue colour map
    (for filter weights).

    Args:
        images: a sequence of 2-D arrays.
        titles: one title per image.
        path: the PNG to write.
        title: the figure's title.
        columns: panels per row (fewer when there are fewer images).

    Shape:
        With ``p = 100 * panel_inches``, the PNG is ``p * min(columns, n)`` pixels
        wide and ``p * ceil(n / columns) + 60`` high.
    """
    if len(images) == 0 or len(images) != len(titles):
        raise ValueError(f"plot_image_grid: expected one title per image and at least one image; Received: {len(images)} images, {len(titles)} titles")
    columns = min(columns, len(images))
    rows = math.ceil(len(images) / columns)
    figure = _figure(panel_inches * columns, panel_inches * rows + 0.6)
    for index, (image, label) in enumerate(zip(images, titles)):
        axes = figure.add_subplot(rows, columns, index + 1)
        image = np.asarray(image, dtype=np.float32)
        if symmetric:
            limit = float(np.abs(image).max()) or 1.0
            axes.imshow(image, cmap="RdBu_r" if cmap == "gray" else cmap, vmin=-limit, vmax=limit)
        else:
            axes.imshow(image, cmap=cmap)
        axes.set_title(label, fontsize=8)
        axes.set_axis_off()
    figure.suptitle(title)
    top = 1 - 0.6 / (panel_inches * rows + 0.6)
    figure.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=top - 0.02, wspace=0.1, hspace=0.3)
    return save_figure(figure, path)


def plot_activations(x, curves, path):
    """Activation functions (top row) above their derivatives (bottom row), 1500 x 600 pixels.

    Args:
        x: the points, a 1-D array.
        curves: a list of ``(name, values, derivatives)``, each array shaped like ``x``.
        path: the PNG to write.

    Each derivative panel's title gives its largest value: 0.25 for the sigmoid and
    1 for tanh, so a gradient through ten sigmoids shrinks at least 4^10-fold, while
    ReLU passes it on unchanged wherever the unit is active.
    """
    figure = _figure(3 * len(curves), 6)
    for column, (name, values, derivatives) in enumerate(curves):
        top = figure.add_subplot(2, len(curves), column + 1)
        top.plot(x, values, color="tab:blue")
        top.set_title(name)
        bottom = figure.add_subplot(2, len(curves), len(curves) + column + 1, sharex=top)
        bottom.plot(x, derivatives, color="tab:red")
        bottom.set_title(f"d/dx {name}   (max {np.max(derivatives):.2f})", fontsize=9)
        bottom.set_ylim(-0.1, 1.15)
        bottom.set_xlabel("x")
        for axes in (top, bottom):
            axes.axhline(0, color="black", linewidth=0.5)
            axes.axvline(0, color="black", linewidth=0.5)
            axes.grid(alpha=0.3)
    figure.suptitle("Activations (top) and their derivatives from GradientTape (bottom): sigmoid and tanh saturate, their gradients vanish")
    figure.subplots_adjust(left=0.04, right=0.99, bottom=0.09, top=0.88, wspace=0.25, hspace=0.35)
    return save_figure(figure, path)


def _figure(width, height):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=FIGURE_DPI)
