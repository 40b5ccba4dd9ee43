"""The float32 error of each conv strategy against float64: im2col, Winograd's F(2x2, 3x3), F(4x4, 3x3).

For each geometry, a training step's work of one 3x3 stride-1 conv through the dispatchers
(the forward, then ``conv2d_gradients``: the input and filter gradients), with the
dispatcher's Winograd rule replaced by one that answers each strategy in turn, on typical
data: inputs and output gradients N(0, 1), Glorot-uniform filters.  Each figure is the
largest error against a float64 reference written from the definition, divided by the
largest value of that reference.  No timing.

Usage:
    .venv/bin/python bench/conv_error.py             # the deeper CNN's second conv and the ResNet's last stage
    .venv/bin/python bench/conv_error.py --seed 1
"""

import argparse
import contextlib

import numpy as np

from cnnlab.kernels import conv as conv_kernels
from cnnlab.kernels.padding import geometry_2d

STRATEGIES = {"im2col": None, "F(2x2, 3x3)": 2, "F(4x4, 3x3)": 4}
GEOMETRIES = {  # name: (batch, input height and width, in channels, out channels, padding)
    "deeper CNN, second conv: 26x26x32 -> 24x24x32, valid": (4, 26, 32, 32, "VALID"),
    "ResNet, last stage: 7x7x128 -> 7x7x128, same": (8, 7, 128, 128, "SAME"),
}


@contextlib.contextmanager
def strategy(tile):
    """The dispatcher's rule replaced by one that always answers ``tile`` (None: im2col)."""
    saved = conv_kernels.winograd_tile
    conv_kernels.winograd_tile = lambda *args: tile
    try:
        yield
    finally:
        conv_kernels.winograd_tile = saved


def reference(x, w, geometry, dy):
    """``(y, dx, dw)`` of a 3x3 stride-1 conv in float64, from the definition."""
    (_, top, bottom), (_, left, right) = geometry.rows, geometry.cols
    padded = np.pad(x.astype(np.float64), ((0, 0), (top, bottom), (left, right), (0, 0)))
    oh, ow = geometry.out_shape
    fields = np.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(1, 2))[:, :oh, :ow]
    w64, dy64 = w.astype(np.float64), dy.astype(np.float64)
    y = np.einsum("nhwcij,ijco->nhwo", fields, w64)
    dw = np.einsum("nhwcij,nhwo->ijco", fields, dy64)
    d_padded = np.zeros(padded.shape)
    for i in range(3):
        for j in range(3):
            d_padded[:, i : i + oh, j : j + ow] += np.einsum("nhwo,co->nhwc", dy64, w64[i, j])
    dx = d_padded[:, top : top + x.shape[1], left : left + x.shape[2]]
    return y, dx, dw


def errors(batch, size, c, o, padding, rng):
    """``{strategy: (forward, input gradient, filter gradient) errors}`` for one geometry."""
    x = rng.standard_normal((batch, size, size, c)).astype(np.float32)
    w = (rng.uniform(-1, 1, (3, 3, c, o)) * np.sqrt(6 / (9 * (c + o)))).astype(np.float32)
    geometry = geometry_2d((size, size), (3, 3), padding=padding)
    dy = rng.standard_normal((batch, *geometry.out_shape, o)).astype(np.float32)
    expected = reference(x, w, geometry, dy)
    found = {}
    for name, tile in STRATEGIES.items():
        with strategy(tile):
            forward = conv_kernels.conv2d(x, w, geometry, keep_columns=True)
            dx, dw, _ = conv_kernels.conv2d_gradients(x, dy, w, geometry, forward, need_input=True, need_filters=True)
        found[name] = [np.abs(got - want).max() / np.abs(want).max() for got, want in zip((forward.out, dx, dw), expected)]
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    print("largest float32 error / largest float64 value (forward, input gradient, filter gradient)")
    for name, (batch, size, c, o, padding) in GEOMETRIES.items():
        print(f"{name} (batch {batch})")
        for strategy_name, figures in errors(batch, size, c, o, padding, rng).items():
            print(f"  {strategy_name:12} " + "  ".join(f"{value:.1e}" for value in figures))


if __name__ == "__main__":
    main()
