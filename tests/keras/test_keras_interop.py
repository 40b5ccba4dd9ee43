"""Models move between cnnlab and Keras 3 (the real one, on PyTorch) in Keras's file formats (issue 21).

For the ``cnnlab train`` models (seed, seed-dropout, deep), a functional model and a
model with a layer of one's own registered in both: saved in one, loaded in the
other, predictions agree to 1e-5 on 1,000 Fashion-MNIST-shaped inputs, and the
optimizer's state goes along: the weights, slots and step count are equal when the file
is loaded, and ten further training steps agree to 1e-5.  Dropout draws its masks from
each framework's own generator, so for those ten steps both models' Dropout layers are
set to rate 0: the steps then differ only by arithmetic.

Ten steps are compared twice.  In float32 (the models as ``cnnlab train`` makes them), a
ReLU input within float32 rounding of 0 (or a max-pooling window with two inputs that
close) sends one sample's gradient another way in each framework.  In the seed models
that moves the weights by less than 1e-5 in ten steps.  The deep model normalizes every
layer (BatchNormalization over 25,000 to 400,000 values per step), so such a kink falls
within rounding about once every few steps: its weights after ten steps agree to 2e-3
(measured: the first differing gradient is one channel of the layer behind the flipped
ReLU, every layer above it agrees to 1e-8).  In float64, where rounding is some 1e-16,
such kinks vanish: there all three models, trained ten steps in one framework and ten more
in both, have weights, optimizer slots and predictions that agree to 1e-12 (measured:
2e-15), far inside the issue's 1e-5.  So the two frameworks' steps are the same arithmetic
(Adam and its epsilon, BatchNormalization's batch and moving statistics, the loss, the step
count), and the float32 differences are rounding.
"""

import os
import zipfile

os.environ["KERAS_BACKEND"] = "torch"  # before keras is imported: no TensorFlow needed

import keras as keras3  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import cnnlab as tf  # noqa: E402
from cnnlab import keras  # noqa: E402
from cnnlab.cli.models import MODELS  # noqa: E402
from cnnlab.keras._weights_layout import optimizer_variables  # noqa: E402

pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)

RNG = np.random.default_rng(21)
IMAGES_FLOAT64 = RNG.integers(0, 256, (1000, 28, 28, 1)) / 255.0  # Fashion-MNIST-shaped
IMAGES = IMAGES_FLOAT64.astype(np.float32)
LABELS = RNG.integers(0, 10, 1000)
STEPS = 10
BATCH = 16
# How far the weights may drift apart in ten float32 steps (see the module docstring for the deep model's).
TEN_STEPS_ATOL = {"seed": 1e-5, "seed-dropout": 1e-5, "deep": 2e-3}
# ... and in ten float64 steps, for every model (the issue asks 1e-5; they agree to some 2e-15).
TEN_FLOAT64_STEPS_ATOL = 1e-12
# Adam's default rate as cnnlab holds it (a float32 variable; Keras's is float64 under floatx
# float64), so that both frameworks step with the same rate in float64.
LEARNING_RATE = float(np.float32(1e-3))


def keras3_model(name):
    """The ``cnnlab train`` model ``name`` written in Keras 3 (as cli/models.py writes it in cnnlab)."""
    layers = keras3.layers
    if name in ("seed", "seed-dropout"):
        return keras3.Sequential(
            [
                keras3.Input(shape=(28, 28, 1)),
                layers.Conv2D(10, (3, 3), activation="relu", padding="same"),
                layers.MaxPooling2D((2, 2)),
                layers.Flatten(),
                *([layers.Dropout(0.5)] if name == "seed-dropout" else []),
                layers.Dense(100, activation="relu"),
                layers.Dense(10, activation="softmax"),
            ],
            name=name.replace("-", "_"),
        )

    def conv_bn_relu(filters):
        return [
            layers.Conv2D(filters, (3, 3), padding="same", use_bias=False),
            layers.BatchNormalization(),
            layers.ReLU(),
        ]

    return keras3.Sequential(
        [
            keras3.Input(shape=(28, 28, 1)),
            *conv_bn_relu(32),
            layers.MaxPooling2D((2, 2)),
            *conv_bn_relu(64),
            *conv_bn_relu(64),
            layers.MaxPooling2D((2, 2)),
            layers.Dropout(0.25),
            layers.Flatten(),
            layers.Dense(256, use_bias=False),
            layers.BatchNormalization(),
            layers.ReLU(),
            layers.Dropout(0.5),
            layers.Dense(10, activation="softmax"),
        ],
        name="deep",
    )


def compiled(model, optimizer="adam"):
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def silence_dropout(model):
    for layer in model.layers:
        if type(layer).__name__ == "Dropout":
            layer.rate = 0.0


def train_steps(model, first=0, images=IMAGES):
    for step in range(first, first + STEPS):
        batch = slice(step * BATCH, (step + 1) * BATCH)
        model.train_on_batch(images[batch], LABELS[batch])


def assert_same_state(cnnlab_model, keras_model, atol, slots=True):
    for ours, theirs in zip(cnnlab_model.weights, keras_model.weights, strict=True):
        assert tuple(ours.shape) == tuple(theirs.shape) and ours.dtype == keras3.ops.convert_to_numpy(theirs).dtype
        np.testing.assert_allclose(ours.numpy(), keras3.ops.convert_to_numpy(theirs), rtol=0, atol=atol)
    ours, theirs = optimizer_variables(cnnlab_model.optimizer, cnnlab_model), keras_model.optimizer.variables
    assert int(ours[0].numpy()) == int(keras3.ops.convert_to_numpy(theirs[0]))  # the step count
    if slots:
        assert len(ours) == len(theirs)
        # cnnlab holds the learning rate in float32 (Keras in its floatx): equal in float32.
        assert ours[1].numpy() == np.float32(keras3.ops.convert_to_numpy(theirs[1]))
        for mine, other in zip(ours[2:], theirs[2:], strict=True):
            assert mine.dtype == keras3.ops.convert_to_numpy(other).dtype
            np.testing.assert_allclose(mine.numpy(), keras3.ops.convert_to_numpy(other), rtol=0, atol=atol)


def assert_same_predictions(cnnlab_model, keras_model, atol=1e-5, images=IMAGES):
    np.testing.assert_allclose(
        cnnlab_model.predict(images, batch_size=250, verbose=0),
        keras_model.predict(images, batch_size=250, verbose=0),
        rtol=0,
        atol=atol,
    )


@pytest.mark.parametrize("name", ["seed", "seed-dropout", "deep"])
def test_a_trained_cnnlab_model_loads_in_keras_and_training_goes_on_alike(name, tmp_path):
    keras.utils.set_random_seed(0)
    model = compiled(MODELS[name].build())
    train_steps(model)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
    theirs = keras3.models.load_model(path)
    assert [type(layer).__name__ for layer in theirs.layers] == [type(layer).__name__ for layer in model.layers]
    assert int(keras3.ops.convert_to_numpy(theirs.optimizer.iterations)) == STEPS
    assert_same_state(model, theirs, atol=0)
    assert_same_predictions(model, theirs)
    silence_dropout(model)
    silence_dropout(theirs)
    train_steps(model, first=STEPS)
    train_steps(theirs, first=STEPS)
    assert_same_state(model, theirs, atol=TEN_STEPS_ATOL[name], slots=False)
    assert_same_predictions(model, theirs, atol=TEN_STEPS_ATOL[name])


@pytest.mark.parametrize("name", ["seed", "seed-dropout", "deep"])
def test_a_model_trained_in_keras_loads_in_cnnlab_and_training_goes_on_alike(name, tmp_path):
    keras3.utils.set_random_seed(0)
    theirs = compiled(keras3_model(name))
    train_steps(theirs)
    path = tmp_path / f"keras-{name}.keras"
    theirs.save(path)
    model = keras.models.load_model(path)
    assert type(model.optimizer).__name__ == "Adam" and model.loss == "sparse_categorical_crossentropy"
    assert int(model.optimizer.iterations.numpy()) == STEPS
    assert_same_state(model, theirs, atol=0)
    assert_same_predictions(model, theirs)
    silence_dropout(model)
    silence_dropout(theirs)
    train_steps(model, first=STEPS)
    train_steps(theirs, first=STEPS)
    assert_same_state(model, theirs, atol=TEN_STEPS_ATOL[name], slots=False)
    assert_same_predictions(model, theirs, atol=TEN_STEPS_ATOL[name])


@pytest.fixture
def keras_in_float64(monkeypatch):
    """Keras computing in float64 throughout, for the length of a test.

    ``floatx`` and the default dtype policy float64 (Keras keeps the policy it made first, from
    the floatx of then): new layers, the optimizer's learning rate and the data Keras converts
    are float64.  And 64-bit results kept in 64 bits: on every backend but TensorFlow, Keras
    follows JAX's default and gives an op whose result dtype comes from its promotion rules
    (``ops.matmul``, so every Dense layer) a 32-bit result for 64-bit operands
    (``BIT64_TO_BIT32_DTYPE`` in keras/src/backend/common/dtypes.py); the test lifts that, as
    Keras's TensorFlow backend has it, so that the oracle's Dense layers are float64 too.
    """
    from keras.src.backend.common import dtypes as keras_dtypes

    monkeypatch.setitem(keras_dtypes.BIT64_TO_BIT32_DTYPE, "float64", "float64")
    floatx, policy = keras3.config.floatx(), keras3.config.dtype_policy()
    keras3.config.set_floatx("float64")
    keras3.config.set_dtype_policy("float64")
    yield
    keras3.config.set_dtype_policy(policy)
    keras3.config.set_floatx(floatx)


def in_float64(model):
    """The same cnnlab model with float64 weights, inputs and computation (each layer's dtype set in its config)."""
    config = model.get_config()
    for layer in config["layers"]:
        layer["config"]["dtype"] = "float64"
    return keras.Sequential.from_config(config)


@pytest.mark.parametrize("name", ["seed", "seed-dropout", "deep"])
@pytest.mark.parametrize("trained_in", ["cnnlab", "keras"])
def test_in_float64_ten_further_steps_agree_to_1e_12(name, trained_in, keras_in_float64, tmp_path):
    path = tmp_path / f"{name}.keras"
    if trained_in == "cnnlab":
        keras.utils.set_random_seed(8)
        model = compiled(in_float64(MODELS[name].build()), keras.optimizers.Adam(LEARNING_RATE))
        train_steps(model, images=IMAGES_FLOAT64)
        model.save(path)
        theirs = keras3.models.load_model(path)
    else:
        keras3.utils.set_random_seed(8)
        theirs = compiled(keras3_model(name), keras3.optimizers.Adam(LEARNING_RATE))
        train_steps(theirs, images=IMAGES_FLOAT64)
        theirs.save(path)
        model = keras.models.load_model(path)
    assert {np.dtype(w.dtype).name for w in model.weights} == {"float64"}
    assert int(model.optimizer.iterations.numpy()) == STEPS
    assert_same_state(model, theirs, atol=0)
    silence_dropout(model)
    silence_dropout(theirs)
    train_steps(model, first=STEPS, images=IMAGES_FLOAT64)
    train_steps(theirs, first=STEPS, images=IMAGES_FLOAT64)
    assert_same_state(model, theirs, atol=TEN_FLOAT64_STEPS_ATOL)
    assert_same_predictions(model, theirs, atol=TEN_FLOAT64_STEPS_ATOL, images=IMAGES_FLOAT64[:250])


def test_legacy_h5_files_go_both_ways(tmp_path):
    keras3.utils.set_random_seed(1)
    theirs = compiled(keras3_model("seed"))
    train_steps(theirs)
    theirs.save(tmp_path / "keras.h5")
    model = keras.models.load_model(tmp_path / "keras.h5")
    assert int(model.optimizer.iterations.numpy()) == STEPS
    assert_same_state(model, theirs, atol=0)
    train_steps(model, first=STEPS)
    model.save(tmp_path / "cnnlab.h5")
    back = keras3.models.load_model(tmp_path / "cnnlab.h5")
    # Keras 3 builds the optimizer of a legacy file on the model's own variables (none for a
    # Sequential), so it restores the step count and not the slots: compare the weights.
    assert_same_state(model, back, atol=0, slots=False)
    assert_same_predictions(model, back)


def test_weights_files_go_both_ways(tmp_path):
    keras.utils.set_random_seed(2)
    model = compiled(MODELS["deep"].build())
    train_steps(model)
    model.save_weights(tmp_path / "cnnlab.weights.h5")
    theirs = keras3_model("deep")
    theirs.load_weights(tmp_path / "cnnlab.weights.h5")
    assert_same_predictions(model, theirs)
    keras3.utils.set_random_seed(3)
    other = keras3_model("deep")
    other.save_weights(tmp_path / "keras.weights.h5")
    model.load_weights(tmp_path / "keras.weights.h5")
    assert_same_predictions(model, other)


def test_functional_models_with_a_shared_layer_and_a_nested_model_go_both_ways(tmp_path):
    keras.utils.set_random_seed(4)
    layers = keras.layers
    inputs = keras.Input(shape=(28, 28, 1), name="image")
    features = layers.Flatten()(layers.MaxPooling2D()(layers.Conv2D(4, 3, activation="relu")(inputs)))
    shared = layers.Dense(32, activation="relu", name="shared")
    hidden = shared(layers.Dense(32, name="widen")(features))
    again = shared(hidden)  # one layer called twice
    head = keras.Sequential([keras.Input(shape=(32,)), layers.Dense(10, activation="softmax")], name="head")
    model = compiled(keras.Model(inputs, [head(again), layers.Dense(1, name="score")(hidden)], name="two_heads"))
    model.compile(optimizer="adam", loss="mse")
    model.save(tmp_path / "functional.keras")
    theirs = keras3.models.load_model(tmp_path / "functional.keras")
    assert [layer.name for layer in theirs.layers][:2] == ["image", "conv2d"]
    for ours, other in zip(model.predict(IMAGES[:200], verbose=0), theirs.predict(IMAGES[:200], verbose=0)):
        np.testing.assert_allclose(ours, other, rtol=0, atol=1e-5)
    theirs.save(tmp_path / "back.keras")
    back = keras.models.load_model(tmp_path / "back.keras")
    for ours, other in zip(back.predict(IMAGES[:200], verbose=0), model.predict(IMAGES[:200], verbose=0)):
        np.testing.assert_array_equal(ours, other)


def cnnlab_scale_class():
    """A layer of one's own in cnnlab (named Scale in both frameworks: Keras's weights file keeps a
    layer's weights under its class name)."""

    @keras.saving.register_keras_serializable(package="interop")
    class Scale(keras.layers.Layer):
        """A learned factor per feature."""

        def __init__(self, initial=1.0, **kwargs):
            super().__init__(**kwargs)
            self.initial = initial

        def build(self, input_shape):
            self.factor = self.add_weight(
                shape=(input_shape[-1],), initializer=keras.initializers.Constant(self.initial), name="factor"
            )

        def call(self, inputs):
            return inputs * self.factor

        def compute_output_shape(self, input_shape):
            return input_shape

        def get_config(self):
            return {**super().get_config(), "initial": self.initial}

    return Scale


def keras3_scale_class():
    """The same layer written for Keras 3, registered under the same name."""

    @keras3.saving.register_keras_serializable(package="interop")
    class Scale(keras3.layers.Layer):
        def __init__(self, initial=1.0, **kwargs):
            super().__init__(**kwargs)
            self.initial = initial

        def build(self, input_shape):
            self.factor = self.add_weight(
                shape=(input_shape[-1],), initializer=keras3.initializers.Constant(self.initial), name="factor"
            )

        def call(self, inputs):
            return inputs * self.factor

        def get_config(self):
            return {**super().get_config(), "initial": self.initial}

    return Scale


CnnlabScale = cnnlab_scale_class()
KerasScale = keras3_scale_class()


def test_a_layer_of_ones_own_registered_in_both_goes_both_ways(tmp_path):
    keras.utils.set_random_seed(5)
    layers = keras.layers
    model = compiled(
        keras.Sequential(
            [keras.Input(shape=(28, 28, 1)), layers.Flatten(), layers.Dense(16), CnnlabScale(0.5), layers.Dense(10)]
        )
    )
    train_steps(model)
    model.save(tmp_path / "custom.keras")
    theirs = keras3.models.load_model(tmp_path / "custom.keras")
    assert type(theirs.layers[2]) is KerasScale
    assert_same_state(model, theirs, atol=0)
    assert_same_predictions(model, theirs)
    train_steps(theirs, first=STEPS)
    theirs.save(tmp_path / "custom-back.keras")
    back = keras.models.load_model(tmp_path / "custom-back.keras")
    assert type(back.layers[2]) is CnnlabScale and back.layers[2].initial == 0.5
    assert_same_state(back, theirs, atol=0)


def two_input_residual(library):
    """A functional model of two inputs (an image and a vector) with a residual Add and a Concatenate."""
    layers = library.layers
    image, extra = library.Input(shape=(28, 28, 1), name="image"), library.Input(shape=(6,), name="extra")
    x = layers.Conv2D(4, 3, padding="same", activation="relu")(image)
    shortcut = layers.Conv2D(4, 1)(image)
    x = layers.Add(name="residual")([layers.Conv2D(4, 3, padding="same")(x), shortcut])
    x = layers.Flatten()(layers.MaxPooling2D()(layers.ReLU()(x)))
    x = layers.Concatenate()([layers.Dense(16, activation="relu")(x), extra])
    return library.Model([image, extra], layers.Dense(10, activation="softmax")(x), name="two_inputs")


EXTRA = RNG.standard_normal((1000, 6)).astype(np.float32)


def test_a_two_input_residual_model_goes_both_ways(tmp_path):
    keras.utils.set_random_seed(6)
    model = two_input_residual(keras)
    model.save(tmp_path / "cnnlab.keras")
    theirs = keras3.models.load_model(tmp_path / "cnnlab.keras")
    assert [type(layer).__name__ for layer in theirs.layers] == [type(layer).__name__ for layer in model.layers]
    ours = np.concatenate([model([IMAGES[i : i + 250], EXTRA[i : i + 250]]).numpy() for i in range(0, 1000, 250)])
    np.testing.assert_allclose(ours, theirs.predict([IMAGES, EXTRA], batch_size=250, verbose=0), rtol=0, atol=1e-5)
    keras3.utils.set_random_seed(7)
    other = two_input_residual(keras3)
    other.save(tmp_path / "keras.keras")
    back = keras.models.load_model(tmp_path / "keras.keras")
    assert [layer.name for layer in back.layers] == [layer.name for layer in other.layers]
    ours = np.concatenate([back([IMAGES[i : i + 250], EXTRA[i : i + 250]]).numpy() for i in range(0, 1000, 250)])
    np.testing.assert_allclose(ours, other.predict([IMAGES, EXTRA], batch_size=250, verbose=0), rtol=0, atol=1e-5)


def test_a_keras_layer_cnnlab_lacks_is_named():
    inputs = keras3.Input(shape=(8, 3), name="sequence")
    text = keras3.Model(inputs, keras3.layers.LSTM(4)(inputs)).to_json()
    with pytest.raises(ValueError, match=r"cnnlab does not have 'LSTM' \(keras.layers.LSTM\)"):
        keras.models.model_from_json(text)


def test_keras_only_settings_are_ignored_when_off_and_named_when_on():
    text = keras3.Sequential([keras3.Input(shape=(4,)), keras3.layers.Dense(2)]).to_json()
    assert keras.models.model_from_json(text).layers[0].units == 2
    renormalized = keras3.Sequential([keras3.Input(shape=(4,)), keras3.layers.BatchNormalization(renorm=True)])
    with pytest.raises(ValueError, match=r"BatchNormalization: the config sets renorm=True.* cnnlab does not have"):
        keras.models.model_from_json(renormalized.to_json())


def regularized(library):
    """Every kind of regularizer and constraint, on a conv, a Dense and a BatchNormalization."""
    regularizers, constraints = library.regularizers, library.constraints
    return library.Sequential(
        [
            library.Input(shape=(6, 6, 2)),
            library.layers.Conv2D(
                3,
                3,
                kernel_regularizer=regularizers.L1L2(0.01, 0.02),
                bias_regularizer="l1",
                activity_regularizer=regularizers.L2(0.003),
                kernel_constraint=constraints.MaxNorm(2.0, axis=[0, 1, 2]),
                bias_constraint="non_neg",
            ),
            library.layers.BatchNormalization(
                gamma_regularizer="l2", beta_constraint=constraints.MinMaxNorm(0.1, 0.5, rate=0.7)
            ),
            library.layers.Flatten(),
            library.layers.Dense(2, kernel_regularizer=regularizers.L2(0.05), kernel_constraint="unit_norm"),
        ]
    )


def test_regularizers_and_constraints_go_both_ways(tmp_path):
    keras.utils.set_random_seed(8)
    model = regularized(keras)
    model.compile(optimizer="sgd", loss="mse")
    model.save(tmp_path / "cnnlab.keras")
    theirs = keras3.models.load_model(tmp_path / "cnnlab.keras")
    x = IMAGES[:8, :6, :6, 0].reshape(8, 6, 6, 1).repeat(2, axis=3)
    y = RNG.standard_normal((8, 2)).astype(np.float32)
    # The same losses (the data loss and every penalty) and, after a step, the same projected weights.
    model(x)
    theirs(x)
    np.testing.assert_allclose(
        [float(v) for v in model.losses], [float(keras3.ops.convert_to_numpy(v)) for v in theirs.losses], rtol=1e-5
    )
    model.train_on_batch(x, y)
    theirs.train_on_batch(x, y)
    for ours, other in zip(model.weights, theirs.weights, strict=True):
        np.testing.assert_allclose(ours.numpy(), keras3.ops.convert_to_numpy(other), rtol=1e-4, atol=1e-6)
    keras3.utils.set_random_seed(9)
    other = regularized(keras3)
    other.save(tmp_path / "keras.keras")
    back = keras.models.load_model(tmp_path / "keras.keras")
    assert back.get_config()["layers"][1]["config"]["kernel_constraint"]["config"] == {"max_value": 2.0, "axis": [0, 1, 2]}
    assert back.layers[0].kernel.constraint.axis == [0, 1, 2] and back.layers[1].beta.constraint.rate == 0.7
    back(x)
    other(x)
    np.testing.assert_allclose(
        [float(v) for v in back.losses], [float(keras3.ops.convert_to_numpy(v)) for v in other.losses], rtol=1e-5
    )


def cnnlab_affine_class():
    """A layer of one's own whose weights are Variables held as attributes (and one made by
    add_weight), in cnnlab."""

    @keras.saving.register_keras_serializable(package="interop")
    class Affine(keras.layers.Layer):
        def build(self, input_shape):
            self.offset = tf.Variable(np.zeros(input_shape[-1], np.float32), trainable=False, name="offset")
            self.scale = tf.Variable(np.ones(input_shape[-1], np.float32), name="scale")
            self.shift = self.add_weight(shape=(input_shape[-1],), initializer="zeros", name="shift")

        def call(self, inputs):
            return (inputs + self.offset) * self.scale + self.shift

    return Affine


def keras3_affine_class():
    @keras3.saving.register_keras_serializable(package="interop")
    class Affine(keras3.layers.Layer):
        def build(self, input_shape):
            self.offset = keras3.Variable(np.zeros(input_shape[-1], np.float32), trainable=False, name="offset")
            self.scale = keras3.Variable(np.ones(input_shape[-1], np.float32), name="scale")
            self.shift = self.add_weight(shape=(input_shape[-1],), initializer="zeros", name="shift")

        def call(self, inputs):
            return (inputs + self.offset) * self.scale + self.shift

    return Affine


CnnlabAffine = cnnlab_affine_class()
KerasAffine = keras3_affine_class()


def test_variables_held_as_attributes_go_both_ways(tmp_path):
    """Keras 3 keeps a layer's variables under its vars/ group, trainable ones first, each kind in
    the order made: the same file serves both frameworks."""
    keras.utils.set_random_seed(10)
    model = compiled(
        keras.Sequential([keras.Input(shape=(28, 28, 1)), keras.layers.Flatten(), CnnlabAffine(), keras.layers.Dense(10)])
    )
    affine = model.layers[1]
    assert [w.name for w in affine.weights] == ["scale", "shift", "offset"]
    affine.offset.assign(np.linspace(-1, 1, 784).astype(np.float32))
    train_steps(model)
    model.save(tmp_path / "affine.keras")
    theirs = keras3.models.load_model(tmp_path / "affine.keras")
    assert type(theirs.layers[1]) is KerasAffine
    assert_same_state(model, theirs, atol=0)
    assert_same_predictions(model, theirs)
    train_steps(theirs, first=STEPS)
    theirs.save(tmp_path / "affine-back.keras")
    back = keras.models.load_model(tmp_path / "affine-back.keras")
    assert type(back.layers[1]) is CnnlabAffine
    assert_same_state(back, theirs, atol=0)
    assert_same_predictions(back, theirs)


def ticket_model(library):
    """Two inputs, two outputs given as a dict, a Concatenate: the functional guide's ticket model."""
    layers = library.layers
    title, tags = library.Input(shape=(20,), name="title"), library.Input(shape=(4,), name="tags")
    features = layers.Concatenate(name="features")([layers.Dense(8, activation="relu", name="words")(title), tags])
    priority = layers.Dense(1, name="priority")(features)
    department = layers.Dense(3, activation="softmax", name="department")(features)
    return library.Model([title, tags], {"priority": priority, "department": department}, name="tickets")


def compiled_tickets(library):
    model = ticket_model(library)
    model.compile(
        optimizer=library.optimizers.Adam(1e-3),
        loss={"priority": "mse", "department": "sparse_categorical_crossentropy"},
        loss_weights={"priority": 1.0, "department": 0.2},
        metrics={"department": ["accuracy"]},
    )
    return model


TITLES = RNG.random((64, 20)).astype(np.float32)
TAGS = RNG.integers(0, 2, (64, 4)).astype(np.float32)
TARGETS = {"priority": RNG.random((64, 1)).astype(np.float32), "department": RNG.integers(0, 3, 64)}


def test_a_compiled_model_of_two_inputs_and_two_outputs_goes_both_ways(tmp_path):
    keras.utils.set_random_seed(11)
    model = compiled_tickets(keras)
    model.fit([TITLES, TAGS], TARGETS, batch_size=16, epochs=1, verbose=0)
    model.save(tmp_path / "tickets.keras")
    theirs = keras3.models.load_model(tmp_path / "tickets.keras")
    ours_logs = model.evaluate([TITLES, TAGS], TARGETS, verbose=0, return_dict=True)
    their_logs = theirs.evaluate([TITLES, TAGS], TARGETS, verbose=0, return_dict=True)
    assert sorted(ours_logs) == sorted(their_logs)
    for key in ours_logs:
        np.testing.assert_allclose(ours_logs[key], their_logs[key], rtol=1e-5, err_msg=key)
    keras3.utils.set_random_seed(12)
    other = compiled_tickets(keras3)
    other.fit([TITLES, TAGS], TARGETS, batch_size=16, epochs=1, verbose=0)
    other.save(tmp_path / "keras-tickets.keras")
    back = keras.models.load_model(tmp_path / "keras-tickets.keras")
    assert back.loss == {"priority": "mse", "department": "sparse_categorical_crossentropy"}
    ours, theirs_predictions = back.predict([TITLES, TAGS], verbose=0), other.predict([TITLES, TAGS], verbose=0)
    for name in ("priority", "department"):
        np.testing.assert_allclose(ours[name], theirs_predictions[name], rtol=0, atol=1e-5)
    # Training goes on alike: the same losses per output, weighted and summed.
    back_logs = back.fit([TITLES, TAGS], TARGETS, batch_size=16, shuffle=False, verbose=0).history
    other_logs = other.fit([TITLES, TAGS], TARGETS, batch_size=16, shuffle=False, verbose=0).history
    for key in other_logs:
        np.testing.assert_allclose(back_logs[key], other_logs[key], rtol=1e-4, err_msg=key)
