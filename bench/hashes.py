"""Fingerprints of what the benchmark's models compute: a change of rounding anywhere shows here.

For each Keras configuration of ``bench_train.py`` (classic-sgd128, classic-adam32,
deep-adam64, resnet-adam64): the weights after one epoch, the predictions on the test images and the
``evaluate`` results; the untrained classic model's predictions (predict10k); and the
weights after one epoch of the GradientTape loop (tape-sgd128).  Each configuration runs
in a fresh process, seeded as the benchmark seeds it, and prints the SHA-256 (first 16
hex digits) of the exact bytes.  No timing is involved: the same code, NumPy / BLAS build
and thread count (the cores this process may run on) give the same hashes; a kernel that rounds differently changes them.

The data are generated (seeded), shaped as Fashion-MNIST and learnable: ten classes,
each a smooth random template, drawn with random brightness, shift and noise, as uint8
images.  So the script runs the same everywhere, with or without the real data set.

Usage:
    .venv/bin/python bench/hashes.py                 # 6,400 training and 1,000 test images
    .venv/bin/python bench/hashes.py --train 12800 --configs deep-adam64
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_train  # noqa: E402 - the benchmark's own model definitions and tape loop

CONFIGS = ("classic-sgd128", "classic-adam32", "deep-adam64", "resnet-adam64", "predict10k", "tape-sgd128")
DATA_SEED = 20240601


def generated_data(train, test, seed=DATA_SEED):
    """``(x_train, y_train), (x_test, y_test)``: uint8 (N, 28, 28) images and int labels in [0, 10)."""
    rng = np.random.default_rng(seed)
    coarse = rng.random((10, 7, 7))
    templates = np.kron(coarse, np.ones((4, 4)))  # smooth 28x28 patterns, one per class
    templates = (templates - templates.min(axis=(1, 2), keepdims=True)) * 255 / np.ptp(templates, axis=(1, 2), keepdims=True)

    def draw(count):
        labels = rng.integers(0, 10, count)
        brightness = rng.uniform(0.3, 1.0, (count, 1, 1))
        shifts = rng.integers(-3, 4, (count, 2))
        images = templates[labels] * brightness
        images = np.stack([np.roll(image, tuple(shift), axis=(0, 1)) for image, shift in zip(images, shifts)])
        images += rng.normal(0, 100, images.shape)
        return np.clip(images, 0, 255).astype(np.uint8), labels.astype(np.int64)

    return draw(train), draw(test)


def digest(arrays):
    """SHA-256 (16 hex digits) of the arrays' dtypes, shapes and bytes, in order."""
    hasher = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        hasher.update(f"{array.dtype.str}{array.shape}".encode())
        hasher.update(array.tobytes())
    return hasher.hexdigest()[:16]


def worker(config, train, test):
    """Run ``config`` as the benchmark does, on the generated data; return its hashes."""
    import cnnlab as tf

    tf.runtime.configure()  # as the benchmark runs it
    tf.random.set_seed(0)
    (x_train, y_train), (x_test, y_test) = generated_data(train, test)
    x_train = (x_train[:, :, :, None] / np.float32(255)).astype(np.float32)
    x_test = (x_test[:, :, :, None] / np.float32(255)).astype(np.float32)
    if config == "tape-sgd128":
        return {"weights": digest([v.numpy() for v in bench_train.train_cnnlab_tape(tf, x_train, y_train)])}
    model = bench_train.cnnlab_config_model(tf, config)
    model.compile(optimizer=bench_train.cnnlab_optimizer(tf, config), loss="categorical_crossentropy", metrics=["accuracy"])
    if config == "predict10k":
        return {"predictions": digest([model.predict(x_test, batch_size=32, verbose=0)])}
    model.fit(x_train, tf.keras.utils.to_categorical(y_train, 10), batch_size=bench_train.BATCH[config], epochs=1, verbose=0)
    loss, accuracy = model.evaluate(x_test, tf.keras.utils.to_categorical(y_test, 10), batch_size=32, verbose=0)
    return {
        "weights": digest(model.get_weights()),
        "predictions": digest([model.predict(x_test, batch_size=32, verbose=0)]),
        "evaluate": f"{digest([np.array([loss, accuracy], np.float64)])} (loss {loss!r}, accuracy {accuracy!r})",
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", nargs="+", choices=CONFIGS, default=list(CONFIGS))
    parser.add_argument("--train", type=int, default=6400, help="generated training images (default 6400)")
    parser.add_argument("--test", type=int, default=1000, help="generated test images (default 1000)")
    parser.add_argument("--worker", choices=CONFIGS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.train, args.test)))
        return
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"numpy {np.__version__}, {cores} cores (the thread count changes how products are split, so the hashes)")
    for config in args.configs:
        command = [sys.executable, __file__, "--worker", config, "--train", str(args.train), "--test", str(args.test)]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            sys.exit(f"{config} failed:\n{result.stderr}")
        for name, value in json.loads(result.stdout.strip().splitlines()[-1]).items():
            print(f"{config:15} {name:12} {value}", flush=True)


if __name__ == "__main__":
    main()
