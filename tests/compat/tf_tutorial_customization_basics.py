"""Mirrors TensorFlow's tutorial "Customization basics: tensors and operations"
(tensorflow.org/tutorials/customization/basics): ``tf.math`` operations on Python values and lists
and the tensors they print, operator overloading, ``tf.linalg.matmul`` and a tensor's shape and
dtype, NumPy arrays converted to tensors and back, the GPU check with
``tf.config.list_physical_devices("GPU")`` and ``Tensor.device``, placement with
``tf.device("CPU:0")`` and the tutorial's matmul timing, and a ``tf.data`` dataset mapped with
``tf.math.square``, shuffled and batched.

Left out: the tutorial's ``tf.data.TextLineDataset`` over a temporary file (tf.data's file
readers are outside cnnlab), and its GPU branch (cnnlab runs on the CPU).  The timed matrices are
300x300 rather than 1000x1000; nothing is asserted about the times.
"""

import contextlib
import io
import time

import numpy as np

import cnnlab as tf

printed = io.StringIO()
with contextlib.redirect_stdout(printed):
    print(tf.math.add(1, 2))
    print(tf.math.add([1, 2], [3, 4]))
    print(tf.math.square(5))
    print(tf.math.reduce_sum([1, 2, 3]))

    # Operator overloading is also supported
    print(tf.math.square(2) + tf.math.square(3))
print(printed.getvalue(), end="")
assert printed.getvalue().splitlines() == [
    "tf.Tensor(3, shape=(), dtype=int32)",
    "tf.Tensor([4 6], shape=(2,), dtype=int32)",
    "tf.Tensor(25, shape=(), dtype=int32)",
    "tf.Tensor(6, shape=(), dtype=int32)",
    "tf.Tensor(13, shape=(), dtype=int32)",
]

x = tf.linalg.matmul([[1]], [[2, 3]])
print(x)
print(x.shape)
print(x.dtype)
assert str(x) == "tf.Tensor([[2 3]], shape=(1, 2), dtype=int32)"
assert x.shape == (1, 2) and x.dtype == tf.int32

ndarray = np.ones([3, 3])

print("TensorFlow operations convert numpy arrays to Tensors automatically")
tensor = tf.math.multiply(ndarray, 42)
print(tensor)
assert str(tensor) == ("tf.Tensor(\n[[42. 42. 42.]\n [42. 42. 42.]\n [42. 42. 42.]], shape=(3, 3), dtype=float64)")

print("And NumPy operations convert Tensors to NumPy arrays automatically")
print(np.add(tensor, 1))
assert type(np.add(tensor, 1)) is np.ndarray and np.all(np.add(tensor, 1) == 43.0)

print("The .numpy() method explicitly converts a Tensor to a numpy array")
print(tensor.numpy())
assert type(tensor.numpy()) is np.ndarray

x = tf.random.uniform([3, 3])

print("Is there a GPU available: ")
print(tf.config.list_physical_devices("GPU"))
assert tf.config.list_physical_devices("GPU") == []

print("Is the Tensor on GPU #0:  ")
print(x.device.endswith("GPU:0"))
assert not x.device.endswith("GPU:0") and x.device.endswith("CPU:0")


def time_matmul(x):
    start = time.time()
    for loop in range(10):
        tf.linalg.matmul(x, x)

    result = time.time() - start

    print("10 loops: {:0.2f}ms".format(1000 * result))


# Force execution on CPU
print("On CPU:")
with tf.device("CPU:0"):
    x = tf.random.uniform([300, 300])
    assert x.device.endswith("CPU:0")
    time_matmul(x)

ds_tensors = tf.data.Dataset.from_tensor_slices([1, 2, 3, 4, 5, 6])
ds_tensors = ds_tensors.map(tf.math.square).shuffle(2).batch(2)

print("Elements of ds_tensors:")
batches = []
for x in ds_tensors:
    print(x)
    batches.append(x.numpy())
assert [len(batch) for batch in batches] == [2, 2, 2]
assert sorted(np.concatenate(batches).tolist()) == [1, 4, 9, 16, 25, 36]
# A shuffle buffer of 2 moves an element at most a few places from where it was.
assert np.concatenate(batches)[:2].max() <= 9
