"""In-process A/B of the kernel strategies and the planner's fusions: does removing one slow
a benchmark configuration's unit of work (a training step of classic-sgd128 /
classic-adam32 / deep-adam64 / resnet-adam64, of the command's `deep` model with its
BatchNormalization and Dropout at batch 64 (cli_deep), or the GradientTape loop, or a
predict of 3,200 images)?  Pairs of one unit each, with and without the strategy in alternating
order, on one model; prints the medians, the ratio of medians and the median of the
pairs' ratios (removed / kept) with its interquartile range.  For a noisy, shared
machine: many short pairs rather than a few long runs.

Usage (the data are bench/hashes.py's generated images):
    .venv/bin/python bench/ab_strategies.py                      # every candidate
    .venv/bin/python bench/ab_strategies.py winograd --configs resnet --rounds 20
"""
import argparse, contextlib, os, statistics, sys, time
import numpy as np
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_train, hashes
import cnnlab as tf
from cnnlab.cli import models as cli_models
from cnnlab.keras.models import planner
from cnnlab.keras.models.training import start_run
from cnnlab.kernels import broadcast
from cnnlab.kernels import conv as conv_kernels
from cnnlab.kernels import matmul as products
from cnnlab.kernels import padding as padding_module
from cnnlab.kernels import pool as pool_kernels
from cnnlab.kernels import winograd
from cnnlab.ops import fused_ops
from cnnlab.runtime import tuning

tf.runtime.configure()  # as the benchmark runs

(x_train, y_train), (x_test, y_test) = hashes.generated_data(6400, 3200)
x_train = (x_train[..., None] / np.float32(255)).astype(np.float32)
x_test = (x_test[..., None] / np.float32(255)).astype(np.float32)
y_hot = tf.keras.utils.to_categorical(y_train, 10)

def keras_steps(config):
    tf.random.set_seed(0)
    if config == "cli_deep":
        model = cli_models.MODELS["deep"].build()
    elif config == "resnet":
        model = bench_train.cnnlab_resnet(tf)
    else:
        model = bench_train.cnnlab_model(tf, deep=config == "deep")
    batch = {"sgd128": 128, "adam32": 32, "deep": 64, "resnet": 64, "cli_deep": 64}[config]
    opt = tf.keras.optimizers.SGD(0.01) if config == "sgd128" else tf.keras.optimizers.Adam(1e-3)
    model.compile(optimizer=opt, loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train[:batch*2], y_hot[:batch*2], batch_size=batch, epochs=1, verbose=0)
    start_run(model)
    state = {"i": 0}
    def run(k):
        for _ in range(k):
            i = state["i"] = (state["i"] + 1) % (len(x_train) // batch)
            model.train_step((tf.constant(x_train[i*batch:(i+1)*batch]), y_hot[i*batch:(i+1)*batch]))
    return run

def predict_run():
    tf.random.set_seed(0)
    model = bench_train.cnnlab_model(tf, deep=False)
    model.predict(x_test[:64], batch_size=32, verbose=0)
    def run(k):
        for _ in range(k):
            model.predict(x_test, batch_size=32, verbose=0)
    return run

def tape_run():
    init = tf.keras.initializers.GlorotUniform()
    w1, b1 = tf.Variable(init((3, 3, 1, 10))), tf.Variable(tf.zeros(10))
    w2, b2 = tf.Variable(init((1960, 100))), tf.Variable(tf.zeros(100))
    w3, b3 = tf.Variable(init((100, 10))), tf.Variable(tf.zeros(10))
    variables = [w1, b1, w2, b2, w3, b3]
    optimizer = tf.keras.optimizers.SGD(0.01)
    state = {"i": 0}
    def run(k):
        for _ in range(k):
            i = state["i"] = (state["i"] + 1) % 50
            x, y = x_train[i*128:(i+1)*128], y_train[i*128:(i+1)*128]
            with tf.GradientTape() as tape:
                h = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(x, w1, strides=1, padding="SAME"), b1))
                h = tf.nn.max_pool2d(h, ksize=2, strides=2, padding="VALID")
                h = tf.nn.relu(tf.matmul(tf.reshape(h, (-1, 1960)), w2) + b2)
                logits = tf.matmul(h, w3) + b3
                loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
            optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    return run

RUNNERS = {"sgd128": lambda: keras_steps("sgd128"), "adam32": lambda: keras_steps("adam32"),
           "deep": lambda: keras_steps("deep"), "resnet": lambda: keras_steps("resnet"), "cli_deep": lambda: keras_steps("cli_deep"),
           "predict": predict_run, "tape": tape_run}

@contextlib.contextmanager
def patched(pairs):
    saved = [(obj, name, getattr(obj, name)) for obj, name, _ in pairs]
    for obj, name, value in pairs:
        setattr(obj, name, value)
    try:
        yield
    finally:
        for obj, name, value in saved:
            setattr(obj, name, value)

def plain_relu(x, out):
    return np.maximum(x, 0, out=out)

def one_by_one(self, x, training):
    return planner._one_by_one(self.layers, x, training)

def norm_relu_unfused(self, x, training):
    """BatchNormStep without the ReLU in its op: rule 4's normalization alone, then the ReLU layer."""
    norm = self.layers[0]
    y, mean, variance = fused_ops.batch_norm_training(x, norm.gamma, norm.beta, norm.epsilon)
    norm._update_moving_statistics(mean, variance)
    return self._after(self.layers[1](y) if self.relu else y, None, training)

def residual_unfused(self, x, shortcut, training):
    """ResidualStep without the fusion: the normalization as rule 4's op, then the Add and ReLU layers."""
    norm, add = self.layers[:2]
    y, mean, variance = fused_ops.batch_norm_training(x, norm.gamma, norm.beta, norm.epsilon)
    norm._update_moving_statistics(mean, variance)
    out = add(self.pack([y, shortcut] if self.side == 0 else [shortcut, y]))
    return self.layers[2](out) if len(self.layers) == 3 else out


CANDIDATES = {
    # name: (configurations it may change, the patches that REMOVE it)
    "conv_pool_fusion": (["sgd128", "adam32", "deep", "predict"], [(planner.ConvStep, "_pools", staticmethod(lambda conv, pool: False))]),
    "conv_fusion": (["sgd128", "adam32", "deep", "predict"], [(planner.ConvStep, "__call__", one_by_one)]),
    "dense_fusion": (["sgd128", "adam32", "deep", "predict"], [(planner.DenseStep, "__call__", one_by_one)]),
    "pool_windows": (["predict"], [(conv_kernels, "_pools_by_windows", lambda x, g: False)]),
    "tap_major": (["sgd128", "adam32", "tape", "deep"], [(tuning, "TAP_MAJOR_MAX_CHANNELS", 0), (conv_kernels, "_by_chunks_fits", lambda *a: False)]),
    "by_chunks": (["deep"], [(conv_kernels, "_by_chunks_fits", lambda *a: False)]),
    "correlation": (["deep"], [(padding_module, "full_correlation_geometry", lambda g: None)]),
    "filter_pieces": (["tape"], [(products, "matmul_in_pieces", lambda a, b: products._matmul_one_thread(a, b))]),
    "tiles_2x2": (["tape"], [(pool_kernels, "tiles_in_2x2", lambda shape, geometry: False)]),
    "broadcast_rows": (["tape"], [(broadcast, "apply", lambda fn, a, b: fn(a, b))]),
    "buffer_pool": (["sgd128", "adam32", "deep", "predict"], [(fused_ops, "empty", lambda shape, dtype: np.empty(shape, dtype))]),
    "side_by_side": (["predict"], [(tuning, "SIDE_BY_SIDE_MIN_SECONDS", float("inf"))]),
    "winograd": (["deep", "resnet"], [(conv_kernels, "winograd_tile", lambda *a: None)]),
    "winograd_f4": (["deep", "resnet"], [(winograd, "TILE_SIZES", (2,))]),
    "norm_relu": (["resnet"], [(planner.BatchNormStep, "__call__", norm_relu_unfused)]),
    "residual": (["resnet"], [(planner.ResidualStep, "__call__", residual_unfused)]),
    # Rules 5 and 6 off: each Dropout runs as its own layer after the step's op.
    "dropout_fusion": (["cli_deep"], [(planner._FusedStep, "_folded", lambda self, dtype, training: None)]),
}


def ab(candidate, configs, rounds):
    """Pairs of one unit each (a step, or a predict), A and B in alternating order; medians."""
    affected, patches = CANDIDATES[candidate]
    for config in configs or affected:
        if config not in affected:
            continue
        run = RUNNERS[config]()
        for _ in range(3):
            run(1)
            with patched(patches):
                run(1)
        pairs = rounds * PAIRS_PER_ROUND[config]
        ratios, kept, removed = [], [], []
        for r in range(pairs):
            order = (False, True) if r % 2 == 0 else (True, False)
            times = {}
            for remove in order:
                with patched(patches) if remove else contextlib.nullcontext():
                    t = time.perf_counter(); run(1); times[remove] = time.perf_counter() - t
            kept.append(times[False]); removed.append(times[True]); ratios.append(times[True] / times[False])
        lo, hi = np.percentile(ratios, [25, 75])
        print(f"{candidate:18} {config:8} kept {statistics.median(kept)*1e3:8.3f} ms  removed {statistics.median(removed)*1e3:8.3f} ms  "
              f"ratio of medians {statistics.median(removed)/statistics.median(kept):.3f}  median ratio {statistics.median(ratios):.3f} (IQR {lo:.3f}-{hi:.3f}, {pairs} pairs)", flush=True)

PAIRS_PER_ROUND = {"sgd128": 20, "adam32": 40, "deep": 4, "resnet": 2, "cli_deep": 4, "predict": 1, "tape": 20}


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("candidates", nargs="*", default=list(CANDIDATES))
    p.add_argument("--configs", nargs="*")
    p.add_argument("--rounds", type=int, default=10)
    a = p.parse_args()
    for c in a.candidates:
        ab(c, a.configs, a.rounds)
