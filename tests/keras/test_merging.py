"""Merge layers and graphs that branch and join: values against NumPy written from the definition
and Keras 3, gradients against finite differences, functional models of several inputs and
outputs (calls, configs, the planner's plan, the ONNX graph)."""

import os

os.environ["KERAS_BACKEND"] = "torch"  # before keras is imported: no TensorFlow needed

import keras as keras3  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import cnnlab as tf  # noqa: E402
from cnnlab import keras  # noqa: E402
from cnnlab.testing import check_gradients  # noqa: E402

layers = keras.layers
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)
rng = np.random.default_rng(24)

# (class name, constructor arguments, input shapes, reference written from the definition)
CASES = [
    ("Add", {}, [(3, 4), (3, 4), (3, 4)], lambda a, b, c: a + b + c),
    ("Subtract", {}, [(3, 2, 4), (3, 2, 4)], lambda a, b: a - b),
    ("Multiply", {}, [(3, 4), (3, 1)], lambda a, b: a * b),
    ("Average", {}, [(3, 4), (3, 4)], lambda a, b: (a + b) / 2),
    ("Maximum", {}, [(3, 4), (3, 4), (3, 4)], lambda a, b, c: np.maximum(np.maximum(a, b), c)),
    ("Minimum", {}, [(3, 4), (3, 4)], np.minimum),
    ("Add", {}, [(3, 2, 4), (3, 4)], lambda a, b: a + b[:, None, :]),  # lower rank: an axis after the batch
    ("Concatenate", {}, [(3, 2, 4), (3, 2, 1)], lambda a, b: np.concatenate([a, b], axis=-1)),
    ("Concatenate", {"axis": 1}, [(3, 2, 4), (3, 5, 4)], lambda a, b: np.concatenate([a, b], axis=1)),
    ("Dot", {"axes": 1}, [(3, 4), (3, 4)], lambda a, b: np.sum(a * b, axis=1, keepdims=True)),
    ("Dot", {"axes": (2, 2)}, [(3, 2, 4), (3, 5, 4)], lambda a, b: np.einsum("bik,bjk->bij", a, b)),
    ("Dot", {"axes": (1, 2)}, [(3, 4, 2), (3, 5, 4)], lambda a, b: np.einsum("bki,bjk->bij", a, b)),
    (
        "Dot",
        {"axes": 1, "normalize": True},
        [(3, 4), (3, 4)],
        lambda a, b: np.sum(a * b, 1, keepdims=True) / np.linalg.norm(a, axis=1, keepdims=True)
        / np.linalg.norm(b, axis=1, keepdims=True),
    ),
]
IDS = [f"{name}-{'x'.join(str(s) for s in shapes[-1])}-{i}" for i, (name, _, shapes, _) in enumerate(CASES)]


@pytest.mark.parametrize("name,kwargs,shapes,reference", CASES, ids=IDS)
def test_merge_layers_compute_their_definition_and_agree_with_keras(name, kwargs, shapes, reference):
    values = [rng.standard_normal(shape).astype(np.float32) for shape in shapes]
    layer = getattr(layers, name)(**kwargs)
    got = layer(values).numpy()
    np.testing.assert_allclose(got, reference(*values), rtol=1e-5, atol=1e-6)
    theirs = keras3.ops.convert_to_numpy(getattr(keras3.layers, name)(**kwargs)(values))
    np.testing.assert_allclose(got, theirs, rtol=1e-5, atol=1e-6)
    assert layer.compute_output_shape([(None, *s[1:]) for s in shapes]) == (None, *got.shape[1:])
    function = getattr(layers, name.lower())
    np.testing.assert_array_equal(function(values, **kwargs).numpy(), got)


@pytest.mark.parametrize("name,kwargs,shapes,reference", CASES, ids=IDS)
def test_merge_layer_gradients_match_finite_differences(name, kwargs, shapes, reference):
    layer = getattr(layers, name)(dtype="float64", **kwargs)
    values = [rng.standard_normal(shape) for shape in shapes]
    check_gradients(lambda *inputs: layer(list(inputs)), values)


def test_symbolic_shapes_broadcast_as_keras_says():
    a, b = keras.Input((None, 4)), keras.Input((1, 4))
    assert layers.Add()([a, b]).shape == (None, None, 4)
    assert layers.Multiply()([keras.Input((3, 4)), keras.Input((1, 4))]).shape == (None, 3, 4)
    assert layers.Concatenate(axis=1)([keras.Input((2, 4)), keras.Input((None, 4))]).shape == (None, None, 4)
    assert layers.Dot(axes=(1, 2))([keras.Input((4, 2)), keras.Input((5, 4))]).shape == (None, 2, 5)


@pytest.mark.parametrize(
    "make,inputs,match",
    [
        (layers.Subtract, [(2, 3)] * 3, r"Subtract\) takes exactly 2 input"),
        (layers.Add, [(2, 3), (2, 4)], "incompatible shapes"),
        (layers.Concatenate, [(2, 3, 1), (2, 4, 1)], "agree on every axis but"),
        (lambda: layers.Dot(axes=1), [(2, 3), (2, 4)], "differ in size along the axes"),
    ],
)
def test_bad_merges_are_named(make, inputs, match):
    with pytest.raises(ValueError, match=match):
        make()([keras.Input(shape[1:]) for shape in inputs])
    with pytest.raises(ValueError, match="called on a list of inputs"):
        layers.Add()(keras.Input((3,)))


def residual_model(library):
    """Two inputs, a residual join and a concatenation, two outputs."""
    image, extra = library.Input((8, 8, 3), name="image"), library.Input((5,), name="extra")
    x = library.layers.Conv2D(3, 3, padding="same", activation="relu", name="conv")(image)
    x = library.layers.Add(name="residual")([image, x])
    x = library.layers.MaxPooling2D(name="pool")(x)
    features = library.layers.Concatenate(name="join")([library.layers.Flatten(name="flat")(x), extra])
    label = library.layers.Dense(4, activation="softmax", name="label")(features)
    score = library.layers.Dense(1, name="score")(library.layers.Subtract(name="gap")([extra, extra]))
    return library.Model([image, extra], [label, score], name="residual")


def test_a_branching_model_runs_its_graph_and_the_planner_fuses_what_does_not_branch():
    model = residual_model(keras)
    steps = [(type(step).__name__, [layer.name for layer in step.layers]) for step in model._plan.steps]
    # The conv's output is read by the Add, so it is not fused with the pool (which reads the Add).
    assert ("ConvStep", ["conv"]) in steps and ("LayerStep", ["residual"]) in steps
    image, extra = rng.random((6, 8, 8, 3), dtype=np.float32), rng.random((6, 5), dtype=np.float32)
    conv, label, score = (model.get_layer(name) for name in ("conv", "label", "score"))
    x = image + tf.nn.relu(tf.nn.conv2d(image, conv.kernel, 1, "SAME") + conv.bias).numpy()
    x = tf.nn.max_pool2d(x, 2, 2, "VALID").numpy().reshape(6, -1)
    expected = tf.nn.softmax(np.concatenate([x, extra], 1) @ label.kernel.numpy() + label.bias.numpy()).numpy()
    got_label, got_score = model([image, extra])
    np.testing.assert_allclose(got_label.numpy(), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_score.numpy(), np.broadcast_to(score.bias.numpy(), (6, 1)), atol=0)
    by_name = model({"image": image, "extra": extra})
    np.testing.assert_array_equal(by_name[0].numpy(), got_label.numpy())
    with pytest.raises(ValueError, match=r"lacks \['extra'\]"):
        model({"image": image})
    with pytest.raises(ValueError, match="takes 2 input"):
        model(image)


def test_dict_inputs_and_outputs():
    a, b = keras.Input((3,), name="a"), keras.Input((3,), name="b")
    total = layers.Add(name="total")([a, b])
    model = keras.Model({"left": a, "right": b}, {"sum": total, "double": layers.Add()([total, total])})
    assert model.output_names == ["total", "add"]
    out = model({"left": np.ones((2, 3)), "right": np.full((2, 3), 2.0)})
    assert sorted(out) == ["double", "sum"]
    np.testing.assert_array_equal(out["double"].numpy(), np.full((2, 3), 6.0))
    config = model.get_config()
    assert config["input_layers"] == {"left": ["a", 0, 0], "right": ["b", 0, 0]}
    rebuilt = keras.Model.from_config(config)
    np.testing.assert_array_equal(rebuilt({"left": np.ones((2, 3)), "right": np.ones((2, 3))})["sum"].numpy(), 2.0)


def test_a_layer_called_on_a_tuple_and_a_layer_with_several_outputs():
    class Split(layers.Layer):
        def call(self, inputs):
            return inputs[:, :2], inputs[:, 2:]

    class Scale(layers.Layer):
        def call(self, inputs):
            left, right = inputs
            return left * 2.0 + tf.reduce_sum(right, axis=1, keepdims=True)

    inputs = keras.Input((5,))
    left, right = Split()(inputs)
    assert left.shape == (None, 2) and right.shape == (None, 3)
    model = keras.Model(inputs, Scale()((left, right)))
    x = rng.random((4, 5), dtype=np.float32)
    np.testing.assert_allclose(model(x).numpy(), x[:, :2] * 2 + x[:, 2:].sum(1, keepdims=True), rtol=1e-6)
    rebuilt = keras.Model.from_config(model.get_config(), custom_objects={"Split": Split, "Scale": Scale})
    np.testing.assert_allclose(rebuilt(x).numpy(), model(x).numpy())


def test_a_call_with_training_false_stays_in_inference_in_the_model():
    inputs = keras.Input((400,))
    kept = layers.Dropout(0.5)(inputs, training=False)  # as base_model(x, training=False) in transfer learning
    model = keras.Model(inputs, [kept, layers.Dropout(0.5)(kept)])
    assert model.get_config()["layers"][1]["inbound_nodes"][0]["kwargs"] == {"training": False}
    ones = np.ones((3, 400), np.float32)
    for candidate in (model, keras.Model.from_config(model.get_config())):
        first, second = candidate(ones, training=True)
        np.testing.assert_array_equal(first.numpy(), ones)
        assert 0.3 < np.mean(second.numpy() == 0) < 0.7  # the other Dropout follows the model's training


def test_the_onnx_graph_of_a_branching_model_agrees_with_the_model(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    model = residual_model(keras)
    model.export(tmp_path / "residual.onnx", format="onnx")
    session = ort.InferenceSession(str(tmp_path / "residual.onnx"))
    image, extra = rng.random((5, 8, 8, 3), dtype=np.float32), rng.random((5, 5), dtype=np.float32)
    got = session.run(None, {"image": image, "extra": extra})
    for theirs, ours in zip(got, model([image, extra])):
        np.testing.assert_allclose(theirs, ours.numpy(), rtol=1e-5, atol=1e-6)


def test_every_merge_layer_exports_to_onnx(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    a, b = keras.Input((4,), name="a"), keras.Input((2, 4), name="b")
    merged = [
        layers.Flatten()(layers.Add()([a, b])),
        layers.Flatten()(layers.Subtract()([b, a])),
        layers.Flatten()(layers.Multiply()([a, b])),
        layers.Flatten()(layers.Average()([a, b, b])),
        layers.Flatten()(layers.Maximum()([a, b])),
        layers.Flatten()(layers.Minimum()([b, a])),
        layers.Dot(axes=1, normalize=True)([a, a]),
        layers.Flatten()(layers.Dot(axes=(1, 2))([a, b])),
    ]
    model = keras.Model([a, b], layers.Concatenate()(merged))
    model.export(tmp_path / "merges.onnx", format="onnx")
    x_a, x_b = rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal((3, 2, 4)).astype(np.float32)
    (got,) = ort.InferenceSession(str(tmp_path / "merges.onnx")).run(None, {"a": x_a, "b": x_b})
    np.testing.assert_allclose(got, model([x_a, x_b]).numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["Add", "Concatenate"])
def test_a_loaded_model_with_a_merge_layer_saves_and_loads_again(tmp_path, name):
    """A merge layer rebuilt from a file records one input shape per input, so the file it is saved to loads."""
    inputs = keras.Input(shape=(4, 4, 2))
    branch = keras.layers.Conv2D(2, 3, padding="same")(inputs)
    outputs = getattr(keras.layers, name)(name="merge")([branch, inputs])
    model = keras.Model(inputs, outputs)
    model.save(tmp_path / "first.keras")
    loaded = keras.models.load_model(tmp_path / "first.keras")
    assert [tuple(shape) for shape in loaded.get_layer("merge")._build_input_shape] == [(None, 4, 4, 2)] * 2
    alone = keras.layers.deserialize(keras.layers.serialize(loaded.get_layer("merge")))
    assert [tuple(shape) for shape in alone._build_input_shape] == [(None, 4, 4, 2)] * 2
    loaded.save(tmp_path / "second.keras")
    again = keras.models.load_model(tmp_path / "second.keras")
    x = np.random.default_rng(3).standard_normal((2, 4, 4, 2)).astype(np.float32)
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))
