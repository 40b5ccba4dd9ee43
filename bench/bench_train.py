"""cnnlab versus PyTorch (CPU, eager) on the small CNNs cnnlab exists for, side by side.

Each measurement runs in a fresh process; cnnlab and PyTorch runs alternate, and the
median of the per-pair time ratios (cnnlab / PyTorch) is printed for every
configuration, with the lowest and highest of those ratios and the peak resident
memory of each process.

Configurations (the same model, initialisation scheme, optimizer settings, batch
size and data in both frameworks; Fashion-MNIST, 48,000 training images):

  classic-sgd128   Conv2D(10, 3x3, same, relu) > MaxPool(2) > Flatten > Dense(100, relu) > Dense(10),
                   one epoch, batch 128, SGD(lr 0.01)
  classic-adam32   the same model, one epoch, batch 32, Adam(lr 1e-3, epsilon 1e-7)
  predict10k       the same model, inference on the 10,000 test images, batch 32
  deep-adam64      Conv32 > Conv32 > MaxPool > Conv64 > Conv64 > MaxPool > Dense128 > Dense10
                   (3x3 valid convs, relu), one epoch, batch 64, Adam
  tape-sgd128      the classic model written with Variables, tf.nn ops, a GradientTape and
                   SGD.apply_gradients (cnnlab) / autograd and torch.optim.SGD (PyTorch),
                   one epoch, batch 128
  resnet-adam64    a small ResNet: Conv32 > three residual stages of two 3x3 convs (32, 64, 128
                   filters, stride 2 into the second and third, a 1x1 conv on the shortcut
                   there), BatchNormalization after every conv, global average pooling,
                   Dense10; one epoch, batch 64, Adam (cnnlab: the model of `cnnlab train
                   --model small-resnet`)

Usage:
    .venv/bin/python bench/bench_train.py                  # 3 pairs for deep-adam64 and resnet-adam64, 9 for predict10k, 6 for the others
    .venv/bin/python bench/bench_train.py --repeats 5 --configs classic-adam32
    .venv/bin/python bench/bench_train.py --epochs-drift   # epoch 2 vs epoch 20 of the classic model
    .venv/bin/python bench/bench_train.py --torch-threads 1   # PyTorch on one thread (its default: all cores)

The header names each framework's kernels (OpenBLAS's core type, PyTorch's CPU capability).
Where the environment pins OpenBLAS to an older core type (OPENBLAS_CORETYPE, with
OPENBLAS_L2_SIZE) than the CPU has, unset both for the benchmark alone:
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python bench/bench_train.py

The machine's load is printed with each configuration: other programs competing for
the cores change both frameworks' times, PyTorch's multithreaded kernels the most.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

CONFIGS = ("classic-sgd128", "classic-adam32", "predict10k", "deep-adam64", "tape-sgd128", "resnet-adam64")
TARGETS = {
    "classic-sgd128": 0.8, "classic-adam32": 0.8, "predict10k": 0.7, "deep-adam64": 1.0, "tape-sgd128": 1.0,
    "resnet-adam64": 1.1,
}  # fmt: skip
BATCH = {"classic-sgd128": 128, "tape-sgd128": 128, "classic-adam32": 32, "deep-adam64": 64, "resnet-adam64": 64}
# The short configurations are the most exposed to this kind of machine's swings in speed
# (one slow phase can take a whole 3-second epoch) and the cheapest to repeat: they take
# this many times the pairs asked for, so that their median is not one or two pairs' luck.
# predict10k's runs last about 0.3 s.
PAIRS_FACTOR = {"classic-sgd128": 2, "classic-adam32": 2, "predict10k": 3, "tape-sgd128": 2}
MEMORY_TARGET = 1.2  # peak memory of the classic training process, cnnlab / PyTorch
TRAIN_IMAGES = 48_000


def load_data():
    """Fashion-MNIST scaled to [0, 1], NHWC float32: the first 48,000 training images and the test set."""
    from cnnlab.datasets import fashion_mnist

    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    x_train = (x_train[:TRAIN_IMAGES, :, :, None] / np.float32(255)).astype(np.float32)
    x_test = (x_test[:, :, :, None] / np.float32(255)).astype(np.float32)
    return x_train, y_train[:TRAIN_IMAGES].astype(np.int64), x_test, y_test.astype(np.int64)


# ---- cnnlab ----------------------------------------------------------------------------


def cnnlab_model(tf, deep):
    """The classic or the deeper CNN (uncompiled)."""
    layers = tf.keras.layers
    if deep:
        body = [
            layers.Conv2D(32, 3, activation="relu", input_shape=(28, 28, 1)),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(64, 3, activation="relu"),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
        ]
    else:
        body = [
            layers.Conv2D(10, 3, activation="relu", padding="same", input_shape=(28, 28, 1)),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(100, activation="relu"),
        ]
    return tf.keras.Sequential([*body, layers.Dense(10, activation="softmax")])


def cnnlab_resnet(tf):
    """The small ResNet, as ``cnnlab train --model small-resnet`` builds it (uncompiled)."""
    from cnnlab.cli.models import MODELS

    return MODELS["small-resnet"].build((28, 28, 1), 10)


def cnnlab_config_model(tf, config):
    """The model of a Keras configuration (uncompiled)."""
    if config == "resnet-adam64":
        return cnnlab_resnet(tf)
    return cnnlab_model(tf, deep=config == "deep-adam64")


def cnnlab_optimizer(tf, config):
    """The optimizer of a Keras configuration: SGD 0.01 for classic-sgd128, else Adam 1e-3."""
    return tf.keras.optimizers.SGD(0.01) if config == "classic-sgd128" else tf.keras.optimizers.Adam(1e-3)


def run_cnnlab(config, epochs=1):
    import cnnlab as tf

    tf.runtime.configure()  # as the cnnlab command runs: threads, BLAS and malloc set for training
    tf.random.set_seed(0)
    x_train, y_train, x_test, _ = load_data()
    y_onehot = tf.keras.utils.to_categorical(y_train, 10)
    if config == "tape-sgd128":
        return run_cnnlab_tape(tf, x_train, y_train)
    model = cnnlab_config_model(tf, config)
    batch = BATCH.get(config, 32)
    model.compile(optimizer=cnnlab_optimizer(tf, config), loss="categorical_crossentropy", metrics=["accuracy"])
    if config == "predict10k":
        start = time.perf_counter()
        model.predict(x_test, batch_size=32, verbose=0)
        return [time.perf_counter() - start]
    epoch_times = []
    timer = tf.keras.callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: epoch_times.append(-time.perf_counter()),
        on_epoch_end=lambda epoch, logs: epoch_times.__setitem__(-1, epoch_times[-1] + time.perf_counter()),
    )
    model.fit(x_train, y_onehot, batch_size=batch, epochs=epochs, verbose=0, callbacks=[timer])
    return epoch_times


def run_cnnlab_tape(tf, x_train, y_train):
    """The classic model in low-level TF style, timed: see ``train_cnnlab_tape``."""
    start = time.perf_counter()
    train_cnnlab_tape(tf, x_train, y_train)
    return [time.perf_counter() - start]


def train_cnnlab_tape(tf, x_train, y_train):
    """One epoch of the classic model in low-level TF style: Variables, tf.nn ops, GradientTape,
    apply_gradients.  Returns the variables."""
    init = tf.keras.initializers.GlorotUniform()
    w1, b1 = tf.Variable(init((3, 3, 1, 10))), tf.Variable(tf.zeros(10))
    w2, b2 = tf.Variable(init((1960, 100))), tf.Variable(tf.zeros(100))
    w3, b3 = tf.Variable(init((100, 10))), tf.Variable(tf.zeros(10))
    variables = [w1, b1, w2, b2, w3, b3]
    optimizer = tf.keras.optimizers.SGD(0.01)
    order = np.random.default_rng(0).permutation(len(x_train))
    for first in range(0, len(order), 128):
        index = order[first : first + 128]
        x, y = x_train[index], y_train[index]
        with tf.GradientTape() as tape:
            h = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(x, w1, strides=1, padding="SAME"), b1))
            h = tf.nn.max_pool2d(h, ksize=2, strides=2, padding="VALID")
            h = tf.nn.relu(tf.matmul(tf.reshape(h, (-1, 1960)), w2) + b2)
            logits = tf.matmul(h, w3) + b3
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    return variables


# ---- PyTorch ----------------------------------------------------------------------------


def torch_model(torch, deep):
    nn = torch.nn
    if deep:
        layers = [
            nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3), nn.ReLU(), nn.Conv2d(64, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(1024, 128), nn.ReLU(), nn.Linear(128, 10),
        ]  # fmt: skip
    else:
        layers = [
            nn.Conv2d(1, 10, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(1960, 100), nn.ReLU(), nn.Linear(100, 10),
        ]  # fmt: skip
    model = nn.Sequential(*layers)
    for module in model.modules():  # Keras's defaults: glorot_uniform kernels, zero biases
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(module.weight)
            nn.init.zeros_(module.bias)
    return model


def torch_resnet(torch):
    """The small ResNet in PyTorch: the layers, initialization (Keras's glorot_uniform, zero biases,
    BatchNormalization's ones and zeros) and BatchNormalization settings (epsilon 1e-3, momentum 0.99
    in Keras's sense) of ``cnnlab_resnet``."""
    nn = torch.nn

    def norm(channels):
        return nn.BatchNorm2d(channels, eps=1e-3, momentum=0.01)

    class Block(nn.Module):
        def __init__(self, inputs, filters, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(inputs, filters, 3, stride, 1, bias=False)
            self.norm1 = norm(filters)
            self.conv2 = nn.Conv2d(filters, filters, 3, 1, 1, bias=False)
            self.norm2 = norm(filters)
            self.projection = None
            if stride != 1 or inputs != filters:
                self.projection = nn.Sequential(nn.Conv2d(inputs, filters, 1, stride, bias=False), norm(filters))

        def forward(self, x):
            out = self.norm2(self.conv2(torch.relu(self.norm1(self.conv1(x)))))
            return torch.relu(out + (x if self.projection is None else self.projection(x)))

    model = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1, bias=False), norm(32), nn.ReLU(),
        Block(32, 32, 1), Block(32, 64, 2), Block(64, 128, 2),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, 10),
    )  # fmt: skip
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
    return model


def torch_config_model(torch, config):
    """The PyTorch model of a configuration (``cnnlab_config_model``'s twin)."""
    return torch_resnet(torch) if config == "resnet-adam64" else torch_model(torch, deep=config == "deep-adam64")


def torch_optimizer(torch, config, parameters):
    """The optimizer of a configuration (``cnnlab_optimizer``'s twin, Keras's Adam epsilon)."""
    if config in ("classic-sgd128", "tape-sgd128"):
        return torch.optim.SGD(parameters, lr=0.01)
    return torch.optim.Adam(parameters, lr=1e-3, eps=1e-7)


def run_torch(config, epochs=1, threads=None):
    import torch

    if threads is not None:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    x_train, y_train, x_test, _ = load_data()
    x_train = torch.from_numpy(np.ascontiguousarray(x_train.transpose(0, 3, 1, 2)))
    x_test = torch.from_numpy(np.ascontiguousarray(x_test.transpose(0, 3, 1, 2)))
    y_train = torch.from_numpy(y_train)
    model = torch_config_model(torch, config)
    if config == "predict10k":
        start = time.perf_counter()
        model.eval()
        with torch.no_grad():
            outputs = [torch.softmax(model(x_test[i : i + 32]), dim=1) for i in range(0, len(x_test), 32)]
        torch.cat(outputs).numpy()
        return [time.perf_counter() - start]
    batch = BATCH[config]
    model.train()
    optimizer = torch_optimizer(torch, config, model.parameters())
    loss_fn = torch.nn.CrossEntropyLoss()
    epoch_times = []
    for _ in range(epochs):
        start = time.perf_counter()
        order = torch.randperm(len(x_train))
        for first in range(0, len(order), batch):
            index = order[first : first + batch]
            optimizer.zero_grad()
            loss = loss_fn(model(x_train[index]), y_train[index])
            loss.backward()
            optimizer.step()
        epoch_times.append(time.perf_counter() - start)
    return epoch_times


# ---- the harness -------------------------------------------------------------------------


def worker(framework, config, epochs, torch_threads):
    if framework == "cnnlab":
        epoch_times = run_cnnlab(config, epochs)
    else:
        epoch_times = run_torch(config, epochs, torch_threads)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"epoch_seconds": epoch_times, "peak_mb": peak_mb}))


def measure(framework, config, epochs=1, torch_threads=None):
    command = [sys.executable, __file__, "--worker", framework, "--config", config, "--epochs", str(epochs)]
    if torch_threads is not None:
        command += ["--torch-threads", str(torch_threads)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"{framework} {config} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def describe_machine(torch_threads):
    import torch

    cpu = cpu_model()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    threads = torch.get_num_threads() if torch_threads is None else torch_threads
    print(f"{cpu}, {cores} cores; numpy {np.__version__}, torch {torch.__version__} on {threads} thread(s)")
    # Each framework's vector instructions: a pinned OpenBLAS core type (OPENBLAS_CORETYPE) on a
    # newer CPU halves NumPy's product speed while PyTorch still runs its AVX-512 kernels.
    print(f"NumPy's BLAS: {blas_kernels()}; PyTorch's kernels: {torch.backends.cpu.get_cpu_capability()}")


def cpu_model():
    """The CPU's model name, from /proc/cpuinfo (or "CPU model unknown")."""
    models = [line.split(":", 1)[1].strip() for line in _read_lines("/proc/cpuinfo") if line.startswith("model name")]
    return models[0] if models else "CPU model unknown"


def blas_kernels():
    import threadpoolctl

    blas = [pool for pool in threadpoolctl.threadpool_info() if pool.get("user_api") == "blas"]
    if not blas:
        return "not found"
    pinned = os.environ.get("OPENBLAS_CORETYPE")
    pin = f" (OPENBLAS_CORETYPE={pinned} set)" if pinned else ""
    return f"{blas[0].get('internal_api')} {blas[0].get('version')}, {blas[0].get('architecture')} kernels{pin}"


def _read_lines(path):
    try:
        with open(path) as file:
            return file.readlines()
    except OSError:
        return []


def compare(configs, repeats, torch_threads=None):
    describe_machine(torch_threads)
    print(f"{'configuration':16} {'cnnlab s':>9} {'torch s':>9} {'ratio':>7} {'pairs':>11} {'target':>7}  "
          f"{'cnnlab MB':>9} {'torch MB':>9} {'mem ratio':>9}  {'load':>4}")  # fmt: skip
    for config in configs:
        ratios, ours, theirs, our_mb, their_mb = [], [], [], [], []
        load = os.getloadavg()[0]  # the 1-minute load average before the runs
        for _ in range(repeats * PAIRS_FACTOR.get(config, 1)):
            a = measure("cnnlab", config)
            b = measure("torch", config, torch_threads=torch_threads)
            ours.append(a["epoch_seconds"][0])
            theirs.append(b["epoch_seconds"][0])
            ratios.append(ours[-1] / theirs[-1])
            our_mb.append(a["peak_mb"])
            their_mb.append(b["peak_mb"])
        ratio = statistics.median(ratios)
        memory_ratio = statistics.median(our_mb) / statistics.median(their_mb)
        verdict = "ok" if ratio <= TARGETS[config] else "MISSED"
        spread = f"{min(ratios):.2f}-{max(ratios):.2f}"  # the lowest and highest pair
        print(
            f"{config:16} {statistics.median(ours):9.2f} {statistics.median(theirs):9.2f} {ratio:7.2f} {spread:>11} "
            f"{'<=' + str(TARGETS[config]):>7}  {statistics.median(our_mb):9.0f} {statistics.median(their_mb):9.0f} "
            f"{memory_ratio:9.2f}  {load:4.1f}  {verdict}",
            flush=True,
        )


def epochs_drift(epochs):
    """The classic model for ``epochs`` epochs in one process: does an epoch get slower (denormals)?"""
    times = measure("cnnlab", "classic-adam32", epochs)["epoch_seconds"]
    print("cnnlab classic-adam32 epoch times (s): " + " ".join(f"{t:.2f}" for t in times))
    print(f"epoch {epochs} / epoch 2: {times[-1] / times[1]:.2f} (target: <= 1, within noise)")
    early, late = statistics.median(times[1:4]), statistics.median(times[-3:])
    print(f"median of epochs {epochs - 2}-{epochs} / median of epochs 2-4: {late / early:.2f}  (load {os.getloadavg()[0]:.1f})")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", nargs="+", choices=CONFIGS, default=list(CONFIGS))
    parser.add_argument("--repeats", type=int, default=3, help="cnnlab/PyTorch pairs per configuration (default 3; predict10k takes 3x that, classic-sgd128, classic-adam32 and tape-sgd128 2x)")
    parser.add_argument("--epochs-drift", action="store_true", help="time 20 epochs of the classic model instead")
    parser.add_argument("--torch-threads", type=int, help="threads for PyTorch (default: PyTorch's own, all cores)")
    parser.add_argument("--worker", choices=("cnnlab", "torch"), help=argparse.SUPPRESS)
    parser.add_argument("--config", choices=CONFIGS, help=argparse.SUPPRESS)
    parser.add_argument("--epochs", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.config, args.epochs, args.torch_threads)
    elif args.epochs_drift:
        epochs_drift(20)
    else:
        compare(args.configs, args.repeats, args.torch_threads)


if __name__ == "__main__":
    main()
