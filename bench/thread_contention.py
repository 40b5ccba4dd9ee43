"""Why two threads gain less than twice: one kernel's time on one thread, on two threads of one
process, and on one thread in each of two processes running at once.

The unit of work is a training step's share of one convolution of the benchmark's ResNet: the
forward and both gradients of its first 3x3 conv (64 images of 28x28x32 to 32 channels, by
Winograd F(4x4, 3x3), in chunks the threads take as they come free).  Each measurement runs in
a fresh process (``--child``), ``--calls`` units after two untimed ones, and reports the median
time of a unit; the three measurements run ``--rounds`` times, in turn.

Printed per round: the median unit on 1 thread, on 2 threads (one process), and on 1 thread
in each of 2 processes at once, and the speed-ups they give: ``1 thread / 2 threads`` and
``2 x (1 thread) / (one of 2 processes)``.  Two processes share nothing but the cores and the
memory system, so their speed-up is what the hardware allows; two threads of one process
also hand work to each other and take turns of the interpreter lock after each NumPy call,
each a wake-up of a sleeping thread.  Also printed: the round trip of a hand-off between two
threads (a lock released by one, acquired by the other, and back), what one wake-up costs
on this machine.

Usage:
    python3 bench/thread_contention.py [--calls 40] [--rounds 3]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time


def unit_times(threads, calls):
    """The times of ``calls`` units of work on ``threads`` cnnlab threads (after two untimed ones)."""
    import numpy as np

    import cnnlab as tf
    from cnnlab.kernels import conv
    from cnnlab.kernels.padding import geometry_2d

    tf.runtime.configure(threads=threads)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 28, 28, 32), dtype=np.float32)
    filters = (rng.standard_normal((3, 3, 32, 32)) * 0.1).astype(np.float32)
    geometry = geometry_2d((28, 28), (3, 3), (1, 1), (1, 1), "SAME", "conv2d")

    def unit():
        forward = conv.conv2d(x, filters, geometry, keep_columns=True)
        conv.conv2d_gradients(x, forward.out, filters, geometry, forward, need_input=True, need_filters=True)

    unit()
    unit()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        unit()
        times.append(time.perf_counter() - start)
    return times


def hand_off_round_trip(count=2000):
    """Seconds for one hand-off between two threads and back (median of 5 runs of ``count``)."""
    ping, pong = threading.Lock(), threading.Lock()
    ping.acquire()
    pong.acquire()
    results = []
    for _ in range(5):

        def other():
            for _ in range(count):
                ping.acquire()
                pong.release()

        thread = threading.Thread(target=other)
        thread.start()
        start = time.perf_counter()
        for _ in range(count):
            ping.release()
            pong.acquire()
        results.append((time.perf_counter() - start) / count)
        thread.join()
    return statistics.median(results)


def children(threads, calls, processes):
    """Median unit time (seconds) of each of ``processes`` child processes started together."""
    command = [sys.executable, os.path.abspath(__file__), "--child", str(threads), "--calls", str(calls)]
    started = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(processes)]
    medians = []
    for child in started:
        out, _ = child.communicate()
        if child.returncode != 0:
            raise SystemExit(f"thread_contention.py: a child process failed (exit status {child.returncode})")
        medians.append(statistics.median(json.loads(out)))
    return medians


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=40, help="timed units per measurement (default 40)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the three measurements (default 3)")
    parser.add_argument("--child", type=int, metavar="THREADS", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.calls < 1 or args.rounds < 1:
        parser.error(f"--calls and --rounds must be positive integers, received {args.calls} and {args.rounds}")
    if args.child is not None:
        print(json.dumps(unit_times(args.child, args.calls)))
        return
    print(f"{os.cpu_count()} cores; hand-off round trip between two threads: {hand_off_round_trip() * 1e6:.1f} us")
    print("unit: forward and both gradients of a 3x3 conv, 64 x 28 x 28 x 32 -> 32 (Winograd F(4x4, 3x3))")
    print()
    print("| round | 1 thread ms | 2 threads ms | 1 thread in each of 2 processes ms | threads' speed-up | processes' speed-up |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for round_index in range(args.rounds):
        (one,) = children(1, args.calls, 1)
        (two,) = children(2, args.calls, 1)
        pair = statistics.mean(children(1, args.calls, 2))
        print(
            f"| {round_index + 1} | {one * 1e3:.2f} | {two * 1e3:.2f} | {pair * 1e3:.2f} | {one / two:.2f} | {2 * one / pair:.2f} |"
        )


if __name__ == "__main__":
    main()
