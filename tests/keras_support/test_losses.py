"""Losses: values against hand formulas and PyTorch, the softmax/sigmoid-logits path,
label smoothing, extreme inputs, gradients (finite differences), reductions, lookup,
and the errors for labels that do not fit the loss."""

import json
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import cnnlab as tf
from cnnlab.keras import losses
from cnnlab.testing import check_gradients

RNG = np.random.default_rng(0)
LOGITS = RNG.normal(scale=2.0, size=(6, 5))
CLASSES = RNG.integers(0, 5, size=6)
ONE_HOT = np.eye(5)[CLASSES]
EPS = 1e-7


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _activation_output(fn, logits):
    """What the Keras softmax / sigmoid activation returns: the output, remembering its logits."""
    logits = tf.constant(logits) if not isinstance(logits, tf.Tensor) else logits
    out = fn(logits)
    out._keras_logits, out._keras_activation = logits, "softmax" if fn is tf.nn.softmax else "sigmoid"
    return out


def _torch(x):
    return torch.tensor(np.asarray(x), dtype=torch.float64)


# ---- categorical ---------------------------------------------------------------------------------


def test_categorical_crossentropy_matches_hand_formula_and_torch():
    probabilities = (_softmax(LOGITS) * 3.0).astype(np.float32)  # not normalized: Keras renormalizes first
    got = losses.categorical_crossentropy(ONE_HOT, probabilities)
    assert got.shape == (6,) and got.dtype == np.float32
    assert losses.categorical_crossentropy(ONE_HOT, probabilities.astype(np.float64)).dtype == np.float64  # as TF
    p = np.clip(probabilities / probabilities.sum(-1, keepdims=True), EPS, 1 - EPS)
    np.testing.assert_allclose(got.numpy(), -(ONE_HOT * np.log(p)).sum(-1), rtol=1e-5)
    expected = F.cross_entropy(_torch(LOGITS), _torch(CLASSES).long(), reduction="none").numpy()
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5)
    from_logits = losses.categorical_crossentropy(ONE_HOT, LOGITS.astype(np.float32), from_logits=True)
    np.testing.assert_allclose(from_logits.numpy(), expected, rtol=1e-5)


def test_categorical_crossentropy_soft_labels_and_smoothing_match_torch():
    soft = _softmax(RNG.normal(size=(6, 5)))
    got = losses.categorical_crossentropy(soft, LOGITS, from_logits=True)
    np.testing.assert_allclose(
        got.numpy(), F.cross_entropy(_torch(LOGITS), _torch(soft), reduction="none").numpy(), rtol=1e-10
    )
    smoothed = losses.categorical_crossentropy(ONE_HOT, LOGITS, from_logits=True, label_smoothing=0.2)
    expected = F.cross_entropy(_torch(LOGITS), _torch(CLASSES).long(), label_smoothing=0.2, reduction="none").numpy()
    np.testing.assert_allclose(smoothed.numpy(), expected, rtol=1e-10)


def test_softmax_output_is_computed_from_its_logits():
    logits = np.array([[1e4, -1e4, 0.0], [-50.0, 60.0, 0.0]], np.float32)
    y_true = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], np.float32)
    z = tf.Variable(logits)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(losses.categorical_crossentropy(y_true, _activation_output(tf.nn.softmax, z)))
    expected = F.cross_entropy(_torch(logits), torch.tensor([1, 0]), reduction="sum").item()
    np.testing.assert_allclose(float(loss), expected, rtol=1e-6)  # 2e4 + 110, far beyond -log(1e-7)
    grad = tape.gradient(loss, z).numpy()
    np.testing.assert_allclose(grad, _softmax(logits.astype(np.float64)) - y_true, atol=1e-6)
    # Without the logits the same probabilities are clipped: finite, but capped at -log(1e-7).
    clipped = losses.categorical_crossentropy(y_true, tf.nn.softmax(tf.constant(logits)))
    np.testing.assert_allclose(clipped.numpy(), [-np.log(EPS)] * 2, rtol=1e-4)


def test_logits_slot_is_used_only_when_it_explains_the_output():
    # A sigmoid output (same slot) must not be treated as a softmax of its logits.
    z = LOGITS.astype(np.float32)
    sigmoid_out = _activation_output(tf.sigmoid, z)
    got = losses.categorical_crossentropy(ONE_HOT, sigmoid_out)
    p = 1 / (1 + np.exp(-LOGITS))
    p = np.clip(p / p.sum(-1, keepdims=True), EPS, 1 - EPS)
    np.testing.assert_allclose(got.numpy(), -(ONE_HOT * np.log(p)).sum(-1), rtol=1e-5)
    with pytest.warns(UserWarning, match="from_logits=True"):
        same = losses.categorical_crossentropy(ONE_HOT, _activation_output(tf.nn.softmax, z), from_logits=True)
    np.testing.assert_allclose(
        same.numpy(), losses.categorical_crossentropy(ONE_HOT, z, from_logits=True).numpy(), rtol=1e-6
    )


def test_categorical_crossentropy_extreme_probabilities_are_finite():
    y_pred = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], np.float32)
    p = tf.Variable(y_pred)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(losses.categorical_crossentropy(np.eye(3, dtype=np.float32)[[0, 1]], p))
    np.testing.assert_allclose(float(loss), -np.log(1 - EPS) - np.log(EPS), rtol=1e-3)
    assert np.all(np.isfinite(tape.gradient(loss, p).numpy()))


@pytest.mark.parametrize(
    "loss_fn, y_true, y_pred",
    [
        (losses.sparse_categorical_crossentropy, [0, 1], [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]),
        (losses.binary_crossentropy, [[1.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [1.0, 0.0]]),
        (
            lambda t, p: losses.categorical_crossentropy(t, p, from_logits=True),
            np.eye(3)[[0, 1]],
            [[1e4, -1e4, 0.0], [1e4, -1e4, 0.0]],
        ),
        (
            lambda t, p: losses.sparse_categorical_crossentropy(t, p, from_logits=True),
            [0, 1],
            [[1e4, -1e4, 0.0], [1e4, -1e4, 0.0]],
        ),
        (lambda t, p: losses.binary_crossentropy(t, p, from_logits=True), [[1.0, 0.0]], [[-1e4, 1e4]]),
    ],
)
def test_other_losses_stay_finite_at_the_extremes(loss_fn, y_true, y_pred):
    p = tf.Variable(np.array(y_pred, np.float32))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(loss_fn(np.array(y_true, np.float32), p))
    assert np.isfinite(float(loss)) and float(loss) > 10  # confidently wrong somewhere: a large loss
    assert np.all(np.isfinite(tape.gradient(loss, p).numpy()))


def test_categorical_crossentropy_rejects_integer_labels():
    with pytest.raises(
        ValueError,
        match=r"expects one-hot labels of shape \(6, 5\).*shape \(6,\).*sparse_categorical_crossentropy.*to_categorical\(y, num_classes=5\)",
    ):
        losses.categorical_crossentropy(CLASSES, _softmax(LOGITS))
    with pytest.raises(ValueError, match=r"received labels of shape \(6, 1\), which look like integer class ids"):
        losses.categorical_crossentropy(CLASSES[:, None], _softmax(LOGITS))
    with pytest.raises(ValueError, match=r"same shape; received y_true.shape=\(6, 4\)"):
        losses.categorical_crossentropy(ONE_HOT[:, :4], _softmax(LOGITS))


# ---- sparse categorical ---------------------------------------------------------------------------


def test_sparse_categorical_crossentropy_matches_torch():
    expected = F.cross_entropy(_torch(LOGITS), _torch(CLASSES).long(), reduction="none").numpy()
    np.testing.assert_allclose(
        losses.sparse_categorical_crossentropy(CLASSES, LOGITS, from_logits=True).numpy(), expected, rtol=1e-10
    )
    probabilities = _softmax(LOGITS).astype(np.float32)
    for labels in (CLASSES, CLASSES[:, None], CLASSES.astype(np.float32), tf.constant(CLASSES.astype(np.int32))):
        got = losses.sparse_categorical_crossentropy(labels, probabilities)
        assert got.shape == (6,)
        np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5)
    softmax_out = _activation_output(tf.nn.softmax, np.array([[300.0, -300.0]], np.float32))
    np.testing.assert_allclose(losses.sparse_categorical_crossentropy([1], softmax_out).numpy(), [600.0], rtol=1e-6)


def test_sparse_categorical_crossentropy_label_errors():
    probabilities = _softmax(LOGITS)
    with pytest.raises(ValueError, match=r"class ids in \[0, 5\).*min=0 and max=5"):
        losses.sparse_categorical_crossentropy(np.array([0, 1, 2, 3, 4, 5]), probabilities)
    with pytest.raises(ValueError, match=r"min=-1"):
        losses.sparse_categorical_crossentropy(np.array([0, 1, 2, 3, 4, -1]), probabilities)
    with pytest.raises(ValueError, match=r"look one-hot.*categorical_crossentropy.*np.argmax"):
        losses.sparse_categorical_crossentropy(ONE_HOT, probabilities)
    with pytest.raises(ValueError, match="not whole numbers"):
        losses.sparse_categorical_crossentropy(CLASSES + 0.5, probabilities)
    with pytest.raises(ValueError, match=r"labels must have shape \(6,\)"):
        losses.sparse_categorical_crossentropy(CLASSES[:4], probabilities)
    with pytest.raises(ValueError, match="only axis=-1"):
        losses.sparse_categorical_crossentropy(CLASSES, probabilities, axis=0)


# ---- binary ---------------------------------------------------------------------------------------


def test_binary_crossentropy_matches_torch():
    logits = RNG.normal(scale=3.0, size=(8, 3))
    targets = RNG.integers(0, 2, size=(8, 3)).astype(np.float64)
    p = 1 / (1 + np.exp(-logits))
    got = losses.binary_crossentropy(targets, p)
    assert got.shape == (8,)
    expected = F.binary_cross_entropy(_torch(p), _torch(targets), reduction="none").numpy().mean(-1)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6)
    got = losses.binary_crossentropy(targets, logits, from_logits=True)
    expected = F.binary_cross_entropy_with_logits(_torch(logits), _torch(targets), reduction="none").numpy().mean(-1)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-10)
    smoothed = losses.binary_crossentropy(targets, logits, from_logits=True, label_smoothing=0.1)
    expected = (
        F.binary_cross_entropy_with_logits(_torch(logits), _torch(targets * 0.9 + 0.05), reduction="none")
        .numpy()
        .mean(-1)
    )
    np.testing.assert_allclose(smoothed.numpy(), expected, rtol=1e-10)


def test_binary_crossentropy_shapes_and_sigmoid_logits():
    logits = np.array([[40.0], [-40.0], [0.5]], np.float32)
    labels = np.array([0.0, 0.0, 1.0], np.float32)  # (3,) against (3, 1): Keras expands the labels
    sigmoid_out = _activation_output(tf.sigmoid, logits)
    got = losses.binary_crossentropy(labels, sigmoid_out)
    assert got.shape == (3,)
    expected = F.binary_cross_entropy_with_logits(_torch(logits[:, 0]), _torch(labels), reduction="none").numpy()
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6, atol=1e-12)  # 40, not the clipped 16.1
    rank_one = losses.binary_crossentropy(labels[:, None], _activation_output(tf.sigmoid, logits[:, 0]))
    assert rank_one.shape == (3,)
    np.testing.assert_allclose(rank_one.numpy(), expected, rtol=1e-6, atol=1e-12)
    # A softmax output given to binary_crossentropy is treated as probabilities.
    softmax_out = _activation_output(tf.nn.softmax, LOGITS.astype(np.float32))
    p = np.clip(_softmax(LOGITS), EPS, 1 - EPS)
    hand = -(ONE_HOT * np.log(p) + (1 - ONE_HOT) * np.log(1 - p)).mean(-1)
    np.testing.assert_allclose(losses.binary_crossentropy(ONE_HOT, softmax_out).numpy(), hand, rtol=1e-5)
    with pytest.raises(
        ValueError, match=r"binary_crossentropy: y_true and y_pred must have the same shape.*\(6, 5\).*\(6, 1\)"
    ):
        losses.binary_crossentropy(ONE_HOT, np.full((6, 1), 0.5))


# ---- regression ----------------------------------------------------------------------------------


def test_mean_squared_and_absolute_error_match_torch():
    a, b = RNG.normal(size=(4, 7)), RNG.normal(size=(4, 7))
    np.testing.assert_allclose(
        losses.mse(a, b).numpy(), F.mse_loss(_torch(b), _torch(a), reduction="none").numpy().mean(-1), rtol=1e-6
    )
    np.testing.assert_allclose(
        losses.mae(a, b).numpy(), F.l1_loss(_torch(b), _torch(a), reduction="none").numpy().mean(-1), rtol=1e-6
    )
    assert losses.mean_squared_error([1.0, 2.0], [[1.0], [4.0]]).numpy().tolist() == [0.0, 4.0]
    with pytest.raises(
        ValueError, match=r"mean_squared_error: y_true and y_pred must have the same shape.*\(4, 7\).*\(4, 1\)"
    ):
        losses.mean_squared_error(a, b[:, :1])


# ---- gradients (central differences in float64) -------------------------------------------------


def test_gradients_against_finite_differences():
    labels = np.eye(4)[[0, 3, 1]]
    p = np.random.default_rng(1).uniform(0.1, 0.9, size=(3, 4))
    z = np.random.default_rng(2).normal(size=(3, 4))
    binary_targets = np.array([[1.0, 0.0, 0.0, 1.0]] * 3)
    checks = [
        (lambda p: losses.categorical_crossentropy(labels, p), p),
        (lambda p: losses.categorical_crossentropy(labels, p, label_smoothing=0.1), p),
        (lambda z: losses.categorical_crossentropy(labels, z, from_logits=True), z),
        (lambda z: losses.categorical_crossentropy(labels, _activation_output(tf.nn.softmax, z)), z),
        (lambda p: losses.sparse_categorical_crossentropy([0, 3, 1], p), p),
        (lambda z: losses.sparse_categorical_crossentropy([0, 3, 1], _activation_output(tf.nn.softmax, z)), z),
        (lambda p: losses.binary_crossentropy(binary_targets, p), p),
        (lambda z: losses.binary_crossentropy(binary_targets, z, from_logits=True, label_smoothing=0.2), z),
        (lambda z: losses.binary_crossentropy(binary_targets, _activation_output(tf.sigmoid, z)), z),
        (lambda p: losses.mean_squared_error(labels, p), p),
        (lambda p: losses.mean_absolute_error(labels, p), p),
        (lambda p: losses.CategoricalCrossentropy()(labels, p, sample_weight=[1.0, 2.0, 0.5]), p),
    ]
    for fn, point in checks:
        check_gradients(fn, [point])


# ---- Loss objects, reductions and lookup ------------------------------------------------------------


def test_reductions_and_sample_weight():
    y_true, y_pred = [[0.0], [1.0], [2.0], [3.0]], [[1.0], [1.0], [0.0], [0.0]]  # squared errors 1, 0, 4, 9
    weights = [1.0, 1.0, 0.5, 0.0]
    np.testing.assert_allclose(float(losses.MeanSquaredError()(y_true, y_pred)), 14 / 4)
    np.testing.assert_allclose(float(losses.MeanSquaredError()(y_true, y_pred, sample_weight=weights)), 3 / 4)
    np.testing.assert_allclose(
        float(losses.MeanSquaredError(reduction="sum")(y_true, y_pred, sample_weight=weights)), 3.0
    )
    np.testing.assert_allclose(
        float(losses.MeanSquaredError(reduction="mean_with_sample_weight")(y_true, y_pred, sample_weight=weights)),
        3 / 2.5,
    )
    none = losses.MeanSquaredError(reduction=None)(y_true, y_pred, sample_weight=weights)
    np.testing.assert_allclose(none.numpy(), [1.0, 0.0, 2.0, 0.0])
    column = losses.MeanSquaredError(reduction="none")(y_true, y_pred, sample_weight=np.array(weights)[:, None])
    assert column.shape == (4, 1)  # Keras expands the per-sample losses to the weights' (4, 1)
    with pytest.raises(ValueError, match="Invalid value for argument `reduction`"):
        losses.MeanSquaredError(reduction="average")
    with pytest.raises(ValueError, match=r"sample_weight of shape \(3,\)"):
        losses.MeanSquaredError()(y_true, y_pred, sample_weight=[1.0, 2.0, 3.0])


@pytest.mark.parametrize(
    "sample_weight, scale, weight_sum",
    [(2.0, 2.0, 2.0), (np.float32(2.0), 2.0, 2.0), ([2.0], 2.0, 2.0), (np.array([3.0]), 3.0, 3.0)],
)
def test_a_scalar_or_broadcast_sample_weight_as_keras(sample_weight, scale, weight_sum):
    # Values from Keras 3.15 (PyTorch backend): the weight scales every per-sample loss;
    # 'mean_with_sample_weight' divides by the sum of the weights as given (2.0, not 4 * 2.0).
    y_true = np.array([[0.0, 1.0], [1.0, 1.0], [2.0, 0.0], [0.0, 0.0]], np.float32)
    y_pred = np.array([[1.0, 1.0], [1.0, 3.0], [0.0, 0.0], [0.0, 2.0]], np.float32)
    per_sample = np.array([0.5, 2.0, 2.0, 2.0])  # mean squared errors, summing to 6.5
    expected = {
        "none": scale * per_sample,
        "sum": scale * 6.5,
        "sum_over_batch_size": scale * 6.5 / 4,
        "mean_with_sample_weight": scale * 6.5 / weight_sum,
    }
    for reduction, value in expected.items():
        loss = losses.MeanSquaredError(reduction=reduction)(y_true, y_pred, sample_weight=sample_weight)
        np.testing.assert_allclose(loss.numpy(), value, rtol=1e-6, err_msg=reduction)
    # a zero weight everywhere gives 0, not 0 / 0
    assert float(losses.MeanSquaredError(reduction="mean_with_sample_weight")(y_true, y_pred, sample_weight=0.0)) == 0


def test_loss_objects_match_functions():
    probabilities = _softmax(LOGITS)
    objects = [
        (
            losses.CategoricalCrossentropy(label_smoothing=0.1),
            losses.categorical_crossentropy(ONE_HOT, probabilities, label_smoothing=0.1),
        ),
        (
            losses.SparseCategoricalCrossentropy(from_logits=True),
            losses.sparse_categorical_crossentropy(CLASSES, LOGITS, from_logits=True),
        ),
        (losses.BinaryCrossentropy(), losses.binary_crossentropy(ONE_HOT, probabilities)),
        (losses.MeanAbsoluteError(), losses.mean_absolute_error(ONE_HOT, probabilities)),
    ]
    inputs = {losses.SparseCategoricalCrossentropy: (CLASSES, LOGITS)}
    for loss, per_sample in objects:
        y_true, y_pred = inputs.get(type(loss), (ONE_HOT, probabilities))
        value = loss(y_true, y_pred)
        assert value.shape == ()
        np.testing.assert_allclose(float(value), per_sample.numpy().mean(), rtol=1e-6)


def test_config_lookup_and_serialization():
    assert losses.get("categorical_crossentropy") is losses.categorical_crossentropy
    assert losses.get("mse") is losses.mean_squared_error and losses.get("MAE") is losses.mean_absolute_error
    assert isinstance(losses.get("SparseCategoricalCrossentropy"), losses.SparseCategoricalCrossentropy)
    loss = losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1, name="bce")
    assert losses.get(loss) is loss and losses.get(None) is None
    again = losses.get(json.loads(json.dumps(losses.serialize(loss))))
    assert type(again) is losses.BinaryCrossentropy and again.get_config() == loss.get_config()
    assert again.get_config() == {
        "name": "bce",
        "reduction": "sum_over_batch_size",
        "from_logits": True,
        "label_smoothing": 0.1,
        "axis": -1,
    }
    wrapper = losses.LossFunctionWrapper(
        losses.categorical_crossentropy, name="categorical_crossentropy", from_logits=True
    )
    again = losses.deserialize(json.loads(json.dumps(losses.serialize(wrapper))))
    assert again.fn is losses.categorical_crossentropy and again._fn_kwargs == {"from_logits": True}
    assert losses.serialize(losses.mse) == "mean_squared_error"
    assert tf.losses.categorical_crossentropy is losses.categorical_crossentropy
    with pytest.raises(ValueError, match="Could not interpret loss identifier: 'cross_entropy'"):
        losses.get("cross_entropy")


def test_function_of():
    assert losses.function_of("binary_crossentropy") is losses.binary_crossentropy
    assert losses.function_of(losses.SparseCategoricalCrossentropy()) is losses.sparse_categorical_crossentropy
    assert losses.function_of("CategoricalCrossentropy") is losses.categorical_crossentropy
    assert losses.function_of(lambda y, p: y) is None and losses.function_of("nope") is None


def test_check_targets_before_training():
    losses.check_targets("categorical_crossentropy", ONE_HOT, (None, 5))
    losses.check_targets("sparse_categorical_crossentropy", CLASSES[:, None], (None, 5))
    losses.check_targets(losses.BinaryCrossentropy(), np.zeros(6), (None, 1))
    losses.check_targets(lambda y, p: y, np.zeros((6, 3)), (None, 1))  # custom losses are not checked
    with pytest.raises(ValueError, match="sparse_categorical_crossentropy"):
        losses.check_targets("categorical_crossentropy", CLASSES, (None, 5))
    with pytest.raises(ValueError, match=r"look one-hot"):
        losses.check_targets(losses.SparseCategoricalCrossentropy(), ONE_HOT, (None, 5))
    labels = np.zeros(1000, np.int64)
    labels[987] = 10  # a bad label deep in the data is found before training starts
    with pytest.raises(ValueError, match=r"\[0, 10\).*max=10"):
        losses.check_targets("sparse_categorical_crossentropy", labels, (None, 10))
    with pytest.raises(ValueError, match=r"mean_squared_error.*\(6, 5\).*\(6, 1\)"):
        losses.check_targets("mse", ONE_HOT, (None, 1))


def test_no_warning_for_plain_use():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        losses.categorical_crossentropy(ONE_HOT, _activation_output(tf.nn.softmax, LOGITS.astype(np.float32)))
