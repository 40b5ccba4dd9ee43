"""cnnlab.distributed in one process: without MPI, before init(), as a job of one, and its arithmetic."""

import subprocess
import sys

import numpy as np
import pytest
import scenarios

import cnnlab.distributed as hvd
from cnnlab import GradientTape, Tensor, Variable, keras, reduce_sum
from cnnlab.ops import collective_ops, fused_ops
from cnnlab.runtime import mpi


def test_init_without_mpi_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    monkeypatch.setattr(mpi, "_job", None)
    with pytest.raises(hvd.MPINotFoundError, match=r"pip install '\.\[mpi\]'"):
        hvd.init()
    assert not hvd.is_initialized()


def test_importing_loads_no_mpi():
    code = "import sys, cnnlab, cnnlab.keras, cnnlab.distributed; print('mpi4py' in sys.modules)"
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "False"


def test_the_api_needs_init_first(monkeypatch):
    monkeypatch.setattr(mpi, "_job", None)
    for function in (hvd.size, hvd.rank, hvd.local_size, hvd.local_rank):
        with pytest.raises(ValueError, match=r"call cnnlab\.distributed\.init\(\) first"):
            function()
    with pytest.raises(ValueError, match="allreduce: .*init"):
        hvd.allreduce(np.ones(2))


def test_one_process_without_mpirun_is_a_job_of_one(mpi_installed):
    code = (
        "import numpy as np, cnnlab.distributed as hvd; hvd.init(); "
        "print(hvd.size(), hvd.rank(), hvd.local_size(), hvd.local_rank(), "
        "hvd.allreduce(np.array([2.0])).numpy()[0], hvd.allgather(np.ones((2, 1))).shape[0])"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.split() == ["1", "0", "1", "0", "2.0", "2"]


def test_distributed_optimizer_without_a_job_trains_as_the_optimizer_it_wraps():
    x, y = scenarios.bars_data(21)
    plain = scenarios.compile_sgd(scenarios.plain_model(3))
    wrapped = scenarios.compile_sgd(scenarios.plain_model(3), hvd.DistributedOptimizer)
    for model in (plain, wrapped):
        scenarios.train_one_process(model, x, y, 2, 8, 3)
    for a, b in zip(plain.weights, wrapped.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert type(wrapped.optimizer).__name__ == "SGD" and isinstance(wrapped.optimizer, keras.optimizers.SGD)
    assert wrapped.optimizer.get_config() == plain.optimizer.get_config()


def test_distributed_optimizer_keeps_the_state_and_saves_as_the_plain_optimizer(tmp_path):
    x, y = scenarios.bars_data(21)
    model = scenarios.compile_sgd(scenarios.plain_model(3))
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    optimizer = model.optimizer
    distributed = hvd.DistributedOptimizer(optimizer)
    assert int(distributed.iterations) == int(optimizer.iterations) == 3
    for a, b in zip(distributed.variables, optimizer.variables):
        assert a is b  # the same slots: a resumed run keeps its momentum
    model.compile(optimizer=distributed, loss="sparse_categorical_crossentropy", experimental_run_tf_function=False)
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    assert type(loaded.optimizer) is keras.optimizers.SGD
    assert int(loaded.optimizer.iterations) == 3
    rewrapped = hvd.load_model(tmp_path / "model.keras")
    assert rewrapped.optimizer._averages_over_processes and int(rewrapped.optimizer.iterations) == 3


def test_distributed_optimizer_refuses_what_it_cannot_do():
    with pytest.raises(TypeError, match="expected a keras.optimizers.Optimizer instance.*received str"):
        hvd.DistributedOptimizer("adam")
    with pytest.raises(ValueError, match="backward_passes_per_step=1.*received backward_passes_per_step=2"):
        hvd.DistributedOptimizer(keras.optimizers.SGD(), backward_passes_per_step=2)
    with pytest.raises(ValueError, match="op must be"):
        hvd.DistributedOptimizer(keras.optimizers.SGD(), op="max")
    with pytest.raises(ValueError, match="already averages"):
        hvd.DistributedOptimizer(hvd.DistributedOptimizer(keras.optimizers.SGD()))
    with pytest.raises(TypeError, match="expected a GradientTape"):
        hvd.DistributedGradientTape(keras.optimizers.SGD())
    optimizer = hvd.DistributedOptimizer(keras.optimizers.SGD())
    optimizer.sample_count = -1
    variable = Variable(np.zeros(2, dtype=np.float32))
    with pytest.raises(ValueError, match="sample_count must be None or a whole number >= 0; received sample_count=-1"):
        optimizer.apply_gradients([(np.ones(2, dtype=np.float32), variable)])
    with pytest.raises(TypeError, match=r"expected \(gradient, Variable\) pairs"):
        optimizer.apply_gradients([np.ones(2)])


def test_distributed_gradient_tape_without_a_job_is_the_tape():
    layer = keras.layers.Dense(2)
    layer.build((None, 3))
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    loss_fn = keras.losses.MeanSquaredError()
    sources = {"kernel": layer.kernel, "bias": layer.bias}
    gradients = []
    for distributed in (True, False):
        with GradientTape() as tape:
            loss = loss_fn(np.zeros((2, 2)), layer(x))
        gradients.append((hvd.DistributedGradientTape(tape) if distributed else tape).gradient(loss, sources))
    for key in sources:
        np.testing.assert_array_equal(gradients[0][key].numpy(), gradients[1][key].numpy())
        assert np.abs(gradients[0][key].numpy()).max() > 0


@pytest.mark.parametrize(
    ("n", "batch", "size", "steps", "last", "dropped"),
    [
        (21, 4, 2, 3, (3, 2), 0),  # two global batches of 8, then 5 split 3 + 2
        (24, 4, 2, 3, (4, 4), 0),
        (17, 4, 2, 2, (4, 4), 1),  # a last global batch of 1 sample cannot feed 2 processes
        (10, 3, 4, 1, (3, 3, 2, 2), 0),  # no full global batch of 12: one step of 10
        (7, 1, 3, 2, (1, 1, 1), 1),
    ],
)
def test_shard_cuts_the_global_order_into_global_batches(n, batch, size, steps, last, dropped):
    order = np.random.default_rng(n).permutation(n)
    parts = [hvd.shard(order, batch, rank=rank, size=size) for rank in range(size)]
    for part in parts:
        assert len(part.batch_sizes) == steps and part.dropped == dropped
        assert sum(part.batch_sizes) == len(part.indices)
        assert part.global_batch_sizes == parts[0].global_batch_sizes
    assert tuple(part.batch_sizes[-1] for part in parts) == last
    # Step by step, the processes' pieces side by side are one process's global batch, in order.
    taken, offsets = [], [0] * size
    for step in range(steps):
        for rank, part in enumerate(parts):
            count = part.batch_sizes[step]
            taken.extend(part.indices[offsets[rank] : offsets[rank] + count])
            offsets[rank] += count
        assert sum(part.batch_sizes[step] for part in parts) == parts[0].global_batch_sizes[step]
    assert taken == list(order[: n - dropped])


def test_shard_refuses_bad_arguments():
    with pytest.raises(ValueError, match="batch_size must be a whole number >= 1; received batch_size=0"):
        hvd.shard(10, 0)
    with pytest.raises(ValueError, match="rank must be below size=2; received rank=2"):
        hvd.shard(10, 2, rank=2, size=2)
    with pytest.raises(ValueError, match="1-D array of sample indices"):
        hvd.shard(np.zeros((2, 2), dtype=int), 2)
    with pytest.raises(ValueError, match="3 samples cannot be shared by 4 processes"):
        hvd.shard(3, 2, rank=0, size=4)


def test_sync_batch_normalization_is_batch_normalization_synchronized(tmp_path):
    layer = hvd.SyncBatchNormalization(momentum=0.9)
    assert type(layer) is keras.layers.BatchNormalization and layer.synchronized and layer.momentum == 0.9
    assert keras.layers.BatchNormalization().get_config()["synchronized"] is False
    with pytest.raises(TypeError, match="synchronized must be True or False; received synchronized='yes'"):
        keras.layers.BatchNormalization(synchronized="yes")
    model = keras.Sequential([keras.Input(shape=(3,)), layer, keras.layers.Dense(2)])
    model.save(tmp_path / "sync.keras")
    loaded = keras.models.load_model(tmp_path / "sync.keras", compile=False)
    assert loaded.layers[0].synchronized is True
    # Outside a job of several processes it is BatchNormalization.
    x = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    plain = keras.Sequential(
        [keras.Input(shape=(3,)), keras.layers.BatchNormalization(momentum=0.9), keras.layers.Dense(2)]
    )
    plain.set_weights(model.get_weights())
    np.testing.assert_array_equal(model(x, training=True).numpy(), plain(x, training=True).numpy())


@pytest.mark.parametrize("channel_axis", [3, 1])
def test_sync_batch_norm_op_in_one_process_matches_batch_normalization(channel_axis):
    """The closed-form gradient of the synchronized op (a job of one) against the unsynchronized op and, for
    the channels-first layout and second order, against the gradient taken through differentiable ops."""
    rng = np.random.default_rng(1)
    value = rng.normal(2.0, 3.0, (4, 3, 5, 6)).astype(np.float64)
    channels = value.shape[channel_axis]
    gamma = Tensor(rng.normal(1.0, 0.2, channels))
    beta = Tensor(rng.normal(0.0, 0.2, channels))
    dy = rng.normal(size=value.shape)
    x = Tensor(value)
    with GradientTape() as tape:
        tape.watch([x, gamma, beta])
        out, mean, variance = collective_ops.sync_batch_norm_training(x, gamma, beta, 1e-3, channel_axis)
    grads = tape.gradient(out, [x, gamma, beta], output_gradients=Tensor(dy))
    last = np.moveaxis(value, channel_axis, -1)
    x_last = Tensor(np.ascontiguousarray(last))
    with GradientTape() as tape:
        tape.watch([x_last, gamma, beta])
        expected, expected_mean, expected_variance = fused_ops.batch_norm_training(x_last, gamma, beta, 1e-3)
    expected_grads = tape.gradient(
        expected,
        [x_last, gamma, beta],
        output_gradients=Tensor(np.ascontiguousarray(np.moveaxis(dy, channel_axis, -1))),
    )
    np.testing.assert_allclose(np.moveaxis(out.numpy(), channel_axis, -1), expected.numpy(), atol=1e-10)
    np.testing.assert_allclose(mean, expected_mean, atol=1e-12)
    np.testing.assert_allclose(variance, expected_variance, atol=1e-10)
    np.testing.assert_allclose(np.moveaxis(grads[0].numpy(), channel_axis, -1), expected_grads[0].numpy(), atol=1e-10)
    for got, want in zip(grads[1:], expected_grads[1:]):
        np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-10)
    # Second order: an outer tape records the backward pass, which then goes through the ops.
    with GradientTape() as outer:
        outer.watch(gamma)
        with GradientTape() as inner:
            inner.watch(x)
            out, _, _ = collective_ops.sync_batch_norm_training(x, gamma, beta, 1e-3, channel_axis)
        dx = inner.gradient(out, x, output_gradients=Tensor(dy))
        measure = reduce_sum(dx * dx)
    second = outer.gradient(measure, gamma).numpy()
    step = 1e-6
    numeric = []
    for c in range(channels):
        shifted = []
        for sign in (1, -1):
            g = gamma.numpy().copy()
            g[c] += sign * step
            with GradientTape() as inner:
                inner.watch(x)
                out, _, _ = collective_ops.sync_batch_norm_training(x, Tensor(g), beta, 1e-3, channel_axis)
            shifted.append(float((inner.gradient(out, x, output_gradients=Tensor(dy)).numpy() ** 2).sum()))
        numeric.append((shifted[0] - shifted[1]) / (2 * step))
    np.testing.assert_allclose(second, numeric, rtol=1e-5)


def test_callbacks_check_their_arguments():
    with pytest.raises(ValueError, match="warmup_epochs must be a whole number >= 1; received warmup_epochs=0"):
        hvd.callbacks.LearningRateWarmupCallback(0.1, warmup_epochs=0)
    with pytest.raises(ValueError, match="Parameter `initial_lr` is required"):
        hvd.callbacks.LearningRateScheduleCallback(None, 0.5)
    with pytest.raises(ValueError, match="root_rank must be a process rank in \\[0, 1\\); received root_rank=1"):
        hvd.callbacks.BroadcastGlobalVariablesCallback(1)
