"""The environment API tutorials call first (issue 20.3): versions, tf.config, tf.device, tf.function,
TensorSpec, tf.Module and TF's initializer names."""

import importlib.metadata
import subprocess
import sys

import numpy as np
import pytest
from packaging.version import Version

import cnnlab as tf


def test_versions():
    # TF's version space, so that `tf.__version__ >= "2.8"` checks written for TF pass.
    assert tf.__version__ == tf.version.VERSION == "2.16.0"
    assert Version(tf.__version__) >= Version("2.8")
    assert tf.__version__.split(".")[0] == "2"
    # cnnlab's own version stays its package's.
    assert tf.__cnnlab_version__ == importlib.metadata.version("cnnlab")
    run = subprocess.run([sys.executable, "-m", "cnnlab.cli", "--version"], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == f"cnnlab {tf.__cnnlab_version__}"


def test_device_lists_hold_the_cpu():
    cpu = tf.config.list_physical_devices()
    assert repr(cpu) == "[PhysicalDevice(name='/physical_device:CPU:0', device_type='CPU')]"
    assert tf.config.list_physical_devices("CPU") == cpu == tf.config.experimental.list_physical_devices("cpu")
    assert tf.config.list_physical_devices("GPU") == [] and tf.config.list_logical_devices("GPU") == []
    assert repr(tf.config.list_logical_devices()) == "[LogicalDevice(name='/device:CPU:0', device_type='CPU')]"
    assert tf.config.get_visible_devices() == cpu
    tf.config.set_visible_devices([], "GPU")  # hiding the (absent) GPUs is fine
    with pytest.raises(ValueError, match="the CPU cannot be hidden"):
        tf.config.set_visible_devices([])


def test_the_gpu_loop_tutorials_write_runs():
    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        tf.config.experimental.set_memory_growth(gpu, True)
    assert gpus == []
    with pytest.raises(ValueError, match="applies to GPUs only"):
        tf.config.experimental.set_memory_growth(tf.config.list_physical_devices()[0], True)
    with pytest.raises(TypeError, match="must be a PhysicalDevice"):
        tf.config.experimental.set_memory_growth("GPU:0", True)
    tf.config.run_functions_eagerly(True)
    assert tf.config.functions_run_eagerly() and tf.executing_eagerly()
    tf.config.experimental.enable_op_determinism()


def test_device_is_a_context_manager_and_tensors_report_the_cpu():
    for name in ("/GPU:0", "/cpu:0", "GPU:1", "/device:CPU:0", "/job:localhost/replica:0/task:0/device:GPU:0", None):
        with tf.device(name):
            x = tf.ones([2]) * 3
        assert x.device == "/job:localhost/replica:0/task:0/device:CPU:0"
    with pytest.raises(ValueError, match="cannot parse the device name 'the gpu'"):
        with tf.device("the gpu"):
            pass


def test_function_runs_eagerly_in_every_form():
    calls = []

    @tf.function
    def plain(x):
        calls.append(x)
        return x * 2

    @tf.function(jit_compile=True, reduce_retracing=True)
    def configured(x, y=1.0):
        return x + y

    assert float(plain(tf.constant(2.0))) == 4.0 and len(calls) == 1
    assert float(configured(1.0, y=2.0)) == 3.0
    assert float(tf.function(lambda x: x - 1)(5.0)) == 4.0
    assert plain.python_function.__name__ == "plain" and plain.__name__ == "plain"
    assert plain.get_concrete_function(tf.TensorSpec([None]))(tf.constant([1.0])).numpy().tolist() == [2.0]


def test_function_on_methods_and_with_an_input_signature():
    class Scaler(tf.Module):
        def __init__(self):
            super().__init__()
            self.scale = tf.Variable(3.0)

        @tf.function(input_signature=[tf.TensorSpec(shape=[None, 2], dtype=tf.float32)])
        def __call__(self, x):
            return x * self.scale

    scaler = Scaler()
    np.testing.assert_array_equal(scaler([[1, 2]]).numpy(), [[3.0, 6.0]])  # a list is converted to float32
    with pytest.raises(
        ValueError, match=r"has shape \(3,\), which does not fit the input_signature's TensorSpec\(shape=\(None, 2\)"
    ):
        scaler(tf.constant([1.0, 2.0, 3.0]))
    with pytest.raises(TypeError, match="does not match TensorSpec"):
        scaler(tf.constant([[1.0, 2.0]], tf.float64))
    with pytest.raises(TypeError, match="input_signature has 1 argument"):
        scaler([[1.0, 2.0]], [[1.0, 2.0]])
    with pytest.raises(TypeError, match="input_signature must hold TensorSpec"):
        tf.function(lambda x: x, input_signature=[None])


def test_tensor_spec():
    spec = tf.TensorSpec(shape=(None, 3), dtype=tf.float32, name="images")
    assert repr(spec) == "TensorSpec(shape=(None, 3), dtype=tf.float32, name='images')"
    assert spec.shape.as_list() == [None, 3] and spec.dtype == tf.float32
    assert spec.is_compatible_with(tf.zeros([5, 3])) and not spec.is_compatible_with(tf.zeros([5, 4]))
    assert not spec.is_compatible_with(tf.zeros([5, 3], tf.float64))
    assert tf.TensorSpec.from_tensor(tf.constant([1, 2])) == tf.TensorSpec([2], tf.int32)
    assert tf.TensorSpec(None).is_compatible_with(tf.zeros([1, 2, 3]))


class Dense(tf.Module):
    def __init__(self, in_features, out_features, name=None):
        super().__init__(name=name)
        self.w = tf.Variable(tf.random.normal([in_features, out_features]), name="w")
        self.b = tf.Variable(tf.zeros([out_features]), name="b")

    def __call__(self, x):
        return tf.nn.relu(x @ self.w + self.b)


class Sequential(tf.Module):
    def __init__(self, name=None):
        super().__init__(name=name)
        self.dense_1 = Dense(3, 3)
        self.dense_2 = Dense(3, 2)
        self.frozen = tf.Variable(1.0, trainable=False, name="frozen")
        self.stages = [Dense(2, 2, name="stage_a"), {"z": Dense(2, 1, name="stage_z"), "m": tf.Variable(0.0, name="m")}]
        self.again = self.dense_1  # one object, listed once

    def __call__(self, x):
        return self.dense_2(self.dense_1(x))


def test_module_tracks_variables_in_tfs_order():
    model = Sequential(name="the_model")
    assert model.name == "the_model" and Dense(1, 1).name == "dense"
    # Own attributes first, in sorted name order (lists in order, dicts by sorted key), then each submodule's.
    assert [v.name for v in model.variables] == ["frozen", "m", "b", "w", "b", "w", "b", "w", "b", "w"]
    assert [v.name for v in model.trainable_variables] == ["m", "b", "w", "b", "w", "b", "w", "b", "w"]
    assert [v.name for v in model.non_trainable_variables] == ["frozen"]
    assert [m.name for m in model.submodules] == ["dense", "dense", "stage_a", "stage_z"]
    assert model.submodules[0] is model.dense_1 and model.submodules[1] is model.dense_2
    assert len({id(v) for v in model.variables}) == len(model.variables)
    assert model(tf.constant([[1.0, 2.0, 3.0]])).shape == (1, 2)


def test_module_gradients_reach_its_variables():
    layer = Dense(2, 2)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(tf.constant([[1.0, -1.0]])) ** 2)
    grads = tape.gradient(loss, layer.trainable_variables)
    assert [g.shape for g in grads] == [(2,), (2, 2)]


def test_module_names_are_checked():
    with pytest.raises(ValueError, match="is not a valid module name"):
        tf.Module(name="has space")

    class CamelCaseModule(tf.Module):
        pass

    assert CamelCaseModule().name == "camel_case_module"
    with tf.Module().name_scope:
        pass


def test_tfs_initializer_names():
    tf.random.set_seed(3)
    normal = tf.random_normal_initializer(mean=1.0, stddev=0.5)(shape=[2000])
    assert normal.dtype == np.float32 and abs(float(tf.reduce_mean(normal)) - 1.0) < 0.05
    uniform = tf.random_uniform_initializer(-1.0, 1.0)([1000]).numpy()
    assert uniform.min() >= -1 and uniform.max() < 1 and uniform.std() > 0.5
    assert tf.zeros_initializer()(shape=[2, 3]).numpy().tolist() == [[0.0] * 3] * 2
    assert tf.ones_initializer()([2], dtype=tf.float64).dtype == np.float64
    assert tf.constant_initializer([1.0, 2.0])([2]).numpy().tolist() == [1.0, 2.0]
    w = tf.Variable(tf.random_normal_initializer(stddev=0.01)(shape=(3, 2)))
    assert w.shape == (3, 2)
