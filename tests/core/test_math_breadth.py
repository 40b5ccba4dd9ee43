"""Values of the breadth ops (issue 20.2) against NumPy, scipy and PyTorch, and TF's documented results."""

import io

import numpy as np
import pytest
import scipy.special
import torch

import cnnlab as tf

rng = np.random.default_rng(7)


def values(*shape, low=-2.0, high=2.0, dtype=np.float32):
    return rng.uniform(low, high, shape).astype(dtype)


# ---- elementwise ------------------------------------------------------------------------------

UNARY = [
    ("sin", tf.math.sin, np.sin, (-3, 3)),
    ("cos", tf.math.cos, np.cos, (-3, 3)),
    ("tan", tf.math.tan, np.tan, (-1.2, 1.2)),
    ("asin", tf.math.asin, np.arcsin, (-1, 1)),
    ("acos", tf.math.acos, np.arccos, (-1, 1)),
    ("atan", tf.math.atan, np.arctan, (-5, 5)),
    ("sinh", tf.math.sinh, np.sinh, (-3, 3)),
    ("cosh", tf.math.cosh, np.cosh, (-3, 3)),
    ("asinh", tf.math.asinh, np.arcsinh, (-5, 5)),
    ("acosh", tf.math.acosh, np.arccosh, (1, 5)),
    ("atanh", tf.math.atanh, np.arctanh, (-0.99, 0.99)),
    ("expm1", tf.math.expm1, np.expm1, (-1e-3, 1e-3)),
    ("erf", tf.math.erf, scipy.special.erf, (-3, 3)),
    ("erfc", tf.math.erfc, scipy.special.erfc, (-3, 6)),
    ("log_sigmoid", tf.math.log_sigmoid, lambda x: -np.logaddexp(0, -x), (-50, 50)),
    ("rint", tf.math.rint, np.rint, (-5, 5)),
    ("softsign", tf.math.softsign, lambda x: x / (1 + np.abs(x)), (-5, 5)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op, reference, bounds", [pytest.param(o, r, b, id=n) for n, o, r, b in UNARY])
def test_unary_ops_match_numpy_and_scipy(op, reference, bounds, dtype):
    x = values(3, 4, low=bounds[0], high=bounds[1], dtype=dtype)
    result = op(x)
    assert result.dtype == dtype and result.shape == (3, 4)
    np.testing.assert_allclose(
        result.numpy(), reference(x.astype(np.float64)), rtol=2e-6 if dtype == np.float32 else 1e-12, atol=1e-7
    )


def test_trig_ops_refuse_integers_as_tf_does():
    for op in (tf.math.sin, tf.math.erf, tf.math.atan, tf.math.expm1):
        with pytest.raises(TypeError, match="expected a floating-point tensor for x; received dtype=int32"):
            op(tf.constant([1, 2]))


def test_rint_rounds_halves_to_even():
    np.testing.assert_array_equal(tf.math.rint([0.5, 1.5, 2.5, -0.5, -1.5]).numpy(), [0.0, 2.0, 2.0, -0.0, -2.0])


def test_log_sigmoid_against_pytorch():
    x = values(50, low=-80, high=80)
    np.testing.assert_allclose(
        tf.math.log_sigmoid(x).numpy(), torch.nn.functional.logsigmoid(torch.tensor(x)).numpy(), rtol=1e-6
    )


def test_atan2_takes_y_first():
    y, x = values(2, 3), values(3)
    np.testing.assert_allclose(tf.math.atan2(y, x).numpy(), np.arctan2(y, x), rtol=1e-6)


def test_xlogy_family_matches_scipy():
    x = np.array([0.0, 0.0, 1.5, -2.0], np.float64)
    y = np.array([0.0, 3.0, 2.0, 0.5], np.float64)
    np.testing.assert_allclose(tf.math.xlogy(x, y).numpy(), scipy.special.xlogy(x, y))
    np.testing.assert_allclose(tf.math.xlog1py(x, y).numpy(), scipy.special.xlog1py(x, y))
    # xdivy: 0 where x is 0, even for y = 0.
    np.testing.assert_array_equal(tf.math.xdivy(x, y).numpy(), [0.0, 0.0, 0.75, -4.0])


def test_no_nan_divisions_give_zero_where_tf_does():
    np.testing.assert_array_equal(
        tf.math.divide_no_nan([3.0, 0.0, np.inf], [0.0, 0.0, 2.0]).numpy(), [0.0, 0.0, np.inf]
    )
    np.testing.assert_array_equal(
        tf.math.multiply_no_nan([np.inf, np.nan, 2.0], [0.0, 0.0, 3.0]).numpy(), [0.0, 0.0, 6.0]
    )
    np.testing.assert_array_equal(tf.math.reciprocal_no_nan([0.0, 4.0]).numpy(), [0.0, 0.25])


def test_truncated_division_rounds_toward_zero():
    a, b = np.array([7, -7, 7, -7], np.int32), np.array([2, 2, -2, -2], np.int32)
    quotient = tf.math.truncatediv(a, b)
    assert quotient.dtype == np.int32
    np.testing.assert_array_equal(
        quotient.numpy(), torch.div(torch.tensor(a), torch.tensor(b), rounding_mode="trunc").numpy()
    )
    np.testing.assert_array_equal(tf.math.truncatemod(a, b).numpy(), np.fmod(a, b))
    np.testing.assert_array_equal(tf.truncatediv([7.5, -7.5], 2.0).numpy(), [3.0, -3.0])
    with pytest.raises(ValueError, match="integer division by zero"):
        tf.math.truncatediv([1], [0])


def test_add_n_polyval_scalar_mul():
    np.testing.assert_array_equal(tf.add_n([[1, 2], [3, 4], [5, 6]]).numpy(), [9, 12])
    x = values(5)
    np.testing.assert_allclose(tf.math.polyval([2.0, -1.0, 0.5], x).numpy(), np.polyval([2.0, -1.0, 0.5], x), rtol=1e-6)
    np.testing.assert_array_equal(tf.math.scalar_mul(3, tf.constant([1, 2])).numpy(), [3, 6])
    with pytest.raises(ValueError, match="add_n: all inputs must have the same shape"):
        tf.add_n([[1, 2], [1]])


def test_small_whole_tensor_tests():
    assert bool(tf.math.is_non_decreasing([1, 1, 2])) and not bool(tf.math.is_strictly_increasing([1, 1, 2]))
    assert float(tf.math.zero_fraction([0.0, 1.0, 0.0, 3.0])) == 0.5
    np.testing.assert_array_equal(tf.math.invert_permutation([3, 4, 0, 2, 1]).numpy(), [2, 4, 3, 0, 1])
    assert tf.math.nextafter(np.float32(1.0), np.float32(2.0)).numpy() == np.nextafter(np.float32(1), np.float32(2))


# ---- reductions and scans ---------------------------------------------------------------------


def test_count_nonzero_and_euclidean_norm():
    x = np.array([[0, 1, 2], [3, 0, 0]], np.int32)
    np.testing.assert_array_equal(tf.math.count_nonzero(x, axis=1).numpy(), [2, 1])
    assert tf.math.count_nonzero(x).dtype == np.int64 and int(tf.math.count_nonzero(x)) == 3
    assert tf.math.count_nonzero([True, False, True], dtype=tf.int32).dtype == np.int32
    y = values(3, 4)
    np.testing.assert_allclose(tf.math.reduce_euclidean_norm(y, axis=0).numpy(), np.linalg.norm(y, axis=0), rtol=1e-6)
    # TF's integer norm is truncated: sqrt(1 + 4 + 9) = 3.74 -> 3.
    assert tf.math.reduce_euclidean_norm(tf.constant([1, 2, 3])).numpy() == 3


@pytest.mark.parametrize("exclusive", [False, True])
@pytest.mark.parametrize("reverse", [False, True])
def test_cumsum_and_cumprod_flags(exclusive, reverse):
    x = values(3, 4, low=0.5, high=1.5, dtype=np.float64)
    cumsum = tf.math.cumsum(x, axis=1, exclusive=exclusive, reverse=reverse).numpy()
    cumprod = tf.math.cumprod(x, axis=1, exclusive=exclusive, reverse=reverse).numpy()
    for row in range(3):
        for j in range(4):
            taken = list(range(j, 4)) if reverse else list(range(0, j + 1))
            if exclusive:
                taken.remove(j)
            assert cumsum[row, j] == pytest.approx(x[row, taken].sum(), rel=1e-12)
            assert cumprod[row, j] == pytest.approx(np.prod(x[row, taken]), rel=1e-12)


def test_cumsum_on_integers_and_cumulative_logsumexp():
    assert tf.cumsum([1, 2, 3]).dtype == np.int32
    np.testing.assert_array_equal(tf.cumsum([1, 2, 3], exclusive=True, reverse=True).numpy(), [5, 3, 0])
    x = values(2, 6, low=-30, high=30, dtype=np.float64)
    np.testing.assert_allclose(
        tf.math.cumulative_logsumexp(x, axis=1).numpy(), np.logaddexp.accumulate(x, axis=1), rtol=1e-12
    )
    big = np.array([1000.0, 1000.0])  # no overflow
    np.testing.assert_allclose(tf.math.cumulative_logsumexp(big).numpy(), [1000.0, 1000.0 + np.log(2)])


# ---- sorting ---------------------------------------------------------------------------------------


def test_sort_and_argsort_match_numpy_and_keep_ties_in_order():
    x = values(4, 5)
    np.testing.assert_array_equal(tf.sort(x).numpy(), np.sort(x, axis=-1))
    np.testing.assert_array_equal(tf.sort(x, axis=0, direction="DESCENDING").numpy(), -np.sort(-x, axis=0))
    ties = [3, 1, 3, 2, 1]
    np.testing.assert_array_equal(tf.argsort(ties).numpy(), [1, 4, 3, 0, 2])
    np.testing.assert_array_equal(tf.argsort(ties, direction="DESCENDING").numpy(), [0, 2, 3, 1, 4])
    assert tf.argsort(ties).dtype == np.int32
    np.testing.assert_array_equal(tf.sort(np.array([3, 0, 255], np.uint8), direction="DESCENDING").numpy(), [255, 3, 0])
    with pytest.raises(ValueError, match="direction must be 'ASCENDING' or 'DESCENDING'"):
        tf.sort([1, 2], direction="UP")


def test_top_k_matches_pytorch_and_tf_ties():
    x = values(3, 6)
    result = tf.math.top_k(x, k=3)
    expected = torch.topk(torch.tensor(x), 3)
    np.testing.assert_array_equal(result.values.numpy(), expected.values.numpy())
    np.testing.assert_array_equal(result.indices.numpy(), expected.indices.numpy())
    values_, indices = tf.math.top_k([1.0, 5.0, 3.0, 5.0], k=2)  # a named tuple
    np.testing.assert_array_equal(indices.numpy(), [1, 3])  # the lower index first on ties
    with pytest.raises(ValueError, match=r"top_k: k must be an integer in \[0, 4\]"):
        tf.math.top_k([1.0, 2.0, 3.0, 4.0], k=5)


def test_in_top_k_counts_ties_as_in():
    predictions = [[0.1, 0.5, 0.5, 0.2], [0.9, 0.05, 0.03, 0.02], [np.nan, 0.2, 0.3, 0.4]]
    np.testing.assert_array_equal(tf.math.in_top_k([2, 1, 0], predictions, 1).numpy(), [True, False, False])
    np.testing.assert_array_equal(tf.math.in_top_k([1, 1, 3], predictions, 2).numpy(), [True, True, True])


def test_unique_keeps_first_appearance_order():
    y, idx = tf.unique([1, 1, 2, 4, 4, 4, 7, 8, 8])
    np.testing.assert_array_equal(y.numpy(), [1, 2, 4, 7, 8])
    np.testing.assert_array_equal(idx.numpy(), [0, 0, 1, 2, 2, 2, 3, 4, 4])
    y, idx, count = tf.unique_with_counts([4, 1, 4, 2])
    np.testing.assert_array_equal(y.numpy(), [4, 1, 2])
    np.testing.assert_array_equal(count.numpy(), [2, 1, 1])


def test_searchsorted_row_by_row():
    sequence = [[0.0, 3.0, 9.0, 9.0, 10.0], [1.0, 2.0, 3.0, 4.0, 5.0]]
    queries = [[2.0, 4.0, 9.0], [0.0, 2.0, 6.0]]
    for side in ("left", "right"):
        expected = np.stack([np.searchsorted(s, q, side=side) for s, q in zip(sequence, queries)])
        np.testing.assert_array_equal(tf.searchsorted(sequence, queries, side=side).numpy(), expected)


# ---- selection and shapes ----------------------------------------------------------------------------


def test_gather_with_batch_dims_matches_a_loop():
    params = values(2, 3, 4, 5)
    indices = np.array([[0, 2, 2], [1, 0, 3]])
    result = tf.gather(params, indices, axis=2, batch_dims=1)
    expected = np.stack([np.take(params[b], indices[b], axis=1) for b in range(2)])
    assert result.shape == (2, 3, 3, 5)
    np.testing.assert_array_equal(result.numpy(), expected)
    # batch_dims == axis: each batch entry picks along its own axis.
    result = tf.gather(params[:, 0], indices, axis=1, batch_dims=-1)
    np.testing.assert_array_equal(result.numpy(), np.stack([params[b, 0][indices[b]] for b in range(2)]))


def test_gather_nd_reads_index_tuples():
    params = np.arange(24).reshape(2, 3, 4)
    np.testing.assert_array_equal(tf.gather_nd(params, [[1, 2], [0, 0]]).numpy(), [params[1, 2], params[0, 0]])
    np.testing.assert_array_equal(tf.gather_nd(params, [[1, 2, 3]]).numpy(), [23])
    np.testing.assert_array_equal(tf.gather_nd(params, [[[1]], [[0]]]).numpy(), [[params[1]], [params[0]]])
    np.testing.assert_array_equal(tf.gather_nd(params, [[2], [0]], batch_dims=1).numpy(), [params[0, 2], params[1, 0]])
    with pytest.raises(ValueError, match=r"gather_nd: index \[2, 0\] is out of bounds for shape \(2, 3, 4\)"):
        tf.gather_nd(params, [[2, 0]])


def test_boolean_mask():
    x = np.arange(12).reshape(3, 4)
    np.testing.assert_array_equal(tf.boolean_mask(x, [True, False, True]).numpy(), x[[0, 2]])
    mask = x % 3 == 0
    np.testing.assert_array_equal(tf.boolean_mask(x, mask).numpy(), x[mask])
    np.testing.assert_array_equal(tf.boolean_mask(x, [False, True, True, False], axis=1).numpy(), x[:, 1:3])
    with pytest.raises(ValueError, match=r"boolean_mask: mask.shape=\(2,\) must equal"):
        tf.boolean_mask(x, [True, False])


def test_split_reverse_roll_repeat_slice():
    x = np.arange(24).reshape(4, 6)
    parts = tf.split(x, [1, -1, 2], axis=1)
    for part, expected in zip(parts, np.split(x, [1, 4], axis=1)):
        np.testing.assert_array_equal(part.numpy(), expected)
    assert [p.shape for p in tf.split(x, 2)] == [(2, 6), (2, 6)]
    with pytest.raises(ValueError, match="split: cannot cut axis 1 of size 6 into 4 equal parts"):
        tf.split(x, 4, axis=1)
    np.testing.assert_array_equal(tf.reverse(x, [1]).numpy(), x[:, ::-1])
    np.testing.assert_array_equal(tf.roll(x, [1, -2], [0, 1]).numpy(), np.roll(x, [1, -2], [0, 1]))
    np.testing.assert_array_equal(tf.repeat(x, 2, axis=0).numpy(), np.repeat(x, 2, axis=0))
    np.testing.assert_array_equal(tf.repeat([[1, 2], [3, 4]], 2).numpy(), [1, 1, 2, 2, 3, 3, 4, 4])
    with pytest.raises(
        ValueError, match=r"repeat: repeats must be a non-negative integer or one per element of axis 0 \(4\)"
    ):
        tf.repeat([[1, 2], [3, 4]], [1, 2])
    np.testing.assert_array_equal(tf.repeat([1, 2], [2, 3], axis=0).numpy(), [1, 1, 2, 2, 2])
    np.testing.assert_array_equal(tf.slice(x, [1, 2], [2, -1]).numpy(), x[1:3, 2:])


@pytest.mark.parametrize("mode", ["REFLECT", "SYMMETRIC", "constant"])
def test_pad_modes_match_numpy(mode):
    x = np.arange(12).reshape(3, 4)
    widths = [[2, 1], [1, 3]]
    expected = np.pad(x, widths, mode=mode.lower())
    np.testing.assert_array_equal(tf.pad(x, widths, mode).numpy(), expected)
    with pytest.raises(ValueError, match="pad: mode"):
        tf.pad(x, [[4, 0], [0, 0]], "REFLECT")


def test_scatter_ops_sum_repeats_and_replace():
    np.testing.assert_array_equal(
        tf.scatter_nd([[4], [3], [1], [7], [1]], [9, 10, 11, 12, 1], [8]).numpy(), [0, 12, 0, 10, 9, 0, 0, 12]
    )
    t = np.arange(6).reshape(3, 2)
    np.testing.assert_array_equal(
        tf.tensor_scatter_nd_update(t, [[0], [2]], [[7, 7], [9, 9]]).numpy(), [[7, 7], [2, 3], [9, 9]]
    )
    np.testing.assert_array_equal(
        tf.tensor_scatter_nd_add(t, [[0, 1], [0, 1]], [10, 20]).numpy(), [[0, 31], [2, 3], [4, 5]]
    )
    np.testing.assert_array_equal(tf.tensor_scatter_nd_sub(t, [[1, 0]], [2]).numpy(), [[0, 1], [0, 3], [4, 5]])
    with pytest.raises(ValueError, match="updates must have shape"):
        tf.scatter_nd([[1]], [1, 2], [4])


def test_linspace_meshgrid_sequence_mask_newaxis():
    np.testing.assert_allclose(tf.linspace(-10.0, 10.0, 201).numpy(), np.linspace(-10, 10, 201), rtol=1e-6, atol=1e-6)
    assert tf.linspace(0.0, 1.0, 7).numpy()[-1] == 1.0 and tf.linspace(0.0, 1.0, 1).numpy().tolist() == [0.0]
    np.testing.assert_allclose(tf.linspace([0.0, 5.0], [1.0, 10.0], 3, axis=-1).numpy(), [[0, 0.5, 1], [5, 7.5, 10]])
    with pytest.raises(TypeError, match="linspace: start and stop must be floating-point"):
        tf.linspace(tf.constant(0), tf.constant(1), 3)
    for indexing in ("xy", "ij"):
        for got, expected in zip(
            tf.meshgrid([1, 2, 3], [4, 5], indexing=indexing), np.meshgrid([1, 2, 3], [4, 5], indexing=indexing)
        ):
            np.testing.assert_array_equal(got.numpy(), expected)
    np.testing.assert_array_equal(
        tf.sequence_mask([1, 3], 4).numpy(), [[True, False, False, False], [True, True, True, False]]
    )
    assert tf.constant([1, 2, 3])[:, tf.newaxis].shape == (3, 1)


# ---- contractions and norms --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "equation, shapes",
    [("ij,jk->ik", [(2, 3), (3, 4)]), ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]), ("i,i->", [(5,), (5,)]),
     ("ij->ji", [(2, 3)]), ("ij,kj->ik", [(2, 3), (4, 3)]), ("abc,cd,d->ab", [(2, 3, 4), (4, 5), (5,)])],
)  # fmt: skip
def test_einsum_matches_numpy(equation, shapes):
    operands = [values(*s, dtype=np.float64) for s in shapes]
    np.testing.assert_allclose(tf.einsum(equation, *operands).numpy(), np.einsum(equation, *operands), rtol=1e-12)


def test_einsum_refuses_what_it_does_not_do():
    with pytest.raises(ValueError, match=r"ellipses \('...'\) are not supported"):
        tf.einsum("...ij,jk", np.ones((2, 3)), np.ones((3, 2)))
    with pytest.raises(ValueError, match="repeated within one operand"):
        tf.einsum("ii->", np.ones((2, 2)))


def test_tensordot_and_norms_match_numpy():
    a, b = values(2, 3, 4, dtype=np.float64), values(4, 3, 5, dtype=np.float64)
    np.testing.assert_allclose(
        tf.tensordot(a, b, [[1, 2], [1, 0]]).numpy(), np.tensordot(a, b, [[1, 2], [1, 0]]), rtol=1e-12
    )
    np.testing.assert_allclose(tf.tensordot(a, b[:, :, :1].reshape(4, 3), 2 - 1).shape, (2, 3, 3))
    m = values(3, 4, dtype=np.float64)
    np.testing.assert_allclose(tf.norm(m).numpy(), np.linalg.norm(m))
    np.testing.assert_allclose(tf.norm(m, ord=1, axis=1).numpy(), np.linalg.norm(m, ord=1, axis=1))
    np.testing.assert_allclose(tf.norm(m, ord=np.inf, axis=0).numpy(), np.linalg.norm(m, ord=np.inf, axis=0))
    np.testing.assert_allclose(tf.norm(m, ord=1, axis=[0, 1]).numpy(), np.linalg.norm(m, ord=1))
    np.testing.assert_allclose(tf.norm(m, ord=np.inf, axis=[0, 1]).numpy(), np.linalg.norm(m, ord=np.inf))
    np.testing.assert_allclose(tf.math.l2_normalize(m, axis=1).numpy(), m / np.linalg.norm(m, axis=1, keepdims=True))


def test_clipping_by_norms():
    np.testing.assert_allclose(tf.clip_by_norm([3.0, 4.0], 1.0).numpy(), [0.6, 0.8], rtol=1e-6)
    np.testing.assert_allclose(tf.clip_by_norm([0.3, 0.4], 1.0).numpy(), [0.3, 0.4], rtol=1e-6)
    a, b = np.array([3.0, 0.0]), np.array([[0.0, 4.0]])
    clipped, total = tf.clip_by_global_norm([a, None, b], 2.5)
    assert float(total) == pytest.approx(5.0) and clipped[1] is None
    np.testing.assert_allclose(clipped[0].numpy(), a / 2)
    np.testing.assert_allclose(clipped[2].numpy(), b / 2)


def test_bincount_and_confusion_matrix():
    np.testing.assert_array_equal(tf.math.bincount([1, 1, 3, 5]).numpy(), np.bincount([1, 1, 3, 5]))
    np.testing.assert_array_equal(tf.math.bincount([1, 1, 3], minlength=6, maxlength=3).numpy(), [0, 2, 0])
    np.testing.assert_allclose(tf.math.bincount([0, 2, 2], weights=[0.5, 1.0, 2.0]).numpy(), [0.5, 0.0, 3.0])
    np.testing.assert_array_equal(tf.math.bincount([[1, 1], [0, 2]], axis=-1).numpy(), [[0, 2, 0], [1, 0, 1]])
    np.testing.assert_array_equal(tf.math.bincount([1, 1, 2], binary_output=True).numpy(), [0, 1, 1])
    labels, predictions = [1, 2, 4, 1], [2, 2, 4, 1]
    expected = np.zeros((5, 5), np.int32)
    for t, p in zip(labels, predictions):
        expected[t, p] += 1
    np.testing.assert_array_equal(tf.math.confusion_matrix(labels, predictions).numpy(), expected)
    np.testing.assert_array_equal(
        tf.math.confusion_matrix([0, 1], [1, 1], num_classes=3).numpy(), [[0, 1, 0], [0, 1, 0], [0, 0, 0]]
    )


# ---- integer inputs where TF takes them ----------------------------------------------------------------


def test_relu_and_max_pool_take_integers():
    assert tf.nn.relu(tf.constant([-3, 0, 5])).numpy().tolist() == [0, 0, 5]
    assert tf.nn.relu(np.array([200, 1], np.uint8)).dtype == np.uint8
    assert tf.nn.relu6(tf.constant([-1, 3, 9])).numpy().tolist() == [0, 3, 6]
    images = rng.integers(-100, 100, (2, 5, 5, 3)).astype(np.int32)
    for padding in ("VALID", "SAME"):
        # SAME with 2x2 windows on 5x5 pads one cell at the bottom and the right, which never wins.
        padded = images
        if padding == "SAME":
            padded = np.pad(images, [[0, 0], [0, 1], [0, 1], [0, 0]], constant_values=-(2**31))
        expected = torch.nn.functional.max_pool2d(torch.tensor(padded).permute(0, 3, 1, 2), 2, 2)
        expected = expected.permute(0, 2, 3, 1).numpy()
        pooled = tf.nn.max_pool2d(images, 2, 2, padding)
        assert pooled.dtype == np.int32
        np.testing.assert_array_equal(pooled.numpy(), expected)
    np.testing.assert_array_equal(
        tf.nn.max_pool2d(images, 3, 1, "SAME").numpy(),
        tf.nn.max_pool2d(images.astype(np.float64), 3, 1, "SAME").numpy(),
    )
    with pytest.raises(TypeError, match="avg_pool2d: expected a floating-point tensor for input"):
        tf.nn.avg_pool2d(images, 2, 2, "VALID")
    with pytest.raises(TypeError, match=r"one_hot: indices must be integers .*Cast them first"):
        tf.one_hot([1.0, 2.0], 3)


def test_an_integer_tensor_has_no_gradient():
    x = tf.constant([-1, 2])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.nn.relu(x)
    assert tape.gradient(y, x) is None


# ---- tf.print -----------------------------------------------------------------------------------------


def test_print_formats_as_tf_print():
    stream = io.StringIO()
    tf.print(tf.range(10), output_stream=stream)
    tf.print("loss:", tf.constant(0.5), [1, tf.constant([True, False])], output_stream=stream)
    tf.print(tf.constant([[0.5, 1.0], [1 / 3, 2.0]]), output_stream=stream)
    tf.print(tf.reshape(tf.range(8), [2, 2, 2]), tf.range(7), summarize=-1, sep=" | ", output_stream=stream)
    assert stream.getvalue() == (
        "[0 1 2 ... 7 8 9]\n"
        "loss: 0.5 [1, [1 0]]\n"
        "[[0.5 1]\n [0.333333343 2]]\n"
        "[[[0 1]\n  [2 3]]\n\n [[4 5]\n  [6 7]]] | [0 1 2 3 4 5 6]\n"
    )


def test_print_writes_to_stderr_by_default(capsys):
    tf.print(tf.constant(3))
    assert capsys.readouterr().err == "3\n"
