"""Issue 20.4's optimizers, metrics and backend helpers, against Keras 3 itself (PyTorch backend, test-only)."""

import os
import re

os.environ["KERAS_BACKEND"] = "torch"  # before keras is imported: no TensorFlow needed

import keras as keras3  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import cnnlab as tf  # noqa: E402
from cnnlab.keras import backend, metrics, optimizers  # noqa: E402

# Keras 3 on NumPy 2 warns about its own tensors' __array__; nothing of cnnlab's.
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)

rng = np.random.default_rng(20)


def keras_numpy(value):
    return keras3.ops.convert_to_numpy(value)


# ---- learning-rate schedules ----------------------------------------------------------------------

COSINE_CASES = [
    {"initial_learning_rate": 0.1, "decay_steps": 100},
    {"initial_learning_rate": 0.05, "decay_steps": 37, "alpha": 0.1},
    {"initial_learning_rate": 0.0, "decay_steps": 50, "warmup_target": 0.2, "warmup_steps": 20},
    {"initial_learning_rate": 0.01, "decay_steps": 10, "alpha": 0.5, "warmup_target": 0.1, "warmup_steps": 5},
]


@pytest.mark.parametrize("kwargs", COSINE_CASES, ids=[str(i) for i in range(len(COSINE_CASES))])
def test_cosine_decay_matches_keras(kwargs):
    """CosineDecay's rate at every step through the warm-up, the cosine and past its end, to 1e-6; the same config."""
    ours = optimizers.schedules.CosineDecay(**kwargs)
    theirs = keras3.optimizers.schedules.CosineDecay(**kwargs)
    steps = range(0, int(kwargs["decay_steps"] + kwargs.get("warmup_steps", 0)) + 15)
    np.testing.assert_allclose(
        [float(ours(step)) for step in steps],
        [float(keras_numpy(theirs(step))) for step in steps],
        rtol=1e-6,
        atol=1e-8,
    )
    assert ours.get_config() == theirs.get_config()
    assert ours(tf.Variable(np.int64(3), trainable=False)).dtype == np.float32


def test_cosine_decay_drives_an_optimizer_as_in_keras():
    """SGD with momentum and a cosine schedule: four steps leave Keras's weights; the schedule survives a config."""
    weights = rng.standard_normal((3, 2)).astype(np.float32)
    ours = optimizers.SGD(optimizers.schedules.CosineDecay(0.1, decay_steps=3), momentum=0.9, nesterov=True)
    their_schedule = keras3.optimizers.schedules.CosineDecay(0.1, decay_steps=3)
    theirs = keras3.optimizers.SGD(their_schedule, momentum=0.9, nesterov=True)
    our_var, their_var = tf.Variable(weights), keras3.Variable(weights)
    for _ in range(4):
        grad = rng.standard_normal(weights.shape).astype(np.float32)
        ours.apply_gradients([(tf.constant(grad), our_var)])
        theirs.apply_gradients([(keras3.ops.convert_to_tensor(grad), their_var)])
    np.testing.assert_allclose(our_var.numpy(), keras_numpy(their_var), rtol=1e-6, atol=1e-7)
    again = optimizers.SGD.from_config(ours.get_config())
    assert isinstance(again._learning_rate, optimizers.schedules.CosineDecay)
    assert again._learning_rate.get_config() == ours._learning_rate.get_config()


def test_cosine_decay_rejects_bad_lengths():
    with pytest.raises(ValueError, match="decay_steps=0"):
        optimizers.schedules.CosineDecay(0.1, decay_steps=0)
    with pytest.raises(ValueError, match="warmup_steps=-2"):
        optimizers.schedules.CosineDecay(0.1, decay_steps=10, warmup_target=0.2, warmup_steps=-2)


# ---- optimizers ---------------------------------------------------------------------------------

OPTIMIZER_CASES = [
    ("Nadam", {}),
    ("Nadam", {"learning_rate": 0.05, "beta_1": 0.8, "epsilon": 1e-5, "weight_decay": 0.02}),
    ("Adamax", {}),
    ("Adamax", {"learning_rate": 0.02, "beta_2": 0.9, "clipnorm": 0.5}),
    ("AdamW", {}),
    ("AdamW", {"learning_rate": 0.01, "weight_decay": 0.1, "amsgrad": True}),
]


@pytest.mark.parametrize("name,kwargs", OPTIMIZER_CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(OPTIMIZER_CASES)])
def test_optimizer_steps_match_keras(name, kwargs):
    """Six steps on identical gradients leave the same weights, to 1e-6."""
    weights = [rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal(4).astype(np.float32)]
    ours = getattr(optimizers, name)(**kwargs)
    theirs = getattr(keras3.optimizers, name)(**kwargs)
    our_vars = [tf.Variable(w) for w in weights]
    their_vars = [keras3.Variable(w) for w in weights]
    for _ in range(6):
        grads = [rng.standard_normal(w.shape).astype(np.float32) for w in weights]
        ours.apply_gradients(zip([tf.constant(g) for g in grads], our_vars))
        theirs.apply_gradients(zip([keras3.ops.convert_to_tensor(g) for g in grads], their_vars))
    for ours_var, their_var in zip(our_vars, their_vars):
        np.testing.assert_allclose(ours_var.numpy(), keras_numpy(their_var), rtol=1e-6, atol=1e-6)
    ours_config, their_config = ours.get_config(), theirs.get_config()
    keras_only = {
        "use_ema",
        "ema_momentum",
        "ema_overwrite_frequency",
        "loss_scale_factor",
        "gradient_accumulation_steps",
    }
    assert set(ours_config) == set(their_config) - keras_only
    for key in set(ours_config) - {"learning_rate", "name"}:
        assert ours_config[key] == their_config[key], key
    assert ours_config["name"] == re.sub(r"_\d+$", "", their_config["name"])  # Keras numbers later instances
    assert ours_config["learning_rate"] == pytest.approx(their_config["learning_rate"])


def test_nadam_state_round_trips_and_continues_exactly():
    variable = tf.Variable(np.ones(3, np.float32))
    first = optimizers.Nadam(learning_rate=0.1)
    for _ in range(3):
        first.apply_gradients([(tf.constant([0.5, -1.0, 2.0]), variable)])
    state = first.get_state()
    assert list(state)[-1] == "u_product" and state["iterations"] == 3
    copy = tf.Variable(variable.numpy())
    second = optimizers.Nadam(learning_rate=0.1)
    second.build([copy])
    second.set_state(state)
    for optimizer, target in ((first, variable), (second, copy)):
        optimizer.apply_gradients([(tf.constant([1.0, 1.0, -1.0]), target)])
    np.testing.assert_array_equal(copy.numpy(), variable.numpy())


def test_new_optimizers_by_name_and_lr_alias():
    for name, cls in (("nadam", optimizers.Nadam), ("adamw", optimizers.AdamW), ("adamax", optimizers.Adamax)):
        optimizer = optimizers.get(name)
        assert type(optimizer) is cls
        again = optimizers.deserialize(optimizers.serialize(optimizer))
        assert type(again) is cls and again.get_config() == optimizer.get_config()
    optimizer = optimizers.Adam(learning_rate=0.01)
    assert optimizer.lr is optimizer.learning_rate
    optimizer.lr = 0.5
    assert float(optimizer.learning_rate) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="weight_decay"):
        optimizers.AdamW(weight_decay=None)
    with pytest.raises(ValueError, match="beta_1"):
        optimizers.Nadam(beta_1=1.5)


def test_adamw_decays_weights_without_gradient_signal():
    variable = tf.Variable([2.0])
    optimizers.AdamW(learning_rate=0.1, weight_decay=0.5).apply_gradients([(tf.constant([0.0]), variable)])
    assert float(variable.numpy()[0]) == pytest.approx(2.0 * (1 - 0.5 * 0.1))


# ---- backend ---------------------------------------------------------------------------------------


def test_backend_get_value_set_value_random_normal():
    optimizer = optimizers.SGD(learning_rate=0.1)
    assert backend.get_value(optimizer.lr) == pytest.approx(0.1)
    backend.set_value(optimizer.lr, 0.025)
    assert float(optimizer.learning_rate) == pytest.approx(0.025)
    assert backend.get_value(3.5) == 3.5
    np.testing.assert_array_equal(backend.get_value(tf.constant([1, 2])), [1, 2])
    with pytest.raises(TypeError, match="must be a Variable"):
        backend.set_value(tf.constant(1.0), 2.0)
    tf.random.set_seed(4)
    draws = backend.random_normal((2000, 3), mean=1.0, stddev=2.0)
    assert draws.dtype == np.float32 and draws.shape == (2000, 3)
    assert abs(float(np.mean(draws.numpy())) - 1.0) < 0.1 and abs(float(np.std(draws.numpy())) - 2.0) < 0.1
    tf.random.set_seed(4)
    np.testing.assert_array_equal(backend.random_normal((2000, 3), mean=1.0, stddev=2.0).numpy(), draws.numpy())


# ---- metrics ----------------------------------------------------------------------------------------

Y_TRUE = (rng.random((50, 3)) > 0.5).astype(np.float32)
Y_PRED = rng.random((50, 3)).astype(np.float32)
REGRESSION_TRUE = rng.standard_normal((50, 3)).astype(np.float32)
WEIGHTS = rng.random(50).astype(np.float32)

METRIC_CASES = [
    ("AUC", {}, "binary"),
    ("AUC", {"curve": "PR"}, "binary"),
    ("AUC", {"curve": "PR", "summation_method": "majoring"}, "binary"),
    ("AUC", {"curve": "PRGAIN"}, "binary"),
    ("AUC", {"summation_method": "minoring", "num_thresholds": 13}, "binary"),
    ("AUC", {"multi_label": True, "label_weights": [1.0, 2.0, 0.5]}, "binary"),
    ("AUC", {"thresholds": [0.1, 0.4, 0.8], "from_logits": True}, "binary"),
    ("Precision", {}, "binary"),
    ("Precision", {"thresholds": [0.2, 0.7]}, "binary"),
    ("Precision", {"top_k": 1}, "binary"),
    ("Precision", {"class_id": 2}, "binary"),
    ("Recall", {}, "binary"),
    ("Recall", {"top_k": 2, "class_id": 0}, "binary"),
    ("MeanSquaredError", {}, "regression"),
    ("MeanAbsoluteError", {}, "regression"),
    ("MeanAbsolutePercentageError", {}, "regression"),
    ("RootMeanSquaredError", {}, "regression"),
]


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("name,kwargs,kind", METRIC_CASES, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(METRIC_CASES)])
def test_metric_matches_keras(name, kwargs, kind, weighted):
    y_true = Y_TRUE if kind == "binary" else REGRESSION_TRUE
    ours, theirs = getattr(metrics, name)(**kwargs), getattr(keras3.metrics, name)(**kwargs)
    for start in (0, 20, 40):  # three batches accumulate
        batch = slice(start, start + 20)
        weights = WEIGHTS[batch] if weighted else None
        ours.update_state(y_true[batch], Y_PRED[batch], sample_weight=weights)
        theirs.update_state(y_true[batch], Y_PRED[batch], sample_weight=weights)
    np.testing.assert_allclose(np.asarray(ours.result()), keras_numpy(theirs.result()), rtol=2e-6, atol=1e-6)
    ours_config, their_config = ours.get_config(), theirs.get_config()
    assert set(ours_config) == set(their_config)
    for key, value in their_config.items():
        if key != "name" and isinstance(value, (bool, int, float, str, type(None))):
            assert (
                ours_config[key] == pytest.approx(value) if isinstance(value, float) else ours_config[key] == value
            ), key
    ours.reset_state()
    theirs.reset_state()
    np.testing.assert_allclose(np.asarray(ours.result()), keras_numpy(theirs.result()))


def test_metric_default_names_are_keras_names():
    for name in (
        "AUC",
        "Precision",
        "Recall",
        "MeanSquaredError",
        "MeanAbsoluteError",
        "MeanAbsolutePercentageError",
        "RootMeanSquaredError",
    ):
        ours = getattr(metrics, name)()
        theirs = getattr(keras3.metrics, name)()
        assert ours.name == theirs.name.rstrip("_0123456789") or ours.name == theirs.name


def test_auc_of_a_perfect_and_a_useless_classifier():
    perfect = metrics.AUC()
    perfect.update_state([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])
    assert float(perfect.result()) == pytest.approx(1.0, abs=1e-6)
    constant = metrics.AUC()
    constant.update_state([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5])
    assert float(constant.result()) == pytest.approx(0.5, abs=1e-6)


def test_metrics_in_compile_are_logged_under_their_names():
    x = rng.random((64, 4)).astype(np.float32)
    y = (x.sum(axis=1) > 2).astype(np.float32)
    model = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(1, activation="sigmoid")])
    model.compile(
        optimizer="adam",
        loss="binary_crossentropy",
        metrics=[metrics.AUC(), metrics.Precision(), metrics.Recall(), "mape", metrics.RootMeanSquaredError()],
    )
    history = model.fit(x, y, epochs=2, verbose=0, validation_split=0.25)
    for key in ("auc", "precision", "recall", "mape", "root_mean_squared_error", "val_auc", "val_recall"):
        assert key in history.history and len(history.history[key]) == 2
    evaluated = model.evaluate(x, y, verbose=0, return_dict=True)
    reference = metrics.AUC()
    reference.update_state(y, model.predict(x, verbose=0))
    assert evaluated["auc"] == pytest.approx(float(reference.result()), abs=1e-6)


class CategoricalTruePositives(metrics.Metric):
    """The keras.io guide's custom metric (Keras 3 style: add_variable, reset_state)."""

    def __init__(self, name="categorical_true_positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.true_positives = self.add_variable(shape=(), name="ctp", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = tf.reshape(tf.argmax(y_pred, axis=1), (-1, 1))
        values = tf.cast(tf.cast(y_true, "int32") == tf.cast(y_pred, "int32"), "float32")
        if sample_weight is not None:
            values = values * tf.cast(tf.reshape(sample_weight, (-1, 1)), "float32")
        self.true_positives.assign_add(tf.reduce_sum(values))

    def result(self):
        return self.true_positives

    def reset_state(self):
        self.true_positives.assign(0.0)


class BinaryTruePositives(metrics.Metric):
    """A tf.keras 2 style custom metric: add_weight, and the older reset_states."""

    def __init__(self, name="binary_true_positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.true_positives = self.add_weight(name="tp", initializer="zeros")
        self.resets = 0

    def update_state(self, y_true, y_pred, sample_weight=None):
        hits = np.logical_and(np.asarray(y_true) > 0.5, np.asarray(y_pred) > 0.5)
        self.true_positives.assign_add(np.float32(hits.sum()))

    def result(self):
        return self.true_positives

    def reset_states(self):
        self.resets += 1
        self.true_positives.assign(0.0)


class CountingMetric(metrics.Metric):
    """No reset of its own: the base class zeroes its variables."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.total = self.add_variable(shape=(2,), initializer="ones", name="total")

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.total.assign_add(np.ones(2, np.float32))

    def result(self):
        return tf.reduce_sum(self.total)


def test_custom_metrics_of_both_generations():
    keras3_style = CategoricalTruePositives()
    keras3_style.update_state(np.array([[0], [1], [2]]), np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.5, 0.4, 0.1]]))
    assert float(keras3_style.result()) == 2.0
    keras3_style.reset_states()  # the old name reaches the Keras 3 override
    assert float(keras3_style.result()) == 0.0

    old_style = BinaryTruePositives()
    old_style.update_state([1, 1, 0], [0.9, 0.2, 0.8])
    assert float(old_style.result()) == 1.0
    old_style.reset_state()  # what fit calls: reaches the tf.keras 2 override
    assert float(old_style.result()) == 0.0 and old_style.resets == 1

    counting = CountingMetric()
    assert counting.name == "counting_metric" and float(counting.result()) == 2.0
    counting.update_state(None, None)
    counting.reset_state()
    assert float(counting.result()) == 0.0 and len(counting.variables) == 1


def test_custom_metrics_in_fit_are_reset_each_epoch():
    x = rng.random((40, 3)).astype(np.float32)
    y = rng.integers(0, 3, size=(40, 1))
    model = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(3, activation="softmax")])
    old_style = BinaryTruePositives()
    model.compile(
        optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=[CategoricalTruePositives(), old_style]
    )
    history = model.fit(x, y, epochs=3, batch_size=40, verbose=0)
    predictions = model.predict(x, verbose=0)
    assert all(0 <= v <= 40 for v in history.history["categorical_true_positives"])
    assert old_style.resets >= 3
    evaluated = model.evaluate(x, y, verbose=0, return_dict=True)
    assert evaluated["categorical_true_positives"] == float(np.sum(np.argmax(predictions, axis=1) == y[:, 0]))


@pytest.mark.parametrize(
    "name,kwargs,labels",
    [
        ("BinaryCrossentropy", {"from_logits": True}, "binary"),
        ("BinaryCrossentropy", {"label_smoothing": 0.1}, "binary"),
        ("CategoricalCrossentropy", {"from_logits": True}, "one_hot"),
        ("SparseCategoricalCrossentropy", {"from_logits": True}, "sparse"),
    ],
)
def test_cross_entropy_metrics_match_keras(name, kwargs, labels):
    logits = rng.standard_normal((30, 3)).astype(np.float32)
    classes = rng.integers(0, 3, size=30)
    y_true = {
        "binary": (rng.random((30, 3)) > 0.5).astype(np.float32),
        "one_hot": np.eye(3, dtype=np.float32)[classes],
        "sparse": classes,
    }[labels]
    y_pred = logits if kwargs.get("from_logits") else 1 / (1 + np.exp(-logits))
    ours, theirs = getattr(metrics, name)(**kwargs), getattr(keras3.metrics, name)(**kwargs)
    ours.update_state(y_true, y_pred, sample_weight=WEIGHTS[:30])
    theirs.update_state(y_true, y_pred, sample_weight=WEIGHTS[:30])
    assert float(ours.result()) == pytest.approx(float(keras_numpy(theirs.result())), rel=1e-6)
    assert ours.name == theirs.name.rstrip("_0123456789")
