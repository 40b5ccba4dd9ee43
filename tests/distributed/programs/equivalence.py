"""Run by test_distributed.py under ``mpirun -n 2``: trains the scenarios data-parallel and writes
what each process ends with into ``OUT/rank-R.npz``, for the test to compare with one process.

Usage: mpirun -n 2 python equivalence.py OUT
"""

import json
import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import scenarios  # noqa: E402

import cnnlab.distributed as hvd  # noqa: E402
from cnnlab import GradientTape, Variable, keras, random  # noqa: E402
from cnnlab.runtime import mpi  # noqa: E402

N, BATCH, EPOCHS, SEED = 21, 4, 2, 7  # 21 = 2 full global batches of 8, then 5 samples split 3 + 2


def allreduce_calls():
    return mpi.job().calls["allreduce"]


def main(out):
    hvd.init()
    rank, size = hvd.rank(), hvd.size()
    results, facts = {}, {"rank": rank, "size": size, "local_rank": hvd.local_rank(), "local_size": hvd.local_size()}
    x, y = scenarios.bars_data(N)

    # Plain model through fit: one allreduce per step, counted.
    model = scenarios.compile_sgd(scenarios.plain_model(SEED), hvd.DistributedOptimizer)
    before = allreduce_calls()
    histories = scenarios.train_processes(hvd, model, x, y, EPOCHS, BATCH, SEED)
    facts["plain_allreduces"] = allreduce_calls() - before
    facts["plain_steps"] = sum(
        len(hvd.shard(scenarios.epoch_order(SEED, e, N), BATCH).batch_sizes) for e in range(EPOCHS)
    )
    facts["plain_local_history"] = histories
    results.update({f"plain/{k}": v for k, v in scenarios.weights_of(model).items()})

    # SyncBatchNormalization through fit.
    model = scenarios.compile_sgd(scenarios.batch_norm_model(SEED, synchronized=True), hvd.DistributedOptimizer)
    scenarios.train_processes(hvd, model, x, y, EPOCHS, BATCH, SEED)
    results.update({f"syncbn/{k}": v for k, v in scenarios.weights_of(model).items()})
    facts["syncbn_config"] = model.layers[1].get_config()

    # A GradientTape loop with DistributedGradientTape.
    model = scenarios.plain_model(SEED)
    before = allreduce_calls()
    scenarios.tape_steps_processes(hvd, model, x, y, 3, BATCH, SEED)
    facts["tape_allreduces"] = allreduce_calls() - before
    results.update({f"tape/{k}": v for k, v in scenarios.weights_of(model).items()})

    # Dropout: each process draws its own masks from (seed, rank); twice the same run, the same weights.
    for attempt in ("first", "second"):
        model = scenarios.compile_sgd(scenarios.dropout_model(SEED), hvd.DistributedOptimizer)
        random.set_seed(1000 * SEED + rank)
        scenarios.train_processes(hvd, model, x, y, EPOCHS, BATCH, SEED)
        results.update({f"dropout_{attempt}/{k}": v for k, v in scenarios.weights_of(model).items()})

    # The collectives with Horovod's names.
    facts["allreduce_average"] = hvd.allreduce(np.array([1.0, 2.0]) * (rank + 1)).numpy().tolist()
    facts["allreduce_sum"] = hvd.allreduce(np.array([rank + 1]), op=hvd.Sum).numpy().tolist()
    facts["allreduce_max"] = hvd.allreduce(np.array([rank, -rank]), op=hvd.Max).numpy().tolist()
    facts["allreduce_min"] = hvd.allreduce(np.array([rank, -rank]), op=hvd.Min).numpy().tolist()
    facts["allgather"] = hvd.allgather(np.full((rank + 1, 2), rank)).numpy().tolist()
    facts["broadcast"] = hvd.broadcast(np.array([10 + rank, 20 + rank]), root_rank=1).numpy().tolist()
    variable = Variable(np.full(3, float(rank), dtype=np.float32))
    hvd.broadcast_variables([variable], root_rank=1)
    facts["broadcast_variables"] = variable.numpy().tolist()
    # The gradient of an allreduce is the allreduce of the gradients (Horovod's).
    w = variable * 0 + (rank + 1.0)
    with GradientTape() as tape:
        tape.watch(w)
        total = hvd.allreduce(w * w, op=hvd.Sum)
    facts["allreduce_gradient"] = tape.gradient(total, w).numpy().tolist()
    try:
        hvd.allreduce(np.zeros(rank + 1))
    except hvd.CollectiveMismatchError as error:
        facts["mismatch_error"] = str(error)

    # Callbacks: processes seeded differently start from rank 0's weights after the broadcast.
    model = scenarios.compile_sgd(scenarios.plain_model(SEED + rank), hvd.DistributedOptimizer)
    recorder = LearningRates()
    history = model.fit(
        x,
        y,
        batch_size=BATCH,
        epochs=2,
        shuffle=False,
        verbose=0,
        callbacks=[
            hvd.callbacks.BroadcastGlobalVariablesCallback(0),
            hvd.callbacks.MetricAverageCallback(),
            hvd.callbacks.LearningRateWarmupCallback(initial_lr=0.2, warmup_epochs=2),
            recorder,
        ],
    )
    results.update({f"broadcast/{k}": v for k, v in scenarios.weights_of(model).items()})
    facts["averaged_history"] = history.history
    facts["learning_rates"] = recorder.rates
    facts["momenta"] = recorder.momenta
    facts["momentum_after"] = model.optimizer.momentum
    average = hvd.callbacks.MetricAverageCallback()
    logs = {"loss": float(rank + 1), "accuracy": 2.0 * rank}
    average.on_epoch_end(0, logs)
    facts["metric_average"] = logs

    np.savez(pathlib.Path(out) / f"rank-{rank}.npz", **results)
    (pathlib.Path(out) / f"rank-{rank}.json").write_text(json.dumps(facts))


class LearningRates(keras.callbacks.Callback):
    """Records the learning rate and momentum each step runs with (after the warm-up callback set them)."""

    def __init__(self):
        super().__init__()
        self.rates, self.momenta = [], []

    def on_train_batch_begin(self, batch, logs=None):
        self.rates.append(float(np.asarray(self.model.optimizer.learning_rate)))
        self.momenta.append(self.model.optimizer.momentum)


if __name__ == "__main__":
    main(sys.argv[1])
