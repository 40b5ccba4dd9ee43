"""Written the way Horovod's example examples/tensorflow2/tensorflow2_keras_mnist.py is written
(Keras ``fit`` with ``hvd.DistributedOptimizer`` and Horovod's callbacks), with the same API
calls, for ``import cnnlab as tf`` and ``import cnnlab.distributed as hvd``.

Differences, each because cnnlab has no such thing: no GPU pinning (cnnlab runs on the CPU);
a small generated array of 12x12 digit-like images instead of MNIST's download; arrays given
to ``fit`` (each process its own shuffled half of them) instead of a ``tf.data.Dataset`` with
``steps_per_epoch``.

Run: mpirun -n 2 python horovod_tensorflow2_keras_mnist.py OUT_DIR
"""

import os
import sys

import numpy as np

import cnnlab as tf
import cnnlab.distributed as hvd


SEED = 7


def digit_images(n, seed):
    """Noise plus a bright bar whose row and column depend on the class (a learnable stand-in for MNIST)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    images = rng.integers(0, 80, (n, 12, 12)).astype(np.uint8)
    for i, label in enumerate(labels):
        images[i, label % 6 * 2, :] = 255
        images[i, :, label // 6 * 6 + 2] = 255
    return images, labels


def train(out_dir):
    # Horovod: initialize Horovod.
    hvd.init()
    # Seeded for the suite (Horovod's example is not): rank 0's initial weights, which the
    # broadcast gives every process, and fit's shuffling are the same on every run.
    tf.keras.utils.set_random_seed(SEED)

    mnist_images, mnist_labels = digit_images(384, seed=0)
    # Horovod: each process reads the data in its own order, and its share of it.
    order = np.random.default_rng(hvd.rank()).permutation(len(mnist_images))[hvd.rank() :: hvd.size()]
    images = tf.cast(mnist_images[order][..., np.newaxis] / 255.0, tf.float32)
    labels = tf.cast(mnist_labels[order], tf.int64)

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

    # Horovod: adjust learning rate based on number of processes.
    scaled_lr = 0.001 * hvd.size()
    opt = tf.optimizers.Adam(scaled_lr)

    # Horovod: add Horovod DistributedOptimizer.
    opt = hvd.DistributedOptimizer(opt, backward_passes_per_step=1, average_aggregated_gradients=True)

    # Horovod: Specify `experimental_run_tf_function=False` to ensure TensorFlow
    # uses hvd.DistributedOptimizer() to compute gradients.
    mnist_model.compile(loss=tf.losses.SparseCategoricalCrossentropy(),
                        optimizer=opt,
                        metrics=['accuracy'],
                        experimental_run_tf_function=False)

    callbacks = [
        # Horovod: broadcast initial variable states from rank 0 to all other processes.
        hvd.callbacks.BroadcastGlobalVariablesCallback(0),
        # Horovod: average metrics among workers at the end of every epoch.
        hvd.callbacks.MetricAverageCallback(),
        # Horovod: warm the learning rate up from 0.001 to 0.001 * hvd.size() over the first epochs.
        hvd.callbacks.LearningRateWarmupCallback(initial_lr=scaled_lr, warmup_epochs=2, verbose=1),
    ]

    # Horovod: save checkpoints only on worker 0 to prevent other workers from corrupting them.
    if hvd.rank() == 0:
        callbacks.append(tf.keras.callbacks.ModelCheckpoint(os.path.join(out_dir, 'checkpoint-{epoch}.h5')))

    # Horovod: write logs on worker 0.
    verbose = 1 if hvd.rank() == 0 else 0

    history = mnist_model.fit(images, labels, batch_size=32, callbacks=callbacks, epochs=3, verbose=verbose)
    if hvd.rank() == 0:
        print('history', {key: [round(float(v), 4) for v in values] for key, values in history.history.items()})
    # Every process ends with the same weights: their checksums, side by side.
    checksum = float(sum(np.abs(w.numpy()).sum() for w in mnist_model.weights))
    print('weights checksum', hvd.rank(), hvd.allgather(np.array([checksum])).numpy().tolist())
    return mnist_model


if __name__ == '__main__':
    train(sys.argv[1])
