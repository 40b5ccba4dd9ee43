"""Mirrors TensorFlow's guide "Customizing what happens in fit()" as tf.keras 2 wrote it
(tensorflow.org/guide/keras/customizing_what_happens_in_fit): a subclass of ``keras.Model`` whose
``train_step`` calls ``self.compiled_loss(y, y_pred, regularization_losses=self.losses)``,
``self.optimizer.apply_gradients(zip(gradients, trainable_vars))`` and
``self.compiled_metrics.update_state(y, y_pred)`` and returns ``{m.name: m.result() for m in
self.metrics}``; the lower-level version with ``keras.losses.mean_squared_error`` and metrics of its
own listed by a ``metrics`` property; sample weights passed to ``compiled_loss`` and
``compiled_metrics``; and a custom ``test_step``; on random data as the guide uses.  The guide's
Dense(1) on 32 features learns a linear target here, so that the loss visibly falls.
"""

import numpy as np

import cnnlab as tf
from cnnlab import keras

rng = np.random.default_rng(1)
x = rng.random((1000, 32)).astype("float32")
y = (x @ rng.normal(size=(32, 1)) * 0.3).astype("float32")


class CustomModel(keras.Model):
    def train_step(self, data):
        # Unpack the data. Its structure depends on your model and
        # on what you pass to `fit()`.
        x, y = data

        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)  # Forward pass
            # Compute the loss value
            # (the loss function is configured in `compile()`)
            loss = self.compiled_loss(y, y_pred, regularization_losses=self.losses)

        # Compute gradients
        trainable_vars = self.trainable_variables
        gradients = tape.gradient(loss, trainable_vars)
        # Update weights
        self.optimizer.apply_gradients(zip(gradients, trainable_vars))
        # Update metrics (includes the metric that tracks the loss)
        self.compiled_metrics.update_state(y, y_pred)
        # Return a dict mapping metric names to current value
        return {m.name: m.result() for m in self.metrics}


# Construct and compile an instance of CustomModel
inputs = keras.Input(shape=(32,))
outputs = keras.layers.Dense(1)(inputs)
model = CustomModel(inputs, outputs)
model.compile(optimizer="adam", loss="mse", metrics=["mae"])

# Just use `fit` as usual
history = model.fit(x, y, epochs=3, verbose=0)
print(history.history)
assert sorted(history.history) == ["loss", "mae"]
assert history.history["loss"][2] < history.history["loss"][0]
# compiled_loss kept the loss tracker: the epoch's 'loss' is the mean of its batches' losses.
assert model.metrics[0].name == "loss" and abs(float(model.metrics[0].result()) - history.history["loss"][2]) < 1e-6

# Going lower-level
loss_tracker = keras.metrics.Mean(name="loss")
mae_metric = keras.metrics.MeanAbsoluteError(name="mae")


class LowerLevelModel(keras.Model):
    def train_step(self, data):
        x, y = data

        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)  # Forward pass
            # Compute our own loss
            loss = keras.losses.mean_squared_error(y, y_pred)

        # Compute gradients
        trainable_vars = self.trainable_variables
        gradients = tape.gradient(loss, trainable_vars)

        # Update weights
        self.optimizer.apply_gradients(zip(gradients, trainable_vars))

        # Compute our own metrics
        loss_tracker.update_state(loss)
        mae_metric.update_state(y, y_pred)
        return {"loss": loss_tracker.result(), "mae": mae_metric.result()}

    @property
    def metrics(self):
        # We list our `Metric` objects here so that `reset_states()` can be
        # called automatically at the start of each epoch
        # or at the start of `evaluate()`.
        # If you don't implement this property, you have to call
        # `reset_states()` yourself at the time of your choosing.
        return [loss_tracker, mae_metric]


# Construct an instance of LowerLevelModel
inputs = keras.Input(shape=(32,))
outputs = keras.layers.Dense(1)(inputs)
model = LowerLevelModel(inputs, outputs)

# We don't pass a loss or metrics here.
model.compile(optimizer="adam")

# Just use `fit` as usual -- you can use callbacks, etc.
history = model.fit(x, y, epochs=5, verbose=0)
assert history.history["loss"][4] < history.history["loss"][0]


# Supporting sample_weight & class_weight
class WeightedModel(keras.Model):
    def train_step(self, data):
        # Unpack the data. Its structure depends on your model and
        # on what you pass to `fit()`.
        if len(data) == 3:
            x, y, sample_weight = data
        else:
            sample_weight = None
            x, y = data

        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)  # Forward pass
            # Compute the loss value.
            # The loss function is configured in `compile()`.
            loss = self.compiled_loss(
                y,
                y_pred,
                sample_weight=sample_weight,
                regularization_losses=self.losses,
            )

        # Compute gradients
        trainable_vars = self.trainable_variables
        gradients = tape.gradient(loss, trainable_vars)

        # Update weights
        self.optimizer.apply_gradients(zip(gradients, trainable_vars))

        # Update the metrics.
        # Metrics are configured in `compile()`.
        self.compiled_metrics.update_state(y, y_pred, sample_weight=sample_weight)

        # Return a dict mapping metric names to current value.
        # Note that it will include the loss (tracked in self.metrics).
        return {m.name: m.result() for m in self.metrics}


# Construct and compile an instance of WeightedModel
inputs = keras.Input(shape=(32,))
outputs = keras.layers.Dense(1)(inputs)
model = WeightedModel(inputs, outputs)
model.compile(optimizer="adam", loss="mse", metrics=["mae"])

# You can now use sample_weight argument
sw = rng.random((1000, 1)).astype("float32")
history = model.fit(x, y, sample_weight=sw, epochs=3, verbose=0)
assert history.history["loss"][2] < history.history["loss"][0]


# Providing your own evaluation step
class EvaluatedModel(keras.Model):
    def test_step(self, data):
        # Unpack the data
        x, y = data
        # Compute predictions
        y_pred = self(x, training=False)
        # Updates the metrics tracking the loss
        self.compiled_loss(y, y_pred, regularization_losses=self.losses)
        # Update the metrics.
        self.compiled_metrics.update_state(y, y_pred)
        # Return a dict mapping metric names to current value.
        # Note that it will include the loss (tracked in self.metrics).
        return {m.name: m.result() for m in self.metrics}


# Construct an instance of EvaluatedModel
inputs = keras.Input(shape=(32,))
outputs = keras.layers.Dense(1)(inputs)
model = EvaluatedModel(inputs, outputs)
model.compile(loss="mse", metrics=["mae"])

# Evaluate with our custom test_step
loss, mae = model.evaluate(x, y, verbose=0)
prediction = model.predict(x, verbose=0)
assert abs(loss - float(np.mean((prediction - y) ** 2))) < 1e-4  # compiled_loss weighs each batch by its size
assert abs(mae - float(np.mean(np.abs(prediction - y)))) < 1e-4
