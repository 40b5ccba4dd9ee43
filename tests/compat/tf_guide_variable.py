"""Mirrors TensorFlow's guide "Introduction to Variables" (tensorflow.org/guide/variable):

Creating variables (float, bool, complex), reading them as tensors, assigning in place,
copies, names, trainability and device placement, with the outputs the guide prints.
Left out: the guide's pointers to checkpoints and SavedModel (not in cnnlab); cnnlab's
``Variable.name`` has no ``:0`` suffix (its repr shows one, as TF's does).
"""

import numpy as np

import cnnlab as tf

my_tensor = tf.constant([[1.0, 2.0], [3.0, 4.0]])
my_variable = tf.Variable(my_tensor)

# Variables can be all kinds of types, just like tensors
bool_variable = tf.Variable([False, False, False, True])
complex_variable = tf.Variable([5 + 4j, 6 + 1j])
assert bool_variable.dtype == tf.bool and complex_variable.dtype == tf.complex128

print("Shape: ", my_variable.shape)
print("DType: ", my_variable.dtype)
print("As NumPy: ", my_variable.numpy())
assert my_variable.shape == (2, 2) and my_variable.dtype == tf.float32
np.testing.assert_array_equal(my_variable.numpy(), [[1.0, 2.0], [3.0, 4.0]])

print("A variable:", my_variable)
print("\nViewed as a tensor:", tf.convert_to_tensor(my_variable))
print("\nIndex of highest value:", tf.math.argmax(my_variable))
# This creates a new tensor; it does not reshape the variable.
print("\nCopying and reshaping: ", tf.reshape(my_variable, [1, 4]))
assert str(my_variable) == (
    "<tf.Variable 'Variable:0' shape=(2, 2) dtype=float32, numpy=\narray([[1., 2.],\n       [3., 4.]], dtype=float32)>"
)
assert str(tf.convert_to_tensor(my_variable)) == "tf.Tensor(\n[[1. 2.]\n [3. 4.]], shape=(2, 2), dtype=float32)"
assert str(tf.math.argmax(my_variable)) == "tf.Tensor([1 1], shape=(2,), dtype=int64)"
assert str(tf.reshape(my_variable, [1, 4])) == "tf.Tensor([[1. 2. 3. 4.]], shape=(1, 4), dtype=float32)"

a = tf.Variable([2.0, 3.0])
# This will keep the same dtype, float32
a.assign([1, 2])
assert a.dtype == tf.float32 and a.numpy().tolist() == [1.0, 2.0]
# Not allowed as it resizes the variable:
try:
    a.assign([1.0, 2.0, 3.0])
except Exception as error:  # the guide catches a ValueError too
    print(f"{type(error).__name__}: {error}")
else:
    raise AssertionError("assigning a value of another shape must fail")

a = tf.Variable([2.0, 3.0])
# Create b based on the value of a
b = tf.Variable(a)
a.assign([5, 6])

# a and b are different
print(a.numpy())
print(b.numpy())
assert a.numpy().tolist() == [5.0, 6.0] and b.numpy().tolist() == [2.0, 3.0]

# There are other versions of assign
print(a.assign_add([2, 3]).numpy())  # [7. 9.]
print(a.assign_sub([7, 9]).numpy())  # [0. 0.]
assert a.numpy().tolist() == [0.0, 0.0]

# Create a and b; they will have the same name but will be backed by different tensors.
a = tf.Variable(my_tensor, name="Mark")
# A new variable with the same name, but different value
# Note that the scalar add is broadcast
b = tf.Variable(my_tensor + 1, name="Mark")

# These are elementwise-unequal, despite having the same name
print(a == b)
assert str(a == b) == "tf.Tensor(\n[[False False]\n [False False]], shape=(2, 2), dtype=bool)"
assert repr(a).startswith("<tf.Variable 'Mark:0' shape=(2, 2) dtype=float32")

step_counter = tf.Variable(1, trainable=False)
assert not step_counter.trainable and step_counter.dtype == tf.int32
with tf.GradientTape() as tape:
    y = tf.cast(step_counter, tf.float32) * 2.0
assert tape.watched_variables() == ()  # a non-trainable variable is not watched

with tf.device("CPU:0"):
    # Create some tensors
    a = tf.Variable([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    b = tf.constant([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    c = tf.matmul(a, b)
print(c)
assert str(c) == "tf.Tensor(\n[[22. 28.]\n [49. 64.]], shape=(2, 2), dtype=float32)"

with tf.device("CPU:0"):
    a = tf.Variable([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    b = tf.Variable([[1.0, 2.0, 3.0]])

with tf.device("GPU:0"):
    # Element-wise multiply
    k = a * b
print(k)
assert str(k) == "tf.Tensor(\n[[ 1.  4.  9.]\n [ 4. 10. 18.]], shape=(2, 3), dtype=float32)"
assert k.device.endswith("CPU:0")  # no GPU here: soft placement runs it on the CPU
print("All the guide's outputs checked.")
