"""ONNX export of a model: ``model.export("m.onnx", format="onnx")`` (Keras 3's API).

The exported graph takes what the model takes: NHWC (channels-last) float32 input,
the batch size left free (``"batch"``), one graph input per model input (named after
its input layer) and one output per model output (``output_0``, ``output_1``...).
ONNX's convolutions and poolings work channels-first, so each of them is wrapped in
two ``Transpose`` nodes; a pair of transposes that undo each other between two such
layers is removed.  Inference behaviour is exported: Dropout and the random
augmentation layers are identities, BatchNormalization uses its moving statistics.

Layers exported (opset 17): InputLayer, Dense, Conv1D, Conv2D, Conv2DTranspose,
DepthwiseConv2D, SeparableConv2D, Max/AveragePooling1D and 2D, the global poolings,
Flatten, Reshape, Dropout, BatchNormalization, LayerNormalization, Activation, ReLU,
LeakyReLU, PReLU, ELU, Softmax, UpSampling2D, ZeroPadding2D, Cropping2D, Rescaling,
the merge layers (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot),
CenterCrop, Resizing (bilinear), RandomFlip / RandomTranslation / RandomRotation /
RandomZoom (identities), nested Sequential and functional models, and the residual
block of ``cnnlab train --model small-resnet``; the activations
linear, relu, leaky_relu, elu, sigmoid, tanh, silu / swish, softmax, log_softmax.  A
layer without an ONNX equivalent here (a Lambda, one of your own) is an error naming it.

The ``onnx`` package builds and checks the graph (``onnx.checker.check_model`` with
its full check runs on every export); install it with ``pip install 'cnnlab[onnx]'``.
"""

import os

import numpy as np

from ..datasets._files import atomic_write
from . import serialization

OPSET = 17
ONNX_EXTRA = "pip install 'cnnlab[onnx]'"
_TO_CHANNELS_FIRST = {3: [0, 2, 1], 4: [0, 3, 1, 2]}
_TO_CHANNELS_LAST = {3: [0, 2, 1], 4: [0, 2, 3, 1]}


def import_onnx(op="export"):
    """The onnx package, or an ImportError naming the extra that installs it."""
    try:
        import onnx
    except ImportError:
        raise ImportError(f"{op}: exporting to ONNX needs the onnx package: {ONNX_EXTRA}") from None
    return onnx


def export_onnx(model, filepath, verbose=False):
    """Write ``model`` as an ONNX file (checked by the onnx checker), atomically.

    Args:
        model: a built model of float32 layers.
        filepath: the ``.onnx`` file to write.
        verbose: print where the model was written.

    Raises:
        ImportError: the onnx package is missing.
        ValueError: the model is not built, not float32, or holds a layer without an
            ONNX equivalent (the message names it).
    """
    onnx = import_onnx()
    proto = to_onnx(model)
    onnx.checker.check_model(proto, full_check=True)
    filepath = os.fspath(filepath)
    directory = os.path.dirname(os.path.abspath(filepath))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"export: the directory '{directory}' does not exist.")
    with atomic_write(filepath) as file:
        file.write(proto.SerializeToString())
    if verbose:
        print(f"Saved the model as ONNX (opset {OPSET}) at '{filepath}'.")


def to_onnx(model):
    """The ONNX ``ModelProto`` of ``model`` (see the module docstring)."""
    from .. import __version__
    Functional = serialization.model_class("Functional")  # noqa: N806 - see model_class

    onnx = import_onnx()
    if not model.built:
        raise ValueError("export: the model is not built yet; call it on data, fit it, or give it an input shape.")
    if model.dtype != "float32":
        raise ValueError(f"export: ONNX export takes float32 models; this one computes in {model.dtype}.")
    graph = _Graph(onnx)
    if isinstance(model, Functional):
        input_tensors = list(model.inputs)
    else:
        input_tensors = model.inputs
        if not input_tensors:
            raise ValueError("export: the model has no declared input shape; build it on an input shape first.")
    names = []
    for tensor in input_tensors:
        name = tensor.source[0].name
        graph.inputs.append(_value_info(onnx, name, tensor.shape))
        names.append(_Value(name, tensor.shape))
    outputs = _convert_model(graph, model, names)
    for index, value in enumerate(outputs):
        name = f"output_{index}"
        graph.nodes.append(onnx.helper.make_node("Identity", [value.name], [name], name=f"{name}_identity"))
        graph.outputs.append(_value_info(onnx, name, value.shape))
    graph.cancel_transposes()
    proto_graph = onnx.helper.make_graph(
        graph.nodes, model.name, graph.inputs, graph.outputs, initializer=graph.initializers
    )
    return onnx.helper.make_model(
        proto_graph,
        opset_imports=[onnx.helper.make_opsetid("", OPSET)],
        producer_name="cnnlab",
        producer_version=__version__,
    )


def _value_info(onnx, name, shape):
    dims = ["batch" if d is None and i == 0 else (f"{name}_{i}" if d is None else int(d)) for i, d in enumerate(shape)]
    return onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, dims)


class _Value:
    """A tensor of the graph: its name and its Keras shape (batch axis first, None where free)."""

    def __init__(self, name, shape):
        self.name = name
        self.shape = tuple(shape)


class _Graph:
    def __init__(self, onnx):
        self.onnx = onnx
        self.nodes, self.initializers, self.inputs, self.outputs = [], [], [], []
        self._used = set()

    def fresh(self, hint):
        name, index = hint, 0
        while name in self._used:
            index += 1
            name = f"{hint}_{index}"
        self._used.add(name)
        return name

    def constant(self, array, hint):
        name = self.fresh(hint)
        array = np.asarray(array)
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def op(self, op_type, inputs, hint, **attributes):
        output = self.fresh(hint)
        self.nodes.append(self.onnx.helper.make_node(op_type, inputs, [output], name=output, **attributes))
        return output

    def cancel_transposes(self):
        """Remove ``Transpose(p) -> Transpose(inverse of p)`` pairs whose middle value nothing else reads."""
        readers = {}
        for node in self.nodes:
            for name in node.input:
                readers[name] = readers.get(name, 0) + 1
        made_by = {node.output[0]: node for node in self.nodes}
        graph_outputs = {value.name for value in self.outputs}
        rename, dropped = {}, set()
        for node in self.nodes:
            if node.op_type != "Transpose":
                continue
            first = made_by.get(node.input[0])
            if (
                first is None
                or first.op_type != "Transpose"
                or readers.get(first.output[0]) != 1
                or first.output[0] in graph_outputs
                or id(first) in dropped
            ):
                continue
            outer = list(first.attribute[0].ints)
            inner = list(node.attribute[0].ints)
            if [outer[axis] for axis in inner] == list(range(len(inner))):
                rename[node.output[0]] = first.input[0]
                dropped.update((id(first), id(node)))
        kept = [node for node in self.nodes if id(node) not in dropped]
        for node in kept:
            for position, name in enumerate(node.input):
                while name in rename:
                    name = rename[name]
                node.input[position] = name
        self.nodes = kept


# ---- models --------------------------------------------------------------------------------------------


def _convert_model(graph, model, inputs):
    """The output values of ``model`` applied to the values ``inputs`` (one per model input)."""
    from .layers.core import InputLayer
    Functional, Sequential = (serialization.model_class(name) for name in ("Functional", "Sequential"))  # noqa: N806
    from .models.functional_config import graph_of

    if isinstance(model, Sequential):
        value = inputs[0]
        for layer in model.layers:
            if not isinstance(layer, InputLayer):
                value = _convert_layer(graph, layer, [value])
        return [value]
    if isinstance(model, Functional):
        model_inputs, outputs, nodes = graph_of(model)
        values = {id(tensor): value for tensor, value in zip(model_inputs, inputs)}
        for layer, sources, targets in nodes:
            if len(targets) != 1:
                raise ValueError(
                    f"export: layer '{layer.name}' ({type(layer).__name__}) gives several outputs, which cnnlab's "
                    "exporter does not take."
                )
            values[id(targets[0])] = _convert_layer(graph, layer, [values[id(source)] for source in sources])
        return [values[id(tensor)] for tensor in outputs]
    raise ValueError(
        f"export: {type(model).__name__} '{model.name}' is a subclassed model, whose computation is Python code; "
        "ONNX export takes Sequential and functional models."
    )


def _convert_layer(graph, layer, inputs):
    Model = serialization.model_class("Model")  # noqa: N806 - see model_class

    if isinstance(layer, Model):
        return _convert_model(graph, layer, inputs)[0]
    merge = _MERGE_CONVERTERS.get(type(layer).__name__) if type(layer).__module__.startswith("cnnlab.") else None
    if merge is not None:
        output = merge(graph, layer, inputs)
        expected = tuple(layer.compute_output_shape([value.shape for value in inputs]))
        if output.shape != expected:
            raise ValueError(f"export: layer '{layer.name}' gives shape {output.shape} in the ONNX graph")  # a bug
        return output
    converter = _CONVERTERS.get(type(layer).__name__) if type(layer).__module__.startswith("cnnlab.") else None
    if converter is None:
        raise ValueError(
            f"export: layer '{layer.name}' ({type(layer).__name__}) has no ONNX equivalent in cnnlab's exporter."
        )
    if len(inputs) != 1:
        raise ValueError(f"export: layer '{layer.name}' ({type(layer).__name__}) takes one input.")
    value = inputs[0]
    output = converter(graph, layer, value)
    if output.shape != tuple(layer.compute_output_shape(value.shape)):
        raise ValueError(
            f"export: layer '{layer.name}' gives shape {output.shape} in the ONNX graph"
        )  # a converter bug
    return output


def _output(layer, value, name):
    return _Value(name, layer.compute_output_shape(value.shape))


# ---- helpers ------------------------------------------------------------------------------------------


def _channels_first(graph, value, hint):
    return graph.op("Transpose", [value.name], f"{hint}_nchw", perm=_TO_CHANNELS_FIRST[len(value.shape)])


def _channels_last(graph, name, rank, hint):
    return graph.op("Transpose", [name], f"{hint}_nhwc", perm=_TO_CHANNELS_LAST[rank])


def _window_pads(sizes, windows, strides, dilations, padding, layer):
    """ONNX ``pads`` (begins, then ends) for TF's 'valid' / 'same' (extra cell at the end) / 'causal'."""
    begins, ends = [], []
    for size, window, stride, dilation in zip(sizes, windows, strides, dilations):
        effective = (window - 1) * dilation + 1
        if padding == "valid":
            begins.append(0)
            ends.append(0)
        elif padding == "causal":
            begins.append(effective - 1)
            ends.append(0)
        else:
            if size is None:
                raise ValueError(f"export: layer '{layer.name}' pads 'same' over an axis of unknown size.")
            out = -(-size // stride)
            total = max((out - 1) * stride + effective - size, 0)
            begins.append(total // 2)
            ends.append(total - total // 2)
    return begins + ends


def _activation(graph, layer, name, activation, hint):
    """``activation`` (a cnnlab activation function) applied to the value ``name``."""
    from . import activations

    key = activations.serialize(activation) if activation is not None else "linear"
    if key == "linear":
        return name
    if key == "relu":
        return graph.op("Relu", [name], f"{hint}_relu")
    if key == "leaky_relu":
        return graph.op("LeakyRelu", [name], f"{hint}_leaky_relu", alpha=0.2)
    if key == "elu":
        return graph.op("Elu", [name], f"{hint}_elu", alpha=1.0)
    if key == "sigmoid":
        return graph.op("Sigmoid", [name], f"{hint}_sigmoid")
    if key == "tanh":
        return graph.op("Tanh", [name], f"{hint}_tanh")
    if key in ("silu", "swish"):
        return graph.op("Mul", [name, graph.op("Sigmoid", [name], f"{hint}_sigmoid")], f"{hint}_silu")
    if key == "softmax":
        return graph.op("Softmax", [name], f"{hint}_softmax", axis=-1)
    if key == "log_softmax":
        return graph.op("LogSoftmax", [name], f"{hint}_log_softmax", axis=-1)
    raise ValueError(
        f"export: the activation {key!r} of layer '{layer.name}' has no ONNX equivalent in cnnlab's exporter."
    )


def _f32(array):
    return np.ascontiguousarray(np.asarray(array, dtype=np.float32))


# ---- layers --------------------------------------------------------------------------------------------


def _identity(graph, layer, value):
    return _Value(value.name, value.shape)


def _dense(graph, layer, value):
    kernel = graph.constant(_f32(layer.kernel.numpy()), f"{layer.name}_kernel")
    if len(value.shape) == 2 and layer.use_bias:
        bias = graph.constant(_f32(layer.bias.numpy()), f"{layer.name}_bias")
        name = graph.op("Gemm", [value.name, kernel, bias], f"{layer.name}_gemm")
    else:
        name = graph.op("MatMul", [value.name, kernel], f"{layer.name}_matmul")
        if layer.use_bias:
            name = graph.op("Add", [name, graph.constant(_f32(layer.bias.numpy()), f"{layer.name}_bias")], layer.name)
    return _output(layer, value, _activation(graph, layer, name, layer.activation, layer.name))


def _conv(graph, layer, value, weights, group=1, bias=None, activation=None):
    """A channels-last convolution (1-D or 2-D) from ONNX weights (out, in / group, *window)."""
    rank = len(value.shape)
    spatial = value.shape[1:-1]
    x = _channels_first(graph, value, layer.name)
    inputs = [x, graph.constant(_f32(weights), f"{layer.name}_weights")]
    if bias is not None:
        inputs.append(graph.constant(_f32(bias), f"{layer.name}_bias"))
    windows = weights.shape[2:]
    name = graph.op(
        "Conv",
        inputs,
        f"{layer.name}_conv",
        kernel_shape=list(windows),
        strides=list(layer.strides),
        dilations=list(layer.dilation_rate),
        pads=_window_pads(spatial, windows, layer.strides, layer.dilation_rate, layer.padding, layer),
        group=group,
    )
    if _elementwise(activation):  # applied channels-first, the transposes of a following pooling cancel out
        return _output(
            layer,
            value,
            _channels_last(graph, _activation(graph, layer, name, activation, layer.name), rank, layer.name),
        )
    name = _channels_last(graph, name, rank, layer.name)
    return _output(layer, value, _activation(graph, layer, name, activation, layer.name))


def _elementwise(activation):
    from . import activations

    return activation is None or activations.serialize(activation) not in ("softmax", "log_softmax")


def _conv2d(graph, layer, value):
    weights = np.transpose(layer.kernel.numpy(), (3, 2, 0, 1))  # HWIO -> OIHW
    bias = layer.bias.numpy() if layer.use_bias else None
    return _conv(graph, layer, value, weights, bias=bias, activation=layer.activation)


def _conv1d(graph, layer, value):
    weights = np.transpose(layer.kernel.numpy(), (2, 1, 0))  # (k, in, out) -> (out, in, k)
    bias = layer.bias.numpy() if layer.use_bias else None
    return _conv(graph, layer, value, weights, bias=bias, activation=layer.activation)


def _depthwise_weights(kernel):
    """(kh, kw, in, multiplier) -> ONNX grouped weights (in * multiplier, 1, kh, kw); output channel c * m + j."""
    kh, kw, channels, multiplier = kernel.shape
    return np.transpose(kernel.reshape(kh, kw, channels * multiplier), (2, 0, 1))[:, None]


def _depthwise_conv2d(graph, layer, value):
    channels = value.shape[-1]
    bias = layer.bias.numpy() if layer.use_bias else None
    weights = _depthwise_weights(layer.kernel.numpy())
    return _conv(graph, layer, value, weights, group=channels, bias=bias, activation=layer.activation)


def _separable_conv2d(graph, layer, value):
    channels = value.shape[-1]
    depthwise = _conv(graph, layer, value, _depthwise_weights(layer.depthwise_kernel.numpy()), group=channels)
    pointwise = np.transpose(layer.pointwise_kernel.numpy(), (3, 2, 0, 1))
    x = _channels_first(graph, depthwise, f"{layer.name}_pointwise")
    inputs = [x, graph.constant(_f32(pointwise), f"{layer.name}_pointwise")]
    if layer.use_bias:
        inputs.append(graph.constant(_f32(layer.bias.numpy()), f"{layer.name}_bias"))
    name = graph.op("Conv", inputs, f"{layer.name}_pointwise_conv", kernel_shape=[1, 1])
    name = _channels_last(graph, name, 4, f"{layer.name}_pointwise")
    return _output(layer, value, _activation(graph, layer, name, layer.activation, layer.name))


def _conv2d_transpose(graph, layer, value):
    out_shape = layer.compute_output_shape(value.shape)
    weights = np.transpose(layer.kernel.numpy(), (3, 2, 0, 1))  # (kh, kw, out, in) -> (in, out, kh, kw)
    pads_begin, pads_end, output_padding = [], [], []
    for axis in range(2):
        size, out = value.shape[1 + axis], out_shape[1 + axis]
        if size is None or out is None:
            raise ValueError(f"export: layer '{layer.name}' needs a known input height and width.")
        stride, dilation = layer.strides[axis], layer.dilation_rate[axis]
        effective = (layer.kernel_size[axis] - 1) * dilation + 1
        # The gradient of a convolution of an input of size `out` with TF's padding rule.
        total = max((size - 1) * stride + effective - out, 0) if layer.padding == "same" else 0
        pads_begin.append(total // 2)
        pads_end.append(total - total // 2)
        output_padding.append(out - ((size - 1) * stride + effective - total))
    x = _channels_first(graph, value, layer.name)
    inputs = [x, graph.constant(_f32(weights), f"{layer.name}_weights")]
    if layer.use_bias:
        inputs.append(graph.constant(_f32(layer.bias.numpy()), f"{layer.name}_bias"))
    name = graph.op(
        "ConvTranspose",
        inputs,
        f"{layer.name}_conv_transpose",
        kernel_shape=list(layer.kernel_size),
        strides=list(layer.strides),
        dilations=list(layer.dilation_rate),
        pads=pads_begin + pads_end,
        output_padding=output_padding,
    )
    name = _channels_last(graph, name, 4, layer.name)
    return _Value(_activation(graph, layer, name, layer.activation, layer.name), out_shape)


def _pooling(op_type):
    def convert(graph, layer, value):
        rank = len(value.shape)
        x = _channels_first(graph, value, layer.name)
        attributes = {
            "kernel_shape": list(layer.pool_size),
            "strides": list(layer.strides),
            "pads": _window_pads(
                value.shape[1:-1], layer.pool_size, layer.strides, [1] * (rank - 2), layer.padding, layer
            ),
        }
        name = graph.op(op_type, [x], f"{layer.name}_pool", **attributes)
        return _output(layer, value, _channels_last(graph, name, rank, layer.name))

    return convert


def _global_pooling(op_type):
    def convert(graph, layer, value):
        axes = list(range(1, len(value.shape) - 1))
        name = graph.op(op_type, [value.name], layer.name, axes=axes, keepdims=int(layer.keepdims))
        return _output(layer, value, name)

    return convert


def _flatten(graph, layer, value):
    return _output(layer, value, graph.op("Flatten", [value.name], layer.name, axis=1))


def _reshape(graph, layer, value):
    shape = graph.constant(np.array([0, *layer.target_shape], dtype=np.int64), f"{layer.name}_shape")
    return _output(layer, value, graph.op("Reshape", [value.name, shape], layer.name))


def _batch_normalization(graph, layer, value):
    # Inference: (x - mean) / sqrt(variance + epsilon) * gamma + beta, as one scale and one shift.
    rank = len(value.shape)
    axis = layer.axis % rank
    channels = value.shape[axis]
    gamma = layer.gamma.numpy() if layer.scale else np.ones(channels, np.float32)
    beta = layer.beta.numpy() if layer.center else np.zeros(channels, np.float32)
    mean, variance = layer.moving_mean.numpy().astype(np.float64), layer.moving_variance.numpy().astype(np.float64)
    scale = gamma / np.sqrt(variance + layer.epsilon)
    shift = beta - mean * scale
    broadcast = [channels if i == axis else 1 for i in range(1, rank)]
    scaled = graph.op(
        "Mul", [value.name, graph.constant(_f32(scale).reshape(broadcast), f"{layer.name}_scale")], f"{layer.name}_mul"
    )
    shifted = graph.op(
        "Add", [scaled, graph.constant(_f32(shift).reshape(broadcast), f"{layer.name}_shift")], layer.name
    )
    return _output(layer, value, shifted)


def _layer_normalization(graph, layer, value):
    rank = len(value.shape)
    axes = sorted(a % rank for a in layer.axis)
    if layer.rms_scaling or axes != list(range(axes[0], rank)):
        raise ValueError(f"export: layer '{layer.name}' (LayerNormalization) normalizes over axes ONNX cannot here.")
    shape = value.shape[axes[0] :]
    gamma = layer.gamma.numpy() if layer.scale else np.ones(shape, np.float32)
    beta = layer.beta.numpy() if layer.center else np.zeros(shape, np.float32)
    name = graph.op(
        "LayerNormalization",
        [
            value.name,
            graph.constant(_f32(gamma).reshape(shape), f"{layer.name}_gamma"),
            graph.constant(_f32(beta).reshape(shape), f"{layer.name}_beta"),
        ],
        layer.name,
        axis=axes[0],
        epsilon=layer.epsilon,
    )
    return _output(layer, value, name)


def _activation_layer(graph, layer, value):
    return _output(layer, value, _activation(graph, layer, value.name, layer.activation, layer.name))


def _relu(graph, layer, value):
    name = value.name
    if layer.threshold == 0.0 and layer.negative_slope == 0.0:
        name = graph.op("Relu", [name], f"{layer.name}_relu")
    else:
        threshold = graph.constant(np.float32(layer.threshold), f"{layer.name}_threshold")
        below = graph.op(
            "Mul",
            [
                graph.op("Sub", [name, threshold], f"{layer.name}_sub"),
                graph.constant(np.float32(layer.negative_slope), f"{layer.name}_slope"),
            ],
            f"{layer.name}_below",
        )
        name = graph.op(
            "Where",
            [graph.op("GreaterOrEqual", [name, threshold], f"{layer.name}_above"), name, below],
            f"{layer.name}_relu",
        )
    if layer.max_value is not None:
        name = graph.op(
            "Min", [name, graph.constant(np.float32(layer.max_value), f"{layer.name}_max")], f"{layer.name}_cap"
        )
    return _output(layer, value, name)


def _leaky_relu(graph, layer, value):
    return _output(layer, value, graph.op("LeakyRelu", [value.name], layer.name, alpha=layer.negative_slope))


def _elu(graph, layer, value):
    return _output(layer, value, graph.op("Elu", [value.name], layer.name, alpha=layer.alpha))


def _prelu(graph, layer, value):
    slope = graph.constant(_f32(layer.alpha.numpy()), f"{layer.name}_alpha")
    return _output(layer, value, graph.op("PRelu", [value.name, slope], layer.name))


def _softmax(graph, layer, value):
    if not isinstance(layer.axis, int):
        raise ValueError(f"export: layer '{layer.name}' (Softmax) over several axes has no ONNX equivalent here.")
    return _output(layer, value, graph.op("Softmax", [value.name], layer.name, axis=layer.axis))


def _up_sampling2d(graph, layer, value):
    if layer.interpolation == "nearest":
        scales = graph.constant(np.array([1.0, *layer.size, 1.0], dtype=np.float32), f"{layer.name}_scales")
        name = graph.op(
            "Resize",
            [value.name, "", scales],
            layer.name,
            mode="nearest",
            coordinate_transformation_mode="asymmetric",
            nearest_mode="floor",
        )
        return _output(layer, value, name)
    return _resized(graph, layer, value, layer.compute_output_shape(value.shape), layer.interpolation)


def _resized(graph, layer, value, out_shape, interpolation):
    if interpolation != "bilinear":
        raise ValueError(f"export: layer '{layer.name}' resizes with {interpolation!r}; the exporter does 'bilinear'.")
    x = _channels_first(graph, value, layer.name)
    batch_and_channels = graph.op(
        "Slice",
        [
            graph.op("Shape", [x], f"{layer.name}_shape"),
            graph.constant(np.array([0], np.int64), f"{layer.name}_start"),
            graph.constant(np.array([2], np.int64), f"{layer.name}_end"),
        ],
        f"{layer.name}_nc",
    )
    sizes = graph.op(
        "Concat",
        [batch_and_channels, graph.constant(np.array(out_shape[1:3], np.int64), f"{layer.name}_hw")],
        f"{layer.name}_sizes",
        axis=0,
    )
    name = graph.op(
        "Resize",
        [x, "", "", sizes],
        f"{layer.name}_resize",
        mode="linear",
        coordinate_transformation_mode="half_pixel",
    )
    return _Value(_channels_last(graph, name, 4, layer.name), out_shape)


def _resizing(graph, layer, value):
    if layer.crop_to_aspect_ratio or layer.pad_to_aspect_ratio:
        raise ValueError(f"export: layer '{layer.name}' (Resizing) crops or pads to the aspect ratio; not exported.")
    return _resized(graph, layer, value, layer.compute_output_shape(value.shape), layer.interpolation)


def _zero_padding2d(graph, layer, value):
    (top, bottom), (left, right) = layer.padding
    pads = graph.constant(np.array([0, top, left, 0, 0, bottom, right, 0], np.int64), f"{layer.name}_pads")
    return _output(layer, value, graph.op("Pad", [value.name, pads], layer.name, mode="constant"))


def _slice_hw(graph, layer, value, top, left, height, width):
    starts = graph.constant(np.array([top, left], np.int64), f"{layer.name}_starts")
    ends = graph.constant(np.array([top + height, left + width], np.int64), f"{layer.name}_ends")
    axes = graph.constant(np.array([1, 2], np.int64), f"{layer.name}_axes")
    return graph.op("Slice", [value.name, starts, ends, axes], layer.name)


def _cropping2d(graph, layer, value):
    (top, bottom), (left, right) = layer.cropping
    height, width = value.shape[1:3]
    if height is None or width is None:
        raise ValueError(f"export: layer '{layer.name}' (Cropping2D) needs a known input height and width.")
    return _output(layer, value, _slice_hw(graph, layer, value, top, left, height - top - bottom, width - left - right))


def _center_crop(graph, layer, value):
    height, width = value.shape[1:3]
    if height is None or width is None or height < layer.height or width < layer.width:
        raise ValueError(
            f"export: layer '{layer.name}' (CenterCrop) is exported for inputs at least {layer.height}x{layer.width} "
            f"of known size; the model gives {height}x{width}."
        )
    top, left = (height - layer.height) // 2, (width - layer.width) // 2
    return _output(layer, value, _slice_hw(graph, layer, value, top, left, layer.height, layer.width))


def _rescaling(graph, layer, value):
    scale = graph.constant(_f32(layer.scale), f"{layer.name}_scale")
    offset = graph.constant(_f32(layer.offset), f"{layer.name}_offset")
    return _output(
        layer, value, graph.op("Add", [graph.op("Mul", [value.name, scale], f"{layer.name}_mul"), offset], layer.name)
    )


def _residual_block(graph, layer, value):
    """The ``cnnlab train --model small-resnet`` block: relu(bn(conv(relu(bn(conv(x))))) + shortcut(x))."""
    x = _convert_layer(graph, layer.norm1, [_convert_layer(graph, layer.conv1, [value])])
    x = _Value(graph.op("Relu", [x.name], f"{layer.name}_relu"), x.shape)
    x = _convert_layer(graph, layer.norm2, [_convert_layer(graph, layer.conv2, [x])])
    shortcut = value
    if layer.projection is not None:
        shortcut = _convert_layer(graph, layer.projection_norm, [_convert_layer(graph, layer.projection, [value])])
    added = graph.op("Add", [x.name, shortcut.name], f"{layer.name}_add")
    return _output(layer, value, graph.op("Relu", [added], layer.name))


def _merge_elementwise(op_type):
    """Add, Subtract, Multiply, Maximum, Minimum: ONNX's element-wise op, which broadcasts as NumPy does
    (inputs of lower rank first get size-1 axes after the batch axis, as the layer does)."""

    def convert(graph, layer, values):
        names = _same_rank(graph, layer, values)
        if op_type in ("Max", "Min"):
            output = graph.op(op_type, names, layer.name)
        else:
            output = names[0]
            for name in names[1:]:
                output = graph.op(op_type, [output, name], layer.name)
        return _Value(output, layer.compute_output_shape([value.shape for value in values]))

    return convert


def _same_rank(graph, layer, values):
    rank = max(len(value.shape) for value in values)
    names = []
    for value in values:
        missing = rank - len(value.shape)
        if missing:
            axes = graph.constant(np.arange(1, 1 + missing, dtype=np.int64), f"{layer.name}_axes")
            names.append(graph.op("Unsqueeze", [value.name, axes], f"{layer.name}_expanded"))
        else:
            names.append(value.name)
    return names


def _average(graph, layer, values):
    total = _merge_elementwise("Add")(graph, layer, values)
    count = graph.constant(np.array(len(values), dtype=np.float32), f"{layer.name}_count")
    return _Value(graph.op("Div", [total.name, count], f"{layer.name}_mean"), total.shape)


def _concatenate(graph, layer, values):
    rank = len(values[0].shape)
    output = graph.op("Concat", [value.name for value in values], layer.name, axis=layer.axis % rank)
    return _Value(output, layer.compute_output_shape([value.shape for value in values]))


def _dot(graph, layer, values):
    x, y = values
    axis_x, axis_y = layer._axes_for((len(x.shape), len(y.shape)), [x.shape, y.shape])
    names = [x.name, y.name]
    if layer.normalize:
        names = [
            graph.op("LpNormalization", [name], f"{layer.name}_normalized", axis=axis, p=2)
            for name, axis in zip(names, (axis_x, axis_y))
        ]
    x_perm = [0, *[a for a in range(1, len(x.shape)) if a != axis_x], axis_x]
    y_perm = [0, axis_y, *[a for a in range(1, len(y.shape)) if a != axis_y]]
    size = x.shape[axis_x]
    left = graph.op("Transpose", [names[0]], f"{layer.name}_left", perm=x_perm)
    right = graph.op("Transpose", [names[1]], f"{layer.name}_right", perm=y_perm)
    rows, columns = (graph.constant(np.array(shape, np.int64), "shape") for shape in ([0, -1, size], [0, size, -1]))
    left = graph.op("Reshape", [left, rows], f"{layer.name}_rows")
    right = graph.op("Reshape", [right, columns], f"{layer.name}_cols")
    product = graph.op("MatMul", [left, right], f"{layer.name}_product")
    shape = layer.compute_output_shape([x.shape, y.shape])
    target = graph.constant(np.array([0, *shape[1:]], np.int64), "shape")
    return _Value(graph.op("Reshape", [product, target], layer.name), shape)


_MERGE_CONVERTERS = {
    "Add": _merge_elementwise("Add"),
    "Subtract": _merge_elementwise("Sub"),
    "Multiply": _merge_elementwise("Mul"),
    "Maximum": _merge_elementwise("Max"),
    "Minimum": _merge_elementwise("Min"),
    "Average": _average,
    "Concatenate": _concatenate,
    "Dot": _dot,
}

_CONVERTERS = {
    "ResidualBlock": _residual_block,
    "InputLayer": _identity,
    "Dense": _dense,
    "Conv2D": _conv2d,
    "Conv1D": _conv1d,
    "Conv2DTranspose": _conv2d_transpose,
    "DepthwiseConv2D": _depthwise_conv2d,
    "SeparableConv2D": _separable_conv2d,
    "MaxPooling2D": _pooling("MaxPool"),
    "AveragePooling2D": _pooling("AveragePool"),
    "MaxPooling1D": _pooling("MaxPool"),
    "AveragePooling1D": _pooling("AveragePool"),
    "GlobalAveragePooling2D": _global_pooling("ReduceMean"),
    "GlobalMaxPooling2D": _global_pooling("ReduceMax"),
    "GlobalAveragePooling1D": _global_pooling("ReduceMean"),
    "GlobalMaxPooling1D": _global_pooling("ReduceMax"),
    "Flatten": _flatten,
    "Reshape": _reshape,
    "Dropout": _identity,
    "BatchNormalization": _batch_normalization,
    "LayerNormalization": _layer_normalization,
    "Activation": _activation_layer,
    "ReLU": _relu,
    "LeakyReLU": _leaky_relu,
    "ELU": _elu,
    "PReLU": _prelu,
    "Softmax": _softmax,
    "UpSampling2D": _up_sampling2d,
    "ZeroPadding2D": _zero_padding2d,
    "Cropping2D": _cropping2d,
    "CenterCrop": _center_crop,
    "Rescaling": _rescaling,
    "Resizing": _resizing,
    "RandomFlip": _identity,
    "RandomTranslation": _identity,
    "RandomRotation": _identity,
    "RandomZoom": _identity,
}
