"""The planner decides, in one place, which layers run as one op; the layers' own calls are
the plain ops; fit / evaluate / predict run the model's train_step / test_step / predict_step."""

import numpy as np
import pytest

import cnnlab as tf
from cnnlab import keras
from cnnlab.keras.layers import BatchNormalization, Conv2D, Dense, Flatten, Input, MaxPooling2D
from cnnlab.keras.models import planner
from cnnlab.keras.models.training import start_run
from cnnlab.ops import fused_ops

rng = np.random.default_rng(19)


def step_kinds(model):
    return [(type(step).__name__, [layer.name for layer in step.layers]) for step in model._planned().steps]


def test_the_plan_of_the_benchmark_model():
    model = keras.Sequential(
        [
            Input((28, 28, 1)),
            Conv2D(10, 3, padding="same", activation="relu", name="conv"),
            MaxPooling2D(name="pool"),
            Flatten(name="flatten"),
            Dense(100, activation="relu", name="hidden"),
            Dense(10, activation="softmax", name="out"),
        ]
    )
    assert step_kinds(model) == [
        ("ConvStep", ["conv", "pool"]),
        ("LayerStep", ["flatten"]),
        ("DenseStep", ["hidden"]),
        ("DenseStep", ["out"]),
    ]
    assert model._planned().stateless_inference


def test_a_conv_whose_output_is_read_elsewhere_is_not_fused_with_its_pool():
    inputs = Input((8, 8, 2))
    conv = Conv2D(3, 3, padding="same", activation="relu", name="conv")(inputs)
    pooled = MaxPooling2D(name="pool")(conv)
    model = keras.Model(inputs, [conv, pooled])  # the conv's output is a model output too
    kinds = [(type(step).__name__, len(step.layers)) for step in model._plan.steps]
    assert kinds == [("ConvStep", 1), ("LayerStep", 1)]
    x = rng.standard_normal((2, 8, 8, 2)).astype(np.float32)
    got_conv, got_pooled = model(x)
    np.testing.assert_array_equal(got_pooled.numpy(), tf.nn.max_pool2d(got_conv, 2, 2, "VALID").numpy())


def test_layers_that_override_call_run_as_they_are_written():
    class ShiftedConv(Conv2D):
        def call(self, inputs):
            return super().call(inputs) + 1.0

    model = keras.Sequential([Input((6, 6, 1)), ShiftedConv(2, 3, name="shifted"), MaxPooling2D(name="pool")])
    assert step_kinds(model) == [("LayerStep", ["shifted"]), ("LayerStep", ["pool"])]
    assert not ShiftedConv._stateless_inference  # predict runs its batches one by one
    x = rng.standard_normal((3, 6, 6, 1)).astype(np.float32)
    layer = model.layers[0]
    expected = tf.nn.max_pool2d(tf.nn.conv2d(x, layer.kernel, 1, "VALID") + layer.bias + 1.0, 2, 2, "VALID")
    np.testing.assert_allclose(model(x).numpy(), expected.numpy(), rtol=1e-6)

    class Renamed(Dense):  # no call of its own: still computes what Dense does
        pass

    model = keras.Sequential([Input((4,)), Renamed(2, name="renamed")])
    assert step_kinds(model) == [("DenseStep", ["renamed"])] and Renamed._stateless_inference


def test_the_layers_call_the_plain_ops_and_the_plan_the_fused_ones(monkeypatch):
    conv = Conv2D(3, 3, padding="same", activation="relu")
    x = rng.standard_normal((2, 7, 7, 2)).astype(np.float32)
    conv(x)
    expected = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(x, conv.kernel, 1, "SAME"), conv.bias))
    np.testing.assert_array_equal(conv(x).numpy(), expected.numpy())  # the same ops, the same bits
    dense = Dense(4, activation="tanh")
    h = rng.standard_normal((3, 5)).astype(np.float32)
    dense(h)
    np.testing.assert_array_equal(dense(h).numpy(), tf.tanh(tf.nn.bias_add(tf.matmul(h, dense.kernel), dense.bias)).numpy())

    calls = []
    for name in ("conv2d_bias_relu", "dense_bias_relu", "batch_norm_training"):
        original = getattr(fused_ops, name)
        monkeypatch.setattr(fused_ops, name, lambda *a, _name=name, _op=original, **k: calls.append(_name) or _op(*a, **k))
    model = keras.Sequential([Input((7, 7, 2)), conv, BatchNormalization(), Flatten(), Dense(2)])
    model(x, training=True)
    assert calls == ["conv2d_bias_relu", "batch_norm_training", "dense_bias_relu"]
    calls.clear()
    conv(x)  # a layer called on its own: the plain ops
    assert calls == []


def test_a_fused_step_checks_the_input_as_the_layer_does():
    model = keras.Sequential([Input((6, 6, 2)), Conv2D(2, 3, name="conv"), Flatten()])
    with pytest.raises(ValueError, match='Input of layer "sequential.*" is incompatible|expected axis -1'):
        model(np.zeros((1, 6, 6, 3), np.float32))


class Counted(keras.Model):
    """A model whose steps count their calls and report their own logs."""

    def __init__(self):
        super().__init__()
        self.dense = Dense(2)
        self.steps = {"train": 0, "test": 0, "predict": 0}

    def call(self, x):
        return self.dense(x)

    def train_step(self, data):
        self.steps["train"] += 1
        logs = super().train_step(data)
        return {**logs, "steps": float(self.steps["train"])}

    def test_step(self, data):
        self.steps["test"] += 1
        return {**super().test_step(data), "custom": 1.0}

    def predict_step(self, data):
        self.steps["predict"] += 1
        return super().predict_step(data) * 0.0 + 7.0


def test_fit_evaluate_and_predict_run_the_models_steps():
    model = Counted()
    model.compile(optimizer="sgd", loss="mse")
    x, y = rng.standard_normal((10, 3)).astype(np.float32), rng.standard_normal((10, 2)).astype(np.float32)
    history = model.fit(x, y, batch_size=4, epochs=2, verbose=0, validation_data=(x, y))
    assert model.steps["train"] == 6 and model.steps["test"] == 2 * 3
    assert history.history["steps"] == [3.0, 6.0]  # the logs the last step of each epoch returned
    assert history.history["val_custom"] == [1.0, 1.0]
    assert model.evaluate(x, y, batch_size=5, verbose=0, return_dict=True)["custom"] == 1.0
    np.testing.assert_array_equal(model.predict(x, batch_size=3, verbose=0), np.full((10, 2), 7.0, np.float32))
    assert model.steps["predict"] == 4  # one by one: a user's predict_step runs in order


def test_the_default_train_step_is_what_fit_runs():
    keras.utils.set_random_seed(5)
    model = keras.Sequential([Input((3,)), Dense(4, activation="relu"), Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = rng.standard_normal((8, 3)).astype(np.float32), rng.integers(0, 2, 8)
    weights = model.get_weights()
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    by_fit = model.get_weights()
    model.set_weights(weights)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.optimizer.build(model.trainable_weights)
    start_run(model)
    for first in (0, 4):
        logs = model.train_step((tf.constant(x[first : first + 4]), y[first : first + 4]))
    assert set(logs) == {"loss", "accuracy"}
    for got, expected in zip(model.get_weights(), by_fit, strict=True):
        np.testing.assert_array_equal(got, expected)


def test_planner_nodes_drop_values_no_step_reads_again():
    inputs = Input((4,))
    a = Dense(3, name="a")(inputs)
    b = Dense(2, name="b")(a)
    model = keras.Model(inputs, b)
    plan = model._plan
    values = {id(model.inputs[0]): tf.constant(np.ones((1, 4), np.float32))}
    outputs = plan.run(values, training=False)
    assert list(values) == [plan.outputs[0]] and outputs[0].shape == (1, 2)
    assert isinstance(plan, planner.Plan)


def test_a_chain_runs_a_layers_own_sublayers_through_the_planners_ops(monkeypatch):
    conv, norm = Conv2D(3, 3, padding="same", use_bias=False), BatchNormalization()
    x = rng.standard_normal((4, 6, 6, 2)).astype(np.float32)
    norm(conv(x), training=False)  # built
    calls = []
    for name in ("conv2d_bias_relu", "batch_norm_training"):
        original = getattr(fused_ops, name)
        monkeypatch.setattr(fused_ops, name, lambda *a, _name=name, _op=original, **k: calls.append(_name) or _op(*a, **k))
    branch = planner.chain(conv, norm)
    got = branch.call(tf.constant(x), training=True)
    assert calls == ["conv2d_bias_relu", "batch_norm_training"]
    mean, variance = norm.moving_mean.numpy().copy(), norm.moving_variance.numpy().copy()
    norm.moving_mean.assign(np.zeros(3, np.float32))
    norm.moving_variance.assign(np.ones(3, np.float32))
    expected = norm(conv(x), training=True)  # the layers' own calls: the plain ops
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(norm.moving_mean.numpy(), mean, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(norm.moving_variance.numpy(), variance, rtol=1e-5)
