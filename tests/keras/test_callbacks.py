"""Callbacks: the base class hooks, EarlyStopping, ModelCheckpoint, CSVLogger, LambdaCallback, TerminateOnNaN."""

import csv

import numpy as np
import pytest

from cnnlab import keras
from cnnlab.keras.layers import Dense, Input


class ScriptedLoss(keras.callbacks.Callback):
    """Overwrites logs['val_loss'] with a scripted sequence and records the weights each epoch."""

    def __init__(self, values):
        super().__init__()
        self.values = values
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        logs["val_loss"] = self.values[epoch]
        self.weights.append(self.model.get_weights())


def trained_model(lr=0.1):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([Input(shape=(3,)), Dense(2, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(lr), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


DATA = (np.random.default_rng(0).random((12, 3), dtype=np.float32), np.arange(12) % 2)


def test_base_callback_hooks_are_called_in_order():
    events = []

    class Spy(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            events.append(("train_begin", self.params["epochs"], self.params["steps"]))

        def on_epoch_begin(self, epoch, logs=None):
            events.append(("epoch_begin", epoch))

        def on_batch_end(self, batch, logs=None):  # Keras 2's name still works
            events.append(("batch_end", batch, sorted(logs)))

        def on_epoch_end(self, epoch, logs=None):
            events.append(("epoch_end", epoch, sorted(logs)))

        def on_train_end(self, logs=None):
            events.append(("train_end", self.model is model))

    model = trained_model()
    model.fit(*DATA, epochs=2, batch_size=6, verbose=0, callbacks=[Spy()])
    assert events == [
        ("train_begin", 2, 2),
        ("epoch_begin", 0),
        ("batch_end", 0, ["accuracy", "loss"]),
        ("batch_end", 1, ["accuracy", "loss"]),
        ("epoch_end", 0, ["accuracy", "loss"]),
        ("epoch_begin", 1),
        ("batch_end", 0, ["accuracy", "loss"]),
        ("batch_end", 1, ["accuracy", "loss"]),
        ("epoch_end", 1, ["accuracy", "loss"]),
        ("train_end", True),
    ]
    with pytest.raises(TypeError, match="Callback instances"):
        model.fit(*DATA, verbose=0, callbacks=[print])


def test_early_stopping_patience():
    model = trained_model()
    script = ScriptedLoss([1.0, 0.8, 0.9, 0.85, 0.7, 0.6])
    early = keras.callbacks.EarlyStopping(monitor="val_loss", patience=2)
    history = model.fit(*DATA, epochs=6, verbose=0, callbacks=[script, early])
    # best at epoch 1 (0.8); epochs 2 and 3 do not improve -> stop after epoch 3
    assert history.epoch == [0, 1, 2, 3] and early.stopped_epoch == 3 and early.best == 0.8


def test_early_stopping_min_delta_and_mode():
    model = trained_model()
    script = ScriptedLoss([1.0, 0.95, 0.9, 0.5])
    early = keras.callbacks.EarlyStopping(monitor="val_loss", min_delta=0.1, patience=1)
    history = model.fit(*DATA, epochs=4, verbose=0, callbacks=[script, early])
    assert history.epoch == [0, 1]  # 0.95 is not better than 1.0 by 0.1
    assert keras.callbacks.EarlyStopping(monitor="val_accuracy").mode == "max"
    assert keras.callbacks.EarlyStopping(monitor="loss").mode == "min"


def test_early_stopping_restores_best_weights():
    model = trained_model()
    script = ScriptedLoss([1.0, 0.5, 0.7, 0.8, 0.9])
    early = keras.callbacks.EarlyStopping(patience=2, restore_best_weights=True, verbose=1)
    history = model.fit(*DATA, epochs=5, verbose=0, callbacks=[script, early])
    assert history.epoch == [0, 1, 2, 3]
    for got, best in zip(model.get_weights(), script.weights[1]):
        np.testing.assert_array_equal(got, best)
    assert not np.array_equal(script.weights[3][0], script.weights[1][0])


def test_early_stopping_warns_about_a_missing_monitor():
    model = trained_model()
    with pytest.warns(UserWarning, match="'val_loss', which is not in the logs"):
        model.fit(*DATA, epochs=1, verbose=0, callbacks=[keras.callbacks.EarlyStopping()])


def test_model_checkpoint_every_epoch_and_best_only(tmp_path):
    model = trained_model()
    script = ScriptedLoss([1.0, 0.6, 0.8, 0.5])
    every = keras.callbacks.ModelCheckpoint(str(tmp_path / "every-{epoch:02d}.keras"), save_best_only=False)
    best = keras.callbacks.ModelCheckpoint(str(tmp_path / "best.keras"), monitor="val_loss", save_best_only=True)
    best_weights = keras.callbacks.ModelCheckpoint(
        tmp_path / "w-{epoch}-{val_loss:.1f}.weights", save_best_only=True, save_weights_only=True
    )
    model.fit(*DATA, epochs=4, verbose=0, callbacks=[script, every, best, best_weights])
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "best.keras",
        "every-01.keras",
        "every-02.keras",
        "every-03.keras",
        "every-04.keras",
        "w-1-1.0.weights",
        "w-2-0.6.weights",
        "w-4-0.5.weights",
    ]
    assert best.best == 0.5
    restored = keras.models.load_model(tmp_path / "best.keras")
    for got, expected in zip(restored.get_weights(), script.weights[3]):
        np.testing.assert_array_equal(got, expected)
    assert keras.saving.load_metadata(tmp_path / "every-02.keras")["user_metadata"] == {"epoch": 2}
    second = keras.models.load_model(tmp_path / "every-02.keras")
    for got, expected in zip(second.get_weights(), script.weights[1]):
        np.testing.assert_array_equal(got, expected)


def test_csv_logger_writes_one_row_per_epoch(tmp_path):
    path = tmp_path / "log.csv"
    model = trained_model()
    history = model.fit(*DATA, epochs=3, verbose=0, validation_split=0.25, callbacks=[keras.callbacks.CSVLogger(path)])
    with open(path, newline="") as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert [row[0] for row in rows[1:]] == ["0", "1", "2"]
    for row, epoch in zip(rows[1:], range(3)):
        assert float(row[2]) == pytest.approx(history.history["loss"][epoch])
        assert float(row[4]) == pytest.approx(history.history["val_loss"][epoch])
    model.fit(
        *DATA, epochs=1, verbose=0, validation_split=0.25, callbacks=[keras.callbacks.CSVLogger(path, append=True)]
    )
    with open(path, newline="") as file:
        assert len(list(csv.reader(file))) == 5  # appended a row, no second header


def test_lambda_callback():
    seen = []
    callback = keras.callbacks.LambdaCallback(
        on_train_begin=lambda logs: seen.append("begin"),
        on_epoch_end=lambda epoch, logs: seen.append((epoch, round(logs["loss"], 6))),
        on_train_end=lambda logs: seen.append("end"),
    )
    model = trained_model()
    history = model.fit(*DATA, epochs=2, verbose=0, callbacks=[callback])
    assert seen == [
        "begin",
        (0, round(history.history["loss"][0], 6)),
        (1, round(history.history["loss"][1], 6)),
        "end",
    ]
    with pytest.raises(TypeError, match="unknown event 'on_epoch_finish'"):
        keras.callbacks.LambdaCallback(on_epoch_finish=print)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_terminate_on_nan_callback_stops_training(capsys):
    # As Keras: the bad step is applied, the callback stops training after it, the epoch is logged.
    model = trained_model()
    x = DATA[0].copy()
    x[4, 0] = np.inf  # in the second batch of 4
    history = model.fit(
        x, DATA[1], epochs=3, batch_size=4, shuffle=False, verbose=0, callbacks=[keras.callbacks.TerminateOnNaN()]
    )
    assert history.epoch == [0] and np.isnan(history.history["loss"][0])
    assert capsys.readouterr().out == "Batch 1: Invalid loss, terminating training\n"
    assert all(np.isnan(w).all() for w in model.get_weights())
    # without the callback every epoch runs
    model = trained_model()
    assert model.fit(x, DATA[1], epochs=3, batch_size=4, shuffle=False, verbose=0).epoch == [0, 1, 2]


def test_learning_rate_scheduler():
    model = trained_model(lr=0.1)
    scheduler = keras.callbacks.LearningRateScheduler(lambda epoch, lr: lr / 2 if epoch else lr)
    history = model.fit(*DATA, epochs=3, verbose=0, callbacks=[scheduler])
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.05, 0.025])
