"""train_val_split: sizes, stratification, determinism, argument errors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnlab.datasets import train_val_split


def fashion_like_labels(per_class=6000, classes=10, seed=0):
    return np.random.default_rng(seed).permutation(np.repeat(np.arange(classes, dtype=np.uint8), per_class))


def test_sixty_thousand_split_48000_12000_with_1200_per_class():
    y = fashion_like_labels()
    x = np.arange(len(y), dtype=np.int64)  # each sample is its own index
    (x_train, y_train), (x_val, y_val) = train_val_split(x, y)
    assert (len(x_train), len(x_val)) == (48000, 12000)
    np.testing.assert_array_equal(np.bincount(y_val), [1200] * 10)
    np.testing.assert_array_equal(np.bincount(y_train), [4800] * 10)
    # a partition of the samples, labels still attached to their samples, original order kept
    np.testing.assert_array_equal(np.sort(np.concatenate([x_train, x_val])), x)
    np.testing.assert_array_equal(y[x_train], y_train)
    np.testing.assert_array_equal(y[x_val], y_val)
    assert np.all(np.diff(x_train) > 0) and np.all(np.diff(x_val) > 0)


def test_deterministic_for_a_seed_and_different_for_another():
    y = fashion_like_labels(per_class=50)
    x = np.arange(len(y))
    first = train_val_split(x, y, seed=7)[1][0]
    again = train_val_split(x, y, seed=7)[1][0]
    other = train_val_split(x, y, seed=8)[1][0]
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_unbalanced_classes_keep_their_proportions_and_the_total_is_exact():
    y = np.repeat(np.arange(3), [100, 37, 3])
    (_, _), (_, y_val) = train_val_split(np.zeros((140, 2, 2)), y, val_fraction=0.25, seed=1)
    assert len(y_val) == 35  # round(140 * 0.25)
    counts = np.bincount(y_val, minlength=3)
    np.testing.assert_allclose(counts, [25, 9.25, 0.75], atol=1)


def test_one_hot_labels_are_stratified_by_class():
    y = np.eye(4, dtype=np.float32)[np.repeat(np.arange(4), 10)]
    (_, y_train), (_, y_val) = train_val_split(np.arange(40), y, val_fraction=0.3)
    assert y_val.shape == (12, 4) and y_train.shape == (28, 4)
    np.testing.assert_array_equal(y_val.sum(axis=0), [3, 3, 3, 3])


def test_without_stratification_only_the_size_is_fixed():
    y = np.repeat(np.arange(2), [90, 10])
    (_, _), (_, y_val) = train_val_split(np.arange(100), y, val_fraction=0.5, stratify=False, seed=3)
    assert len(y_val) == 50 and np.bincount(y_val, minlength=2).tolist() != [45, 5]


@settings(max_examples=40, deadline=None)
@given(
    class_sizes=st.lists(st.integers(1, 40), min_size=1, max_size=6),
    val_fraction=st.floats(0.05, 0.95),
    seed=st.integers(0, 2**31),
)
def test_every_class_is_split_within_one_sample_of_its_share(class_sizes, val_fraction, seed):
    y = np.repeat(np.arange(len(class_sizes)), class_sizes)
    n_val = int(np.floor(len(y) * val_fraction + 0.5))
    if n_val in (0, len(y)):
        with pytest.raises(ValueError, match="leave no"):
            train_val_split(np.arange(len(y)), y, val_fraction=val_fraction, seed=seed)
        return
    (x_train, _), (x_val, y_val) = train_val_split(np.arange(len(y)), y, val_fraction=val_fraction, seed=seed)
    assert len(x_val) == n_val and len(x_train) == len(y) - n_val
    counts = np.bincount(y_val, minlength=len(class_sizes))
    assert np.all(np.abs(counts - np.array(class_sizes) * val_fraction) < 1)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (
            {"val_fraction": 0},
            ValueError,
            r"val_fraction must be a number strictly between 0 and 1; Received: val_fraction=0",
        ),
        ({"val_fraction": 1.0}, ValueError, r"Received: val_fraction=1.0"),
        ({"val_fraction": "0.2"}, ValueError, r"Received: val_fraction='0.2'"),
        ({"val_fraction": True}, ValueError, r"Received: val_fraction=True"),
        ({"seed": 1.5}, TypeError, r"seed must be an int or None; Received: seed=1.5"),
        ({"y": np.zeros(9)}, ValueError, r"same number of samples; Received: len\(x\)=10, len\(y\)=9"),
        ({"y": np.zeros((10, 2, 2))}, ValueError, r"Received: x.shape=\(10, 3\), y.shape=\(10, 2, 2\)"),
        ({"val_fraction": 0.01}, ValueError, r"10 samples with val_fraction=0.01 leave no validation samples"),
        ({"val_fraction": 0.99}, ValueError, r"leave no training samples"),
    ],
)
def test_bad_arguments(kwargs, error, message):
    arguments = {"x": np.zeros((10, 3)), "y": np.arange(10) % 2, **kwargs}
    with pytest.raises(error, match=message):
        train_val_split(**arguments)
