"""Hold out a validation set: a seeded, optionally stratified train / validation split."""

import numbers

import numpy as np


def train_val_split(x, y, val_fraction=0.2, stratify=True, seed=42):
    """Split ``(x, y)`` into a training and a validation part.

    With ``stratify=True`` every class is split in the same proportion, so the
    validation set has the class balance of the whole (for Fashion-MNIST's 60,000
    training images: 1,200 of each class out of 12,000).  The split is a function
    of ``seed`` alone; both parts keep the original order of their samples.

    Args:
        x: samples, an array whose first axis is the sample axis.
        y: labels, integer class ids of shape (n,) or one-hot of shape (n, classes).
        val_fraction: the fraction held out, strictly between 0 and 1; the
            validation set has ``round(n * val_fraction)`` samples.
        stratify: keep each class's proportion in both parts.
        seed: seed of the random choice (an int), or None for a fresh one each call.

    Returns:
        ``(x_train, y_train), (x_val, y_val)``, NumPy arrays.

    Example:
        >>> (x_train, y_train), (x_val, y_val) = train_val_split(x, y, val_fraction=0.2)
        >>> len(x_train), len(x_val)       # for 60,000 samples
        (48000, 12000)
    """
    if isinstance(val_fraction, bool) or not isinstance(val_fraction, numbers.Real) or not 0 < val_fraction < 1:
        raise ValueError(
            "train_val_split: val_fraction must be a number strictly between 0 and 1; "
            f"Received: val_fraction={val_fraction!r}"
        )
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
        raise TypeError(f"train_val_split: seed must be an int or None; Received: seed={seed!r}")
    x = np.asarray(x)
    y = np.asarray(y)
    if x.ndim == 0 or y.ndim not in (1, 2):
        raise ValueError(
            "train_val_split: x must have a sample axis and y must be labels of shape (n,) or one-hot (n, classes); "
            f"Received: x.shape={x.shape}, y.shape={y.shape}"
        )
    if len(x) != len(y):
        raise ValueError(
            f"train_val_split: x and y must hold the same number of samples; Received: len(x)={len(x)}, len(y)={len(y)}"
        )
    n = len(y)
    n_val = int(np.floor(n * val_fraction + 0.5))
    if n_val == 0 or n_val == n:
        raise ValueError(
            f"train_val_split: {n} samples with val_fraction={val_fraction} leave "
            f"{'no validation' if n_val == 0 else 'no training'} samples; use more samples or another fraction."
        )

    rng = np.random.default_rng(seed)
    if stratify:
        labels = y if y.ndim == 1 else y.argmax(axis=1)
        val_indices = _stratified_choice(labels, n_val, val_fraction, rng)
    else:
        val_indices = rng.permutation(n)[:n_val]
    is_val = np.zeros(n, dtype=bool)
    is_val[val_indices] = True
    return (x[~is_val], y[~is_val]), (x[is_val], y[is_val])


def _stratified_choice(labels, n_val, val_fraction, rng):
    """Indices of ``n_val`` samples, ``val_fraction`` of every class (largest remainders get the rounding)."""
    _, class_of = np.unique(labels, return_inverse=True)
    class_sizes = np.bincount(class_of)
    quotas = class_sizes * val_fraction
    per_class = np.floor(quotas).astype(np.int64)
    # The floors fall short of n_val by fewer than one sample per class; the classes
    # that lost the most to rounding get one more (Hamilton's method).
    largest_remainders = np.argsort(per_class - quotas, kind="stable")
    per_class[largest_remainders[: n_val - per_class.sum()]] += 1
    chosen = [rng.permutation(np.flatnonzero(class_of == c))[:k] for c, k in enumerate(per_class)]
    return np.concatenate(chosen)
