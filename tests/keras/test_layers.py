"""Keras layers: values against tf.nn ops, NumPy written from the definitions, and PyTorch."""

import numpy as np
import pytest
import torch

import cnnlab as tf
from cnnlab import keras
from cnnlab.keras import layers


@pytest.fixture(autouse=True)
def _seed():
    tf.random.set_seed(1234)


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def tf_same_padding(size, kernel, stride):
    """TF's SAME padding written out here (not the library helper): (before, after)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


# ---- Conv2D ------------------------------------------------------------------------------


def test_conv2d_defaults_follow_keras():
    conv = layers.Conv2D(4, 3)
    assert conv.kernel_size == (3, 3) and conv.strides == (1, 1) and conv.padding == "valid"
    conv(np.zeros((1, 6, 6, 2), np.float32))
    assert conv.kernel.shape == (3, 3, 2, 4) and conv.bias.shape == (4,)
    np.testing.assert_array_equal(conv.bias.numpy(), np.zeros(4, np.float32))
    limit = np.sqrt(6 / (3 * 3 * 2 + 3 * 3 * 4))  # glorot_uniform with receptive-field fans
    kernel = conv.kernel.numpy()
    assert kernel.dtype == np.float32 and np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.5 * limit


def test_conv2d_with_constant_initializer_returns_feature_maps():
    image = np.arange(25, dtype=np.float32).reshape(1, 5, 5, 1)
    w = np.zeros((3, 3, 1, 2), np.float32)
    w[1, 1, 0, 0] = 1.0  # identity filter
    w[:, :, 0, 1] = 1.0  # box sum
    conv = layers.Conv2D(2, 3, kernel_initializer=tf.constant_initializer(w))
    maps = conv(image).numpy()
    assert maps.shape == (1, 3, 3, 2)
    np.testing.assert_array_equal(maps[0, :, :, 0], image[0, 1:4, 1:4, 0])
    expected_box = np.array([[image[0, i : i + 3, j : j + 3, 0].sum() for j in range(3)] for i in range(3)])
    np.testing.assert_array_equal(maps[0, :, :, 1], expected_box)


@pytest.mark.parametrize("padding,strides,dilation", [("same", 1, 1), ("valid", 2, 1), ("same", 2, 1), ("valid", 1, 2)])
def test_conv2d_equals_nn_ops_and_torch(padding, strides, dilation):
    x = rand(2, 7, 8, 3)
    conv = layers.Conv2D(
        5,
        (3, 2),
        strides=strides,
        padding=padding,
        dilation_rate=dilation,
        activation="relu",
        bias_initializer="random_normal",
    )
    out = conv(x).numpy()
    kernel, bias = conv.get_weights()
    expected = tf.nn.relu(
        tf.nn.bias_add(tf.nn.conv2d(x, kernel, strides=strides, padding=padding.upper(), dilations=dilation), bias)
    ).numpy()
    np.testing.assert_array_equal(out, expected)

    torch_conv = torch.nn.Conv2d(3, 5, (3, 2), stride=strides, dilation=dilation)
    with torch.no_grad():
        torch_conv.weight.copy_(torch.from_numpy(kernel.transpose(3, 2, 0, 1)))
        torch_conv.bias.copy_(torch.from_numpy(bias))
    x_nchw = torch.from_numpy(x.transpose(0, 3, 1, 2))
    if padding == "same":
        top, bottom = tf_same_padding(7, (3 - 1) * dilation + 1, strides)
        left, right = tf_same_padding(8, (2 - 1) * dilation + 1, strides)
        x_nchw = torch.nn.functional.pad(x_nchw, (left, right, top, bottom))
    reference = torch.relu(torch_conv(x_nchw)).detach().numpy().transpose(0, 2, 3, 1)
    assert out.shape == reference.shape
    assert conv.compute_output_shape((None, 7, 8, 3))[1:] == out.shape[1:]
    np.testing.assert_allclose(out, reference, rtol=1e-5, atol=1e-5)


def test_conv2d_compute_output_shape_matches_call():
    conv = layers.Conv2D(3, 4, strides=3, padding="same")
    assert conv.compute_output_shape((None, 10, 11, 2)) == (None, 4, 4, 3)
    assert conv(rand(1, 10, 11, 2)).shape == (1, 4, 4, 3)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"filters": -1, "kernel_size": 3}, "Received|received filters=-1"),
        ({"filters": 2, "kernel_size": 0}, "kernel_size=0"),
        ({"filters": 2, "kernel_size": 3, "padding": "full"}, "padding='full'"),
        ({"filters": 2, "kernel_size": 3, "strides": (1, 0)}, "strides"),
        ({"filters": 2, "kernel_size": 3, "data_format": "channels_first"}, "channels_last"),
        ({"filters": 2, "kernel_size": 3, "strides": 2, "dilation_rate": 2}, "dilation_rate"),
    ],
)
def test_conv2d_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        layers.Conv2D(**kwargs)


@pytest.mark.parametrize(
    "strides, dilation_rate",
    [((1, 2), 2), ((2, 1), 2), ((2, 1), (1, 2)), ((1, 3), (2, 1)), (2, (1, 2))],
)
def test_conv2d_rejects_a_stride_and_a_dilation_above_1_on_any_axes_as_keras(strides, dilation_rate):
    # Keras 3 (base_conv.py): max(strides) > 1 and max(dilation_rate) > 1, whichever the axes.
    with pytest.raises(ValueError) as error:
        layers.Conv2D(2, 3, strides=strides, dilation_rate=dilation_rate)
    expected_strides = strides if isinstance(strides, tuple) else (strides, strides)
    expected_dilation = dilation_rate if isinstance(dilation_rate, tuple) else (dilation_rate, dilation_rate)
    assert str(error.value) == (
        "Conv2D: strides > 1 together with dilation_rate > 1 is not supported (as in Keras); "
        f"received strides={expected_strides}, dilation_rate={expected_dilation}."
    )


@pytest.mark.parametrize("strides, dilation_rate", [((1, 1), 2), (2, 1), ((1, 2), (1, 1)), ((3, 1), 1)])
def test_conv2d_takes_a_stride_or_a_dilation(strides, dilation_rate):
    conv = layers.Conv2D(2, 3, strides=strides, dilation_rate=dilation_rate, padding="same")
    assert conv(np.zeros((1, 6, 6, 1), np.float32)).shape == (1, *(-(-6 // s) for s in conv.strides), 2)


def test_conv2d_input_validation():
    conv = layers.Conv2D(2, 3)
    with pytest.raises(ValueError, match="expected ndim=4, found ndim=3"):
        conv(np.zeros((5, 5, 1), np.float32))
    conv(np.zeros((1, 5, 5, 1), np.float32))
    with pytest.raises(ValueError, match="expected axis -1 of the input shape to have value 1"):
        conv(np.zeros((1, 5, 5, 3), np.float32))
    with pytest.raises(ValueError, match="larger than"):
        layers.Conv2D(2, 5)(np.zeros((1, 3, 3, 1), np.float32))


def test_conv2d_gradient_in_float64():
    conv = layers.Conv2D(2, 2, strides=2, padding="same", activation="tanh", dtype="float64")
    x = np.random.default_rng(3).standard_normal((1, 3, 3, 2))
    conv(x)
    tf.testing.check_gradients(lambda inputs: conv(inputs), [x])


# ---- Dense ---------------------------------------------------------------------------------


def test_dense_equals_numpy():
    x = rand(4, 6)
    dense = layers.Dense(3, activation="sigmoid", bias_initializer="ones")
    out = dense(x).numpy()
    kernel, bias = dense.get_weights()
    np.testing.assert_allclose(out, 1 / (1 + np.exp(-(x @ kernel + bias))), rtol=1e-6)
    assert dense.kernel.shape == (6, 3)


def test_dense_on_higher_rank_input_applies_to_last_axis():
    x = rand(2, 5, 4)
    dense = layers.Dense(3, use_bias=False)
    out = dense(x).numpy()
    np.testing.assert_allclose(out, x @ dense.kernel.numpy(), rtol=1e-6)
    assert dense.weights == [dense.kernel]


def test_dense_rejects_wrong_features_after_build():
    dense = layers.Dense(2)
    dense(np.zeros((1, 4), np.float32))
    with pytest.raises(ValueError, match="expected axis -1 of the input shape to have value 4"):
        dense(np.zeros((1, 5), np.float32))
    with pytest.raises(ValueError, match="units"):
        layers.Dense(0)


# ---- pooling -------------------------------------------------------------------------------


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_pooling_against_torch(padding):
    x = rand(2, 7, 6, 3)
    x_nchw = torch.from_numpy(x.transpose(0, 3, 1, 2))
    max_out = layers.MaxPooling2D((3, 2), strides=2, padding=padding)(x).numpy()
    avg_out = layers.AveragePooling2D((3, 2), strides=2, padding=padding)(x).numpy()
    if padding == "same":
        top, bottom = tf_same_padding(7, 3, 2)
        left, right = tf_same_padding(6, 2, 2)
        padded_max = torch.nn.functional.pad(x_nchw, (left, right, top, bottom), value=-np.inf)
        torch_max = torch.nn.functional.max_pool2d(padded_max, (3, 2), 2)
        # TF's 'same' average counts only real cells: divide the zero-padded sum by the count of real cells.
        padded = torch.nn.functional.pad(x_nchw, (left, right, top, bottom))
        ones = torch.nn.functional.pad(torch.ones_like(x_nchw), (left, right, top, bottom))
        torch_avg = torch.nn.functional.avg_pool2d(padded, (3, 2), 2) / torch.nn.functional.avg_pool2d(ones, (3, 2), 2)
    else:
        torch_max = torch.nn.functional.max_pool2d(x_nchw, (3, 2), 2)
        torch_avg = torch.nn.functional.avg_pool2d(x_nchw, (3, 2), 2)
    np.testing.assert_array_equal(max_out, torch_max.numpy().transpose(0, 2, 3, 1))
    np.testing.assert_allclose(avg_out, torch_avg.numpy().transpose(0, 2, 3, 1), rtol=1e-5, atol=1e-6)


def test_pooling_defaults_and_aliases():
    pool = layers.MaxPool2D()
    assert layers.MaxPool2D is layers.MaxPooling2D and layers.AvgPool2D is layers.AveragePooling2D
    assert pool.pool_size == (2, 2) and pool.strides == (2, 2) and pool.padding == "valid"
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    np.testing.assert_array_equal(pool(x).numpy()[0, :, :, 0], [[5, 7], [13, 15]])
    assert pool.compute_output_shape((None, 5, 5, 3)) == (None, 2, 2, 3)


def test_global_pooling():
    x = rand(2, 3, 4, 5)
    np.testing.assert_allclose(layers.GlobalAveragePooling2D()(x).numpy(), x.mean(axis=(1, 2)), rtol=1e-6)
    np.testing.assert_array_equal(layers.GlobalMaxPooling2D()(x).numpy(), x.max(axis=(1, 2)))
    assert layers.GlobalAveragePooling2D(keepdims=True)(x).shape == (2, 1, 1, 5)


# ---- Flatten, Reshape, Activation, ReLU -------------------------------------------------------


def test_flatten_and_reshape():
    x = rand(2, 3, 4, 5)
    np.testing.assert_array_equal(layers.Flatten()(x).numpy(), x.reshape(2, 60))
    np.testing.assert_array_equal(layers.Reshape((5, -1))(x).numpy(), x.reshape(2, 5, 12))
    assert layers.Reshape((5, -1)).compute_output_shape((None, 3, 4, 5)) == (None, 5, 12)
    assert layers.Flatten().compute_output_shape((None, 3, 4, 5)) == (None, 60)
    with pytest.raises(ValueError, match="cannot reshape"):
        layers.Reshape((7, 7))(x)
    with pytest.raises(ValueError, match="at most one -1"):
        layers.Reshape((-1, -1))


def test_activation_layers():
    x = np.array([[-2.0, -0.5, 0.5, 3.0, 8.0]], np.float32)
    np.testing.assert_array_equal(layers.Activation("relu")(x).numpy(), np.maximum(x, 0))
    np.testing.assert_array_equal(layers.ReLU()(x).numpy(), np.maximum(x, 0))
    np.testing.assert_allclose(layers.ReLU(max_value=6.0)(x).numpy(), np.clip(x, 0, 6))
    np.testing.assert_allclose(layers.ReLU(negative_slope=0.1)(x).numpy(), np.where(x > 0, x, 0.1 * x), rtol=1e-6)
    # Keras: threshold zeroes values below it; below it the slope applies to (x - threshold).
    expected = np.where(x > 1.0, x, 0.1 * (x - 1.0))
    np.testing.assert_allclose(layers.ReLU(negative_slope=0.1, threshold=1.0)(x).numpy(), expected, rtol=1e-6)
    with pytest.raises(ValueError, match="Unknown activation 'relux'"):
        layers.Activation("relux")


def test_softmax_activation_keeps_its_logits():
    logits = rand(3, 4)
    out = keras.activations.softmax(tf.constant(logits))
    assert out._keras_logits is not None
    np.testing.assert_array_equal(out._keras_logits.numpy(), logits)
    expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)
    dense = layers.Dense(4, activation="softmax")
    assert dense(logits)._keras_logits is not None


# ---- Dropout --------------------------------------------------------------------------------


def test_dropout_training_vs_inference():
    x = np.ones((200, 50), np.float32)
    dropout = layers.Dropout(0.4)
    np.testing.assert_array_equal(dropout(x).numpy(), x)  # inference is the default
    np.testing.assert_array_equal(dropout(x, training=False).numpy(), x)
    out = dropout(x, training=True).numpy()
    kept = out != 0
    np.testing.assert_allclose(out[kept], 1 / 0.6, rtol=1e-6)  # inverted dropout scaling
    assert abs(kept.mean() - 0.6) < 0.02
    assert abs(out.mean() - 1.0) < 0.04


def test_dropout_reproducible_with_seed_and_validates_rate():
    x = np.ones((10, 10), np.float32)
    tf.random.set_seed(5)
    first = layers.Dropout(0.5)(x, training=True).numpy()
    tf.random.set_seed(5)
    second = layers.Dropout(0.5)(x, training=True).numpy()
    np.testing.assert_array_equal(first, second)
    with pytest.raises(ValueError, match="rate=1.5"):
        layers.Dropout(1.5)


def test_dropout_noise_shape_drops_whole_channels():
    x = np.ones((4, 5, 5, 8), np.float32)
    out = layers.Dropout(0.5, noise_shape=(None, 1, 1, 8))(x, training=True).numpy()
    per_map = out.reshape(4, 25, 8)
    assert np.all(per_map.min(axis=1) == per_map.max(axis=1))  # each feature map all dropped or all kept


# ---- BatchNormalization --------------------------------------------------------------------------


def test_batch_normalization_defaults_and_weights():
    bn = layers.BatchNormalization()
    assert (bn.momentum, bn.epsilon) == (0.99, 1e-3)
    bn(rand(2, 3, 3, 4))
    assert [w.name for w in bn.weights] == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert [w.name for w in bn.trainable_weights] == ["gamma", "beta"]
    assert [w.name for w in bn.non_trainable_weights] == ["moving_mean", "moving_variance"]


def test_batch_normalization_math_by_hand():
    x = rand(6, 3, 3, 4) * 3 + 1
    bn = layers.BatchNormalization(gamma_initializer="random_normal", beta_initializer="random_normal")
    bn.build((None, 3, 3, 4))
    gamma, beta, _, _ = bn.get_weights()
    out = bn(x, training=True).numpy()
    mean, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))  # biased variance, as Keras
    np.testing.assert_allclose(out, (x - mean) / np.sqrt(var + 1e-3) * gamma + beta, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(bn.moving_mean.numpy(), 0.01 * mean, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(bn.moving_variance.numpy(), 0.99 + 0.01 * var, rtol=1e-5)
    inference = bn(x, training=False).numpy()
    moving_mean, moving_var = bn.moving_mean.numpy(), bn.moving_variance.numpy()
    np.testing.assert_allclose(
        inference, (x - moving_mean) / np.sqrt(moving_var + 1e-3) * gamma + beta, rtol=1e-4, atol=1e-5
    )
    np.testing.assert_array_equal(bn.moving_mean.numpy(), moving_mean)  # inference leaves the statistics alone


def test_batch_normalization_against_torch_training_and_gradients():
    x = rand(5, 4, 4, 3) * 2 - 0.5
    bn = layers.BatchNormalization()
    torch_bn = torch.nn.BatchNorm2d(3, eps=1e-3, momentum=0.01)  # torch's momentum is 1 - Keras's
    x_tf = tf.Variable(x)
    with tf.GradientTape() as tape:
        out = bn(x_tf, training=True)
        loss = tf.reduce_sum(out * np.arange(3, dtype=np.float32))
    grad_x = tape.gradient(loss, x_tf).numpy()
    x_torch = torch.from_numpy(x.transpose(0, 3, 1, 2)).requires_grad_()
    torch_out = torch_bn(x_torch)
    (torch_out * torch.arange(3.0).view(1, 3, 1, 1)).sum().backward()
    np.testing.assert_allclose(out.numpy(), torch_out.detach().numpy().transpose(0, 2, 3, 1), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(grad_x, x_torch.grad.numpy().transpose(0, 2, 3, 1), rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(bn.moving_mean.numpy(), torch_bn.running_mean.numpy(), rtol=1e-5, atol=1e-7)
    n = x.size // 3  # torch keeps the unbiased variance in running_var; Keras the biased one
    biased_running = 0.99 + (torch_bn.running_var.numpy() - 0.99) * (n - 1) / n
    np.testing.assert_allclose(bn.moving_variance.numpy(), biased_running, rtol=1e-5)
    torch_bn.eval()
    bn_eval = bn(x, training=False).numpy()
    torch_eval = torch_bn(torch.from_numpy(x.transpose(0, 3, 1, 2))).detach().numpy().transpose(0, 2, 3, 1)
    np.testing.assert_allclose(bn_eval, torch_eval, rtol=1e-3, atol=1e-4)  # differs only via the variance estimate


def test_frozen_batch_normalization_runs_in_inference_mode():
    bn = layers.BatchNormalization()
    x = rand(4, 2, 2, 3) + 5
    bn(x)
    bn.trainable = False
    out = bn(x, training=True).numpy()
    np.testing.assert_allclose(out, x / np.sqrt(1 + 1e-3), rtol=1e-5)
    np.testing.assert_array_equal(bn.moving_mean.numpy(), np.zeros(3, np.float32))
    assert bn.trainable_weights == [] and len(bn.non_trainable_weights) == 4


def test_batch_normalization_gradient_in_float64():
    bn = layers.BatchNormalization(dtype="float64", gamma_initializer="random_normal")
    x = np.random.default_rng(0).standard_normal((4, 2, 3))
    bn(x)
    tf.testing.check_gradients(lambda inputs: bn(inputs, training=True), [x])


# ---- the Layer base ------------------------------------------------------------------------------


def test_layer_called_on_numpy_list_and_float64_casts_to_float32():
    dense = layers.Dense(2)
    assert dense(np.ones((1, 3))).dtype == np.float32
    assert dense([[1.0, 2.0, 3.0]]).shape == (1, 2)
    assert dense(np.ones((1, 3), np.uint8)).dtype == np.float32


def test_weights_get_weights_set_weights():
    dense = layers.Dense(3)
    with pytest.raises(ValueError, match="not built"):
        dense.count_params()
    dense.build((None, 2))
    assert dense.built and dense.count_params() == 9
    kernel, bias = np.arange(6, dtype=np.float32).reshape(2, 3), np.array([1, 2, 3], np.float32)
    dense.set_weights([kernel, bias])
    got = dense.get_weights()
    np.testing.assert_array_equal(got[0], kernel)
    got[0][:] = 0  # get_weights returns copies
    np.testing.assert_array_equal(dense.kernel.numpy(), kernel)
    np.testing.assert_array_equal(dense(np.ones((1, 2), np.float32)).numpy(), [[4, 7, 10]])
    with pytest.raises(ValueError, match="expected a list of 2 arrays"):
        dense.set_weights([kernel])
    with pytest.raises(ValueError, match=r"has shape \(2, 3\).*\(3, 2\)"):
        dense.set_weights([kernel.T, bias])


def test_input_shape_validation():
    with pytest.raises(ValueError, match="input_shape"):
        layers.Dense(2, input_shape=(-3,))
    with pytest.raises(TypeError, match="input_shape"):
        layers.Dense(2, input_shape="28x28")
    dense = layers.Dense(2, input_shape=(4,))
    with pytest.raises(ValueError, match=r"declared with input_shape=\(4,\)"):
        dense(np.ones((1, 5), np.float32))
    with pytest.raises(TypeError, match="unrecognized keyword"):
        layers.Dense(2, kernel_regulariser="l2")


def test_custom_layer_with_add_weight_and_tracking():
    class Scale(keras.layers.Layer):
        def build(self, input_shape):
            self.factor = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="factor")

        def call(self, x):
            return x * self.factor

    class Block(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.inner = [layers.Dense(3), Scale()]

        def call(self, x):
            return self.inner[1](self.inner[0](x))

    block = Block()
    out = block(np.ones((2, 4), np.float32))
    assert out.shape == (2, 3)
    assert len(block.weights) == 3 and [w.name for w in block.weights] == ["kernel", "bias", "factor"]
    assert block.name == "block" and block.inner[1].name == "scale"
