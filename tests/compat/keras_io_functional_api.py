"""Mirrors the Keras guide "The Functional API" (keras.io/guides/functional_api): a model built from
``keras.Input``, its summary and plot, training and evaluation, saving and loading, one graph of
layers giving several models (an encoder and an autoencoder), models called like layers, an
ensemble averaged with ``layers.average``, the multi-input / multi-output ticket classifier
compiled with a list and then dicts of losses and ``loss_weights``, the toy ResNet with residual
``add`` connections, a layer shared between two inputs, and a custom layer with ``get_config``
rebuilt through ``custom_objects``.

On small generated data: flattened 28x28 "digits" instead of MNIST, a few hundred CIFAR-shaped
images instead of CIFAR-10.  cnnlab has no Embedding or LSTM layer, so the ticket model reads its
title and body as bags of words (word counts) through Dense layers, and the shared layer is a Dense.
"""

import numpy as np

import cnnlab as tf
from cnnlab import keras
from cnnlab.keras import layers

rng = np.random.default_rng(0)

inputs = keras.Input(shape=(784,))
img_inputs = keras.Input(shape=(32, 32, 3))
print(inputs.shape, inputs.dtype)
assert inputs.shape == (None, 784) and img_inputs.shape == (None, 32, 32, 3)

dense = layers.Dense(64, activation="relu")
x = dense(inputs)
x = layers.Dense(64, activation="relu")(x)
outputs = layers.Dense(10)(x)
model = keras.Model(inputs=inputs, outputs=outputs, name="mnist_model")
model.summary()
assert model.count_params() == 784 * 64 + 64 + 64 * 64 + 64 + 64 * 10 + 10  # 55,050
keras.utils.plot_model(model, "my_first_model.png")
keras.utils.plot_model(model, "my_first_model_with_shape_info.png", show_shapes=True)

# Training, evaluation, and inference, on generated "digits": a bright row whose height is the label.
labels = rng.integers(0, 10, 1200)
images = rng.random((1200, 28, 28)).astype("float32") * 0.3
for image, label in zip(images, labels):
    image[2 + 2 * label] += 0.7
x_train, y_train = images[:1000].reshape(1000, 784), labels[:1000]
x_test, y_test = images[1000:].reshape(200, 784), labels[1000:]

model.compile(
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    optimizer=keras.optimizers.RMSprop(),
    metrics=["accuracy"],
)
history = model.fit(x_train, y_train, batch_size=64, epochs=2, validation_split=0.2, verbose=0)
test_scores = model.evaluate(x_test, y_test, verbose=2)
print("Test loss:", test_scores[0])
print("Test accuracy:", test_scores[1])
assert test_scores[1] > 0.8

# Save and serialize
model.save("my_model.keras")
del model
# Recreate the exact same model purely from the file:
model = keras.models.load_model("my_model.keras")
assert model.evaluate(x_test, y_test, verbose=0)[1] == test_scores[1]

# Use the same graph of layers to define multiple models
encoder_input = keras.Input(shape=(28, 28, 1), name="img")
x = layers.Conv2D(16, 3, activation="relu")(encoder_input)
x = layers.Conv2D(32, 3, activation="relu")(x)
x = layers.MaxPooling2D(3)(x)
x = layers.Conv2D(32, 3, activation="relu")(x)
x = layers.Conv2D(16, 3, activation="relu")(x)
encoder_output = layers.GlobalMaxPooling2D()(x)

encoder = keras.Model(encoder_input, encoder_output, name="encoder")
encoder.summary()

x = layers.Reshape((4, 4, 1))(encoder_output)
x = layers.Conv2DTranspose(16, 3, activation="relu")(x)
x = layers.Conv2DTranspose(32, 3, activation="relu")(x)
x = layers.UpSampling2D(3)(x)
x = layers.Conv2DTranspose(16, 3, activation="relu")(x)
decoder_output = layers.Conv2DTranspose(1, 3, activation="relu")(x)

autoencoder = keras.Model(encoder_input, decoder_output, name="autoencoder")
autoencoder.summary()
assert autoencoder.output_shape == (None, 28, 28, 1) and encoder.output_shape == (None, 16)
assert all(any(layer is mine for mine in autoencoder.layers) for layer in encoder.layers)  # the same layers

# All models are callable, just like layers
decoder_input = keras.Input(shape=(16,), name="encoded_img")
x = layers.Reshape((4, 4, 1))(decoder_input)
x = layers.Conv2DTranspose(16, 3, activation="relu")(x)
x = layers.Conv2DTranspose(32, 3, activation="relu")(x)
x = layers.UpSampling2D(3)(x)
x = layers.Conv2DTranspose(16, 3, activation="relu")(x)
decoder_output = layers.Conv2DTranspose(1, 3, activation="relu")(x)
decoder = keras.Model(decoder_input, decoder_output, name="decoder")

autoencoder_input = keras.Input(shape=(28, 28, 1), name="img")
encoded_img = encoder(autoencoder_input)
decoded_img = decoder(encoded_img)
autoencoder = keras.Model(autoencoder_input, decoded_img, name="autoencoder")
autoencoder.summary()
sample = images[:2, :, :, None]
np.testing.assert_allclose(autoencoder.predict(sample, verbose=0), decoder(encoder(sample)).numpy(), rtol=1e-6)


def get_model():
    inputs = keras.Input(shape=(128,))
    outputs = layers.Dense(1)(inputs)
    return keras.Model(inputs, outputs)


model1 = get_model()
model2 = get_model()
model3 = get_model()

inputs = keras.Input(shape=(128,))
y1 = model1(inputs)
y2 = model2(inputs)
y3 = model3(inputs)
outputs = layers.average([y1, y2, y3])
ensemble_model = keras.Model(inputs=inputs, outputs=outputs)
probe = rng.random((3, 128)).astype("float32")
expected = (model1(probe).numpy() + model2(probe).numpy() + model3(probe).numpy()) / 3
np.testing.assert_allclose(ensemble_model(probe).numpy(), expected, rtol=1e-5)

# Models with multiple inputs and outputs: ranking customer issue tickets by priority and routing
# them to the right department.
num_tags = 12  # Number of unique issue tags
num_words = 1000  # Size of vocabulary obtained when preprocessing text data
num_departments = 4  # Number of departments for predictions

title_input = keras.Input(shape=(num_words,), name="title")  # word counts of the title
body_input = keras.Input(shape=(num_words,), name="body")  # word counts of the body
tags_input = keras.Input(shape=(num_tags,), name="tags")  # Binary vectors of size `num_tags`

# Reduce each bag of words to a vector (the guide embeds the words and reads them with an LSTM)
title_features = layers.Dense(64, activation="relu")(title_input)
body_features = layers.Dense(32, activation="relu")(body_input)

# Merge all available features into a single large vector via concatenation
x = layers.concatenate([title_features, body_features, tags_input])

# Stick a logistic regression for priority prediction on top of the features
priority_pred = layers.Dense(1, name="priority")(x)
# Stick a department classifier on top of the features
department_pred = layers.Dense(num_departments, name="department")(x)

# Instantiate an end-to-end model predicting both priority and department
model = keras.Model(
    inputs=[title_input, body_input, tags_input],
    outputs={"priority": priority_pred, "department": department_pred},
)
keras.utils.plot_model(model, "multi_input_and_output_model.png", show_shapes=True)

model.compile(
    optimizer=keras.optimizers.RMSprop(1e-3),
    loss=[
        keras.losses.BinaryCrossentropy(from_logits=True),
        keras.losses.CategoricalCrossentropy(from_logits=True),
    ],
    loss_weights=[1.0, 0.2],
)
model.compile(
    optimizer=keras.optimizers.RMSprop(1e-3),
    loss={
        "priority": keras.losses.BinaryCrossentropy(from_logits=True),
        "department": keras.losses.CategoricalCrossentropy(from_logits=True),
    },
    loss_weights={"priority": 1.0, "department": 0.2},
)

# Dummy input data: the department and the priority follow the words and the tags.
title_data = rng.poisson(0.02, size=(320, num_words)).astype("float32")
body_data = rng.poisson(0.05, size=(320, num_words)).astype("float32")
tags_data = rng.integers(0, 2, size=(320, num_tags)).astype("float32")
department = (tags_data[:, :4].argmax(axis=1) + (title_data[:, :10].sum(axis=1) > 0)) % num_departments
priority_targets = (tags_data[:, 5:8].sum(axis=1, keepdims=True) > 1).astype("float32")
dept_targets = keras.utils.to_categorical(department, num_departments)

history = model.fit(
    {"title": title_data, "body": body_data, "tags": tags_data},
    {"priority": priority_targets, "department": dept_targets},
    epochs=4,
    batch_size=32,
    verbose=0,
)
print(history.history)
assert sorted(history.history) == ["department_loss", "loss", "priority_loss"]
combined = np.array(history.history["priority_loss"]) + 0.2 * np.array(history.history["department_loss"])
np.testing.assert_allclose(history.history["loss"], combined, rtol=1e-4)  # the weighted sum, as compiled
assert history.history["loss"][-1] < history.history["loss"][0]
predictions = model.predict({"title": title_data[:5], "body": body_data[:5], "tags": tags_data[:5]}, verbose=0)
assert predictions["priority"].shape == (5, 1) and predictions["department"].shape == (5, num_departments)

# A toy ResNet model
inputs = keras.Input(shape=(32, 32, 3), name="img")
x = layers.Conv2D(32, 3, activation="relu")(inputs)
x = layers.Conv2D(64, 3, activation="relu")(x)
block_1_output = layers.MaxPooling2D(3)(x)

x = layers.Conv2D(64, 3, activation="relu", padding="same")(block_1_output)
x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
block_2_output = layers.add([x, block_1_output])

x = layers.Conv2D(64, 3, activation="relu", padding="same")(block_2_output)
x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
block_3_output = layers.add([x, block_2_output])

x = layers.Conv2D(64, 3, activation="relu")(block_3_output)
x = layers.GlobalAveragePooling2D()(x)
x = layers.Dense(256, activation="relu")(x)
x = layers.Dropout(0.5)(x)
outputs = layers.Dense(10)(x)

model = keras.Model(inputs, outputs, name="toy_resnet")
model.summary()
assert model.count_params() == 223242  # the guide's summary
keras.utils.plot_model(model, "mini_resnet.png", show_shapes=True)

# A few CIFAR-shaped pictures: each class a colour.
cifar_labels = rng.integers(0, 10, 200)
colours = rng.random((10, 3)).astype("float32")
x_cifar = (rng.random((200, 32, 32, 3)) * 0.5 + colours[cifar_labels][:, None, None, :] * 0.5).astype("float32")
y_cifar = keras.utils.to_categorical(cifar_labels, 10)

model.compile(
    optimizer=keras.optimizers.RMSprop(1e-3),
    loss=keras.losses.CategoricalCrossentropy(from_logits=True),
    metrics=["acc"],
)
# We restrict the data to the first 1000 samples so as to limit execution time on Colab.
history = model.fit(x_cifar[:160], y_cifar[:160], batch_size=32, epochs=1, validation_split=0.2, verbose=0)
assert sorted(history.history) == ["acc", "loss", "val_acc", "val_loss"]
model.save("toy_resnet.keras")
reloaded = keras.models.load_model("toy_resnet.keras")
np.testing.assert_array_equal(reloaded.predict(x_cifar[160:], verbose=0), model.predict(x_cifar[160:], verbose=0))

# Shared layers: one Dense applied to two inputs (the guide shares an Embedding between two texts)
shared_dense = layers.Dense(16, name="shared")
text_input_a = keras.Input(shape=(num_words,), dtype="float32")
text_input_b = keras.Input(shape=(num_words,), dtype="float32")
encoded_input_a = shared_dense(text_input_a)
encoded_input_b = shared_dense(text_input_b)
shared_model = keras.Model([text_input_a, text_input_b], layers.subtract([encoded_input_a, encoded_input_b]))
assert len(shared_model.weights) == 2  # one kernel, one bias, used twice
assert np.all(shared_model([title_data[:2], title_data[:2]]).numpy() == 0.0)


# Extend the API using custom layers
class CustomDense(layers.Layer):
    def __init__(self, units=32):
        super().__init__()
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="random_normal", trainable=True)
        self.b = self.add_weight(shape=(self.units,), initializer="random_normal", trainable=True)

    def call(self, inputs):
        return tf.matmul(inputs, self.w) + self.b

    def get_config(self):
        return {"units": self.units}


inputs = keras.Input((4,))
outputs = CustomDense(10)(inputs)

model = keras.Model(inputs, outputs)
config = model.get_config()

new_model = keras.Model.from_config(config, custom_objects={"CustomDense": CustomDense})
assert new_model.output_shape == (None, 10) and type(new_model.layers[1]) is CustomDense
