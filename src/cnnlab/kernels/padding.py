"""The one place that computes padding and output sizes for conv and pooling windows.

TensorFlow's rule (DESIGN.md), with the effective window ``k_eff = (k - 1) * d + 1``:

* VALID: no padding, ``out = ceil((n - k_eff + 1) / s)``;
* SAME: ``out = ceil(n / s)``, ``pad = max((out - 1) * s + k_eff - n, 0)``,
  ``before = pad // 2``, ``after = pad - before`` (the odd cell goes after:
  bottom / right, unlike PyTorch's symmetric padding);
* explicit ``(before, after)``: ``out = (n + before + after - k_eff) // s + 1``.
"""

from typing import NamedTuple


class WindowGeometry(NamedTuple):
    """How one spatial axis is covered by a sliding window."""

    out: int
    pad_before: int
    pad_after: int


def normalize_padding(padding, op):
    """'SAME' / 'VALID' (any case) as upper case; explicit pairs pass through."""
    if isinstance(padding, str):
        upper = padding.upper()
        if upper not in ("SAME", "VALID"):
            raise ValueError(f"{op}: padding must be 'SAME', 'VALID' or explicit pairs; received padding={padding!r}.")
        return upper
    return padding


def window_geometry(size, kernel, stride=1, dilation=1, padding="VALID", op="window", axis="size"):
    """Output size and padding of one axis of length ``size``.

    Args:
        size: input length (>= 1).
        kernel: window length k (>= 1).
        stride: step between windows (>= 1).
        dilation: spacing between window taps (>= 1); ``k_eff = (k - 1) * dilation + 1``.
        padding: 'SAME', 'VALID', or an explicit ``(before, after)`` pair of ints >= 0.
        op: the name used in error messages.
        axis: what the axis is called in error messages ('height', 'width', ...).

    Returns:
        ``WindowGeometry(out, pad_before, pad_after)``.
    """
    for name, value in (("kernel size", kernel), ("stride", stride), ("dilation", dilation)):
        if int(value) != value or value < 1:
            raise ValueError(f"{op}: {name} must be a positive integer; received {name}={value!r}.")
    if size < 1:
        raise ValueError(f"{op}: the input {axis} must be >= 1; received {axis}={size}.")
    k_eff = (kernel - 1) * dilation + 1
    if isinstance(padding, str):
        padding = normalize_padding(padding, op)
        if padding == "SAME":
            out = -(-size // stride)
            pad = max((out - 1) * stride + k_eff - size, 0)
            return WindowGeometry(out, pad // 2, pad - pad // 2)
        before = after = 0
    else:
        try:
            before, after = (int(p) for p in padding)
        except (TypeError, ValueError):
            raise ValueError(f"{op}: explicit padding must be a (before, after) pair of ints; received {padding!r}.") from None
        if before < 0 or after < 0:
            raise ValueError(f"{op}: explicit padding must be >= 0; received {padding!r}.")
    padded = size + before + after
    if k_eff > padded:
        raise ValueError(
            f"{op}: the window (effective {axis} {k_eff} = (kernel {kernel} - 1) * dilation {dilation} + 1) is larger "
            f"than the {'padded ' if before or after else ''}input {axis} ({padded}); use padding='SAME' or a smaller window."
        )
    return WindowGeometry((padded - k_eff) // stride + 1, before, after)


class Geometry2D(NamedTuple):
    """Everything a 2-D window op (conv or pool) needs to know about its windows."""

    rows: WindowGeometry
    cols: WindowGeometry
    kernel: tuple  # (kh, kw)
    strides: tuple  # (sh, sw)
    dilations: tuple  # (dh, dw)

    @property
    def out_shape(self):
        return self.rows.out, self.cols.out

    @property
    def is_padded(self):
        return any(self.rows[1:]) or any(self.cols[1:])


def geometry_2d(input_hw, kernel, strides=(1, 1), dilations=(1, 1), padding="VALID", op="window"):
    """``Geometry2D`` for windows over an (height, width) image.

    Args:
        input_hw: (height, width) of the input.
        kernel, strides, dilations: (vertical, horizontal) pairs of ints >= 1.
        padding: 'SAME', 'VALID', or explicit ((top, bottom), (left, right)).
        op: the name used in error messages.
    """
    if isinstance(padding, str):
        row_padding = col_padding = padding
    else:
        row_padding, col_padding = padding
    rows = window_geometry(input_hw[0], kernel[0], strides[0], dilations[0], row_padding, op, "height")
    cols = window_geometry(input_hw[1], kernel[1], strides[1], dilations[1], col_padding, op, "width")
    return Geometry2D(rows, cols, tuple(kernel), tuple(strides), tuple(dilations))


def full_correlation_geometry(geometry):
    """The geometry that carries a stride-1 window op's output gradient back onto its input.

    For stride 1, each input cell's gradient is a correlation of the output gradient
    with the window turned by 180 degrees, over the output padded by
    ``k_eff - 1 - pad`` on each side (the "full" correlation when there was no padding).
    Returns that ``Geometry2D`` (its output has the op's input size), or None when the
    op had a stride > 1 or more padding than ``k_eff - 1`` on some side.
    """
    if geometry.strides != (1, 1):
        return None
    pads = []
    for axis, kernel, dilation in zip((geometry.rows, geometry.cols), geometry.kernel, geometry.dilations):
        k_eff = (kernel - 1) * dilation + 1
        pads.append((k_eff - 1 - axis.pad_before, k_eff - 1 - axis.pad_after))
    if min(min(pair) for pair in pads) < 0:
        return None
    return geometry_2d(geometry.out_shape, geometry.kernel, (1, 1), geometry.dilations, tuple(pads), "full correlation")
