"""Overridden steps (both generations of Keras's guide code), functional subclasses, models of several
inputs and outputs compiled with a loss per output, and fit's arguments: each against the same
computation written by hand with a GradientTape, or against Keras 3 itself."""

import math
import os
import warnings

os.environ["KERAS_BACKEND"] = "torch"  # before keras is imported: no TensorFlow needed

import keras as keras3  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import cnnlab as tf  # noqa: E402
from cnnlab import keras  # noqa: E402

layers = keras.layers
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)
rng = np.random.default_rng(7)
X = rng.normal(size=(48, 5)).astype(np.float32)
Y = (X @ rng.normal(size=(5, 2)) + 0.1).astype(np.float32)


def mlp(seed=0, model_class=None):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((5,))
    outputs = layers.Dense(2)(layers.Dense(8, activation="tanh")(inputs))
    return (model_class or keras.Model)(inputs, outputs)


def by_hand(model, steps, batch=16, learning_rate=0.05, extra_loss=None):
    """The training a fit of ``steps`` batches does, written with a GradientTape."""
    optimizer = keras.optimizers.SGD(learning_rate)
    for step in range(steps):
        x, y = X[step * batch : (step + 1) * batch], Y[step * batch : (step + 1) * batch]
        with tf.GradientTape() as tape:
            prediction = model(x, training=True)
            loss = tf.reduce_mean(tf.square(y - prediction))
            if extra_loss is not None:
                loss = loss + extra_loss(model)
        grads = tape.gradient(loss, model.trainable_weights)
        optimizer.apply_gradients(zip(grads, model.trainable_weights))
    return [w.numpy() for w in model.weights]


def assert_same_weights(model, expected):
    for got, want in zip(model.get_weights(), expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


class Keras3Step(keras.Model):
    """'Customizing what happens in fit' (Keras 3): compute_loss, optimizer.apply, the metrics loop."""

    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred)
        trainable_vars = self.trainable_variables
        gradients = tape.gradient(loss, trainable_vars)
        self.optimizer.apply(gradients, trainable_vars)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


class Keras2Step(keras.Model):
    """The same guide as tf.keras 2 wrote it: compiled_loss, compiled_metrics, apply_gradients."""

    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compiled_loss(y, y_pred, regularization_losses=self.losses)
        trainable_vars = self.trainable_variables
        gradients = tape.gradient(loss, trainable_vars)
        self.optimizer.apply_gradients(zip(gradients, trainable_vars))
        self.compiled_metrics.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


@pytest.mark.parametrize("model_class", [None, Keras3Step, Keras2Step], ids=["default", "keras3", "keras2"])
def test_a_train_step_of_either_generation_trains_as_a_gradient_tape_loop(model_class):
    expected = by_hand(mlp(), steps=3)
    model = mlp(model_class=model_class)
    assert model_class is None or type(model) is model_class  # a functional subclass: CustomModel(inputs, outputs)
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse", metrics=["mae"])
    history = model.fit(X, Y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    assert_same_weights(model, expected)
    assert sorted(history.history) == ["loss", "mae"]
    evaluated = model.evaluate(X, Y, verbose=0, return_dict=True)
    assert evaluated["loss"] == pytest.approx(float(np.mean((model.predict(X, verbose=0) - Y) ** 2)), rel=1e-5)


def test_an_add_loss_and_a_user_layer_train_as_a_gradient_tape_loop():
    class Penalty(layers.Layer):
        def call(self, inputs):
            self.add_loss(0.1 * tf.reduce_mean(tf.square(inputs)))
            return inputs

    def build():
        keras.utils.set_random_seed(0)
        inputs = keras.Input((5,))
        hidden = Penalty()(layers.Dense(8, activation="tanh")(inputs))
        return keras.Model(inputs, layers.Dense(2)(hidden))

    model = build()
    optimizer = keras.optimizers.SGD(0.05)
    for step in range(3):
        x, y = X[step * 16 : (step + 1) * 16], Y[step * 16 : (step + 1) * 16]
        with tf.GradientTape() as tape:
            hidden = tf.tanh(tf.matmul(x, model.layers[1].kernel) + model.layers[1].bias)
            prediction = tf.matmul(hidden, model.layers[3].kernel) + model.layers[3].bias
            loss = tf.reduce_mean(tf.square(y - prediction)) + 0.1 * tf.reduce_mean(tf.square(hidden))
        grads = tape.gradient(loss, model.trainable_weights)
        optimizer.apply_gradients(zip(grads, model.trainable_weights))
    expected = model.get_weights()
    model = build()
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    model.fit(X, Y, batch_size=16, shuffle=False, verbose=0)
    assert_same_weights(model, expected)


def test_a_user_layer_with_weights_of_its_own_trains_as_a_gradient_tape_loop():
    class Scale(layers.Layer):
        """y = x * w + b per feature, its weights held as tf.Variable attributes made in build."""

        def build(self, input_shape):
            self.w = tf.Variable(tf.random.normal((input_shape[-1],), mean=1.0, stddev=0.3), name="w")
            self.b = tf.Variable(tf.zeros((input_shape[-1],)), name="b")

        def call(self, inputs):
            return inputs * self.w + self.b

    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((5,)), Scale(), layers.Dense(2)])
    assert [w.name for w in model.trainable_weights] == ["w", "b", "kernel", "bias"]
    w, b, kernel, bias = (tf.Variable(value) for value in model.get_weights())  # the same start, by hand
    optimizer = keras.optimizers.SGD(0.05)
    for step in range(3):
        x, y = X[step * 16 : (step + 1) * 16], Y[step * 16 : (step + 1) * 16]
        with tf.GradientTape() as tape:
            prediction = tf.matmul(x * w + b, kernel) + bias
            loss = tf.reduce_mean(tf.square(y - prediction))
        grads = tape.gradient(loss, [w, b, kernel, bias])
        optimizer.apply_gradients(zip(grads, [w, b, kernel, bias]))
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    model.fit(X, Y, batch_size=16, shuffle=False, verbose=0)
    assert_same_weights(model, [v.numpy() for v in (w, b, kernel, bias)])


def test_a_custom_test_step_and_a_metrics_property():
    class Tracked(keras.Model):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.loss_tracker = keras.metrics.Mean(name="loss")
            self.mae_metric = keras.metrics.MeanAbsoluteError(name="mae")

        def train_step(self, data):
            x, y = data
            with tf.GradientTape() as tape:
                y_pred = self(x, training=True)
                loss = keras.losses.mean_squared_error(y, y_pred)
            self.optimizer.apply(tape.gradient(loss, self.trainable_variables), self.trainable_variables)
            self.loss_tracker.update_state(loss)
            self.mae_metric.update_state(y, y_pred)
            return {"loss": self.loss_tracker.result(), "mae": self.mae_metric.result()}

        def test_step(self, data):
            x, y = data
            y_pred = self(x, training=False)
            self.loss_tracker.update_state(keras.losses.mean_squared_error(y, y_pred))
            self.mae_metric.update_state(y, y_pred)
            return {m.name: m.result() for m in self.metrics}

        @property
        def metrics(self):
            return [self.loss_tracker, self.mae_metric]

    keras.utils.set_random_seed(1)
    inputs = keras.Input((5,))
    model = Tracked(inputs, layers.Dense(2)(inputs))
    model.compile(optimizer="adam")  # no loss: the steps compute their own
    history = model.fit(X, Y, batch_size=16, epochs=3, verbose=0)
    assert sorted(history.history) == ["loss", "mae"] and history.history["loss"][2] < history.history["loss"][0]
    loss, mae = model.evaluate(X, Y, verbose=0)
    prediction = model.predict(X, verbose=0)
    assert mae == pytest.approx(float(np.mean(np.abs(prediction - Y))), rel=1e-5)
    assert loss == pytest.approx(float(np.mean((prediction - Y) ** 2)), rel=1e-5)


def test_compute_loss_takes_keywords_and_sample_weights():
    model = mlp()
    model.compile(optimizer="sgd", loss="mse")
    prediction = model(X)
    weights = np.linspace(0, 1, len(X)).astype(np.float32)
    loss = model.compute_loss(x=X, y=Y, y_pred=prediction, sample_weight=weights)
    per_sample = np.mean((Y - prediction.numpy()) ** 2, axis=1)
    assert float(loss) == pytest.approx(float(np.sum(per_sample * weights) / len(X)), rel=1e-5)


# ---- several inputs and outputs, one loss per output ----------------------------------------------------------


def two_heads(library):
    a, b = library.Input((5,), name="a"), library.Input((3,), name="b")
    joined = library.layers.Concatenate()([library.layers.Dense(4, activation="relu", name="hidden")(a), b])
    priority = library.layers.Dense(1, name="priority")(joined)
    department = library.layers.Dense(3, activation="softmax", name="department")(joined)
    return library.Model({"a": a, "b": b}, {"priority": priority, "department": department})


def test_a_model_of_two_inputs_and_two_outputs_trains_as_keras_3_does():
    ours, theirs = two_heads(keras), two_heads(keras3)
    keras.utils.set_random_seed(2)
    ours.set_weights([rng.normal(size=w.shape).astype(np.float32) * 0.5 for w in ours.weights])
    theirs.set_weights(ours.get_weights())
    settings = dict(
        loss={"priority": "mse", "department": "sparse_categorical_crossentropy"},
        loss_weights={"priority": 1.0, "department": 0.2},
        metrics={"department": ["accuracy"], "priority": ["mae"]},
    )
    ours.compile(optimizer=keras.optimizers.SGD(0.1), **settings)
    theirs.compile(optimizer=keras3.optimizers.SGD(0.1), **settings)
    x = {"a": rng.normal(size=(40, 5)).astype(np.float32), "b": rng.normal(size=(40, 3)).astype(np.float32)}
    y = {"priority": rng.normal(size=(40, 1)).astype(np.float32), "department": rng.integers(0, 3, 40)}
    our_history = ours.fit(x, y, batch_size=10, epochs=2, shuffle=False, verbose=0, validation_split=0.25)
    their_history = theirs.fit(x, y, batch_size=10, epochs=2, shuffle=False, verbose=0, validation_split=0.25)
    assert sorted(our_history.history) == sorted(their_history.history)
    for key, values in their_history.history.items():
        np.testing.assert_allclose(our_history.history[key], values, rtol=1e-5, err_msg=key)
    np.testing.assert_allclose(ours.evaluate(x, y, verbose=0), theirs.evaluate(x, y, verbose=0), rtol=1e-5)
    for name, value in theirs.predict(x, verbose=0).items():
        np.testing.assert_allclose(ours.predict(x, verbose=0)[name], value, rtol=1e-5, atol=1e-6)


def test_a_list_of_losses_names_each_output_by_its_layer_as_keras_3_does():
    def build(library):
        inputs = library.Input((5,))
        first, second = library.layers.Dense(1, name="first"), library.layers.Dense(2, name="second")
        return library.Model(inputs, [first(inputs), second(inputs)])

    ours, theirs = build(keras), build(keras3)
    theirs.set_weights(ours.get_weights())
    targets = [Y[:, :1], Y]
    ours.compile(optimizer="sgd", loss=["mse", "mae"], loss_weights=[0.5, 2.0], metrics=[["mae"], ["mse"]])
    theirs.compile(optimizer="sgd", loss=["mse", "mae"], loss_weights=[0.5, 2.0], metrics=[["mae"], ["mse"]])
    ours_logs = ours.fit(X, targets, batch_size=12, shuffle=False, verbose=0).history
    theirs_logs = theirs.fit(X, targets, batch_size=12, shuffle=False, verbose=0).history
    assert sorted(ours_logs) == sorted(theirs_logs) == ["first_loss", "first_mae", "loss", "second_loss", "second_mse"]
    for key in ours_logs:
        np.testing.assert_allclose(ours_logs[key], theirs_logs[key], rtol=1e-5, err_msg=key)


def test_a_compile_that_fails_leaves_the_model_as_it_was():
    model = two_heads(keras)
    model.compile(optimizer="adam", loss={"priority": "mse", "department": "sparse_categorical_crossentropy"})
    optimizer, loss = model.optimizer, model.loss
    for bad in (
        dict(optimizer="sgd", loss={"priority": "mse", "nope": "mse"}),
        dict(optimizer="sgd", loss=["mse"]),
        dict(optimizer="not-an-optimizer", loss="mse"),
        dict(optimizer="sgd", loss="no-such-loss"),
        dict(optimizer="sgd", loss="mse", metrics=["no-such-metric"]),
    ):
        with pytest.raises((ValueError, TypeError)):
            model.compile(**bad)
        assert model.optimizer is optimizer and model.loss is loss


# ---- fit's arguments ------------------------------------------------------------------------------------------


def test_sample_weight_and_class_weight_weigh_each_samples_loss():
    labels = rng.integers(0, 2, len(X))
    weights = np.where(labels == 1, 3.0, 0.5).astype(np.float32)

    def train(**fit_arguments):
        keras.utils.set_random_seed(3)
        model = keras.Sequential([keras.Input((5,)), layers.Dense(2, activation="softmax")])
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
        history = model.fit(X, labels, batch_size=16, shuffle=False, verbose=0, **fit_arguments)
        return model, history

    weighted, history = train(sample_weight=weights)
    by_class, class_history = train(class_weight={0: 0.5, 1: 3.0})
    assert_same_weights(by_class, weighted.get_weights())
    assert class_history.history["loss"] == pytest.approx(history.history["loss"])
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((5,)), layers.Dense(2, activation="softmax")])
    optimizer = keras.optimizers.SGD(0.1)
    for step in range(3):
        part = slice(step * 16, (step + 1) * 16)
        with tf.GradientTape() as tape:
            probabilities = model(X[part])
            picked = tf.gather(probabilities, labels[part], batch_dims=1)
            loss = tf.reduce_sum(-tf.math.log(picked) * weights[part]) / 16.0
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_weights), model.trainable_weights))
    assert_same_weights(weighted, model.get_weights())
    with pytest.raises(ValueError, match="sample_weight or class_weight, not both"):
        weighted.fit(X, labels, sample_weight=weights, class_weight={0: 1.0}, verbose=0)


def test_steps_per_epoch_reads_on_and_an_infinite_dataset_needs_it():
    def steps_taken(library):
        """The batches of three epochs of 2 steps over 3 batches of arrays: Keras reads on, and warns
        when a pass ends inside an epoch."""
        seen = []

        class Counting(library.callbacks.Callback):
            def on_train_batch_begin(self, batch, logs=None):
                seen.append(batch)

        inputs = library.Input((5,))
        model = library.Model(inputs, library.layers.Dense(2)(inputs))
        model.compile(optimizer="sgd", loss="mse")
        with pytest.warns(UserWarning, match="ran out of data"):
            model.fit(X, Y, batch_size=16, epochs=3, steps_per_epoch=2, shuffle=False, verbose=0, callbacks=[Counting()])
        return seen, int(library.ops.convert_to_numpy(model.optimizer.iterations))

    assert steps_taken(keras) == steps_taken(keras3) == ([0, 1, 0, 0, 1], 5)
    model = mlp()
    model.compile(optimizer="sgd", loss="mse")
    dataset = tf.data.Dataset.from_tensor_slices((X, Y)).batch(8).repeat()
    with pytest.raises(ValueError, match="infinite dataset.*steps_per_epoch"):
        model.fit(dataset, epochs=1, verbose=0)
    history = model.fit(dataset, epochs=2, steps_per_epoch=4, verbose=0)
    assert len(history.history["loss"]) == 2 and int(model.optimizer.iterations.numpy()) == 8


def test_a_generator_a_py_dataset_validation_steps_and_validation_freq():
    class Batches(keras.utils.PyDataset):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.epochs_ended = 0

        def __len__(self):
            return math.ceil(len(X) / 16)

        def __getitem__(self, index):
            return X[index * 16 : (index + 1) * 16], Y[index * 16 : (index + 1) * 16]

        def on_epoch_end(self):
            self.epochs_ended += 1

    def forever():
        while True:
            for start in range(0, len(X), 16):
                yield X[start : start + 16], Y[start : start + 16]

    model = mlp()
    model.compile(optimizer="sgd", loss="mse")
    batches = Batches()
    history = model.fit(batches, epochs=4, verbose=0, validation_data=forever(), validation_steps=2, validation_freq=2)
    assert batches.epochs_ended == 4 and len(history.history["loss"]) == 4
    assert len(history.history["val_loss"]) == 2
    history = model.fit(forever(), steps_per_epoch=3, epochs=2, verbose=0, validation_data=(X, Y))
    assert len(history.history["val_loss"]) == 2
    finite = (batch for batch in [(X[:16], Y[:16]), (X[16:32], Y[16:32])])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(finite, steps_per_epoch=2, epochs=3, verbose=0)
    assert len(history.history["loss"]) == 1 and any("ran out of data" in str(w.message) for w in caught)
    assert model.evaluate(Batches(), verbose=0) == pytest.approx(model.evaluate(X, Y, batch_size=16, verbose=0), rel=1e-6)
    assert model.predict(Batches(), verbose=0).shape == (48, 2)


def test_initial_epoch_and_a_dataset_with_sample_weights():
    model = mlp()
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(X, Y, epochs=5, initial_epoch=3, verbose=0)
    assert history.epoch == [3, 4]
    weights = np.ones(len(X), np.float32)
    weights[:24] = 0.0
    dataset = tf.data.Dataset.from_tensor_slices((X, Y, weights)).batch(24)
    loss = model.evaluate(dataset, verbose=0)
    prediction = model.predict(X[24:], verbose=0)
    assert loss == pytest.approx(float(np.mean((prediction - Y[24:]) ** 2)) / 2, rel=1e-5)


@pytest.mark.parametrize("optimizer_name, options", [("SGD", {"momentum": 0.9, "nesterov": True}), ("AdamW", {}), ("Adam", {})])
def test_exclude_from_weight_decay_spares_the_variables_keras_spares(optimizer_name, options):
    # Four variables, one excluded by var_list and two by name (regular expressions searched in
    # the name), updated with the same gradients by cnnlab and by Keras 3.
    names = ["kernel", "bias", "gamma", "moving_beta"]
    initial = [rng.normal(size=shape).astype(np.float32) for shape in [(3, 4), (4,), (4,), (5, 2)]]
    grads = [[rng.normal(size=value.shape).astype(np.float32) for value in initial] for _ in range(3)]

    def train(module, make_variable):
        variables = [make_variable(value, name) for value, name in zip(initial, names)]
        optimizer = getattr(module.optimizers, optimizer_name)(learning_rate=0.1, weight_decay=0.05, **options)
        optimizer.exclude_from_weight_decay(var_list=[variables[0]], var_names=["bias", "^gam"])
        for step_grads in grads:
            optimizer.apply_gradients(zip([module.ops.convert_to_tensor(g) for g in step_grads], variables))
        return [np.asarray(keras3.ops.convert_to_numpy(v.value) if module is keras3 else v.numpy()) for v in variables], optimizer

    ours, optimizer = train(keras, lambda value, name: tf.Variable(value, name=name))
    theirs, _ = train(keras3, lambda value, name: keras3.Variable(value, name=name))
    # A decay applied or missed moves a value by about 1e-2 here; Adam's float32 steps of 0.1 round
    # some 1e-6 apart from Keras's (with or without weight decay).
    for name, got, expected in zip(names, ours, theirs):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5, err_msg=name)
    with pytest.raises(ValueError, match="can only be configured before the optimizer is built"):
        optimizer.exclude_from_weight_decay(var_names=["kernel"])


def test_exclude_from_weight_decay_names_bad_arguments():
    optimizer = keras.optimizers.SGD(0.1, weight_decay=0.01)
    with pytest.raises(TypeError, match=r"SGD.exclude_from_weight_decay: var_names must hold strings; received 3"):
        optimizer.exclude_from_weight_decay(var_names=["bias", 3])
    with pytest.raises(TypeError, match="var_list must hold Variables; received a ndarray"):
        optimizer.exclude_from_weight_decay(var_list=[np.zeros(2)])
    # The last call's exclusions are the ones in force, as in Keras.
    w, b = tf.Variable([1.0], name="kernel"), tf.Variable([1.0], name="bias")
    optimizer.exclude_from_weight_decay(var_names=["kernel"])
    optimizer.exclude_from_weight_decay(var_names=["bias"])
    optimizer.apply_gradients([(np.zeros(1, np.float32), w), (np.zeros(1, np.float32), b)])
    assert w.numpy()[0] == np.float32(1.0) * np.float32(1 - 0.01 * 0.1) and b.numpy()[0] == 1.0
