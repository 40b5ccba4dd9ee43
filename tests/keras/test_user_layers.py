"""Layers of one's own in models: output shapes found by running ``call`` (leaving no trace),
attributes tracked (Variables, layers, metrics, and lists / dicts of them), losses added by
layers, regularizers and constraints on every weighted layer."""

import numpy as np
import pytest

import cnnlab as tf
from cnnlab import keras
from cnnlab.testing import check_gradients

layers = keras.layers
rng = np.random.default_rng(19)


class Linear(layers.Layer):
    """The subclassing guide's layer, its weights held as tf.Variable attributes."""

    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = tf.Variable(tf.random.normal((input_shape[-1], self.units), stddev=0.1), name="w")
        self.b = tf.Variable(tf.zeros((self.units,)), name="b")

    def call(self, inputs):
        return tf.matmul(inputs, self.w) + self.b


class Sampling(layers.Layer):
    """z = mean + exp(log_var / 2) * epsilon, called on a tuple (the VAE examples' layer)."""

    def call(self, inputs):
        z_mean, z_log_var = inputs
        epsilon = tf.random.normal(tf.shape(z_mean))
        return z_mean + tf.exp(0.5 * z_log_var) * epsilon


# ---- output shapes found by running call -------------------------------------------------------------


def test_a_user_layer_without_compute_output_shape_works_in_sequential_and_functional_models():
    model = keras.Sequential([keras.Input((3,)), Linear(5), layers.Dense(2)])
    assert model.output_shape == (None, 2) and model.layers[0].w.shape == (3, 5)
    inputs = keras.Input((3,))
    z_mean, z_log_var = layers.Dense(2)(inputs), layers.Dense(2)(inputs)
    z = Sampling()((z_mean, z_log_var))
    assert z.shape == (None, 2)
    encoder = keras.Model(inputs, [z_mean, z_log_var, z])
    outputs = encoder(rng.random((7, 3), dtype=np.float32))
    assert [o.shape for o in outputs] == [(7, 2)] * 3


def test_unknown_sizes_stay_unknown_and_known_ones_are_found():
    class Pool(layers.Layer):
        def call(self, x):
            return tf.nn.max_pool2d(tf.nn.relu(x), 2, 2, "VALID")

    class Summary(layers.Layer):
        def call(self, x):
            return tf.reduce_mean(x, axis=[1, 2])

    images = keras.Input((None, None, 3))
    pooled = Pool()(images)
    assert pooled.shape == (None, None, None, 3)
    assert Summary()(pooled).shape == (None, 3)
    fixed = Pool()(keras.Input((8, 6, 3)))
    assert fixed.shape == (None, 4, 3, 3)


def test_finding_the_shape_leaves_no_trace():
    class Busy(layers.Layer):
        """Everything a call can change: statistics, the random stream, losses, a metric, the tape."""

        def __init__(self):
            super().__init__()
            self.norm = layers.BatchNormalization()
            self.norm.build((None, 3))
            self.seen = keras.metrics.Mean(name="seen")
            self.scale = tf.Variable(tf.ones((3,)))

        def call(self, x, training=None):
            self.add_loss(tf.reduce_sum(x) + 1.0)
            self.seen.update_state(x)
            noise = tf.random.uniform(tf.shape(x))
            self.scale.assign_add(tf.ones((3,)))
            return self.norm(x, training=True) + noise * self.scale

    layer = Busy()
    before = (layer.norm.moving_mean.numpy(), layer.scale.numpy(), float(layer.seen.result()))
    tf.random.set_seed(3)
    expected_draw = tf.random.uniform((4,)).numpy()
    tf.random.set_seed(3)
    with tf.GradientTape() as tape:
        watched = tf.Variable(np.ones((2, 3), np.float32))
        tape.watch(watched)
        out = layer(keras.Input((3,)))
    assert out.shape == (None, 3)
    assert tape.gradient(tf.constant(1.0), watched) is None and not tape._ops  # nothing recorded
    np.testing.assert_array_equal(tf.random.uniform((4,)).numpy(), expected_draw)
    np.testing.assert_array_equal(layer.norm.moving_mean.numpy(), before[0])
    np.testing.assert_array_equal(layer.scale.numpy(), before[1])
    assert float(layer.seen.result()) == before[2] and layer.losses == []


def test_a_call_that_fails_on_the_placeholder_says_what_to_do():
    class Picky(layers.Layer):
        def call(self, x):
            if x.shape[0] != 5:
                raise ValueError("batches of 5 only")
            return x

    with pytest.raises(ValueError, match=r"does not define compute_output_shape\(\).*batches of 5 only.*Define"):
        Picky()(keras.Input((3,)))


# ---- attributes are tracked -------------------------------------------------------------------------


def test_variables_layers_and_their_containers_held_as_attributes_are_tracked_in_order():
    class Block(layers.Layer):
        def __init__(self):
            super().__init__()
            self.counter = tf.Variable(0.0, trainable=False, name="counter")
            self.first = Linear(3, name="first")
            self.rest = [Linear(3, name="second")]
            self.rest.append(Linear(2, name="third"))  # appended later: still tracked
            self.by_name = {"gate": tf.Variable(np.ones(2, np.float32), name="gate")}
            self.pair = (tf.Variable(1.0, name="scale"), layers.Dense(2, name="head"))

        def call(self, x):
            for layer in (self.first, *self.rest):
                x = layer(x)
            return self.pair[1](x * self.by_name["gate"] * self.pair[0]) + self.counter

    block = Block()
    block(np.ones((1, 4), np.float32))
    assert [layer.name for layer in block._layers] == ["first", "second", "third", "head"]
    assert [layer.name for layer in block.submodules] == ["first", "second", "third", "head"]
    assert [w.name for w in block.weights] == ["gate", "scale", "counter", "w", "b", "w", "b", "w", "b", "kernel", "bias"]
    assert [w.name for w in block.non_trainable_weights] == ["counter"]
    assert len(block.trainable_weights) == 10
    removed = block.rest.pop()
    assert all(layer is not removed for layer in block._layers)


def test_fit_trains_variables_held_as_attributes():
    """The 'Basic training loops' guide's Keras half: y = w * x + b as a Model of two tf.Variables."""

    class LinearModel(keras.Model):
        def __init__(self):
            super().__init__()
            self.w = tf.Variable(5.0)
            self.b = tf.Variable(0.0)

        def call(self, x):
            return self.w * x + self.b

    x = rng.normal(size=1000).astype(np.float32)
    y = 3.0 * x + 2.0 + rng.normal(size=1000).astype(np.float32) * 0.1
    model = LinearModel()
    assert len(model.trainable_variables) == 2
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss=keras.losses.mean_squared_error)
    history = model.fit(x, y, epochs=10, batch_size=1000, verbose=0)
    w, b = 5.0, 0.0  # the same ten steps of gradient descent, in float64
    for _ in range(10):
        error = w * x + b - y
        w, b = w - 0.1 * np.mean(2 * error * x), b - 0.1 * np.mean(2 * error)
    assert model.w.numpy() == pytest.approx(w, rel=1e-5) and model.b.numpy() == pytest.approx(b, rel=1e-5)
    assert history.history["loss"][-1] < history.history["loss"][0] / 10


def test_a_model_with_attribute_variables_saves_and_loads(tmp_path):
    @keras.saving.register_keras_serializable(package="tests")
    class Scaled(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.scale = tf.Variable(np.full(3, 2.0, np.float32), name="scale")
            self.blocks = [layers.Dense(3), layers.Dense(2)]

        def call(self, x):
            x = x * self.scale
            for block in self.blocks:
                x = block(x)
            return x

    model = Scaled()
    x = rng.random((4, 3), dtype=np.float32)
    model(x)
    model.scale.assign(np.array([1.0, 3.0, 5.0], np.float32))
    model.save(tmp_path / "scaled.keras")
    loaded = keras.models.load_model(tmp_path / "scaled.keras")
    np.testing.assert_array_equal(loaded.scale.numpy(), [1.0, 3.0, 5.0])
    np.testing.assert_array_equal(loaded(x).numpy(), model(x).numpy())


# ---- losses from layers -------------------------------------------------------------------------------


class ActivityRegularization(layers.Layer):
    """The subclassing guide's add_loss layer."""

    def __init__(self, rate=1e-2):
        super().__init__()
        self.rate = rate

    def call(self, inputs):
        self.add_loss(self.rate * tf.reduce_sum(inputs))
        return inputs


def test_add_loss_is_cleared_at_each_call_and_gathered_by_the_model():
    class OuterLayer(layers.Layer):
        def __init__(self):
            super().__init__()
            self.activity_reg = ActivityRegularization(1e-2)

        def call(self, inputs):
            return self.activity_reg(inputs)

    layer = OuterLayer()
    assert layer.losses == []
    layer(tf.zeros((1, 1)))
    assert len(layer.losses) == 1 and float(layer.losses[0]) == 0.0
    layer(tf.ones((2, 3)))
    assert len(layer.losses) == 1 and float(layer.losses[0]) == pytest.approx(0.06)
    model = keras.Sequential([keras.Input((3,)), OuterLayer(), layers.Dense(1, kernel_regularizer="l2")])
    model(np.ones((2, 3), np.float32))
    kernel = model.layers[1].kernel.numpy()
    assert [float(v) for v in model.losses] == pytest.approx([0.06, 0.01 * float(np.sum(kernel**2))], rel=1e-6)


def test_a_callable_loss_is_read_each_time():
    layer = layers.Dense(2)
    layer.build((None, 3))
    layer.add_loss(lambda: tf.reduce_mean(layer.kernel))
    first = float(layer.losses[0])
    layer.kernel.assign(layer.kernel.numpy() + 1.0)
    assert float(layer.losses[0]) == pytest.approx(first + 1.0, rel=1e-6)


# ---- regularizers and constraints ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "regularizer,definition",
    [
        (keras.regularizers.L1(0.3), lambda w: float(np.float32(0.3)) * np.sum(np.abs(w))),  # Keras's float32 factor
        (keras.regularizers.L2(0.2), lambda w: 0.2 * np.sum(w**2)),
        (keras.regularizers.L1L2(0.1, 0.4), lambda w: 0.1 * np.sum(np.abs(w)) + 0.4 * np.sum(w**2)),
        (keras.regularizers.l1_l2(l2=0.5), lambda w: 0.5 * np.sum(w**2)),
        (keras.regularizers.get("l2"), lambda w: 0.01 * np.sum(w**2)),
    ],
)
def test_regularizers_compute_their_definition_with_its_gradient(regularizer, definition):
    weights = rng.normal(size=(3, 4))
    assert float(regularizer(tf.constant(weights))) == pytest.approx(definition(weights), rel=1e-12)
    check_gradients(lambda w: regularizer(w), [weights])


@pytest.mark.parametrize(
    "constraint,definition",
    [
        (keras.constraints.MaxNorm(1.5), lambda w, n: w * np.clip(n, 0, 1.5) / (n + 1e-7)),
        (keras.constraints.NonNeg(), lambda w, n: np.maximum(w, 0)),
        (keras.constraints.UnitNorm(), lambda w, n: w / (n + 1e-7)),
        (
            keras.constraints.MinMaxNorm(0.5, 1.0, rate=0.5),
            lambda w, n: w * (0.5 * np.clip(n, 0.5, 1.0) + 0.5 * n) / (n + 1e-7),
        ),
    ],
)
def test_constraints_compute_their_definition(constraint, definition):
    weights = rng.normal(size=(3, 4)) * 2
    norms = np.sqrt(np.sum(weights**2, axis=0, keepdims=True))
    np.testing.assert_allclose(constraint(tf.constant(weights)).numpy(), definition(weights, norms), rtol=1e-12)


WEIGHTED_LAYERS = [
    (lambda **kw: layers.Dense(3, **kw), (None, 4), ["kernel", "bias"]),
    (lambda **kw: layers.Conv2D(2, 3, **kw), (None, 5, 5, 2), ["kernel", "bias"]),
    (lambda **kw: layers.Conv1D(2, 3, **kw), (None, 6, 2), ["kernel", "bias"]),
    (lambda **kw: layers.Conv2DTranspose(2, 3, **kw), (None, 4, 4, 2), ["kernel", "bias"]),
    (lambda **kw: layers.DepthwiseConv2D(3, **kw), (None, 5, 5, 2), ["depthwise", "bias"]),
    (lambda **kw: layers.SeparableConv2D(2, 3, **kw), (None, 5, 5, 2), ["depthwise", "pointwise", "bias"]),
    (lambda **kw: layers.BatchNormalization(**kw), (None, 5, 2), ["beta", "gamma"]),
    (lambda **kw: layers.LayerNormalization(**kw), (None, 5, 2), ["beta", "gamma"]),
    (lambda **kw: layers.PReLU(**kw), (None, 5, 2), ["alpha"]),
]


@pytest.mark.parametrize("make,input_shape,prefixes", WEIGHTED_LAYERS, ids=[m[2][0] + str(i) for i, m in enumerate(WEIGHTED_LAYERS)])
def test_every_weighted_layer_takes_regularizers_and_constraints(make, input_shape, prefixes):
    options = {}
    for prefix in prefixes:
        options[f"{prefix}_regularizer"] = keras.regularizers.L2(0.5)
        options[f"{prefix}_constraint"] = keras.constraints.NonNeg()
    layer = make(activity_regularizer=keras.regularizers.L1(0.25), **options)
    x = rng.normal(size=(2, *input_shape[1:])).astype(np.float32)
    out = layer(x)
    penalized = [w for w in layer.trainable_weights]
    assert len(penalized) == len(prefixes)
    expected = [0.25 * float(np.sum(np.abs(out.numpy()))) / 2] + [0.5 * float(np.sum(w.numpy() ** 2)) for w in penalized]
    assert [float(v) for v in layer.losses] == pytest.approx(expected, rel=1e-5)
    config = layer.get_config()
    for prefix in prefixes:
        assert config[f"{prefix}_regularizer"]["class_name"] == "L2"
        assert config[f"{prefix}_constraint"]["class_name"] == "NonNeg"
    assert config["activity_regularizer"]["config"] == {"l1": 0.25}
    again = type(layer).from_config(keras.layers.deserialize(keras.layers.serialize(layer)).get_config())
    assert again.get_config() == config
    optimizer = keras.optimizers.SGD(1.0)
    grads = [tf.constant(np.full(w.shape, 10.0, np.float32)) for w in penalized]
    optimizer.apply_gradients(zip(grads, penalized))
    for weight in penalized:  # a big step down, then the NonNeg projection
        assert weight.numpy().min() == 0.0


def test_the_planner_leaves_a_layer_with_an_activity_regularizer_to_its_own_call():
    model = keras.Sequential([keras.Input((4,)), layers.Dense(3, activity_regularizer="l2"), layers.Dense(2)])
    kinds = [type(step).__name__ for step in model._planned().steps]
    assert kinds == ["LayerStep", "DenseStep"]
    out = model(np.ones((2, 4), np.float32))
    hidden = model.layers[0](np.ones((2, 4), np.float32)).numpy()
    assert float(model.losses[0]) == pytest.approx(0.01 * np.sum(hidden**2) / 2, rel=1e-6)
    assert out.shape == (2, 2)


def test_a_layers_own_seed_generator_is_put_back_too():
    class Noisy(layers.Layer):
        def __init__(self):
            super().__init__()
            self.seed_generator = keras.random.SeedGenerator(7)

        def call(self, x):
            return x + keras.random.normal(tf.shape(x), seed=self.seed_generator)

    layer, twin = Noisy(), Noisy()
    layer(keras.Input((3,)))  # finds the output shape by running call
    ones = np.ones((2, 3), np.float32)
    np.testing.assert_array_equal(layer(ones).numpy(), twin(ones).numpy())  # the same stream from its start


def test_a_user_layer_on_images_of_any_size_trains_in_a_model():
    class Contrast(layers.Layer):
        """Each picture minus its mean, times a learned gain per channel."""

        def build(self, input_shape):
            self.gain = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="gain")

        def call(self, x):
            return (x - tf.reduce_mean(x, axis=[1, 2], keepdims=True)) * self.gain

    inputs = keras.Input((None, None, 3))
    x = Contrast()(inputs)
    assert x.shape == (None, None, None, 3)
    x = layers.Conv2D(4, 3, activation="relu")(x)
    outputs = layers.Dense(2, activation="softmax")(layers.GlobalAveragePooling2D()(x))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="sparse_categorical_crossentropy")
    pictures = rng.random((16, 9, 7, 3)).astype(np.float32)
    labels = (pictures[:, :, :, 0].std(axis=(1, 2)) > 0.29).astype(np.int64)
    gain = model.layers[1].gain.numpy().copy()
    model.fit(pictures, labels, epochs=2, batch_size=8, verbose=0)
    assert not np.array_equal(model.layers[1].gain.numpy(), gain)  # the layer's own weight trained
    assert model.predict(rng.random((2, 12, 5, 3)).astype(np.float32), verbose=0).shape == (2, 2)  # another size
