"""Mirrors TensorFlow's guide "Introduction to modules, layers, and models"
(tensorflow.org/guide/intro_to_modules):

The ``tf.Module`` part: a module with trainable and non-trainable variables, modules
made of modules, variables created on the first call, ``tf.function`` on ``__call__``,
and a short training loop on a module's ``trainable_variables``.  Left out: checkpoints,
SavedModel and TensorBoard graphs (not in cnnlab); the Keras half of the guide is the
Keras programs' business.
"""

import numpy as np

import cnnlab as tf

tf.random.set_seed(42)


class SimpleModule(tf.Module):
    def __init__(self, name=None):
        super().__init__(name=name)
        self.a_variable = tf.Variable(5.0, name="train_me")
        self.non_trainable_variable = tf.Variable(5.0, trainable=False, name="do_not_train_me")

    def __call__(self, x):
        return self.a_variable * x + self.non_trainable_variable


simple_module = SimpleModule(name="simple")
result = simple_module(tf.constant(5.0))
print(repr(result))
assert repr(result) == "<tf.Tensor: shape=(), dtype=float32, numpy=30.0>"

# All trainable variables
print("trainable variables:", simple_module.trainable_variables)
# Every variable
print("all variables:", simple_module.variables)
assert repr(simple_module.trainable_variables) == "(<tf.Variable 'train_me:0' shape=() dtype=float32, numpy=5.0>,)"
assert repr(simple_module.variables) == (
    "(<tf.Variable 'train_me:0' shape=() dtype=float32, numpy=5.0>, "
    "<tf.Variable 'do_not_train_me:0' shape=() dtype=float32, numpy=5.0>)"
)


class Dense(tf.Module):
    def __init__(self, in_features, out_features, name=None):
        super().__init__(name=name)
        self.w = tf.Variable(tf.random.normal([in_features, out_features]), name="w")
        self.b = tf.Variable(tf.zeros([out_features]), name="b")

    def __call__(self, x):
        y = tf.matmul(x, self.w) + self.b
        return tf.nn.relu(y)


class SequentialModule(tf.Module):
    def __init__(self, name=None):
        super().__init__(name=name)
        self.dense_1 = Dense(in_features=3, out_features=3)
        self.dense_2 = Dense(in_features=3, out_features=2)

    def __call__(self, x):
        x = self.dense_1(x)
        return self.dense_2(x)


# You have made a model!
my_model = SequentialModule(name="the_model")
# Call it, with random results
output = my_model(tf.constant([[2.0, 2.0, 2.0]]))
print("Model results:", output)
assert output.shape == (1, 2) and output.dtype == tf.float32 and np.all(output.numpy() >= 0)

print("Submodules:", my_model.submodules)
assert len(my_model.submodules) == 2 and all(isinstance(m, Dense) for m in my_model.submodules)
assert my_model.submodules[0] is my_model.dense_1
for var in my_model.variables:
    print(var, "\n")
assert [(v.name, tuple(v.shape)) for v in my_model.variables] == [
    ("b", (3,)),
    ("w", (3, 3)),
    ("b", (2,)),
    ("w", (3, 2)),
]
assert (
    repr(my_model.variables[0])
    == "<tf.Variable 'b:0' shape=(3,) dtype=float32, numpy=array([0., 0., 0.], dtype=float32)>"
)


class FlexibleDenseModule(tf.Module):
    # Note: No need for `in_features`
    def __init__(self, out_features, name=None):
        super().__init__(name=name)
        self.is_built = False
        self.out_features = out_features

    def __call__(self, x):
        # Create variables on first call.
        if not self.is_built:
            self.w = tf.Variable(tf.random.normal([x.shape[-1], self.out_features]), name="w")
            self.b = tf.Variable(tf.zeros([self.out_features]), name="b")
            self.is_built = True
        y = tf.matmul(x, self.w) + self.b
        return tf.nn.relu(y)


# Used in a module
class MySequentialModule(tf.Module):
    def __init__(self, name=None):
        super().__init__(name=name)
        self.dense_1 = FlexibleDenseModule(out_features=3)
        self.dense_2 = FlexibleDenseModule(out_features=2)

    def __call__(self, x):
        x = self.dense_1(x)
        return self.dense_2(x)


my_model = MySequentialModule(name="the_model")
assert my_model.variables == ()  # nothing before the first call
print("Model results:", my_model(tf.constant([[2.0, 2.0, 2.0]])))
assert [tuple(v.shape) for v in my_model.trainable_variables] == [(3,), (3, 3), (2,), (3, 2)]


class TracedSequentialModule(tf.Module):
    def __init__(self, name=None):
        super().__init__(name=name)
        self.dense_1 = Dense(in_features=3, out_features=3)
        self.dense_2 = Dense(in_features=3, out_features=2)

    @tf.function
    def __call__(self, x):
        x = self.dense_1(x)
        return self.dense_2(x)


# You have made a model with a graph!
my_model = TracedSequentialModule(name="the_model")
print(my_model([[2.0, 2.0, 2.0]]))
print(my_model([[[2.0, 2.0, 2.0], [2.0, 2.0, 2.0]]]))
assert my_model([[2.0, 2.0, 2.0]]).shape == (1, 2)
assert my_model([[[2.0, 2.0, 2.0], [2.0, 2.0, 2.0]]]).shape == (1, 2, 2)

# The variables a module tracks are what an optimizer trains: fit y = 2x + 1 with SimpleModule-like code.
line = SimpleModule()
line.a_variable.assign(0.0)
x = tf.linspace(-1.0, 1.0, 20)
y = 2.0 * x + 5.0  # the non-trainable offset is 5: only the slope can learn
optimizer = tf.keras.optimizers.SGD(learning_rate=0.5)
losses = []
for step in range(30):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(line(x) - y))
    optimizer.apply_gradients(zip(tape.gradient(loss, line.trainable_variables), line.trainable_variables))
    losses.append(float(loss))
assert losses[-1] < 1e-6 < losses[0] and abs(line.a_variable.numpy() - 2.0) < 1e-3
assert line.non_trainable_variable.numpy() == 5.0
print("All the guide's outputs checked.")
