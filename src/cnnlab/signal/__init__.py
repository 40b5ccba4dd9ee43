"""Convolution and correlation of plain NumPy arrays, a drop-in for ``scipy.signal``'s.

Correlation slides a kernel over the input and takes a dot product at every
position (what a CNN layer computes); convolution flips the kernel first.  Both come
in 'full', 'same' and 'valid' modes, N-D (``convolve`` / ``correlate``, direct or by
FFT) and 2-D with boundary rules (``convolve2d`` / ``correlate2d``), with results,
dtypes and shapes as in scipy.signal, plus a ``stride`` that scipy lacks.

    >>> from cnnlab import signal
    >>> signal.correlate([1, 2, 3, 4], [1, -1], mode='valid')
    array([-1, -1, -1])

``cnnlab.signal.reference`` computes the same from the definition, one output at a
time: read it first to see what the fast functions do.

Where cnnlab differs from scipy.signal: inputs must be numeric (no object arrays)
and not empty (scipy returns odd shapes or fails deep inside); a boolean FFT result
is rounded before it becomes bool (scipy's turns round-off into True); integer FFT
results wrap modulo their dtype as the direct sums do; and the FFT runs in double
precision for float32 inputs (faster in numpy.fft, and more accurate).
"""

from . import reference
from ._convolve import choose_conv_method, convolve, convolve2d, correlate, correlate2d, output_size

__all__ = ["choose_conv_method", "convolve", "convolve2d", "correlate", "correlate2d", "output_size", "reference"]
