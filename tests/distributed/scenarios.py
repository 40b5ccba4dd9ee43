"""Models, data and training loops shared by the MPI programs (run under ``mpirun``) and the
tests that compute the one-process references, so that both sides train the very same thing.

Nothing here starts MPI: the distributed loops take the ``cnnlab.distributed`` module as an argument.
"""

import numpy as np

from cnnlab import GradientTape, keras, random

IMAGE_SHAPE = (6, 6, 1)
CLASSES = 3
LEARNING_RATE = 0.1


def bars_data(n, seed=0):
    """6x6 images of a horizontal bar, a vertical bar or a diagonal, with noise; 3 classes."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, CLASSES, n)
    images = rng.normal(0.0, 0.3, (n, *IMAGE_SHAPE)).astype(np.float32)
    positions = rng.integers(0, IMAGE_SHAPE[0], n)
    for i, (label, p) in enumerate(zip(labels, positions)):
        if label == 0:
            images[i, p, :, 0] += 1.0
        elif label == 1:
            images[i, :, p, 0] += 1.0
        else:
            images[i, np.arange(6), np.arange(6), 0] += 1.0
    return images, labels


def plain_model(seed):
    """A small CNN without Dropout or BatchNormalization."""
    random.set_seed(seed)
    layers = keras.layers
    return keras.Sequential(
        [
            keras.Input(shape=IMAGE_SHAPE),
            layers.Conv2D(4, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(8, activation="relu"),
            layers.Dense(CLASSES, activation="softmax"),
        ]
    )


def batch_norm_model(seed, synchronized, dtype="float64"):
    """A small CNN with a BatchNormalization after the convolution and after the hidden Dense layer.

    In float64 by default: one process sums a channel's values over the whole batch in
    float32 with an error of several units in the last place, which would hide how
    exactly the processes' statistics combine.
    """
    random.set_seed(seed)
    layers = keras.layers
    return keras.Sequential(
        [
            keras.Input(shape=IMAGE_SHAPE, dtype=dtype),
            layers.Conv2D(4, 3, use_bias=False, dtype=dtype),
            layers.BatchNormalization(synchronized=synchronized, dtype=dtype),
            layers.ReLU(dtype=dtype),
            layers.Flatten(dtype=dtype),
            layers.Dense(8, use_bias=False, dtype=dtype),
            layers.BatchNormalization(synchronized=synchronized, momentum=0.5, dtype=dtype),
            layers.ReLU(dtype=dtype),
            layers.Dense(CLASSES, activation="softmax", dtype=dtype),
        ]
    )


def dropout_model(seed):
    random.set_seed(seed)
    layers = keras.layers
    return keras.Sequential(
        [
            keras.Input(shape=IMAGE_SHAPE),
            layers.Conv2D(4, 3, activation="relu"),
            layers.Flatten(),
            layers.Dropout(0.5),
            layers.Dense(CLASSES, activation="softmax"),
        ]
    )


def compile_sgd(model, optimizer_wrapper=None):
    optimizer = keras.optimizers.SGD(learning_rate=LEARNING_RATE, momentum=0.9)
    if optimizer_wrapper is not None:
        optimizer = optimizer_wrapper(optimizer)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def epoch_order(seed, epoch, n):
    """The order of the samples in ``epoch``, the same in every process."""
    return np.random.default_rng([seed, epoch]).permutation(n)


def train_one_process(model, x, y, epochs, batch_size, seed):
    """``epochs`` epochs of ``fit`` in ``epoch_order``, one process, ``batch_size`` samples a step."""
    for epoch in range(epochs):
        order = epoch_order(seed, epoch, len(x))
        model.fit(
            x[order], y[order], batch_size=batch_size, epochs=epoch + 1, initial_epoch=epoch, shuffle=False, verbose=0
        )
    return model


def train_processes(hvd, model, x, y, epochs, batch_size, seed):
    """The same epochs shared by the processes, ``batch_size`` samples a step in each: returns the History dicts."""
    histories = []
    for epoch in range(epochs):
        part = hvd.shard(epoch_order(seed, epoch, len(x)), batch_size)
        history = model.fit(
            x[part.indices],
            y[part.indices],
            batch_size=batch_size,
            epochs=epoch + 1,
            initial_epoch=epoch,
            shuffle=False,
            verbose=0,
            callbacks=[part.callback()],
        )
        histories.append(history.history)
    return histories


def tape_steps_one_process(model, x, y, steps, batch_size, seed):
    """A GradientTape loop over ``steps`` batches of the first epoch's order."""
    optimizer = keras.optimizers.SGD(learning_rate=LEARNING_RATE)
    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    order = epoch_order(seed, 0, len(x))
    for step in range(steps):
        batch = order[step * batch_size : (step + 1) * batch_size]
        with GradientTape() as tape:
            loss = loss_fn(y[batch], model(x[batch], training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
    return model


def tape_steps_processes(hvd, model, x, y, steps, batch_size, seed):
    """The same loop, each process on its part of each global batch, with DistributedGradientTape."""
    optimizer = keras.optimizers.SGD(learning_rate=LEARNING_RATE)
    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    part = hvd.shard(epoch_order(seed, 0, len(x)), batch_size)
    start = 0
    for step in range(steps):
        count = part.batch_sizes[step]
        batch = part.indices[start : start + count]
        start += count
        with GradientTape() as tape:
            loss = loss_fn(y[batch], model(x[batch], training=True))
        tape = hvd.DistributedGradientTape(tape)
        tape.sample_count = count
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
    return model


def weights_of(model):
    return {f"{i:02d}_{w.name}": w.numpy() for i, w in enumerate(model.weights)}
