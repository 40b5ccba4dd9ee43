"""Mirrors keras.io's guide "Writing your own callbacks" (Keras 3): a callback that reports every
hook, loss printing from the logs, early stopping at the minimum loss, and a learning-rate
schedule that sets ``model.optimizer.learning_rate`` each epoch.

On generated arrays shaped like the guide's flattened MNIST digits (784 pixels in [0, 1]).
"""

import numpy as np
import pytest

import cnnlab as tf

keras = tf.keras


def get_model():
    model = keras.Sequential()
    model.add(keras.layers.Dense(1))
    model.compile(
        optimizer=keras.optimizers.RMSprop(learning_rate=0.1),
        loss="mean_squared_error",
        metrics=["mean_absolute_error"],
    )
    return model


rng = np.random.default_rng(0)
x_train = rng.random((1000, 784)).astype("float32")
y_train = (x_train[:, :10].sum(axis=1) > 5).astype("float32") * 9  # "digits" 0 or 9
x_test = rng.random((1000, 784)).astype("float32")
y_test = (x_test[:, :10].sum(axis=1) > 5).astype("float32") * 9


# ---- a callback that reports every hook -------------------------------------------------------------

events = []


class CustomCallback(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        keys = list(logs.keys())
        events.append(("train_begin", keys))
        print("Starting training; got log keys: {}".format(keys))

    def on_train_end(self, logs=None):
        keys = list(logs.keys())
        events.append(("train_end", keys))
        print("Stop training; got log keys: {}".format(keys))

    def on_epoch_begin(self, epoch, logs=None):
        events.append(("epoch_begin", epoch))
        print("Start epoch {} of training; got log keys: {}".format(epoch, list(logs.keys())))

    def on_epoch_end(self, epoch, logs=None):
        keys = list(logs.keys())
        events.append(("epoch_end", keys))
        print("End epoch {} of training; got log keys: {}".format(epoch, keys))

    def on_test_begin(self, logs=None):
        events.append(("test_begin", None))
        print("Start testing; got log keys: {}".format(list(logs.keys())))

    def on_test_end(self, logs=None):
        keys = list(logs.keys())
        events.append(("test_end", keys))
        print("Stop testing; got log keys: {}".format(keys))

    def on_predict_begin(self, logs=None):
        events.append(("predict_begin", None))
        print("Start predicting; got log keys: {}".format(list(logs.keys())))

    def on_predict_end(self, logs=None):
        events.append(("predict_end", None))
        print("Stop predicting; got log keys: {}".format(list(logs.keys())))

    def on_train_batch_begin(self, batch, logs=None):
        events.append(("train_batch_begin", batch))
        print("...Training: start of batch {}; got log keys: {}".format(batch, list(logs.keys())))

    def on_train_batch_end(self, batch, logs=None):
        keys = list(logs.keys())
        events.append(("train_batch_end", keys))
        print("...Training: end of batch {}; got log keys: {}".format(batch, keys))

    def on_test_batch_begin(self, batch, logs=None):
        events.append(("test_batch_begin", batch))

    def on_test_batch_end(self, batch, logs=None):
        keys = list(logs.keys())
        events.append(("test_batch_end", keys))
        print("...Evaluating: end of batch {}; got log keys: {}".format(batch, keys))

    def on_predict_batch_begin(self, batch, logs=None):
        events.append(("predict_batch_begin", batch))

    def on_predict_batch_end(self, batch, logs=None):
        keys = list(logs.keys())
        events.append(("predict_batch_end", keys))
        print("...Predicting: end of batch {}; got log keys: {}".format(batch, keys))


model = get_model()
model.fit(
    x_train,
    y_train,
    batch_size=128,
    epochs=1,
    verbose=0,
    validation_split=0.5,
    callbacks=[CustomCallback()],
)
res = model.evaluate(x_test, y_test, batch_size=128, verbose=0, callbacks=[CustomCallback()])
res = model.predict(x_test, batch_size=128, callbacks=[CustomCallback()])

# What the guide's output shows: the hooks in order, and the log keys each one gets.
assert events[0] == ("train_begin", [])
assert events[1] == ("epoch_begin", 0)
assert [e for e in events if e[0] == "train_batch_begin"] == [("train_batch_begin", b) for b in range(4)]  # 500 / 128
assert ("train_batch_end", ["loss", "mean_absolute_error"]) in events
epoch_end = next(e for e in events if e[0] == "epoch_end")
assert epoch_end[1] == ["loss", "mean_absolute_error", "val_loss", "val_mean_absolute_error"]
assert next(e for e in events if e[0] == "train_end")[1] == epoch_end[1]
assert [e[0] for e in events].count("test_batch_end") >= 8  # evaluate: 1000 / 128
assert ("test_end", ["loss", "mean_absolute_error"]) in events
assert ("predict_batch_end", ["outputs"]) in events and events[-1][0] == "predict_end"
assert res.shape == (1000, 1)


# ---- printing the loss and the error from the logs ------------------------------------------------


class LossAndErrorPrintingCallback(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        print("Up to batch {}, the average loss is {:7.2f}.".format(batch, logs["loss"]))

    def on_test_batch_end(self, batch, logs=None):
        print("Up to batch {}, the average loss is {:7.2f}.".format(batch, logs["loss"]))

    def on_epoch_end(self, epoch, logs=None):
        print(
            "The average loss for epoch {} is {:7.2f} and mean absolute error is {:7.2f}.".format(
                epoch, logs["loss"], logs["mean_absolute_error"]
            )
        )
        self.losses.append(logs["loss"])

    def on_train_begin(self, logs=None):
        self.losses = []


printer = LossAndErrorPrintingCallback()
model = get_model()
model.fit(x_train, y_train, batch_size=128, epochs=2, verbose=0, callbacks=[printer])
res = model.evaluate(x_test, y_test, batch_size=128, verbose=0, callbacks=[printer])
assert len(printer.losses) == 2 and all(np.isfinite(printer.losses))
assert res[0] == model.evaluate(x_test, y_test, batch_size=128, verbose=0)[0]


# ---- early stopping at the minimum loss -----------------------------------------------------------


class EarlyStoppingAtMinLoss(keras.callbacks.Callback):
    """Stop training when the loss is at its min, i.e. the loss stops decreasing."""

    def __init__(self, patience=0):
        super().__init__()
        self.patience = patience
        self.best_weights = None

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = np.inf

    def on_epoch_end(self, epoch, logs=None):
        current = logs.get("loss")
        if np.less(current, self.best):
            self.best = current
            self.wait = 0
            self.best_weights = self.model.get_weights()
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.stopped_epoch = epoch
                self.model.stop_training = True
                print("Restoring model weights from the end of the best epoch.")
                self.model.set_weights(self.best_weights)

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")


stopper = EarlyStoppingAtMinLoss()
model = get_model()
history = model.fit(
    x_train,
    y_train,
    batch_size=64,
    epochs=30,
    verbose=0,
    callbacks=[LossAndErrorPrintingCallback(), stopper],
)
losses = history.history["loss"]
# RMSprop at 0.1 on this problem overshoots within a few epochs: training stops at the first rise,
# with the weights of the best epoch back in place.
assert stopper.stopped_epoch == len(losses) - 1 < 29
assert losses[-1] >= min(losses[:-1]) and stopper.best == min(losses)
for restored, best in zip(model.get_weights(), stopper.best_weights):
    np.testing.assert_array_equal(restored, best)


# ---- a learning-rate schedule -----------------------------------------------------------------------


class CustomLearningRateScheduler(keras.callbacks.Callback):
    """Learning rate scheduler which sets the learning rate according to schedule."""

    def __init__(self, schedule):
        super().__init__()
        self.schedule = schedule

    def on_epoch_begin(self, epoch, logs=None):
        if not hasattr(self.model.optimizer, "learning_rate"):
            raise ValueError('Optimizer must have a "learning_rate" attribute.')
        lr = self.model.optimizer.learning_rate
        scheduled_lr = self.schedule(epoch, lr)
        self.model.optimizer.learning_rate = scheduled_lr
        print(f"\nEpoch {epoch}: Learning rate is {float(np.array(scheduled_lr))}.")
        self.rates.append(float(np.array(scheduled_lr)))

    def on_train_begin(self, logs=None):
        self.rates = []


LR_SCHEDULE = [
    # (epoch to start, learning rate) tuples
    (3, 0.05),
    (6, 0.01),
    (9, 0.005),
    (12, 0.001),
]


def lr_schedule(epoch, lr):
    """Helper function to retrieve the scheduled learning rate based on epoch."""
    if epoch < LR_SCHEDULE[0][0] or epoch > LR_SCHEDULE[-1][0]:
        return lr
    for i in range(len(LR_SCHEDULE)):
        if epoch == LR_SCHEDULE[i][0]:
            return LR_SCHEDULE[i][1]
    return lr


scheduler = CustomLearningRateScheduler(lr_schedule)
model = get_model()
model.fit(x_train, y_train, batch_size=64, epochs=15, verbose=0, callbacks=[LossAndErrorPrintingCallback(), scheduler])
assert scheduler.rates == [
    pytest.approx(rate) for rate in [0.1] * 3 + [0.05] * 3 + [0.01] * 3 + [0.005] * 3 + [0.001] * 3
]
assert float(tf.keras.backend.get_value(model.optimizer.lr)) == pytest.approx(0.001)
