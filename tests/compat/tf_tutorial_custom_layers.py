"""Mirrors TensorFlow's tutorial "Custom layers" (tensorflow.org/tutorials/customization/custom_layers):
built-in layers and their variables, ``MyDenseLayer`` making its kernel with tf.keras 2's
``add_weight("kernel", shape=[...])`` in ``build``, and the ``ResnetIdentityBlock``: a
``tf.keras.Model`` subclass holding convolutions and BatchNormalizations as attributes, whose
``call`` adds its input back (a residual connection), its layers, variables and summary, next to
the same stack as a ``Sequential``.

Then, as the tutorial suggests ("most models are made of layers" ... "composing layers"), a small
residual network: the block used as a layer inside a Sequential classifier, trained with ``fit`` on
CIFAR-shaped generated pictures, its weights saved and loaded into a new instance.
"""

import numpy as np

import cnnlab as tf

# In the tf.keras.layers package, layers are objects. To construct a layer,
# simply construct the object. Most layers take as a first argument the number
# of output dimensions / channels.
layer = tf.keras.layers.Dense(100)
# The number of input dimensions is often unnecessary, as it can be inferred
# the first time the layer is used, but it can be provided if you want to
# specify it manually, which is useful in some complex models.
layer = tf.keras.layers.Dense(10, input_shape=(None, 5))

# To use a layer, simply call it.
out = layer(tf.zeros([10, 5]))
assert out.shape == (10, 10)

# Layers have many useful methods. For example, you can inspect all variables
# in a layer using `layer.variables` and trainable variables using
# `layer.trainable_variables`. In this case a fully-connected layer
# will have variables for weights and biases.
print(layer.variables)
assert [v.shape for v in layer.variables] == [(5, 10), (10,)]
# The variables are also accessible through nice accessors
print(layer.kernel, layer.bias)


class MyDenseLayer(tf.keras.layers.Layer):
    def __init__(self, num_outputs):
        super(MyDenseLayer, self).__init__()
        self.num_outputs = num_outputs

    def build(self, input_shape):
        self.kernel = self.add_weight("kernel", shape=[int(input_shape[-1]), self.num_outputs])

    def call(self, inputs):
        return tf.matmul(inputs, self.kernel)


layer = MyDenseLayer(10)
_ = layer(tf.zeros([10, 5]))  # Calling the layer `.builds` it.
print([var.name for var in layer.trainable_variables])
assert [var.name for var in layer.trainable_variables] == ["kernel"]
assert layer.kernel.shape == (5, 10)


class ResnetIdentityBlock(tf.keras.Model):
    def __init__(self, kernel_size, filters):
        super(ResnetIdentityBlock, self).__init__(name="")
        filters1, filters2, filters3 = filters

        self.conv2a = tf.keras.layers.Conv2D(filters1, (1, 1))
        self.bn2a = tf.keras.layers.BatchNormalization()

        self.conv2b = tf.keras.layers.Conv2D(filters2, kernel_size, padding="same")
        self.bn2b = tf.keras.layers.BatchNormalization()

        self.conv2c = tf.keras.layers.Conv2D(filters3, (1, 1))
        self.bn2c = tf.keras.layers.BatchNormalization()

    def call(self, input_tensor, training=False):
        x = self.conv2a(input_tensor)
        x = self.bn2a(x, training=training)
        x = tf.nn.relu(x)

        x = self.conv2b(x)
        x = self.bn2b(x, training=training)
        x = tf.nn.relu(x)

        x = self.conv2c(x)
        x = self.bn2c(x, training=training)

        x += input_tensor
        return tf.nn.relu(x)


block = ResnetIdentityBlock(1, [1, 2, 3])
_ = block(tf.zeros([1, 2, 3, 3]))
print(block.layers)
assert [type(layer).__name__ for layer in block.layers] == ["Conv2D", "BatchNormalization"] * 3
print(len(block.variables))
assert len(block.variables) == 18
block.summary()

my_seq = tf.keras.Sequential(
    [
        tf.keras.layers.Conv2D(1, (1, 1), input_shape=(None, None, 3)),
        tf.keras.layers.BatchNormalization(),
        tf.keras.layers.Conv2D(2, 1, padding="same"),
        tf.keras.layers.BatchNormalization(),
        tf.keras.layers.Conv2D(3, (1, 1)),
        tf.keras.layers.BatchNormalization(),
    ]
)
my_seq(tf.zeros([1, 2, 3, 3]))
my_seq.summary()
assert my_seq.count_params() == block.count_params() == 41  # the same weights

# A small residual network of identity blocks, trained on CIFAR-shaped pictures (each class a colour).
rng = np.random.default_rng(3)
labels = rng.integers(0, 4, 192)
colours = rng.random((4, 3)).astype("float32")
pictures = (rng.random((192, 32, 32, 3)) * 0.4 + colours[labels][:, None, None, :] * 0.6).astype("float32")


def residual_network():
    return tf.keras.Sequential(
        [
            tf.keras.Input(shape=(32, 32, 3)),
            tf.keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu"),
            ResnetIdentityBlock(3, [4, 4, 8]),
            tf.keras.layers.MaxPooling2D(),
            ResnetIdentityBlock(3, [4, 4, 8]),
            tf.keras.layers.GlobalAveragePooling2D(),
            tf.keras.layers.Dense(4, activation="softmax"),
        ]
    )


model = residual_network()
model.summary()
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
history = model.fit(pictures[:160], labels[:160], batch_size=32, epochs=3, verbose=0)
print(history.history)
assert history.history["loss"][-1] < history.history["loss"][0]
# The blocks' BatchNormalizations were trained: their moving statistics moved.
assert not np.allclose(model.layers[1].bn2a.moving_mean.numpy(), 0.0)

model.save_weights("residual.weights.h5")
again = residual_network()
again.load_weights("residual.weights.h5")
np.testing.assert_array_equal(again.predict(pictures[160:], verbose=0), model.predict(pictures[160:], verbose=0))
