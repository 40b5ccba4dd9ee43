"""The models ``cnnlab train --model NAME`` knows, with the training settings that suit each.

* ``seed``: the classic small clothing CNN,
  Conv2D(10, 3x3, same, relu) -> MaxPooling2D(2) -> Flatten -> Dense(100, relu) -> Dense(10, softmax);
  Adam 1e-3, batch 32, 20 epochs (197,210 parameters).
* ``seed-dropout``: the same with Dropout(0.5) after Flatten.
* ``deep``: a 3x3 convolution with 32 filters at full resolution, then a VGG-style
  block of two 3x3 convolutions with 64 filters at half resolution; every convolution
  followed by BatchNormalization and ReLU, each stage by 2x2 max pooling, the second
  by Dropout(0.25) too; a Dense(256) head with BatchNormalization and Dropout(0.5).
  Trained as small-resnet is (below): mirrored images shifted by up to a pixel, SGD
  with Nesterov momentum and weight decay, the rate 0.05 on a cosine to 0, batch 64,
  24 epochs.
* ``small-resnet``: a 3x3 convolution with 32 filters, then three residual stages of
  two 3x3 convolutions each (32, 64, 128 filters; stride 2 into the second and third,
  where a 1x1 convolution projects the shortcut), every convolution followed by
  BatchNormalization, global average pooling and a Dense softmax: the benchmark's
  small ResNet, a functional model whose stages end in ``Add`` and ``ReLU`` (files of it
  with one ``ResidualBlock`` layer per stage load too: cli/resnet.py).  Trained on
  mirrored images shifted by up to a pixel, SGD with Nesterov momentum 0.9 and
  decoupled weight decay 5e-3, the learning rate 0.05 falling along a cosine to 0 over
  the run (Keras's CosineDecay), batch 64, 22 epochs.

The test accuracy and training time each model reaches, with the command that measures
them, are in the README's accuracy table.

Every model adapts its input layer to the data's picture size and channels and its
last layer to the number of classes: ``build(input_shape, num_classes)``.
"""

import dataclasses

import numpy as np

NUM_CLASSES = 10
INPUT_SHAPE = (28, 28, 1)
# The SGD of the deep and small-resnet recipes: Nesterov momentum and Keras's decoupled weight decay.
NESTEROV_SGD = {"momentum": 0.9, "nesterov": True, "weight_decay": 5e-3}


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """A model and how it is trained by default.

    Attributes:
        build: ``build(input_shape=(28, 28, 1), num_classes=10) -> keras.Model`` (Sequential or
            functional; uncompiled; weights drawn from cnnlab.random).
        summary: one line for ``--help``.
        optimizer, learning_rate, batch_size, epochs: the defaults of ``cnnlab train``.
        optimizer_options: further arguments of the optimizer (momentum, weight decay), used
            when the run trains with the model's own optimizer.
        lr_decay_per_epoch: multiply the learning rate by this after every epoch
            (1.0: constant).
        cosine_decay: the learning rate falls along a cosine to 0 over the run's epochs
            (``keras.optimizers.schedules.CosineDecay``) instead.
        augment: train on randomly shifted and flipped copies of the images.
        max_shift: the largest shift, in pixels, of an augmented image (0: flips only).
    """

    build: object
    summary: str
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    batch_size: int = 32
    epochs: int = 20
    optimizer_options: dict = dataclasses.field(default_factory=dict)
    lr_decay_per_epoch: float = 1.0
    cosine_decay: bool = False
    augment: bool = False
    max_shift: int = 2


def _seed(dropout):
    def build(input_shape=INPUT_SHAPE, num_classes=NUM_CLASSES):
        from .. import keras

        layers = keras.layers
        return keras.Sequential(
            [
                keras.Input(shape=input_shape),
                layers.Conv2D(10, (3, 3), activation="relu", padding="same"),
                layers.MaxPooling2D((2, 2)),
                layers.Flatten(),
                *([layers.Dropout(0.5)] if dropout else []),
                layers.Dense(100, activation="relu"),
                layers.Dense(num_classes, activation="softmax"),
            ],
            name="seed_dropout" if dropout else "seed",
        )

    return build


def _deep(input_shape=INPUT_SHAPE, num_classes=NUM_CLASSES):
    from .. import keras

    layers = keras.layers

    def conv_bn_relu(filters):
        # No bias: BatchNormalization's offset takes its place.
        return [
            layers.Conv2D(filters, (3, 3), padding="same", use_bias=False),
            layers.BatchNormalization(),
            layers.ReLU(),
        ]

    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
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
            layers.Dense(num_classes, activation="softmax"),
        ],
        name="deep",
    )


def _small_resnet(input_shape=INPUT_SHAPE, num_classes=NUM_CLASSES):
    from .. import keras

    layers = keras.layers
    inputs = keras.Input(shape=input_shape)
    x = layers.Conv2D(32, (3, 3), padding="same", use_bias=False, name="stem_conv")(inputs)
    x = layers.BatchNormalization(name="stem_norm")(x)
    x = layers.ReLU(name="stem_relu")(x)
    for stage, (filters, strides) in enumerate([(32, 1), (64, 2), (128, 2)], start=1):
        x = _residual_stage(layers, x, filters, strides, f"stage_{stage}")
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="classes")(x)
    return keras.Model(inputs, outputs, name="small_resnet")


def _residual_stage(layers, x, filters, strides, name):
    """A basic residual block (He et al., 2016): ``relu(bn(conv(relu(bn(conv(x))))) + shortcut(x))``, the
    convolutions 3x3 without bias, the first with ``strides``; the shortcut the input itself, or a 1x1
    convolution with ``strides`` and BatchNormalization where the stride or the channels change."""
    y = layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False, name=f"{name}_conv1")(x)
    y = layers.BatchNormalization(name=f"{name}_norm1")(y)
    y = layers.ReLU(name=f"{name}_relu1")(y)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv2")(y)
    y = layers.BatchNormalization(name=f"{name}_norm2")(y)
    shortcut = x
    if strides != 1 or x.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=strides, use_bias=False, name=f"{name}_projection")(x)
        shortcut = layers.BatchNormalization(name=f"{name}_projection_norm")(shortcut)
    y = layers.Add(name=f"{name}_add")([y, shortcut])
    return layers.ReLU(name=f"{name}_out")(y)


def custom_objects():
    """The classes of this package that a saved model may name, for ``keras.models.load_model`` (the
    ``ResidualBlock`` of small-resnet files with one such layer per stage)."""
    from .resnet import ResidualBlock

    return {"ResidualBlock": ResidualBlock}


MODELS = {
    "seed": ModelSpec(
        _seed(dropout=False), "Conv2D(10) -> MaxPool -> Dense(100) -> Dense(10); Adam, batch 32, 20 epochs"
    ),
    "seed-dropout": ModelSpec(_seed(dropout=True), "seed with Dropout(0.5) after Flatten; Adam, batch 32, 20 epochs"),
    "deep": ModelSpec(
        _deep,
        "conv 32, then conv 64 x2, with BatchNorm and Dropout, mirrored images and 1-pixel shifts; SGD (Nesterov,"
        " weight decay), lr 0.05 on a cosine to 0, batch 64, 24 epochs",
        optimizer="sgd",
        optimizer_options=NESTEROV_SGD,
        learning_rate=0.05,
        batch_size=64,
        epochs=24,
        cosine_decay=True,
        augment=True,
        max_shift=1,
    ),
    "small-resnet": ModelSpec(
        _small_resnet,
        "conv 32, three residual stages (32, 64, 128 filters) with BatchNorm, global average pooling, mirrored"
        " and 1-pixel shifts; SGD (Nesterov, weight decay), lr 0.05 on a cosine to 0, batch 64, 22 epochs",
        optimizer="sgd",
        optimizer_options=NESTEROV_SGD,
        learning_rate=0.05,
        batch_size=64,
        epochs=22,
        cosine_decay=True,
        augment=True,
        max_shift=1,
    ),
}


def augment(images, rng, max_shift=2):
    """Randomly shifted (up to ``max_shift`` pixels each way) and half of them mirrored left-right.

    Args:
        images: uint8 or float array (n, height, width[, channels]); the background is 0.
        rng: a ``numpy.random.Generator`` (the same generator state gives the same batch).

    Returns:
        A new array of the same shape and dtype; pixels shifted in from outside are 0.

    One gather for the whole batch: each output pixel reads the input pixel at its
    own shifted (and, for mirrored images, reflected) column and row.
    """
    n, height, width = images.shape[:3]
    shift_rows = rng.integers(-max_shift, max_shift + 1, size=n)
    shift_cols = rng.integers(-max_shift, max_shift + 1, size=n)
    mirrored = rng.random(n) < 0.5
    columns = np.where(mirrored[:, None], np.arange(width)[::-1], np.arange(width))  # (n, width)
    source_rows = np.arange(height)[None, :] - shift_rows[:, None]  # (n, height)
    source_cols = columns - shift_cols[:, None]
    channels = ((0, 0),) * (images.ndim - 3)
    padded = np.pad(images, ((0, 0), (max_shift, max_shift), (max_shift, max_shift), *channels))
    return padded[
        np.arange(n)[:, None, None],
        (source_rows + max_shift)[:, :, None],
        (source_cols + max_shift)[:, None, :],
    ]
