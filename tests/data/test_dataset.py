"""``tf.data.Dataset``: sources, transformations with TF's semantics, lazy sources, prefetching, and
``fit`` / ``evaluate`` / ``predict`` on datasets."""

import threading
import time

import numpy as np
import pytest

import cnnlab as tf

Dataset = tf.data.Dataset


def listed(dataset):
    return [
        np.asarray(e).tolist() if not isinstance(e, tuple) else tuple(np.asarray(p).tolist() for p in e)
        for e in dataset.as_numpy_iterator()
    ]


def test_from_tensor_slices_of_arrays_tuples_and_dicts():
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    y = np.array([0, 1, 0, 1])
    ds = Dataset.from_tensor_slices((x, y))
    elements = list(ds)
    assert len(elements) == 4 and isinstance(elements[0][0], tf.Tensor)
    np.testing.assert_array_equal(elements[2][0].numpy(), x[2])
    assert int(elements[3][1]) == 1 and elements[3][1].dtype == np.int64
    assert ds.element_spec == (tf.TensorSpec([3], tf.float32), tf.TensorSpec([], tf.int64))
    assert int(ds.cardinality()) == 4 and len(ds) == 4
    features = Dataset.from_tensor_slices({"a": [1, 2], "b": [[1.0], [2.0]]})
    assert [sorted(e) for e in features.as_numpy_iterator()] == [["a", "b"], ["a", "b"]]
    assert features.element_spec["b"] == tf.TensorSpec([1], tf.float32)  # Python floats become float32
    assert listed(Dataset.from_tensor_slices([1, 2, 3])) == [1, 2, 3]
    with pytest.raises(ValueError, match="same size on their first axis"):
        Dataset.from_tensor_slices((np.zeros(3), np.zeros(4)))


def test_from_tensors_range_and_cardinality_constants():
    assert listed(Dataset.from_tensors([1, 2])) == [[1, 2]]
    assert listed(Dataset.range(2, 9, 3)) == [2, 5, 8]
    assert Dataset.range(3).element_spec == tf.TensorSpec([], tf.int64)
    assert int(Dataset.range(3).repeat().cardinality()) == tf.data.INFINITE_CARDINALITY == -1
    assert int(Dataset.range(9).filter(lambda x: x > 3).cardinality()) == tf.data.UNKNOWN_CARDINALITY == -2
    assert int(tf.data.experimental.cardinality(Dataset.range(5).batch(2))) == 3
    assert tf.data.AUTOTUNE == tf.data.experimental.AUTOTUNE == -1
    with pytest.raises(TypeError, match="length is infinite"):
        len(Dataset.range(3).repeat())


def test_batch_and_unbatch():
    ds = Dataset.range(7).batch(3)
    assert listed(ds) == [[0, 1, 2], [3, 4, 5], [6]]
    assert ds.element_spec == tf.TensorSpec([None], tf.int64)
    dropped = Dataset.range(7).batch(3, drop_remainder=True)
    assert listed(dropped) == [[0, 1, 2], [3, 4, 5]] and len(dropped) == 2
    assert dropped.element_spec == tf.TensorSpec([3], tf.int64)
    assert listed(ds.unbatch()) == list(range(7))
    pairs = Dataset.from_tensor_slices((np.arange(5), np.arange(5) * 10)).batch(2)
    assert listed(pairs)[-1] == ([4], [40])
    with pytest.raises(ValueError, match="cannot stack elements of different shapes"):
        list(Dataset.from_generator(lambda: iter([np.zeros(2), np.zeros(3)])).batch(2))


def test_shuffle_has_tfs_buffer_semantics():
    n, buffer = 40, 5
    for seed in range(20):
        order = listed(Dataset.range(n).shuffle(buffer, seed=seed))
        assert sorted(order) == list(range(n))
        # The j-th output is drawn from the buffer filled with the first j + buffer elements.
        assert all(value < position + buffer for position, value in enumerate(order))
    full = [listed(Dataset.range(n).shuffle(n, seed=s)) for s in range(5)]
    assert any(order[0] >= buffer for order in full)  # a buffer as big as the data shuffles it all
    assert listed(Dataset.range(6).shuffle(1)) == list(range(6))


def test_shuffle_reshuffles_each_pass_unless_told_not_to():
    ds = Dataset.range(20).shuffle(20, seed=3)
    first, second = listed(ds), listed(ds)
    assert first != second and sorted(first) == sorted(second)
    fixed = Dataset.range(20).shuffle(20, seed=3, reshuffle_each_iteration=False)
    assert listed(fixed) == listed(fixed)
    tf.random.set_seed(1)
    a = listed(Dataset.range(20).shuffle(20))
    tf.random.set_seed(1)
    assert listed(Dataset.range(20).shuffle(20)) == a  # reproducible after set_seed


def test_map_filter_and_their_arguments():
    ds = Dataset.from_tensor_slices(([1, 2, 3], [10, 20, 30]))
    summed = ds.map(lambda x, y: x + y, num_parallel_calls=tf.data.AUTOTUNE)  # a tuple spreads over the arguments
    assert listed(summed) == [11, 22, 33]
    records = Dataset.from_tensor_slices({"x": [1.0, 2.0], "y": [3, 4]}).map(lambda d: (d["x"] * 2, d["y"]))
    assert listed(records) == [(2.0, 3), (4.0, 4)]
    assert listed(Dataset.range(10).filter(lambda x: x % 3 == 0)) == [0, 3, 6, 9]
    with pytest.raises(TypeError, match="predicate must return a bool scalar"):
        list(Dataset.range(3).filter(lambda x: x))
    squares = Dataset.from_tensor_slices(np.zeros((10, 3), np.float32)).batch(4).map(lambda x: x * 2)
    assert squares.element_spec == tf.TensorSpec([None, 3], tf.float32)


def test_take_skip_repeat_concatenate_zip_enumerate():
    ds = Dataset.range(5)
    assert listed(ds.take(2)) == [0, 1] and listed(ds.skip(3)) == [3, 4] and listed(ds.take(-1)) == list(range(5))
    assert int(ds.take(10).cardinality()) == 5 and int(ds.skip(10).cardinality()) == 0
    assert listed(ds.take(2).repeat(3)) == [0, 1] * 3 and int(ds.repeat(3).cardinality()) == 15
    assert listed(ds.repeat().take(7)) == [0, 1, 2, 3, 4, 0, 1]
    assert listed(ds.take(2).concatenate(Dataset.range(7, 9))) == [0, 1, 7, 8]
    assert listed(Dataset.zip((ds, Dataset.range(10, 13)))) == [(0, 10), (1, 11), (2, 12)]
    assert int(Dataset.zip((ds, Dataset.range(10, 13))).cardinality()) == 3
    assert listed(ds.take(2).enumerate(start=5)) == [(5, 0), (6, 1)]
    assert listed(ds.shard(2, 1)) == [1, 3] and len(ds.shard(2, 0)) == 3
    assert int(ds.reduce(np.int64(0), lambda state, x: state + x)) == 10
    assert int(Dataset.range(1).get_single_element()) == 0


def test_cache_replays_the_first_complete_pass():
    calls = []
    cached = Dataset.range(3).map(lambda x: (calls.append(int(x)), x)[1]).cache()
    assert listed(cached) == [0, 1, 2] and listed(cached) == [0, 1, 2]
    assert calls == [0, 1, 2]
    partial = Dataset.range(3).map(lambda x: (calls.append(int(x)), x)[1]).cache()
    calls.clear()
    assert listed(partial.take(1)) == [0] and listed(partial) == [0, 1, 2]
    assert calls == [0, 0, 1, 2]  # an unfinished pass is not kept, as in TF


def test_prefetch_runs_the_pipeline_ahead_on_a_thread():
    produced, threads = [], set()

    def slow(x):
        threads.add(threading.current_thread().name)
        produced.append(int(x))
        return x

    ds = Dataset.range(6).map(slow).prefetch(2)
    iterator = iter(ds)
    assert int(next(iterator)) == 0
    deadline = time.monotonic() + 5
    while len(produced) < 3 and time.monotonic() < deadline:  # the producer fills the buffer meanwhile
        time.sleep(0.01)
    assert len(produced) >= 3 and threads == {"cnnlab-data-prefetch"}
    assert [int(x) for x in iterator] == [1, 2, 3, 4, 5]
    before = threading.active_count()
    for _ in Dataset.range(10**9).prefetch(tf.data.AUTOTUNE).take(3):  # an early stop ends the producer
        pass
    assert threading.active_count() == before


def test_prefetch_hands_errors_to_the_consumer():
    def fail(x):
        if int(x) == 2:
            raise RuntimeError("bad element")
        return x

    with pytest.raises(RuntimeError, match="bad element"):
        list(Dataset.range(5).map(fail).prefetch(1))


def test_lazy_sources_are_read_on_demand():
    reads = []

    def load(i):
        reads.append(i)
        return np.full((2, 2), i, np.float32), i % 2

    ds = Dataset.from_indexable(100, load)
    assert len(ds) == 100 and reads == []
    batches = ds.shuffle(100, seed=0).batch(10).take(2)
    assert [b[0].shape for b in batches] == [(10, 2, 2), (10, 2, 2)]
    assert len(reads) == 20  # only the elements of the two batches taken
    assert ds.element_spec == (tf.TensorSpec([2, 2], tf.float32), tf.TensorSpec([], tf.int32))

    def generator(stop):
        for i in range(stop):
            yield {"image": np.ones(3) * i, "label": i}

    streamed = Dataset.from_generator(
        generator,
        args=[3],
        output_signature={"image": tf.TensorSpec([3], tf.float32), "label": tf.TensorSpec([], tf.int32)},
    )
    assert [e["label"] for e in streamed.as_numpy_iterator()] == [0, 1, 2]
    assert next(iter(streamed))["image"].dtype == np.float32
    assert listed(streamed.map(lambda e: e["label"]).batch(2)) == [[0, 1], [2]]  # run anew for each pass
    with pytest.raises(ValueError, match="does not fit the signature"):
        list(Dataset.from_generator(lambda: iter([np.zeros(4)]), output_signature=tf.TensorSpec([3], tf.float64)))


def test_batch_over_shuffled_slices_reads_whole_batches_the_same():
    x = np.arange(50, dtype=np.float32)
    direct = listed(Dataset.from_tensor_slices(x).shuffle(50, seed=4, reshuffle_each_iteration=False).batch(8))
    per_element = listed(
        Dataset.from_tensor_slices(x).shuffle(50, seed=4, reshuffle_each_iteration=False).map(lambda v: v).batch(8)
    )
    assert direct == per_element and sorted(sum(direct, [])) == x.tolist()


# ---- fit / evaluate / predict ------------------------------------------------------------------------


def _model():
    tf.keras.utils.set_random_seed(0)
    model = tf.keras.Sequential(
        [tf.keras.Input((4,)), tf.keras.layers.Dense(8, activation="relu"), tf.keras.layers.Dense(3)]
    )
    model.compile(
        optimizer="sgd", loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"]
    )
    return model


def _data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((50, 4)).astype(np.float32)
    return x, (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0)


def test_fit_on_a_dataset_equals_fit_on_the_same_batches():
    x, y = _data()
    by_arrays, by_dataset = _model(), _model()
    history_arrays = by_arrays.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    history_dataset = by_dataset.fit(Dataset.from_tensor_slices((x, y)).batch(16).prefetch(1), epochs=3, verbose=0)
    for a, b in zip(by_arrays.get_weights(), by_dataset.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert history_dataset.history == history_arrays.history
    evaluation = by_dataset.evaluate(Dataset.from_tensor_slices((x, y)).batch(7), verbose=0)
    assert evaluation == pytest.approx(by_arrays.evaluate(x, y, batch_size=7, verbose=0), rel=1e-6)
    np.testing.assert_allclose(
        by_dataset.predict(Dataset.from_tensor_slices(x).batch(9), verbose=0),
        by_arrays.predict(x, verbose=0),
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        by_dataset.predict(Dataset.from_tensor_slices((x, y)).batch(9), verbose=0),
        by_arrays.predict(x, verbose=0),
        rtol=1e-6,
    )


def test_fit_takes_a_validation_dataset_and_a_dataset_of_unknown_length(capsys):
    x, y = _data()
    model = _model()
    streamed = Dataset.from_generator(lambda: ((x[i : i + 10], y[i : i + 10]) for i in range(0, 50, 10)))
    history = model.fit(streamed, validation_data=Dataset.from_tensor_slices((x, y)).batch(25), epochs=2, verbose=2)
    assert list(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]  # sorted, as Keras 3
    assert "5/5" in capsys.readouterr().out  # counted during the first pass
    shuffled = Dataset.from_tensor_slices((x, y)).shuffle(50).batch(10)
    assert len(model.fit(shuffled, epochs=2, verbose=0).history["loss"]) == 2


def test_fit_on_a_dataset_says_what_is_wrong():
    x, y = _data()
    model = _model()
    with pytest.raises(ValueError, match="fit: y cannot be used when x is a dataset"):
        model.fit(Dataset.from_tensor_slices((x, y)).batch(5), y, verbose=0)
    with pytest.raises(ValueError, match="fit: validation_split cannot be used when x is a dataset"):
        model.fit(Dataset.from_tensor_slices((x, y)).batch(5), validation_split=0.2, verbose=0)
    with pytest.raises(ValueError, match="must yield \\(inputs, labels\\) pairs"):
        model.fit(Dataset.from_tensor_slices(x).batch(5), verbose=0)
    with pytest.raises(ValueError, match="infinite dataset"):
        model.fit(Dataset.from_tensor_slices((x, y)).batch(5).repeat(), verbose=0)
    with pytest.raises(ValueError, match=r"the model expects x of shape \(None, 4\)"):
        model.fit(Dataset.from_tensor_slices((x[:, :3], y)).batch(5), verbose=0)
    with pytest.raises(ValueError, match=r"if x yields single samples, batch it first \(x.batch\(32\)\)"):
        model.fit(Dataset.from_tensor_slices((x, y)), verbose=0)
