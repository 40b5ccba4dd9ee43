"""``cnnlab inspect``: what a trained CNN sees: its input, every feature map, its learned filters."""

import os

import numpy as np

from . import data as run_data_module
from .common import (
    CommandError,
    add_data_option,
    add_parser,
    check_output_directory,
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
        "pooling layer, and the learned filters of every convolution. The image is a test image of the run's "
        "data set, or for a run on your own pictures one of its validation pictures (--index, default 0), or a "
        "picture of your own (--image, read as 'cnnlab predict' reads it).",
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
    add_data_option(parser, pictures=False)
    parser.set_defaults(run=run)


def run(args):
    from .. import keras
    from .plots import plot_image_grid

    model, run_data = run_data_module.load_run_model(args.model)
    model_dir = args.model if os.path.isdir(args.model) else os.path.dirname(args.model)
    out = args.out or os.path.join(model_dir, "inspect")
    check_output_directory(out)
    batch, image, caption = _input_image(args, run_data)
    os.makedirs(out, exist_ok=True)

    probabilities = model.predict(batch, verbose=0)[0]
    best = int(np.argmax(probabilities))
    caption += f"\npredicted: {run_data.class_names[best]} ({probabilities[best]:.1%})"
    written = [plot_image_grid([image], [caption], os.path.join(out, "00_input.png"), "input", panel_inches=3.2)]

    for position, layer, activations in _feature_maps(keras, model, batch):
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


def _feature_maps(keras, model, batch):
    """``(position, layer, output)`` for each convolution and pooling layer of ``model`` on ``batch``, in
    the order of ``model.layers`` (positions from 1): a chain of layers is run layer by layer; a graph
    (a functional model that branches, as small-resnet) through a model of its feature layers' outputs."""
    kinds = (keras.layers.Conv2D, keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)
    chosen = [(position, layer) for position, layer in enumerate(model.layers, start=1) if isinstance(layer, kinds)]
    if isinstance(model, keras.Sequential):
        activations, outputs = batch, {}
        for layer in model.layers:
            activations = outputs[id(layer)] = layer(activations)
        return [(position, layer, outputs[id(layer)]) for position, layer in chosen]
    probe = keras.Model(model.inputs, [layer.output for _, layer in chosen])
    outputs = probe.predict(batch, verbose=0)
    outputs = outputs if isinstance(outputs, list) else [outputs]
    return [(position, layer, maps) for (position, layer), maps in zip(chosen, outputs)]


def _input_image(args, run_data):
    """The batch of one picture the model reads, the picture to show (uint8) and its caption."""
    if args.image:
        picture, shown = run_data_module.picture_input(run_data, args.image, invert="auto" if args.invert else False)
        return picture[np.newaxis], shown, os.path.basename(args.image)
    index = args.index or 0
    if run_data.kind == run_data_module.PICTURES:
        paths, labels = run_data.validation_files()
        if index >= len(paths):
            raise CommandError(
                f"--index {index} is out of range: the run has {len(paths)} validation pictures (0-{len(paths) - 1})"
            )
        picture, shown = run_data_module.picture_input(run_data, paths[index])
        caption = f"validation picture {index}: {run_data.class_names[labels[index]]}"
        return picture[np.newaxis], shown, caption
    _, (x_test, y_test) = run_data_module.load_standard(run_data.kind, args.data)
    if index >= len(x_test):
        raise CommandError(
            f"--index {index} is out of range: the test set has {len(x_test)} images (0-{len(x_test) - 1})"
        )
    return (
        model_input(x_test[index][np.newaxis]),
        x_test[index],
        f"test image {index}: {run_data.class_names[y_test[index]]}",
    )


def _plot_filters(layer, path):
    """One panel per filter.  A filter reading several channels shows the slice with the largest weights."""
    from .plots import plot_image_grid

    kernel = np.asarray(layer.get_weights()[0])  # (height, width, in_channels, filters)
    in_channels, filters = kernel.shape[2], kernel.shape[3]
    strongest = np.sqrt((kernel**2).sum(axis=(0, 1))).argmax(axis=0)  # per filter, its heaviest input channel
    panels = [kernel[:, :, strongest[f], f] for f in range(filters)]
    titles = [f"filter {f}" if in_channels == 1 else f"filter {f} (in {strongest[f]})" for f in range(filters)]
    title = f"{layer.name}: {filters} learned {kernel.shape[0]}x{kernel.shape[1]} filters (red +, blue -)"
    if in_channels > 1:
        title += f"; each shows the heaviest of its {in_channels} input channels"
    return plot_image_grid(panels, titles, path, title, symmetric=True)
