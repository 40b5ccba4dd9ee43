"""Mirrors TensorFlow's guide "Introduction to gradients and automatic differentiation"
(tensorflow.org/guide/autodiff):

Gradient tapes on scalars, variables, models' trainable variables, dicts of sources;
what the tape watches; intermediate results; persistent tapes; non-scalar targets;
control flow; the cases where a gradient is None; unconnected gradients as zeros.
Left out: the guide's plot of the sigmoid's derivative (checked by value instead);
cnnlab names variables without TF's ``:0`` suffix.
"""

import numpy as np

import cnnlab as tf

# ---- computing gradients ---------------------------------------------------------------------
x = tf.Variable(3.0)
with tf.GradientTape() as tape:
    y = x**2
# dy = 2x * dx
dy_dx = tape.gradient(y, x)
print(dy_dx.numpy())
assert dy_dx.numpy() == 6.0

w = tf.Variable(tf.random.normal((3, 2)), name="w")
b = tf.Variable(tf.zeros(2, dtype=tf.float32), name="b")
x = [[1.0, 2.0, 3.0]]
with tf.GradientTape(persistent=True) as tape:
    y = x @ w + b
    loss = tf.reduce_mean(y**2)
[dl_dw, dl_db] = tape.gradient(loss, [w, b])
print(w.shape)
print(dl_dw.shape)
assert w.shape == dl_dw.shape == (3, 2)
# d loss / d b = mean over the 2 outputs of 2y: y itself.
np.testing.assert_allclose(dl_db.numpy(), (x @ w + b).numpy()[0], rtol=1e-6)

my_vars = {"w": w, "b": b}
grad = tape.gradient(loss, my_vars)
print(grad["b"])
np.testing.assert_array_equal(grad["b"].numpy(), dl_db.numpy())
del tape

# ---- gradients with respect to a model --------------------------------------------------------
layer = tf.keras.layers.Dense(2, activation="relu")
x = tf.constant([[1.0, 2.0, 3.0]])
with tf.GradientTape() as tape:
    # Forward pass
    y = layer(x)
    loss = tf.reduce_mean(y**2)
# Calculate gradients with respect to every trainable variable
grad = tape.gradient(loss, layer.trainable_variables)
for var, g in zip(layer.trainable_variables, grad):
    print(f"{var.name}, shape: {g.shape}")
assert [(var.name, tuple(g.shape)) for var, g in zip(layer.trainable_variables, grad)] == [
    ("kernel", (3, 2)),
    ("bias", (2,)),
]

# ---- controlling what the tape watches --------------------------------------------------------
# A trainable variable
x0 = tf.Variable(3.0, name="x0")
# Not trainable
x1 = tf.Variable(3.0, name="x1", trainable=False)
# Not a Variable: A variable + tensor returns a tensor.
x2 = tf.Variable(2.0, name="x2") + 1.0
# Not a variable
x3 = tf.constant(3.0, name="x3")
with tf.GradientTape() as tape:
    y = (x0**2) + (x1**2) + (x2**2)
grad = tape.gradient(y, [x0, x1, x2, x3])
for g in grad:
    print(g)
assert grad[0].numpy() == 6.0 and grad[1:] == [None, None, None]
print([var.name for var in tape.watched_variables()])
assert [var.name for var in tape.watched_variables()] == ["x0"]

x = tf.constant(3.0)
with tf.GradientTape() as tape:
    tape.watch(x)
    y = x**2
# dy = 2x * dx
dy_dx = tape.gradient(y, x)
print(dy_dx.numpy())
assert dy_dx.numpy() == 6.0

x0 = tf.Variable(0.0)
x1 = tf.Variable(10.0)
with tf.GradientTape(watch_accessed_variables=False) as tape:
    tape.watch(x1)
    y0 = tf.math.sin(x0)
    y1 = tf.nn.softplus(x1)
    y = y0 + y1
    ys = tf.reduce_sum(y)
# dys/dx1 = exp(x1) / (1 + exp(x1)) = sigmoid(x1)
grad = tape.gradient(ys, {"x0": x0, "x1": x1})
print("dy/dx0:", grad["x0"])
print("dy/dx1:", grad["x1"].numpy())
assert grad["x0"] is None and abs(grad["x1"].numpy() - 0.9999546) < 1e-7

# ---- intermediate results -----------------------------------------------------------------------
x = tf.constant(3.0)
with tf.GradientTape() as tape:
    tape.watch(x)
    y = x * x
    z = y * y
# Use the tape to compute the gradient of z with respect to the intermediate value y.
# dz_dy = 2 * y and y = x ** 2 = 9
dz_dy = tape.gradient(z, y)
print(dz_dy.numpy())
assert dz_dy.numpy() == 18.0

x = tf.constant([1, 3.0])
with tf.GradientTape(persistent=True) as tape:
    tape.watch(x)
    y = x * x
    z = y * y
print(tape.gradient(z, x).numpy())  # [4.0, 108.0] (4 * x**3 at x = [1.0, 3.0])
print(tape.gradient(y, x).numpy())  # [2.0, 6.0] (2 * x at x = [1.0, 3.0])
assert tape.gradient(z, x).numpy().tolist() == [4.0, 108.0] and tape.gradient(y, x).numpy().tolist() == [2.0, 6.0]
del tape  # Drop the reference to the tape

x = tf.constant(3.0)
with tf.GradientTape() as tape:
    tape.watch(x)
    y = x * x
    z = y * y
tape.gradient(z, y)
try:
    tape.gradient(z, x)  # a non-persistent tape gives one gradient
except RuntimeError as error:
    print("RuntimeError:", error)
else:
    raise AssertionError("a second gradient from a non-persistent tape must fail")

# ---- gradients of non-scalar targets ---------------------------------------------------------------
x = tf.Variable(2.0)
with tf.GradientTape(persistent=True) as tape:
    y0 = x**2
    y1 = 1 / x
print(tape.gradient(y0, x).numpy())
print(tape.gradient(y1, x).numpy())
assert tape.gradient(y0, x).numpy() == 4.0 and tape.gradient(y1, x).numpy() == -0.25

x = tf.Variable(2.0)
with tf.GradientTape() as tape:
    y0 = x**2
    y1 = 1 / x
summed = tape.gradient({"y0": y0, "y1": y1}, x)
print(summed.numpy())
assert summed.numpy() == 3.75

x = tf.Variable(2.0)
with tf.GradientTape() as tape:
    y = x * [3.0, 4.0]
summed = tape.gradient(y, x)
print(summed.numpy())
assert summed.numpy() == 7.0

x = tf.linspace(-10.0, 10.0, 200 + 1)
with tf.GradientTape() as tape:
    tape.watch(x)
    y = tf.nn.sigmoid(x)
dy_dx = tape.gradient(y, x)
# The guide plots y and dy/dx: the derivative is a bump, 0.25 at 0, symmetric, vanishing at the ends.
assert dy_dx.shape == (201,) and abs(dy_dx.numpy()[100] - 0.25) < 1e-7
np.testing.assert_allclose(dy_dx.numpy(), dy_dx.numpy()[::-1], rtol=1e-5, atol=1e-6)
assert dy_dx.numpy()[0] < 1e-4

# ---- control flow -----------------------------------------------------------------------------------
x = tf.constant(1.0)
v0 = tf.Variable(2.0)
v1 = tf.Variable(2.0)
with tf.GradientTape(persistent=True) as tape:
    tape.watch(x)
    if x > 0.0:
        result = v0
    else:
        result = v1**2
dv0, dv1 = tape.gradient(result, [v0, v1])
print(dv0)
print(dv1)
assert dv0.numpy() == 1.0 and dv1 is None
dx = tape.gradient(result, x)
print(dx)
assert dx is None

# ---- cases where gradient returns None ----------------------------------------------------------------
x = tf.Variable(2.0)
y = tf.Variable(3.0)
with tf.GradientTape() as tape:
    z = y * y
dy_dx = tape.gradient(z, x)
print(dy_dx)
assert dy_dx is None

# 1. Replaced a variable with a tensor
x = tf.Variable(2.0)
seen = []
for epoch in range(2):
    with tf.GradientTape() as tape:
        y = x + 1
    gradient = tape.gradient(y, x)
    print(type(x).__name__, ":", gradient)
    seen.append(None if gradient is None else gradient.numpy())
    x = x + 1  # This should be `x.assign_add(1)`
assert seen == [1.0, None]

# 2. Did calculations outside of TensorFlow
x = tf.Variable([[1.0, 2.0], [3.0, 4.0]], dtype=tf.float32)
with tf.GradientTape() as tape:
    x2 = x**2
    # This step is calculated with NumPy
    y = np.mean(x2, axis=0)
    # Like most ops, reduce_mean will cast the NumPy array to a constant tensor
    # using `tf.convert_to_tensor`.
    y = tf.reduce_mean(y, axis=0)
gradient = tape.gradient(y, x)
print(gradient)
assert gradient is None

# 3. Took gradients through an integer or string
x = tf.constant(10)
with tf.GradientTape() as g:
    g.watch(x)
    y = x * x
gradient = g.gradient(y, x)
print(gradient)
assert gradient is None

# 4. Took gradients through a stateful object
x0 = tf.Variable(3.0)
x1 = tf.Variable(0.0)
with tf.GradientTape() as tape:
    # Update x1 = x1 + x0.
    x1.assign_add(x0)
    # The tape starts recording from x1.
    y = x1**2  # y = (x1 + x0)**2
# This doesn't work.
gradient = tape.gradient(y, x0)  # dy/dx0 = 2*(x1 + x0)
print(gradient)
assert gradient is None

# ---- zeros instead of None ------------------------------------------------------------------------------
x = tf.Variable([2.0, 2.0])
y = tf.Variable(3.0)
with tf.GradientTape() as tape:
    z = y**2
zeros = tape.gradient(z, x, unconnected_gradients=tf.UnconnectedGradients.ZERO)
print(zeros)
assert str(zeros) == "tf.Tensor([0. 0.], shape=(2,), dtype=float32)"
print("All the guide's outputs checked.")
