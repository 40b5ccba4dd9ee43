"""Output sizes of sliding windows, for layers that must know them before running an op.

The arithmetic is the one padding helper's (``kernels.padding.window_geometry``), so
a layer's ``compute_output_shape`` and the op it runs always agree.
"""

from ..kernels.padding import window_geometry


def output_length(size, kernel, stride=1, dilation=1, padding="VALID", owner="window"):
    """The number of window positions along an axis of ``size`` (None stays None).

    Args:
        size: the input length, or None when unknown.
        kernel, stride, dilation: positive ints.
        padding: 'SAME' or 'VALID' (any case).
        owner: named in the error for a window larger than a 'VALID' input.

    Example:
        >>> output_length(28, 3, 2, padding="same")
        14
    """
    if size is None:
        return None
    return window_geometry(size, kernel, stride, dilation, padding.upper(), op=owner).out


def transposed_length(size, kernel, stride=1, dilation=1, padding="VALID", output_padding=None):
    """The output length of a transposed convolution (Keras's rule, so that a ``conv2d`` of the
    result with the same arguments has length ``size``); None stays None.

    * 'valid': ``(size - 1) * stride + k_eff + output_padding``, ``output_padding``
      defaulting to ``max(k_eff, stride) - k_eff``;
    * 'same': ``size * stride``, or ``(size - 1) * stride + k_eff % 2 + output_padding`` when given.

    Example:
        >>> transposed_length(7, 3, 2, padding="same")
        14
    """
    if size is None:
        return None
    k_eff = (kernel - 1) * dilation + 1
    if padding.lower() == "valid":
        extra = max(k_eff, stride) - k_eff if output_padding is None else output_padding
        return (size - 1) * stride + k_eff + extra
    if output_padding is None:
        return size * stride
    return (size - 1) * stride + k_eff % 2 + output_padding
