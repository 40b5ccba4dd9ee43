"""How each kernel of a benchmark model's training step gains from more threads, in one process.

A training step of ``deep`` (bench_train's deep-adam64 model) or ``resnet`` (resnet-adam64's)
runs on batches of generated images, its thread count switched between rounds (1, then
each count asked for, in alternating order, the same process and the same arrays), while
the conv dispatcher's two entry points (per layer shape) and batch normalization's four
passes are timed.  Printed per kernel: milliseconds a step at each count and the speed-up
over one thread; per count, the step's voluntary context switches (a thread that waits,
for the interpreter lock or for another thread, sleeps and is switched out: each is a
hand-off that costs the sleeper a wake-up).

The whole step's speed-up against the kernels' tells where the threads lose: in the kernels
that split, or in the work that runs on the calling thread alone.  Informative only: the
benchmark (``bench_train.py``) is the judge of speed.

Usage:
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python bench/thread_scaling.py resnet
    .venv/bin/python bench/thread_scaling.py deep --threads 2 4 --rounds 12
"""

import argparse
import collections
import functools
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_train  # noqa: E402 - the benchmark's models
import hashes  # noqa: E402 - the generated data

import cnnlab as tf  # noqa: E402
from cnnlab.cli.common import model_input  # noqa: E402
from cnnlab.kernels import batch_norm, conv  # noqa: E402

MODELS = {"deep": "deep-adam64", "resnet": "resnet-adam64"}
STEPS_PER_ROUND = 5


def timed_kernels(totals):
    """Wrap the conv dispatcher's entry points and batch normalization's passes so that each call's
    time (outermost calls only) is added to ``totals`` under a label naming the kernel and shape."""
    depth = [0]

    def wrap(module, name, label):
        function = getattr(module, name)

        @functools.wraps(function)
        def timed(*args, **kwargs):
            if depth[0]:
                return function(*args, **kwargs)
            depth[0] += 1
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                totals[label(args, kwargs)] += time.perf_counter() - start
                depth[0] -= 1

        setattr(module, name, timed)

    def conv_label(kind, x, filters, geometry):
        tile = conv.winograd_tile(x.shape, filters.shape, geometry, x.dtype)
        strategy = f"F({tile}x{tile})" if tile else "im2col"
        return f"{kind} {tuple(x.shape[1:])} * {tuple(filters.shape)} s{geometry.strides[0]} {strategy}"

    wrap(conv, "conv2d", lambda a, k: conv_label("conv forward ", a[0], a[1], a[2]))
    wrap(conv, "conv2d_gradients", lambda a, k: conv_label("conv gradient", a[0], a[2], a[3]))
    for name in ("statistics", "normalize", "backward_sums", "input_gradient"):
        wrap(batch_norm, name, lambda a, k, name=name: f"batch norm {name} {tuple(a[0].shape[1:])}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", choices=sorted(MODELS))
    parser.add_argument("--threads", type=int, nargs="+", default=[2], help="thread counts to set against 1 (default: 2)")
    parser.add_argument("--rounds", type=int, default=8, help=f"rounds of {STEPS_PER_ROUND} steps per count (default: 8)")
    args = parser.parse_args()
    if any(count < 1 for count in args.threads) or args.rounds < 1:
        parser.error("--threads and --rounds take positive integers")
    counts = [1] + [count for count in args.threads if count != 1]

    tf.runtime.configure()
    tf.random.set_seed(0)
    model = bench_train.cnnlab_config_model(tf, MODELS[args.model])
    model.compile(optimizer=tf.keras.optimizers.Adam(1e-3), loss=tf.keras.losses.SparseCategoricalCrossentropy())
    (images, y), _ = hashes.generated_data(64, 1)
    x = model_input(images)

    totals = collections.Counter()
    timed_kernels(totals)
    kernels = {count: collections.Counter() for count in counts}
    steps = dict.fromkeys(counts, 0.0)
    switches = dict.fromkeys(counts, 0)
    for count in counts:  # warm-up: every count's working arrays made once
        tf.runtime.set_num_threads(count)
        for _ in range(2):
            model.train_on_batch(x, y)
    for round_number in range(args.rounds):
        for count in counts if round_number % 2 == 0 else counts[::-1]:
            tf.runtime.set_num_threads(count)
            totals.clear()
            before = resource.getrusage(resource.RUSAGE_SELF).ru_nvcsw
            start = time.perf_counter()
            for _ in range(STEPS_PER_ROUND):
                model.train_on_batch(x, y)
            steps[count] += time.perf_counter() - start
            switches[count] += resource.getrusage(resource.RUSAGE_SELF).ru_nvcsw - before
            kernels[count].update(totals)

    per_step = args.rounds * STEPS_PER_ROUND
    width = max(len(label) for label in kernels[1])
    header = "".join(f"{f'{count} thr ms':>11}" for count in counts) + "".join(f"{f'x{count}':>7}" for count in counts[1:])
    print(f"{args.model}: ms a step (outermost calls), speed-up over 1 thread; {per_step} steps per count")
    print(f"{'kernel':{width}}{header}")

    def row(label, values):
        times = "".join(f"{values[count] / per_step * 1e3:11.2f}" for count in counts)
        gains = "".join(f"{values[1] / values[count]:7.2f}" if values[count] else f"{'-':>7}" for count in counts[1:])
        print(f"{label:{width}}{times}{gains}")

    for label in sorted(kernels[1]):
        row(label, {count: kernels[count][label] for count in counts})
    row("everything else", {count: steps[count] - sum(kernels[count].values()) for count in counts})
    row("whole step", steps)
    print("voluntary context switches a step: " + ", ".join(f"{count} thr {switches[count] / per_step:.0f}" for count in counts))


if __name__ == "__main__":
    main()
