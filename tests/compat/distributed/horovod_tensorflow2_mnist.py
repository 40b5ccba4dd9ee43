"""Written the way Horovod's example examples/tensorflow2/tensorflow2_mnist.py is written (a
``GradientTape`` loop with ``hvd.DistributedGradientTape`` and ``hvd.broadcast_variables``),
with the same API calls, for ``import cnnlab as tf`` and ``import cnnlab.distributed as hvd``.

Differences, each because cnnlab has no such thing: no GPU pinning (cnnlab runs on the CPU);
a small generated array of 12x12 digit-like images instead of MNIST's download; batches cut
from each process's own shuffled order instead of a ``tf.data.Dataset``; the training step
runs eagerly (no ``@tf.function``); rank 0 saves the weights with ``save_weights`` instead of
a ``tf.train.Checkpoint``.

Run: mpirun -n 2 python horovod_tensorflow2_mnist.py OUT_DIR
"""

import os
import sys

import numpy as np

import cnnlab as tf
import cnnlab.distributed as hvd


def digit_images(n, seed):
    """Noise plus a bright bar whose row and column depend on the class (a learnable stand-in for MNIST)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    images = rng.integers(0, 80, (n, 12, 12)).astype(np.uint8)
    for i, label in enumerate(labels):
        images[i, label % 6 * 2, :] = 255
        images[i, :, label // 6 * 6 + 2] = 255
    return images, labels


def batches(images, labels, batch_size, seed):
    """Batches of a shuffled order, for ever (as ``dataset.repeat().shuffle(...).batch(...)``)."""
    rng = np.random.default_rng(seed)
    while True:
        order = rng.permutation(len(images))
        for start in range(0, len(order) - batch_size + 1, batch_size):
            yield images[order[start : start + batch_size]], labels[order[start : start + batch_size]]


def train(out_dir):
    # Horovod: initialize Horovod.
    hvd.init()

    mnist_images, mnist_labels = digit_images(640, seed=0)
    dataset = batches(
        tf.cast(mnist_images[..., np.newaxis] / 255.0, tf.float32).numpy(),
        tf.cast(mnist_labels, tf.int64).numpy(),
        batch_size=32,
        seed=hvd.rank(),
    )

    mnist_model = tf.keras.Sequential([
        tf.keras.layers.Conv2D(32, [3, 3], activation='relu'),
        tf.keras.layers.Conv2D(64, [3, 3], activation='relu'),
        tf.keras.layers.MaxPooling2D(pool_size=(2, 2)),
        tf.keras.layers.Dropout(0.25),
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(128, activation='relu'),
        tf.keras.layers.Dropout(0.5),
        tf.keras.layers.Dense(10, activation='softmax')
    ])
    loss = tf.losses.SparseCategoricalCrossentropy()

    # Horovod: adjust learning rate based on number of processes.
    opt = tf.optimizers.Adam(0.001 * hvd.size())

    def training_step(images, labels, first_batch):
        with tf.GradientTape() as tape:
            probs = mnist_model(images, training=True)
            loss_value = loss(labels, probs)

        # Horovod: add Horovod Distributed GradientTape.
        tape = hvd.DistributedGradientTape(tape)

        grads = tape.gradient(loss_value, mnist_model.trainable_variables)
        opt.apply_gradients(zip(grads, mnist_model.trainable_variables))

        # Horovod: broadcast initial variable states from rank 0 to all other processes.
        # This is necessary to ensure consistent initialization of all workers when
        # training is started with random weights or restored from a checkpoint.
        #
        # Note: broadcast should be done after the first gradient step to ensure optimizer
        # initialization.
        if first_batch:
            hvd.broadcast_variables(mnist_model.variables, root_rank=0)
            hvd.broadcast_variables(opt.variables(), root_rank=0)

        return loss_value

    # Horovod: adjust number of steps based on number of processes.
    for batch, (images, labels) in enumerate(dataset):
        if batch == 60 // hvd.size():
            break
        loss_value = training_step(images, labels, batch == 0)

        if batch % 10 == 0 and hvd.local_rank() == 0:
            print('Step #%d\tLoss: %.6f' % (batch, loss_value))

    # Every process ends with the same weights: their checksums, side by side.
    checksum = float(sum(np.abs(w.numpy()).sum() for w in mnist_model.weights))
    print('weights checksum', hvd.rank(), hvd.allgather(np.array([checksum])).numpy().tolist())

    # Horovod: save checkpoints only on worker 0 to prevent other workers from corrupting it.
    if hvd.rank() == 0:
        mnist_model.save_weights(os.path.join(out_dir, 'checkpoint.weights.h5'))
        return mnist_model


if __name__ == '__main__':
    train(sys.argv[1])
