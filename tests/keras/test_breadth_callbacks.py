"""Issue 20.4's callbacks: ModelCheckpoint(save_freq=<int>), ReduceLROnPlateau, ProgbarLogger, History,
BackupAndRestore and TensorBoard (its event files read back with TensorBoard's own reader)."""

import json
import os

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import cnnlab as tf
from cnnlab import keras
from cnnlab.keras import callbacks

# Keras 3 on NumPy 2 warns about its own tensors' __array__; nothing of cnnlab's.
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)


def data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 4)).astype(np.float32)
    return x, (x.sum(axis=1) > 2).astype(np.int64)


def model(seed=0, learning_rate=0.01):
    tf.random.set_seed(seed)
    net = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(2, activation="softmax")]
    )
    net.compile(
        optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    return net


def test_model_checkpoint_every_n_batches_makes_its_folder(tmp_path):
    x, y = data()
    path = tmp_path / "runs" / "deep" / "ckpt-{epoch:02d}-{batch:03d}.keras"
    net = model()
    net.fit(
        x,
        y,
        epochs=2,
        batch_size=16,
        verbose=0,
        shuffle=False,
        callbacks=[callbacks.ModelCheckpoint(path, save_freq=3)],
    )
    # 4 batches an epoch, 8 in all: saved after batches 3 and 6 (counted across epochs, as Keras)
    assert sorted(os.listdir(tmp_path / "runs" / "deep")) == ["ckpt-01-003.keras", "ckpt-02-002.keras"]
    metadata = keras.saving.load_metadata(tmp_path / "runs" / "deep" / "ckpt-02-002.keras")["user_metadata"]
    assert metadata == {"epoch": 1, "batch": 2}
    last = tmp_path / "weights" / "every.weights.h5"
    net.fit(
        x,
        y,
        epochs=1,
        batch_size=16,
        verbose=0,
        shuffle=False,
        callbacks=[callbacks.ModelCheckpoint(last, save_freq=4, save_weights_only=True)],
    )
    restored = model(seed=9)
    restored.load_weights(last)
    for a, b in zip(restored.get_weights(), net.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="save_freq must be 'epoch' or a positive integer"):
        callbacks.ModelCheckpoint(path, save_freq="batch")


def test_model_checkpoint_per_epoch_best_only(tmp_path):
    x, y = data()
    net = model()
    path = tmp_path / "new" / "best.keras"
    checkpoint = callbacks.ModelCheckpoint(path, monitor="loss", save_best_only=True)
    history = net.fit(x, y, epochs=3, verbose=0, callbacks=[checkpoint])
    assert path.exists() and checkpoint.best == pytest.approx(min(history.history["loss"]))


def test_reduce_lr_on_plateau_follows_keras():
    """The same monitored values give the same learning rates as Keras 3's own callback."""
    os.environ["KERAS_BACKEND"] = "torch"  # before keras is imported: no TensorFlow needed
    import keras as keras3

    values = [1.0, 0.9, 0.95, 0.92, 0.93, 0.94, 0.96, 0.97, 0.98, 0.99, 0.85, 0.86, 0.87, 0.88]
    settings = {"monitor": "val_loss", "factor": 0.5, "patience": 2, "cooldown": 1, "min_lr": 0.02}
    net = model(learning_rate=0.1)
    ours = callbacks.ReduceLROnPlateau(**settings)
    ours.set_model(net)
    reference = keras3.Sequential([keras3.Input((1,)), keras3.layers.Dense(1)])
    reference.compile(optimizer=keras3.optimizers.Adam(0.1), loss="mse")
    theirs = keras3.callbacks.ReduceLROnPlateau(**settings)
    theirs.set_model(reference)
    ours.on_train_begin()
    theirs.on_train_begin()
    for epoch, value in enumerate(values):
        our_logs, their_logs = {"val_loss": value}, {"val_loss": value}
        ours.on_epoch_end(epoch, our_logs)
        theirs.on_epoch_end(epoch, their_logs)
        assert our_logs["learning_rate"] == pytest.approx(their_logs["learning_rate"]), epoch
    assert float(net.optimizer.learning_rate) == pytest.approx(
        float(keras3.ops.convert_to_numpy(reference.optimizer.learning_rate))
    )
    assert float(net.optimizer.learning_rate) == pytest.approx(0.02)
    with pytest.raises(ValueError, match="factor must be a number in"):
        callbacks.ReduceLROnPlateau(factor=1.5)


def test_reduce_lr_on_plateau_in_fit_records_the_rate():
    x, y = data()
    net = model(learning_rate=0.05)
    reducer = callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=10.0)
    history = net.fit(x, y, epochs=3, verbose=0, callbacks=[reducer])
    # the rate used in each epoch: reduced after epochs 1 and 2 (no improvement ever counts with this min_delta)
    assert history.history["learning_rate"] == pytest.approx([0.05, 0.05, 0.025])
    assert float(net.optimizer.learning_rate) == pytest.approx(0.0125)


def test_progbar_logger_prints_the_bar_once(capsys):
    x, y = data()
    net = model()
    net.fit(x, y, epochs=2, batch_size=32, verbose=2, callbacks=[callbacks.ProgbarLogger()])
    printed = capsys.readouterr().out
    assert printed.count("Epoch 1/2") == 1 and printed.count("Epoch 2/2") == 1
    assert printed.count("2/2 - ") == 2 and "loss: " in printed and "accuracy: " in printed
    net.evaluate(x, y, verbose=2, callbacks=[callbacks.ProgbarLogger()])
    assert capsys.readouterr().out.count("2/2 - ") == 1
    net.fit(x, y, epochs=1, verbose=0, callbacks=[callbacks.ProgbarLogger()])
    assert capsys.readouterr().out == ""


def test_history_is_what_fit_returns():
    x, y = data()
    net = model()
    history = net.fit(x, y, epochs=2, verbose=0, validation_split=0.25)
    assert isinstance(history, callbacks.History) and history.epoch == [0, 1] and net.history is history
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}


class Interrupt(callbacks.Callback):
    """Simulates a crash at the end of an epoch."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt


def test_backup_and_restore_resumes_an_interrupted_run_exactly(tmp_path):
    x, y = data()
    uninterrupted = model(seed=3)
    uninterrupted.fit(x, y, epochs=5, batch_size=16, shuffle=False, verbose=0)

    backup = tmp_path / "backup"
    interrupted = model(seed=3)
    with pytest.raises(KeyboardInterrupt):
        interrupted.fit(
            x,
            y,
            epochs=5,
            batch_size=16,
            shuffle=False,
            verbose=0,
            callbacks=[callbacks.BackupAndRestore(backup), Interrupt(epoch=2)],
        )
    assert json.loads((backup / "training_metadata.json").read_text()) == {"epoch": 3, "batch": 4}

    resumed = model(seed=11)  # a new process would build a fresh model
    seen = []
    history = resumed.fit(
        x,
        y,
        epochs=5,
        batch_size=16,
        shuffle=False,
        verbose=0,
        callbacks=[
            callbacks.BackupAndRestore(backup),
            callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: seen.append(e)),
        ],
    )
    assert seen == [3, 4] and history.epoch == [3, 4]
    for a, b in zip(resumed.get_weights(), uninterrupted.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert int(resumed.optimizer.iterations) == int(uninterrupted.optimizer.iterations) == 20
    assert not backup.exists()  # deleted after a normal end


def test_backup_and_restore_every_n_batches_keeps_the_previous_backup(tmp_path):
    x, y = data()
    backup = tmp_path / "b"
    net = model()
    with pytest.raises(KeyboardInterrupt):
        net.fit(
            x,
            y,
            epochs=3,
            batch_size=16,
            shuffle=False,
            verbose=0,
            callbacks=[callbacks.BackupAndRestore(backup, save_freq=3, double_checkpoint=True), Interrupt(epoch=1)],
        )
    assert sorted(os.listdir(backup)) == sorted(
        ["latest.weights.h5", "optimizer_state.npz", "training_metadata.json"]
        + ["latest.weights.h5.bkp", "optimizer_state.npz.bkp", "training_metadata.json.bkp"]
    )
    assert json.loads((backup / "training_metadata.json").read_text()) == {"epoch": 1, "batch": 2}


def scalars(folder, tag):
    accumulator = EventAccumulator(str(folder), size_guidance={"scalars": 0, "histograms": 0})
    accumulator.Reload()
    return [(event.step, event.value) for event in accumulator.Scalars(tag)], accumulator.Tags()


def test_tensorboard_writes_epoch_scalars_that_tensorboard_reads(tmp_path):
    x, y = data()
    net = model()
    board = callbacks.TensorBoard(tmp_path / "logs", histogram_freq=1, update_freq=2, write_steps_per_second=True)
    history = net.fit(x, y, epochs=3, batch_size=16, validation_split=0.25, verbose=0, callbacks=[board])
    train, tags = scalars(tmp_path / "logs" / "train", "epoch_loss")
    assert [step for step, _ in train] == [0, 1, 2]
    np.testing.assert_allclose([value for _, value in train], history.history["loss"], rtol=1e-6)
    accuracy, _ = scalars(tmp_path / "logs" / "train", "epoch_accuracy")
    np.testing.assert_allclose([value for _, value in accuracy], history.history["accuracy"], rtol=1e-6)
    rate, _ = scalars(tmp_path / "logs" / "train", "epoch_learning_rate")
    assert [value for _, value in rate] == pytest.approx([0.01] * 3)
    assert "epoch_steps_per_second" in tags["scalars"]
    batches, _ = scalars(tmp_path / "logs" / "train", "batch_loss")
    assert [step for step, _ in batches] == [2, 4, 6, 8]  # 3 batches an epoch, every 2nd global batch
    assert "dense/kernel/histogram" in tags["histograms"] and "dense_1/bias/histogram" in tags["histograms"]
    validation, validation_tags = scalars(tmp_path / "logs" / "validation", "epoch_loss")
    np.testing.assert_allclose([value for _, value in validation], history.history["val_loss"], rtol=1e-6)
    assert set(validation_tags["scalars"]) == {"epoch_loss", "epoch_accuracy"}
    evaluated = net.evaluate(x, y, verbose=0, callbacks=[board], return_dict=True)
    after, _ = scalars(tmp_path / "logs" / "validation", "evaluation_loss_vs_iterations")
    assert after == [(9, pytest.approx(evaluated["loss"], rel=1e-6))]


def test_tensorboard_refuses_what_it_cannot_do(tmp_path):
    for argument in (
        {"profile_batch": 2},
        {"write_images": True},
        {"embeddings_freq": 1},
        {"update_freq": "sometimes"},
    ):
        with pytest.raises(ValueError, match="TensorBoard"):
            callbacks.TensorBoard(tmp_path, **argument)
