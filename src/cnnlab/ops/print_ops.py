"""``tf.print``: print tensors the way TF's print op formats them.

A tensor prints as nested brackets of its values separated by spaces (no dtype,
no ``tf.Tensor(...)``), long axes cut to their first and last ``summarize``
entries around ``...``, floats in their shortest form that reads back as the same
float (``0.5``, ``1``, ``0.333333343``), bools as ``1`` / ``0``.  Other arguments
print as ``str`` does.  Output goes to standard error by default, as in TF.
"""

import sys

import numpy as np

from ..tensor import Tensor


def _element_text(value):
    if isinstance(value, (bool, np.bool_)):
        return "1" if value else "0"
    if isinstance(value, np.floating):
        # TF's float printing: 6 (float32) or 15 (float64) significant digits, more if needed to read back exactly.
        digits, most = (15, 17) if value.dtype == np.float64 else (6, 9)
        text = f"{value:.{digits}g}"
        if value.dtype.type(text) != value and np.isfinite(value):
            text = f"{value:.{most}g}"
        return text
    return str(value)


def _array_text(array, summarize, indent=1):
    if array.ndim == 0:
        return _element_text(array[()])
    n = array.shape[0]
    cut = summarize is not None and summarize >= 0 and n > 2 * summarize
    heads = range(summarize) if cut else range(n)
    tails = range(n - summarize, n) if cut else range(0)
    if array.ndim == 1:
        parts = (
            [_element_text(array[i]) for i in heads]
            + (["..."] if cut else [])
            + [_element_text(array[i]) for i in tails]
        )
        return "[" + " ".join(parts) + "]"
    separator = "\n" * (array.ndim - 1) + " " * indent
    parts = [_array_text(array[i], summarize, indent + 1) for i in heads]
    if cut:
        parts.append("...")
    parts += [_array_text(array[i], summarize, indent + 1) for i in tails]
    return "[" + separator.join(parts) + "]"


def _text(value, summarize):
    if isinstance(value, Tensor):
        return _array_text(value._value, summarize)
    if isinstance(value, np.ndarray):
        return _array_text(value, summarize)
    if isinstance(value, (list, tuple)):
        inner = ", ".join(_text(v, summarize) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_text(v, summarize)}" for k, v in value.items()) + "}"
    return str(value)


def print(*inputs, output_stream=None, summarize=3, sep=" ", end="\n", name=None):  # noqa: A001 - TF's name
    """Print ``inputs`` as TF's ``tf.print`` does (see the module docstring).

    Args:
        inputs: tensors, arrays, Python values, or lists / dicts of them.
        output_stream: a file-like object (``sys.stdout``, ``sys.stderr``; the default is
            ``sys.stderr``, as TF's).
        summarize: entries kept at each end of a long axis (-1 or None: all of them).
        sep, end: as Python's ``print``.

    Example:
        >>> cnnlab.print(cnnlab.range(10), output_stream=sys.stdout)
        [0 1 2 ... 7 8 9]
    """
    stream = sys.stderr if output_stream is None else output_stream
    if not hasattr(stream, "write"):
        raise TypeError(
            f"print: output_stream must be a file-like object such as sys.stdout; received {output_stream!r}."
        )
    stream.write(sep.join(_text(value, summarize) for value in inputs) + end)
