"""Metrics: values against plain NumPy (and torch.topk), accumulation and weights,
Keras's resolution of 'accuracy', lookup, and errors for labels that do not fit."""

import json

import numpy as np
import pytest
import torch

import cnnlab as tf
from cnnlab.keras import losses, metrics

RNG = np.random.default_rng(0)
SCORES = RNG.random((50, 6)).astype(np.float32)
CLASSES = RNG.integers(0, 6, size=50)
ONE_HOT = np.eye(6, dtype=np.float32)[CLASSES]


def test_accuracy_functions_per_sample():
    hits = (SCORES.argmax(-1) == CLASSES).astype(np.float32)
    assert 0 < hits.mean() < 1  # both outcomes occur, so a wrong comparison would show
    for got in (metrics.categorical_accuracy(ONE_HOT, SCORES), metrics.sparse_categorical_accuracy(CLASSES, SCORES)):
        assert isinstance(got, tf.Tensor) and got.shape == (50,)
        np.testing.assert_array_equal(got.numpy(), hits)
    np.testing.assert_array_equal(
        metrics.sparse_categorical_accuracy(CLASSES[:, None].astype(np.float32), SCORES).numpy(), hits
    )
    np.testing.assert_array_equal(metrics.accuracy([1, 2, 3], [1, 0, 3]).numpy(), [1, 0, 1])
    probabilities = np.array([[0.7], [0.2], [0.5], [0.51]])
    np.testing.assert_array_equal(metrics.binary_accuracy([1, 0, 1, 1], probabilities).numpy(), [1, 1, 0, 1])
    np.testing.assert_array_equal(metrics.binary_accuracy([[1], [0]], [[0.3], [0.1]], threshold=0.25).numpy(), [1, 1])


@pytest.mark.parametrize("k", [1, 2, 5])
def test_top_k_matches_torch(k):
    expected = (torch.topk(torch.tensor(SCORES), k, dim=-1).indices == torch.tensor(CLASSES)[:, None]).any(-1).numpy()
    np.testing.assert_array_equal(metrics.top_k_categorical_accuracy(ONE_HOT, SCORES, k=k).numpy(), expected)
    np.testing.assert_array_equal(metrics.sparse_top_k_categorical_accuracy(CLASSES, SCORES, k=k).numpy(), expected)


def test_top_k_ties_count_in_as_tf():
    scores = np.array([[0.5, 0.5, 0.5, 0.1], [0.1, 0.2, 0.3, np.nan]])
    # Row 0: label 2 ties with two others for the top score: in the top 1 (tf.math.in_top_k).
    np.testing.assert_array_equal(metrics.sparse_top_k_categorical_accuracy([2, 3], scores, k=1).numpy(), [1, 0])


def test_metric_objects_accumulate_and_reset():
    m = metrics.CategoricalAccuracy()
    m.update_state(ONE_HOT[:20], SCORES[:20])
    m.update_state(ONE_HOT[20:], SCORES[20:])
    np.testing.assert_allclose(float(m.result()), (SCORES.argmax(-1) == CLASSES).mean(), rtol=1e-6)
    assert m.result().dtype == np.float32 and m.name == "categorical_accuracy"
    m.reset_state()
    assert float(m.result()) == 0.0
    top = metrics.SparseTopKCategoricalAccuracy(k=3)
    np.testing.assert_allclose(
        float(top(CLASSES, SCORES)), metrics.sparse_top_k_categorical_accuracy(CLASSES, SCORES, k=3).numpy().mean()
    )


def test_mean_and_weights():
    m = metrics.Mean()
    m.update_state([1.0, 3.0])
    m.update_state(5.0, sample_weight=2.0)
    np.testing.assert_allclose(float(m.result()), (1 + 3 + 10) / 4)
    m.reset_states()
    m.update_state(np.array([[1.0, 3.0], [5.0, 7.0]]))  # per-sample means 2 and 6
    np.testing.assert_allclose(float(m.result()), 4.0)
    weighted = metrics.SparseCategoricalAccuracy()
    weighted.update_state([0, 1, 2], [[1, 0, 0], [1, 0, 0], [0, 0, 1]], sample_weight=[1.0, 3.0, 0.0])
    np.testing.assert_allclose(float(weighted.result()), 1 / 4)
    with pytest.raises(ValueError, match=r"sample_weight of shape \(2,\)"):
        weighted.update_state([0, 1, 2], np.eye(3), sample_weight=[1.0, 2.0])


def test_loss_metrics_are_plain_means():
    m = metrics.get("mse")
    assert m.name == "mse"
    m.update_state([[0.0], [2.0]], [[1.0], [2.0]])
    m.update_state([[4.0]], [[1.0]])
    np.testing.assert_allclose(float(m.result()), (1 + 0 + 9) / 3)
    ce = metrics.get("categorical_crossentropy")
    ce.update_state(ONE_HOT, SCORES)
    np.testing.assert_allclose(
        float(ce.result()), losses.categorical_crossentropy(ONE_HOT, SCORES).numpy().mean(), rtol=1e-6
    )


def test_metrics_stay_off_the_tape():
    w = tf.Variable(SCORES)
    m = metrics.get("mae")
    with tf.GradientTape(persistent=True) as tape:
        y_pred = w * 1.0
        recorded = len(tape._ops)
        m.update_state(ONE_HOT, y_pred)
        metrics.CategoricalAccuracy().update_state(ONE_HOT, y_pred)
    assert len(tape._ops) == recorded


@pytest.mark.parametrize(
    "loss, y_true_shape, y_pred_shape, expected",
    [
        ("categorical_crossentropy", (32, 10), (32, 10), metrics.CategoricalAccuracy),
        ("categorical_crossentropy", (32,), (32, 10), metrics.SparseCategoricalAccuracy),  # shapes decide
        ("sparse_categorical_crossentropy", (32,), (32, 10), metrics.SparseCategoricalAccuracy),
        (losses.SparseCategoricalCrossentropy(), (32, 1), (32, 10), metrics.SparseCategoricalAccuracy),
        ("mse", (32, 1), (32, 10), metrics.SparseCategoricalAccuracy),
        ("binary_crossentropy", (32, 1), (32, 1), metrics.BinaryAccuracy),
        ("binary_crossentropy", (32, 5), (32, 5), metrics.BinaryAccuracy),  # multi-label: the loss decides
        (None, (32,), (32, 1), metrics.BinaryAccuracy),
        (losses.categorical_crossentropy, (8, 4, 3), (8, 4, 3), metrics.CategoricalAccuracy),
    ],
)
def test_resolve_accuracy(loss, y_true_shape, y_pred_shape, expected):
    for name in ("accuracy", "acc"):
        metric = metrics.resolve_accuracy(name, loss, y_true_shape, y_pred_shape)
        assert type(metric) is expected and metric.name == name


def test_resolved_accuracy_computes_the_right_thing():
    labels, probabilities = np.array([2, 0, 1]), np.array([[0.1, 0.2, 0.7], [0.5, 0.4, 0.1], [0.6, 0.3, 0.1]])
    metric = metrics.resolve_accuracy("accuracy", "sparse_categorical_crossentropy", labels.shape, probabilities.shape)
    metric.update_state(labels, probabilities)
    np.testing.assert_allclose(float(metric.result()), 2 / 3)
    with pytest.raises(ValueError, match="expected name 'accuracy' or 'acc'"):
        metrics.resolve_accuracy("precision", None, (3,), (3, 2))


def test_get_and_serialization():
    assert type(metrics.get("categorical_accuracy")) is metrics.CategoricalAccuracy
    assert metrics.get("top_k_categorical_accuracy").get_config()["k"] == 5
    assert type(metrics.get("SparseCategoricalAccuracy")) is metrics.SparseCategoricalAccuracy
    assert type(metrics.get("accuracy")) is metrics.Accuracy
    m = metrics.BinaryAccuracy(name="bin", threshold=0.3)
    assert metrics.get(m) is m
    again = metrics.get(json.loads(json.dumps(metrics.serialize(m))))
    assert type(again) is metrics.BinaryAccuracy and again.get_config() == {
        "name": "bin",
        "dtype": "float32",
        "threshold": 0.3,
    }

    def hits(y_true, y_pred):
        return np.equal(y_true, y_pred)

    wrapped = metrics.get(hits)
    assert wrapped.name == "hits" and float(wrapped([1, 2], [1, 3])) == 0.5
    with pytest.raises(ValueError, match="Could not interpret metric identifier: 'f1'"):
        metrics.get("f1")


def test_label_errors_are_clear():
    with pytest.raises(ValueError, match=r"categorical_accuracy expects one-hot labels.*'sparse_categorical_accuracy'"):
        metrics.categorical_accuracy(CLASSES, SCORES)
    with pytest.raises(ValueError, match=r"look one-hot.*'categorical_accuracy'"):
        metrics.sparse_categorical_accuracy(ONE_HOT, SCORES)
    with pytest.raises(ValueError, match=r"class ids in \[0, 6\)"):
        metrics.sparse_top_k_categorical_accuracy(CLASSES + 1, SCORES)
    with pytest.raises(ValueError, match=r"binary_accuracy: y_true and y_pred must have the same shape"):
        metrics.binary_accuracy(ONE_HOT, SCORES[:, :1])
