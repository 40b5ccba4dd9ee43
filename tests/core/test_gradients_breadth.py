"""The gradients of the breadth ops (issue 20: the rest of tf.math, selection, sorting, scans,
contractions, norms, tf.image) against central finite differences in float64."""

import numpy as np
import pytest

import cnnlab as tf
from cnnlab.image import _resize_bilinear
from cnnlab.keras import ops
from cnnlab.testing import check_gradients

rng = np.random.default_rng(20260120)


def normal(*shape):
    return rng.standard_normal(shape)


def positive(*shape):
    return rng.uniform(0.5, 2.0, shape)


def inside(*shape):
    """Values in (-0.9, 0.9): the domain of asin, acos, atanh."""
    return rng.uniform(-0.9, 0.9, shape)


def distinct(*shape):
    """A shuffled grid of well separated values, so sorting has no ties."""
    values = np.arange(int(np.prod(shape)), dtype=np.float64) * 0.37 - 1.0
    return rng.permutation(values).reshape(shape)


ELEMENTWISE = [
    ("sin", tf.math.sin, [normal(2, 3)]),
    ("cos", tf.math.cos, [normal(2, 3)]),
    ("tan", tf.math.tan, [inside(5)]),
    ("asin", tf.math.asin, [inside(5)]),
    ("acos", tf.math.acos, [inside(5)]),
    ("atan", tf.math.atan, [normal(5)]),
    ("atan2", tf.math.atan2, [normal(2, 3), positive(3)]),
    ("sinh", tf.math.sinh, [normal(5)]),
    ("cosh", tf.math.cosh, [normal(5)]),
    ("asinh", tf.math.asinh, [normal(5)]),
    ("acosh", tf.math.acosh, [positive(5) + 1]),
    ("atanh", tf.math.atanh, [inside(5)]),
    ("expm1", tf.math.expm1, [normal(5)]),
    ("erf", tf.math.erf, [normal(6)]),
    ("erfc", tf.math.erfc, [normal(6)]),
    ("log_sigmoid", tf.math.log_sigmoid, [normal(6) * 3]),
    ("divide_no_nan", tf.math.divide_no_nan, [normal(2, 3), positive(3) * np.array([1, -1, 1])]),
    ("multiply_no_nan", tf.math.multiply_no_nan, [normal(2, 3), normal(3)]),
    ("reciprocal_no_nan", tf.math.reciprocal_no_nan, [positive(4)]),
    ("xlogy", tf.math.xlogy, [normal(2, 3), positive(2, 3)]),
    ("xlog1py", tf.math.xlog1py, [normal(3), positive(2, 3)]),
    ("xdivy", tf.math.xdivy, [normal(3), positive(2, 3)]),
    ("add_n", lambda a, b, c: tf.add_n([a, b, c]), [normal(2, 2), normal(2, 2), normal(2, 2)]),
    ("polyval", lambda a, b, x: tf.math.polyval([a, b, 3.0], x), [normal(3), normal(3), normal(3)]),
    ("scalar_mul", lambda x: tf.math.scalar_mul(2.5, x), [normal(3)]),
]

SCANS_AND_REDUCTIONS = [
    ("cumsum", lambda x: tf.math.cumsum(x, axis=1), [normal(2, 4)]),
    ("cumsum_exclusive_reverse", lambda x: tf.math.cumsum(x, axis=0, exclusive=True, reverse=True), [normal(4, 2)]),
    ("cumprod", lambda x: tf.math.cumprod(x, axis=1), [positive(2, 4)]),
    ("cumprod_exclusive_reverse", lambda x: tf.math.cumprod(x, axis=1, exclusive=True, reverse=True), [positive(2, 4)]),
    ("cumulative_logsumexp", lambda x: tf.math.cumulative_logsumexp(x, axis=1), [normal(2, 5)]),
    ("reduce_euclidean_norm", lambda x: tf.math.reduce_euclidean_norm(x, axis=1), [normal(3, 4)]),
    ("norm_vector", lambda x: tf.norm(x, axis=-1), [normal(3, 4)]),
    ("norm_ord_3", lambda x: tf.norm(x, ord=3, axis=0), [normal(3, 4)]),
    ("norm_matrix_fro", lambda x: tf.norm(x, axis=[0, 1]), [normal(3, 4)]),
    ("norm_matrix_1", lambda x: tf.norm(x, ord=1, axis=[0, 1]), [normal(3, 4)]),
    ("l2_normalize", lambda x: tf.math.l2_normalize(x, axis=1), [normal(3, 4)]),
    ("clip_by_norm", lambda x: tf.clip_by_norm(x, 1.5), [normal(3, 4)]),
    (
        "clip_by_global_norm",
        lambda a, b: tf.concat([tf.reshape(t, [-1]) for t in tf.clip_by_global_norm([a, b], 1.0)[0]], 0),
        [normal(3), normal(2, 2)],
    ),
]

SELECTION = [
    ("gather_batch_dims", lambda x: tf.gather(x, [[2, 0], [1, 1]], axis=1, batch_dims=1), [normal(2, 3, 2)]),
    ("gather_batch_dims_inner_axis", lambda x: tf.gather(x, [[2, 0], [1, 1]], axis=2, batch_dims=1), [normal(2, 2, 3)]),
    ("gather_nd", lambda x: tf.gather_nd(x, [[1, 0], [0, 2], [1, 0]]), [normal(2, 3, 2)]),
    ("gather_nd_batch_dims", lambda x: tf.gather_nd(x, [[[1]], [[0]]], batch_dims=1), [normal(2, 3, 2)]),
    ("boolean_mask", lambda x: tf.boolean_mask(x, [[True, False, True], [False, True, True]]), [normal(2, 3, 2)]),
    ("boolean_mask_axis", lambda x: tf.boolean_mask(x, [True, False, True], axis=1), [normal(2, 3)]),
    ("slice", lambda x: tf.slice(x, [1, 0], [1, -1]), [normal(3, 4)]),
    ("split", lambda x: tf.split(x, [1, -1], axis=1)[1] * tf.split(x, 2, axis=0)[0][:, :3], [normal(2, 4)]),
    ("reverse", lambda x: tf.reverse(x, [0, 1]), [normal(2, 3)]),
    ("roll", lambda x: tf.roll(x, [1, -2], [0, 1]), [normal(3, 4)]),
    ("repeat", lambda x: tf.repeat(x, [1, 3], axis=0), [normal(2, 3)]),
    ("pad_reflect", lambda x: tf.pad(x, [[1, 2], [2, 1]], "REFLECT"), [normal(3, 4)]),
    ("pad_symmetric", lambda x: tf.pad(x, [[2, 0], [1, 3]], "SYMMETRIC"), [normal(3, 4)]),
    ("scatter_nd", lambda u: tf.scatter_nd([[1], [3], [1]], u, [5, 2]), [normal(3, 2)]),
    (
        "tensor_scatter_nd_update",
        lambda t, u: tf.tensor_scatter_nd_update(t, [[0, 1], [2, 0]], u),
        [normal(3, 2), normal(2)],
    ),
    (
        "tensor_scatter_nd_add",
        lambda t, u: tf.tensor_scatter_nd_add(t, [[0], [2], [0]], u),
        [normal(3, 2), normal(3, 2)],
    ),
    ("tensor_scatter_nd_sub", lambda t, u: tf.tensor_scatter_nd_sub(t, [[1]], u), [normal(3, 2), normal(1, 2)]),
    ("linspace", lambda a, b: tf.linspace(a, b, 4, axis=1), [normal(2), normal(2)]),
    ("meshgrid", lambda a, b: tf.meshgrid(a, b)[0] * tf.meshgrid(a, b)[1], [normal(3), normal(2)]),
    ("sort", lambda x: tf.sort(x, axis=1) * np.arange(4.0), [distinct(3, 4)]),
    ("sort_descending", lambda x: tf.sort(x, axis=0, direction="DESCENDING"), [distinct(3, 4)]),
    ("top_k", lambda x: tf.math.top_k(x, k=2).values, [distinct(3, 5)]),
    ("take_along_axis_repeats", lambda x: ops.take_along_axis(x, np.array([[0, 0, 2]]), axis=1), [normal(2, 3)]),
]

CONTRACTIONS = [
    ("einsum_matmul", lambda a, b: tf.einsum("ij,jk->ik", a, b), [normal(2, 3), normal(3, 4)]),
    ("einsum_batch_outer", lambda a, b: tf.einsum("bi,bj->bij", a, b), [normal(2, 3), normal(2, 2)]),
    ("einsum_summed_alone", lambda a, b: tf.einsum("ij,k->j", a, b), [normal(2, 3), normal(4)]),
    ("einsum_three", lambda a, b, c: tf.einsum("ij,jk,k->i", a, b, c), [normal(2, 3), normal(3, 4), normal(4)]),
    ("einsum_implicit", lambda a, b: tf.einsum("ij,jk", a, b), [normal(2, 3), normal(3, 2)]),
    ("tensordot_int", lambda a, b: tf.tensordot(a, b, 2), [normal(2, 3, 4), normal(3, 4, 2)]),
    ("tensordot_pairs", lambda a, b: tf.tensordot(a, b, [[0, 2], [2, 0]]), [normal(2, 3, 4), normal(4, 5, 2)]),
]

IMAGE = [
    ("resize_bilinear_up", lambda x: _resize_bilinear(x, 5, 7), [normal(1, 3, 4, 2)]),
    ("resize_bilinear_down", lambda x: _resize_bilinear(x, 2, 3), [normal(2, 5, 6, 1)]),
    ("resize_nearest", lambda x: tf.image.resize(x, [5, 3], "nearest"), [normal(1, 3, 4, 2)]),
    (
        "flip_rot90",
        lambda x: tf.image.rot90(tf.image.flip_up_down(tf.image.flip_left_right(x)), 3),
        [normal(2, 3, 4, 1)],
    ),
    ("per_image_standardization", tf.image.per_image_standardization, [normal(2, 3, 3, 2)]),
    ("grayscale_to_rgb", tf.image.grayscale_to_rgb, [normal(2, 2, 1)]),
    ("adjust_contrast", lambda x: tf.image.adjust_contrast(x, 1.7), [normal(1, 3, 3, 2)]),
    ("resize_with_crop_or_pad", lambda x: tf.image.resize_with_crop_or_pad(x, 2, 6), [normal(1, 4, 3, 1)]),
]

KERAS_OPS = [
    ("gelu_tanh", ops.gelu, [normal(6)]),
    ("gelu_erf", lambda x: ops.gelu(x, approximate=False), [normal(6)]),
    ("logaddexp", ops.logaddexp, [normal(3), normal(2, 3)]),
    ("hard_silu", ops.hard_silu, [normal(6) * 2]),
    ("glu", ops.glu, [normal(2, 4)]),
    ("celu", lambda x: ops.celu(x, 0.7), [normal(6)]),
    ("cbrt", ops.cbrt, [positive(4)]),
    ("hypot", ops.hypot, [normal(3), normal(3)]),
    (
        "categorical_crossentropy",
        ops.categorical_crossentropy,
        [rng.uniform(0, 1, (2, 3)), rng.uniform(0.1, 1, (2, 3))],
    ),
    (
        "binary_crossentropy_logits",
        lambda t, o: ops.binary_crossentropy(t, o, from_logits=True),
        [rng.uniform(0, 1, (2, 3)), normal(2, 3)],
    ),
    ("trace", ops.trace, [normal(3, 3)]),
    ("diagonal", lambda x: ops.diagonal(x, 1), [normal(3, 4)]),
    ("matmul_vector", ops.matmul, [normal(3), normal(3, 2)]),
    ("average", lambda x: ops.average(x, axis=1, weights=np.array([1.0, 2.0, 3.0])), [normal(2, 3)]),
    ("slice_update", lambda x, u: ops.slice_update(x, [1, 1], u), [normal(3, 4), normal(2, 2)]),
]

ALL_CASES = ELEMENTWISE + SCANS_AND_REDUCTIONS + SELECTION + CONTRACTIONS + IMAGE + KERAS_OPS


@pytest.mark.parametrize("fn, inputs", [pytest.param(fn, inputs, id=name) for name, fn, inputs in ALL_CASES])
def test_gradient_matches_finite_differences(fn, inputs):
    check_gradients(fn, inputs)


SECOND_ORDER = [
    ("sin", tf.math.sin, [normal(3)]),
    ("erf", tf.math.erf, [normal(3)]),
    ("cumsum", lambda x: tf.math.cumsum(x) * x, [normal(4)]),
    ("einsum", lambda a, b: tf.einsum("ij,jk->ik", a, b) ** 2, [normal(2, 3), normal(3, 2)]),
    ("gather_nd", lambda x: tf.gather_nd(x, [[1], [0]]) ** 2, [normal(2, 3)]),
    ("resize", lambda x: _resize_bilinear(x, 3, 5) ** 2, [normal(1, 2, 3, 1)]),
]


@pytest.mark.parametrize("fn, inputs", [pytest.param(fn, inputs, id=name) for name, fn, inputs in SECOND_ORDER])
def test_second_order_gradient_matches_finite_differences(fn, inputs):
    def gradient(*xs):
        with tf.GradientTape() as tape:
            tape.watch(xs)
            y = tf.reduce_sum(fn(*xs))
        return tf.concat([tf.reshape(g, [-1]) for g in tape.gradient(y, list(xs))], axis=0)

    check_gradients(gradient, inputs)


def test_the_zero_cases_take_tfs_gradients():
    # Where x is 0, xlogy / xdivy / xlog1py are 0 and TF's gradient for x is 0 (not log(y));
    # where y is 0, divide_no_nan is 0 and so are both of its gradients.
    x, y = tf.constant([0.0, 2.0]), tf.constant([3.0, 0.0])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([x, y])
        products = [
            tf.math.xlogy(x, y + 1),
            tf.math.xdivy(x, y + 1),
            tf.math.xlog1py(x, y),
            tf.math.divide_no_nan(x, y),
        ]
    gx = [tape.gradient(p, x).numpy() for p in products]
    np.testing.assert_allclose(gx[0], [0.0, np.log(1.0)])
    np.testing.assert_allclose(gx[1], [0.0, 1.0])
    np.testing.assert_allclose(gx[2], [0.0, 0.0])
    np.testing.assert_allclose(gx[3], [1 / 3, 0.0])
    np.testing.assert_allclose(tape.gradient(products[3], y).numpy(), [0.0, 0.0])


def test_rgb_to_grayscale_gradient_is_the_luma_weights():
    # rgb_to_grayscale computes in float32 (as TF), so it is checked against its exact gradient instead.
    image = tf.constant(rng.uniform(0, 1, (2, 2, 3)).astype(np.float32))
    with tf.GradientTape() as tape:
        tape.watch(image)
        gray = tf.image.rgb_to_grayscale(image)
    np.testing.assert_allclose(
        tape.gradient(gray, image).numpy(), np.broadcast_to([0.2989, 0.5870, 0.1140], (2, 2, 3)), rtol=1e-6
    )
