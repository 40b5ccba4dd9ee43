"""Data-parallel training on one machine: 1 process with 2 threads vs 2 MPI processes with 1 thread each.

Both train the command's ``deep`` model (``cnnlab train --model deep``: Adam, per-epoch decay
left out) on the same steps: a global batch of 64 (--global-batch), taken whole by the one
process and as two halves of 32 by the two processes, whose gradients are averaged by
``DistributedOptimizer`` with one allreduce per step.  Each run is a fresh process (or a
fresh ``mpirun``); the two kinds alternate, and medians are printed.

For the two processes it also prints the allreduce's share of a step: the time spent in
the step's allreduce, waiting for the other process included, and the time of the same
allreduce alone (after a barrier, so without waiting).  Then the scaling model of
docs/distributed.md worked out with the measured step time: a ring allreduce's time at 10
and 25 Gbit/s for the bytes each of the command's models sends per step, and where
communication would take as long as computing.

The images are generated (uint8, Fashion-MNIST's shape): the time of a step does not depend
on the pixels, and the benchmark needs no data set.

Usage:
    .venv/bin/python bench/bench_distributed.py                  # 150 steps, 3 runs of each kind
    .venv/bin/python bench/bench_distributed.py --epoch          # one epoch of 48,000 images (750 steps)
    .venv/bin/python bench/bench_distributed.py --steps 300 --repeats 5 --latency-us 5

Run it when the machine is otherwise idle: with 2 cores, anything else running changes
the two kinds unequally.
"""

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

TRAIN_IMAGES = 48_000
WARMUP_STEPS = 3  # run before the clock starts: the first steps allocate the workspaces
ALLREDUCE_ALONE_REPEATS = 30
BANDWIDTHS_GBIT = (10, 25)
PROCESS_COUNTS = (2, 4, 8, 16, 32, 64)
MPI_ENVIRONMENT = {  # one machine: shared memory between the processes
    "OMPI_MCA_btl": "self,sm",
    "OMPI_MCA_pml": "ob1",
    "OMPI_ALLOW_RUN_AS_ROOT": "1",
    "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
}


# ---- the worker: one run, in a fresh process (or each process of an mpirun) -----------------------


def worker(args):
    from cnnlab import keras, random, runtime
    from cnnlab.cli.models import MODELS

    runtime.configure()  # as the cnnlab command runs (threads from CNNLAB_NUM_THREADS)

    parallel = args.worker == "mpi"
    if parallel:
        import cnnlab.distributed as hvd
        from cnnlab.runtime import mpi

        hvd.init()
        job = mpi.job()
        size, rank = job.size, job.rank
    else:
        size, rank = 1, 0
    steps = args.steps + WARMUP_STEPS
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (steps * args.global_batch, 28, 28, 1), dtype=np.uint8)
    labels = rng.integers(0, 10, len(images))
    random.set_seed(0)
    model = MODELS["deep"].build()
    optimizer = keras.optimizers.Adam(1e-3)
    if parallel:
        optimizer = hvd.DistributedOptimizer(optimizer)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    batch = args.global_batch // size

    def fit(first_step, count):
        start, stop = first_step * args.global_batch, (first_step + count) * args.global_batch
        order = np.arange(start, stop)
        if parallel:
            part = hvd.shard(order, batch)
            order, callbacks = part.indices, [part.callback()]
        else:
            callbacks = []
        x = images[order].astype(np.float32) / np.float32(255)
        model.fit(x, labels[order], batch_size=batch, epochs=1, shuffle=False, verbose=0, callbacks=callbacks)

    fit(0, WARMUP_STEPS)
    result = {"processes": size, "threads": runtime.num_threads(), "steps": args.steps, "batch": batch}
    if parallel:
        job.world.Barrier()
        before = (job.seconds["allreduce"], job.calls["allreduce"], job.bytes["allreduce"])
    started = time.perf_counter()
    fit(WARMUP_STEPS, args.steps)
    seconds = time.perf_counter() - started
    result["seconds"] = seconds
    if parallel:
        allreduce_seconds = job.seconds["allreduce"] - before[0]
        calls = job.calls["allreduce"] - before[1]
        nbytes = (job.bytes["allreduce"] - before[2]) / calls
        gathered = np.array([seconds, allreduce_seconds])
        totals = np.empty((size, 2))
        job.world.Allgather(gathered, totals)
        result.update(
            seconds=float(totals[:, 0].max()),
            allreduce_seconds=float(totals[:, 1].mean()),
            allreduces=calls,
            bytes_per_step=nbytes,
            allreduce_alone=allreduce_alone(job, int(nbytes // 4)),
        )
    if rank == 0:
        pathlib.Path(args.out).write_text(json.dumps(result))


def allreduce_alone(job, count):
    """The median time of an allreduce of ``count`` float32 values when every process is already there."""
    from cnnlab.runtime import mpi

    buffer = np.ones(count, dtype=np.float32)
    times = []
    for _ in range(ALLREDUCE_ALONE_REPEATS):
        job.world.Barrier()
        started = time.perf_counter()
        mpi.allreduce_in_place(buffer, "sum")
        times.append(time.perf_counter() - started)
    return statistics.median(times)


# ---- the harness -------------------------------------------------------------------------------------


def run_one(kind, args, out):
    here = pathlib.Path(__file__).resolve()
    command = [sys.executable, str(here), "--worker", kind, "--steps", str(args.steps),
               "--global-batch", str(args.global_batch), "--out", out]  # fmt: skip
    environment = dict(os.environ)
    if kind == "mpi":
        mpirun = pathlib.Path(sys.executable).parent / "mpirun"
        # Each process bound to a core of its own: one thread each.
        command = [str(mpirun), "-n", "2", "--bind-to", "core", "--map-by", "core", *command]
        environment.update(MPI_ENVIRONMENT, CNNLAB_NUM_THREADS="1")
    else:
        environment.update(CNNLAB_NUM_THREADS="2")
    subprocess.run(command, env=environment, check=True)
    return json.loads(pathlib.Path(out).read_text())


def model_bytes():
    """Bytes one step's gradients take in the allreduce, for each model of ``cnnlab train`` (float32, + the count)."""
    from cnnlab import random
    from cnnlab.cli.models import MODELS

    sizes = {}
    for name, spec in MODELS.items():
        random.set_seed(0)
        model = spec.build()
        sizes[name] = 4 * (sum(int(np.prod(w.shape)) for w in model.trainable_weights) + 1)
    return sizes


def ring_seconds(nbytes, processes, gbit, latency):
    """A ring allreduce: 2 (K - 1) / K of the bytes through each link, 2 (K - 1) message latencies."""
    return 2 * (processes - 1) / processes * nbytes / (gbit * 1e9 / 8) + 2 * (processes - 1) * latency


def report(single, double, args):
    one, two = statistics.median(r["seconds"] for r in single), statistics.median(r["seconds"] for r in double)
    steps = args.steps
    print(
        f"\ndeep model, {steps} steps of a global batch of {args.global_batch}; medians of {args.repeats} runs each"
        f" (load before: {os.getloadavg()[0]:.1f})\n"
    )
    header = f"{'configuration':<34}{'threads':>8}{'time':>10}{'step':>10}{'allreduce':>12}{'alone':>10}"
    print(header)
    print("-" * len(header))
    print(
        f"{'1 process, batch ' + str(args.global_batch):<34}{single[0]['threads']:>8}{one:>9.2f}s"
        f"{1000 * one / steps:>8.1f}ms{'-':>12}{'-':>10}"
    )
    in_allreduce = statistics.median(r["allreduce_seconds"] for r in double) / steps
    alone = statistics.median(r["allreduce_alone"] for r in double)
    print(
        f"{'2 processes, batch ' + str(args.global_batch // 2) + ' each':<34}{double[0]['threads']:>8}{two:>9.2f}s"
        f"{1000 * two / steps:>8.1f}ms{1000 * in_allreduce:>10.2f}ms{1000 * alone:>8.2f}ms"
    )
    print(f"\nspeed-up of 2 processes over 1: {one / two:.2f}x")
    print(
        f"allreduce per step: {double[0]['allreduces'] / steps:.0f} call of {double[0]['bytes_per_step'] / 1e6:.2f} MB;"
        f" {100 * in_allreduce / (two / steps):.1f}% of a step waiting included,"
        f" {100 * alone / (two / steps):.2f}% for the allreduce alone"
    )

    # The scaling model: per-process batch kept (the command's default) and global batch kept.
    step = two / steps  # one process, one core, half the global batch, allreduce included
    compute = step - in_allreduce
    print(
        f"\nscaling model (docs/distributed.md), latency {args.latency_us:g} us per message, "
        f"compute {1000 * compute:.1f} ms per step of {args.global_batch // 2} images on one core:"
    )
    sizes = model_bytes()
    header = f"{'model':<14}{'MB/step':>9}" + "".join(
        f"{f'K={k} {g}G':>12}" for g in BANDWIDTHS_GBIT for k in (2, 8, 64)
    )
    print(header)
    for name, nbytes in sizes.items():
        cells = "".join(
            f"{1000 * ring_seconds(nbytes, k, g, args.latency_us * 1e-6):>10.2f}ms"
            for g in BANDWIDTHS_GBIT for k in (2, 8, 64)
        )  # fmt: skip
        print(f"{name:<14}{nbytes / 1e6:>9.2f}{cells}")
    deep = sizes["deep"]
    for gbit in BANDWIDTHS_GBIT:
        # Global batch kept: K processes share the computation of the whole batch (2 * compute on one core).
        crossover = next(
            (k for k in range(2, args.global_batch + 1)
             if 2 * compute / k < ring_seconds(deep, k, gbit, args.latency_us * 1e-6)),
            None,
        )  # fmt: skip
        weak = [ring_seconds(deep, k, gbit, args.latency_us * 1e-6) / compute for k in PROCESS_COUNTS]
        strong = (
            f"communication outlasts computation from K={crossover} processes"
            if crossover
            else f"communication stays shorter than computation up to K={args.global_batch} (one image each)"
        )
        print(
            f"deep at {gbit} Gbit/s: batch kept per process, communication / computation for K="
            f"{','.join(map(str, PROCESS_COUNTS))}: "
            + ", ".join(f"{100 * w:.1f}%" for w in weak)
            + f"; global batch of {args.global_batch} kept, {strong}"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=150, help="steps timed per run (default 150)")
    parser.add_argument("--epoch", action="store_true", help=f"time one epoch of {TRAIN_IMAGES} images instead")
    parser.add_argument("--global-batch", type=int, default=64, help="images per step over all processes (default 64)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each kind (default 3)")
    parser.add_argument(
        "--latency-us",
        type=float,
        default=10.0,
        help="one message's latency in the scaling model (default 10 us, TCP over Ethernet)",
    )
    parser.add_argument("--worker", choices=("single", "mpi"), help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.epoch:
        args.steps = TRAIN_IMAGES // args.global_batch
    if args.worker:
        worker(args)
        return
    single, double = [], []
    with tempfile.TemporaryDirectory() as folder:
        for repeat in range(args.repeats):
            for kind, results in (("single", single), ("mpi", double)):
                result = run_one(kind, args, os.path.join(folder, f"{kind}-{repeat}.json"))
                results.append(result)
                print(f"run {repeat + 1}/{args.repeats} {kind:6}: {result['seconds']:.2f} s", flush=True)
    report(single, double, args)


if __name__ == "__main__":
    main()
