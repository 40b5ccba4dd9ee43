"""Writes tf_keras_2.15_cnn.h5: a small CNN in the legacy HDF5 layout tf.keras 2.15 (TensorFlow 2.15) writes.

TensorFlow is not installed for cnnlab's tests, so the file is built with h5py, attribute by
attribute, as ``keras/src/saving/legacy/hdf5_format.py`` of Keras 2.15 writes a
``model.save("x.h5")``: on the root the string attributes ``backend``, ``keras_version``
("2.15.0"), ``model_config`` and ``training_config`` (JSON in Keras 2's format: no
``module`` keys, ``batch_input_shape``, a built BatchNormalization's ``axis`` as a list,
the optimizer as ``Custom>Adam``, the metric wrapped in ``MeanMetricWrapper``); the group
``model_weights`` with ``layer_names``, ``backend`` and ``keras_version``, and per layer a
group with ``weight_names`` ("conv2d/kernel:0", ...) and a dataset at each name (an empty
``weight_names`` array, float64 as NumPy makes it, for layers without weights).  The
optimizer's state (``optimizer_weights``) is left out.  The weights are drawn from
``numpy.random.default_rng(2015)``; the test recomputes the model's outputs from them with
NumPy.  Run it from this folder: ``python make_tf_keras_2_h5.py``.
"""

import json

import h5py
import numpy as np

FILE = "tf_keras_2.15_cnn.h5"


def initializers():
    return {
        "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
        "bias_initializer": {"class_name": "Zeros", "config": {}},
        "kernel_regularizer": None,
        "bias_regularizer": None,
        "activity_regularizer": None,
        "kernel_constraint": None,
        "bias_constraint": None,
    }


def model_config():
    common = {"trainable": True, "dtype": "float32"}
    layers = [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 28, 28, 1], "dtype": "float32",
                                                "sparse": False, "ragged": False, "name": "conv2d_input"}},
        {"class_name": "Conv2D", "config": {"name": "conv2d", **common, "batch_input_shape": [None, 28, 28, 1],
                                            "filters": 4, "kernel_size": [3, 3], "strides": [1, 1],
                                            "padding": "valid", "data_format": "channels_last",
                                            "dilation_rate": [1, 1], "groups": 1, "activation": "relu",
                                            "use_bias": True, **initializers()}},
        {"class_name": "BatchNormalization", "config": {
            "name": "batch_normalization", **common, "axis": [3], "momentum": 0.99, "epsilon": 0.001,
            "center": True, "scale": True,
            "beta_initializer": {"class_name": "Zeros", "config": {}},
            "gamma_initializer": {"class_name": "Ones", "config": {}},
            "moving_mean_initializer": {"class_name": "Zeros", "config": {}},
            "moving_variance_initializer": {"class_name": "Ones", "config": {}},
            "beta_regularizer": None, "gamma_regularizer": None, "beta_constraint": None, "gamma_constraint": None}},
        {"class_name": "MaxPooling2D", "config": {"name": "max_pooling2d", **common, "pool_size": [2, 2],
                                                  "padding": "valid", "strides": [2, 2],
                                                  "data_format": "channels_last"}},
        {"class_name": "Flatten", "config": {"name": "flatten", **common, "data_format": "channels_last"}},
        {"class_name": "Dropout", "config": {"name": "dropout", **common, "rate": 0.5, "noise_shape": None,
                                             "seed": None}},
        {"class_name": "Dense", "config": {"name": "dense", **common, "units": 10, "activation": "softmax",
                                           "use_bias": True, **initializers()}},
    ]  # fmt: skip
    return {"class_name": "Sequential", "config": {"name": "sequential", "layers": layers}}


TRAINING_CONFIG = {
    "loss": "sparse_categorical_crossentropy",
    "metrics": [[{"class_name": "MeanMetricWrapper",
                  "config": {"name": "accuracy", "dtype": "float32", "fn": "sparse_categorical_accuracy"}}]],
    "weighted_metrics": None,
    "loss_weights": None,
    "optimizer_config": {"class_name": "Custom>Adam", "config": {
        "name": "Adam", "weight_decay": None, "clipnorm": None, "global_clipnorm": None, "clipvalue": None,
        "use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None, "jit_compile": False,
        "is_legacy_optimizer": False, "learning_rate": 0.0010000000474974513, "beta_1": 0.9, "beta_2": 0.999,
        "epsilon": 1e-07, "amsgrad": False}},
}  # fmt: skip


def weights():
    rng = np.random.default_rng(2015)
    normal = lambda *shape: rng.normal(0, 0.3, shape).astype(np.float32)  # noqa: E731
    return {
        "conv2d": [("conv2d/kernel:0", normal(3, 3, 1, 4)), ("conv2d/bias:0", normal(4))],
        "batch_normalization": [
            ("batch_normalization/gamma:0", 1 + normal(4)),
            ("batch_normalization/beta:0", normal(4)),
            ("batch_normalization/moving_mean:0", normal(4)),
            ("batch_normalization/moving_variance:0", 0.5 + np.abs(normal(4))),
        ],
        "dense": [("dense/kernel:0", normal(13 * 13 * 4, 10)), ("dense/bias:0", normal(10))],
    }


def main():
    layer_names = ["conv2d", "batch_normalization", "max_pooling2d", "flatten", "dropout", "dense"]
    values = weights()
    with h5py.File(FILE, "w") as file:
        file.attrs["backend"] = "tensorflow"
        file.attrs["keras_version"] = "2.15.0"
        file.attrs["model_config"] = json.dumps(model_config()).encode("utf-8")
        file.attrs["training_config"] = json.dumps(TRAINING_CONFIG).encode("utf-8")
        group = file.create_group("model_weights")
        group.attrs["layer_names"] = np.array([name.encode("utf-8") for name in layer_names])
        group.attrs["backend"] = b"tensorflow"
        group.attrs["keras_version"] = b"2.15.0"
        for name in sorted(layer_names):
            layer_group = group.create_group(name)
            entries = values.get(name, [])
            layer_group.attrs["weight_names"] = (
                np.array([n.encode("utf-8") for n, _ in entries]) if entries else np.asarray([])
            )
            for weight_name, value in entries:
                dataset = layer_group.create_dataset(weight_name, value.shape, dtype=value.dtype)
                dataset[...] = value


if __name__ == "__main__":
    main()
