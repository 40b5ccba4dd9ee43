"""The benchmark's three training models at several thread counts, cnnlab against PyTorch.

For each model (the classic CNN at batch 128 with SGD, the deeper CNN and the small ResNet
at batch 64 with Adam: ``bench_train.py``'s classic-sgd128, deep-adam64 and resnet-adam64)
and each thread count: one cnnlab process, then one PyTorch process, each set to that many
threads (``cnnlab.runtime.configure(threads=n)``; ``torch.set_num_threads(n)``), each
training on generated Fashion-MNIST-shaped images (``hashes.generated_data``: no data set
needed) for some warm-up steps and then the timed steps.  Printed: the machine, the
versions, and a Markdown table of milliseconds per step and the ratio cnnlab / PyTorch.

With ``--regions``, first the fixed cost of one parallel region (``runtime.threads.parallel_parts``
over 262,144 floats, in one part per thread, each part one or ten NumPy calls) at each
thread count: what a kernel's split costs whatever its size.

One pair per cell: informative, not a benchmark result (``bench_train.py`` is the judge,
with its repeated pairs).  Meant for a machine with many cores, e.g.

    python3 bench/many_cores.py --threads 1 4 8 16 --steps 50 --regions
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_train  # noqa: E402 - the benchmark's own models
import hashes  # noqa: E402 - the generated data

MODELS = {"classic": "classic-sgd128", "deep": "deep-adam64", "resnet": "resnet-adam64"}


def images(count):
    """``count`` generated training images (NHWC float32 in [0, 1]) and int64 labels."""
    (x, y), _ = hashes.generated_data(count, 1)
    return (x[:, :, :, None] / np.float32(255)).astype(np.float32), y


def run_cnnlab(config, threads, warmup, steps):
    import cnnlab as tf

    tf.runtime.configure(threads=threads)
    tf.random.set_seed(0)
    batch = bench_train.BATCH[config]
    x, y = images((warmup + steps) * batch)
    model = bench_train.cnnlab_config_model(tf, config)
    model.compile(optimizer=bench_train.cnnlab_optimizer(tf, config), loss="categorical_crossentropy", metrics=["accuracy"])
    ends = []
    timer = tf.keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: ends.append(time.perf_counter()))
    model.fit(x, tf.keras.utils.to_categorical(y, 10), batch_size=batch, epochs=1, shuffle=False, verbose=0, callbacks=[timer])
    return {"seconds": ends[-1] - ends[warmup - 1], "threads": tf.runtime.num_threads()}


def run_torch(config, threads, warmup, steps):
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    batch = bench_train.BATCH[config]
    x, y = images((warmup + steps) * batch)
    x = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    y = torch.from_numpy(y)
    model = bench_train.torch_config_model(torch, config)
    model.train()
    optimizer = bench_train.torch_optimizer(torch, config, model.parameters())
    loss_fn = torch.nn.CrossEntropyLoss()
    ends = []
    for first in range(0, len(x), batch):
        optimizer.zero_grad()
        loss = loss_fn(model(x[first : first + batch]), y[first : first + batch])
        loss.backward()
        optimizer.step()
        ends.append(time.perf_counter())
    return {"seconds": ends[-1] - ends[warmup - 1], "threads": torch.get_num_threads()}


def region_costs(thread_counts, repeats=400):
    """Print the mean time of a ``parallel_parts`` call over 262,144 floats, split in 64 rows
    (one part per thread), each part one or ten in-place NumPy multiplications of its rows."""
    import cnnlab as tf
    from cnnlab.runtime import threads

    x = np.ones((64, 4096), np.float32)
    for calls in (1, 10):

        def task(part, calls=calls):
            rows = x[part]
            for _ in range(calls):
                np.multiply(rows, 1.0, out=rows)

        row = []
        for count in thread_counts:
            tf.runtime.configure(threads=count)
            for _ in range(repeats // 8):  # the workers started and woken once
                threads.parallel_parts(task, len(x), 1 << 30)
            start = time.perf_counter()
            for _ in range(repeats):
                threads.parallel_parts(task, len(x), 1 << 30)
            row.append(f"{count} threads {(time.perf_counter() - start) / repeats * 1e6:.0f} us")
        print(f"a parallel region, {calls} NumPy call(s) a part: " + ", ".join(row), flush=True)


def measure(framework, config, threads, warmup, steps):
    command = [sys.executable, __file__, "--worker", framework, "--config", config, "--threads", str(threads), "--warmup", str(warmup), "--steps", str(steps)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"{framework} {config} on {threads} threads failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def describe():
    import torch

    return (
        f"{bench_train.cpu_model()}, {len(os.sched_getaffinity(0))} cores usable; Python {platform.python_version()}, "
        f"NumPy {np.__version__} (BLAS: {bench_train.blas_kernels()}), PyTorch {torch.__version__}"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 4, 16], help="thread counts (default 1 4 16)")
    parser.add_argument("--steps", type=int, default=50, help="timed training steps per run (default 50)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first (default 5)")
    parser.add_argument("--regions", action="store_true", help="first time one parallel region at each thread count")
    parser.add_argument("--worker", choices=("cnnlab", "torch"), help=argparse.SUPPRESS)
    parser.add_argument("--config", choices=list(MODELS.values()), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.steps < 1 or args.warmup < 1 or min(args.threads) < 1:
        parser.error(f"--steps, --warmup and --threads must be positive integers; got {args.steps}, {args.warmup}, {args.threads}")
    if args.worker:
        run = run_cnnlab if args.worker == "cnnlab" else run_torch
        print(json.dumps(run(args.config, args.threads[0], args.warmup, args.steps)))
        return
    print(describe())
    if args.regions:
        region_costs(args.threads)
    print(f"{args.steps} timed steps after {args.warmup} warm-up steps, one cnnlab / PyTorch pair per cell, generated images\n")
    print("| model | threads | cnnlab ms/step | PyTorch ms/step | cnnlab / PyTorch |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name in args.models:
        for threads in args.threads:
            ours = measure("cnnlab", MODELS[name], threads, args.warmup, args.steps)
            theirs = measure("torch", MODELS[name], threads, args.warmup, args.steps)
            ms = [1000 * result["seconds"] / args.steps for result in (ours, theirs)]
            print(f"| {name} ({MODELS[name]}) | {threads} | {ms[0]:.1f} | {ms[1]:.1f} | {ms[0] / ms[1]:.2f} |", flush=True)


if __name__ == "__main__":
    main()
