"""Mirrors the Keras API pages "Layer weight regularizers" (keras.io/api/layers/regularizers) and
"Layer weight constraints" (keras.io/api/layers/constraints): ``kernel_regularizer`` /
``bias_regularizer`` / ``activity_regularizer`` on a Dense layer, the page's worked example (an L1
kernel penalty of 0.25 and an L2 activity penalty of 5 divided by the batch size: ``layer.losses``
sums to 5.25), the regularizers by name and as classes and functions, a regularizer written as a
function and one as a ``Regularizer`` subclass with ``get_config``; then ``kernel_constraint=max_norm(2.)``
in a model trained with ``fit`` (each unit's incoming weights kept within norm 2 after every
update), NonNeg / UnitNorm / MinMaxNorm, and the page's own ``CenterAround`` constraint.

The pages show snippets; here they run in a small regression model on generated data, and the
penalties are checked against their definitions.
"""

import numpy as np

from cnnlab import keras
from cnnlab.keras import layers, ops, regularizers

rng = np.random.default_rng(8)

layer = layers.Dense(
    units=64,
    kernel_regularizer=regularizers.L1L2(l1=1e-5, l2=1e-4),
    bias_regularizer=regularizers.L2(1e-4),
    activity_regularizer=regularizers.L2(1e-5),
)
probe = rng.random((3, 8)).astype("float32")
output = layer(probe)
kernel, bias = layer.kernel.numpy(), layer.bias.numpy()
expected = [
    1e-5 * np.sum(np.square(output.numpy())) / 3,  # the activity penalty, per sample of the batch
    1e-5 * np.sum(np.abs(kernel)) + 1e-4 * np.sum(np.square(kernel)),
    1e-4 * np.sum(np.square(bias)),
]
np.testing.assert_allclose(sorted(float(loss) for loss in layer.losses), sorted(expected), rtol=1e-5)

# The value returned by the activity_regularizer object gets divided by the input batch size.
layer = layers.Dense(
    5,
    input_dim=5,
    kernel_initializer="ones",
    kernel_regularizer=keras.regularizers.L1(0.01),
    activity_regularizer=keras.regularizers.L2(0.01),
)
tensor = ops.ones(shape=(5, 5)) * 2.0
out = layer(tensor)
# The kernel regularization term is 0.25
# The activity regularization term (after dividing by the batch size) is 5
print(ops.sum(layer.losses))  # 5.25 (= 5 + 0.25)
assert abs(float(ops.sum(layer.losses)) - 5.25) < 1e-5

# Available penalties, by name too
dense = layers.Dense(3, kernel_regularizer="l1", kernel_initializer="ones")
dense(tensor)
assert abs(float(dense.losses[0]) - 0.01 * 15) < 1e-6  # l1 defaults to 0.01
for penalty in (regularizers.L1(0.3), regularizers.L2(0.1), regularizers.L1L2(l1=0.01, l2=0.01)):
    print(type(penalty).__name__, penalty.get_config())
assert regularizers.l1_l2(l1=0.01, l2=0.01).get_config() == {"l1": 0.01, "l2": 0.01}


# Creating custom regularizers: a simple callable
def my_regularizer(x):
    return 1e-3 * ops.sum(ops.square(x))


# ... or a Regularizer subclass, serializable through get_config
class MyRegularizer(regularizers.Regularizer):
    def __init__(self, strength):
        self.strength = strength

    def __call__(self, x):
        return self.strength * ops.sum(ops.square(x))

    def get_config(self):
        return {"strength": self.strength}


inputs = keras.Input((5,))
x = layers.Dense(8, activation="relu", kernel_regularizer=my_regularizer)(inputs)
outputs = layers.Dense(1, kernel_regularizer=MyRegularizer(0.01))(x)
model = keras.Model(inputs, outputs)
first, second = model.layers[1].kernel.numpy(), model.layers[2].kernel.numpy()
np.testing.assert_allclose(
    sorted(float(loss) for loss in model.losses),
    sorted([1e-3 * np.sum(first**2), 0.01 * np.sum(second**2)]),
    rtol=1e-5,
)
rebuilt = keras.Model.from_config(
    model.get_config(), custom_objects={"my_regularizer": my_regularizer, "MyRegularizer": MyRegularizer}
)
assert rebuilt.layers[1].kernel_regularizer is my_regularizer and rebuilt.layers[2].kernel_regularizer.strength == 0.01

# The penalties are part of the loss that fit minimises, and of what evaluate reports.
x_data = rng.normal(size=(256, 5)).astype("float32")
y_data = (x_data @ rng.normal(size=(5, 1))).astype("float32")
model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
history = model.fit(x_data, y_data, epochs=5, batch_size=32, verbose=0)
assert history.history["loss"][-1] < history.history["loss"][0]
mse = float(np.mean((model.predict(x_data, verbose=0) - y_data) ** 2))
penalty = float(ops.sum(model.losses))
assert penalty > 0 and abs(model.evaluate(x_data, y_data, verbose=0) - (mse + penalty)) < 1e-4

# ---- Layer weight constraints ----------------------------------------------------------------------------

from cnnlab.keras.constraints import max_norm  # noqa: E402  (the page imports it here)

model = keras.Sequential([keras.Input((5,))])
model.add(layers.Dense(64, kernel_constraint=max_norm(2.0), kernel_initializer=keras.initializers.RandomNormal(0, 3)))
model.add(layers.Dense(1))
assert np.linalg.norm(model.layers[0].kernel.numpy(), axis=0).max() > 2.0  # the constraint acts at updates
model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
model.fit(x_data, y_data, epochs=1, batch_size=64, verbose=0)
norms = np.linalg.norm(model.layers[0].kernel.numpy(), axis=0)  # each unit's incoming weights
assert norms.max() <= 2.0 + 1e-5 and norms.min() < 2.0


# Creating custom weight constraints
class CenterAround(keras.constraints.Constraint):
    """Constrains weight tensors to be centered around `ref_value`."""

    def __init__(self, ref_value):
        self.ref_value = ref_value

    def __call__(self, w):
        mean = ops.mean(w)
        return w - mean + self.ref_value

    def get_config(self):
        return {"ref_value": self.ref_value}


model = keras.Sequential(
    [
        keras.Input((5,)),
        layers.Dense(8, kernel_constraint=keras.constraints.NonNeg(), activation="relu"),
        layers.Dense(8, kernel_constraint=keras.constraints.UnitNorm(axis=0)),
        layers.Dense(8, kernel_constraint=keras.constraints.MinMaxNorm(min_value=0.5, max_value=1.0)),
        layers.Dense(1, kernel_constraint=CenterAround(0.5)),
    ]
)
model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
model.fit(x_data, y_data, epochs=1, batch_size=64, verbose=0)
non_neg, unit, min_max, centred = (layer.kernel.numpy() for layer in model.layers)
assert non_neg.min() >= 0.0
np.testing.assert_allclose(np.linalg.norm(unit, axis=0), 1.0, rtol=1e-5)
assert np.all((np.linalg.norm(min_max, axis=0) >= 0.5 - 1e-5) & (np.linalg.norm(min_max, axis=0) <= 1.0 + 1e-5))
assert abs(float(centred.mean()) - 0.5) < 1e-6
