"""Mirrors the guide "Save, serialize, and export models" (keras.io/guides/serialization_and_saving,
also TensorFlow's "Save and load Keras models"), its configuration part: get_config / from_config
for layers, Sequential and functional models, to_json / model_from_json, custom objects (registered
with register_keras_serializable, or given through custom_object_scope), layers.serialize /
deserialize, and moving weights between models with get_weights / set_weights; then the whole
model saved and loaded.

On generated arrays of the guide's shapes (32 features, 784 pixels).
"""

import json

import numpy as np

import cnnlab as tf

keras = tf.keras


# ---- layers and models from their config -------------------------------------------------------------

layer = keras.layers.Dense(3, activation="relu")
layer_config = layer.get_config()
new_layer = keras.layers.Dense.from_config(layer_config)
assert new_layer.get_config() == layer_config and layer_config["units"] == 3

model = keras.Sequential([keras.Input((32,)), keras.layers.Dense(1)])
config = model.get_config()
new_model = keras.Sequential.from_config(config)
assert new_model.get_config() == config and new_model.count_params() == 33

inputs = keras.Input((32,))
outputs = keras.layers.Dense(1)(inputs)
model = keras.Model(inputs, outputs)
config = model.get_config()
new_model = keras.Model.from_config(config)
assert new_model.get_config() == config and new_model.output_shape == (None, 1)

# ---- to_json / model_from_json -----------------------------------------------------------------------

model = keras.Sequential([keras.Input((32,)), keras.layers.Dense(1)])
json_config = model.to_json()
new_model = keras.models.model_from_json(json_config)
assert new_model.to_json() == json_config
description = json.loads(json_config)
assert (description["module"], description["class_name"]) == ("keras", "Sequential")
assert {"module", "class_name", "config", "registered_name", "build_config"} <= set(description)

# ---- custom objects ----------------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="MyLayers")
class CustomLayer(keras.layers.Layer):
    def __init__(self, factor, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"factor": self.factor})
        return config


@keras.saving.register_keras_serializable(package="my_package", name="custom_fn")
def custom_fn(x):
    return x**2


# Create the model.
def get_model():
    inputs = keras.Input(shape=(4,))
    mid = CustomLayer(0.5)(inputs)
    outputs = keras.layers.Dense(3, activation=custom_fn)(mid)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="rmsprop", loss="mean_squared_error")
    return model


model = get_model()
x = np.random.default_rng(0).random((2, 4)).astype("float32")

# Registered: the config names them, and they come back by themselves.
config = model.get_config()
assert config["layers"][1]["registered_name"] == "MyLayers>CustomLayer"
assert config["layers"][2]["config"]["activation"] == "my_package>custom_fn"
new_model = keras.Model.from_config(config)
new_model.set_weights(model.get_weights())
np.testing.assert_allclose(new_model.predict(x, verbose=0), model.predict(x, verbose=0))

# Retrieve the config through a custom object scope, as the guide does for unregistered objects.
custom_objects = {"CustomLayer": CustomLayer, "custom_fn": custom_fn}
with keras.saving.custom_object_scope(custom_objects):
    new_model = keras.Model.from_config(config)
assert isinstance(new_model.layers[1], CustomLayer) and new_model.layers[1].factor == 0.5

# One layer at a time.
serialized = keras.layers.serialize(CustomLayer(2.0))
assert serialized["class_name"] == "CustomLayer" and serialized["registered_name"] == "MyLayers>CustomLayer"
assert keras.layers.deserialize(serialized).factor == 2.0

# ---- transferring weights from one layer, or model, to another ---------------------------------------


def create_layer():
    layer = keras.layers.Dense(64, activation="relu", name="dense_2")
    layer.build((None, 784))
    return layer


layer_1 = create_layer()
layer_2 = create_layer()

# Copy weights from layer 1 to layer 2
layer_2.set_weights(layer_1.get_weights())
for a, b in zip(layer_1.get_weights(), layer_2.get_weights()):
    np.testing.assert_array_equal(a, b)


def create_functional_model():
    inputs = keras.Input(shape=(784,), name="digits")
    x = keras.layers.Dense(64, activation="relu", name="dense_1")(inputs)
    x = keras.layers.Dense(64, activation="relu", name="dense_2")(x)
    outputs = keras.layers.Dense(10, name="predictions")(x)
    return keras.Model(inputs=inputs, outputs=outputs, name="3_layer_mlp")


functional_model = create_functional_model()
functional_model.save_weights("pretrained.weights.h5")

# Load the weights into a model of the same architecture.
pretrained_model = create_functional_model()
pretrained_model.load_weights("pretrained.weights.h5")
digits = np.random.default_rng(1).random((3, 784)).astype("float32")
np.testing.assert_array_equal(pretrained_model.predict(digits, verbose=0), functional_model.predict(digits, verbose=0))

# ---- the whole model --------------------------------------------------------------------------------

model = get_model()
model.fit(np.random.default_rng(2).random((32, 4)), np.random.default_rng(3).random((32, 3)), verbose=0)
model.save("custom_model.keras")
reconstructed_model = keras.models.load_model("custom_model.keras")
np.testing.assert_allclose(model.predict(x, verbose=0), reconstructed_model.predict(x, verbose=0))
assert isinstance(reconstructed_model.layers[1], CustomLayer)
