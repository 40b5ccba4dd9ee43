"""The breadth layers (issue 20.1) against Keras 3 itself and finite differences.

Keras 3 runs on its PyTorch backend (test-only).  For each layer, the same
constructor arguments are given to both; cnnlab's weights (randomized) are copied
into Keras's layer with ``set_weights``, so equal outputs also mean the same
weight shapes and order.  Weight names and ``get_config`` keys are compared too
(the quantization keys Keras adds are left aside:
cnnlab's layers do not take those).
"""

import json
import os

os.environ["KERAS_BACKEND"] = "torch"  # before keras is imported: no TensorFlow needed

import keras as keras3  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import cnnlab as tf  # noqa: E402
from cnnlab.keras import layers  # noqa: E402
from cnnlab.ops import image_ops  # noqa: E402
from cnnlab.testing import check_gradients  # noqa: E402

# Keras 3 on NumPy 2 warns about its own tensors' __array__; nothing of cnnlab's.
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)

KERAS_ONLY_KEYS = {"lora_rank", "lora_alpha", "quantization_config"}


def rand(*shape, seed=0, low=None):
    rng = np.random.default_rng(seed)
    if low is not None:
        return rng.uniform(low, 1.0, shape).astype(np.float32)
    return rng.standard_normal(shape).astype(np.float32)


def keras_numpy(value):
    return keras3.ops.convert_to_numpy(value)


def plain(value):
    """A config value as JSON would give it back (tuples as lists); initializers by class name."""
    if isinstance(value, dict) and "class_name" in value:
        return value["class_name"]
    return json.loads(json.dumps(value, default=list))


# (id, layer class name, constructor kwargs, input shape)
CASES = [
    ("softmax", "Softmax", {}, (2, 3, 5)),
    ("softmax_axis1", "Softmax", {"axis": 1}, (2, 3, 5)),
    ("softmax_two_axes", "Softmax", {"axis": [1, 2]}, (2, 3, 4, 2)),
    ("leaky_relu_default", "LeakyReLU", {}, (2, 7)),
    ("leaky_relu", "LeakyReLU", {"negative_slope": 0.05}, (2, 3, 4)),
    ("prelu", "PReLU", {}, (2, 4, 4, 3)),
    ("prelu_shared", "PReLU", {"shared_axes": [1, 2]}, (2, 4, 4, 3)),
    ("elu", "ELU", {"alpha": 0.5}, (3, 6)),
    (
        "conv2d_transpose_same",
        "Conv2DTranspose",
        {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same"},
        (2, 5, 6, 3),
    ),
    (
        "conv2d_transpose_valid",
        "Conv2DTranspose",
        {"filters": 2, "kernel_size": (2, 3), "strides": (2, 1), "activation": "relu"},
        (2, 4, 5, 3),
    ),
    (
        "conv2d_transpose_output_padding",
        "Conv2DTranspose",
        {"filters": 3, "kernel_size": 3, "strides": 3, "output_padding": 1},
        (1, 4, 4, 2),
    ),
    (
        "conv2d_transpose_dilated",
        "Conv2DTranspose",
        {"filters": 2, "kernel_size": 3, "dilation_rate": 2, "use_bias": False},
        (1, 5, 5, 2),
    ),
    ("upsampling_nearest", "UpSampling2D", {"size": (2, 3)}, (2, 3, 4, 2)),
    ("upsampling_bilinear", "UpSampling2D", {"size": 2, "interpolation": "bilinear"}, (2, 3, 4, 2)),
    ("zero_padding", "ZeroPadding2D", {"padding": ((1, 2), (3, 0))}, (2, 3, 4, 2)),
    ("zero_padding_int", "ZeroPadding2D", {"padding": 1}, (1, 2, 2, 1)),
    ("cropping", "Cropping2D", {"cropping": ((1, 0), (2, 1))}, (2, 5, 6, 2)),
    (
        "depthwise",
        "DepthwiseConv2D",
        {"kernel_size": 3, "depth_multiplier": 2, "strides": 2, "padding": "same"},
        (2, 7, 6, 3),
    ),
    (
        "depthwise_dilated",
        "DepthwiseConv2D",
        {"kernel_size": (2, 3), "dilation_rate": 2, "activation": "relu"},
        (1, 8, 8, 2),
    ),
    (
        "separable",
        "SeparableConv2D",
        {"filters": 5, "kernel_size": 3, "depth_multiplier": 2, "padding": "same"},
        (2, 6, 6, 3),
    ),
    (
        "separable_strided",
        "SeparableConv2D",
        {"filters": 4, "kernel_size": 2, "strides": 2, "use_bias": False},
        (1, 7, 7, 2),
    ),
    ("conv1d_valid", "Conv1D", {"filters": 4, "kernel_size": 3}, (2, 10, 3)),
    ("conv1d_same_strided", "Conv1D", {"filters": 4, "kernel_size": 4, "strides": 2, "padding": "same"}, (2, 11, 3)),
    (
        "conv1d_causal_dilated",
        "Conv1D",
        {"filters": 2, "kernel_size": 3, "dilation_rate": 2, "padding": "causal"},
        (2, 9, 3),
    ),
    ("max_pooling1d", "MaxPooling1D", {}, (2, 9, 3)),
    ("max_pooling1d_same", "MaxPooling1D", {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 8, 3)),
    ("average_pooling1d", "AveragePooling1D", {"pool_size": 3, "strides": 2}, (2, 9, 3)),
    ("average_pooling1d_same", "AveragePooling1D", {"pool_size": 2, "padding": "same"}, (2, 9, 3)),
    ("global_average_pooling1d", "GlobalAveragePooling1D", {"keepdims": True}, (2, 6, 3)),
    ("global_max_pooling1d", "GlobalMaxPooling1D", {}, (2, 6, 3)),
    ("layer_normalization", "LayerNormalization", {}, (3, 5)),
    ("layer_normalization_axes", "LayerNormalization", {"axis": [1, 2], "epsilon": 1e-5}, (2, 3, 4, 2)),
    ("layer_normalization_no_center", "LayerNormalization", {"center": False, "axis": 1}, (2, 4, 3)),
    ("layer_normalization_last_two", "LayerNormalization", {"axis": [-2, -1], "scale": False}, (2, 3, 4)),
    ("rescaling", "Rescaling", {"scale": 1.0 / 127.5, "offset": -1.0}, (2, 4, 4, 3)),
    ("center_crop", "CenterCrop", {"height": 3, "width": 4}, (2, 6, 7, 2)),
    ("center_crop_smaller_input", "CenterCrop", {"height": 8, "width": 4}, (2, 5, 6, 2)),
    ("resizing_bilinear", "Resizing", {"height": 7, "width": 3}, (2, 5, 6, 2)),
    ("resizing_nearest", "Resizing", {"height": 9, "width": 4, "interpolation": "nearest"}, (2, 5, 6, 2)),
    ("resizing_crop_to_aspect", "Resizing", {"height": 4, "width": 4, "crop_to_aspect_ratio": True}, (2, 5, 8, 2)),
    (
        "resizing_pad_to_aspect",
        "Resizing",
        {"height": 4, "width": 8, "pad_to_aspect_ratio": True, "fill_value": 0.5},
        (2, 6, 5, 2),
    ),
]


def layer_normalization_reference(x, layer):
    """LayerNormalization written from its definition (Keras's PyTorch backend fails on axes other than
    the trailing ones, so these cases are checked against this instead)."""
    axes = tuple(a % x.ndim for a in layer.axis)
    mean = x.astype(np.float64).mean(axis=axes, keepdims=True)
    variance = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    shape = [x.shape[i] if i in axes else 1 for i in range(x.ndim)]
    out = (x - mean) / np.sqrt(variance + layer.epsilon)
    if layer.gamma is not None:
        out = out * layer.gamma.numpy().reshape(shape)
    if layer.beta is not None:
        out = out + layer.beta.numpy().reshape(shape)
    return out


# Cases whose output is checked against a reference written here instead of Keras's call.
REFERENCES = {
    "layer_normalization_axes": layer_normalization_reference,
    "layer_normalization_no_center": layer_normalization_reference,
}


def build_pair(class_name, kwargs, shape):
    """cnnlab's layer with random weights, and Keras's with the same weights."""
    ours = getattr(layers, class_name)(**kwargs)
    ours.build((None, *shape[1:]))
    rng = np.random.default_rng(1)
    for weight in ours.weights:
        weight.assign(rng.uniform(0.2, 1.0, weight.shape).astype(np.float32) * rng.choice([-1, 1], weight.shape))
    theirs = getattr(keras3.layers, class_name)(**kwargs)
    theirs.build((None, *shape[1:]))
    theirs.set_weights(ours.get_weights())
    return ours, theirs


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
def test_layer_matches_keras(case):
    case_id, class_name, kwargs, shape = case
    ours, theirs = build_pair(class_name, kwargs, shape)
    x = rand(*shape, seed=2)
    reference = REFERENCES.get(case_id)
    expected = keras_numpy(theirs(x)) if reference is None else reference(x, ours)
    got = ours(x).numpy()
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    assert ours.compute_output_shape((None, *shape[1:])) == tuple(theirs.compute_output_shape((None, *shape[1:])))
    # weights: names and order (set_weights above matched the shapes)
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights]
    # config: the same keys (but Keras's quantization ones) and the same values
    ours_config, keras_config = ours.get_config(), theirs.get_config()
    assert set(ours_config) == set(keras_config) - KERAS_ONLY_KEYS
    for key in set(keras_config) & set(ours_config) - {"name", "dtype"}:
        assert plain(ours_config[key]) == plain(keras_config[key]), key
    # cnnlab's config rebuilds the same layer
    again = type(ours).from_config(ours.get_config())
    assert again.get_config() == ours_config


def without_keras_only(config):
    """Keras's config without the keys cnnlab's layers do not take (quantization, dtype policies, the
    initializers' ``input_axes`` / ``output_axes`` of Keras 3.15)."""
    if isinstance(config, dict):
        dropped = KERAS_ONLY_KEYS | {"dtype", "input_axes", "output_axes"}
        return {k: without_keras_only(v) for k, v in config.items() if k not in dropped}
    return config


@pytest.mark.parametrize("class_name,kwargs,shape", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_keras_config_builds_the_same_layer_in_cnnlab(class_name, kwargs, shape):
    """Keras's own serialized layer (its schema, through JSON) rebuilds the same layer in cnnlab."""
    config = keras3.saving.serialize_keras_object(getattr(keras3.layers, class_name)(**kwargs))
    ours = layers.deserialize(json.loads(json.dumps({**config, "config": without_keras_only(config["config"])})))
    direct = getattr(layers, class_name)(**kwargs)
    assert type(ours) is type(direct)
    assert {k: v for k, v in ours.get_config().items() if k != "name"} == {
        k: v for k, v in direct.get_config().items() if k != "name"
    }


def test_leaky_relu_takes_tf_keras_2_alpha():
    with pytest.warns(UserWarning, match="alpha"):
        layer = layers.LeakyReLU(alpha=0.1)
    assert layer.negative_slope == pytest.approx(0.1)
    np.testing.assert_allclose(layer(np.array([-10.0, 5.0])).numpy(), [-1.0, 5.0])
    assert layer.get_config()["negative_slope"] == pytest.approx(0.1)


def test_softmax_mask_zeroes_masked_positions_like_keras():
    x = rand(2, 5, seed=3)
    mask = np.array([[True, True, False, True, False], [False, False, False, False, False]])
    expected = keras_numpy(keras3.layers.Softmax()(x, mask=mask))
    got = layers.Softmax()(x, mask=mask).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert got[0, [2, 4]].tolist() == [0.0, 0.0] and got[0].sum() == pytest.approx(1.0)


def test_lambda_layer_matches_keras_and_infers_its_shape():
    def halve_and_pool(t):
        return t[:, ::2, :] * 0.5

    ours, theirs = layers.Lambda(halve_and_pool), keras3.layers.Lambda(halve_and_pool)
    x = rand(2, 6, 3)
    np.testing.assert_allclose(ours(x).numpy(), keras_numpy(theirs(x)), atol=1e-6)
    assert ours.compute_output_shape((None, 6, 3)) == (None, 3, 3)
    assert ours.compute_output_shape((None, None, 3)) == (None, None, 3)
    assert layers.Lambda(lambda t: t, output_shape=(4,)).compute_output_shape((None, 4)) == (None, 4)
    scaled = layers.Lambda(lambda t, factor: t * factor, arguments={"factor": 3.0})
    np.testing.assert_allclose(scaled(np.ones((1, 2))).numpy(), [[3.0, 3.0]])


def test_lambda_in_a_model_and_its_config():
    def double(t):
        return t * 2.0

    model = tf.keras.Sequential([tf.keras.Input((3,)), layers.Lambda(double), layers.Dense(2)])
    assert model.output_shape == (None, 2)
    config = layers.serialize(model.layers[0])
    assert config["config"]["function"] == {
        "module": "builtins",
        "class_name": "function",
        "config": "double",
        "registered_name": "function",
    }
    again = layers.deserialize(config, custom_objects={"double": double})
    np.testing.assert_allclose(again(np.ones((1, 3))).numpy(), [[2.0, 2.0, 2.0]])
    with pytest.raises(ValueError, match="Unknown Lambda function 'double'.*custom_objects"):
        layers.deserialize(config)
    lambda_config = layers.serialize(layers.Lambda(lambda t: t + 1))
    assert lambda_config["config"]["function"]["class_name"] == "__lambda__"
    with pytest.raises(ValueError, match="never runs code read from a file"):
        layers.deserialize(lambda_config)


# ---- the random augmentation layers -----------------------------------------------------------


def images(n=8, height=6, width=7, channels=2, seed=5):
    return rand(n, height, width, channels, seed=seed)


@pytest.mark.parametrize(
    "layer",
    [
        layers.RandomFlip(),
        layers.RandomTranslation(0.3, 0.3),
        layers.RandomRotation(0.4),
        layers.RandomZoom(0.3),
    ],
    ids=lambda layer: type(layer).__name__,
)
def test_augmentation_is_identity_in_inference_and_active_in_training(layer):
    x = images()
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x)
    model = tf.keras.Sequential([tf.keras.Input(x.shape[1:]), layer])
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)
    tf.random.set_seed(3)
    augmented = layer(x).numpy()  # called directly, as the tutorial does: training by default
    assert augmented.shape == x.shape and not np.allclose(augmented, x)
    tf.random.set_seed(3)
    np.testing.assert_array_equal(model(x, training=True).numpy(), augmented)


def test_random_flip_flips_about_half_of_the_images_and_nothing_else():
    x = images(n=400, seed=6)
    for mode, flip in (
        ("horizontal", lambda a: a[:, ::-1]),
        ("vertical", lambda a: a[::-1]),
        ("horizontal_and_vertical", lambda a: a[::-1, ::-1]),
    ):
        out = layers.RandomFlip(mode)(x).numpy()
        flipped = [np.array_equal(o, flip(i)) for o, i in zip(out, x)]
        kept = [np.array_equal(o, i) for o, i in zip(out, x)]
        assert all(f or k for f, k in zip(flipped, kept))
        assert 0.4 < np.mean(flipped) < 0.6


def test_random_layers_follow_the_seed():
    x = images()
    for make in (lambda: layers.RandomRotation(0.2, seed=7), lambda: layers.RandomFlip(seed=7)):
        tf.random.set_seed(11)
        first = make()(x).numpy()
        tf.random.set_seed(11)
        np.testing.assert_array_equal(make()(x).numpy(), first)


def test_random_translation_by_whole_pixels_is_a_shift():
    x = images(n=3)
    layer = layers.RandomTranslation((0.5, 0.5), (-2 / 7, -2 / 7), fill_mode="constant", fill_value=-3.0)
    out = layer(x).numpy()  # 3 rows down, 2 columns left, every image
    expected = np.full_like(x, -3.0)
    expected[:, 3:, :5] = x[:, :3, 2:]
    np.testing.assert_allclose(out, expected, atol=1e-6)


def test_random_rotation_by_zero_and_by_half_a_turn():
    x = images(n=2)
    np.testing.assert_allclose(layers.RandomRotation(0.0)(x).numpy(), x, atol=1e-6)
    half_turn = layers.RandomRotation((0.5, 0.5), interpolation="nearest")(x).numpy()
    np.testing.assert_allclose(half_turn, x[:, ::-1, ::-1], atol=1e-6)


def test_random_zoom_of_zero_is_identity_and_zoom_out_fills():
    x = images(n=2)
    np.testing.assert_allclose(layers.RandomZoom(0.0)(x).numpy(), x, atol=1e-6)
    zoomed = layers.RandomZoom((1.0, 1.0), fill_mode="constant", fill_value=9.0, interpolation="nearest")(
        np.ones((1, 9, 9, 1), np.float32)
    ).numpy()[0, :, :, 0]
    assert zoomed[4, 4] == 1.0 and zoomed[0, 0] == 9.0  # twice as far out: the corners are outside


def test_geometric_transforms_match_keras_for_the_same_draw():
    """Given Keras's own random draw, cnnlab's transform matrix and warped images equal Keras's."""
    from cnnlab.keras.layers import augmentation

    x = images(n=4, height=7, width=9)
    for fill_mode in ("reflect", "wrap", "constant", "nearest"):
        for interpolation in ("bilinear", "nearest"):
            options = {"fill_mode": fill_mode, "interpolation": interpolation, "fill_value": 0.25}
            rotation = keras3.layers.RandomRotation(0.3, **options)
            draw = rotation.get_random_transformation(x, training=True)
            ours = augmentation.rotation_transforms(keras_numpy(draw["angle"]), 7, 9)
            np.testing.assert_allclose(ours, keras_numpy(draw["rotation_matrix"]), atol=1e-5)
            expected = keras_numpy(rotation.transform_images(x, draw, training=True))
            got = image_ops.affine_transform(x, ours, interpolation, fill_mode, 0.25).numpy()
            np.testing.assert_allclose(got, expected, atol=1e-4)

            translation = keras3.layers.RandomTranslation(0.3, 0.2, **options)
            draw = translation.get_random_transformation(x, training=True)
            shifts = keras_numpy(draw["translations"])
            ours = augmentation.translation_transforms(shifts[:, 1], shifts[:, 0])
            expected = keras_numpy(translation.transform_images(x, draw, training=True))
            got = image_ops.affine_transform(x, ours, interpolation, fill_mode, 0.25).numpy()
            np.testing.assert_allclose(got, expected, atol=1e-4)

            zoom = keras3.layers.RandomZoom(0.3, (-0.2, 0.4), **options)
            draw = zoom.get_random_transformation(x, training=True)
            ours = augmentation.zoom_transforms(
                keras_numpy(draw["height_zoom"])[:, 0], keras_numpy(draw["width_zoom"])[:, 0], 7, 9
            )
            expected = keras_numpy(zoom.transform_images(x, draw, training=True))
            got = image_ops.affine_transform(x, ours, interpolation, fill_mode, 0.25).numpy()
            np.testing.assert_allclose(got, expected, atol=1e-4)


def test_augmentation_configs_match_keras():
    for class_name, kwargs in (
        ("RandomFlip", {"mode": "horizontal", "seed": 3}),
        ("RandomTranslation", {"height_factor": 0.1, "width_factor": (-0.2, 0.3), "fill_mode": "constant"}),
        ("RandomRotation", {"factor": 0.2, "interpolation": "nearest", "seed": 1}),
        ("RandomZoom", {"height_factor": (-0.3, 0.1), "fill_value": 2.0}),
    ):
        ours = getattr(layers, class_name)(**kwargs).get_config()
        theirs = getattr(keras3.layers, class_name)(**kwargs).get_config()
        assert set(ours) == set(theirs)
        for key in set(theirs) - {"name", "dtype"}:
            assert plain(ours[key]) == plain(theirs[key]), (class_name, key)


def test_data_augmentation_trains_a_model():
    """Augmentation layers in front of a CNN: fit runs them in training mode and the loss falls."""
    tf.random.set_seed(0)
    x = images(n=64, height=8, width=8, channels=1, seed=8)
    y = (x.mean(axis=(1, 2, 3)) > 0).astype(np.int64)
    model = tf.keras.Sequential(
        [
            tf.keras.Input((8, 8, 1)),
            layers.RandomFlip("horizontal"),
            layers.RandomRotation(0.05),
            layers.Conv2D(4, 3, activation="relu"),
            layers.GlobalAveragePooling2D(),
            layers.Dense(2),
        ]
    )
    model.compile(optimizer="adam", loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(x, y, epochs=8, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


# ---- gradients by finite differences (float64) ---------------------------------------------------


def with_weights(layer, names):
    """``fn(x, *weights)`` calling ``layer`` with the given tensors in place of its weights."""

    def fn(x, *weights):
        saved = {name: getattr(layer, name) for name in names}
        try:
            for name, weight in zip(names, weights):
                object.__setattr__(layer, name, weight)
            return layer(x)
        finally:
            for name, value in saved.items():
                object.__setattr__(layer, name, value)

    return fn


GRADIENT_CASES = [
    (
        "conv2d_transpose",
        lambda: layers.Conv2DTranspose(2, 3, strides=2, padding="same", dtype="float64"),
        (1, 3, 3, 2),
        ["kernel", "bias"],
    ),
    (
        "depthwise",
        lambda: layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same", strides=2, dtype="float64"),
        (1, 5, 4, 2),
        ["kernel", "bias"],
    ),
    (
        "separable",
        lambda: layers.SeparableConv2D(2, 2, depth_multiplier=2, dtype="float64"),
        (1, 4, 4, 2),
        ["depthwise_kernel", "pointwise_kernel", "bias"],
    ),
    (
        "conv1d_causal",
        lambda: layers.Conv1D(2, 3, padding="causal", dilation_rate=2, dtype="float64"),
        (2, 6, 2),
        ["kernel", "bias"],
    ),
    ("max_pooling1d", lambda: layers.MaxPooling1D(3, strides=2, padding="same", dtype="float64"), (2, 7, 2), []),
    (
        "average_pooling1d",
        lambda: layers.AveragePooling1D(3, strides=2, padding="same", dtype="float64"),
        (2, 7, 2),
        [],
    ),
    (
        "layer_normalization",
        lambda: layers.LayerNormalization(axis=[1, 2], dtype="float64"),
        (2, 3, 4),
        ["gamma", "beta"],
    ),
    ("prelu", lambda: layers.PReLU(shared_axes=[1], dtype="float64"), (2, 3, 4), ["alpha"]),
    ("softmax_two_axes", lambda: layers.Softmax(axis=[1, 2], dtype="float64"), (2, 3, 3), []),
    ("elu", lambda: layers.ELU(alpha=0.7, dtype="float64"), (2, 5), []),
    ("upsampling_bilinear", lambda: layers.UpSampling2D(interpolation="bilinear", dtype="float64"), (1, 3, 2, 2), []),
    ("resizing_down", lambda: layers.Resizing(3, 2, dtype="float64"), (1, 5, 5, 1), []),
    ("cropping", lambda: layers.Cropping2D(((1, 0), (0, 1)), dtype="float64"), (1, 3, 3, 2), []),
    ("zero_padding", lambda: layers.ZeroPadding2D(1, dtype="float64"), (1, 2, 2, 1), []),
]


@pytest.mark.parametrize(
    "make,shape,names", [case[1:] for case in GRADIENT_CASES], ids=[case[0] for case in GRADIENT_CASES]
)
def test_layer_gradients_match_finite_differences(make, shape, names):
    layer = make()
    layer.build((None, *shape[1:]))
    rng = np.random.default_rng(4)
    inputs = [rng.standard_normal(shape)] + [rng.uniform(0.3, 1.0, getattr(layer, n).shape) for n in names]
    check_gradients(with_weights(layer, names), inputs)


def test_affine_transform_gradient_matches_finite_differences():
    from cnnlab.keras.layers import augmentation

    transforms = augmentation.rotation_transforms(np.array([17.0, -40.0]), 4, 5)
    for fill_mode in ("reflect", "constant"):
        check_gradients(
            lambda x: image_ops.affine_transform(x, transforms, "bilinear", fill_mode, 0.5),
            [np.random.default_rng(0).standard_normal((2, 4, 5, 2))],
        )


def test_second_order_gradients_of_the_new_ops():
    """The ops' gradients are themselves differentiable (their adjoints close the loop)."""
    from cnnlab.ops import depthwise_conv_ops

    def grad_of(op):
        def fn(x, w):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = tf.reduce_sum(tf.square(op(x, w)))
            return tape.gradient(y, x)

        return fn

    rng = np.random.default_rng(1)
    check_gradients(
        grad_of(lambda x, w: depthwise_conv_ops.depthwise_conv2d(x, w, 2, "SAME")),
        [rng.standard_normal((1, 4, 4, 2)), rng.standard_normal((2, 2, 2, 2))],
    )
    check_gradients(
        grad_of(lambda x, w: image_ops.resize(x * w, (5, 3))),
        [rng.standard_normal((1, 3, 4, 1)), rng.standard_normal((1,))],
    )


# ---- errors name the argument ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: layers.LeakyReLU(negative_slope=-1), "negative_slope must be a number >= 0"),
        (
            lambda: layers.Conv2DTranspose(2, 3, strides=2, output_padding=2),
            "output_padding must be smaller than its stride",
        ),
        (lambda: layers.Conv1D(2, 3, padding="full"), "padding must be 'valid', 'same' or 'causal'"),
        (lambda: layers.ZeroPadding2D(((1, 2, 3), 1)), "padding must be an int"),
        (lambda: layers.Resizing(4, 4, interpolation="bicubic"), "interpolation must be one of"),
        (lambda: layers.RandomRotation(1.5), r"factor must be a number or a pair of numbers in \[-1.0, 1.0\]"),
        (lambda: layers.RandomZoom(-1.0), r"height_factor must be .* in \(-1.0, 1.0\]"),
        (lambda: layers.RandomFlip("diagonal"), "mode must be 'horizontal'"),
        (lambda: layers.RandomTranslation(0.1, 0.1, fill_mode="mirror"), "fill_mode must be one of"),
        (lambda: layers.UpSampling2D(interpolation="area"), "interpolation must be one of"),
    ],
)
def test_bad_arguments_are_named(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_shapes_are_named():
    with pytest.raises(ValueError, match="Cropping2D.*leaves nothing"):
        layers.Cropping2D(3)(np.ones((1, 5, 5, 1)))
    with pytest.raises(ValueError, match="rank 4 .* or 3"):
        layers.Resizing(2, 2)(np.ones((2, 3)))
    with pytest.raises(ValueError, match="would not give back 5"):
        layers.Conv2DTranspose(2, 2, padding="same", output_padding=0)(np.ones((1, 5, 5, 1)))
