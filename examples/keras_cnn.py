"""The same clothing classifier with cnnlab's Keras API.

``Sequential`` + ``compile`` + ``fit`` + ``evaluate``: Conv2D(10, 3x3, same, relu) ->
MaxPooling2D(2) -> Flatten -> Dropout(0.5) -> Dense(100, relu) -> Dense(10, softmax),
Adam, batch 32, on the 48,000 / 12,000 stratified split of the Fashion-MNIST training
images.  Replace ``import cnnlab as tf`` by ``import tensorflow as tf`` and it runs
unchanged in TensorFlow 2 (only the train / validation split comes from cnnlab.datasets).

Run it (about 10 seconds per epoch on a 2-core CPU, 20 epochs by default;
``--no-dropout`` leaves the Dropout layer out):

    .venv/bin/python examples/keras_cnn.py

It prints the model summary, the progress of each epoch, and the test accuracy.
"""

import argparse

import numpy as np

import cnnlab as tf
from cnnlab.datasets import train_val_split


def build_model(dropout=True):
    """The classic small CNN, uncompiled."""
    layers = tf.keras.layers
    return tf.keras.Sequential(
        [
            tf.keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(10, (3, 3), activation="relu", padding="same"),
            layers.MaxPooling2D((2, 2)),
            layers.Flatten(),
            *([layers.Dropout(0.5)] if dropout else []),
            layers.Dense(100, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument(
        "--dropout", action=argparse.BooleanOptionalAction, default=True, help="Dropout(0.5) after Flatten (default: on)"
    )
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    (x_train, y_train), (x_test, y_test) = tf.keras.datasets.fashion_mnist.load_data()
    (x_train, y_train), (x_val, y_val) = train_val_split(x_train, y_train, val_fraction=0.2, seed=args.seed)
    x_train, x_val, x_test = ((images / np.float32(255.0))[..., None] for images in (x_train, x_val, x_test))

    tf.random.set_seed(args.seed)
    model = build_model(dropout=args.dropout)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.summary()
    history = model.fit(
        x_train, y_train, epochs=args.epochs, batch_size=args.batch_size, validation_data=(x_val, y_val), verbose=2
    )
    test_loss, test_accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"validation accuracy: {history.history['val_accuracy'][-1]:.4f}")
    print(f"test accuracy: {test_accuracy:.4f}  (test loss {test_loss:.4f})")


if __name__ == "__main__":
    main()
