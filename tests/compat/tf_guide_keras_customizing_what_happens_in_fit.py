"""Mirrors TensorFlow's guide "Customizing what happens in fit()" as tf.keras 2 wrote it
(tensorflow.org/guide/keras/customizing_what_happens_in_fit): a subclass of ``keras.Model`` whose
``train_step`` calls ``self.compiled_loss(y, y_pred, regularization_losses=self.losses)``,
``self.optimizer.apply_gradients(zip(gradients, trainable_vars))`` and
``self.compiled_metrics.update_state(y, y_pred)`` and returns ``{m.name: m.result() for m in
self.metrics}``; the lower-level version with ``keras.losses.mean_squared_error`` and metrics of its
own listed by a ``metrics`` property; sample weights passed to ``compiled_loss`` and
``compiled_metrics``; a custom ``test_step``; and the end-to-end GAN whose ``compile`` takes two
optimizers and whose ``train_step`` trains a discriminator and a generator with ``tf.random.normal``
(``LeakyReLU(alpha=...)`` as tf.keras 2 spelt it), for a few batches of generated "digits" rather
than MNIST; the rest on random data as the guide uses.  The guide's Dense(1) on 32 features learns
a linear target here, so that the loss visibly falls.
"""

import numpy as np

import cnnlab as tf
from cnnlab import keras
from cnnlab.keras import layers

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

# Wrapping up: an end-to-end GAN example
# Create the discriminator
discriminator = keras.Sequential(
    [
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(16, (3, 3), strides=(2, 2), padding="same"),
        layers.LeakyReLU(alpha=0.2),
        layers.Conv2D(32, (3, 3), strides=(2, 2), padding="same"),
        layers.LeakyReLU(alpha=0.2),
        layers.GlobalMaxPooling2D(),
        layers.Dense(1),
    ],
    name="discriminator",
)

# Create the generator
latent_dim = 32
generator = keras.Sequential(
    [
        keras.Input(shape=(latent_dim,)),
        # We want to generate 32 coefficients to reshape into a 7x7x32 map
        layers.Dense(7 * 7 * 32),
        layers.LeakyReLU(alpha=0.2),
        layers.Reshape((7, 7, 32)),
        layers.Conv2DTranspose(32, (4, 4), strides=(2, 2), padding="same"),
        layers.LeakyReLU(alpha=0.2),
        layers.Conv2DTranspose(32, (4, 4), strides=(2, 2), padding="same"),
        layers.LeakyReLU(alpha=0.2),
        layers.Conv2D(1, (7, 7), padding="same", activation="sigmoid"),
    ],
    name="generator",
)
assert generator.output_shape == (None, 28, 28, 1) and discriminator.output_shape == (None, 1)


class GAN(keras.Model):
    def __init__(self, discriminator, generator, latent_dim):
        super(GAN, self).__init__()
        self.discriminator = discriminator
        self.generator = generator
        self.latent_dim = latent_dim
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

    def compile(self, d_optimizer, g_optimizer, loss_fn):
        super(GAN, self).compile()
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.loss_fn = loss_fn

    def train_step(self, real_images):
        if isinstance(real_images, tuple):
            real_images = real_images[0]
        # Sample random points in the latent space
        batch_size = tf.shape(real_images)[0]
        random_latent_vectors = tf.random.normal(shape=(batch_size, self.latent_dim))

        # Decode them to fake images
        generated_images = self.generator(random_latent_vectors)

        # Combine them with real images
        combined_images = tf.concat([generated_images, real_images], axis=0)

        # Assemble labels discriminating real from fake images
        labels = tf.concat([tf.ones((batch_size, 1)), tf.zeros((batch_size, 1))], axis=0)
        # Add random noise to the labels - important trick!
        labels += 0.05 * tf.random.uniform(tf.shape(labels))

        # Train the discriminator
        with tf.GradientTape() as tape:
            predictions = self.discriminator(combined_images)
            d_loss = self.loss_fn(labels, predictions)
        grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))

        # Sample random points in the latent space
        random_latent_vectors = tf.random.normal(shape=(batch_size, self.latent_dim))

        # Assemble labels that say "all real images"
        misleading_labels = tf.zeros((batch_size, 1))

        # Train the generator (note that we should *not* update the weights
        # of the discriminator)!
        with tf.GradientTape() as tape:
            predictions = self.discriminator(self.generator(random_latent_vectors))
            g_loss = self.loss_fn(misleading_labels, predictions)
        grads = tape.gradient(g_loss, self.generator.trainable_weights)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))

        # Update metrics
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {
            "d_loss": self.d_loss_tracker.result(),
            "g_loss": self.g_loss_tracker.result(),
        }


# Prepare the dataset: the guide uses MNIST's digits; here a few generated ones (a stroke whose column is
# the digit), scaled to [0, 1].
batch_size = 16
all_digits = np.zeros((48, 28, 28), dtype="uint8")
for image, digit in zip(all_digits, rng.integers(0, 10, 48)):
    image[4:24, 4 + 2 * digit : 6 + 2 * digit] = 255
all_digits = all_digits.astype("float32") / 255.0
all_digits = np.reshape(all_digits, (-1, 28, 28, 1))
dataset = tf.data.Dataset.from_tensor_slices(all_digits)
dataset = dataset.shuffle(buffer_size=1024).batch(batch_size)

gan = GAN(discriminator=discriminator, generator=generator, latent_dim=latent_dim)
gan.compile(
    d_optimizer=keras.optimizers.Adam(learning_rate=0.0003),
    g_optimizer=keras.optimizers.Adam(learning_rate=0.0003),
    loss_fn=keras.losses.BinaryCrossentropy(from_logits=True),
)

generator_before = [w.numpy() for w in generator.weights]
# To limit the execution time, we only train on 3 batches (the guide takes 100).
history = gan.fit(dataset.take(3), epochs=1, verbose=0)
print(history.history)
assert sorted(history.history) == ["d_loss", "g_loss"]
# The generator's weights were changed by its own optimizer only, once a batch.
assert int(gan.g_optimizer.iterations.numpy()) == 3 and int(gan.d_optimizer.iterations.numpy()) == 3
assert all(not np.array_equal(before, w.numpy()) for before, w in zip(generator_before, generator.weights))
assert 0.0 < history.history["d_loss"][0] < 2.0 and np.isfinite(history.history["g_loss"][0])
