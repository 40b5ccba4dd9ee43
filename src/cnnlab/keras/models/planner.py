"""The planner: how a model's layers run, and the one place that decides which run as one op.

Sequential and functional models describe their layers as a graph of nodes
``(layer, input keys, output key)`` in an order where every input is made before it
is read, and ``Plan`` runs it.  Each layer is called as Keras calls it
(``Layer.__call__``: build, input checks, casts, the ``training`` flag) unless a rule
below runs it, alone or with the layer after it, as one of ``ops.fused_ops``' ops.  The
layers themselves know nothing of fusion: their ``call`` is the plain composition of
``tf.nn`` ops, which is also what a fused op computes (up to rounding).

Rules, tried in order at each node:

1. ``conv_pool``: a ``Conv2D`` whose activation is a ReLU or none, read only by a
   ``MaxPooling2D`` with 2x2 windows, stride 2 and 'valid' padding: conv, bias, ReLU
   and pool as one op (the ReLU commutes with the max).
2. ``conv``: a ``Conv2D``: conv, bias and ReLU as one op; another activation after it.
3. ``dense``: a ``Dense``: product, bias and ReLU as one op; another activation after it.
4. ``batch_norm``: a ``BatchNormalization`` in training (trainable, channels last, not
   synchronized across an MPI job), with the ReLU after it when one follows (a ``ReLU``
   layer with its defaults, or ``Activation('relu')``) and reads nothing else: the
   normalization, the ReLU and their closed-form gradient as one op, in two passes over
   memory each way; the moving statistics updated from the batch's.
5. ``max_pool_dropout``: a ``MaxPooling2D`` read by a ``Dropout`` alone (as rule 6 asks): the
   pool and the dropout as one op.
6. ``dropout``: a ``Dropout`` reading a step of rules 1-5 alone (with no arguments of its own,
   and no model output): in training, folded into that step's op, which multiplies its
   output in place by the keep factor (the same draws ``tf.nn.dropout`` makes, from the
   same generator: the same mask and values as the layer's own call) and scales the
   gradient in its backward pass; in inference the identity, as the layer.  Where the
   step's op cannot take it this call (another activation after a Conv2D or Dense, a
   Dense on a rank-3 input, the step falling back to its layers), the Dropout layer runs
   after it.  (A Dropout after rule 0's step runs as its own layer.)
7. Any other layer, and a layer called on several tensors or with arguments of its own
   (``training=False``): ``layer(x, training=training)``.

A graph may branch: a step whose output is read by several later steps is not fused with
any of them.  One rule joins branches, before the others:

0. ``residual``: an ``Add`` of two tensors, one of them a ``BatchNormalization``'s output
   (in training, as rule 4) read by nothing else, with the ReLU after the sum when one
   follows and reads nothing else: ``relu(batch_norm(x) + shortcut)`` as one op, the
   residual block's end, run where the sum was (both its inputs exist then).

A rule applies to a layer whose class computes what the rule's op computes: the
layer's class or a subclass that does not override ``call``.  A fused step checks, each
time it runs, what may have changed since the plan was made (the layer built, its
activation, the input's dtype and shape); when the check fails, the layers run one by
one as rule 7 runs them.  A new fusion is one rule here and one op in
``ops.fused_ops``.
"""

from ... import nest
from ...ops import array_ops, collective_ops, fused_ops
from ...tensor import Tensor
from .. import activations
from ..layers.base import CallArguments, Layer
from ..layers.conv import Conv2D
from ..layers.core import Activation, Dense, Dropout, ReLU
from ..layers.merging import Add
from ..layers.normalization import BatchNormalization
from ..layers.pooling import MaxPooling2D


def chain(*layers):
    """The plan of ``layers`` applied one after the other, as a Sequential model of them runs:
    for a layer of one's own that calls such a chain of cnnlab's layers in its ``call``
    (``plan.call(x, training)``), so that they run as the planner's ops.

    Example:
        >>> branch = chain(keras.layers.Conv2D(8, 3, use_bias=False), keras.layers.BatchNormalization())
        >>> out = branch.call(images, training=True)   # conv, then the fused batch normalization
    """
    nodes = [Node(layer, (position,), position + 1) for position, layer in enumerate(layers)]
    return Plan(nodes, outputs=(len(layers),))


class Node:
    """One layer call of a model's graph: ``layer`` applied to the values under ``inputs`` (keys),
    its result stored under ``output``.

    Args:
        layer: the layer called.
        inputs: the keys of the values it is called on.
        output: the key its result is stored under, or a tuple of keys for a call that
            returns several tensors (stored in the order ``nest.flatten`` gives them).
        pack: for a layer called on several tensors, a function making its argument (a
            list, tuple or dict) from their values in order; None: one tensor.
        arguments: other keyword arguments of the call (``training=False``).
    """

    __slots__ = ("layer", "inputs", "output", "pack", "arguments")

    def __init__(self, layer, inputs, output, pack=None, arguments=None):
        self.layer, self.inputs, self.output = layer, tuple(inputs), output
        self.pack, self.arguments = pack, dict(arguments or {})


class Plan:
    """How to run a graph of ``Node``s: a list of steps, each one layer or a few layers as one op.

    Args:
        nodes: the graph's nodes, every input made before it is read.
        outputs: the keys of the values the graph returns.
        inputs: the keys of the values the graph is given (default: the first node's input).
    """

    def __init__(self, nodes, outputs, inputs=None):
        self.inputs = tuple(inputs) if inputs is not None else (nodes[0].inputs[0],) if nodes else ()
        self.outputs = tuple(outputs)
        readers = {}
        for node in nodes:
            for key in node.inputs:
                readers[key] = readers.get(key, 0) + 1
        residuals = _residual_sums(nodes, readers, self.outputs)
        absorbed = {position for step in residuals.values() for position in step.positions[:1] + step.positions[2:]}
        steps, index = [], 0
        while index < len(nodes):
            if index in absorbed:  # run by the residual step at its sum's place
                index += 1
                continue
            step = residuals.get(index)
            if step is None:
                step = _apply_rules(nodes, index, readers, self.outputs)
                _fold_dropout(step, nodes, index + len(step.layers), readers, self.outputs)
            steps.append(step)
            index += 1 if index in residuals else len(step.layers)
        self.steps = steps
        # The values no later step reads, dropped after each step (not the outputs).
        last_read = {}
        for position, step in enumerate(steps):
            for key in step.inputs:
                last_read[key] = position
        self._drop_after = [[] for _ in steps]
        for key, position in last_read.items():
            if key not in self.outputs:
                self._drop_after[position].append(key)

    def run(self, values, training):
        """Run the steps on ``values`` (a dict of the graph's input keys to tensors); returns the
        outputs' values, in order."""
        for step, drop in zip(self.steps, self._drop_after):
            result = step(*[values[key] for key in step.inputs], training=training)
            if type(step.output) is tuple:  # a call that returns several tensors
                values.update(zip(step.output, nest.flatten(result)))
            else:
                values[step.output] = result
            for key in drop:
                del values[key]
        return [values[key] for key in self.outputs]

    def call(self, x, training=None):
        """``run`` for a plan of one input and one output: the output's value for ``x``."""
        return self.run({self.inputs[0]: x}, training)[0]

    @property
    def stateless_inference(self):
        """Whether every layer declares that its inference changes no state (``Layer._stateless_inference``):
        then two batches may run through the plan at the same time."""
        return all(_stateless(layer) for step in self.steps for layer in step.layers)


def _stateless(layer):
    return layer._stateless_inference and all(inner._stateless_inference for inner in layer._descendants())


def _computes_as(layer, cls):
    """Whether ``layer`` computes what ``cls`` does: an instance whose class does not override ``call``
    (or ``__call__``), without an activity regularizer (which adds a loss at each call)."""
    kind = type(layer)
    return (
        isinstance(layer, cls)
        and kind.call is cls.call
        and kind.__call__ is Layer.__call__
        and layer.activity_regularizer is None
    )


def _apply_rules(nodes, index, readers, outputs):
    node = nodes[index]
    layer, following = node.layer, nodes[index + 1] if index + 1 < len(nodes) else None
    if node.arguments or node.pack is not None:  # called with arguments of its own, or on several tensors
        return LayerStep(node)
    if _computes_as(layer, Conv2D):
        if (
            following is not None
            and _computes_as(following.layer, MaxPooling2D)
            and following.inputs == (node.output,)
            and readers.get(node.output) == 1
            and node.output not in outputs
        ):
            return ConvStep(node, following)
        return ConvStep(node)
    if _computes_as(layer, Dense):
        return DenseStep(node)
    if _computes_as(layer, BatchNormalization):
        if following is not None and _is_plain_relu(following.layer) and _reads_only(following, node, readers, outputs):
            return BatchNormStep(node, following)
        return BatchNormStep(node)
    if (
        _computes_as(layer, MaxPooling2D)
        and type(layer)._pool is MaxPooling2D._pool
        and _drops_alone(following, node.output, readers, outputs)
    ):
        return PoolStep(node)
    return LayerStep(node)


def _fold_dropout(step, nodes, position, readers, outputs):
    """Rule 6: folds the node at ``position`` into ``step`` when it is a Dropout that reads the step's
    output alone."""
    if not isinstance(step, _FusedStep) or position >= len(nodes):
        return
    node = nodes[position]
    if _drops_alone(node, step.output, readers, outputs):
        step.dropout = node.layer
        step.layers += (node.layer,)
        step.output = node.output


def _drops_alone(node, key, readers, outputs):
    """Whether ``node`` is a Dropout called on the value under ``key`` alone (with no arguments of its
    own), and nothing else (and no model output) needs that value."""
    return (
        node is not None
        and _computes_as(node.layer, Dropout)
        and node.inputs == (key,)
        and node.pack is None
        and not node.arguments
        and readers.get(key) == 1
        and key not in outputs
    )


def _reads_only(reader, node, readers, outputs):
    """Whether ``reader`` takes ``node``'s output as its one input (with no arguments of its own), and
    nothing else (and no model output) needs that value."""
    return (
        reader.inputs == (node.output,)
        and reader.pack is None
        and not reader.arguments
        and readers.get(node.output) == 1
        and node.output not in outputs
    )


def _is_plain_add(node):
    """Whether ``node`` is ``Add()([a, b])``: an ``Add`` whose class changes nothing of its sum, on two tensors."""
    layer, kind = node.layer, type(node.layer)
    return (
        _computes_as(layer, Add)
        and kind._merge is Add._merge
        and kind._combine is Add._combine
        and len(node.inputs) == 2
        and not node.arguments
    )


def _residual_sums(nodes, readers, outputs):
    """Rule 0: ``{position of the Add: its ResidualStep}`` for each sum of a BatchNormalization's
    output (read by nothing else) and another tensor, with the plain ReLU reading the sum alone
    when there is one."""
    producers = {node.output: position for position, node in enumerate(nodes) if type(node.output) is not tuple}
    readers_of = {}
    for position, node in enumerate(nodes):
        for key in node.inputs:
            readers_of.setdefault(key, []).append(position)
    residuals = {}
    for position, node in enumerate(nodes):
        if not _is_plain_add(node):
            continue
        for side, key in enumerate(node.inputs):
            norm = producers.get(key)
            if norm is None or norm in {p for step in residuals.values() for p in step.positions}:
                continue
            norm_node = nodes[norm]
            if not _computes_as(norm_node.layer, BatchNormalization) or norm_node.pack is not None or norm_node.arguments:
                continue
            if readers.get(key) != 1 or key in outputs or node.inputs[1 - side] == key:
                continue
            relu = None
            sum_readers = readers_of.get(node.output, [])
            if len(sum_readers) == 1:
                candidate = nodes[sum_readers[0]]
                if _is_plain_relu(candidate.layer) and _reads_only(candidate, node, readers, outputs):
                    relu = sum_readers[0]
            residuals[position] = ResidualStep(nodes, norm, position, relu, side)
            break
    return residuals


def _is_plain_relu(layer):
    """Whether ``layer`` is ``max(x, 0)``: a ``ReLU`` layer with its defaults, or ``Activation('relu')``."""
    if _computes_as(layer, ReLU):
        return layer.max_value is None and layer.negative_slope == 0 and layer.threshold == 0
    return _computes_as(layer, Activation) and layer.activation is activations.relu


class LayerStep:
    """Rule 7: one layer, called as Keras calls it (a ``training`` given to the call itself, as in
    ``base_model(x, training=False)``, wins over the model's)."""

    def __init__(self, node):
        self.layers, self.inputs, self.output = (node.layer,), node.inputs, node.output
        self.pack = node.pack
        self.training = node.arguments.get("training")
        self.arguments = {key: value for key, value in node.arguments.items() if key != "training"}

    def __call__(self, *inputs, training):
        if self.training is not None:
            training = self.training
        if self.pack is None:
            return self.layers[0](inputs[0], training=training, **self.arguments)
        packed = self.pack(list(inputs))
        if isinstance(packed, CallArguments):  # tensors in several positional arguments
            return self.layers[0](*packed, training=training, **self.arguments)
        return self.layers[0](packed, training=training, **self.arguments)


def _ready(layer, x):
    """Whether a fused step can run ``layer`` on ``x`` as ``Layer.__call__`` would, without its
    per-call work: ``x`` a tensor of the layer's dtype (no cast), the layer built, and the
    input accepted by its spec (a ValueError naming the layer otherwise, as ``__call__`` raises)."""
    if not isinstance(x, Tensor) or not layer.built or x._value.dtype != layer._dtype:
        return False
    if layer.input_spec is not None:
        layer.input_spec.check(x._value.shape, layer)
    return True


def _one_by_one(layers, x, training):
    for layer in layers:
        x = layer(x, training=training)
    return x


class _FusedStep:
    """What the steps of rules 1-5 share: the Dropout rule 6 may fold into their op (then the last
    of their ``layers``)."""

    dropout = None

    def _folded(self, dtype, training):
        """How the folded Dropout runs this call, on the op's output of ``dtype``: ``(rate, noise_shape,
        seed)``, the op's ``dropout`` argument, when it drops values inside the op (built, taking
        ``dtype`` without a cast, as its own call would); ``()`` when it is the identity
        (inference, rate 0); None when there is none or it runs as a layer after the op (``_after``)."""
        layer = self.dropout
        if layer is None or not layer.built or layer._input_dtype != dtype or layer.input_spec is not None:
            return None
        if training is None:
            training = layer._inherited_training
        if not training or layer.rate == 0:  # the identity: Dropout's call returns its input
            return ()
        return (layer.rate, layer.noise_shape, layer.seed)

    def _after(self, out, folded, training):
        """``out`` past the folded Dropout, given what ``_folded`` said (the layer's own call when it did
        not run in the op)."""
        if self.dropout is None or folded is not None:
            return out
        return self.dropout(out, training=training)


def _op_dropout(folded):
    """``_FusedStep._folded``'s answer as the op's ``dropout`` argument."""
    return folded or None


class ConvStep(_FusedStep):
    """Rules 1 and 2: a Conv2D (and the 2x2 MaxPooling2D after it) as one op."""

    def __init__(self, node, pool_node=None):
        self.layers = (node.layer,) if pool_node is None else (node.layer, pool_node.layer)
        self.pool = pool_node is not None
        self.inputs = node.inputs
        self.output = node.output if pool_node is None else pool_node.output

    def __call__(self, x, training):
        conv = self.layers[0]
        if not _ready(conv, x) or (self.pool and not self._pools(conv, self.layers[1])):
            return _one_by_one(self.layers, x, training)
        relu = conv.activation is activations.relu
        plain = relu or conv.activation is activations.linear
        folded = self._folded(conv._dtype, training) if plain else None
        out = fused_ops.conv2d_bias_relu(
            x, conv.kernel, conv.bias, conv.strides, conv.padding.upper(), conv.dilation_rate, relu,
            max_pool=self.pool, dropout=_op_dropout(folded),
        )  # fmt: skip
        return self._after(out if plain else conv.activation(out), folded, training)

    @staticmethod
    def _pools(conv, pool):
        """Whether the pool runs inside the conv's op: a ReLU or no activation (which commute with
        the max), 2x2 windows of stride 2 over the whole ('valid') input, the same dtype."""
        return (
            conv.activation in (activations.relu, activations.linear)
            and pool.built
            and pool.pool_size == pool.strides == (2, 2)
            and pool.padding == "valid"
            and pool._dtype == conv._dtype
        )


class DenseStep(_FusedStep):
    """Rule 3: a Dense layer's product, bias and ReLU as one op."""

    def __init__(self, node):
        self.layers, self.inputs, self.output = (node.layer,), node.inputs, node.output

    def __call__(self, x, training):
        dense = self.layers[0]
        if not _ready(dense, x):
            return _one_by_one(self.layers, x, training)
        relu = dense.activation is activations.relu
        plain = relu or dense.activation is activations.linear
        # On a higher-rank input the product runs on its rows: a noise shape would not fit them.
        folded = self._folded(dense._dtype, training) if plain and x.ndim == 2 else None
        if x.ndim == 2:
            out = fused_ops.dense_bias_relu(x, dense.kernel, dense.bias, relu, dropout=_op_dropout(folded))
        else:  # on the last axis of a higher-rank input
            leading = tuple(x.shape[:-1])
            flat = fused_ops.dense_bias_relu(array_ops.reshape(x, (-1, x.shape[-1])), dense.kernel, dense.bias, relu)
            out = array_ops.reshape(flat, (*leading, dense.units))
        return self._after(out if plain else dense.activation(out), folded, training)


class BatchNormStep(_FusedStep):
    """Rule 4: BatchNormalization in training, with the ReLU after it, as one op (in inference, the
    layers' own calls)."""

    def __init__(self, node, relu_node=None):
        self.layers = (node.layer,) if relu_node is None else (node.layer, relu_node.layer)
        self.relu = relu_node is not None
        self.inputs = node.inputs
        self.output = node.output if relu_node is None else relu_node.output

    def __call__(self, x, training):
        norm = self.layers[0]
        if training is None:
            training = norm._inherited_training
        synchronized = norm.synchronized and collective_ops.in_parallel_job()
        if synchronized or not (training and norm.trainable and _ready(norm, x) and norm._channel_axis == x.ndim - 1):
            return _one_by_one(self.layers, x, training)
        if self.relu and not _is_plain_relu(self.layers[1]):
            return _one_by_one(self.layers, x, training)
        folded = self._folded(norm._dtype, training)
        out, mean, variance = fused_ops.batch_norm_training(
            x, norm.gamma, norm.beta, norm.epsilon, relu=self.relu, dropout=_op_dropout(folded)
        )
        norm._update_moving_statistics(mean, variance)
        return self._after(out, folded, training)


class PoolStep(_FusedStep):
    """Rule 5: a MaxPooling2D with the Dropout after it as one op in training (in inference, the layers'
    own calls)."""

    def __init__(self, node):
        self.layers, self.inputs, self.output = (node.layer,), node.inputs, node.output

    def __call__(self, x, training):
        pool = self.layers[0]
        folded = self._folded(pool._dtype, training) if _ready(pool, x) else None
        if not folded:
            return _one_by_one(self.layers, x, training)
        return fused_ops.max_pool2d_dropout(x, pool.pool_size, pool.strides, pool.padding.upper(), folded)


class ResidualStep:
    """Rule 0: ``relu(batch_norm(x) + shortcut)`` as one op in training (in inference, or when the
    checks fail, the layers' own calls)."""

    def __init__(self, nodes, norm, add, relu, side):
        self.positions = (norm, add) + (() if relu is None else (relu,))
        self.layers = tuple(nodes[position].layer for position in self.positions)
        add_node = nodes[add]
        self.side = side  # the place of the normalization's output among the sum's inputs
        self.pack = add_node.pack
        self.inputs = (nodes[norm].inputs[0], add_node.inputs[1 - side])
        self.output = (add_node if relu is None else nodes[relu]).output

    def __call__(self, x, shortcut, training):
        norm, add = self.layers[:2]
        relu = len(self.layers) == 3
        if training is None:
            training = norm._inherited_training
        synchronized = norm.synchronized and collective_ops.in_parallel_job()
        fused = (
            not synchronized
            and training
            and norm.trainable
            and _ready(norm, x)
            and norm._channel_axis == x.ndim - 1
            and isinstance(shortcut, Tensor)
            and shortcut._value.dtype == x._value.dtype
            and shortcut.shape == x.shape
            and (not relu or _is_plain_relu(self.layers[2]))
        )
        if not fused:
            normalized = norm(x, training=training)
            pair = [normalized, shortcut] if self.side == 0 else [shortcut, normalized]
            out = add(self.pack(pair), training=training)
            return self.layers[2](out, training=training) if relu else out
        out, mean, variance = fused_ops.batch_norm_training(x, norm.gamma, norm.beta, norm.epsilon, relu=relu, residual=shortcut)
        norm._update_moving_statistics(mean, variance)
        return out
