"""Mirrors TensorFlow's guide "Introduction to Tensors" (tensorflow.org/guide/tensor):

The guide's numeric parts: tensors of rank 0 to 4, conversion to NumPy, arithmetic,
reductions, shapes, indexing, reshaping, dtypes and broadcasting, with the printed
forms the guide shows.  Left out: ragged, string and sparse tensors (not in cnnlab).
"""

import numpy as np

import cnnlab as tf

# ---- basics ---------------------------------------------------------------------------------
rank_0_tensor = tf.constant(4)
print(rank_0_tensor)
assert str(rank_0_tensor) == "tf.Tensor(4, shape=(), dtype=int32)"

rank_1_tensor = tf.constant([2.0, 3.0, 4.0])
print(rank_1_tensor)
assert str(rank_1_tensor) == "tf.Tensor([2. 3. 4.], shape=(3,), dtype=float32)"

rank_2_tensor = tf.constant([[1, 2], [3, 4], [5, 6]], dtype=tf.float16)
print(rank_2_tensor)
assert str(rank_2_tensor) == "tf.Tensor(\n[[1. 2.]\n [3. 4.]\n [5. 6.]], shape=(3, 2), dtype=float16)"

rank_3_tensor = tf.constant([
    [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]],
    [[10, 11, 12, 13, 14], [15, 16, 17, 18, 19]],
    [[20, 21, 22, 23, 24], [25, 26, 27, 28, 29]],
])  # fmt: skip
print(rank_3_tensor)
assert rank_3_tensor.shape == (3, 2, 5) and rank_3_tensor.dtype == tf.int32

# Convert to NumPy, two ways.
assert isinstance(np.array(rank_2_tensor), np.ndarray)
np.testing.assert_array_equal(rank_2_tensor.numpy(), [[1, 2], [3, 4], [5, 6]])

# ---- math -----------------------------------------------------------------------------------
a = tf.constant([[1, 2], [3, 4]])
b = tf.constant([[1, 1], [1, 1]])  # could have also said `tf.ones([2,2], dtype=tf.int32)`
print(tf.add(a, b), "\n")
print(tf.multiply(a, b), "\n")
print(tf.matmul(a, b), "\n")
assert str(tf.add(a, b)) == "tf.Tensor(\n[[2 3]\n [4 5]], shape=(2, 2), dtype=int32)"
assert str(tf.matmul(a, b)) == "tf.Tensor(\n[[3 3]\n [7 7]], shape=(2, 2), dtype=int32)"
for operator_result, function_result in [(a + b, tf.add(a, b)), (a * b, tf.multiply(a, b)), (a @ b, tf.matmul(a, b))]:
    np.testing.assert_array_equal(operator_result.numpy(), function_result.numpy())

c = tf.constant([[4.0, 5.0], [10.0, 1.0]])
print(tf.reduce_max(c))
print(tf.math.argmax(c))
print(tf.nn.softmax(c))
assert str(tf.reduce_max(c)) == "tf.Tensor(10.0, shape=(), dtype=float32)"
assert str(tf.math.argmax(c)) == "tf.Tensor([1 0], shape=(2,), dtype=int64)"
np.testing.assert_allclose(
    tf.nn.softmax(c).numpy(), [[2.6894143e-01, 7.3105854e-01], [9.9987662e-01, 1.2339458e-04]], rtol=1e-6
)

# Ops convert what is not a tensor.
assert str(tf.convert_to_tensor([1, 2, 3])) == "tf.Tensor([1 2 3], shape=(3,), dtype=int32)"
assert str(tf.reduce_max([1, 2, 3])) == "tf.Tensor(3, shape=(), dtype=int32)"
assert str(tf.reduce_max(np.array([1, 2, 3]))) == "tf.Tensor(3, shape=(), dtype=int64)"

# ---- shapes ---------------------------------------------------------------------------------
rank_4_tensor = tf.zeros([3, 2, 4, 5])
print("Type of every element:", rank_4_tensor.dtype)
print("Number of axes:", rank_4_tensor.ndim)
print("Shape of tensor:", rank_4_tensor.shape)
print("Elements along axis 0 of tensor:", rank_4_tensor.shape[0])
print("Elements along the last axis of tensor:", rank_4_tensor.shape[-1])
print("Total number of elements (3*2*4*5): ", tf.size(rank_4_tensor).numpy())
assert rank_4_tensor.dtype == tf.float32 and rank_4_tensor.ndim == 4
assert rank_4_tensor.shape == (3, 2, 4, 5) and rank_4_tensor.shape[0] == 3 and rank_4_tensor.shape[-1] == 5
assert tf.size(rank_4_tensor).numpy() == 120
assert str(tf.rank(rank_4_tensor)) == "tf.Tensor(4, shape=(), dtype=int32)"
assert str(tf.shape(rank_4_tensor)) == "tf.Tensor([3 2 4 5], shape=(4,), dtype=int32)"

# ---- indexing -------------------------------------------------------------------------------
rank_1_tensor = tf.constant([0, 1, 1, 2, 3, 5, 8, 13, 21, 34])
print(rank_1_tensor.numpy())
print("First:", rank_1_tensor[0].numpy())
print("Second:", rank_1_tensor[1].numpy())
print("Last:", rank_1_tensor[-1].numpy())
assert (rank_1_tensor[0].numpy(), rank_1_tensor[1].numpy(), rank_1_tensor[-1].numpy()) == (0, 1, 34)
print("Everything:", rank_1_tensor[:].numpy())
print("Before 4:", rank_1_tensor[:4].numpy())
print("From 4 to the end:", rank_1_tensor[4:].numpy())
print("From 2, before 7:", rank_1_tensor[2:7].numpy())
print("Every other item:", rank_1_tensor[::2].numpy())
print("Reversed:", rank_1_tensor[::-1].numpy())
assert rank_1_tensor[:4].numpy().tolist() == [0, 1, 1, 2]
assert rank_1_tensor[4:].numpy().tolist() == [3, 5, 8, 13, 21, 34]
assert rank_1_tensor[2:7].numpy().tolist() == [1, 2, 3, 5, 8]
assert rank_1_tensor[::2].numpy().tolist() == [0, 1, 3, 8, 21]
assert rank_1_tensor[::-1].numpy().tolist() == [34, 21, 13, 8, 5, 3, 2, 1, 1, 0]

print(rank_2_tensor[1, 1].numpy())
assert rank_2_tensor[1, 1].numpy() == 4.0
print("Second row:", rank_2_tensor[1, :].numpy())
print("Second column:", rank_2_tensor[:, 1].numpy())
print("Last row:", rank_2_tensor[-1, :].numpy())
print("First item in last column:", rank_2_tensor[0, -1].numpy())
print("Skip the first row:")
print(rank_2_tensor[1:, :].numpy(), "\n")
assert rank_2_tensor[1, :].numpy().tolist() == [3.0, 4.0] and rank_2_tensor[:, 1].numpy().tolist() == [2.0, 4.0, 6.0]
assert rank_2_tensor[0, -1].numpy() == 2.0 and rank_2_tensor[1:, :].numpy().tolist() == [[3.0, 4.0], [5.0, 6.0]]
print(rank_3_tensor[:, :, 4])
assert str(rank_3_tensor[:, :, 4]) == "tf.Tensor(\n[[ 4  9]\n [14 19]\n [24 29]], shape=(3, 2), dtype=int32)"

# ---- reshaping ------------------------------------------------------------------------------
x = tf.constant([[1], [2], [3]])
print(x.shape)
print(x.shape.as_list())
assert x.shape.as_list() == [3, 1]
reshaped = tf.reshape(x, [1, 3])
print(x.shape)
print(reshaped.shape)
assert reshaped.shape == (1, 3)
print(tf.reshape(rank_3_tensor, [-1]))
assert tf.reshape(rank_3_tensor, [-1]).numpy().tolist() == list(range(30))
print(tf.reshape(rank_3_tensor, [3 * 2, 5]), "\n")
print(tf.reshape(rank_3_tensor, [3, -1]))
assert tf.reshape(rank_3_tensor, [3 * 2, 5]).shape == (6, 5) and tf.reshape(rank_3_tensor, [3, -1]).shape == (3, 10)
try:
    tf.reshape(rank_3_tensor, [7, -1])
except Exception as error:  # the guide catches InvalidArgumentError; cnnlab raises ValueError
    print(f"{type(error).__name__}: {error}")
else:
    raise AssertionError("a reshape to [7, -1] must fail")

# ---- dtypes ---------------------------------------------------------------------------------
the_f64_tensor = tf.constant([2.2, 3.3, 4.4], dtype=tf.float64)
the_f16_tensor = tf.cast(the_f64_tensor, dtype=tf.float16)
# Now, cast to an uint8 and lose the decimal precision
the_u8_tensor = tf.cast(the_f16_tensor, dtype=tf.uint8)
print(the_u8_tensor)
assert str(the_u8_tensor) == "tf.Tensor([2 3 4], shape=(3,), dtype=uint8)"

# ---- broadcasting ---------------------------------------------------------------------------
x = tf.constant([1, 2, 3])
y = tf.constant(2)
z = tf.constant([2, 2, 2])
# All of these are the same computation
print(tf.multiply(x, 2))
print(x * y)
print(x * z)
for product in (tf.multiply(x, 2), x * y, x * z):
    assert str(product) == "tf.Tensor([2 4 6], shape=(3,), dtype=int32)"

# These are the same computations
x = tf.reshape(x, [3, 1])
y = tf.range(1, 5)
print(x, "\n")
print(y, "\n")
print(tf.multiply(x, y))
x_stretch = tf.constant([[1, 1, 1, 1], [2, 2, 2, 2], [3, 3, 3, 3]])
y_stretch = tf.constant([[1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4]])
print(x_stretch * y_stretch)  # Again, operator overloading
assert (
    str(tf.multiply(x, y)) == "tf.Tensor(\n[[ 1  2  3  4]\n [ 2  4  6  8]\n [ 3  6  9 12]], shape=(3, 4), dtype=int32)"
)
np.testing.assert_array_equal((x_stretch * y_stretch).numpy(), tf.multiply(x, y).numpy())
print(tf.broadcast_to(tf.constant([1, 2, 3]), [3, 3]))
assert tf.broadcast_to(tf.constant([1, 2, 3]), [3, 3]).numpy().tolist() == [[1, 2, 3]] * 3

# tf.newaxis as in the guide's indexing of higher ranks.
assert rank_1_tensor[tf.newaxis, :].shape == (1, 10)
print("All the guide's outputs checked.")
