"""The signal playground's arithmetic: ``cnnlab.signal``'s result and every step of it.

For one axis, with ``x`` (``in1``) of length ``n`` and the kernel ``y`` (``in2``) of
length ``k`` (``cnnlab.signal.reference`` has the definitions)::

    convolution:  full[f] = sum_t x[f - t] * y[t]
    correlation:  full[f] = sum_t x[f - (k - 1) + t] * y[t]

Either way output ``f`` reads the window ``x[f - (k - 1)] .. x[f]``: correlation lays
``y`` on it as it is, convolution lays it flipped.  A mode keeps the outputs
``f = start, start + stride, ...`` of ``full`` ('full' from 0, 'same' ``n`` of them
from ``(k - 1) // 2`` (``k // 2`` for ``correlate2d``), 'valid' the ``n - k + 1``
where the window lies inside ``x``), so each step is a window origin
``f - (k - 1)`` and the products of the window with the laid kernel.  The output
itself is always the one ``cnnlab.signal`` computes.
"""

import numbers

import numpy as np

from ... import signal
from .network import RequestError

OPERATIONS = ("convolve", "correlate")
MODES = ("full", "same", "valid")
MAX_SIGNAL_LENGTH = 64  # 1-D in1
MAX_KERNEL_LENGTH = 16  # 1-D in2
MAX_IMAGE_SIDE = 32  # 2-D in1
MAX_KERNEL_SIDE = 7  # 2-D in2
MAX_STRIDE = 8


def signal_result(request):
    """Run one playground request through ``cnnlab.signal``.

    Args:
        request: a dict with ``in1`` (a list of numbers, or rows of them for 2-D),
            ``in2`` (the kernel, as many dimensions, no larger than ``in1``), ``op``
            ('convolve' or 'correlate'), ``mode`` ('full', 'same' or 'valid') and
            ``stride`` (a whole number 1-8, the same along both axes of 2-D input).

    Returns:
        A dict: ``function`` (the ``cnnlab.signal`` call made), ``output`` (its
        result), ``shape``, ``sizes`` (one ``{"n", "k", "stride", "size", "formula"}`` per
        axis, the size from ``signal.output_size``), ``kernel_laid`` (the kernel as
        laid on the windows: flipped for convolve), and ``steps``: one
        ``{"out", "origin", "products", "value"}`` per output, in row-major order,
        ``origin`` the window's first input position per axis (negative or past the
        end where the window reads the zero padding).

    Raises:
        RequestError: anything missing, of the wrong type or size, with a message.
    """
    if not isinstance(request, dict):
        raise RequestError("expected a JSON object with in1, in2, op, mode and stride")
    op = _choice(request, "op", OPERATIONS)
    mode = _choice(request, "mode", MODES)
    stride = request.get("stride", 1)
    if not isinstance(stride, int) or isinstance(stride, bool) or not 1 <= stride <= MAX_STRIDE:
        raise RequestError(f"stride: expected a whole number 1-{MAX_STRIDE}; received {stride!r}")
    in1 = _numbers(request.get("in1"), "in1")
    in2 = _numbers(request.get("in2"), "in2")
    if in1.ndim != in2.ndim:
        raise RequestError(f"in1 and in2 must both be 1-D or both 2-D; received {in1.ndim}-D and {in2.ndim}-D")
    limits = (MAX_SIGNAL_LENGTH, MAX_KERNEL_LENGTH) if in1.ndim == 1 else (MAX_IMAGE_SIDE, MAX_KERNEL_SIDE)
    for name, array, limit in (("in1", in1, limits[0]), ("in2", in2, limits[1])):
        if max(array.shape) > limit:
            raise RequestError(f"{name}: at most {limit} values along each axis; received shape {list(array.shape)}")
    if any(k > n for n, k in zip(in1.shape, in2.shape)):
        raise RequestError(
            f"in2 (the kernel, shape {list(in2.shape)}) must be no larger than in1 (shape {list(in1.shape)}) "
            "along each axis"
        )
    two_d = in1.ndim == 2
    name = f"{op}2d" if two_d else op
    output = getattr(signal, name)(in1, in2, mode=mode, stride=stride)
    laid = in2 if op == "correlate" else in2[(slice(None, None, -1),) * in2.ndim]
    starts = [
        _same_start(k, correlate2d=two_d and op == "correlate") if mode == "same" else (k - 1 if mode == "valid" else 0)
        for k in in2.shape
    ]
    steps = []
    for out in np.ndindex(*output.shape):
        origin = [start + j * stride - (k - 1) for start, j, k in zip(starts, out, in2.shape)]
        window = _window(in1, origin, in2.shape)
        products = window * laid
        steps.append(
            {"out": list(out), "origin": origin, "products": products.tolist(), "value": float(products.sum())}
        )
    return {
        "function": f"cnnlab.signal.{name}(in1, in2, mode={mode!r}, stride={stride})",
        "output": output.tolist(),
        "shape": list(output.shape),
        "sizes": [_size(n, k, stride, mode) for n, k in zip(in1.shape, in2.shape)],
        "kernel_laid": laid.tolist(),
        "steps": steps,
    }


def _same_start(k, correlate2d):
    # scipy's two correlations centre 'same' differently for an even kernel (see cnnlab.signal.reference).
    return k // 2 if correlate2d else (k - 1) // 2


def _window(x, origin, shape):
    """``x[origin : origin + shape]``, zero where it reaches past ``x``'s edges."""
    window = np.zeros(shape)
    source = tuple(slice(max(o, 0), min(o + s, n)) for o, s, n in zip(origin, shape, x.shape))
    target = tuple(slice(sl.start - o, sl.stop - o) for sl, o in zip(source, origin))
    if all(sl.stop > sl.start for sl in source):
        window[target] = x[source]
    return window


def _size(n, k, stride, mode):
    """The output length along one axis, from ``signal.output_size``, with the formula that gives it."""
    size = signal.output_size(n, k, stride=stride, mode=mode)
    if mode == "full":
        formula = f"floor((n + k - 2) / s) + 1 = floor(({n} + {k} - 2) / {stride}) + 1 = {size}"
    elif mode == "same":
        formula = f"floor((n - 1) / s) + 1 = floor(({n} - 1) / {stride}) + 1 = {size}"
    else:
        formula = f"floor((n - k) / s) + 1 = floor(({n} - {k}) / {stride}) + 1 = {size}"
    return {"n": n, "k": k, "stride": stride, "size": size, "formula": formula}


def _choice(request, name, choices):
    value = request.get(name)
    if value not in choices:
        raise RequestError(f"{name}: expected one of {', '.join(choices)}; received {value!r}")
    return value


def _numbers(value, name):
    """A list of numbers, or a list of equally long lists of them, as a float64 array."""
    expected = "a list of numbers, or a list of rows of numbers"
    if not isinstance(value, list) or not value:
        raise RequestError(f"{name}: expected {expected}; received {_describe(value)}")
    if all(isinstance(row, list) for row in value):
        if len({len(row) for row in value}) != 1 or not value[0]:
            raise RequestError(f"{name}: the rows must be equally long and not empty")
        cells = [v for row in value for v in row]
    else:
        cells = value
    for v in cells:
        if not isinstance(v, numbers.Real) or isinstance(v, bool) or not np.isfinite(v):
            raise RequestError(f"{name}: expected {expected}; found {_describe(v)}")
    return np.array(value, dtype=np.float64)


def _describe(value):
    return repr(value) if isinstance(value, (int, float, str)) and len(repr(value)) < 40 else type(value).__name__
