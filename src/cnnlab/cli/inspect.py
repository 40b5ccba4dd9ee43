"""``cnnlab inspect``: what a trained CNN sees: its input, every feature map, its learned filters."""

import os

import numpy as np

from ..datasets import CLASS_NAMES
from ..images import load_image
from .common import (
    CommandError,
    add_data_option,
    add_parser,
    check_output_directory,
    load_dataset,
    load_model,
    model_input,
    non_negative_int,
)


def register(subparsers):
    parser = add_parser(
        subparsers,
        "inspect",
        "draw the feature maps and filters of a trained model for one image",
        "Passes one image through the model layer by layer and writes PNG grids with labelled panels: the "
        "input (with the model's prediction), the feature maps after every convolution and after every "
        "pooling layer, and the learned filters of every convolution. The image is a Fashion-MNIST test "
        "image (--index, default 0) or a picture of your own (--image, converted as 'cnnlab predict' does).",
        [
            "cnnlab inspect runs/seed/model.keras                 # test image 0",
            "cnnlab inspect runs/seed/model.keras --index 42 --out inspect-42",
            "cnnlab inspect runs/deep --image my-sneaker.jpg",
        ],
    )
    parser.add_argument("model", metavar="MODEL", help="a model file written by 'cnnlab train' (or its run directory)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--image", metavar="FILE", help="a picture (PNG or JPEG) to look at")
    source.add_argument("--index", type=non_negative_int, metavar="N", help="the test image to look at (default: 0)")
    parser.add_argument(
        "--no-invert", dest="invert", action="store_false", help="with --image: never invert the picture"
    )
    parser.add_argument("--out", metavar="DIR", help="where the PNGs go (default: inspect/ beside the model)")
    add_data_option(parser)
    parser.set_defaults(run=run)


def run(args):
    from .. import keras
    from ..plots import plot_image_grid

    model = load_model(args.model)
    model_dir = args.model if os.path.isdir(args.model) else os.path.dirname(args.model)
    out = args.out or os.path.join(model_dir, "inspect")
    check_output_directory(out)
    image, caption = _input_image(args)
    os.makedirs(out, exist_ok=True)

    batch = model_input(image[np.newaxis])
    probabilities = model.predict(batch, verbose=0)[0]
    best = int(np.argmax(probabilities))
    caption += f"\npredicted: {CLASS_NAMES[best]} ({probabilities[best]:.1%})"
    written = [plot_image_grid([image], [caption], os.path.join(out, "00_input.png"), "input", panel_inches=3.2)]

    feature_layers = (keras.layers.Conv2D, keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)
    activations = batch
    for position, layer in enumerate(model.layers, start=1):
        activations = layer(activations)
        if not isinstance(layer, feature_layers):
            continue
        maps = np.asarray(activations)[0]
        height, width, channels = maps.shape
        kind = "convolution" if isinstance(layer, keras.layers.Conv2D) else "pooling"
        written.append(
            plot_image_grid(
                [maps[:, :, c] for c in range(channels)],
                [f"map {c}" for c in range(channels)],
                os.path.join(out, f"{position:02d}_{layer.name}_feature_maps.png"),
                f"after {layer.name} ({kind}): {channels} feature maps of {height}x{width}",
                cmap="magma",
            )
        )
        if isinstance(layer, keras.layers.Conv2D):
            written.append(_plot_filters(layer, os.path.join(out, f"{position:02d}_{layer.name}_filters.png")))
    print(f"{caption.replace(chr(10), ', ')}")
    print(f"wrote {len(written)} images to {out}/: " + ", ".join(os.path.basename(path) for path in written))
    return 0


def _input_image(args):
    """The 28x28 uint8 image to look at and its caption."""
    if args.image:
        return load_image(args.image, invert="auto" if args.invert else False), os.path.basename(args.image)
    index = args.index or 0
    _, (x_test, y_test) = load_dataset(args.data)
    if index >= len(x_test):
        raise CommandError(
            f"--index {index} is out of range: the test set has {len(x_test)} images (0-{len(x_test) - 1})"
        )
    return x_test[index], f"test image {index}: {CLASS_NAMES[y_test[index]]}"


def _plot_filters(layer, path):
    """One panel per filter.  A filter reading several channels shows the slice with the largest weights."""
    from ..plots import plot_image_grid

    kernel = np.asarray(layer.get_weights()[0])  # (height, width, in_channels, filters)
    in_channels, filters = kernel.shape[2], kernel.shape[3]
    strongest = np.sqrt((kernel**2).sum(axis=(0, 1))).argmax(axis=0)  # per filter, its heaviest input channel
    panels = [kernel[:, :, strongest[f], f] for f in range(filters)]
    titles = [f"filter {f}" if in_channels == 1 else f"filter {f} (in {strongest[f]})" for f in range(filters)]
    title = f"{layer.name}: {filters} learned {kernel.shape[0]}x{kernel.shape[1]} filters (red +, blue -)"
    if in_channels > 1:
        title += f"; each shows the heaviest of its {in_channels} input channels"
    return plot_image_grid(panels, titles, path, title, symmetric=True)
