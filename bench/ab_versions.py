"""This checkout's cnnlab against another revision's, in one process: pairs of the same work, alternating.

The other revision's ``src/cnnlab`` is taken with ``git archive`` into a temporary folder
and renamed ``cnnlab_base`` (its own imports rewritten), so both import side by side;
then each pair runs the same unit of work once with each, in alternating order (``fit``
on a few batches of a benchmark model, or ``predict`` on 3,200 images), and the median of
the pairs' time ratios (this / base) is printed with its interquartile range.  On a busy
machine this cancels much of the noise that separate processes suffer; the benchmark
(``bench_train.py``) remains the judge.

Usage:
    .venv/bin/python bench/ab_versions.py main                       # every configuration
    .venv/bin/python bench/ab_versions.py main --configs predict --pairs 80
    CNNLAB_NUM_THREADS=1 .venv/bin/python bench/ab_versions.py main --configs resnet --cpu-time
"""

import argparse
import importlib
import io
import os
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import bench_train  # noqa: E402 - the benchmark's models
import hashes  # noqa: E402 - the generated data

BATCH = {"sgd128": 128, "adam32": 32, "deep": 64, "resnet": 64, "predict": 32}
STEPS = {"sgd128": 10, "adam32": 20, "deep": 3, "resnet": 3, "predict": 0}
PAIRS = {"sgd128": 60, "adam32": 60, "deep": 20, "resnet": 20, "predict": 80}


def import_base(revision):
    """The package of ``revision``'s ``src/cnnlab``, imported as ``cnnlab_base``."""
    folder = Path(tempfile.mkdtemp(prefix="cnnlab-base-"))
    archive = subprocess.run(
        ["git", "-C", str(HERE.parent), "archive", revision, "src/cnnlab"], capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    package = folder / "cnnlab_base"
    (folder / "src" / "cnnlab").rename(package)
    for path in package.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        text = re.sub(r"\bcnnlab\.", "cnnlab_base.", text)
        text = re.sub(r"\b(import|from) cnnlab\b", r"\1 cnnlab_base", text)
        path.write_text(text.replace('"cnnlab"', '"cnnlab_base"'), encoding="utf-8")
    sys.path.insert(0, str(folder))
    import cnnlab_base

    return cnnlab_base


def model(tf, config, optimizer):
    """The benchmark's classic or deeper CNN or its ResNet, compiled as ``bench_train.py`` compiles it."""
    if config == "resnet":  # bench_train.cnnlab_resnet's model, from ``tf``'s own command (it imports cnnlab)
        network = importlib.import_module(f"{tf.__name__}.cli.models").MODELS["small-resnet"].build((28, 28, 1), 10)
    else:
        network = bench_train.cnnlab_model(tf, config == "deep")
    network.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
    return network


def unit_of_work(tf, config, x, y, x_test):
    """A function running ``config``'s unit of work once with package ``tf``."""
    tf.random.set_seed(0)
    optimizer = tf.keras.optimizers.SGD(0.01) if config == "sgd128" else tf.keras.optimizers.Adam(1e-3)
    network = model(tf, config, optimizer)
    if config == "predict":
        return lambda: network.predict(x_test, batch_size=32, verbose=0)
    labels, count, place = tf.keras.utils.to_categorical(y, 10), STEPS[config] * BATCH[config], [0]

    def run():
        place[0] = (place[0] + count) % (len(x) - count)
        part = slice(place[0], place[0] + count)
        network.fit(x[part], labels[part], batch_size=BATCH[config], epochs=1, verbose=0, shuffle=False)

    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("revision", help="the git revision to compare with (e.g. main)")
    parser.add_argument("--configs", nargs="+", choices=list(BATCH), default=list(BATCH))
    parser.add_argument("--pairs", type=int, help="pairs per configuration (default: 20-80 by configuration)")
    parser.add_argument(
        "--cpu-time",
        action="store_true",
        help="time by the process's CPU time, not the clock: on a machine busier than its cores, one thread's work"
        " without the time it waited for a core (with more threads, their sum: no measure of their speed)",
    )
    args = parser.parse_args()
    clock = time.process_time if args.cpu_time else time.perf_counter
    base = import_base(args.revision)
    import cnnlab

    cnnlab.runtime.configure()
    (x, y), (x_test, _) = hashes.generated_data(6400, 3200)
    x = (x[..., None] / np.float32(255)).astype(np.float32)
    x_test = (x_test[..., None] / np.float32(255)).astype(np.float32)
    print(f"this checkout against {args.revision}; {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    for config in args.configs:
        runs = {name: unit_of_work(tf, config, x, y, x_test) for name, tf in (("base", base), ("this", cnnlab))}
        for run in runs.values():
            run()
            run()
        ratios, times = [], {"base": [], "this": []}
        for pair in range(args.pairs or PAIRS[config]):
            seconds = {}
            for name in ("base", "this") if pair % 2 == 0 else ("this", "base"):
                started = clock()
                runs[name]()
                seconds[name] = clock() - started
                times[name].append(seconds[name])
            ratios.append(seconds["this"] / seconds["base"])
        low, high = np.percentile(ratios, [25, 75])
        print(
            f"{config:8} base {statistics.median(times['base']) * 1e3:7.1f} ms  this {statistics.median(times['this']) * 1e3:7.1f} ms  "
            f"this / base {statistics.median(ratios):.3f} (IQR {low:.3f}-{high:.3f}, {len(ratios)} pairs)",
            flush=True,
        )


if __name__ == "__main__":
    main()
