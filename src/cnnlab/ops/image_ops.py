"""Image resampling ops: ``resize`` (``tf.image.resize``) and ``affine_transform``
(``keras.ops.image.affine_transform``), each differentiable to any order.

Both are linear in the image once the sizes (resize) or the transform (affine)
are fixed: every output pixel is a weighted sum of at most four input pixels.
So each op is written as its weights, and its gradient is the same weights used
the other way round (the adjoint), whose gradient is the op again.

* ``resize`` separates into one interpolation matrix per axis, ``A_rows`` (out_h, h)
  and ``A_cols`` (out_w, w): ``out[n] = A_rows @ x[n] @ A_cols.T`` per channel.
  The matrices follow TensorFlow 2's half-pixel rule: output pixel ``o`` samples the
  input at ``(o + 0.5) * in / out - 0.5``; bilinear weighs the two neighbours
  (clamped to the edge), nearest takes ``min(floor((o + 0.5) * in / out), in - 1)``.
* ``affine_transform`` gathers, for each output pixel and image, up to four input
  pixels with their weights (``_AffineSampling``); its adjoint scatters them back.
"""

import numpy as np

from ..autodiff import record
from ..tensor import Tensor
from .array_ops import expand_dims, squeeze
from .math_ops import _float_tensor

# ---- resize --------------------------------------------------------------------------------------

RESIZE_METHODS = ("bilinear", "nearest")


def resize(images, size, method="bilinear", preserve_aspect_ratio=False, antialias=False, name=None):
    """Resize images to ``size`` = (height, width) (``tf.image.resize``, TF 2's half-pixel rule).

    Args:
        images: a float tensor (batch, height, width, channels) or one image (height, width, channels).
        size: the new (height, width), positive ints.
        method: 'bilinear' (the default) or 'nearest'.
        preserve_aspect_ratio: only False (the image is stretched to ``size``).
        antialias: only False.

    Returns:
        The resized images, of the input's rank and dtype.

    Example:
        >>> resize(cnnlab.ones([1, 2, 2, 3]), (4, 4)).shape
        TensorShape([1, 4, 4, 3])
    """
    x = _float_tensor(images, "resize", "images")
    if x.ndim not in (3, 4):
        raise ValueError(
            "resize: images must be 4-D (batch, height, width, channels) or 3-D (height, width, channels); "
            f"received images.shape={tuple(x.shape)}."
        )
    method = str(method).lower() if isinstance(method, str) else method
    if method not in RESIZE_METHODS:
        raise ValueError(f"resize: method must be one of {list(RESIZE_METHODS)}; received method={method!r}.")
    if preserve_aspect_ratio or antialias:
        raise ValueError(
            "resize: preserve_aspect_ratio and antialias are not supported (only False); received "
            f"preserve_aspect_ratio={preserve_aspect_ratio!r}, antialias={antialias!r}."
        )
    try:
        height, width = (int(v) for v in size)
    except (TypeError, ValueError):
        height = width = None
    if height is None or height < 1 or width < 1 or any(int(v) != v for v in size):
        raise ValueError(f"resize: size must be (height, width), two positive ints; received size={size!r}.")
    if x.ndim == 3:
        return squeeze(_resize4(expand_dims(x, 0), height, width, method), 0)
    return _resize4(x, height, width, method)


def interpolation_matrix(in_size, out_size, method, dtype=np.float32):
    """The (out_size, in_size) matrix that resamples one axis by TF 2's half-pixel rule."""
    scale = in_size / out_size
    rows = np.arange(out_size)
    matrix = np.zeros((out_size, in_size), dtype=np.float64)
    if method == "nearest":
        matrix[rows, np.minimum(np.floor((rows + 0.5) * scale).astype(np.int64), in_size - 1)] = 1.0
        return matrix.astype(dtype)
    source = (rows + 0.5) * scale - 0.5
    floor = np.floor(source)
    lower = np.clip(floor, 0, in_size - 1).astype(np.int64)
    upper = np.clip(np.ceil(source), 0, in_size - 1).astype(np.int64)
    upper_weight = source - floor
    np.add.at(matrix, (rows, lower), 1.0 - upper_weight)
    np.add.at(matrix, (rows, upper), upper_weight)
    return matrix.astype(dtype)


def _resize4(x, height, width, method):
    _, in_h, in_w, _ = x.shape
    row_matrix = interpolation_matrix(in_h, height, method, x.dtype)
    col_matrix = interpolation_matrix(in_w, width, method, x.dtype)
    return _resample_separable(x, row_matrix, col_matrix)


def _resample_separable(x, row_matrix, col_matrix):
    """``row_matrix @ image @ col_matrix.T`` for every image and channel of ``x`` (NHWC)."""

    def grad(dy):
        return (_resample_separable(dy, row_matrix.T, col_matrix.T),)

    # (n, h, w, c) -> (n, w, c, H) -> (n, c, H, W) -> (n, H, W, c)
    by_rows = np.einsum("nhwc,Hh->nHwc", x._value, row_matrix, optimize=True)
    value = np.einsum("nHwc,Ww->nHWc", by_rows, col_matrix, optimize=True)
    return record(np.ascontiguousarray(value), (x,), grad)


# ---- affine transform ------------------------------------------------------------------------------

AFFINE_INTERPOLATIONS = ("nearest", "bilinear")
AFFINE_FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")


def affine_transform(images, transform, interpolation="bilinear", fill_mode="constant", fill_value=0.0, name=None):
    """Warp each image by a projective transform (``keras.ops.image.affine_transform``, NHWC).

    Each transform is eight numbers ``[a0, a1, a2, b0, b1, b2, c0, c1]``: the output
    pixel at (x, y) (column, row) takes the input at
    ``((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k)`` with ``k = c0 x + c1 y + 1``.
    Locations between pixels are interpolated; locations outside the image are
    filled by ``fill_mode`` (Keras's, as ``scipy.ndimage.map_coordinates``):
    'constant' (``fill_value``), 'nearest' (the edge pixel), 'wrap', 'mirror'
    (``d c b | a b c d | c b a``) or 'reflect' (``d c b a | a b c d | d c b a``).

    Args:
        images: a float tensor (batch, height, width, channels), or one image (height, width, channels).
        transform: shape (8,) or (batch, 8).
        interpolation: 'bilinear' or 'nearest' (rounds half to even, as Keras).
        fill_mode: see above.
        fill_value: the value outside the image for 'constant'.

    Returns:
        The warped images, the shape and dtype of ``images``.

    Example:
        >>> shift_right = [1, 0, -1, 0, 1, 0, 0, 0]   # output (x, y) reads input (x - 1, y)
        >>> affine_transform(cnnlab.ones([1, 3, 3, 1]), shift_right)[0, :, 0, 0].numpy()
        array([0., 0., 0.], dtype=float32)
    """
    op = "affine_transform"
    x = _float_tensor(images, op, "images")
    if x.ndim not in (3, 4):
        raise ValueError(
            f"{op}: images must be 4-D (batch, height, width, channels) or 3-D; received images.shape={tuple(x.shape)}."
        )
    matrix = np.asarray(transform._value if isinstance(transform, Tensor) else transform, dtype=np.float64)
    if matrix.ndim not in (1, 2) or matrix.shape[-1] != 8:
        raise ValueError(f"{op}: transform must have shape (8,) or (batch, 8); received shape {matrix.shape}.")
    if interpolation not in AFFINE_INTERPOLATIONS:
        raise ValueError(
            f"{op}: interpolation must be one of {list(AFFINE_INTERPOLATIONS)}; "
            f"received interpolation={interpolation!r}."
        )
    if fill_mode not in AFFINE_FILL_MODES:
        raise ValueError(f"{op}: fill_mode must be one of {list(AFFINE_FILL_MODES)}; received fill_mode={fill_mode!r}.")
    single = x.ndim == 3
    if single:
        x = expand_dims(x, 0)
    matrix = np.broadcast_to(matrix.reshape(-1, 8), (x.shape[0], 8)) if matrix.ndim == 1 or len(matrix) == 1 else matrix
    if len(matrix) != x.shape[0]:
        raise ValueError(
            f"{op}: transform holds {len(matrix)} transforms for a batch of {x.shape[0]} images; "
            "give one, or one per image."
        )
    sampling = _AffineSampling(x.shape[1:3], matrix, interpolation, fill_mode)
    out = _gather_samples(x, sampling, float(fill_value))
    if single:
        return squeeze(out, 0)
    return out


class _AffineSampling:
    """Where each output pixel reads the input: flat indices (n, p, k) into one image's
    pixels, weights (n, p, k), and for 'constant' the weight left to ``fill_value`` (n, p)."""

    def __init__(self, image_hw, matrix, interpolation, fill_mode):
        height, width = image_hw
        rows, cols = np.meshgrid(np.arange(height, dtype=np.float64), np.arange(width, dtype=np.float64), indexing="ij")
        rows, cols = rows.reshape(1, -1), cols.reshape(1, -1)
        a0, a1, a2, b0, b1, b2, c0, c1 = (matrix[:, i : i + 1] for i in range(8))
        scale = c0 * cols + c1 * rows + 1.0
        source_cols = (a0 * cols + a1 * rows + a2) / scale
        source_rows = (b0 * cols + b1 * rows + b2) / scale
        row_nodes = _nodes(source_rows, interpolation)
        col_nodes = _nodes(source_cols, interpolation)
        indices, weights = [], []
        self.fill_weight = np.zeros(source_rows.shape) if fill_mode == "constant" else None
        for row_index, row_weight in row_nodes:
            for col_index, col_weight in col_nodes:
                weight = row_weight * col_weight
                if fill_mode == "constant":
                    inside = (row_index >= 0) & (row_index < height) & (col_index >= 0) & (col_index < width)
                    self.fill_weight += np.where(inside, 0.0, weight)
                    weight = np.where(inside, weight, 0.0)
                fixed_rows = _fix_index(row_index, height, fill_mode)
                fixed_cols = _fix_index(col_index, width, fill_mode)
                indices.append(fixed_rows * width + fixed_cols)
                weights.append(weight)
        self.indices = np.stack(indices, axis=-1)
        self.weights = np.stack(weights, axis=-1)
        self.image_hw = (height, width)


def _nodes(coordinate, interpolation):
    """The integer sample positions along one axis and their weights."""
    if interpolation == "nearest":
        return [(np.round(coordinate).astype(np.int64), np.ones(coordinate.shape))]
    lower = np.floor(coordinate)
    upper_weight = coordinate - lower
    lower = lower.astype(np.int64)
    return [(lower, 1.0 - upper_weight), (lower + 1, upper_weight)]


def _fix_index(index, size, fill_mode):
    """An integer position outside [0, size) mapped inside, as ``fill_mode`` says."""
    if fill_mode in ("constant", "nearest"):
        return np.clip(index, 0, size - 1)
    if fill_mode == "wrap":
        return index % size
    if fill_mode == "mirror":
        return _mirror(index, size)
    return (_mirror(2 * index + 1, 2 * size + 1) - 1) // 2  # reflect: the edge pixel repeated


def _mirror(index, size):
    if size == 1:
        return np.zeros_like(index)
    period = size - 1
    return np.abs((index + period) % (2 * period) - period)


def _gather_samples(x, sampling, fill_value):
    """``out[n, p] = sum_k weights[n, p, k] * x[n, indices[n, p, k]] (+ fill)`` for NHWC ``x``."""
    n, height, width, channels = x.shape

    def grad(dy):
        return (_scatter_samples(dy, sampling, (height, width)),)

    pixels = x._value.reshape(n, height * width, channels)
    gathered = pixels[np.arange(n)[:, None, None], sampling.indices]  # (n, p, k, c)
    value = np.einsum("npk,npkc->npc", sampling.weights.astype(x.dtype), gathered)
    if sampling.fill_weight is not None and fill_value != 0:
        value += (sampling.fill_weight * fill_value).astype(x.dtype)[..., None]
    return record(value.reshape(n, height, width, channels), (x,), grad)


def _scatter_samples(dy, sampling, image_hw):
    """The adjoint of ``_gather_samples`` (without the fill, which does not depend on the input)."""
    n, out_h, out_w, channels = dy.shape
    height, width = image_hw

    def grad(g):
        return (_gather_samples(g, sampling, 0.0),)

    weighted = sampling.weights.astype(dy.dtype)[..., None] * dy._value.reshape(n, out_h * out_w, 1, channels)
    flat_index = (sampling.indices + (np.arange(n) * height * width)[:, None, None]).reshape(-1)
    value = np.zeros((n * height * width, channels), dtype=dy.dtype)
    np.add.at(value, flat_index, weighted.reshape(-1, channels))
    return record(value.reshape(n, height, width, channels), (dy,), grad)
