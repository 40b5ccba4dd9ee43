"""Rule 6 of the planner: a Dropout folded into the fused step before it draws the same mask and
computes the same bits as the layer's own call, forward, backward and through fit."""

import numpy as np
import pytest

import cnnlab as tf
from cnnlab import keras
from cnnlab.cli import models as cli_models
from cnnlab.keras.layers import (
    BatchNormalization,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    Input,
    MaxPooling2D,
    ReLU,
)
from cnnlab.keras.models import planner
from cnnlab.kernels import dropout as dropout_kernels
from cnnlab.ops import fused_ops

rng = np.random.default_rng(31)


def step_kinds(model):
    return [(type(step).__name__, [layer.name for layer in step.layers]) for step in model._planned().steps]


def layer_by_layer(monkeypatch, model):
    """``model`` re-planned without rule 6: each Dropout runs as its own layer."""
    monkeypatch.setattr(planner, "_fold_dropout", lambda *args: None)
    model._plan = None
    assert not any(isinstance(layer, Dropout) for step in model._planned().steps[:-1] for layer in step.layers[1:])


def conv_block_model(noise_shape=None, seed=None):
    return keras.Sequential(
        [
            Input((8, 8, 2)),
            Conv2D(4, 3, padding="same", use_bias=False, name="conv"),
            BatchNormalization(name="norm"),
            ReLU(name="relu"),
            MaxPooling2D(name="pool"),
            Dropout(0.25, noise_shape=noise_shape, seed=seed, name="drop_pool"),
            Conv2D(4, 3, activation="relu", name="conv_relu"),
            Dropout(0.3, name="drop_conv"),
            Flatten(name="flatten"),
            Dense(6, use_bias=False, name="dense"),
            BatchNormalization(name="dense_norm"),
            ReLU(name="dense_relu"),
            Dropout(0.5, name="drop_norm"),
            Dense(5, activation="relu", name="hidden"),
            Dropout(0.2, name="drop_dense"),
            Dense(3, activation="softmax", name="out"),
        ]
    )


def test_the_plan_folds_each_dropout_into_the_step_before_it():
    assert step_kinds(conv_block_model()) == [
        ("ConvStep", ["conv"]),
        ("BatchNormStep", ["norm", "relu"]),
        ("PoolStep", ["pool", "drop_pool"]),
        ("ConvStep", ["conv_relu", "drop_conv"]),
        ("LayerStep", ["flatten"]),
        ("DenseStep", ["dense"]),
        ("BatchNormStep", ["dense_norm", "dense_relu", "drop_norm"]),
        ("DenseStep", ["hidden", "drop_dense"]),
        ("DenseStep", ["out"]),
    ]
    deep = cli_models.MODELS["deep"].build()
    folded = [[layer.name for layer in step.layers] for step in deep._planned().steps if len(step.layers) > 1]
    assert [names[-1] for names in folded if names[-1].startswith("dropout")] == ["dropout", "dropout_1"]


def test_a_dropout_read_elsewhere_or_called_with_arguments_is_not_folded():
    inputs = Input((6, 6, 1))
    conv = Conv2D(2, 3, activation="relu", name="conv")(inputs)
    dropped = Dropout(0.5, name="drop")(conv)
    model = keras.Model(inputs, [conv, dropped])  # the conv's output is a model output too
    assert [len(step.layers) for step in model._plan.steps] == [1, 1]
    pooled = MaxPooling2D(name="pool")(inputs)
    kept = Dropout(0.5, name="drop_off")(pooled, training=False)
    model = keras.Model(inputs, kept)
    assert [type(step).__name__ for step in model._plan.steps] == ["LayerStep", "LayerStep"]
    x = rng.standard_normal((2, 6, 6, 1)).astype(np.float32)
    np.testing.assert_array_equal(model(x, training=True).numpy(), tf.nn.max_pool2d(x, 2, 2, "VALID").numpy())


def same_forward_and_gradients(monkeypatch, model, x, seed):
    """The outputs and the weights' gradients of ``model`` in training, with rule 6 and without it."""
    results = []
    for fold in (True, False):
        if not fold:
            layer_by_layer(monkeypatch, model)
        tf.random.set_seed(seed)
        with tf.GradientTape() as tape:
            out = model(x, training=True)
            loss = tf.reduce_sum(out * out)
        grads = tape.gradient(loss, model.trainable_weights)
        results.append([out.numpy()] + [g.numpy() for g in grads])
    for fused, by_layers in zip(*results, strict=True):
        np.testing.assert_array_equal(fused, by_layers)
    return results[0][0]


@pytest.mark.parametrize("noise_shape, seed", [(None, None), ((None, 1, 1, 4), 7)])
def test_folded_dropouts_compute_the_same_bits_as_the_layers(monkeypatch, noise_shape, seed):
    model = conv_block_model(noise_shape, seed)
    x = rng.standard_normal((4, 8, 8, 2)).astype(np.float32)
    out = same_forward_and_gradients(monkeypatch, model, x, seed=3)
    assert np.isfinite(out).all() and out.std() > 0


@pytest.mark.parametrize(
    "layers",
    [
        [Conv2D(3, 3, activation="relu"), MaxPooling2D(), Dropout(0.4)],  # rule 1 with a dropout
        [Conv2D(3, 3), Dropout(0.4)],  # no activation
        [Conv2D(3, 3, activation="tanh"), Dropout(0.4)],  # another activation: the layer after the op
        [Conv2D(3, 3, use_bias=False), BatchNormalization(), Dropout(0.4)],  # no ReLU
        [Dense(5, activation="relu"), Dropout(0.4, noise_shape=(1, None, 5))],  # a rank-3 input
    ],
    ids=["conv_pool", "conv_linear", "conv_tanh", "norm", "dense_rank3"],
)
def test_each_kind_of_step_with_a_dropout(monkeypatch, layers):
    model = keras.Sequential([Input((6, 6, 2)), *layers, Flatten(), Dense(2)])
    assert isinstance(model._planned().steps[0], planner._FusedStep)
    x = rng.standard_normal((3, 6, 6, 2)).astype(np.float32)
    same_forward_and_gradients(monkeypatch, model, x, seed=11)


def test_fit_trains_the_same_weights_with_and_without_the_rule(monkeypatch):
    x = rng.standard_normal((48, 8, 8, 2)).astype(np.float32)
    y = rng.integers(0, 3, 48)
    weights = []
    for fold in (True, False):
        keras.utils.set_random_seed(5)
        model = conv_block_model()
        if not fold:
            layer_by_layer(monkeypatch, model)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.fit(x, y, batch_size=16, epochs=2, verbose=0)
        weights.append(model.get_weights())
    for fused, by_layers in zip(*weights, strict=True):
        np.testing.assert_array_equal(fused, by_layers)
    keras.utils.set_random_seed(5)
    assert not np.array_equal(conv_block_model().get_weights()[0], weights[0][0])  # it trained


def test_in_inference_a_folded_dropout_is_the_identity():
    model = conv_block_model()
    x = rng.standard_normal((2, 8, 8, 2)).astype(np.float32)
    no_dropout = [layer for layer in model.layers if not isinstance(layer, Dropout)]
    plain = keras.Sequential([Input((8, 8, 2)), *no_dropout])
    np.testing.assert_array_equal(model(x).numpy(), plain(x).numpy())
    np.testing.assert_array_equal(model.predict(x, verbose=0), plain.predict(x, verbose=0))


@pytest.mark.parametrize("relu", [False, True])
def test_the_fused_ops_dropout_against_tf_nn_dropout_to_second_order(relu):
    """Under a recording outer tape the gradient is built from ops: second derivatives agree too."""
    x = tf.constant(rng.standard_normal((2, 5, 5, 3)))
    w = tf.Variable(rng.standard_normal((3, 3, 3, 4)) * 0.5)

    def fused():
        return fused_ops.conv2d_bias_relu(x, w, None, (1, 1), "VALID", (1, 1), relu, dropout=(0.3, None, 2))

    def unfused():
        conv = tf.nn.conv2d(x, w, 1, "VALID")
        return tf.nn.dropout(tf.nn.relu(conv) if relu else conv, 0.3, seed=2)

    results = []
    for run in (fused, unfused):
        tf.random.set_seed(9)
        with tf.GradientTape() as outer:
            with tf.GradientTape() as inner:
                out = run()
                loss = tf.reduce_sum(out * out * out)
            (dw,) = inner.gradient(loss, [w])
            total = tf.reduce_sum(dw * dw)
        results.append((out.numpy(), dw.numpy(), outer.gradient(total, w).numpy()))
    for fused_value, unfused_value in zip(*results, strict=True):
        np.testing.assert_allclose(fused_value, unfused_value, rtol=1e-12, atol=1e-12)
    assert (results[0][0] == 0).mean() > 0.2  # some values were dropped


def test_a_dropout_in_the_fused_ops_scales_the_kept_values():
    x = tf.constant(np.abs(rng.standard_normal((200, 10))).astype(np.float32) + 1)
    kernel = tf.constant(np.eye(10, dtype=np.float32))
    tf.random.set_seed(4)
    out = fused_ops.dense_bias_relu(x, kernel, None, True, dropout=(0.25, None, None)).numpy()
    kept = out != 0
    assert 0.7 < kept.mean() < 0.8
    np.testing.assert_array_equal(out[kept], x.numpy()[kept] * np.float32(1 / 0.75))


@pytest.mark.parametrize(
    "shape, noise_shape, contiguous",
    [((64, 32, 32, 8), None, True), ((64, 32, 32, 8), (64, 1, 1, 8), True), ((6, 5, 4), None, False)],
)
def test_the_dropout_kernels_against_numpy(shape, noise_shape, contiguous):
    """Split over the threads (a big array), broadcast (a noise shape) or not contiguous: NumPy's products."""
    values = rng.standard_normal(shape).astype(np.float32)
    if not contiguous:
        values = np.ascontiguousarray(values.transpose(2, 1, 0)).transpose(2, 1, 0)
    keep_scale = (rng.random(noise_shape or shape) >= 0.4).astype(np.float32) * np.float32(1 / 0.6)
    expected = values * keep_scale
    out = np.empty_like(values)
    assert dropout_kernels.scale(values, keep_scale, out=out) is out
    assert out.tobytes() == expected.tobytes()
    relu_out = np.maximum(values, 0) * keep_scale  # the op's output: a ReLU, then the dropout
    dy = rng.standard_normal(shape).astype(np.float32)
    gradient = dropout_kernels.scale_gradient(dy, keep_scale, np.empty_like(dy), relu_out=relu_out)
    assert gradient.tobytes() == (dy * keep_scale * (relu_out > 0)).tobytes()
    np.testing.assert_array_equal(gradient, np.where((values > 0) & (keep_scale > 0), dy * keep_scale, 0))
    expected = dy * keep_scale
    assert dropout_kernels.scale_gradient(dy, keep_scale, dy) is dy  # in place
    assert dy.tobytes() == expected.tobytes()
