"""The issue's Keras program, run as written under ``import cnnlab as tf``; the namespaces; keras.utils."""

import numpy as np
import pytest

import cnnlab as tf
from cnnlab.keras.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D


def issue_model(dropout):
    model = tf.keras.Sequential()
    model.add(Conv2D(10, (3, 3), activation="relu", padding="same", input_shape=(28, 28, 1)))
    model.add(MaxPooling2D((2, 2)))
    model.add(Flatten())
    if dropout:
        model.add(Dropout(0.5))
    model.add(Dense(100, activation="relu"))
    model.add(Dense(10, activation="softmax"))
    return model


@pytest.mark.parametrize("dropout", [True, False])
def test_the_issue_program_end_to_end(dropout, tmp_path, capsys):
    tf.keras.utils.set_random_seed(42)
    rng = np.random.default_rng(0)
    x_train = rng.random((96, 28, 28, 1), dtype=np.float32)
    y_train_encoded = tf.keras.utils.to_categorical(rng.integers(0, 10, 96), 10)
    x_val, y_val_encoded = x_train[:32], y_train_encoded[:32]

    model = issue_model(dropout)
    model.summary()
    assert "Total params: 197,210" in capsys.readouterr().out
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, y_train_encoded, epochs=2, validation_data=(x_val, y_val_encoded), verbose=0)
    assert list(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]  # sorted, as Keras 3
    assert history.history["loss"][1] < history.history["loss"][0]  # it memorizes the training data
    loss, accuracy = model.evaluate(x_val, y_val_encoded, verbose=0)
    probabilities = model.predict(x_val, verbose=0)
    assert probabilities.shape == (32, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert accuracy == pytest.approx(np.mean(probabilities.argmax(1) == y_val_encoded.argmax(1)))
    model.save(tmp_path / "clothes.keras")
    loaded = tf.keras.models.load_model(tmp_path / "clothes.keras")
    np.testing.assert_array_equal(loaded.predict(x_val, verbose=0), probabilities)
    assert loaded.evaluate(x_val, y_val_encoded, verbose=0) == [loss, accuracy]
    assert loaded.count_params() == 197_210


def test_namespaces_match_tf2():
    keras = tf.keras
    assert keras.Sequential is keras.models.Sequential and keras.Model is keras.models.Model
    assert tf.optimizers is keras.optimizers and tf.initializers is keras.initializers and tf.losses is keras.losses
    for name in (
        "Input",
        "Conv2D",
        "MaxPooling2D",
        "MaxPool2D",
        "AveragePooling2D",
        "AvgPool2D",
        "GlobalAveragePooling2D",
        "GlobalMaxPooling2D",
        "Flatten",
        "Dense",
        "Dropout",
        "Activation",
        "ReLU",
        "BatchNormalization",
        "Reshape",
    ):
        assert hasattr(keras.layers, name), name
    for name in (
        "Callback",
        "History",
        "EarlyStopping",
        "ModelCheckpoint",
        "CSVLogger",
        "LambdaCallback",
        "TerminateOnNaN",
    ):
        assert hasattr(keras.callbacks, name), name
    assert keras.activations.get("relu") is keras.activations.relu
    assert keras.datasets.fashion_mnist.load_data is not None
    assert keras.backend.image_data_format() == "channels_last"
    assert callable(tf.constant_initializer)


def test_to_categorical():
    encoded = tf.keras.utils.to_categorical([2, 0, 1])
    np.testing.assert_array_equal(encoded, np.eye(3, dtype=np.float32)[[2, 0, 1]])
    assert encoded.dtype == np.float32
    assert tf.keras.utils.to_categorical(np.array([[1], [3]]), 5).shape == (2, 5)  # trailing 1 dropped, as Keras
    assert tf.keras.utils.to_categorical(np.zeros((2, 3), np.int64), 4).shape == (2, 3, 4)
    with pytest.raises(ValueError, match="out of range for num_classes=3"):
        tf.keras.utils.to_categorical([3], 3)
    with pytest.raises(ValueError, match=">= 0"):
        tf.keras.utils.to_categorical([-1], 3)
    with pytest.raises(ValueError, match="whole-number"):
        tf.keras.utils.to_categorical([0.5], 3)


def test_set_random_seed_makes_models_reproducible():
    tf.keras.utils.set_random_seed(3)
    first = issue_model(True).get_weights()
    tf.keras.utils.set_random_seed(3)
    second = issue_model(True).get_weights()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="seed"):
        tf.keras.utils.set_random_seed(-1)
