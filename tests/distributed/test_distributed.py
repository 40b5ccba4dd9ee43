"""Data-parallel training under ``mpirun -n 2`` gives what one process gives with the global batch.

One run of programs/equivalence.py trains every scenario of scenarios.py in two MPI
processes, with a batch of 4 each, and writes what they end with; the tests compare
it with the same training run here, in one process without MPI, with a batch of 8 on
the same order of samples.  Each epoch has 21 samples: two global batches of 8, then
one of 5 split 3 + 2, whose gradients must be weighted by those counts.
"""

import json

import numpy as np
import pytest
import scenarios

import cnnlab.distributed as hvd

N, BATCH, EPOCHS, SEED = 21, 4, 2, 7
TOLERANCE = 1e-6


@pytest.fixture(scope="module")
def ranks(mpirun, program, tmp_path_factory):
    """What each of the two processes wrote: ``[(weights by name, facts), ...]`` in rank order."""
    out = tmp_path_factory.mktemp("equivalence")
    completed, _ = mpirun(2, *program("equivalence.py"), out)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return [
        (dict(np.load(out / f"rank-{rank}.npz")), json.loads((out / f"rank-{rank}.json").read_text()))
        for rank in range(2)
    ]


def scenario_weights(ranks, scenario):
    """The scenario's weights in rank 0, after checking that rank 1 ended with the very same."""
    prefix = f"{scenario}/"
    first, second = ({k[len(prefix) :]: v for k, v in weights.items() if k.startswith(prefix)} for weights, _ in ranks)
    assert first and first.keys() == second.keys()
    for name in first:
        np.testing.assert_array_equal(first[name], second[name], err_msg=f"{scenario} {name}: the processes differ")
    return first


def assert_same_weights(distributed, model, tolerance=TOLERANCE):
    reference = scenarios.weights_of(model)
    assert distributed.keys() == reference.keys()
    for name, value in reference.items():
        assert distributed[name].dtype == value.dtype
        np.testing.assert_allclose(distributed[name], value, rtol=0, atol=tolerance, err_msg=name)


def test_the_job_has_two_processes_on_this_machine(ranks):
    for rank, (_, facts) in enumerate(ranks):
        assert (facts["rank"], facts["size"], facts["local_rank"], facts["local_size"]) == (rank, 2, rank, 2)


def test_two_processes_with_batch_4_train_as_one_with_batch_8(ranks):
    x, y = scenarios.bars_data(N)
    model = scenarios.compile_sgd(scenarios.plain_model(SEED))
    scenarios.train_one_process(model, x, y, EPOCHS, 2 * BATCH, SEED)
    distributed = scenario_weights(ranks, "plain")
    assert_same_weights(distributed, model)
    # The weights moved: the comparison is not between two untrained models.
    untrained = scenarios.weights_of(scenarios.plain_model(SEED))
    assert max(np.abs(distributed[k] - untrained[k]).max() for k in untrained) > 0.01


def test_the_processes_histories_weighted_by_their_samples_are_the_one_process_history(ranks):
    x, y = scenarios.bars_data(N)
    model = scenarios.compile_sgd(scenarios.plain_model(SEED))
    expected = {"loss": [], "accuracy": []}
    for epoch in range(EPOCHS):
        order = scenarios.epoch_order(SEED, epoch, N)
        history = model.fit(
            x[order], y[order], batch_size=8, epochs=epoch + 1, initial_epoch=epoch, shuffle=False, verbose=0
        ).history
        for key in expected:
            expected[key] += history[key]
    counts = [
        [len(hvd.shard(scenarios.epoch_order(SEED, e, N), BATCH, rank=r, size=2).indices) for e in range(EPOCHS)]
        for r in range(2)
    ]
    for key in expected:
        combined = [
            sum(ranks[r][1]["plain_local_history"][e][key][0] * counts[r][e] for r in range(2)) / N
            for e in range(EPOCHS)
        ]
        np.testing.assert_allclose(combined, expected[key], rtol=1e-5, err_msg=key)


def test_one_fused_allreduce_per_step(ranks):
    for _, facts in ranks:
        assert facts["plain_steps"] == 6  # 3 steps an epoch, 2 epochs
        assert facts["plain_allreduces"] == facts["plain_steps"]
        assert facts["tape_allreduces"] == 3


def test_sync_batch_normalization_trains_as_one_process_with_the_whole_batch(ranks):
    x, y = scenarios.bars_data(N)
    model = scenarios.compile_sgd(scenarios.batch_norm_model(SEED, synchronized=False))
    scenarios.train_one_process(model, x, y, EPOCHS, 2 * BATCH, SEED)
    distributed = scenario_weights(ranks, "syncbn")
    assert_same_weights(distributed, model)  # moving means and variances included
    assert_same_weights(distributed, model, tolerance=1e-12)  # in float64: the same up to rounding
    config = ranks[0][1]["syncbn_config"]
    assert config["synchronized"] is True


def test_per_process_batch_normalization_differs_from_the_whole_batch(ranks):
    """The check above can fail: the same model without synchronization ends elsewhere."""
    x, y = scenarios.bars_data(N)
    local = scenarios.compile_sgd(scenarios.batch_norm_model(SEED, synchronized=False))
    scenarios.train_one_process(local, x, y, EPOCHS, BATCH, SEED)
    distributed = scenario_weights(ranks, "syncbn")
    reference = scenarios.weights_of(local)
    assert max(np.abs(distributed[k] - reference[k]).max() for k in reference) > 1e-3


def test_gradient_tape_loop_with_distributed_gradient_tape(ranks):
    x, y = scenarios.bars_data(N)
    model = scenarios.tape_steps_one_process(scenarios.plain_model(SEED), x, y, 3, 2 * BATCH, SEED)
    assert_same_weights(scenario_weights(ranks, "tape"), model)


def test_dropout_training_is_reproducible_for_a_seed_and_process_count(ranks):
    first, second = scenario_weights(ranks, "dropout_first"), scenario_weights(ranks, "dropout_second")
    for name in first:
        np.testing.assert_array_equal(first[name], second[name], err_msg=name)


def test_collectives_with_horovods_names(ranks):
    for rank, (_, facts) in enumerate(ranks):
        assert facts["allreduce_average"] == [1.5, 3.0]
        assert facts["allreduce_sum"] == [3]
        assert facts["allreduce_max"] == [1, 0]
        assert facts["allreduce_min"] == [0, -1]
        assert facts["allgather"] == [[0, 0], [1, 1], [1, 1]]  # rank 0 gave 1 row, rank 1 two
        assert facts["broadcast"] == [11, 21]  # rank 1's
        assert facts["broadcast_variables"] == [1.0, 1.0, 1.0]
        # d/dw of sum_j w_j^2 over the processes, Horovod's gradient: the allreduce of the
        # processes' gradients (1 each) times 2 w, with w = rank + 1.
        assert facts["allreduce_gradient"] == [4.0 * (rank + 1)] * 3
        assert (
            "rank(s) [1]" in facts["mismatch_error"]
            and f"(rank {rank}) holds <f8[{rank + 1}]" in facts["mismatch_error"]
        )


def test_broadcast_callback_starts_every_process_from_rank_0(ranks):
    scenario_weights(ranks, "broadcast")  # the same in both, though each process drew its own initial weights


def test_metric_average_and_learning_rate_warmup_callbacks(ranks):
    histories = [facts["averaged_history"] for _, facts in ranks]
    assert histories[0] == histories[1]
    assert ranks[0][1]["metric_average"] == {"loss": 1.5, "accuracy": 1.0}
    # Horovod's warm-up: initial_lr / size * (epoch * (size - 1) / warmup_epochs + 1), the epoch
    # counted in fractions of its 6 steps and shifted by one step; 0.2 reached at the end.
    steps = 6
    expected = [0.2 / 2 * ((e + (b + 1) / steps) / 2 + 1) for e in range(2) for b in range(steps)]
    for _, facts in ranks:
        np.testing.assert_allclose(facts["learning_rates"], expected, rtol=1e-6)
        assert histories[0]["lr"] == pytest.approx([expected[steps - 1], expected[-1]], rel=1e-6)
        # Momentum correction: momentum * new_lr / old_lr for the step where the rate changes, then back.
        old = [0.1, *expected[:-1]]
        np.testing.assert_allclose(facts["momenta"], [0.9 * new / was for new, was in zip(expected, old)], rtol=1e-6)
        assert facts["momentum_after"] == 0.9
