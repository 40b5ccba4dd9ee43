"""Mirrors TensorFlow's tutorial "Intro to Autoencoders" (tensorflow.org/tutorials/generative/autoencoder),
its first two parts: a subclassed ``Model`` holding an encoder and a decoder ``Sequential`` as
attributes (Flatten / Dense(latent_dim) and Dense / Reshape), trained on Fashion-MNIST to rebuild its
input with a ``MeanSquaredError`` loss, images encoded and decoded by ``autoencoder.encoder`` /
``autoencoder.decoder``; then a denoising convolutional autoencoder (strided Conv2D encoder,
Conv2DTranspose decoder and their summaries) trained on images with ``tf.random.normal`` noise clipped
by ``tf.clip_by_value``.  The tutorial's figures are written to PNG files on the Agg backend.

The runner points $CNNLAB_DATA at a small generated Fashion-MNIST in the real file format (1,200
training and 200 test images); fewer epochs than the tutorial.  The third part (anomaly detection on
ECG data read with pandas from a URL) is left out: the suite never reaches the network.
"""

import contextlib
import io

import matplotlib.pyplot as plt
import numpy as np

import cnnlab as tf
from cnnlab.keras import layers, losses
from cnnlab.keras.datasets import fashion_mnist
from cnnlab.keras.models import Model

(x_train, _), (x_test, _) = fashion_mnist.load_data()

x_train = x_train.astype("float32") / 255.0
x_test = x_test.astype("float32") / 255.0

print(x_train.shape)
print(x_test.shape)
assert x_train.shape[1:] == (28, 28) and x_test.dtype == np.float32


class Autoencoder(Model):
    def __init__(self, latent_dim, shape):
        super().__init__()
        self.latent_dim = latent_dim
        self.shape = shape
        self.encoder = tf.keras.Sequential(
            [
                layers.Flatten(),
                layers.Dense(latent_dim, activation="relu"),
            ]
        )
        self.decoder = tf.keras.Sequential(
            [
                layers.Dense(tf.math.reduce_prod(shape).numpy(), activation="sigmoid"),
                layers.Reshape(shape),
            ]
        )

    def call(self, x):
        encoded = self.encoder(x)
        decoded = self.decoder(encoded)
        return decoded


shape = x_test.shape[1:]
latent_dim = 64
autoencoder = Autoencoder(latent_dim, shape)

autoencoder.compile(optimizer="adam", loss=losses.MeanSquaredError())

history = autoencoder.fit(x_train, x_train, epochs=5, shuffle=True, validation_data=(x_test, x_test))
assert history.history["loss"][-1] < history.history["loss"][0] / 2
assert history.history["val_loss"][-1] < history.history["val_loss"][0]

encoded_imgs = autoencoder.encoder(x_test).numpy()
decoded_imgs = autoencoder.decoder(encoded_imgs).numpy()
assert encoded_imgs.shape == (len(x_test), 64) and decoded_imgs.shape == x_test.shape
assert np.all(encoded_imgs >= 0) and np.all((decoded_imgs > 0) & (decoded_imgs < 1))
np.testing.assert_allclose(np.mean((decoded_imgs - x_test) ** 2), history.history["val_loss"][-1], rtol=1e-4)
# The subclassed model tracks the layers of the two Sequential models it holds.
assert [w.shape for w in autoencoder.trainable_weights] == [(784, 64), (64,), (64, 784), (784,)]

n = 10
plt.figure(figsize=(20, 4))
for i in range(n):
    # display original
    ax = plt.subplot(2, n, i + 1)
    plt.imshow(x_test[i])
    plt.title("original")
    plt.gray()
    ax.get_xaxis().set_visible(False)
    ax.get_yaxis().set_visible(False)

    # display reconstruction
    ax = plt.subplot(2, n, i + 1 + n)
    plt.imshow(decoded_imgs[i])
    plt.title("reconstructed")
    plt.gray()
    ax.get_xaxis().set_visible(False)
    ax.get_yaxis().set_visible(False)
plt.savefig("reconstructed.png", dpi=30)
plt.close()

# ---- image denoising ------------------------------------------------------------------------
x_train = x_train[..., tf.newaxis]
x_test = x_test[..., tf.newaxis]

print(x_train.shape)

noise_factor = 0.2
x_train_noisy = x_train + noise_factor * tf.random.normal(shape=x_train.shape)
x_test_noisy = x_test + noise_factor * tf.random.normal(shape=x_test.shape)

x_train_noisy = tf.clip_by_value(x_train_noisy, clip_value_min=0.0, clip_value_max=1.0)
x_test_noisy = tf.clip_by_value(x_test_noisy, clip_value_min=0.0, clip_value_max=1.0)
assert x_train_noisy.shape == x_train.shape and float(tf.reduce_min(x_test_noisy)) >= 0.0

n = 10
plt.figure(figsize=(20, 2))
for i in range(n):
    ax = plt.subplot(1, n, i + 1)
    plt.title("original + noise")
    plt.imshow(tf.squeeze(x_test_noisy[i]))
    plt.gray()
plt.savefig("noisy.png", dpi=30)
plt.close()


class Denoise(Model):
    def __init__(self):
        super().__init__()
        self.encoder = tf.keras.Sequential(
            [
                layers.Input(shape=(28, 28, 1)),
                layers.Conv2D(16, (3, 3), activation="relu", padding="same", strides=2),
                layers.Conv2D(8, (3, 3), activation="relu", padding="same", strides=2),
            ]
        )

        self.decoder = tf.keras.Sequential(
            [
                layers.Conv2DTranspose(8, kernel_size=3, strides=2, activation="relu", padding="same"),
                layers.Conv2DTranspose(16, kernel_size=3, strides=2, activation="relu", padding="same"),
                layers.Conv2D(1, kernel_size=(3, 3), activation="sigmoid", padding="same"),
            ]
        )

    def call(self, x):
        encoded = self.encoder(x)
        decoded = self.decoder(encoded)
        return decoded


autoencoder = Denoise()

autoencoder.compile(optimizer="adam", loss=losses.MeanSquaredError())

history = autoencoder.fit(
    x_train_noisy, x_train, epochs=3, shuffle=True, validation_data=(x_test_noisy, x_test), verbose=2
)
assert history.history["loss"][-1] < history.history["loss"][0]


def rows_of_summary(model):
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        model.summary()
    print(printed.getvalue(), end="")
    lines = printed.getvalue().splitlines()
    rows = [tuple(cell.strip() for cell in line.strip("│").split("│")) for line in lines if line.startswith("│")]
    # A long layer name wraps onto a second line of its row (as Keras's rich table does), the other cells empty.
    return [row for row in rows if row[1]], lines[-3]


rows, total = rows_of_summary(autoencoder.encoder)
assert [row[1:] for row in rows] == [("(None, 14, 14, 16)", "160"), ("(None, 7, 7, 8)", "1,160")]
assert total == " Total params: 1,320 (5.16 KB)"
rows, total = rows_of_summary(autoencoder.decoder)
assert [row[1:] for row in rows] == [
    ("(None, 14, 14, 8)", "584"),
    ("(None, 28, 28, 16)", "1,168"),
    ("(None, 28, 28, 1)", "145"),
]
assert total == " Total params: 1,897 (7.41 KB)"

encoded_imgs = autoencoder.encoder(x_test_noisy).numpy()
decoded_imgs = autoencoder.decoder(encoded_imgs).numpy()
assert encoded_imgs.shape == (len(x_test), 7, 7, 8) and decoded_imgs.shape == x_test.shape
# The noisy test images denoised, against the clean ones: the last epoch's validation loss.
np.testing.assert_allclose(np.mean((decoded_imgs - x_test) ** 2), history.history["val_loss"][-1], rtol=1e-4)
assert history.history["val_loss"][-1] < history.history["val_loss"][0]

n = 10
plt.figure(figsize=(20, 4))
for i in range(n):
    # display original + noise
    ax = plt.subplot(2, n, i + 1)
    plt.title("original + noise")
    plt.imshow(tf.squeeze(x_test_noisy[i]))
    plt.gray()
    ax.get_xaxis().set_visible(False)
    ax.get_yaxis().set_visible(False)

    # display reconstruction
    bx = plt.subplot(2, n, i + n + 1)
    plt.title("reconstructed")
    plt.imshow(tf.squeeze(decoded_imgs[i]))
    plt.gray()
    bx.get_xaxis().set_visible(False)
    bx.get_yaxis().set_visible(False)
plt.savefig("denoised.png", dpi=30)
plt.close()
