"""What the explain page shows of a model: every layer's output for one picture, and one
operation of a layer at one position, worked out from the layer's weights.

``NetworkView`` wraps a built Keras-style model whose input is a picture (height,
width, 1 or 3 channels) and whose layers form a chain (every cnnlab model does).
It reads the model only through the public API (``model.layers``, calling a layer,
``layer.get_config()``, ``layer.get_weights()``), so any cnnlab model works, trained
by ``cnnlab train`` or loaded from a Keras file.

The layer outputs come from calling the layers (the library's own ops).  The steps
(``conv_step``, ``pool_step``, ``dense_step``) redo one output from the definition, in
NumPy, beside the value the layer computed, so that the page shows the arithmetic and
the learner can see that it gives the layer's number.
"""

import threading

import numpy as np

from ...datasets import CLASS_NAMES

# Decimals kept in the maps, filters and units sent to the page (float32 holds about 7 digits).
DECIMALS = 6
# How many of the largest (and of the most negative) contributions ``dense_step`` lists.
TOP_CONTRIBUTIONS = 10


class RequestError(ValueError):
    """A request the page (or any client) got wrong; ``status`` is its HTTP status (4xx)."""

    def __init__(self, message, status=400):
        super().__init__(message)
        self.status = status


class NetworkView:
    """One model as the explain page sees it.

    Args:
        model: a built model whose input is ``(batch, height, width, channels)`` with
            1 or 3 channels.
        title: how the page names the model.
        class_names: one name per output unit of the last layer (default: Fashion-MNIST's
            names for 10 outputs, else ``class 0``, ``class 1``, ...).

    Raises:
        ValueError: the model's input is not a picture, or it has no layers.

    Example:
        >>> view = NetworkView(model, "my model")
        >>> view.predict(pixels)["top"][0]["class"]
        'Ankle boot'
    """

    def __init__(self, model, title, class_names=None):
        from ... import keras

        self.model = model
        self.title = title
        self.layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
        if not self.layers:
            raise ValueError(f"{title}: the model has no layers to show")
        shape = tuple(model.input_shape)
        if len(shape) != 4 or shape[3] not in (1, 3) or not all(isinstance(d, int) and d > 0 for d in shape[1:]):
            raise ValueError(
                f"{title}: the explain page shows models whose input is a picture (height, width, 1 or 3 channels); "
                f"this model takes inputs of shape {shape}"
            )
        self.picture_size = shape[1:3]
        self.channels = shape[3]
        # Calling a layer is safe from several threads for cnnlab's layers, but not for a user's own
        # layer that keeps state between calls, and a GradientTape opened by any thread records every
        # thread's ops: the page's requests therefore run the model one at a time.
        self._lock = threading.Lock()
        outputs = self._outputs(np.zeros(self.picture_size, dtype=np.uint8))
        self.num_outputs = int(outputs[-1].size)
        if class_names is None:
            class_names = CLASS_NAMES if self.num_outputs == len(CLASS_NAMES) else None
        self.class_names = list(class_names or (f"class {i}" for i in range(self.num_outputs)))
        self._kinds = [_kind(layer) for layer in self.layers]

    # ---- what the page asks for ----------------------------------------------------------

    def describe(self):
        """The model's name, input, classes and layers (without values)."""
        return {
            "title": self.title,
            "input_shape": [*self.picture_size, self.channels],
            "class_names": self.class_names,
            "layers": [
                {
                    "index": i,
                    "name": layer.name,
                    "class": type(layer).__name__,
                    "kind": kind,
                    "summary": _summary(layer),
                }
                for i, (layer, kind) in enumerate(zip(self.layers, self._kinds))
            ],
        }

    def predict(self, pixels, top=3):
        """The model's class probabilities for a picture, and the ``top`` most likely classes.

        Args:
            pixels: uint8 array of the picture size (a dark background, as Fashion-MNIST).
            top: how many classes to list, most likely first.

        Returns:
            ``{"probabilities": [...], "top": [{"class", "label", "probability"}, ...],
            "softmax_applied": bool}``; when the last layer's outputs are not already
            probabilities (logits), they are passed through a softmax first.
        """
        outputs = self._outputs(pixels)
        scores = outputs[-1].reshape(-1).astype(np.float64)
        probabilities, softmax_applied = _as_probabilities(scores)
        best = np.argsort(-probabilities, kind="stable")[:top]
        return {
            "probabilities": probabilities.tolist(),
            "top": [
                {"class": self.class_names[i], "label": int(i), "probability": float(probabilities[i])} for i in best
            ],
            "softmax_applied": softmax_applied,
        }

    def layer_values(self, pixels):
        """The model's input and every layer's output for one picture, with each conv layer's filters.

        Returns:
            ``{"input": column, "layers": [column, ...]}``; a column has ``shape``,
            ``min``, ``max`` and either ``maps`` (one ``[row][col]`` list per channel, for
            (height, width, channels) outputs) or ``units`` (a flat list); a conv
            column also has ``filters`` (one ``[row][col][in_channel]`` list per output
            channel) and ``biases``.  Values are rounded to ``DECIMALS`` decimals.
        """
        outputs = self._outputs(pixels)
        columns = []
        for i, (layer, kind, output) in enumerate(zip(self.layers, self._kinds, outputs[1:])):
            column = {"index": i, "name": layer.name, "class": type(layer).__name__, "kind": kind}
            column.update(_column_values(output))
            if kind == "conv":
                kernel, bias = _conv_weights(layer)
                column["filters"] = [_rounded(kernel[..., c]) for c in range(kernel.shape[3])]
                column["biases"] = _rounded(bias)
            if i == len(self.layers) - 1 and output.ndim == 1:
                column["unit_names"] = self.class_names
            columns.append(column)
        return {"input": {"name": "input", "kind": "input", **_column_values(outputs[0])}, "layers": columns}

    def conv_step(self, pixels, layer_index, channel, row, col):
        """One output of a Conv2D layer worked out: input patch x filter, summed, + bias, activation.

        Args:
            pixels: the picture.
            layer_index: which of ``layers`` (a Conv2D).
            channel, row, col: the output position.

        Returns:
            A dict: ``origin`` (the window's first input row and column, negative on the
            padding), ``extent`` (its height and width, dilation included), ``rows`` /
            ``cols`` (the input rows and columns under it, -1 where it lies on padding),
            ``input_channels`` (those the filter reads), ``patch`` and ``filter``
            (``[row][col][in_channel]``, the patch 0 on padding), ``products``, ``sum`` (of
            the products), ``bias``, ``pre_activation`` (sum + bias), ``activation`` (its
            name), ``value`` (the activation applied by cnnlab) and ``layer_value`` (the
            layer's own output there).
        """
        layer = self._layer(layer_index, "conv", "a Conv2D")
        outputs = self._outputs(pixels)
        inputs, output = outputs[layer_index], outputs[layer_index + 1]
        self._check_position(output, channel, row, col, layer)
        config = layer.get_config()
        kernel, bias = _conv_weights(layer)
        kernel_h, kernel_w = kernel.shape[:2]
        dilation = tuple(config.get("dilation_rate", (1, 1)))
        strides = tuple(config["strides"])
        origin, rows = _window(row, inputs.shape[0], kernel_h, strides[0], dilation[0], config["padding"])
        origin_col, cols = _window(col, inputs.shape[1], kernel_w, strides[1], dilation[1], config["padding"])
        group_channels = kernel.shape[2]
        group = channel // (kernel.shape[3] // (inputs.shape[2] // group_channels))
        channels = slice(group * group_channels, (group + 1) * group_channels)
        patch = _take(inputs[:, :, channels], rows, cols, fill=0.0)
        weights = kernel[:, :, :, channel].astype(np.float64)
        products = patch * weights
        total = float(products.sum())
        pre_activation = total + float(bias[channel])
        activation = _activation_name(config.get("activation"))
        return {
            "layer": layer_index,
            "name": layer.name,
            "channel": channel,
            "row": row,
            "col": col,
            "origin": [origin, origin_col],
            "extent": [(kernel_h - 1) * dilation[0] + 1, (kernel_w - 1) * dilation[1] + 1],
            "rows": rows.tolist(),
            "cols": cols.tolist(),
            "input_channels": list(range(channels.start, channels.stop)),
            "patch": patch.tolist(),
            "filter": weights.tolist(),
            "products": products.tolist(),
            "sum": total,
            "bias": float(bias[channel]),
            "pre_activation": pre_activation,
            "activation": activation,
            "value": _activate(activation, pre_activation, layer.dtype),
            "layer_value": float(output[row, col, channel]),
        }

    def pool_step(self, pixels, layer_index, channel, row, col):
        """One output of a pooling layer: its window of the input and the maximum (or mean) there.

        Returns:
            A dict: ``origin``, ``extent``, ``rows`` / ``cols`` (as for ``conv_step``),
            ``window`` (values, None on padding, which never counts), ``op`` ('max' or
            'average'), ``result`` (from the window), ``argmax`` ([i, j] in the window, for
            'max') and ``layer_value`` (the layer's own output there).
        """
        layer = self._layer(layer_index, "pool", "a MaxPooling2D or AveragePooling2D")
        outputs = self._outputs(pixels)
        inputs, output = outputs[layer_index], outputs[layer_index + 1]
        self._check_position(output, channel, row, col, layer)
        config = layer.get_config()
        pool_h, pool_w = config["pool_size"]
        strides = tuple(config["strides"])
        origin, rows = _window(row, inputs.shape[0], pool_h, strides[0], 1, config["padding"])
        origin_col, cols = _window(col, inputs.shape[1], pool_w, strides[1], 1, config["padding"])
        window = _take(inputs[:, :, channel : channel + 1], rows, cols, fill=np.nan)[:, :, 0]
        inside = ~np.isnan(window)
        from ... import keras

        if isinstance(layer, keras.layers.MaxPooling2D):
            op = "max"
            argmax = np.unravel_index(np.nanargmax(window), window.shape)
            result = float(window[argmax])
        else:
            op, argmax = "average", None
            result = float(window[inside].mean())
        return {
            "layer": layer_index,
            "name": layer.name,
            "channel": channel,
            "row": row,
            "col": col,
            "origin": [origin, origin_col],
            "extent": [pool_h, pool_w],
            "rows": rows.tolist(),
            "cols": cols.tolist(),
            "window": [[float(v) if ok else None for v, ok in zip(r, m)] for r, m in zip(window, inside)],
            "op": op,
            "argmax": None if argmax is None else [int(argmax[0]), int(argmax[1])],
            "result": result,
            "layer_value": float(output[row, col, channel]),
        }

    def dense_step(self, pixels, layer_index, unit, top=TOP_CONTRIBUTIONS):
        """One unit of a Dense layer: which inputs x weights push it up or down most.

        Returns:
            A dict: ``largest`` and ``smallest`` (the ``top`` largest and most negative
            contributions, each ``{"input", "x", "weight", "product", "source"}``, where
            ``source`` is ``[row, col, channel]`` of the map that the flattened input came
            from, or None), ``rest`` (the sum of the other contributions), ``sum`` (all of
            them), ``bias``, ``pre_activation``, ``activation``, ``value`` (the activation
            applied by cnnlab; for softmax, over all the units' pre-activations,
            ``pre_activations``) and ``layer_value``.
        """
        layer = self._layer(layer_index, "dense", "a Dense")
        outputs = self._outputs(pixels)
        inputs, output = outputs[layer_index], outputs[layer_index + 1]
        if inputs.ndim != 1:
            raise RequestError(
                f"layer {layer_index} ({layer.name}) is a Dense layer on {inputs.ndim}-D inputs; "
                "the page explains Dense layers on flat inputs"
            )
        if not _is_index(unit) or not 0 <= unit < output.size:
            raise RequestError(f"unit: expected a whole number 0-{output.size - 1} for {layer.name}; received {unit!r}")
        config = layer.get_config()
        weights = layer.get_weights()
        kernel = np.asarray(weights[0], dtype=np.float64)
        biases = np.asarray(weights[1], dtype=np.float64) if config.get("use_bias", True) else np.zeros(output.size)
        x = inputs.astype(np.float64)
        products = x * kernel[:, unit]
        order = np.argsort(-products, kind="stable")
        count = min(top, products.size)
        largest = [i for i in order[:count] if products[i] > 0]
        smallest = [i for i in order[::-1][:count] if products[i] < 0]
        # A Dense layer after Flatten: each input is one cell of the maps before Flatten.
        flattened = outputs[layer_index - 1] if layer_index > 0 and self._kinds[layer_index - 1] == "flatten" else None
        source_shape = flattened.shape if flattened is not None and flattened.ndim == 3 else None
        total = float(products.sum())
        pre_activations = x @ kernel + biases
        activation = _activation_name(config.get("activation"))
        if activation == "softmax":
            value = float(
                np.asarray(_keras_activation("softmax")(pre_activations[np.newaxis].astype(layer.dtype)))[0, unit]
            )
        else:
            value = _activate(activation, float(pre_activations[unit]), layer.dtype)

        def contribution(i):
            source = None if source_shape is None else [int(v) for v in np.unravel_index(i, source_shape)]
            return {
                "input": int(i),
                "x": float(x[i]),
                "weight": float(kernel[i, unit]),
                "product": float(products[i]),
                "source": source,
            }

        rest = np.ones(products.size, dtype=bool)
        rest[largest + smallest] = False
        return {
            "layer": layer_index,
            "name": layer.name,
            "unit": unit,
            "unit_name": self.class_names[unit] if layer_index == len(self.layers) - 1 else None,
            "inputs": int(x.size),
            "largest": [contribution(i) for i in largest],
            "smallest": [contribution(i) for i in smallest],
            "rest": float(products[rest].sum()),
            "sum": total,
            "bias": float(biases[unit]),
            "pre_activation": float(pre_activations[unit]),
            "pre_activations": pre_activations.tolist() if activation == "softmax" else None,
            "activation": activation,
            "value": value,
            "layer_value": float(output[unit]),
        }

    # ---- helpers ---------------------------------------------------------------------------

    def model_input(self, pixels):
        """uint8 pixels (height, width) -> the float32 batch (1, height, width, channels) in [0, 1]."""
        batch = (np.asarray(pixels, dtype=np.float32) / np.float32(255.0))[np.newaxis, :, :, np.newaxis]
        return np.repeat(batch, self.channels, axis=3) if self.channels > 1 else batch

    def _outputs(self, pixels):
        """``[model input, output of layer 0, output of layer 1, ...]``, batch axis dropped."""
        values = self.model_input(pixels)
        outputs = [values[0]]
        with self._lock:
            for layer in self.layers:
                values = np.asarray(layer(values, training=False))
                outputs.append(values[0])
        return outputs

    def _layer(self, index, kind, description):
        if not _is_index(index) or not 0 <= index < len(self.layers):
            raise RequestError(f"layer: expected a layer index 0-{len(self.layers) - 1}; received {index!r}")
        layer = self.layers[index]
        if self._kinds[index] != kind:
            raise RequestError(f"layer {index} ({layer.name}) is a {type(layer).__name__}, not {description}")
        return layer

    @staticmethod
    def _check_position(output, channel, row, col, layer):
        height, width, channels = output.shape
        for name, value, size in (("channel", channel, channels), ("row", row, height), ("col", col, width)):
            if not _is_index(value) or not 0 <= value < size:
                raise RequestError(
                    f"{name}: expected a whole number 0-{size - 1} for {layer.name} "
                    f"(output {height}x{width}x{channels}); received {value!r}"
                )


def _kind(layer):
    from ... import keras

    if isinstance(layer, keras.layers.Conv2D):
        return "conv"
    if isinstance(layer, (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)):
        return "pool"
    if isinstance(layer, keras.layers.Dense):
        return "dense"
    if isinstance(layer, keras.layers.Flatten):
        return "flatten"
    return "other"


def _summary(layer):
    """One line about a layer's settings, as the page heads its column."""
    config = layer.get_config()
    kind = _kind(layer)
    if kind == "conv":
        height, width = config["kernel_size"]
        text = f"{config['filters']} filters {height}x{width}, stride {_pair(config['strides'])}, {config['padding']}"
        return text + f", {_activation_name(config.get('activation'))}"
    if kind == "pool":
        height, width = config["pool_size"]
        return f"{height}x{width} window, stride {_pair(config['strides'])}, {config['padding']}"
    if kind == "dense":
        return f"{config['units']} units, {_activation_name(config.get('activation'))}"
    if "activation" in config:
        return _activation_name(config["activation"])
    return ""


def _pair(values):
    values = list(values)
    return str(values[0]) if len(set(values)) == 1 else "x".join(str(v) for v in values)


def _activation_name(activation):
    """The name in a layer's config ('relu'), 'linear' for none, 'custom' for one the config cannot name."""
    if activation is None:
        return "linear"
    return activation if isinstance(activation, str) else "custom"


def _keras_activation(name):
    from ... import keras

    return keras.activations.get(name)


def _activate(name, value, dtype):
    """``activation(value)`` by cnnlab's own function, as the layer applies it."""
    if name == "custom":
        return None
    return float(np.asarray(_keras_activation(name)(np.array([value], dtype=dtype)))[0])


def _conv_weights(layer):
    weights = layer.get_weights()
    kernel = np.asarray(weights[0])
    bias = np.asarray(weights[1]) if len(weights) > 1 else np.zeros(kernel.shape[3], dtype=kernel.dtype)
    return kernel, bias


def _window(index, size, window, stride, dilation, padding):
    """``(origin, positions)``: where output ``index``'s window starts along one axis (negative
    on the padding) and the input positions under it, -1 on padding.

    TensorFlow's rule: 'valid' pads nothing; 'same' pads ``max((out - 1) * stride +
    k_eff - size, 0)`` cells with the smaller half before, ``k_eff = (k - 1) * dilation + 1``.
    """
    k_eff = (window - 1) * dilation + 1
    before = 0
    if padding == "same":
        out = -(-size // stride)
        before = max((out - 1) * stride + k_eff - size, 0) // 2
    origin = index * stride - before
    positions = origin + dilation * np.arange(window)
    return origin, np.where((positions >= 0) & (positions < size), positions, -1)


def _take(values, rows, cols, fill):
    """``values[rows][:, cols]`` (height, width, channels) as float64, ``fill`` where a position is -1."""
    patch = values[np.clip(rows, 0, None)][:, np.clip(cols, 0, None)].astype(np.float64)
    patch[rows < 0] = fill
    patch[:, cols < 0] = fill
    return patch


def _is_index(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _as_probabilities(scores):
    """``scores`` if they already are probabilities, else their softmax (logits)."""
    if scores.min() >= 0 and abs(scores.sum() - 1) < 1e-3:
        return scores, False
    shifted = np.exp(scores - scores.max())
    return shifted / shifted.sum(), True


def _rounded(values):
    """A nested list of ``values`` rounded to ``DECIMALS`` decimals; NaN and infinities as None (JSON has neither)."""
    values = np.round(np.asarray(values, dtype=np.float64), DECIMALS)
    if np.isfinite(values).all():
        return values.tolist()
    return np.where(np.isfinite(values), values, None).tolist()


def _column_values(output):
    """A layer output as a page column: maps (height, width, channels outputs) or units."""
    finite = output[np.isfinite(output)]
    column = {
        "shape": list(output.shape),
        "min": float(finite.min()) if finite.size else 0.0,
        "max": float(finite.max()) if finite.size else 0.0,
    }
    if output.ndim == 3:
        column["maps"] = [_rounded(output[:, :, c]) for c in range(output.shape[2])]
    else:
        column["units"] = _rounded(output.reshape(-1))
    return column
