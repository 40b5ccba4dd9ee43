"""Mirrors TensorFlow's guide "Basic training loops" (tensorflow.org/guide/basic_training_loops):
noisy samples of the line y = 3x + 2 made with ``tf.linspace`` and ``tf.random.normal``, a linear
model as a ``tf.Module`` holding two ``tf.Variable``s, a mean-squared-error loss, a training step
with a ``GradientTape`` and ``assign_sub``, and a training loop printing the guide's report each
epoch.  The guide's plots are written to PNG files on the Agg backend.

Then the guide's Keras half: the same model as a ``tf.keras.Model`` keeping its two Variables
as attributes, trained by the same loop, its weights saved, then compiled and trained with
``fit`` on the whole set as one batch.
"""

import re

import matplotlib.pyplot as plt

import cnnlab as tf

# The actual line
TRUE_W = 3.0
TRUE_B = 2.0

NUM_EXAMPLES = 201

# A vector of 201 points from -2 to 2
x = tf.linspace(-2, 2, NUM_EXAMPLES)
x = tf.cast(x, tf.float32)


def f(x):
    return x * TRUE_W + TRUE_B


# Generate some noise
noise = tf.random.normal(shape=[NUM_EXAMPLES])

# Calculate y
y = f(x) + noise
assert x.shape == (201,) and y.shape == (201,) and y.dtype == tf.float32

plt.plot(x, y, ".")
plt.savefig("data.png", dpi=40)
plt.close()


class MyModel(tf.Module):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # Initialize the weights to `5.0` and the bias to `0.0`
        # In practice, these should be randomly initialized
        self.w = tf.Variable(5.0)
        self.b = tf.Variable(0.0)

    def __call__(self, x):
        return self.w * x + self.b


model = MyModel()

# List the variables tf.modules's built-in variable aggregation.
print("Variables:", model.variables)
assert len(model.variables) == 2

# Verify the model works
assert model(3.0).numpy() == 15.0


# This computes a single loss value for an entire batch
def loss(target_y, predicted_y):
    return tf.reduce_mean(tf.square(target_y - predicted_y))


plt.plot(x, y, ".", label="Data")
plt.plot(x, f(x), label="Ground truth")
plt.plot(x, model(x), label="Predictions")
plt.legend()
plt.savefig("before_training.png", dpi=40)
plt.close()

print("Current loss: %1.6f" % loss(y, model(x)).numpy())


# Given a callable model, inputs, outputs, and a learning rate...
def train(model, x, y, learning_rate):
    with tf.GradientTape() as t:
        # Trainable variables are automatically tracked by GradientTape
        current_loss = loss(y, model(x))

    # Use GradientTape to calculate the gradients with respect to W and b
    dw, db = t.gradient(current_loss, [model.w, model.b])

    # Subtract the gradient scaled by the learning rate
    model.w.assign_sub(learning_rate * dw)
    model.b.assign_sub(learning_rate * db)


# Collect the history of W-values and b-values to plot later
weights = []
biases = []
epochs = range(10)
reports = []


def report(model, loss):
    return f"W = {model.w.numpy():1.2f}, b = {model.b.numpy():1.2f}, loss={loss:2.5f}"


def training_loop(model, x, y):
    for epoch in epochs:
        # Update the model with the single giant batch
        train(model, x, y, learning_rate=0.1)

        # Track this before I update
        weights.append(model.w.numpy())
        biases.append(model.b.numpy())
        current_loss = loss(y, model(x))

        print(f"Epoch {epoch:2d}:")
        print("    ", report(model, current_loss))
        reports.append(report(model, current_loss))


current_loss = loss(y, model(x))

print("Starting:")
print("    ", report(model, current_loss))
starting_loss = float(current_loss)

training_loop(model, x, y)

values = [re.fullmatch(r"W = (-?\d+\.\d\d), b = (-?\d+\.\d\d), loss=(\d+\.\d{5})", line).groups() for line in reports]
losses = [float(v[2]) for v in values]
assert losses == sorted(losses, reverse=True) and losses[0] < starting_loss
assert abs(weights[-1] - TRUE_W) < 0.5 and abs(biases[-1] - TRUE_B) < 0.5  # near the true line after 10 steps
assert losses[-1] < 1.5  # the noise's variance is 1

plt.plot(epochs, weights, label="Weights", color="C0")
plt.plot(epochs, [TRUE_W] * len(epochs), "--", label="True weight", color="C0")
plt.plot(epochs, biases, label="bias", color="C1")
plt.plot(epochs, [TRUE_B] * len(epochs), "--", label="True bias", color="C1")
plt.legend()
plt.savefig("weights.png", dpi=40)
plt.close()


# ---- The same solution, but with Keras --------------------------------------------------------


class MyModelKeras(tf.keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # Initialize the weights to `5.0` and the bias to `0.0`
        # In practice, these should be randomly initialized
        self.w = tf.Variable(5.0)
        self.b = tf.Variable(0.0)

    def call(self, x):
        return self.w * x + self.b


keras_model = MyModelKeras()
assert len(keras_model.variables) == 2  # the Variables held as attributes are the model's weights

# Reuse the training loop with a Keras model
weights, biases = [], []
training_loop(keras_model, x, y)
assert abs(weights[-1] - model.w.numpy()) < 1e-5  # the same steps as the tf.Module's

# You can also save a checkpoint using Keras's built-in support
keras_model.save_weights("my_checkpoint.weights.h5")

keras_model = MyModelKeras()

# compile sets the training parameters
keras_model.compile(
    # By default, fit() uses tf.function().  You can
    # turn that off for debugging, but it is on now.
    run_eagerly=False,
    # Using a built-in optimizer, configuring as an object
    optimizer=tf.keras.optimizers.SGD(learning_rate=0.1),
    # Keras comes with built-in MSE error
    # However, you could use the loss function
    # defined above
    loss=tf.keras.losses.mean_squared_error,
)

print(x.shape[0])
history = keras_model.fit(x, y, epochs=10, batch_size=1000, verbose=0)
# One batch of every sample per epoch: fit takes the same ten steps as the loop above.
assert abs(keras_model.w.numpy() - model.w.numpy()) < 1e-5 and abs(keras_model.b.numpy() - model.b.numpy()) < 1e-5
assert history.history["loss"][0] > history.history["loss"][-1]

restored = MyModelKeras()
restored.load_weights("my_checkpoint.weights.h5")
assert abs(restored.w.numpy() - model.w.numpy()) < 1e-5
