"""BatchNormalization's training op with the ReLU and the residual sum after it
(``fused_ops.batch_norm_training``, kernels/batch_norm.py) against the unfused ``tf.nn`` ops:
values, gradients of first and second order, finite differences, statistics far from zero; and
the planner's rule that runs a BatchNormalization and the ReLU after it as that op."""

import numpy as np
import pytest

import cnnlab as tf
from cnnlab import keras
from cnnlab.kernels import batch_norm as norm_kernels
from cnnlab.ops import fused_ops
from cnnlab.runtime import tuning
from cnnlab.testing import check_gradients
from fused_checks import gradients

rng = np.random.default_rng(18)


def split(args, scale, center, residual):
    x, *rest = args
    gamma = rest.pop(0) if scale else None
    beta = rest.pop(0) if center else None
    shortcut = rest.pop(0) if residual else None
    return x, gamma, beta, shortcut


def unfused(x, gamma, beta, shortcut, relu):
    mean, variance = tf.nn.moments(x, tuple(range(x.ndim - 1)))
    out = tf.nn.batch_normalization(x, mean, variance, beta, gamma, 1e-3)
    if shortcut is not None:
        out = out + shortcut
    return tf.nn.relu(out) if relu else out


@pytest.mark.parametrize("shape", [(4, 3, 5, 2), (6, 3)])
@pytest.mark.parametrize("relu, residual", [(True, False), (False, True), (True, True)])
@pytest.mark.parametrize("scale, center", [(True, True), (False, False)])
def test_batch_norm_with_relu_and_residual_equals_the_tf_nn_ops(shape, relu, residual, scale, center):
    channels = shape[-1]
    inputs = [rng.standard_normal(shape) * 2 + 1]
    inputs += [rng.uniform(0.5, 2, channels)] if scale else []
    inputs += [rng.standard_normal(channels)] if center else []
    inputs += [rng.standard_normal(shape)] if residual else []

    def fused(*args):
        x, gamma, beta, shortcut = split(args, scale, center, residual)
        return fused_ops.batch_norm_training(x, gamma, beta, 1e-3, relu=relu, residual=shortcut)[0]

    def plain(*args):
        return unfused(*split(args, scale, center, residual), relu)

    for got, expected in zip(gradients(fused, inputs), gradients(plain, inputs), strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-10)
    check_gradients(fused, inputs)


def test_batch_statistics_of_data_far_from_zero_keep_their_precision():
    # Channels with means of 1000 and standard deviations of 0.01 to 1: E[x^2] - E[x]^2 in float32
    # would lose every digit of the smaller variances.
    x = (1000 + rng.standard_normal((16, 9, 9, 3)) * np.array([0.01, 0.1, 1])).astype(np.float32)
    mean, variance = norm_kernels.statistics(x)
    exact = x.astype(np.float64)
    np.testing.assert_allclose(mean, exact.mean(axis=(0, 1, 2)), rtol=1e-6)
    np.testing.assert_allclose(variance, exact.var(axis=(0, 1, 2)), rtol=1e-3)


def test_the_statistics_are_those_of_the_whole_batch_across_blocks(monkeypatch):
    monkeypatch.setattr(tuning, "NORMALIZE_BLOCK_BYTES", 512)  # many blocks, one row each
    x = rng.standard_normal((37, 5, 5, 4)) * rng.uniform(0.1, 3, 4) + rng.standard_normal(4)
    mean, variance = norm_kernels.statistics(x)
    np.testing.assert_allclose(mean, x.mean(axis=(0, 1, 2)), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(variance, x.var(axis=(0, 1, 2)), rtol=1e-12)


def test_the_planner_runs_batch_norm_and_the_relu_after_it_as_one_op(monkeypatch):
    layers = keras.layers
    model = keras.Sequential(
        [
            layers.Input((6, 6, 2)),
            layers.Conv2D(4, 3, use_bias=False, name="conv"),
            layers.BatchNormalization(name="norm"),
            layers.ReLU(name="relu"),
            layers.BatchNormalization(name="norm2"),
            layers.Activation("relu", name="act"),
            layers.BatchNormalization(name="norm3"),
            layers.ReLU(max_value=6.0, name="relu6"),  # not a plain ReLU: on its own
            layers.Flatten(),
        ]
    )
    kinds = [(type(step).__name__, [layer.name for layer in step.layers]) for step in model._planned().steps]
    assert kinds[1:5] == [
        ("BatchNormStep", ["norm", "relu"]),
        ("BatchNormStep", ["norm2", "act"]),
        ("BatchNormStep", ["norm3"]),
        ("LayerStep", ["relu6"]),
    ]
    calls = []
    original = fused_ops.batch_norm_training
    monkeypatch.setattr(fused_ops, "batch_norm_training", lambda *a, **k: calls.append(k.get("relu")) or original(*a, **k))
    x = rng.standard_normal((3, 6, 6, 2)).astype(np.float32)
    out = model(x, training=True)
    assert calls == [True, True, False]
    h = model.layers[0](x)
    for layer in model.layers[1:]:
        h = layer(h, training=True)
    np.testing.assert_allclose(out.numpy(), h.numpy(), rtol=1e-5, atol=1e-5)
    # In inference each layer runs its own call.
    calls.clear()
    model(x, training=False)
    assert calls == []


def residual_block(order):
    """A functional residual block: relu(bn(conv(x)) + x), the sum's inputs in ``order``."""
    layers = keras.layers
    inputs = keras.Input((6, 6, 4))
    y = layers.Conv2D(4, 3, padding="same", use_bias=False, name="conv")(inputs)
    y = layers.BatchNormalization(name="norm")(y)
    pair = [y, inputs] if order == "norm first" else [inputs, y]
    out = layers.ReLU(name="relu")(layers.Add(name="add")(pair))
    return keras.Model(inputs, layers.Flatten(name="flat")(out))


@pytest.mark.parametrize("order", ["norm first", "shortcut first"])
def test_the_planner_runs_a_residual_sum_and_its_relu_with_the_normalization_as_one_op(order, monkeypatch):
    model = residual_block(order)
    kinds = [(type(step).__name__, [layer.name for layer in step.layers]) for step in model._plan.steps]
    assert kinds == [("ConvStep", ["conv"]), ("ResidualStep", ["norm", "add", "relu"]), ("LayerStep", ["flat"])]
    calls = []
    original = fused_ops.batch_norm_training
    monkeypatch.setattr(
        fused_ops, "batch_norm_training", lambda *a, **k: calls.append((k["relu"], k["residual"] is not None)) or original(*a, **k)
    )
    x = rng.standard_normal((3, 6, 6, 4)).astype(np.float32)
    conv, norm, add, relu = (model.get_layer(name) for name in ("conv", "norm", "add", "relu"))

    def by_layers(inputs):
        y = norm(conv(inputs), training=True)
        return relu(add([y, inputs] if order == "norm first" else [inputs, y]))

    weights = conv.trainable_weights + norm.trainable_weights
    with tf.GradientTape() as tape:
        fused = model(x, training=True)
        loss = tf.reduce_sum(fused * fused)
    fused_grads = tape.gradient(loss, weights)
    assert calls == [(True, True)]
    with tf.GradientTape() as tape:
        plain = tf.reshape(by_layers(tf.constant(x)), (3, -1))
        loss = tf.reduce_sum(plain * plain)
    for got, expected in zip([fused, *fused_grads], [plain, *tape.gradient(loss, weights)], strict=True):
        np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=2e-5, atol=2e-5)
    calls.clear()
    model(x, training=False)  # inference: the layers' own calls
    assert calls == []


def test_a_normalization_read_elsewhere_is_not_fused_into_the_sum():
    layers = keras.layers
    inputs = keras.Input((6, 6, 4))
    y = layers.BatchNormalization(name="norm")(layers.Conv2D(4, 3, padding="same", name="conv")(inputs))
    summed = layers.Add(name="add")([y, inputs])
    model = keras.Model(inputs, [summed, y])  # the normalization's output is a model output too
    kinds = [type(step).__name__ for step in model._plan.steps]
    assert "ResidualStep" not in kinds and kinds.count("BatchNormStep") == 1
