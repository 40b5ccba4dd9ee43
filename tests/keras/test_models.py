"""Sequential, functional and subclassed models: structure, naming, building, summary()."""

import numpy as np
import pytest

import cnnlab as tf
from cnnlab import keras
from cnnlab.keras.layers import BatchNormalization, Conv2D, Dense, Dropout, Flatten, Input, MaxPooling2D


def clothing_cnn(dropout=True):
    """The issue's model (with or without Dropout), built the way the issue writes it."""
    model = tf.keras.Sequential()
    model.add(Conv2D(10, (3, 3), activation="relu", padding="same", input_shape=(28, 28, 1)))
    model.add(MaxPooling2D((2, 2)))
    model.add(Flatten())
    if dropout:
        model.add(Dropout(0.5))
    model.add(Dense(100, activation="relu"))
    model.add(Dense(10, activation="softmax"))
    return model


@pytest.fixture(autouse=True)
def console_of_100_columns(monkeypatch):
    """summary() reads the console's width (as Keras's does): the same in every run of the suite."""
    monkeypatch.setenv("COLUMNS", "100")


def summary_text(model, **kwargs):
    lines = []
    model.summary(print_fn=lines.append, **kwargs)
    assert len(lines) == 1  # Keras 3 hands print_fn the whole text
    return lines[0]


def table_rows(text):
    return [line for line in text.splitlines() if line.startswith("│")]


@pytest.mark.parametrize("dropout", [True, False])
def test_summary_of_the_issue_model(dropout):
    text = summary_text(clothing_cnn(dropout), line_length=88)
    expected = [
        ("conv2d (Conv2D)", "(None, 28, 28, 10)", "100"),
        ("max_pooling2d (MaxPooling2D)", "(None, 14, 14, 10)", "0"),
        ("flatten (Flatten)", "(None, 1960)", "0"),
        ("dropout (Dropout)", "(None, 1960)", "0"),
        ("dense (Dense)", "(None, 100)", "196,100"),
        ("dense_1 (Dense)", "(None, 10)", "1,010"),
    ]
    if not dropout:
        expected.pop(3)
    rows = [tuple(cell.strip() for cell in row.strip("│").split("│")) for row in table_rows(text)]
    assert rows == expected
    lines = text.splitlines()
    assert lines[0] == 'Model: "sequential"'
    assert [cell.strip() for cell in lines[2].strip("┃").split("┃")] == ["Layer (type)", "Output Shape", "Param #"]
    assert all(len(line) == 88 for line in lines[1 : 3 + 2 * len(expected) + 1])  # the table, borders included
    assert " Total params: 197,210 (770.35 KB)" in lines
    assert " Trainable params: 197,210 (770.35 KB)" in lines
    assert " Non-trainable params: 0 (0.00 B)" in lines
    assert clothing_cnn(dropout).count_params() == 197_210


def test_summary_counts_non_trainable_weights_and_optimizer_state():
    model = keras.Sequential([Input(shape=(4, 4, 2)), Conv2D(3, 3), BatchNormalization(), Flatten(), Dense(2)])
    text = summary_text(model)
    # conv 3*3*2*3+3 = 57, BN 4*3 = 12 (6 trainable), dense 12*2+2 = 26
    assert " Total params: 95 (380.00 B)" in text.splitlines()
    assert " Trainable params: 89 (356.00 B)" in text.splitlines()
    assert " Non-trainable params: 6 (24.00 B)" in text.splitlines()
    assert "Optimizer params" not in text
    model.compile(optimizer="sgd", loss="mse")
    model.train_on_batch(np.ones((2, 4, 4, 2), np.float32), np.zeros((2, 2), np.float32))
    assert " Optimizer params: 2 (12.00 B)" in summary_text(model).splitlines()  # iterations (int64) + learning rate


def test_summary_of_an_unbuilt_model_and_show_trainable():
    model = keras.Sequential([Dense(4), Dense(2)])
    rows = table_rows(summary_text(model))
    assert "dense (Dense)" in rows[0] and "?" in rows[0] and "0 (unbuilt)" in rows[0]
    model.build((None, 3))
    model.layers[0].trainable = False
    rows = table_rows(summary_text(model, show_trainable=True))
    assert rows[0].split("│")[1:-1][-1].strip() == "N" and rows[1].split("│")[1:-1][-1].strip() == "Y"


def test_sequential_construction_add_pop_and_layers():
    model = keras.Sequential([Input(shape=(6,)), Dense(4, name="hidden"), Dense(3)], name="stack")
    assert model.name == "stack" and [layer.name for layer in model.layers] == ["hidden", "dense"]
    assert model.built and model.output_shape == (None, 3) and model.input_shape == (None, 6)
    model.add(Dense(2))
    assert model.output_shape == (None, 2) and model.layers[-1].name == "dense_1"
    popped = model.pop()
    assert popped.name == "dense_1" and model.output_shape == (None, 3) and len(model.layers) == 2
    assert len(model.weights) == 4
    with pytest.raises(ValueError, match="unique names"):
        model.add(Dense(2, name="hidden"))
    with pytest.raises(TypeError, match="expected a keras Layer"):
        model.add("dense")
    with pytest.raises(ValueError, match="only be the first"):
        model.add(keras.layers.InputLayer(shape=(3,)))


def test_sequential_built_on_first_call():
    model = keras.Sequential([Conv2D(2, 3), Flatten(), Dense(1)])
    assert not model.built and model.weights == []
    out = model(np.zeros((2, 5, 5, 1), np.float32))
    assert out.shape == (2, 1) and model.built
    assert model.input_shape == (None, 5, 5, 1)
    assert [layer.output.shape for layer in model.layers] == [(None, 3, 3, 2), (None, 18), (None, 1)]
    assert "(None, 3, 3, 2)" in summary_text(model)


def test_sequential_forward_equals_layer_by_layer():
    tf.random.set_seed(0)
    model = clothing_cnn()
    x = np.random.default_rng(0).random((3, 28, 28, 1), dtype=np.float32)
    expected = x
    for layer in model.layers:
        expected = layer(expected)
    # Equal up to rounding: the model runs Conv2D + MaxPooling2D as one op, which for inference sums
    # each pooling window's conv outputs in another order (kernels.conv._conv_max_pool_by_windows).
    np.testing.assert_allclose(model(x).numpy(), expected.numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(model.predict(x, verbose=0), model(x).numpy())
    # training=True turns Dropout on inside the model.
    assert not np.array_equal(model(x, training=True).numpy(), expected.numpy())


def test_a_float64_model_takes_its_inputs_in_float64():
    # A model converts its inputs to its Input's dtype (as Keras's Sequential and functional models
    # do), not to the model's own float32: no float64 input is rounded to float32 on the way in.
    x = np.random.default_rng(0).random((4, 3))
    extra = np.random.default_rng(1).random((4, 2))
    sequential = keras.Sequential([Input(shape=(3,), dtype="float64"), Dense(2, dtype="float64")])
    kernel, bias = (w.numpy() for w in sequential.layers[0].weights)
    expected = x @ kernel + bias
    np.testing.assert_allclose(sequential(x).numpy(), expected, rtol=1e-15)
    np.testing.assert_allclose(sequential.predict(x, verbose=0), expected, rtol=1e-15)
    unbuilt = keras.Sequential([Dense(2, dtype="float64")])
    unbuilt(x)
    assert unbuilt.inputs[0].dtype == "float64"
    np.testing.assert_allclose(unbuilt(x).numpy(), x @ unbuilt.layers[0].kernel.numpy(), rtol=1e-15)
    image, vector = Input(shape=(3,), dtype="float64"), Input(shape=(2,), dtype="float64")
    joined = keras.layers.Concatenate(dtype="float64")([image, vector])
    functional = keras.Model([image, vector], Dense(1, dtype="float64")(joined))
    kernel, bias = (w.numpy() for w in functional.layers[-1].weights)
    expected = np.concatenate([x, extra], axis=1) @ kernel + bias
    np.testing.assert_allclose(functional([x, extra]).numpy(), expected, rtol=1e-15)
    np.testing.assert_allclose(functional({"input_layer": x, "input_layer_1": extra}).numpy(), expected, rtol=1e-15)
    single = keras.Model(image, Dense(1, dtype="float64")(image))
    np.testing.assert_allclose(single(x).numpy(), x @ single.layers[-1].kernel.numpy(), rtol=1e-15)
    sequential.compile(optimizer="sgd", loss="mse")
    before = sequential.layers[0].kernel.numpy()
    sequential.train_on_batch(x, np.zeros((4, 2)))
    gradient = 2 * x.T @ (x @ before + bias) / 8  # mean squared error over 4 samples x 2 outputs
    learning_rate = float(np.float32(0.01))  # SGD's default, held in float32
    np.testing.assert_allclose(sequential.layers[0].kernel.numpy(), before - learning_rate * gradient, rtol=1e-14)


def test_the_unnamed_inputs_of_a_functional_model_get_names_of_their_own():
    # As every other layer's: two inputs both named 'input_layer' would make a file that Keras
    # (and cnnlab) reads with the inputs mixed up, and a dict of inputs by name ambiguous.
    image, vector = Input(shape=(3,)), Input(shape=(2,))
    model = keras.Model([image, vector], Dense(1)(keras.layers.Concatenate()([image, vector])))
    assert model.input_names == ["input_layer", "input_layer_1"]
    x, extra = np.ones((2, 3), np.float32), np.zeros((2, 2), np.float32)
    np.testing.assert_array_equal(model({"input_layer_1": extra, "input_layer": x}).numpy(), model([x, extra]).numpy())


def test_get_layer():
    model = clothing_cnn()
    assert model.get_layer("dense_1") is model.layers[-1]
    assert model.get_layer(index=0).name == "conv2d"
    with pytest.raises(ValueError, match="no layer named 'dense_9'"):
        model.get_layer("dense_9")


class Classifier(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.flatten = Flatten()
        self.hidden = Dense(8, activation="relu")
        self.dropout = Dropout(0.5)
        self.head = Dense(3, activation="softmax")

    def call(self, x, training=False):
        return self.head(self.dropout(self.hidden(self.flatten(x)), training=training))


def test_subclassed_model_tracks_layers_and_weights():
    model = Classifier()
    assert [layer.name for layer in model.layers] == ["flatten", "dense", "dropout", "dense_1"]
    x = np.ones((4, 2, 3), np.float32)
    out = model(x)
    assert out.shape == (4, 3) and model.built
    assert len(model.weights) == 4 and len(model.trainable_weights) == 4
    assert model.count_params() == 6 * 8 + 8 + 8 * 3 + 3
    np.testing.assert_allclose(out.numpy().sum(axis=1), 1.0, rtol=1e-6)
    assert model.name == "classifier" and "dense_1 (Dense)" in summary_text(model)


def test_training_flag_reaches_layers_called_without_it():
    class Inner(keras.Model):
        def __init__(self):
            super().__init__()
            self.dropout = Dropout(0.5)

        def call(self, x):  # no training argument passed on: Keras's call context supplies it
            return self.dropout(x)

    model = Inner()
    x = np.ones((50, 20), np.float32)
    np.testing.assert_array_equal(model(x).numpy(), x)
    dropped = model(x, training=True).numpy()
    assert (dropped == 0).any() and np.allclose(dropped[dropped != 0], 2.0)
    np.testing.assert_array_equal(model(x).numpy(), x)  # the context ends with the call


def test_model_without_super_init_is_a_clear_error():
    class Broken(keras.Model):
        def __init__(self):
            self.dense = Dense(2)

    with pytest.raises(RuntimeError, match="super\\(\\).__init__\\(\\)"):
        Broken()


def test_functional_model_and_feature_map_probe():
    inputs = keras.Input(shape=(6, 6, 1))
    features = Conv2D(4, 3, activation="relu")(inputs)
    pooled = MaxPooling2D()(features)
    outputs = Dense(2, activation="softmax")(Flatten()(pooled))
    model = keras.Model(inputs, outputs)
    assert isinstance(model, keras.Model) and type(model).__name__ == "Functional"
    assert [layer.name for layer in model.layers] == ["input_layer", "conv2d", "max_pooling2d", "flatten", "dense"]
    x = np.random.default_rng(1).random((3, 6, 6, 1), dtype=np.float32)
    probe = keras.Model(model.inputs, [layer.output for layer in model.layers[1:]])
    maps = probe.predict(x, verbose=0)
    assert [m.shape for m in maps] == [(3, 4, 4, 4), (3, 2, 2, 4), (3, 16), (3, 2)]
    np.testing.assert_array_equal(maps[-1], model.predict(x, verbose=0))
    np.testing.assert_array_equal(maps[0], model.layers[1](x).numpy())
    with pytest.raises(ValueError, match="not connected"):
        keras.Model(keras.Input(shape=(3,)), outputs)


def test_sequential_layer_outputs_feed_a_probe_model():
    model = clothing_cnn()
    probe = keras.Model(inputs=model.inputs, outputs=[model.layers[0].output, model.layers[1].output])
    x = np.random.default_rng(2).random((2, 28, 28, 1), dtype=np.float32)
    conv_maps, pooled = probe.predict(x, verbose=0)
    assert conv_maps.shape == (2, 28, 28, 10) and pooled.shape == (2, 14, 14, 10)
    np.testing.assert_array_equal(pooled, model.layers[1](model.layers[0](x)).numpy())


def test_clone_model_has_same_architecture_and_new_weights():
    tf.random.set_seed(3)
    model = clothing_cnn(dropout=False)
    clone = keras.models.clone_model(model)
    assert [type(layer) for layer in clone.layers] == [type(layer) for layer in model.layers]
    assert clone.count_params() == model.count_params()
    assert not np.array_equal(clone.layers[0].kernel.numpy(), model.layers[0].kernel.numpy())
