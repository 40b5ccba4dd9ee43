"""tf.nn activations, softmax and losses (values, stability, PyTorch as oracle), dropout and tf.random."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import cnnlab as tf

rng = np.random.default_rng(7)

# ---- activations against PyTorch -------------------------------------------------------------

ACTIVATIONS = [
    (tf.nn.relu, torch.relu),
    (tf.nn.relu6, F.relu6),
    (lambda x: tf.nn.leaky_relu(x, alpha=0.3), lambda x: F.leaky_relu(x, 0.3)),
    (tf.nn.elu, F.elu),
    (tf.nn.selu, F.selu),
    (tf.nn.softplus, F.softplus),
    (tf.nn.softsign, F.softsign),
    (tf.nn.silu, F.silu),
    (tf.nn.sigmoid, torch.sigmoid),
    (tf.nn.tanh, torch.tanh),
    (tf.nn.softmax, lambda x: torch.softmax(x, -1)),
    (tf.nn.log_softmax, lambda x: torch.log_softmax(x, -1)),
]


@pytest.mark.parametrize("ours, theirs", ACTIVATIONS, ids=[f"activation{i}" for i in range(len(ACTIVATIONS))])
def test_activation_values_and_gradients_match_torch(ours, theirs):
    x = (rng.standard_normal((4, 6)) * 4).astype(np.float32)
    probe = rng.standard_normal((4, 6)).astype(np.float32)
    v = tf.Variable(x)
    with tf.GradientTape() as tape:
        y = ours(v)
        loss = tf.reduce_sum(y * probe)
    xt = torch.tensor(x, requires_grad=True)
    yt = theirs(xt)
    (yt * torch.tensor(probe)).sum().backward()
    assert y.dtype == tf.float32
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(tape.gradient(loss, v).numpy(), xt.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_softmax_sums_to_one_along_the_chosen_axis():
    x = rng.standard_normal((3, 4)).astype(np.float32)
    np.testing.assert_allclose(tf.reduce_sum(tf.nn.softmax(x, axis=0), axis=0).numpy(), np.ones(4), rtol=1e-6)
    np.testing.assert_allclose(tf.nn.softmax([1.0, 2.0, 3.0]).numpy(), np.exp([1, 2, 3]) / np.exp([1, 2, 3]).sum(), rtol=1e-6)


# ---- numerical stability with logits of +-1e4 --------------------------------------------------

HUGE = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4], [1e4, 1e4, -1e4]], np.float32)


def test_softmax_and_log_softmax_are_finite_for_huge_logits():
    v = tf.Variable(HUGE)
    with tf.GradientTape(persistent=True) as tape:
        p = tf.nn.softmax(v)
        log_p = tf.nn.log_softmax(v)
        y1, y2 = tf.reduce_sum(p * np.arange(3.0)), tf.reduce_sum(log_p * np.arange(3.0))
    np.testing.assert_allclose(p.numpy(), [[1, 0, 0], [0, 0, 1], [0.5, 0.5, 0]], atol=1e-7)
    np.testing.assert_allclose(log_p.numpy()[0], [0.0, -2e4, -1e4], rtol=1e-6)
    for grad in (tape.gradient(y1, v), tape.gradient(y2, v)):
        assert np.isfinite(grad.numpy()).all()


def test_cross_entropies_are_finite_for_huge_logits():
    labels = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.5, 0.5, 0.0]], np.float32)
    v = tf.Variable(HUGE)
    with tf.GradientTape(persistent=True) as tape:
        dense = tf.nn.softmax_cross_entropy_with_logits(labels, v)
        sparse = tf.nn.sparse_softmax_cross_entropy_with_logits([1, 2, 0], v)
        binary = tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=v)
    np.testing.assert_allclose(dense.numpy(), [2e4, 0.0, np.log(2)], rtol=1e-6, atol=1e-3)
    np.testing.assert_allclose(sparse.numpy(), [2e4, 0.0, np.log(2)], rtol=1e-6, atol=1e-3)
    np.testing.assert_allclose(binary.numpy()[0], [1e4, 1e4, np.log(2)], rtol=1e-6)
    for loss in (dense, sparse, binary):
        assert np.isfinite(loss.numpy()).all()
        assert np.isfinite(tape.gradient(loss, v).numpy()).all()
    np.testing.assert_allclose(tape.gradient(dense, v).numpy()[0], [1, -1, 0], atol=1e-7)  # softmax - labels


# ---- losses against PyTorch ------------------------------------------------------------------


def test_softmax_and_cross_entropies_of_zero_size_inputs_are_empty_as_in_tf():
    no_classes = np.zeros((2, 0), np.float32)
    for op in (tf.nn.softmax, tf.nn.log_softmax):
        for logits in (no_classes, np.zeros((0, 3), np.float32), np.zeros((0, 0), np.float32)):
            x = tf.Variable(logits)
            with tf.GradientTape() as tape:
                y = op(x)
            assert y.shape == logits.shape and y.dtype == tf.float32
            assert tape.gradient(y, x).shape == logits.shape
    # the loss of an example over no classes is a sum of nothing: 0
    loss = tf.nn.softmax_cross_entropy_with_logits(no_classes, no_classes)
    np.testing.assert_array_equal(loss.numpy(), [0, 0])
    assert tf.nn.softmax_cross_entropy_with_logits(np.zeros((0, 3)), np.zeros((0, 3))).shape == (0,)
    assert tf.nn.sparse_softmax_cross_entropy_with_logits(np.zeros(0, np.int32), np.zeros((0, 3))).shape == (0,)
    assert tf.nn.sigmoid_cross_entropy_with_logits(no_classes, no_classes).shape == (2, 0)
    # a batch of no images goes through the window ops
    images = np.zeros((0, 4, 4, 2), np.float32)
    assert tf.nn.max_pool2d(images, 2, 2, "VALID").shape == (0, 2, 2, 2)
    assert tf.nn.avg_pool2d(images, 2, 2, "SAME").shape == (0, 2, 2, 2)
    x = tf.Variable(images)
    w = tf.Variable(np.ones((3, 3, 2, 5), np.float32))
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(tf.nn.conv2d(x, w, 1, "SAME"))
    assert float(y) == 0
    dx, dw = tape.gradient(y, [x, w])
    assert dx.shape == (0, 4, 4, 2)
    np.testing.assert_array_equal(dw.numpy(), np.zeros((3, 3, 2, 5)))


def test_softmax_cross_entropy_matches_torch_with_both_gradients():
    logits = rng.standard_normal((5, 4)).astype(np.float32)
    labels = rng.dirichlet(np.ones(4), size=5).astype(np.float32)
    z, y = tf.Variable(logits), tf.Variable(labels)
    with tf.GradientTape() as tape:
        loss = tf.nn.softmax_cross_entropy_with_logits(y, z)
        total = tf.reduce_sum(loss * np.arange(1.0, 6.0))
    dy, dz = tape.gradient(total, [y, z])
    zt, yt = torch.tensor(logits, requires_grad=True), torch.tensor(labels, requires_grad=True)
    loss_t = F.cross_entropy(zt, yt, reduction="none")
    (loss_t * torch.arange(1.0, 6.0)).sum().backward()
    np.testing.assert_allclose(loss.numpy(), loss_t.detach().numpy(), rtol=1e-5)
    np.testing.assert_allclose(dz.numpy(), zt.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dy.numpy(), yt.grad.numpy(), rtol=1e-5, atol=1e-6)  # -log_softmax, as in TF
    # softmax - labels, scaled by the upstream gradient:
    probabilities = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    np.testing.assert_allclose(dz.numpy(), (probabilities - labels) * np.arange(1.0, 6.0)[:, None], rtol=1e-5, atol=1e-6)


def test_sparse_softmax_cross_entropy_matches_torch():
    logits = rng.standard_normal((6, 5)).astype(np.float32)
    labels = np.array([0, 4, 2, 2, 1, 3])
    z = tf.Variable(logits)
    with tf.GradientTape() as tape:
        loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels, z)
    zt = torch.tensor(logits, requires_grad=True)
    loss_t = F.cross_entropy(zt, torch.tensor(labels), reduction="none")
    loss_t.sum().backward()
    np.testing.assert_allclose(loss.numpy(), loss_t.detach().numpy(), rtol=1e-5)
    np.testing.assert_allclose(tape.gradient(loss, z).numpy(), zt.grad.numpy(), rtol=1e-5, atol=1e-6)
    dense = tf.nn.softmax_cross_entropy_with_logits(tf.one_hot(labels, 5), logits)
    np.testing.assert_allclose(loss.numpy(), dense.numpy(), rtol=1e-6)


def test_sigmoid_cross_entropy_matches_torch():
    logits = (rng.standard_normal((3, 4)) * 5).astype(np.float32)
    labels = rng.uniform(0, 1, (3, 4)).astype(np.float32)
    z = tf.Variable(logits)
    with tf.GradientTape() as tape:
        loss = tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=z)
    zt = torch.tensor(logits, requires_grad=True)
    loss_t = F.binary_cross_entropy_with_logits(zt, torch.tensor(labels), reduction="none")
    loss_t.sum().backward()
    np.testing.assert_allclose(loss.numpy(), loss_t.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(tape.gradient(loss, z).numpy(), zt.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_l2_loss_bias_add_moments_and_batch_normalization_values():
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    assert tf.nn.l2_loss(x).dtype == tf.float32
    np.testing.assert_allclose(float(tf.nn.l2_loss(x)), (x**2).sum() / 2, rtol=1e-6)
    b = np.arange(4, dtype=np.float32)
    np.testing.assert_array_equal(tf.nn.bias_add(x, b).numpy(), x + b)
    mean, variance = tf.nn.moments(x, axes=[0, 1])
    np.testing.assert_allclose(mean.numpy(), x.mean(axis=(0, 1)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(variance.numpy(), x.var(axis=(0, 1)), rtol=1e-5)
    normalized = tf.nn.batch_normalization(x, mean, variance, offset=b, scale=2.0, variance_epsilon=1e-3)
    np.testing.assert_allclose(normalized.numpy(), 2 * (x - x.mean((0, 1))) / np.sqrt(x.var((0, 1)) + 1e-3) + b, rtol=1e-4, atol=1e-5)


# ---- dropout -------------------------------------------------------------------------------------


def test_dropout_zeroes_about_rate_and_scales_the_rest():
    tf.random.set_seed(3)
    x = np.ones((200, 100), np.float32)
    y = tf.nn.dropout(x, rate=0.25).numpy()
    kept = y != 0
    assert abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_allclose(y[kept], 1 / 0.75, rtol=1e-6)
    assert y.dtype == np.float32


def test_dropout_gradient_uses_the_same_mask():
    x = tf.Variable(np.full((50, 4), 2.0, np.float32))
    with tf.GradientTape() as tape:
        y = tf.nn.dropout(x, 0.5)
    grad = tape.gradient(y, x).numpy()
    np.testing.assert_array_equal(grad, y.numpy() / 2.0)


def test_dropout_noise_shape_broadcasts_the_mask_and_rate_zero_is_identity():
    y = tf.nn.dropout(np.ones((6, 5), np.float32), 0.5, noise_shape=[6, 1]).numpy()
    assert all(len(set(row)) == 1 for row in y)  # one decision per row
    x = tf.constant([1.0, 2.0])
    assert tf.nn.dropout(x, 0.0) is x


def test_dropout_is_reproducible_after_set_seed():
    tf.random.set_seed(11)
    first = tf.nn.dropout(tf.ones([20]), 0.5, seed=4).numpy()
    second = tf.nn.dropout(tf.ones([20]), 0.5, seed=4).numpy()
    tf.random.set_seed(11)
    np.testing.assert_array_equal(tf.nn.dropout(tf.ones([20]), 0.5, seed=4).numpy(), first)
    assert not np.array_equal(first, second)  # repeated calls differ, as in TF 2


# ---- tf.random -----------------------------------------------------------------------------------


def test_set_seed_makes_draws_reproducible():
    tf.random.set_seed(42)
    a = [tf.random.uniform([5]).numpy(), tf.random.normal([5]).numpy(), tf.random.truncated_normal([5]).numpy()]
    tf.random.set_seed(42)
    b = [tf.random.uniform([5]).numpy(), tf.random.normal([5]).numpy(), tf.random.truncated_normal([5]).numpy()]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], tf.random.uniform([5]).numpy())


def test_random_distributions_have_the_asked_range_moments_and_dtype():
    tf.random.set_seed(0)
    u = tf.random.uniform([20000], minval=-2.0, maxval=3.0)
    assert u.dtype == tf.float32 and float(tf.reduce_min(u)) >= -2.0 and float(tf.reduce_max(u)) < 3.0
    assert abs(float(tf.reduce_mean(u)) - 0.5) < 0.05
    n = tf.random.normal([20000], mean=1.0, stddev=2.0, dtype=tf.float64)
    assert n.dtype == tf.float64
    assert abs(n.numpy().mean() - 1.0) < 0.05 and abs(n.numpy().std() - 2.0) < 0.05
    t = tf.random.truncated_normal([20000], stddev=0.5).numpy()
    assert np.abs(t).max() <= 1.0 and abs(t.std() - 0.5 * 0.8796) < 0.01  # std of a normal cut at 2 sigma
    i = tf.random.uniform([1000], 0, 10, dtype=tf.int32).numpy()
    assert i.dtype == np.int32 and i.min() == 0 and i.max() == 9
    s = tf.random.shuffle(tf.range(10)).numpy()
    assert sorted(s.tolist()) == list(range(10))


def test_random_bad_arguments():
    with pytest.raises(ValueError, match="random.uniform: maxval must be given for integer dtype int32"):
        tf.random.uniform([2], dtype=tf.int32)
    with pytest.raises(TypeError, match="random.normal: dtype must be a floating-point dtype; received dtype=int32"):
        tf.random.normal([2], dtype=tf.int32)
    with pytest.raises(ValueError, match="set_seed: seed must be a non-negative integer; received seed=-1"):
        tf.random.set_seed(-1)
    with pytest.raises(ValueError, match=r"random.uniform: shape must not contain negative sizes; received shape=\[-1\]"):
        tf.random.uniform([-1])
