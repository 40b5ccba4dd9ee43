"""conv2d, max_pool2d and avg_pool2d against two oracles: slow references written from
TF's definition (loops over output positions, their own padding arithmetic) and PyTorch
CPU padded explicitly with TF's rule."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import cnnlab as tf

# ---- slow references: TF's definition, one output position at a time ------------------------


def reference_geometry(size, kernel, stride, dilation, padding):
    """(out, pad_before) of one axis, straight from the formulas in DESIGN.md."""
    k_eff = (kernel - 1) * dilation + 1
    if padding == "VALID":
        return math.ceil((size - k_eff + 1) / stride), 0
    if padding == "SAME":
        out = math.ceil(size / stride)
        return out, max((out - 1) * stride + k_eff - size, 0) // 2
    before, after = padding
    return (size + before + after - k_eff) // stride + 1, before


def reference_conv2d(x, w, strides, dilations, paddings):
    """Cross-correlation with zero padding: y[n, i, j, o] = sum over taps and channels."""
    n, h, wd, _ = x.shape
    kh, kw, _, o = w.shape
    oh, top = reference_geometry(h, kh, strides[0], dilations[0], paddings[0])
    ow, left = reference_geometry(wd, kw, strides[1], dilations[1], paddings[1])
    y = np.zeros((n, oh, ow, o))
    for i in range(oh):
        for j in range(ow):
            for a in range(kh):
                for b in range(kw):
                    row = i * strides[0] - top + a * dilations[0]
                    col = j * strides[1] - left + b * dilations[1]
                    if 0 <= row < h and 0 <= col < wd:  # outside: a zero of the padding
                        y[:, i, j, :] += x[:, row, col, :] @ w[a, b]
    return y


def reference_pool(x, kernel, strides, paddings, reduce):
    """``reduce`` over the real (unpadded) cells of each window; ``paddings`` per axis."""
    n, h, wd, c = x.shape
    oh, top = reference_geometry(h, kernel[0], strides[0], 1, paddings[0])
    ow, left = reference_geometry(wd, kernel[1], strides[1], 1, paddings[1])
    y = np.zeros((n, oh, ow, c))
    for i in range(oh):
        for j in range(ow):
            rows = [r for r in range(i * strides[0] - top, i * strides[0] - top + kernel[0]) if 0 <= r < h]
            cols = [q for q in range(j * strides[1] - left, j * strides[1] - left + kernel[1]) if 0 <= q < wd]
            window = x[:, rows][:, :, cols]
            y[:, i, j, :] = reduce(window.reshape(n, -1, c), axis=1)
    return y


def random_conv_case(rng):
    """A valid random configuration: (x, w, strides, dilations, padding argument, per-axis paddings)."""
    while True:
        h, w = rng.integers(2, 9, size=2)
        kh, kw = rng.integers(1, 5, size=2)
        strides = rng.integers(1, 4, size=2).tolist()
        dilations = rng.integers(1, 3, size=2).tolist()
        choice = rng.integers(3)
        if choice == 2:
            pads = [rng.integers(0, 3, size=2).tolist() for _ in range(2)]
            padding, per_axis = [[0, 0], pads[0], pads[1], [0, 0]], pads
        else:
            padding = ["SAME", "VALID"][choice]
            per_axis = [padding, padding]
        sizes = [h + (sum(per_axis[0]) if choice == 2 else 0), w + (sum(per_axis[1]) if choice == 2 else 0)]
        if padding == "SAME" or all((k - 1) * d + 1 <= s for k, d, s in zip((kh, kw), dilations, sizes)):
            break
    c, o, n = rng.integers(1, 4), rng.integers(1, 4), rng.integers(1, 3)
    x = rng.standard_normal((n, h, w, c))
    filters = rng.standard_normal((kh, kw, c, o))
    return x, filters, strides, dilations, padding, per_axis


# ---- PyTorch, padded with TF's rule ----------------------------------------------------------


def torch_pads(h, w, kernel, strides, dilations, per_axis):
    """F.pad's (left, right, top, bottom) for TF's padding of an (h, w) image."""
    pads = []
    for size, k, s, d, padding in zip((h, w), kernel, strides, dilations, per_axis):
        if isinstance(padding, list):
            pads.append(tuple(padding))
        elif padding == "VALID":
            pads.append((0, 0))
        else:
            out = -(-size // s)
            total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
            pads.append((total // 2, total - total // 2))
    (top, bottom), (left, right) = pads
    return (left, right, top, bottom)


def nchw(array):
    return torch.tensor(np.ascontiguousarray(array.transpose(0, 3, 1, 2)), requires_grad=True)


def nhwc(tensor):
    return tensor.detach().numpy().transpose(0, 2, 3, 1)


def torch_conv2d(x, w, strides, dilations, per_axis):
    """(y, dL/dx, dL/dw) for L = sum(y * probe), all NHWC / HWIO."""
    xt = nchw(x)
    wt = torch.tensor(np.ascontiguousarray(w.transpose(3, 2, 0, 1)), requires_grad=True)
    pads = torch_pads(x.shape[1], x.shape[2], w.shape[:2], strides, dilations, per_axis)
    y = F.conv2d(F.pad(xt, pads), wt, stride=strides, dilation=dilations)
    return xt, wt, y


def cnnlab_with_gradients(fn, inputs, probe):
    """(y, gradients) of L = sum(fn(*inputs) * probe) from a GradientTape."""
    variables = [tf.Variable(v) for v in inputs]
    with tf.GradientTape() as tape:
        y = fn(*variables)
        loss = tf.reduce_sum(y * probe)
    return y.numpy(), [g.numpy() for g in tape.gradient(loss, variables)]


# ---- the 'Done when' example -------------------------------------------------------------------


def test_same_stride2_conv_on_a_5x5x3_image_matches_tf_exactly():
    rng = np.random.default_rng(0)
    # Small integers: every product and sum is exact in float64, so equality is exact.
    image = rng.integers(-3, 4, size=(1, 5, 5, 3)).astype(np.float64)
    filters = rng.integers(-2, 3, size=(3, 3, 3, 2)).astype(np.float64)
    y = tf.nn.conv2d(image, filters, strides=2, padding="SAME")
    assert y.shape == (1, 3, 3, 2) and y.dtype == tf.float64
    np.testing.assert_array_equal(y.numpy(), reference_conv2d(image, filters, (2, 2), (1, 1), ("SAME", "SAME")))
    _, _, yt = torch_conv2d(image, filters, [2, 2], [1, 1], ["SAME", "SAME"])
    np.testing.assert_array_equal(y.numpy(), nhwc(yt))


def test_same_padding_puts_the_extra_cell_bottom_right():
    # 4x4 ones, 2x2 ones kernel, stride 1: TF pads 0 before and 1 after on each axis.
    y = tf.nn.conv2d(tf.ones([1, 4, 4, 1]), tf.ones([2, 2, 1, 1]), strides=1, padding="SAME")
    expected = np.array([[4, 4, 4, 2], [4, 4, 4, 2], [4, 4, 4, 2], [2, 2, 2, 1]], np.float32)
    np.testing.assert_array_equal(y.numpy()[0, :, :, 0], expected)


def test_avg_pool_same_divides_by_real_cells_and_max_pool_ignores_padding():
    x = -np.ones((1, 3, 3, 1), np.float32)
    np.testing.assert_array_equal(tf.nn.avg_pool2d(x, 2, 2, "SAME").numpy(), -np.ones((1, 2, 2, 1)))
    np.testing.assert_array_equal(tf.nn.max_pool2d(x, 3, 1, "SAME").numpy(), -np.ones((1, 3, 3, 1)))


# ---- random cases against both oracles ---------------------------------------------------------


@pytest.mark.parametrize("seed", range(25))
def test_conv2d_matches_reference_and_torch(seed):
    rng = np.random.default_rng(seed)
    x, w, strides, dilations, padding, per_axis = random_conv_case(rng)
    y = tf.nn.conv2d(x, w, strides=strides, padding=padding, dilations=dilations).numpy()
    np.testing.assert_allclose(y, reference_conv2d(x, w, strides, dilations, per_axis), rtol=1e-12, atol=1e-12)

    # PyTorch in float32: values and both gradients.
    x32, w32 = x.astype(np.float32), w.astype(np.float32)
    probe = rng.standard_normal(y.shape).astype(np.float32)
    y_ours, (dx, dw) = cnnlab_with_gradients(
        lambda x, w: tf.nn.conv2d(x, w, strides=strides, padding=padding, dilations=dilations), [x32, w32], probe
    )
    xt, wt, yt = torch_conv2d(x32, w32, strides, dilations, per_axis)
    (yt * torch.tensor(probe.transpose(0, 3, 1, 2))).sum().backward()
    np.testing.assert_allclose(y_ours, nhwc(yt), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(dx, nhwc(xt.grad), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(dw, wt.grad.numpy().transpose(2, 3, 1, 0), rtol=1e-4, atol=1e-5)


def random_pool_case(rng):
    while True:
        h, w = rng.integers(1, 9, size=2)
        kernel = rng.integers(1, 4, size=2).tolist()
        strides = rng.integers(1, 4, size=2).tolist()
        padding = ["SAME", "VALID"][rng.integers(2)]
        if padding == "SAME" or (kernel[0] <= h and kernel[1] <= w):
            break
    return rng.standard_normal((rng.integers(1, 3), h, w, rng.integers(1, 4))), kernel, strides, padding


def torch_pools(x, kernel, strides, padding):
    """TF-padded max and avg pool in torch: -inf padding for max; avg divides by a pooled mask of real cells."""
    xt = nchw(x)
    pads = torch_pads(x.shape[1], x.shape[2], kernel, strides, (1, 1), [padding, padding])
    max_out = F.max_pool2d(F.pad(xt, pads, value=-math.inf), kernel, strides)
    real = F.pad(torch.ones_like(xt), pads)
    avg_out = F.avg_pool2d(F.pad(xt, pads), kernel, strides) / F.avg_pool2d(real, kernel, strides)
    return xt, max_out, avg_out


@pytest.mark.parametrize("seed", range(25))
def test_pools_match_reference_and_torch(seed):
    rng = np.random.default_rng(100 + seed)
    x, kernel, strides, padding = random_pool_case(rng)
    y_max = tf.nn.max_pool2d(x, kernel, strides, padding).numpy()
    y_avg = tf.nn.avg_pool2d(x, kernel, strides, padding).numpy()
    np.testing.assert_array_equal(y_max, reference_pool(x, kernel, strides, [padding, padding], np.max))
    np.testing.assert_allclose(y_avg, reference_pool(x, kernel, strides, [padding, padding], np.mean), rtol=1e-12, atol=1e-12)

    x32 = x.astype(np.float32)
    probe = rng.standard_normal(y_max.shape).astype(np.float32)
    for pool, index in ((tf.nn.max_pool2d, 1), (tf.nn.avg_pool2d, 2)):
        y_ours, (dx,) = cnnlab_with_gradients(lambda x: pool(x, kernel, strides, padding), [x32], probe)
        torch_side = torch_pools(x32, kernel, strides, padding)
        (torch_side[index] * torch.tensor(probe.transpose(0, 3, 1, 2))).sum().backward()
        np.testing.assert_allclose(y_ours, nhwc(torch_side[index]), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(dx, nhwc(torch_side[0].grad), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kernel, strides, padding", [(2, 2, "VALID"), (3, 1, "SAME"), (3, 2, "SAME"), (2, 1, "VALID")])
def test_max_pool_ties_send_the_gradient_to_the_first_maximum_like_torch(kernel, strides, padding):
    rng = np.random.default_rng(kernel * 10 + strides)
    x = rng.integers(0, 2, size=(2, 6, 5, 2)).astype(np.float32)  # many ties
    probe = rng.standard_normal(tf.nn.max_pool2d(x, kernel, strides, padding).shape).astype(np.float32)
    _, (dx,) = cnnlab_with_gradients(lambda x: tf.nn.max_pool2d(x, kernel, strides, padding), [x], probe)
    xt, max_out, _ = torch_pools(x, [kernel, kernel], [strides, strides], padding)
    (max_out * torch.tensor(probe.transpose(0, 3, 1, 2))).sum().backward()
    np.testing.assert_allclose(dx, nhwc(xt.grad), rtol=1e-6, atol=1e-6)


def test_max_pool_explicit_padding_matches_reference():
    x = np.random.default_rng(5).standard_normal((1, 5, 6, 2))
    y = tf.nn.max_pool2d(x, [3, 2], [2, 2], [[0, 0], [1, 2], [0, 1], [0, 0]]).numpy()
    np.testing.assert_array_equal(y, reference_pool(x, (3, 2), (2, 2), [(1, 2), (0, 1)], np.max))


def test_tf_argument_forms_agree():
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((1, 6, 6, 2)).astype(np.float32), rng.standard_normal((3, 3, 2, 2)).astype(np.float32)
    expected = tf.nn.conv2d(x, w, strides=[2, 2], padding="SAME", dilations=[1, 1]).numpy()
    for strides in (2, [2], [1, 2, 2, 1]):
        np.testing.assert_array_equal(tf.nn.conv2d(x, w, strides=strides, padding="same", dilations=1).numpy(), expected)
    pooled = tf.nn.max_pool2d(x, 2, 2, "VALID").numpy()
    np.testing.assert_array_equal(tf.nn.max_pool(x, [1, 2, 2, 1], [1, 2, 2, 1], "VALID").numpy(), pooled)
    np.testing.assert_array_equal(tf.nn.avg_pool(x, [1, 2, 2, 1], [1, 2, 2, 1], "VALID").numpy(), tf.nn.avg_pool2d(x, [2], [2], "VALID").numpy())


def test_conv2d_backprop_ops_and_transpose_are_the_gradients():
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((2, 5, 5, 3)), rng.standard_normal((3, 2, 3, 4))
    probe = rng.standard_normal((2, 3, 3, 4))
    _, (dx, dw) = cnnlab_with_gradients(lambda x, w: tf.nn.conv2d(x, w, 2, "SAME"), [x, w], probe)
    np.testing.assert_allclose(tf.nn.conv2d_backprop_input([2, 5, 5, 3], w, probe, 2, "SAME").numpy(), dx, rtol=1e-12)
    np.testing.assert_allclose(tf.nn.conv2d_backprop_filter(x, [3, 2, 3, 4], probe, 2, "SAME").numpy(), dw, rtol=1e-12)
    np.testing.assert_allclose(tf.nn.conv2d_transpose(probe, w, [2, 5, 5, 3], 2, "SAME").numpy(), dx, rtol=1e-12)


def test_first_layer_images_get_no_gradient_work():
    # Inputs nobody watches are skipped by conv2d's gradient (is_watched); the filters still get theirs.
    images = tf.constant(np.ones((1, 4, 4, 1), np.float32))
    w = tf.Variable(np.ones((2, 2, 1, 1), np.float32))
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(tf.nn.conv2d(images, w, 1, "VALID"))
    dimages, dw = tape.gradient(y, [images, w])
    assert dimages is None
    np.testing.assert_array_equal(dw.numpy(), np.full((2, 2, 1, 1), 9.0))


def test_a_small_cnn_stays_float32_end_to_end():
    rng = np.random.default_rng(4)
    images = rng.standard_normal((4, 8, 8, 1)).astype(np.float32)
    w1 = tf.Variable(rng.standard_normal((3, 3, 1, 4)).astype(np.float32))
    b1 = tf.Variable(np.zeros(4, np.float32))
    w2 = tf.Variable(rng.standard_normal((16, 3)).astype(np.float32))
    with tf.GradientTape() as tape:
        h = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(images, w1, 1, "SAME"), b1))
        h = tf.nn.dropout(tf.nn.avg_pool2d(tf.nn.max_pool2d(h, 2, 2, "VALID"), 2, 2, "SAME"), 0.5)
        logits = tf.matmul(tf.reshape(h, [4, -1]), w2)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits([0, 1, 2, 0], logits)) + 1e-3 * tf.nn.l2_loss(w2)
    grads = tape.gradient(loss, [w1, b1, w2])
    assert all(t.dtype == tf.float32 for t in (h, logits, loss, *grads))
