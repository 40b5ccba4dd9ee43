"""Mirrors keras.io's guide "The Sequential model" (keras.io/guides/sequential_model): a Sequential
model of three named Dense layers called on ``keras.ops.ones`` and the same computation as three
layer calls, ``model.layers``, ``add`` and ``pop``, a named model, weights created on the first
call (a layer's, then a model's), ``keras.Input`` at the start and ``model.summary()`` after each
``add`` in the guide's debugging workflow of strided Conv2D / MaxPooling2D layers on 250x250 RGB
images (output shapes 123, 121, 40, then 4), feature extraction with
``keras.Model(inputs=initial_model.inputs, outputs=[layer.output for layer in initial_model.layers])``
and from one layer found by ``get_layer(name=...)``, and transfer learning by freezing all layers
but the last one before ``fit``.

On ``keras.ops.ones`` inputs as in the guide, and small generated arrays for the final ``fit``.
"""

import contextlib
import io

import numpy as np

from cnnlab import keras
from cnnlab.keras import layers, ops

# Define Sequential model with 3 layers
model = keras.Sequential(
    [
        layers.Dense(2, activation="relu", name="layer1"),
        layers.Dense(3, activation="relu", name="layer2"),
        layers.Dense(4, name="layer3"),
    ]
)
# Call model on a test input
x = ops.ones((3, 3))
y = model(x)
assert y.shape == (3, 4)

# The same function as three layer calls (with the model's layers, so with the same weights)
layer1, layer2, layer3 = model.layers
np.testing.assert_allclose(layer3(layer2(layer1(x))).numpy(), y.numpy(), rtol=1e-6)
assert [layer.name for layer in model.layers] == ["layer1", "layer2", "layer3"]

model = keras.Sequential()
model.add(layers.Dense(2, activation="relu"))
model.add(layers.Dense(3, activation="relu"))
model.add(layers.Dense(4))

model.pop()
print(len(model.layers))  # 2
assert len(model.layers) == 2

model = keras.Sequential(name="my_sequential")
model.add(layers.Dense(2, activation="relu", name="layer1"))
model.add(layers.Dense(3, activation="relu", name="layer2"))
model.add(layers.Dense(4, name="layer3"))
assert model.name == "my_sequential"

layer = layers.Dense(3)
print(layer.weights)  # Empty
assert layer.weights == []

# Call layer on a test input
x = ops.ones((1, 4))
y = layer(x)
print(layer.weights)  # Now it has weights, of shape (4, 3) and (3,)
assert [w.shape for w in layer.weights] == [(4, 3), (3,)]

# Sequential model without an input shape: no weights at this stage.
model = keras.Sequential(
    [
        layers.Dense(2, activation="relu"),
        layers.Dense(3, activation="relu"),
        layers.Dense(4),
    ]
)

# Call the model on a test input
x = ops.ones((1, 4))
y = model(x)
print("Number of weights after calling the model:", len(model.weights))  # 6
assert len(model.weights) == 6


def summary_of(model):
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        model.summary()
    print(printed.getvalue(), end="")
    return [
        tuple(cell.strip() for cell in line.strip("│").split("│"))
        for line in printed.getvalue().splitlines()
        if line.startswith("│")
    ]


# (Keras shows the output shapes with the batch size of that first call, (1, 2) ...; cnnlab with None.)
assert [(row[0], row[2]) for row in summary_of(model)] == [
    ("dense (Dense)", "10"),
    ("dense_1 (Dense)", "9"),
    ("dense_2 (Dense)", "16"),
]

model = keras.Sequential()
model.add(keras.Input(shape=(4,)))
model.add(layers.Dense(2, activation="relu"))

assert summary_of(model) == [("dense (Dense)", "(None, 2)", "10")]
print(model.layers)
assert len(model.layers) == 1 and isinstance(model.layers[0], layers.Dense)

# A common debugging workflow: add() + summary()
model = keras.Sequential()
model.add(keras.Input(shape=(250, 250, 3)))  # 250x250 RGB images
model.add(layers.Conv2D(32, 5, strides=2, activation="relu"))
model.add(layers.Conv2D(32, 3, activation="relu"))
model.add(layers.MaxPooling2D(3))

# Can you guess what the current output shape is at this point? Probably not.
# Let's just print it:
assert [row[1] for row in summary_of(model)] == ["(None, 123, 123, 32)", "(None, 121, 121, 32)", "(None, 40, 40, 32)"]

# The answer was: (40, 40, 32), so we can keep downsampling...

model.add(layers.Conv2D(32, 3, activation="relu"))
model.add(layers.Conv2D(32, 3, activation="relu"))
model.add(layers.MaxPooling2D(3))
model.add(layers.Conv2D(32, 3, activation="relu"))
model.add(layers.Conv2D(32, 3, activation="relu"))
model.add(layers.MaxPooling2D(2))

# And now?
rows = summary_of(model)
assert rows[-1] == ("max_pooling2d_2 (MaxPooling2D)", "(None, 4, 4, 32)", "0")

# Now that we have 4x4 feature maps, time to apply global max pooling.
model.add(layers.GlobalMaxPooling2D())

# Finally, we add a classification layer.
model.add(layers.Dense(10))
assert model.output_shape == (None, 10)

# ---- feature extraction ---------------------------------------------------------------------
initial_model = keras.Sequential(
    [
        keras.Input(shape=(250, 250, 3)),
        layers.Conv2D(32, 5, strides=2, activation="relu"),
        layers.Conv2D(32, 3, activation="relu"),
        layers.Conv2D(32, 3, activation="relu"),
    ]
)
feature_extractor = keras.Model(
    inputs=initial_model.inputs,
    outputs=[layer.output for layer in initial_model.layers],
)

# Call feature extractor on test input.
x = ops.ones((1, 250, 250, 3))
features = feature_extractor(x)
assert [f.shape for f in features] == [(1, 123, 123, 32), (1, 121, 121, 32), (1, 119, 119, 32)]
np.testing.assert_allclose(features[-1].numpy(), initial_model(x).numpy(), rtol=1e-5, atol=1e-6)

initial_model = keras.Sequential(
    [
        keras.Input(shape=(250, 250, 3)),
        layers.Conv2D(32, 5, strides=2, activation="relu"),
        layers.Conv2D(32, 3, activation="relu", name="my_intermediate_layer"),
        layers.Conv2D(32, 3, activation="relu"),
    ]
)
feature_extractor = keras.Model(
    inputs=initial_model.inputs,
    outputs=initial_model.get_layer(name="my_intermediate_layer").output,
)
# Call feature extractor on test input.
x = ops.ones((1, 250, 250, 3))
features = feature_extractor(x)
assert features.shape == (1, 121, 121, 32)

# ---- transfer learning --------------------------------------------------------------------------
model = keras.Sequential(
    [
        keras.Input(shape=(784,)),
        layers.Dense(32, activation="relu"),
        layers.Dense(32, activation="relu"),
        layers.Dense(32, activation="relu"),
        layers.Dense(10),
    ]
)

# Presumably you would want to first load pre-trained weights: here, the weights of another such model.
pretrained = keras.models.clone_model(model)
model.set_weights(pretrained.get_weights())

# Freeze all layers except the last one.
for layer in model.layers[:-1]:
    layer.trainable = False

# Recompile and train (this will only update the weights of the last layer).
rng = np.random.default_rng(7)
x_train, y_train = rng.random((128, 784)).astype("float32"), rng.integers(0, 10, 128)
model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
before = [w.numpy() for w in model.weights]
model.fit(x_train, y_train, epochs=2, verbose=0)
after = [w.numpy() for w in model.weights]
changed = [not np.array_equal(a, b) for a, b in zip(before, after)]
assert changed == [False] * 6 + [True, True]
assert len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 6
