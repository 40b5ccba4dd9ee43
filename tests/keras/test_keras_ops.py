"""``keras.ops`` and ``keras.random`` against Keras 3 itself (on its PyTorch backend): values and dtypes."""

import keras
import numpy as np
import pytest

import cnnlab as tf
from cnnlab.keras import ops

rng = np.random.default_rng(3)

F32 = rng.uniform(-2, 2, (3, 4)).astype(np.float32)
F64 = rng.uniform(-2, 2, (3, 4))
POS = rng.uniform(0.5, 2, (3, 4)).astype(np.float32)
UNIT = rng.uniform(-0.9, 0.9, (3, 4)).astype(np.float32)
I32 = rng.integers(-5, 6, (3, 4)).astype(np.int32)
I64 = rng.integers(1, 6, (3, 4))
U8 = rng.integers(0, 255, (3, 4)).astype(np.uint8)
B = rng.random((3, 4)) > 0.5
PROBS = rng.uniform(0.05, 1, (3, 4)).astype(np.float32)
PROBS /= PROBS.sum(-1, keepdims=True)
LABELS = np.array([0, 3, 1])
IMAGES = rng.uniform(0, 1, (2, 5, 6, 3)).astype(np.float32)

# Where Keras's rules narrow a 64-bit dtype to 32 bits (its result_type works as JAX's with x64 off),
# cnnlab keeps NumPy's width: the values are compared, not the dtypes.
NARROWED_BY_KERAS = {
    "maximum-float64-float32-",
    "maximum-int32-int64-",
    "minimum-float64-float32-",
    "minimum-int32-int64-",
}

# (name, args, kwargs): called the same way on cnnlab's ops and on Keras's.
CASES = [
    *[
        (name, (x,), {})
        for name in ("exp", "sqrt", "log", "sin", "cos", "tanh", "sigmoid", "log1p", "expm1")
        for x in (POS, I32 * 0 + 2, F64)
    ],
    *[(name, (x,), {}) for name in ("abs", "negative", "square", "sign", "relu", "relu6") for x in (F32, I32, F64)],
    *[
        (name, (F32,), {})
        for name in (
            "tan",
            "arctan",
            "sinh",
            "cosh",
            "arcsinh",
            "softplus",
            "softsign",
            "silu",
            "log_sigmoid",
            "selu",
            "elu",
            "erf",
            "gelu",
            "hard_sigmoid",
            "hard_silu",
            "floor",
            "ceil",
            "trunc",
            "exp2",
            "celu",
            "hard_tanh",
            "soft_shrink",
            "hard_shrink",
            "tanh_shrink",
            "rsqrt",
            "reciprocal",
            "log2",
            "log10",
            "deg2rad",
            "rad2deg",
            "cbrt",
        )
    ],
    *[(name, (UNIT,), {}) for name in ("arcsin", "arccos", "arctanh")],
    ("arccosh", (POS + 1,), {}),
    ("erfc", (F32,), {}),
    ("leaky_relu", (F32,), {"negative_slope": 0.3}),
    ("gelu", (F32,), {"approximate": False}),
    ("round", (F32,), {"decimals": 1}),
    ("clip", (F32, -0.5, 0.5), {}),
    ("clip", (I32, -2, 3), {}),
    *[
        (name, (a, b), {})
        for name in ("add", "subtract", "multiply", "maximum", "minimum", "equal", "greater", "less_equal", "not_equal")
        for a, b in ((F32, F32[0]), (I32, 2), (I32, 1.5), (F64, F32), (I32, I64), (U8, I32))
    ],
    *[(name, (a, b), {}) for name in ("divide", "true_divide") for a, b in ((F32, POS), (I32, 2), (I64, I64))],
    ("power", (POS, 2), {}),
    ("power", (I32, 2), {}),
    ("power", (I64, 0.5), {}),
    ("floor_divide", (I32, 3), {}),
    ("mod", (F32, 0.7), {}),
    ("arctan2", (F32, POS), {}),
    ("hypot", (F32, POS), {}),
    ("logaddexp", (F32, POS), {}),
    ("divide_no_nan", (F32, np.where(B, POS, 0)), {}),
    ("logical_and", (B, ~B[0]), {}),
    ("logical_or", (B, I32), {}),
    ("logical_xor", (B, B[::-1]), {}),
    ("logical_not", (I32,), {}),
    ("where", (B, F32, 0.5), {}),
    ("where", (B, I32, 1.5), {}),
    ("isclose", (F32, F32 + 1e-7), {}),
    ("matmul", (F32, F32.T), {}),
    ("matmul", (F32[0], F32.T), {}),
    ("dot", (F32, F32.T), {}),
    ("tensordot", (F32, F32, [[0, 1], [0, 1]]), {}),
    ("outer", (F32[0], F32[1]), {}),
    ("inner", (F32, F32), {}),
    ("vdot", (F32[0], F32[1]), {}),
    ("einsum", ("ij,kj->ik", F32, F32), {}),
    ("trace", (F32,), {}),
    ("diagonal", (F32,), {"offset": 1}),
    ("diag", (F32[0],), {"k": -1}),
    *[
        (name, (x,), kw)
        for name in ("sum", "prod", "max", "min", "mean", "std", "var", "argmax", "argmin")
        for x in (F32, I32)
        for kw in ({}, {"axis": 1}, {"axis": 0, "keepdims": True})
    ],
    ("sum", (B,), {}),
    ("sum", (U8,), {}),
    ("prod", (I32[:, :2] % 3 + 1,), {"axis": 0}),
    ("max", (U8,), {}),
    ("mean", (I64,), {}),
    ("any", (I32,), {"axis": 1}),
    ("all", (B,), {}),
    ("logsumexp", (F32,), {"axis": -1}),
    ("count_nonzero", (I32,), {"axis": 0}),
    ("median", (F32,), {"axis": 1}),
    ("quantile", (F32, 0.3), {"axis": 0}),
    ("average", (F32,), {"axis": 1, "weights": POS[0]}),
    ("cumsum", (I32,), {"axis": 1}),
    ("cumsum", (F32,), {}),
    ("cumprod", (POS,), {"axis": 0}),
    ("norm", (F32,), {}),
    ("norm", (F32,), {"axis": 1}),
    ("norm", (F32,), {"ord": 1, "axis": 0}),
    ("norm", (F32,), {"ord": "fro"}),
    ("normalize", (F32,), {"axis": -1}),
    ("reshape", (F32, (2, -1)), {}),
    ("transpose", (F32,), {}),
    ("expand_dims", (F32, 1), {}),
    ("squeeze", (F32[:1],), {}),
    ("moveaxis", (IMAGES, -1, 1), {}),
    ("swapaxes", (IMAGES, 0, 2), {}),
    ("ravel", (F32,), {}),
    ("stack", ([F32, F32 * 2], 1), {}),
    ("concatenate", ([F32, F32[:1]],), {}),
    ("concatenate", ([I32, F32],), {"axis": 1}),
    ("append", (F32, F32), {"axis": 0}),
    ("hstack", ([F32, F32],), {}),
    ("vstack", ([F32[0], F32[1]],), {}),
    ("tile", (F32[0], (2, 2)), {}),
    ("repeat", (F32, 2), {"axis": 1}),
    ("broadcast_to", (F32[0], (2, 4)), {}),
    ("flip", (F32,), {"axis": 1}),
    ("roll", (F32, 2), {}),
    ("roll", (F32, -1), {"axis": 1}),
    ("rot90", (F32,), {"k": 3}),
    ("pad", (F32, ((1, 0), (2, 2))), {}),
    ("take", (F32, np.array([2, 1])), {}),
    ("take", (F32, np.array([[0, 2]])), {"axis": 1}),
    ("take_along_axis", (F32, np.argsort(F32, axis=1)), {"axis": 1}),
    ("sort", (F32,), {}),
    ("argsort", (F32,), {"axis": 0}),
    ("one_hot", (LABELS, 4), {}),
    ("one_hot", (LABELS.astype(np.float32), 4), {}),  # keras.io's training guide one-hots float32 labels
    ("multi_hot", (np.array([[0, 2], [1, 1]]), 3), {}),
    ("multi_hot", (np.array([[0.0, 2.0], [1.0, 1.0]]), 3), {}),
    ("softmax", (F32,), {}),
    ("softmax", (F32,), {"axis": 0}),
    ("log_softmax", (F32,), {}),
    ("categorical_crossentropy", (np.eye(4, dtype=np.float32)[[0, 3, 1]], PROBS), {}),
    ("categorical_crossentropy", (np.eye(4, dtype=np.float32)[[0, 3, 1]], F32), {"from_logits": True}),
    ("sparse_categorical_crossentropy", (LABELS, PROBS), {}),
    ("sparse_categorical_crossentropy", (LABELS, F32), {"from_logits": True}),
    ("binary_crossentropy", ((F32 > 0).astype(np.float32), np.clip(np.abs(UNIT), 0.01, 0.99)), {}),
    ("binary_crossentropy", ((F32 > 0).astype(np.float32), F32), {"from_logits": True}),
    ("zeros", ((2, 3),), {}),
    ("ones", ((2,),), {"dtype": "int32"}),
    ("full", ((2, 2), 3.5), {}),
    ("full_like", (I32, 7), {}),
    ("zeros_like", (F64,), {}),
    ("ones_like", (I32,), {}),
    ("arange", (5,), {}),
    ("arange", (1.0, 2.0, 0.25), {}),
    ("linspace", (0, 1, 5), {}),
    ("eye", (3,), {"k": 1}),
    ("identity", (2,), {}),
    ("tri", (3,), {}),
    ("tril", (F32,), {}),
    ("triu", (F32,), {"k": 1}),
    ("convert_to_tensor", ([1, 2],), {}),
    ("convert_to_tensor", ([1.0, 2],), {}),
    ("convert_to_tensor", (F64,), {}),
    ("cast", (F32, "int32"), {}),
    ("nan_to_num", (np.array([np.nan, np.inf, -1.0], np.float32),), {}),
    ("isnan", (np.array([np.nan, 1.0]),), {}),
    ("slice", (F32, (1, 0), (2, 3)), {}),
    ("slice_update", (F32, (1, 1), np.ones((2, 2), np.float32)), {}),
    ("scatter", (np.array([[0], [2], [0]]), np.array([1.0, 2.0, 3.0], np.float32), (4,)), {}),
    ("scatter_update", (F32, np.array([[0, 0], [2, 3]]), np.array([9.0, 8.0], np.float32)), {}),
    ("searchsorted", (np.array([1.0, 2.0, 3.0]), np.array([2.5, 0.0])), {}),
    ("digitize", (F32[0], np.array([-1.0, 0.0, 1.0])), {}),
    ("moments", (F32, [0]), {}),
    ("glu", (F32,), {}),
]


def _case_id(case):
    name, args, kwargs = case
    dtypes = "-".join(np.asarray(a).dtype.name for a in args if isinstance(a, np.ndarray))
    return f"{name}-{dtypes}-{'-'.join(kwargs)}"


def _numpy(value):
    if isinstance(value, (tuple, list)):
        return [_numpy(v) for v in value]
    if isinstance(value, tf.Tensor):
        return np.asarray(value.numpy())
    if hasattr(value, "detach"):  # a torch tensor from Keras's backend
        return value.detach().cpu().numpy()
    return np.asarray(keras.ops.convert_to_numpy(value))


@pytest.mark.parametrize("name, args, kwargs", CASES, ids=[_case_id(c) for c in CASES])
def test_ops_match_keras(name, args, kwargs):
    ours = _numpy(getattr(ops, name)(*args, **kwargs))
    theirs = _numpy(getattr(keras.ops, name)(*args, **kwargs))
    for a, b in zip(ours if isinstance(ours, list) else [ours], theirs if isinstance(theirs, list) else [theirs]):
        assert a.shape == b.shape, f"{name}: shape {a.shape} vs Keras's {b.shape}"
        if _case_id((name, args, kwargs)) in NARROWED_BY_KERAS:
            assert a.dtype == np.result_type(*[np.asarray(v).dtype for v in args]), a.dtype
            a = a.astype(b.dtype)
        assert a.dtype == b.dtype, f"{name}: dtype {a.dtype} vs Keras's {b.dtype}"
        if a.dtype.kind in "biu":
            np.testing.assert_array_equal(a, b)
        else:
            np.testing.assert_allclose(
                a, b, rtol=2e-6 if a.dtype == np.float32 else 1e-12, atol=1e-6 if a.dtype == np.float32 else 1e-12
            )


def test_numpy_semantics_where_kerass_torch_backend_differs():
    # Negative indices in a flattened take, and reflect padding of every axis, as NumPy (and Keras's other backends).
    np.testing.assert_array_equal(_numpy(ops.take(F32, np.array([2, -1]))), np.take(F32, [2, -1]))
    np.testing.assert_array_equal(_numpy(ops.pad(F32, 1, mode="reflect")), np.pad(F32, 1, mode="reflect"))
    np.testing.assert_array_equal(
        _numpy(ops.pad(F32, ((1, 2), (0, 3)), mode="symmetric")), np.pad(F32, ((1, 2), (0, 3)), mode="symmetric")
    )
    with tf.GradientTape() as tape:
        x = tf.constant(F32)
        tape.watch(x)
        y = ops.sum(ops.stop_gradient(x) * x)
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), F32)


def test_split_unstack_top_k_and_nonzero_match_keras():
    tensor = keras.ops.convert_to_tensor(F32)
    for ours, theirs in [
        (ops.split(F32, 2, axis=1), keras.ops.split(F32, 2, axis=1)),
        (ops.split(F32, [1, 3], axis=1), keras.ops.split(F32, [1, 3], axis=1)),
        (ops.array_split(F32, 3, axis=1), keras.ops.array_split(F32, 3, axis=1)),
        (ops.unstack(F32, axis=1), keras.ops.unstack(tensor, axis=1)),
        (ops.top_k(F32, 2), keras.ops.top_k(F32, 2)),
        (ops.nonzero(I32), keras.ops.nonzero(keras.ops.convert_to_tensor(I32))),
        (ops.meshgrid(F32[0], F32[1, :2], indexing="ij"), keras.ops.meshgrid(F32[0], F32[1, :2], indexing="ij")),
    ]:
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(_numpy(a), _numpy(b), rtol=1e-6)


def test_shape_ndim_size_dtype():
    assert ops.shape(F32) == keras.ops.shape(F32) == (3, 4)
    assert ops.ndim(F32) == 2 and ops.size(F32) == 12
    assert ops.dtype(F32) == keras.ops.dtype(F32) == "float32"
    assert ops.is_tensor(ops.ones(2)) and not ops.is_tensor(F32)
    assert isinstance(ops.convert_to_numpy(ops.ones(2)), np.ndarray)


def test_control_flow():
    assert int(ops.cond(ops.convert_to_tensor(True), lambda: 1, lambda: 2)) == 1
    assert ops.fori_loop(0, 5, lambda i, total: total + i, 0) == 10
    assert ops.while_loop(lambda i, s: i < 4, lambda i, s: (i + 1, s * 2), (0, 1)) == (4, 16)
    assert ops.while_loop(lambda x: x < 10, lambda x: x + 3, 1, maximum_iterations=2) == 7
    carry, ys = ops.scan(
        lambda c, x: (c + x, c * x), ops.convert_to_tensor(0.0), ops.convert_to_tensor([1.0, 2.0, 3.0])
    )
    keras_carry, keras_ys = keras.ops.scan(
        lambda c, x: (c + x, c * x), keras.ops.convert_to_tensor(0.0), keras.ops.convert_to_tensor([1.0, 2.0, 3.0])
    )
    assert float(carry) == float(keras_carry) and _numpy(ys).tolist() == _numpy(keras_ys).tolist()
    np.testing.assert_allclose(_numpy(ops.map(lambda v: v * 2, F32)), F32 * 2)
    np.testing.assert_allclose(_numpy(ops.vectorized_map(lambda v: ops.sum(v), F32)), F32.sum(1), rtol=1e-6)
    assert int(ops.switch(1, [lambda x: x + 1, lambda x: x * 10], 3)) == 30


def test_conv_and_pooling_match_keras():
    kernel = rng.standard_normal((3, 3, 3, 2)).astype(np.float32)
    for padding in ("valid", "same"):
        for strides in (1, 2):
            np.testing.assert_allclose(
                _numpy(ops.conv(IMAGES, kernel, strides, padding)),
                _numpy(keras.ops.conv(IMAGES, kernel, strides, padding)),
                rtol=1e-5,
                atol=1e-6,
            )
        np.testing.assert_allclose(
            _numpy(ops.max_pool(IMAGES, 2, padding=padding)), _numpy(keras.ops.max_pool(IMAGES, 2, padding=padding))
        )
    np.testing.assert_allclose(
        _numpy(ops.average_pool(IMAGES, 3, 2, "valid")),
        _numpy(keras.ops.average_pool(IMAGES, 3, 2, "valid")),
        rtol=1e-6,
    )
    # 'same' average pooling leaves the padded cells out of each mean, as TF does (Keras's PyTorch backend counts them).
    np.testing.assert_allclose(
        _numpy(ops.average_pool(IMAGES, 3, 2, "same")), tf.nn.avg_pool2d(IMAGES, 3, 2, "SAME").numpy()
    )
    mean, variance = np.array([0.1, 0.2, 0.3], np.float32), np.array([1.0, 2.0, 0.5], np.float32)
    np.testing.assert_allclose(
        _numpy(ops.batch_normalization(IMAGES, mean, variance, axis=-1, offset=mean, scale=variance)),
        _numpy(keras.ops.batch_normalization(IMAGES, mean, variance, axis=-1, offset=mean, scale=variance)),
        rtol=1e-5,
    )


@pytest.mark.parametrize("size", [(3, 4), (10, 9), (5, 6)])
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_image_ops_match_keras(size, interpolation):
    ours = _numpy(ops.image.resize(IMAGES, size, interpolation=interpolation))
    theirs = _numpy(keras.ops.image.resize(IMAGES, size, interpolation=interpolation))
    assert ours.dtype == theirs.dtype
    np.testing.assert_allclose(ours, theirs, atol=2e-6)
    np.testing.assert_allclose(
        _numpy(ops.image.resize(IMAGES, size, crop_to_aspect_ratio=True)),
        _numpy(keras.ops.image.resize(IMAGES, size, crop_to_aspect_ratio=True)),
        atol=2e-6,
    )


def test_image_padding_cropping_and_grayscale_match_keras():
    np.testing.assert_allclose(
        _numpy(ops.image.rgb_to_grayscale(IMAGES)), _numpy(keras.ops.image.rgb_to_grayscale(IMAGES)), atol=1e-6
    )
    np.testing.assert_array_equal(
        _numpy(ops.image.pad_images(IMAGES, 1, 2, target_height=8, target_width=9)),
        _numpy(keras.ops.image.pad_images(IMAGES, 1, 2, target_height=8, target_width=9)),
    )
    np.testing.assert_array_equal(
        _numpy(ops.image.crop_images(IMAGES, 1, 2, target_height=3, target_width=3)),
        _numpy(keras.ops.image.crop_images(IMAGES, 1, 2, target_height=3, target_width=3)),
    )


def test_ops_are_differentiable_on_the_tape():
    w = tf.Variable([[1.0, -2.0], [0.5, 3.0]])
    with tf.GradientTape() as tape:
        loss = ops.mean(ops.square(ops.matmul(ops.convert_to_tensor([[1.0, 2.0]]), w)))
    # y = [1, 2] @ w = [2, 4]; loss = mean(y ** 2); d loss / d w[i, j] = x[i] * y[j].
    np.testing.assert_allclose(tape.gradient(loss, w).numpy(), [[2.0, 4.0], [4.0, 8.0]])


# ---- keras.random ---------------------------------------------------------------------------------


def test_random_seeds_behave_as_keras_3():
    a = keras_random_draws(seed=7)
    assert a == keras_random_draws(seed=7)  # an int seed repeats
    generator = tf.keras.random.SeedGenerator(42)
    first, second = (tf.keras.random.normal((3,), seed=generator).numpy().tolist() for _ in range(2))
    assert first != second  # a SeedGenerator moves on
    again = tf.keras.random.SeedGenerator(42)
    assert [tf.keras.random.normal((3,), seed=again).numpy().tolist() for _ in range(2)] == [first, second]
    tf.keras.utils.set_random_seed(3)
    unseeded = tf.keras.random.uniform((3,)).numpy().tolist()
    tf.keras.utils.set_random_seed(3)
    assert tf.keras.random.uniform((3,)).numpy().tolist() == unseeded


def keras_random_draws(seed):
    return [
        tf.keras.random.normal((4,), seed=seed).numpy().tolist(),
        tf.keras.random.uniform((2,), 1, 3, seed=seed).numpy().tolist(),
    ]


def test_random_distributions():
    normal = tf.keras.random.normal((20000,), mean=2.0, stddev=0.5, seed=1).numpy()
    assert normal.dtype == np.float32 and abs(normal.mean() - 2) < 0.02 and abs(normal.std() - 0.5) < 0.02
    uniform = tf.keras.random.uniform((20000,), -1, 3, seed=1).numpy()
    assert uniform.min() >= -1 and uniform.max() < 3 and abs(uniform.mean() - 1) < 0.05
    integers = tf.keras.random.randint((1000,), 2, 5, seed=1).numpy()
    assert integers.dtype == np.int32 and set(integers.tolist()) == {2, 3, 4}
    truncated = tf.keras.random.truncated_normal((5000,), stddev=2.0, seed=1).numpy()
    assert np.abs(truncated).max() <= 4
    dropped = tf.keras.random.dropout(np.ones(10000, np.float32), 0.25, seed=1).numpy()
    assert set(np.unique(dropped).tolist()) == {0.0, np.float32(1 / 0.75)} and abs((dropped == 0).mean() - 0.25) < 0.02
    shuffled = tf.keras.random.shuffle(np.arange(10), seed=1).numpy()
    assert sorted(shuffled.tolist()) == list(range(10))
    samples = tf.keras.random.categorical(np.log([[0.1, 0.9], [1.0, 1e-9]]), 2000, seed=1).numpy()
    assert abs(samples[0].mean() - 0.9) < 0.03 and samples[1].sum() == 0
