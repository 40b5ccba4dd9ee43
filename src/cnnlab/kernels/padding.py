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


def window_geometry(size, kernel, stride=1, dilation=1, padding="VALID", op="window"):
    """Output size and padding of one axis of length ``size``.

    Args:
        size: input length (>= 1).
        kernel: window length k (>= 1).
        stride: step between windows (>= 1).
        dilation: spacing between window taps (>= 1); ``k_eff = (k - 1) * dilation + 1``.
        padding: 'SAME', 'VALID', or an explicit ``(before, after)`` pair of ints >= 0.
        op: the name used in error messages.

    Returns:
        ``WindowGeometry(out, pad_before, pad_after)``.
    """
    for name, value in (("kernel size", kernel), ("stride", stride), ("dilation", dilation)):
        if int(value) != value or value < 1:
            raise ValueError(f"{op}: {name} must be a positive integer; received {name}={value!r}.")
    if size < 1:
        raise ValueError(f"{op}: every spatial dimension of the input must be >= 1; received size {size}.")
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
            f"{op}: the window (effective size {k_eff} = (kernel {kernel} - 1) * dilation {dilation} + 1) "
            f"is larger than the {'padded ' if before or after else ''}input ({padded}); use padding='SAME' or a smaller window."
        )
    return WindowGeometry((padded - k_eff) // stride + 1, before, after)
