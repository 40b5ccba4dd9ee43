"""The pictures of the clothing classifier: training curves, confusion matrix, image grids, activations.

Every ``plot_*`` function draws one figure and writes it as a PNG, atomically, of a
size fixed by its layout (``FIGURE_DPI`` pixels per inch, no tight cropping), and
returns the path.  Matplotlib is imported on first use and only its object API is
used (``matplotlib.figure.Figure`` rendered by Agg): no pyplot, so nothing changes the
backend or keeps figures alive in a user's session.
"""

import math

import numpy as np

from ..datasets._files import atomic_write

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
    from matplotlib.ticker import MaxNLocator

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
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        if axes.lines:
            axes.legend()
    figure.suptitle(title)
    figure.subplots_adjust(left=0.08, right=0.97, bottom=0.13, top=0.84, wspace=0.25)
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
        axes.text(
            col, row, str(count), ha="center", va="center", fontsize=8, color="white" if count > dark_above else "black"
        )
    axes.set_title(title)
    figure.subplots_adjust(left=0.18, bottom=0.2, right=0.92, top=0.93)
    return save_figure(figure, path)


def plot_image_grid(images, titles, path, title, columns=8, cmap="gray", symmetric=False, panel_inches=1.6):
    """Images in a grid of labelled panels, e.g. the feature maps of a layer.

    Each image is scaled to its own range and drawn with sharp pixels (enlarged by
    a whole factor to fill its panel); with ``symmetric=True`` zero is the middle of
    a red-blue colour map (for filter weights: red positive, blue negative).

    Args:
        images: a sequence of 2-D arrays, or of colour pictures (height, width, 3 or 4) with
            values 0-255, which are drawn in their own colours.
        titles: one title per image.
        path: the PNG to write.
        title: the figure's title.
        columns: panels per row (fewer when there are fewer images).
        cmap: a Matplotlib colour-map name (ignored when ``symmetric``).
        panel_inches: the side of a panel, title included.

    Shape:
        With ``p = 100 * panel_inches``, the PNG is ``p * min(columns, n)`` pixels
        wide and ``p * ceil(n / columns) + 60`` high.
    """
    import matplotlib

    if len(images) == 0 or len(images) != len(titles):
        raise ValueError(
            "plot_image_grid: expected one title per image and at least one image; "
            f"Received: {len(images)} images, {len(titles)} titles"
        )
    columns = min(columns, len(images))
    rows = math.ceil(len(images) / columns)
    panel = round(panel_inches * FIGURE_DPI)
    height = panel * rows + _TITLE_PIXELS
    figure = _figure(panel * columns / FIGURE_DPI, height / FIGURE_DPI)
    colours = matplotlib.colormaps["RdBu_r" if symmetric else cmap]
    label_pixels = 6 + 13 * max(label.count("\n") + 1 for label in titles)
    # The images are placed pixel for pixel (figimage), not through one Axes per panel:
    # a grid of 64 feature maps then renders in a fraction of a second.
    for index, (image, label) in enumerate(zip(images, titles)):
        row, column = divmod(index, columns)
        image = np.asarray(image, dtype=np.float32)
        if image.ndim == 3:  # a colour picture
            pixels = _enlarge(np.clip(image[..., :3] / 255.0, 0.0, 1.0), panel - label_pixels - 4)
        else:
            pixels = colours(_enlarge(_normalise(image, symmetric), panel - label_pixels - 4))
        left = column * panel + (panel - pixels.shape[1]) // 2
        bottom = height - _TITLE_PIXELS - (row + 1) * panel + (panel - label_pixels - pixels.shape[0]) // 2
        figure.figimage(pixels, xo=left, yo=bottom, origin="upper")
        label_y = (height - _TITLE_PIXELS - row * panel - 3) / height
        figure.text((column + 0.5) * panel / (panel * columns), label_y, label, ha="center", va="top", fontsize=8)
    figure.text(0.5, 1 - 12 / height, title, ha="center", va="top", fontsize=11)
    return save_figure(figure, path)


_TITLE_PIXELS = 60  # the band at the top of an image grid holding its title


def _normalise(image, symmetric):
    """Map an image to [0, 1]: its min..max, or -max|x|..max|x| (zero in the middle) when symmetric."""
    if symmetric:
        limit = float(np.abs(image).max()) or 1.0
        return (image / limit + 1.0) / 2.0
    low, high = float(image.min()), float(image.max())
    return (image - low) / (high - low) if high > low else np.zeros_like(image)


def _enlarge(image, size):
    """Repeat pixels by the largest whole factor that fits ``size``; sub-sample images larger than ``size``."""
    longest = max(image.shape)
    if longest > size:
        step = math.ceil(longest / size)
        return image[::step, ::step]
    factor = size // longest
    return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)


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
    figure.suptitle(
        "Activations (top) and their derivatives from GradientTape (bottom): "
        "sigmoid and tanh saturate, their gradients vanish"
    )
    figure.subplots_adjust(left=0.04, right=0.99, bottom=0.09, top=0.88, wspace=0.25, hspace=0.35)
    return save_figure(figure, path)


def _figure(width, height):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=FIGURE_DPI)
