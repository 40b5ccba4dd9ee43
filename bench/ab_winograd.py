"""In-process A/B of the conv strategies on one conv layer's training work: im2col against
Winograd's F(2x2, 3x3) and F(4x4, 3x3), for the crossover in channels and image size
behind ``kernels.conv.winograd_tile``'s rule.

A unit of work is what a training step asks of one 3x3 stride-1 conv (bias, ReLU): the
forward keeping what the filter gradient needs, the filter and bias gradients, and the
input gradient.  Each round runs one unit with each strategy, in a rotating order; the
figure is the median over the rounds of each strategy's time divided by im2col's in the
same round, with its interquartile range.  For a shared, noisy machine: many short
rounds rather than a few long runs.

Usage:
    .venv/bin/python bench/ab_winograd.py                                   # the grid below
    .venv/bin/python bench/ab_winograd.py --channels 32 --sizes 24 --rounds 40 --padding valid
"""

import argparse
import contextlib
import os
import statistics
import time

import numpy as np

import cnnlab as tf
from cnnlab.kernels import conv as conv_kernels
from cnnlab.kernels.padding import geometry_2d

STRATEGIES = {"im2col": None, "F2": 2, "F4": 4}


@contextlib.contextmanager
def strategy(tile):
    """The dispatcher's rule replaced by one that always answers ``tile`` (None: im2col)."""
    saved = conv_kernels.winograd_tile
    conv_kernels.winograd_tile = lambda *args: tile
    try:
        yield
    finally:
        conv_kernels.winograd_tile = saved


def unit(x, w, b, dy, geometry):
    forward = conv_kernels.conv2d(x, w, geometry, b, relu=True, keep_columns=True)
    conv_kernels.conv2d_backprop_filter(x, dy, w.shape, geometry, columns=forward.columns, with_bias=True)
    conv_kernels.conv2d_backprop_input(dy, w, x.shape, geometry)


def measure(batch, size, c, o, padding, rounds, rng):
    height = size if padding == "SAME" else size + 2  # the output is size x size either way
    x = rng.standard_normal((batch, height, height, c)).astype(np.float32)
    w = (rng.standard_normal((3, 3, c, o)) / np.sqrt(9 * c)).astype(np.float32)
    b = np.zeros(o, np.float32)
    geometry = geometry_2d((height, height), (3, 3), (1, 1), (1, 1), padding)
    dy = rng.standard_normal((batch, *geometry.out_shape, o)).astype(np.float32)
    names = list(STRATEGIES)
    for name in names:
        with strategy(STRATEGIES[name]):
            unit(x, w, b, dy, geometry)
    times = {name: [] for name in names}
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            with strategy(STRATEGIES[name]):
                started = time.perf_counter()
                unit(x, w, b, dy, geometry)
                times[name].append(time.perf_counter() - started)
    base = times["im2col"]
    cells = [f"im2col {statistics.median(base) * 1e3:7.2f} ms"]
    for name in names[1:]:
        ratios = [t / b_ for t, b_ in zip(times[name], base)]
        low, high = np.percentile(ratios, [25, 75])
        cells.append(f"{name} {statistics.median(ratios):.2f} ({low:.2f}-{high:.2f})")
    print(f"N={batch:3} out {size:2}x{size:<2} C={c:3} O={o:3} {padding:5}  " + "  ".join(cells), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--channels", type=int, nargs="+", default=[8, 12, 16, 24, 32, 64, 128])
    parser.add_argument("--out-channels", type=int, nargs="+", help="default: the same as --channels, pairwise")
    parser.add_argument("--sizes", type=int, nargs="+", default=[28, 24, 14, 10, 8, 7, 4])
    parser.add_argument("--padding", choices=("same", "valid"), default="same")
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    tf.runtime.configure()  # as the benchmark runs
    rng = np.random.default_rng(0)
    outs = args.out_channels or args.channels
    print(f"time of each strategy / im2col's, median over {args.rounds} rounds (IQR); {tf.runtime.num_threads()} threads, load {os.getloadavg()[0]:.1f}")
    for size in args.sizes:
        for c, o in zip(args.channels, outs):
            measure(args.batch, size, c, o, args.padding.upper(), args.rounds, rng)


if __name__ == "__main__":
    main()
