"""compile / fit / evaluate / predict / train_on_batch: semantics, input checks, progress output, learning."""

import re

import numpy as np
import pytest

from cnnlab import GradientTape, keras
from cnnlab.keras.layers import Conv2D, Dense, Dropout, Flatten, Input, MaxPooling2D


def bars_dataset(n, seed):
    """8x8 images of a horizontal bar, a vertical bar or a diagonal, with noise: 3 classes."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    images = rng.normal(0.0, 0.3, (n, 8, 8, 1)).astype(np.float32)
    positions = rng.integers(1, 7, n)
    for i, (label, p) in enumerate(zip(labels, positions)):
        if label == 0:
            images[i, p, :, 0] += 1.0
        elif label == 1:
            images[i, :, p, 0] += 1.0
        else:
            images[i, np.arange(8), np.arange(8), 0] += 1.0
    return images, labels


def small_cnn(dropout=0.0):
    layers = [Input(shape=(8, 8, 1)), Conv2D(4, 3, activation="relu", padding="same"), MaxPooling2D(), Flatten()]
    if dropout:
        layers.append(Dropout(dropout))
    return keras.Sequential([*layers, Dense(3, activation="softmax")])


def dense_model(inputs=4, outputs=3, activation="softmax"):
    return keras.Sequential([Input(shape=(inputs,)), Dense(outputs, activation=activation)])


class Recorder(keras.layers.Layer):
    """An identity layer that remembers the batches it sees in training."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen = []

    def call(self, x, training=False):
        if training:
            self.seen.append(x.numpy().copy())
        return x

    def compute_output_shape(self, input_shape):
        return input_shape


def test_a_small_cnn_learns_and_is_deterministic():
    x, y = bars_dataset(360, seed=0)
    x_test, y_test = bars_dataset(150, seed=1)

    def train():
        keras.utils.set_random_seed(7)
        model = small_cnn(dropout=0.2)
        model.compile(
            optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
        )
        history = model.fit(x, y, epochs=6, batch_size=16, validation_split=0.2, verbose=0)
        return model, history

    model, history = train()
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    assert accuracy > 0.9, history.history  # chance is 1/3
    assert history.history["loss"][-1] < history.history["loss"][0]
    predicted = model.predict(x_test, verbose=0).argmax(axis=1)
    assert accuracy == pytest.approx(np.mean(predicted == y_test))
    again, history_again = train()
    assert history_again.history == history.history
    for first, second in zip(model.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(first, second)


def test_history_keys_and_values():
    x, y = bars_dataset(40, seed=2)
    y_one_hot = keras.utils.to_categorical(y, 3)
    model = small_cnn()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x[:30], y_one_hot[:30], epochs=2, validation_data=(x[30:], y_one_hot[30:]), verbose=0)
    assert list(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]  # sorted, as Keras 3
    assert history.epoch == [0, 1] and model.history is history
    assert all(len(values) == 2 and all(isinstance(v, float) for v in values) for values in history.history.values())
    val_loss, val_accuracy = model.evaluate(x[30:], y_one_hot[30:], verbose=0)
    assert history.history["val_loss"][-1] == pytest.approx(val_loss, rel=1e-6)
    assert history.history["val_accuracy"][-1] == pytest.approx(val_accuracy)
    assert model.metrics_names == ["loss", "accuracy"]

    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["acc", "top_k_categorical_accuracy"])
    history = model.fit(x, y_one_hot, verbose=0)
    assert list(history.history) == ["acc", "loss", "top_k_categorical_accuracy"]
    assert history.history["top_k_categorical_accuracy"] == [1.0]  # k=5 > 3 classes


def test_validation_split_takes_the_last_fraction_before_shuffling():
    x = np.arange(20, dtype=np.float32).reshape(20, 1)
    y = np.zeros((20, 1), np.float32)
    recorder = Recorder()
    model = keras.Sequential([Input(shape=(1,)), recorder, Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(x, y, epochs=2, batch_size=4, validation_split=0.25, verbose=0)
    first_epoch = np.concatenate(recorder.seen[:4])[:, 0]
    second_epoch = np.concatenate(recorder.seen[4:])[:, 0]
    assert len(recorder.seen) == 8
    assert sorted(first_epoch) == sorted(second_epoch) == list(range(15))  # never samples 15..19
    assert not np.array_equal(first_epoch, second_epoch)  # reshuffled every epoch
    assert history.history["val_loss"][-1] == pytest.approx(model.evaluate(x[15:], y[15:], verbose=0), rel=1e-6)

    recorder.seen.clear()
    model.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    np.testing.assert_array_equal(np.concatenate(recorder.seen)[:, 0], np.arange(20))


def test_initial_epoch_and_stop_training():
    x, y = np.ones((8, 4), np.float32), np.zeros(8, np.int64)
    model = dense_model()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    history = model.fit(x, y, epochs=4, initial_epoch=2, verbose=0)
    assert history.epoch == [2, 3]

    def stop_after_second(epoch, logs):
        if epoch == 1:
            model.stop_training = True

    history = model.fit(
        x, y, epochs=10, verbose=0, callbacks=[keras.callbacks.LambdaCallback(on_epoch_end=stop_after_second)]
    )
    assert history.epoch == [0, 1]


def test_each_epochs_metrics_cover_that_epoch_alone():
    # The weights are set at the start of each epoch and the learning rate is 0, so every
    # epoch's loss and accuracy are evaluate()'s for its weights; a running mean across
    # epochs (no reset between them) would mix them.
    rng = np.random.default_rng(5)
    x = rng.standard_normal((24, 4)).astype(np.float32)
    true_kernel = rng.standard_normal((4, 3)).astype(np.float32)
    y = (x @ true_kernel).argmax(axis=1)
    weights_per_epoch = [
        [np.zeros((4, 3), np.float32), np.array([1.0, 0.0, 0.0], np.float32)],  # always class 0
        [true_kernel, np.zeros(3, np.float32)],  # always right
        [-true_kernel, np.zeros(3, np.float32)],  # never right
    ]
    model = dense_model()
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    expected = []
    for weights in weights_per_epoch:
        model.set_weights(weights)
        expected.append(model.evaluate(x, y, batch_size=5, verbose=0))
    assert [accuracy for _, accuracy in expected] == [np.mean(y == 0), 1.0, 0.0]

    def set_epoch_weights(epoch, logs):
        model.set_weights(weights_per_epoch[epoch])

    callback = keras.callbacks.LambdaCallback(on_epoch_begin=set_epoch_weights)
    history = model.fit(x, y, batch_size=5, epochs=3, verbose=0, callbacks=[callback])
    assert history.history["accuracy"] == [accuracy for _, accuracy in expected]
    np.testing.assert_allclose(history.history["loss"], [loss for loss, _ in expected], rtol=1e-6)


def nan_in_third_batch():
    """16 samples of 4 features, all of class 0, with a NaN in sample 9: the third batch of 4 (no shuffling)."""
    x = np.random.default_rng(0).random((16, 4), dtype=np.float32)
    y = np.zeros((16, 3), np.float32)
    y[:, 0] = 1
    x[9, 2] = np.nan
    return x, y


def model_and_twin():
    """A compiled dense model and a copy with the same weights."""
    keras.utils.set_random_seed(0)
    model = dense_model()
    twin = keras.models.clone_model(model)
    twin.set_weights(model.get_weights())
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
    twin.compile(optimizer="sgd", loss="categorical_crossentropy")
    return model, twin


@pytest.mark.filterwarnings("error")  # no warning either, as Keras
def test_a_nan_loss_is_applied_and_training_carries_on_as_in_keras():
    # Keras 3 (checked on the PyTorch backend): fit applies the step, the weights become NaN,
    # and every epoch runs with loss nan in the History; stopping is TerminateOnNaN's job.
    x, y = nan_in_third_batch()
    model, twin = model_and_twin()
    history = model.fit(x, y, epochs=3, batch_size=4, shuffle=False, verbose=0)
    assert history.epoch == [0, 1, 2]
    assert np.isnan(history.history["loss"]).all() and len(history.history["accuracy"]) == 3
    assert all(np.isnan(w).all() for w in model.get_weights())
    # the first two steps were those of train_on_batch, the third made the weights NaN
    twin.train_on_batch(x[:4], y[:4])
    twin.train_on_batch(x[4:8], y[4:8])
    assert all(np.isfinite(w).all() for w in twin.get_weights())
    twin.train_on_batch(x[8:12], y[8:12])
    assert all(np.isnan(w).all() for w in twin.get_weights())


def test_the_opt_in_guard_stops_before_the_bad_update():
    x, y = nan_in_third_batch()
    model, twin = model_and_twin()
    model.stop_on_nonfinite_loss = True
    with pytest.warns(RuntimeWarning, match=r"loss became nan at epoch 1/3, step 3/4"):
        history = model.fit(x, y, epochs=3, batch_size=4, shuffle=False, verbose=0)
    assert history.epoch == [0] and np.isnan(history.history["loss"][0])
    twin.train_on_batch(x[:4], y[:4])
    twin.train_on_batch(x[4:8], y[4:8])
    for got, expected in zip(model.get_weights(), twin.get_weights()):
        np.testing.assert_array_equal(got, expected)
    assert all(np.isfinite(w).all() for w in model.get_weights())


def test_evaluate_return_forms():
    x, y = np.random.default_rng(1).random((10, 4), dtype=np.float32), np.arange(10) % 3
    model = dense_model()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    loss = model.evaluate(x, y, verbose=0)
    assert isinstance(loss, float)
    probabilities = model.predict(x, verbose=0)
    expected_loss = -np.mean(np.log(probabilities[np.arange(10), y]))
    assert loss == pytest.approx(expected_loss, rel=1e-5)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    loss, accuracy = model.evaluate(x, y, batch_size=3, verbose=0)
    assert loss == pytest.approx(expected_loss, rel=1e-5)
    assert accuracy == pytest.approx(np.mean(probabilities.argmax(axis=1) == y))
    assert model.evaluate(x, y, batch_size=3, verbose=0, return_dict=True) == {"loss": loss, "accuracy": accuracy}


def test_predict_is_batched_and_independent_of_batch_size():
    model = small_cnn()
    x, _ = bars_dataset(70, seed=3)
    calls = []

    class BatchSizes(keras.callbacks.Callback):
        def on_predict_batch_end(self, batch, logs=None):
            calls.append(logs["outputs"][0].shape[0])

    full = model.predict(x, verbose=0, callbacks=[BatchSizes()])
    assert calls == [32, 32, 6]  # never one giant batch
    np.testing.assert_allclose(model.predict(x, batch_size=7, verbose=0), full, rtol=1e-6)
    np.testing.assert_array_equal(model.predict_on_batch(x[:5]), model(x[:5]).numpy())
    assert full.dtype == np.float32 and full.shape == (70, 3)


def side_by_side_spy(monkeypatch):
    """Runs predict's batches side by side however quick they are, on two cores; returns the
    list that gets one entry per ``parallel_items`` call."""
    from cnnlab.runtime import threads, tuning
    from cnnlab.runtime.state import STATE

    monkeypatch.setattr(tuning, "SIDE_BY_SIDE_MIN_SECONDS", 0.0)
    monkeypatch.setattr(STATE, "resolved_threads", 2)
    calls, parallel_items = [], threads.parallel_items

    def spy(task, n, after_own_item=None):
        calls.append(n)
        return parallel_items(task, n, after_own_item)

    monkeypatch.setattr(threads, "parallel_items", spy)
    return calls


def test_predict_runs_batches_side_by_side_with_the_same_values(monkeypatch, capsys):
    from cnnlab.runtime import tuning

    model = small_cnn()
    x, _ = bars_dataset(300, seed=8)
    one_by_one = model.predict(x, batch_size=7, verbose=0)
    calls = side_by_side_spy(monkeypatch)
    side_by_side = model.predict(x, batch_size=7, verbose=0)
    assert calls == [41]  # 43 batches: the first two alone, then the rest side by side
    np.testing.assert_array_equal(side_by_side, one_by_one)  # each batch computes the same values

    model.predict(x, batch_size=7, verbose=1)
    assert "43/43" in capsys.readouterr().out  # the bar is drawn by the calling thread and ends full
    model.predict(x[:14], batch_size=7, verbose=0)  # two batches: nothing to share
    model.predict(x, batch_size=7, verbose=0, callbacks=[keras.callbacks.Callback()])  # callbacks see batches in order
    with GradientTape() as tape:
        tape.watch(model.trainable_weights[0])
        model.predict(x, batch_size=7, verbose=0)  # a recording tape sees the ops in order
    assert calls == [41, 41]

    monkeypatch.setattr(tuning, "SIDE_BY_SIDE_MIN_SECONDS", 1e9)  # batches too quick to repay a hand-off
    model.predict(x, batch_size=7, verbose=0)
    assert calls == [41, 41]


def test_predict_runs_batches_through_the_plan_with_the_same_values(monkeypatch):
    """predict's batches run through predict_step, the model's call and its planner's steps (a
    Conv2D and its MaxPooling2D as one op, Dropout and BatchNormalization in inference mode):
    every batch gives what calling the model on it gives."""
    keras.utils.set_random_seed(3)
    model = keras.Sequential(
        [
            Input(shape=(12, 12, 1)),
            Conv2D(4, 3, padding="same", activation="relu"),
            MaxPooling2D(),
            keras.layers.BatchNormalization(),
            Conv2D(6, 3, activation="tanh"),
            Flatten(),
            Dropout(0.5),
            Dense(5, activation="softmax"),
        ]
    )
    model.layers[2].moving_mean.assign(np.linspace(-0.2, 0.3, 4).astype(np.float32))  # not the identity
    assert len(model._planned().steps) == 6  # the conv and its pool as one
    x = np.random.default_rng(3).standard_normal((40, 12, 12, 1)).astype(np.float32)
    calls = side_by_side_spy(monkeypatch)
    got = model.predict(x, batch_size=6, verbose=0)
    assert calls == [5]
    expected = np.concatenate([model(x[i : i + 6], training=False).numpy() for i in range(0, 40, 6)])
    np.testing.assert_array_equal(got, expected)

    mixed = keras.Sequential([Input(shape=(4,)), Dense(3, activation="relu"), Dense(2, dtype="float64")])
    x = np.random.default_rng(4).standard_normal((20, 4)).astype(np.float32)
    got = mixed.predict(x, batch_size=6, verbose=0)  # the float64 layer's step casts through __call__
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, np.concatenate([mixed(x[i : i + 6]).numpy() for i in range(0, 20, 6)]))


def test_predict_runs_a_model_with_a_layer_of_the_users_one_batch_at_a_time(monkeypatch):
    class CountsCalls(keras.layers.Layer):  # state changed by every call: not safe to run two at a time
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.sizes = []

        def call(self, x):
            self.sizes.append(int(x.shape[0]))
            return x

        def compute_output_shape(self, input_shape):
            return input_shape

    counter = CountsCalls()
    model = keras.Sequential([Input(shape=(4,)), counter, Dense(2)])
    calls = side_by_side_spy(monkeypatch)
    model.predict(np.ones((23, 4), np.float32), batch_size=5, verbose=0)
    assert counter.sizes == [5, 5, 5, 5, 3] and calls == []

    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = Dense(2)

        def call(self, x):
            return self.dense(x)

    Subclassed().predict(np.ones((23, 4), np.float32), batch_size=5, verbose=0)
    assert calls == []


def test_train_on_batch_and_test_on_batch():
    keras.utils.set_random_seed(4)
    x, y = bars_dataset(32, seed=4)
    model = small_cnn()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    before_loss, before_accuracy = model.test_on_batch(x, y)
    first_loss, _ = model.train_on_batch(x, y)
    assert first_loss == pytest.approx(before_loss, rel=1e-6)  # the loss of the batch before the update
    for _ in range(20):
        model.train_on_batch(x, y)
    after = model.test_on_batch(x, y, return_dict=True)
    assert after["loss"] < before_loss and int(model.optimizer.iterations.numpy()) == 21


def test_fit_rejects_mismatched_inputs_with_advice():
    model = small_cnn()
    x, y = bars_dataset(10, seed=5)
    with pytest.raises(RuntimeError, match="must be compiled"):
        model.fit(x, y)
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    with pytest.raises(ValueError, match="same number of samples; received 10 samples in x .* and 9 in y"):
        model.fit(x, keras.utils.to_categorical(y[:9], 3))
    with pytest.raises(ValueError, match="sparse_categorical_crossentropy.*to_categorical"):
        model.fit(x, y)
    with pytest.raises(ValueError, match="lack the channel axis.*np.newaxis"):
        model.fit(x[..., 0], keras.utils.to_categorical(y, 3))
    with pytest.raises(ValueError, match="lack the channel axis"):
        model.predict(x[..., 0])
    with pytest.raises(ValueError, match=r"one sample: add the batch axis with x\[np.newaxis\]"):
        model.predict(x[0])
    with pytest.raises(ValueError, match=r"expects x of shape \(None, 8, 8, 1\).*\(10, 64\).*reshape"):
        model.evaluate(x.reshape(10, 64), keras.utils.to_categorical(y, 3))
    with pytest.raises(ValueError, match="x_val and y_val"):
        model.fit(x, keras.utils.to_categorical(y, 3), validation_data=(x, keras.utils.to_categorical(y[:5], 3)))
    with pytest.raises(ValueError, match="batch_size=0"):
        model.fit(x, keras.utils.to_categorical(y, 3), batch_size=0)
    with pytest.raises(ValueError, match="validation_split=1.5"):
        model.fit(x, keras.utils.to_categorical(y, 3), validation_split=1.5)
    with pytest.raises(TypeError, match="NumPy array"):
        model.fit({"x": x}, y)
    with pytest.raises(ValueError, match="verbose"):
        model.fit(x, keras.utils.to_categorical(y, 3), verbose=3)

    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="look one-hot.*categorical_crossentropy"):
        model.fit(x, keras.utils.to_categorical(y, 3))
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        model.fit(x, y + 1)


def test_verbose_modes_print_what_keras_prints(capsys):
    """The formats themselves are compared with Keras's own output in test_console.py."""
    x, y = np.ones((10, 4), np.float32), np.zeros(10, np.int64)
    model = dense_model()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    model.evaluate(x, y, verbose=0)
    assert capsys.readouterr().out == ""

    model.fit(x, y, epochs=2, batch_size=4, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2" and len(lines) == 4
    value = r"\d\.\d{4}(e[+-]\d\d)?"  # an exponent for values of 1e-3 or less, as Keras
    assert re.fullmatch(rf"3/3 - \d+s - \d+(us|ms)/step - accuracy: {value} - loss: {value}", lines[1]), lines[1]

    model.fit(x, y, epochs=1, batch_size=4, verbose="auto")
    out = capsys.readouterr().out
    assert out.startswith("\r\x1b[1m1/3\x1b[0m ") and out.endswith("\n") and "Epoch" not in out
    final = out.split("\r")[-1]
    assert re.fullmatch(
        r"\x1b\[1m3/3\x1b\[0m \x1b\[32m━{20}\x1b\[0m\x1b\[37m\x1b\[0m \x1b\[1m\d+s\x1b\[0m \d+(us|ms)/step"
        rf" - accuracy: {value} - loss: {value} *\n",
        final,
    ), final


def test_metrics_follow_the_loss_and_label_shapes():
    x = np.random.default_rng(6).random((12, 4), dtype=np.float32)
    y = np.arange(12) % 3
    model = dense_model()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    _, sparse_accuracy = model.evaluate(x, y, verbose=0)
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
    _, categorical_accuracy = model.evaluate(x, keras.utils.to_categorical(y, 3), verbose=0)
    expected = np.mean(model.predict(x, verbose=0).argmax(axis=1) == y)
    assert sparse_accuracy == categorical_accuracy == pytest.approx(expected)

    binary = dense_model(outputs=1, activation="sigmoid")
    binary.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
    labels = (x[:, 0] > 0.5).astype(np.float32)
    _, binary_accuracy = binary.evaluate(x, labels, verbose=0)
    assert binary_accuracy == pytest.approx(np.mean((binary.predict(x, verbose=0)[:, 0] > 0.5) == labels))


def test_subclassed_model_trains_with_fit():
    class TwoLayer(keras.Model):
        def __init__(self):
            super().__init__()
            self.hidden = Dense(16, activation="relu")
            self.out = Dense(2, activation="softmax")

        def call(self, x, training=False):
            return self.out(self.hidden(x))

    keras.utils.set_random_seed(8)
    rng = np.random.default_rng(8)
    x = rng.normal(size=(200, 2)).astype(np.float32)
    y = (x[:, 0] * x[:, 1] > 0).astype(np.int64)  # XOR-like quadrants: needs the hidden layer
    model = TwoLayer()
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=30, verbose=0)
    assert history.history["accuracy"][-1] > 0.9
    with pytest.raises(ValueError, match=r"expects x of shape \(None, 2\)"):
        model.predict(np.ones((3, 5), np.float32))


def test_predict_gives_the_same_values_whichever_way_its_batches_run(monkeypatch):
    """Whether predict shares its batches out depends on a clock; the values must not: a product
    big enough to be split over the cores rounds differently from one taken in one piece."""
    from cnnlab.runtime import tuning
    from cnnlab.runtime.state import STATE

    monkeypatch.setattr(STATE, "resolved_threads", 2)
    keras.utils.set_random_seed(4)
    model = keras.Sequential([Input(shape=(784,)), keras.layers.Dense(512, activation="relu"), keras.layers.Dense(10)])
    x = np.random.default_rng(4).random((320, 784), dtype=np.float32)
    monkeypatch.setattr(tuning, "SIDE_BY_SIDE_MIN_SECONDS", 0.0)
    side_by_side = model.predict(x, verbose=0)
    monkeypatch.setattr(tuning, "SIDE_BY_SIDE_MIN_SECONDS", 1e9)
    one_by_one = model.predict(x, verbose=0)
    np.testing.assert_array_equal(one_by_one, side_by_side)
