"""Mirrors the Keras example "Variational AutoEncoder" (keras.io/examples/generative/vae): a
``Sampling`` layer holding a ``keras.random.SeedGenerator`` and called on a list of two symbolic
tensors (``Sampling()([z_mean, z_log_var])``) in a functional encoder of three outputs, a
Conv2DTranspose decoder, their summaries and parameter counts, and the ``VAE`` as a ``keras.Model``
subclass holding both models and three ``Mean`` trackers (its ``metrics`` property), whose
``train_step`` computes the reconstruction and KL losses with ``keras.ops`` and
``keras.losses.binary_crossentropy`` under a ``GradientTape`` and applies them with
``self.optimizer.apply_gradients``, compiled with an optimizer only and fit on pictures without
labels; then the latent space decoded over a grid and the test pictures encoded.

The example trains on MNIST for 30 epochs; here the runner's small generated Fashion-MNIST (in the
real file format) takes its place, for 2 epochs.  The plots are drawn on a canvas, not shown.
"""

import numpy as np

import cnnlab as tf
from cnnlab import keras
from cnnlab.keras import layers, ops


class Sampling(layers.Layer):
    """Uses (z_mean, z_log_var) to sample z, the vector encoding a digit."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(1337)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        batch = ops.shape(z_mean)[0]
        dim = ops.shape(z_mean)[1]
        epsilon = keras.random.normal(shape=(batch, dim), seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon


# ---- Build the encoder -----------------------------------------------------------------------------------

latent_dim = 2

encoder_inputs = keras.Input(shape=(28, 28, 1))
x = layers.Conv2D(32, 3, activation="relu", strides=2, padding="same")(encoder_inputs)
x = layers.Conv2D(64, 3, activation="relu", strides=2, padding="same")(x)
x = layers.Flatten()(x)
x = layers.Dense(16, activation="relu")(x)
z_mean = layers.Dense(latent_dim, name="z_mean")(x)
z_log_var = layers.Dense(latent_dim, name="z_log_var")(x)
z = Sampling()([z_mean, z_log_var])
encoder = keras.Model(encoder_inputs, [z_mean, z_log_var, z], name="encoder")
encoder.summary()
assert z.shape == (None, 2) and encoder.count_params() == 69076  # the example's summary

# ---- Build the decoder -----------------------------------------------------------------------------------

latent_inputs = keras.Input(shape=(latent_dim,))
x = layers.Dense(7 * 7 * 64, activation="relu")(latent_inputs)
x = layers.Reshape((7, 7, 64))(x)
x = layers.Conv2DTranspose(64, 3, activation="relu", strides=2, padding="same")(x)
x = layers.Conv2DTranspose(32, 3, activation="relu", strides=2, padding="same")(x)
decoder_outputs = layers.Conv2DTranspose(1, 3, activation="sigmoid", padding="same")(x)
decoder = keras.Model(latent_inputs, decoder_outputs, name="decoder")
decoder.summary()
assert decoder.output_shape == (None, 28, 28, 1) and decoder.count_params() == 65089

# ---- Define the VAE as a Model with a custom train_step --------------------------------------------------


class VAE(keras.Model):
    def __init__(self, encoder, decoder, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.total_loss_tracker = keras.metrics.Mean(name="total_loss")
        self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")

    @property
    def metrics(self):
        return [
            self.total_loss_tracker,
            self.reconstruction_loss_tracker,
            self.kl_loss_tracker,
        ]

    def train_step(self, data):
        with tf.GradientTape() as tape:
            z_mean, z_log_var, z = self.encoder(data)
            reconstruction = self.decoder(z)
            reconstruction_loss = ops.mean(
                ops.sum(
                    keras.losses.binary_crossentropy(data, reconstruction),
                    axis=(1, 2),
                )
            )
            kl_loss = -0.5 * (1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var))
            kl_loss = ops.mean(ops.sum(kl_loss, axis=1))
            total_loss = reconstruction_loss + kl_loss
        grads = tape.gradient(total_loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        self.total_loss_tracker.update_state(total_loss)
        self.reconstruction_loss_tracker.update_state(reconstruction_loss)
        self.kl_loss_tracker.update_state(kl_loss)
        return {
            "loss": self.total_loss_tracker.result(),
            "reconstruction_loss": self.reconstruction_loss_tracker.result(),
            "kl_loss": self.kl_loss_tracker.result(),
        }


# ---- Train the VAE ---------------------------------------------------------------------------------------

(x_train, y_train), (x_test, _) = keras.datasets.fashion_mnist.load_data()
digits = np.concatenate([x_train, x_test], axis=0)
digits = np.expand_dims(digits, -1).astype("float32") / 255
assert digits.shape == (1400, 28, 28, 1)

vae = VAE(encoder, decoder)
assert len(vae.trainable_weights) == len(encoder.trainable_weights) + len(decoder.trainable_weights) == 18
vae.compile(optimizer=keras.optimizers.Adam())
history = vae.fit(digits, epochs=2, batch_size=128, verbose=0)
print(history.history)
assert sorted(history.history) == ["kl_loss", "loss", "reconstruction_loss"]
losses = history.history
assert losses["loss"][1] < losses["loss"][0]
# The total is the sum of its parts, batch by batch and so in the epoch's means.
np.testing.assert_allclose(losses["loss"], np.add(losses["reconstruction_loss"], losses["kl_loss"]), rtol=1e-5)
# 784 pixels of binary cross-entropy each: between a perfect copy (0) and a blind guess (784 * log 2).
assert 0 < losses["reconstruction_loss"][1] < 784 * np.log(2)

# ---- Display a grid of sampled digits --------------------------------------------------------------------

n = 5
digit_size = 28
scale = 1.0
figure = np.zeros((digit_size * n, digit_size * n))
# linearly spaced coordinates corresponding to the 2D plot
# of digit classes in the latent space
grid_x = np.linspace(-scale, scale, n)
grid_y = np.linspace(-scale, scale, n)[::-1]

for i, yi in enumerate(grid_y):
    for j, xi in enumerate(grid_x):
        z_sample = np.array([[xi, yi]])
        x_decoded = vae.decoder.predict(z_sample, verbose=0)
        digit = x_decoded[0].reshape(digit_size, digit_size)
        figure[
            i * digit_size : (i + 1) * digit_size,
            j * digit_size : (j + 1) * digit_size,
        ] = digit
assert 0.0 <= figure.min() and figure.max() <= 1.0  # sigmoid pixels
assert not np.allclose(figure[:digit_size, :digit_size], figure[-digit_size:, -digit_size:])  # z matters

# ---- Display how the latent space clusters different classes ---------------------------------------------

x_train = np.expand_dims(x_train, -1).astype("float32") / 255
z_mean, _, _ = vae.encoder.predict(x_train, verbose=0)
assert z_mean.shape == (1200, 2)
# The encoder's means do not depend on the sampling: the same pictures give the same means (up to the
# rounding of another batch size), and its samples z do.
z_mean_again, _, z_sample = vae.encoder.predict(x_train[:10], verbose=0)
np.testing.assert_allclose(z_mean_again, z_mean[:10], rtol=1e-5, atol=1e-6)
assert not np.allclose(z_sample, z_mean_again)
