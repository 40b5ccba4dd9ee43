"""``tf.linalg``: the matrix ops cnnlab has (batched matmul, eye, matrix_transpose)."""

from .ops.array_ops import eye, transpose
from .ops.math_ops import matmul
from .tensor import as_tensor


def matrix_transpose(a, name=None):
    """Swap the last two axes of ``a`` (``tf.linalg.matrix_transpose``)."""
    x = as_tensor(a, "matrix_transpose")
    if x.ndim < 2:
        raise ValueError(f"matrix_transpose: expected a tensor of rank >= 2; received shape={tuple(x.shape)}.")
    return transpose(x, [*range(x.ndim - 2), x.ndim - 1, x.ndim - 2])


__all__ = ["eye", "matmul", "matrix_transpose"]
