"""``cnnlab activations``: the activation functions beside their derivatives, from the GradientTape."""

import numpy as np

from .common import add_parser, check_output_file

DEFAULT_OUT = "activations.png"


def register(subparsers):
    parser = add_parser(
        subparsers,
        "activations",
        "plot sigmoid, tanh, ReLU, leaky ReLU and ELU beside their derivatives",
        "Draws sigmoid, tanh, ReLU, leaky ReLU and ELU over [-6, 6] above their derivatives, which are "
        "computed with cnnlab.GradientTape through the tf.nn ops, into one PNG. The picture shows why "
        "gradients vanish through sigmoid and tanh (their derivatives are at most 0.25 and 1, and nearly 0 "
        "once saturated) but not through ReLU (1 wherever the unit is active).",
        ["cnnlab activations", "cnnlab activations --out plots/activations.png"],
    )
    parser.add_argument("--out", metavar="FILE", default=DEFAULT_OUT, help=f"the PNG to write (default: {DEFAULT_OUT})")
    parser.set_defaults(run=run)


def activation_curves(x):
    """``[(name, f(x), f'(x))]`` for each activation, the derivative taken by ``GradientTape``.

    Each output element depends only on the matching input element, so the gradient
    of ``sum(f(x))`` with respect to ``x`` is the elementwise derivative ``f'(x)``.
    """
    import cnnlab as tf

    functions = [
        ("sigmoid", tf.nn.sigmoid),
        ("tanh", tf.nn.tanh),
        ("ReLU", tf.nn.relu),
        ("leaky ReLU (alpha=0.2)", lambda t: tf.nn.leaky_relu(t, alpha=0.2)),
        ("ELU", tf.nn.elu),
    ]
    points = tf.constant(x)
    curves = []
    for name, function in functions:
        with tf.GradientTape() as tape:
            tape.watch(points)
            values = function(points)
        derivatives = tape.gradient(values, points)
        curves.append((name, values.numpy(), derivatives.numpy()))
    return curves


def run(args):
    from .plots import plot_activations

    check_output_file(args.out)
    x = np.linspace(-6.0, 6.0, 601, dtype=np.float32)
    plot_activations(x, activation_curves(x), args.out)
    print(f"wrote {args.out}")
    return 0
