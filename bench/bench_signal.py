"""Benchmark: cnnlab.signal against scipy.signal on the cases of issue 3, in 'same' mode.

Runs each case in cnnlab and in scipy alternately, several times, and prints the
median of the per-pair time ratios cnnlab / scipy.  Targets: no case slower than
1.5x scipy, and the direct 2-D case (b) at most 1.0x.

    .venv/bin/python bench/bench_signal.py [--repeats N] [--dtype float64] [--dtype float32]

Timings on a shared machine are noisy: rerun when a ratio is near its target.
scipy.fft transforms float32 about twice as fast as float64; numpy.fft does not
(cnnlab's FFT runs in float64), so case (c) in float32 is the closest to its target.
"""

import argparse
import statistics
import time

import numpy as np
import scipy.signal

from cnnlab import signal

# (name, signal shape, kernel shape, method, target ratio)
CASES = [
    ("(a) 1-D 100,000 samples, 31 taps, auto", (100_000,), (31,), "auto", 1.5),
    ("(a) 1-D 100,000 samples, 31 taps, direct", (100_000,), (31,), "direct", 1.5),
    ("(b) 2-D 512x512, 5x5 kernel, direct", (512, 512), (5, 5), "direct", 1.0),
    ("(b) 2-D 512x512, 5x5 kernel, auto", (512, 512), (5, 5), "auto", 1.5),
    ("(c) 2-D 2000x2000, 64x64 kernel, auto", (2000, 2000), (64, 64), "auto", 1.5),
]


def seconds(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def run_case(signal_shape, kernel_shape, method, dtype, repeats, rng):
    image = rng.standard_normal(signal_shape).astype(dtype)
    kernel = rng.standard_normal(kernel_shape).astype(dtype)
    ours = signal.convolve(image, kernel, mode="same", method=method)
    theirs = scipy.signal.convolve(image, kernel, mode="same", method=method)
    tolerance = 1e-3 if dtype == np.float32 else 1e-9
    if ours.dtype != theirs.dtype or not np.allclose(
        ours, theirs, rtol=tolerance, atol=tolerance * np.abs(theirs).max()
    ):
        raise AssertionError("cnnlab and scipy disagree")
    ratios, ours_s, theirs_s = [], [], []
    for repeat in range(repeats):
        # alternate which library goes first, so that neither always meets a warm cache
        pair = [
            lambda: seconds(lambda: signal.convolve(image, kernel, mode="same", method=method)),
            lambda: seconds(lambda: scipy.signal.convolve(image, kernel, mode="same", method=method)),
        ]
        if repeat % 2:
            theirs_t, ours_t = pair[1](), pair[0]()
        else:
            ours_t, theirs_t = pair[0](), pair[1]()
        ratios.append(ours_t / theirs_t)
        ours_s.append(ours_t)
        theirs_s.append(theirs_t)
    return statistics.median(ratios), statistics.median(ours_s), statistics.median(theirs_s)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9, help="timed pairs per case (default 9)")
    parser.add_argument(
        "--dtype", choices=["float64", "float32"], action="append", help="repeatable (default: float64, then float32)"
    )
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    all_met = True
    for dtype in map(np.dtype, args.dtype or ["float64", "float32"]):
        print(
            f"cnnlab.signal vs scipy.signal {scipy.__version__}, mode='same', {dtype}, median of {args.repeats} pairs"
        )
        for name, signal_shape, kernel_shape, method, target in CASES:
            repeats = max(3, args.repeats // 3) if np.prod(signal_shape) > 10**6 else args.repeats
            ratio, ours_t, theirs_t = run_case(signal_shape, kernel_shape, method, dtype, repeats, rng)
            image = np.empty(signal_shape, dtype)
            kernel = np.empty(kernel_shape, dtype)
            chosen = signal.choose_conv_method(image, kernel, "same") if method == "auto" else method
            scipy_chosen = scipy.signal.choose_conv_method(image, kernel, "same") if method == "auto" else method
            met = ratio <= target
            all_met &= met
            print(
                f"{name:44s} ratio {ratio:5.2f} (target <= {target}) {'met' if met else 'NOT MET':7s} "
                f"cnnlab {ours_t * 1e3:7.1f} ms [{chosen}], scipy {theirs_t * 1e3:7.1f} ms [{scipy_chosen}]"
            )
    print("all targets met" if all_met else "some targets NOT met")
    raise SystemExit(0 if all_met else 1)


if __name__ == "__main__":
    main()
