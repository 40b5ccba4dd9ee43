"""Optimizers: update rules against hand-written Keras formulas and against PyTorch,
state save/restore, configs, learning-rate handling and bad input."""

import json
import math
import warnings

import numpy as np
import pytest
import torch

import cnnlab as tf
from cnnlab.keras import optimizers
from cnnlab.keras.optimizers import schedules

SHAPES = [(3, 4), (5,)]
STEPS = 6


def _problem(seed=0, steps=STEPS):
    """Initial values and a gradient sequence (float64) for two variables."""
    rng = np.random.default_rng(seed)
    initial = [rng.standard_normal(shape) for shape in SHAPES]
    grads = [[rng.standard_normal(shape) for shape in SHAPES] for _ in range(steps)]
    return initial, grads


def _run_cnnlab(optimizer, initial, grads):
    variables = [tf.Variable(value.astype(np.float32)) for value in initial]
    for step_grads in grads:
        optimizer.apply_gradients(zip([g.astype(np.float32) for g in step_grads], variables))
    return [v.numpy() for v in variables]


# ---- hand computations: Keras's formulas, written out plainly in float64 ------------------


def _keras_sgd(initial, grads, lr, momentum=0.0, nesterov=False):
    params = [p.copy() for p in initial]
    velocity = [np.zeros_like(p) for p in params]
    for step_grads in grads:
        for i, g in enumerate(step_grads):
            if momentum == 0:
                params[i] = params[i] - lr * g
                continue
            velocity[i] = momentum * velocity[i] - lr * g
            params[i] = params[i] + (momentum * velocity[i] - lr * g if nesterov else velocity[i])
    return params


def _keras_adam(initial, grads, lr=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False):
    params = [p.copy() for p in initial]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    v_hat = [np.zeros_like(p) for p in params]
    for t, step_grads in enumerate(grads, start=1):
        alpha = lr * math.sqrt(1 - beta_2**t) / (1 - beta_1**t)
        for i, g in enumerate(step_grads):
            m[i] = m[i] + (g - m[i]) * (1 - beta_1)
            v[i] = v[i] + (g * g - v[i]) * (1 - beta_2)
            v_hat[i] = np.maximum(v_hat[i], v[i])
            second = v_hat[i] if amsgrad else v[i]
            params[i] = params[i] - alpha * m[i] / (np.sqrt(second) + epsilon)
    return params


def _keras_rmsprop(initial, grads, lr=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False):
    params = [p.copy() for p in initial]
    velocity = [np.zeros_like(p) for p in params]
    buffer = [np.zeros_like(p) for p in params]
    average = [np.zeros_like(p) for p in params]
    for step_grads in grads:
        for i, g in enumerate(step_grads):
            velocity[i] = rho * velocity[i] + (1 - rho) * g * g
            if centered:
                average[i] = rho * average[i] + (1 - rho) * g
                denominator = velocity[i] - average[i] ** 2 + epsilon
            else:
                denominator = velocity[i] + epsilon
            increment = lr * g / np.sqrt(denominator)
            if momentum > 0:
                buffer[i] = momentum * buffer[i] + increment
                params[i] = params[i] - buffer[i]
            else:
                params[i] = params[i] - increment
    return params


def _keras_adagrad(initial, grads, lr=0.001, initial_accumulator_value=0.1, epsilon=1e-7):
    params = [p.copy() for p in initial]
    accumulator = [np.full_like(p, initial_accumulator_value) for p in params]
    for step_grads in grads:
        for i, g in enumerate(step_grads):
            accumulator[i] = accumulator[i] + g * g
            params[i] = params[i] - lr * g / np.sqrt(accumulator[i] + epsilon)
    return params


HAND_CASES = [
    ("sgd", lambda: optimizers.SGD(learning_rate=0.1), lambda i, g: _keras_sgd(i, g, 0.1)),
    ("sgd-momentum", lambda: optimizers.SGD(0.05, momentum=0.9), lambda i, g: _keras_sgd(i, g, 0.05, 0.9)),
    (
        "sgd-nesterov",
        lambda: optimizers.SGD(0.05, momentum=0.8, nesterov=True),
        lambda i, g: _keras_sgd(i, g, 0.05, 0.8, True),
    ),
    ("adam", lambda: optimizers.Adam(learning_rate=0.01), lambda i, g: _keras_adam(i, g, lr=0.01)),
    (
        "adam-amsgrad-big-eps",
        lambda: optimizers.Adam(0.02, beta_1=0.8, beta_2=0.9, epsilon=0.1, amsgrad=True),
        lambda i, g: _keras_adam(i, g, 0.02, 0.8, 0.9, 0.1, amsgrad=True),
    ),
    ("rmsprop", lambda: optimizers.RMSprop(learning_rate=0.01), lambda i, g: _keras_rmsprop(i, g, lr=0.01)),
    (
        "rmsprop-momentum-centered",
        lambda: optimizers.RMSprop(0.01, rho=0.8, momentum=0.5, epsilon=0.01, centered=True),
        lambda i, g: _keras_rmsprop(i, g, 0.01, 0.8, 0.5, 0.01, centered=True),
    ),
    ("adagrad", lambda: optimizers.Adagrad(learning_rate=0.1), lambda i, g: _keras_adagrad(i, g, lr=0.1)),
    (
        "adagrad-custom",
        lambda: optimizers.Adagrad(0.5, initial_accumulator_value=0.0, epsilon=0.3),
        lambda i, g: _keras_adagrad(i, g, 0.5, 0.0, 0.3),
    ),
]


@pytest.mark.parametrize("make_optimizer, keras_formula", [c[1:] for c in HAND_CASES], ids=[c[0] for c in HAND_CASES])
def test_update_rule_matches_hand_computation(make_optimizer, keras_formula):
    initial, grads = _problem()
    optimizer = make_optimizer()
    got = _run_cnnlab(optimizer, initial, grads)
    expected = keras_formula(initial, grads)
    for g, e, start in zip(got, expected, initial):
        assert g.dtype == np.float32
        assert not np.allclose(e, start)  # the test would notice a no-op
        np.testing.assert_allclose(g, e, rtol=2e-5, atol=2e-6)
    assert int(optimizer.iterations) == STEPS


# ---- PyTorch, where the rules agree -------------------------------------------------------


def _run_torch(make_torch_optimizer, initial, grads):
    params = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in initial]
    optimizer = make_torch_optimizer(params)
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = torch.tensor(g, dtype=torch.float64)
        optimizer.step()
    return [p.detach().numpy() for p in params]


TORCH_CASES = [
    # Keras keeps velocity = -lr * (torch's buffer); the same steps for a constant learning rate.
    ("sgd-momentum", lambda: optimizers.SGD(0.05, momentum=0.9), lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9)),
    (
        "sgd-nesterov",
        lambda: optimizers.SGD(0.05, momentum=0.7, nesterov=True),
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.7, nesterov=True),
    ),
    # Epsilon enters differently (Keras: uncorrected sqrt(v) + eps), so compare with eps = 0.
    ("adam", lambda: optimizers.Adam(0.01, epsilon=0.0), lambda p: torch.optim.Adam(p, lr=0.01, eps=0.0)),
    (
        "adam-amsgrad",
        lambda: optimizers.Adam(0.01, beta_1=0.8, beta_2=0.95, epsilon=0.0, amsgrad=True),
        lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.95), eps=0.0, amsgrad=True),
    ),
    (
        "rmsprop",
        lambda: optimizers.RMSprop(0.01, rho=0.9, epsilon=0.0),
        lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=0.0),
    ),
    (
        "rmsprop-momentum-centered",
        lambda: optimizers.RMSprop(0.01, rho=0.85, momentum=0.6, epsilon=0.0, centered=True),
        lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.85, momentum=0.6, eps=0.0, centered=True),
    ),
    (
        "adagrad",
        lambda: optimizers.Adagrad(0.1, initial_accumulator_value=0.1, epsilon=0.0),
        lambda p: torch.optim.Adagrad(p, lr=0.1, initial_accumulator_value=0.1, eps=0.0),
    ),
]


@pytest.mark.parametrize("make_optimizer, make_torch", [c[1:] for c in TORCH_CASES], ids=[c[0] for c in TORCH_CASES])
def test_update_rule_matches_pytorch(make_optimizer, make_torch):
    initial, grads = _problem(seed=1)
    got = _run_cnnlab(make_optimizer(), initial, grads)
    expected = _run_torch(make_torch, initial, grads)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=2e-5, atol=2e-6)


def test_adam_epsilon_is_added_before_bias_correction():
    # One step from v = 0 with a tiny gradient: Keras divides by sqrt(v1) + eps with
    # v1 = (1 - beta_2) g^2, PyTorch by sqrt(v1 / (1 - beta_2)) + eps; the first is
    # visibly smaller here, so the test tells the two forms apart.
    g = 1e-6
    w = tf.Variable([0.0])
    optimizers.Adam(learning_rate=1.0, epsilon=1e-7).apply_gradients([(tf.constant([g]), w)])
    alpha = math.sqrt(1 - 0.999) / (1 - 0.9)
    keras_step = alpha * 0.1 * g / (math.sqrt(0.001) * g + 1e-7)
    torch_step = g / (g + 1e-7)
    np.testing.assert_allclose(-w.numpy()[0], keras_step, rtol=1e-5)
    assert abs(keras_step - torch_step) > 0.2


# ---- learning rate and schedules ----------------------------------------------------------


def test_schedules_values():
    exponential = schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    np.testing.assert_allclose(
        [float(exponential(s)) for s in (0, 5, 10, 30)], [0.1, 0.1 * 0.5**0.5, 0.05, 0.0125], rtol=1e-6
    )
    stairs = schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5, staircase=True)
    np.testing.assert_allclose([float(stairs(s)) for s in (0, 9, 10, 25)], [0.1, 0.1, 0.05, 0.025], rtol=1e-6)
    inverse = schedules.InverseTimeDecay(1.0, decay_steps=2, decay_rate=0.5)
    np.testing.assert_allclose([float(inverse(s)) for s in (0, 2, 3)], [1.0, 1 / 1.5, 1 / 1.75], rtol=1e-6)
    inverse_stairs = schedules.InverseTimeDecay(1.0, decay_steps=2, decay_rate=0.5, staircase=True)
    np.testing.assert_allclose(float(inverse_stairs(3)), 1 / 1.5, rtol=1e-6)
    piecewise = schedules.PiecewiseConstantDecay([100, 200], [1.0, 0.5, 0.1])
    np.testing.assert_allclose(
        [float(piecewise(s)) for s in (0, 100, 101, 200, 201)], [1.0, 1.0, 0.5, 0.5, 0.1], rtol=1e-6
    )
    assert exponential(tf.Variable(np.int64(10), trainable=False)).dtype == np.float32


def test_optimizer_follows_schedule_from_step_zero():
    schedule = schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    w = tf.Variable([0.0])
    opt = optimizers.SGD(learning_rate=schedule)
    for _ in range(3):
        opt.apply_gradients([(tf.constant([1.0]), w)])
    np.testing.assert_allclose(w.numpy(), [-(0.1 + 0.05 + 0.025)], rtol=1e-6)
    np.testing.assert_allclose(float(opt.learning_rate), 0.0125, rtol=1e-6)
    with pytest.raises(TypeError, match="not settable"):
        opt.learning_rate = 0.3


def test_learning_rate_is_settable_and_callable():
    w = tf.Variable([0.0])
    opt = optimizers.SGD(learning_rate=0.1)
    opt.learning_rate = 0.5
    assert isinstance(opt.learning_rate, tf.Variable)
    opt.apply_gradients([(tf.constant([1.0]), w)])
    np.testing.assert_allclose(w.numpy(), [-0.5])
    opt.learning_rate = lambda: 0.25
    opt.apply_gradients([(tf.constant([1.0]), w)])
    np.testing.assert_allclose(w.numpy(), [-0.75])


def test_schedule_serialization_and_errors():
    schedule = schedules.PiecewiseConstantDecay([10], [0.1, 0.01])
    again = schedules.deserialize(json.loads(json.dumps(schedules.serialize(schedule))))
    assert isinstance(again, schedules.PiecewiseConstantDecay) and float(again(11)) == pytest.approx(0.01)
    with pytest.raises(ValueError, match="decay_steps=0"):
        schedules.ExponentialDecay(0.1, decay_steps=0, decay_rate=0.9)
    with pytest.raises(ValueError, match="1 less than"):
        schedules.PiecewiseConstantDecay([10, 20], [0.1])
    with pytest.raises(ValueError, match="strictly increasing"):
        schedules.PiecewiseConstantDecay([20, 10], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="unknown learning rate schedule"):
        schedules.deserialize({"class_name": "Nope", "config": {}})


# ---- gradient handling ----------------------------------------------------------------------


def test_none_gradients_are_skipped_with_a_warning():
    a, b = tf.Variable([1.0], name="a"), tf.Variable([1.0], name="b")
    opt = optimizers.SGD(0.1)
    with pytest.warns(UserWarning, match=r"\['b'\]"):
        result = opt.apply_gradients([(tf.constant([1.0]), a), (None, b)])
    assert result is opt.iterations and int(result) == 1
    np.testing.assert_allclose(a.numpy(), [0.9])
    np.testing.assert_allclose(b.numpy(), [1.0])
    with pytest.raises(ValueError, match="no gradients provided for any variable"):
        opt.apply_gradients([(None, a), (None, b)])


def test_gradient_shape_and_type_are_checked():
    w = tf.Variable(np.zeros((3, 4), np.float32), name="kernel")
    opt = optimizers.Adam()
    with pytest.raises(ValueError, match=r"'kernel' has shape \(4, 3\), but the variable has shape \(3, 4\)"):
        opt.apply_gradients([(np.zeros((4, 3), np.float32), w)])
    with pytest.raises(TypeError, match="can only update Variables"):
        opt.apply_gradients([(tf.constant(1.0), tf.constant(2.0))])
    with pytest.raises(TypeError, match="pairs"):
        opt.apply_gradients([w])
    assert int(opt.iterations) == 0


def test_updates_are_in_place_and_not_recorded():
    w = tf.Variable(np.ones((2, 2), np.float32))
    memory = w._value
    opt = optimizers.Adam(0.1)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(w)
        opt.apply_gradients([(tf.constant(np.ones((2, 2), np.float32)), w)])
    assert w._value is memory
    assert tape._ops == []  # nothing the optimizer did is on the tape
    assert not np.allclose(w.numpy(), 1.0)


@pytest.mark.parametrize(
    "make_optimizer",
    [lambda: optimizers.Adam(0.01), lambda: optimizers.Adam(0.01, amsgrad=True), lambda: optimizers.AdamW(0.01)],
)
def test_small_variables_updated_together_get_the_values_of_updates_one_by_one(make_optimizer):
    """Adam updates its small variables as one flat array: bit for bit what one update per variable
    gives, its slots too, with a big variable among them, mixed dtypes, and a variable given twice."""
    rng = np.random.default_rng(7)
    shapes = [(3, 3, 1, 10), (10,), (1960, 100), (100,), (100, 10), (10,)]
    initial = [rng.standard_normal(shape).astype(np.float32) for shape in shapes]
    grads = [[rng.standard_normal(shape).astype(np.float32) for shape in shapes] for _ in range(4)]
    results = []
    for together in (True, False):
        optimizer = make_optimizer()
        optimizer._element_wise_update = together
        variables = [tf.Variable(value) for value in initial]
        extra = [tf.Variable(np.ones(3)), tf.Variable(np.ones((2, 2)))]  # float64: a group of their own
        for step, step_grads in enumerate(grads):
            optimizer.apply_gradients([*zip(step_grads, variables), *((np.full(v.shape, 0.5), v) for v in extra)])
            if step == 1:  # a slot given a new array (not assigned in place) is still the state updated
                slot = optimizer._slots[0][optimizer._slot_names[0]]
                slot._value = slot._value.copy()
        twice = tf.Variable(np.ones(4, np.float32))
        optimizer.apply_gradients([(np.full(4, 0.5, np.float32), twice), (np.full(4, -2.0, np.float32), twice)])
        results.append([v.numpy() for v in [*variables, *extra, twice]] + [v.numpy() for v in optimizer.variables])
    assert len(results[0]) == len(results[1])
    for grouped, one_by_one in zip(*results):
        np.testing.assert_array_equal(grouped, one_by_one)
        assert grouped.dtype == one_by_one.dtype


def test_float64_variables_keep_their_dtype():
    w = tf.Variable(np.array([1.0, 2.0]))  # float64
    optimizers.RMSprop(0.1, momentum=0.5).apply_gradients([(np.array([0.5, -0.5]), w)])
    assert w.dtype == np.float64
    expected = _keras_rmsprop([np.array([1.0, 2.0])], [[np.array([0.5, -0.5])]], lr=0.1, momentum=0.5)[0]
    # The learning rate is held in float32 (as Keras holds it), hence 1e-7 and not 1e-15.
    np.testing.assert_allclose(w.numpy(), expected, rtol=1e-7)


def test_minimize_with_callable_and_with_tape():
    w = tf.Variable([3.0, -2.0])
    opt = optimizers.SGD(0.25)
    opt.minimize(lambda: tf.reduce_sum(w * w), [w])  # gradient 2w
    np.testing.assert_allclose(w.numpy(), [1.5, -1.0])
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(w * w)
    opt.minimize(loss, lambda: [w], tape=tape)
    np.testing.assert_allclose(w.numpy(), [0.75, -0.5])
    with pytest.raises(ValueError, match="`tape` is required"):
        opt.minimize(tf.constant(1.0), [w])


def test_clipping_and_weight_decay():
    grads = [np.array([3.0, 4.0], np.float32), np.array([0.0, 12.0], np.float32)]  # norms 5 and 12

    def step(**kwargs):
        variables = [tf.Variable([1.0, 1.0]), tf.Variable([1.0, 1.0])]
        optimizers.SGD(1.0, **kwargs).apply_gradients(zip(grads, variables))
        return [1.0 - v.numpy() for v in variables]  # the applied steps

    np.testing.assert_allclose(step(clipnorm=6.0), [[3.0, 4.0], [0.0, 6.0]], rtol=1e-6)
    np.testing.assert_allclose(step(global_clipnorm=6.5), [[1.5, 2.0], [0.0, 6.0]], rtol=1e-6)
    np.testing.assert_allclose(step(clipvalue=3.5), [[3.0, 3.5], [0.0, 3.5]], rtol=1e-6)
    w = tf.Variable([2.0])
    optimizers.SGD(0.1, weight_decay=0.5).apply_gradients([(np.array([1.0], np.float32), w)])
    np.testing.assert_allclose(w.numpy(), [2.0 - 2.0 * 0.5 * 0.1 - 0.1], rtol=1e-6)
    with pytest.raises(ValueError, match="Only one of"):
        optimizers.SGD(clipnorm=1.0, clipvalue=1.0)


# ---- state and config -------------------------------------------------------------------------


def test_state_round_trip_continues_identically():
    initial, grads = _problem(seed=2, steps=4)
    trained = [tf.Variable(v.astype(np.float32)) for v in initial]
    opt = optimizers.Adam(0.01, amsgrad=True)
    for step_grads in grads[:3]:
        opt.apply_gradients(zip([g.astype(np.float32) for g in step_grads], trained))
    state = opt.get_state()
    assert list(state)[:2] == ["iterations", "learning_rate"]
    assert set(state) == {"iterations", "learning_rate"} | {
        f"{i}/{s}" for i in (0, 1) for s in ("momentum", "velocity", "velocity_hat")
    }

    copies = [tf.Variable(v.numpy()) for v in trained]
    restored = optimizers.Adam(0.01, amsgrad=True)
    with pytest.raises(ValueError, match="call optimizer.build"):
        restored.set_state(state)
    restored.build(copies)
    restored.set_state(state)
    assert int(restored.iterations) == 3
    last = [g.astype(np.float32) for g in grads[3]]
    opt.apply_gradients(zip(last, trained))
    restored.apply_gradients(zip(last, copies))
    for a, b in zip(trained, copies):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_set_state_checks_before_writing():
    w = tf.Variable(np.zeros(3, np.float32))
    opt = optimizers.SGD(0.1, momentum=0.9)
    opt.build([w])
    state = opt.get_state()
    bad_shape = {**state, "0/momentum": np.zeros(4, np.float32), "iterations": np.int64(7)}
    with pytest.raises(ValueError, match=r"'0/momentum' has shape \(4,\); expected \(3,\)"):
        opt.set_state(bad_shape)
    assert int(opt.iterations) == 0  # nothing was written
    with pytest.raises(ValueError, match=r"Missing keys: \['0/momentum'\]"):
        opt.set_state({"iterations": 1, "learning_rate": 0.1})


def test_variables_order_is_deterministic_and_callable():
    a, b = tf.Variable([1.0], name="a"), tf.Variable([1.0, 2.0], name="b")
    opt = optimizers.RMSprop(momentum=0.5)
    opt.apply_gradients([(np.ones(2, np.float32), b), (np.ones(1, np.float32), a)])
    names = [v.name for v in opt.variables]
    assert names == ["iteration", "learning_rate", "b_velocity", "a_velocity", "b_momentum", "a_momentum"]
    assert [v.name for v in opt.variables()] == names


@pytest.mark.parametrize(
    "identifier, cls",
    [
        ("adam", optimizers.Adam),
        ("SGD", optimizers.SGD),
        ("RMSprop", optimizers.RMSprop),
        ("adagrad", optimizers.Adagrad),
    ],
)
def test_get_by_name(identifier, cls):
    opt = optimizers.get(identifier)
    assert type(opt) is cls
    assert optimizers.get(opt) is opt


def test_config_round_trip():
    opt = optimizers.SGD(learning_rate=0.02, momentum=0.9, nesterov=True, clipnorm=1.0)
    config = json.loads(json.dumps(optimizers.serialize(opt)))
    again = optimizers.deserialize(config)
    assert type(again) is optimizers.SGD
    assert again.get_config() == opt.get_config()
    assert again.get_config()["learning_rate"] == pytest.approx(0.02)
    scheduled = optimizers.Adam(learning_rate=schedules.ExponentialDecay(0.1, 100, 0.9), beta_1=0.8)
    again = optimizers.get(json.loads(json.dumps(optimizers.serialize(scheduled))))
    assert isinstance(again._learning_rate, schedules.ExponentialDecay)
    assert again.beta_1 == 0.8
    assert tf.optimizers.Adam is optimizers.Adam


def test_bad_hyperparameters_are_reported():
    with pytest.raises(ValueError, match=r"Received: momentum=1.5"):
        optimizers.SGD(momentum=1.5)
    with pytest.raises(ValueError, match=r"Received: learning_rate='fast'"):
        optimizers.Adam(learning_rate="fast")
    with pytest.raises(ValueError, match=r"Received: beta_1=1.0"):
        optimizers.Adam(beta_1=1.0)
    with pytest.raises(ValueError, match=r"Received: initial_accumulator_value=-1"):
        optimizers.Adagrad(initial_accumulator_value=-1)
    with pytest.raises(ValueError, match="not recognized"):
        optimizers.SGD(lr_decay=0.1)
    with pytest.raises(ValueError, match="Could not interpret optimizer identifier: 'lion'"):
        optimizers.get("lion")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(UserWarning, match="decay"):
            optimizers.SGD(decay=0.1)
