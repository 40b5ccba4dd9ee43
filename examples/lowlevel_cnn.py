"""A clothing classifier written with cnnlab's low-level, TensorFlow-style API.

The network is the classic small CNN (Conv2D 10 3x3 same + ReLU -> 2x2 max pooling ->
Dense 100 + ReLU -> Dense 10) written out by hand: the weights are ``tf.Variable``s, the
forward pass is ``tf.nn.conv2d`` / ``tf.nn.max_pool2d`` / ``tf.matmul``, the gradients
come from a ``tf.GradientTape`` and plain SGD applies them.  Replace ``import cnnlab as
tf`` by ``import tensorflow as tf`` and it runs unchanged in TensorFlow 2 (only the
train / validation split comes from cnnlab.datasets).

Run it (about 10 seconds per epoch on a 2-core CPU; 20 epochs by default):

    .venv/bin/python examples/lowlevel_cnn.py --epochs 20

and it prints the training and validation loss and accuracy of every epoch, then the
test accuracy.
"""

import argparse
import time

import numpy as np

import cnnlab as tf
from cnnlab.datasets import train_val_split


class LowLevelCNN:
    """Conv2D(10, 3x3, same, relu) -> MaxPool(2) -> Dense(100, relu) -> Dense(10), trained by SGD.

    Args:
        learning_rate: the SGD step size.
        seed: the seed of the initial weights and of the shuffling.

    After ``fit``, ``history`` holds 'loss', 'accuracy', 'val_loss' and 'val_accuracy',
    one value per epoch.
    """

    def __init__(self, learning_rate=0.01, seed=42):
        tf.random.set_seed(seed)
        glorot = tf.keras.initializers.GlorotUniform()
        self.filters = tf.Variable(glorot((3, 3, 1, 10)), name="conv/kernel")  # HWIO
        self.conv_bias = tf.Variable(tf.zeros([10]), name="conv/bias")
        self.w_hidden = tf.Variable(glorot((14 * 14 * 10, 100)), name="hidden/kernel")
        self.b_hidden = tf.Variable(tf.zeros([100]), name="hidden/bias")
        self.w_out = tf.Variable(glorot((100, 10)), name="output/kernel")
        self.b_out = tf.Variable(tf.zeros([10]), name="output/bias")
        self.variables = [self.filters, self.conv_bias, self.w_hidden, self.b_hidden, self.w_out, self.b_out]
        self.optimizer = tf.keras.optimizers.SGD(learning_rate=learning_rate)
        self.rng = np.random.default_rng(seed)
        self.history = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []}

    def logits(self, images):
        """Unnormalised class scores, shape (n, 10), of float32 images of shape (n, 28, 28, 1)."""
        x = tf.nn.conv2d(images, self.filters, strides=1, padding="SAME")
        x = tf.nn.relu(tf.nn.bias_add(x, self.conv_bias))
        x = tf.nn.max_pool2d(x, ksize=2, strides=2, padding="VALID")
        x = tf.reshape(x, [-1, 14 * 14 * 10])
        x = tf.nn.relu(tf.matmul(x, self.w_hidden) + self.b_hidden)
        return tf.matmul(x, self.w_out) + self.b_out

    def _loss(self, images, labels):
        return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=self.logits(images)))

    def train_step(self, images, labels):
        """One SGD step on a batch; returns the batch's mean loss before the step."""
        with tf.GradientTape() as tape:
            loss = self._loss(images, labels)
        gradients = tape.gradient(loss, self.variables)
        self.optimizer.apply_gradients(zip(gradients, self.variables))
        return float(loss)

    def fit(self, x, y, epochs=20, batch_size=128, validation_data=None):
        """Trains on (x, y) for ``epochs`` passes in shuffled batches, recording the history per epoch."""
        for epoch in range(epochs):
            started = time.perf_counter()
            order = self.rng.permutation(len(x))
            losses = [
                self.train_step(x[batch], y[batch])
                for batch in np.array_split(order, -(-len(x) // batch_size))
            ]
            self.history["loss"].append(float(np.mean(losses)))  # the mean over the epoch's batches, as Keras
            self.history["accuracy"].append(self.score(x, y))
            if validation_data is not None:
                x_val, y_val = validation_data
                self.history["val_loss"].append(self.loss(x_val, y_val))
                self.history["val_accuracy"].append(self.score(x_val, y_val))
            report = "  ".join(f"{key} {values[-1]:.4f}" for key, values in self.history.items() if values)
            print(f"epoch {epoch + 1}/{epochs}  {report}  ({time.perf_counter() - started:.0f} s)", flush=True)
        return self.history

    def predict(self, x, batch_size=1000):
        """Class probabilities, shape (n, 10)."""
        batches = range(0, len(x), batch_size)
        return np.concatenate([tf.nn.softmax(self.logits(x[i : i + batch_size])).numpy() for i in batches])

    def loss(self, x, y, batch_size=1000):
        """Mean cross-entropy over (x, y)."""
        total = 0.0
        for i in range(0, len(x), batch_size):
            total += float(self._loss(x[i : i + batch_size], y[i : i + batch_size])) * len(y[i : i + batch_size])
        return total / len(x)

    def score(self, x, y):
        """Accuracy: the fraction of images whose most probable class is the label."""
        return float(np.mean(self.predict(x).argmax(axis=1) == y))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    (x_train, y_train), (x_test, y_test) = tf.keras.datasets.fashion_mnist.load_data()
    (x_train, y_train), (x_val, y_val) = train_val_split(x_train, y_train, val_fraction=0.2, seed=args.seed)

    def as_input(images):  # uint8 (n, 28, 28) -> float32 (n, 28, 28, 1) in [0, 1]
        return (images.astype(np.float32) / 255.0)[..., None]

    model = LowLevelCNN(learning_rate=args.lr, seed=args.seed)
    x_train, x_val, x_test = as_input(x_train), as_input(x_val), as_input(x_test)
    y_train, y_val, y_test = (labels.astype(np.int64) for labels in (y_train, y_val, y_test))
    model.fit(x_train, y_train, epochs=args.epochs, batch_size=args.batch_size, validation_data=(x_val, y_val))
    print(f"validation accuracy: {model.history['val_accuracy'][-1]:.4f}")
    print(f"test accuracy: {model.score(x_test, y_test):.4f}")


if __name__ == "__main__":
    main()
