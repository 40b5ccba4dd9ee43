"""Convolution and correlation straight from the definition, one output at a time.

This is the slow, plainly correct twin of ``cnnlab.signal``: the tests check the fast
functions against it, and it is the place to read what they compute.  It shares no
code with them.  Each function takes the same arguments as its fast twin (no
``method``: there is only one way here) and trusts them to be valid.

For one axis, with ``x`` (``in1``) of length ``n`` and ``y`` (``in2``) of length ``k``,
the *full* results have ``n + k - 1`` samples, ``f = 0 .. n + k - 2``::

    convolution:  full[f] = sum_t x[f - t] * y[t]                  (y flipped)
    correlation:  full[f] = sum_t x[f - (k - 1) + t] * conj(y[t])  (y slid as is)

where ``x`` is zero outside ``0 .. n - 1`` (the 2-D functions may instead extend it
periodically or by mirroring).  N-D is the same with ``f`` and ``t`` tuples.  A mode
keeps part of ``full``; a stride then keeps every ``stride``-th sample of that part:

* 'full':  all of it;
* 'same':  ``n`` samples starting at ``(k - 1) // 2`` (``k // 2`` for ``correlate2d``:
  scipy's two correlations differ by one index for even ``k``);
* 'valid': the ``|n - k| + 1`` samples where the shorter array lies wholly inside the
  longer one, starting at ``min(n, k) - 1``.  scipy requires one input to be at least
  as large as the other in every dimension.
"""

import itertools

import numpy as np


def convolve(in1, in2, mode="full", stride=1):
    """N-D convolution from the definition (see the module docstring)."""
    return _slide(in1, in2, mode, stride, correlation=False)


def correlate(in1, in2, mode="full", stride=1):
    """N-D correlation from the definition (see the module docstring)."""
    return _slide(in1, in2, mode, stride, correlation=True)


def convolve2d(in1, in2, mode="full", boundary="fill", fillvalue=0, stride=1):
    """2-D convolution from the definition, with scipy's boundary rules."""
    return _slide(in1, in2, mode, stride, correlation=False, boundary=boundary, fillvalue=fillvalue)


def correlate2d(in1, in2, mode="full", boundary="fill", fillvalue=0, stride=1):
    """2-D correlation from the definition, with scipy's boundary rules.

    Two scipy details are kept: 'same' starts at ``k // 2``, and in 'valid' mode with
    a larger ``in2`` the result is conjugated (scipy swaps the inputs without
    undoing the conjugation; it matters for complex inputs only).
    """
    out = _slide(
        in1, in2, mode, stride, correlation=True, boundary=boundary, fillvalue=fillvalue, same_start_rounds_up=True
    )
    in2_is_larger = any(b > a for a, b in zip(np.shape(in1), np.shape(in2)))
    return np.conj(out) if mode == "valid" and in2_is_larger else out


def _slide(in1, in2, mode, stride, correlation, boundary="fill", fillvalue=0, same_start_rounds_up=False):
    x, y = np.asarray(in1), np.asarray(in2)
    dtype = np.result_type(x, y)
    strides = (stride,) * x.ndim if np.ndim(stride) == 0 else tuple(stride)

    # Which samples of the full result each axis keeps.
    kept = []
    for n, k, s in zip(x.shape, y.shape, strides):
        if mode == "full":
            start, count = 0, n + k - 1
        elif mode == "same":
            start, count = (k // 2 if same_start_rounds_up else (k - 1) // 2), n
        else:
            start, count = min(n, k) - 1, abs(n - k) + 1
        kept.append(range(start, start + count, s))

    fill = np.asarray(fillvalue).astype(dtype).item()
    if mode == "valid":
        # 'valid' sums over the overlap only: no boundary rule is ever read.
        boundary, fill = "fill", 0
    out = np.zeros([len(r) for r in kept], dtype)
    for out_index in itertools.product(*(range(len(r)) for r in kept)):
        f = [r[i] for r, i in zip(kept, out_index)]  # where this output sits in the full result
        total = 0
        for t in itertools.product(*(range(k) for k in y.shape)):  # every kernel tap
            if correlation:
                position = [fa - (k - 1) + ta for fa, k, ta in zip(f, y.shape, t)]
                weight = np.conj(y[t]).item()
            else:
                position = [fa - ta for fa, ta in zip(f, t)]
                weight = y[t].item()
            total += _value_at(x, position, boundary, fill) * weight
        out[out_index] = total
    return out


def _value_at(x, position, boundary, fill):
    """``x[position]``, with ``x`` extended past its edges by the boundary rule."""
    index = []
    for i, n in zip(position, x.shape):
        if boundary in ("wrap", "circular"):
            i = i % n  # ... 1 2 3 | 1 2 3 | 1 2 3 ...
        elif boundary in ("symm", "symmetric"):
            i = i % (2 * n)  # ... 3 2 1 | 1 2 3 | 3 2 1 ...
            i = 2 * n - 1 - i if i >= n else i
        elif not 0 <= i < n:
            return fill
        index.append(i)
    return x[tuple(index)].item()
