"""Test helpers: ``check_gradients`` compares the tape's gradients with finite differences.

Example:
    >>> import cnnlab as tf
    >>> tf.testing.check_gradients(lambda x: tf.exp(x) * x, [np.array([0.5, -1.0])])
"""

import numpy as np

from .autodiff import GradientTape, UnconnectedGradients
from .ops.math_ops import multiply
from .ops.reduction_ops import reduce_sum
from .tensor import Tensor, constant


def check_gradients(fn, inputs, delta=1e-6, rtol=1e-5, atol=1e-6, seed=0):
    """Check ``fn``'s gradients from ``GradientTape`` against central finite differences, in float64.

    The output of ``fn`` is projected on a fixed random direction ``r``, and the
    gradient of ``sum(fn(*inputs) * r)`` is compared with
    ``(L(x + delta * e_i) - L(x - delta * e_i)) / (2 * delta)`` for every element
    ``i`` of every input.  (A random projection rather than a plain sum: the sum of
    a softmax, for one, is constant, and would hide any error in its gradient.)

    Args:
        fn: a function of ``len(inputs)`` float64 tensors returning one float tensor.
            It may itself use a ``GradientTape`` (to check second-order gradients).
        inputs: arrays (or tensors) at which to check; they are converted to float64.
        delta: the finite-difference step.
        rtol, atol: the tolerance, as in ``np.testing.assert_allclose``.
        seed: seeds the random projection.

    Raises:
        AssertionError: naming the input whose gradient disagrees, and by how much.
    """
    points = [np.array(x._value if isinstance(x, Tensor) else x, dtype=np.float64, order="C") for x in inputs]
    sources = [constant(p) for p in points]
    with GradientTape() as tape:
        tape.watch(sources)
        out = fn(*sources)
        if not isinstance(out, Tensor) or out.dtype.kind != "f":
            raise TypeError(f"check_gradients: fn must return a float tensor; received {type(out).__name__}.")
        direction = constant(np.random.default_rng(seed).standard_normal(out.shape))
        projected = reduce_sum(multiply(out, direction))
    analytic = tape.gradient(projected, sources, unconnected_gradients=UnconnectedGradients.ZERO)

    def projected_value(values):
        return float(np.sum(fn(*[constant(v) for v in values])._value * direction._value))

    for index, (point, gradient) in enumerate(zip(points, analytic)):
        numeric = np.zeros_like(point)
        flat, flat_numeric = point.reshape(-1), numeric.reshape(-1)  # views (C order): editing ``flat`` moves ``point``
        for i in range(flat.size):
            original = flat[i]
            flat[i] = original + delta
            above = projected_value(points)
            flat[i] = original - delta
            below = projected_value(points)
            flat[i] = original
            flat_numeric[i] = (above - below) / (2 * delta)
        np.testing.assert_allclose(
            gradient.numpy(),
            numeric,
            rtol=rtol,
            atol=atol,
            err_msg=f"check_gradients: the tape's gradient for input {index} (shape {point.shape}) "
            "disagrees with central finite differences",
        )
