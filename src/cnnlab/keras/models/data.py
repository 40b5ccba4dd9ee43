"""Checking and converting what users pass to fit / evaluate / predict, with advice on what to change,
and cutting it into batches.

What ``x`` may be (Keras's data adapters):

* arrays or tensors, samples on the first axis; for a model of several inputs a list (in
  the order of ``model.inputs``) or a dict (by input name) of them; ``y`` and
  ``sample_weight`` likewise (one per output, or one ``sample_weight`` for all);
* a ``tf.data.Dataset``, a Python generator (or any iterator), or a
  ``keras.utils.PyDataset`` / ``Sequence``, whose elements are whole batches: ``x``,
  ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)``.

Arrays are checked once, whole, before the first batch: a mistake shows up as one
clear error instead of a failure deep inside a layer.  Batches from the other sources
are checked as they come, and the first one is read ahead to build the model and check
the labels against the loss.

``EpochIterator`` runs the epochs as Keras 3's does: with ``steps_per_epoch`` the data
is read on from where the last epoch stopped (a generator or an infinite dataset is read
that way), starting a new pass once a pass of known length is used up; without it, each
epoch is one whole pass.  Data that runs out before ``steps_per_epoch`` steps ends the
epoch with Keras's warning; an epoch that gets no batch at all ends training.
"""

import math
import numbers
import warnings

import numpy as np

from ... import nest
from ...data.dataset import Dataset
from ...tensor import Tensor
from .. import serialization
from ..py_dataset import PyDataset


def _as_array(value, op, argument):
    if isinstance(value, Tensor):
        return value._value
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, (list, tuple)):
        array = np.asarray(value)
        if array.dtype != object:
            return array
    raise TypeError(
        f"{op}: {argument} must be a NumPy array or a cnnlab tensor (samples on the first axis); "
        f"received {type(value).__name__}."
    )


def _numbers(array, op, argument):
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{op}: {argument} must hold numbers; received dtype={array.dtype}.")
    if array.ndim == 0 or array.shape[0] == 0:
        raise ValueError(f"{op}: {argument} must hold at least one sample (first axis); received shape {array.shape}.")
    return array


def input_array(model, x, op, argument="x"):
    """``x`` as an array of the model's input dtype whose sample shape fits the model."""
    if x is None:
        raise ValueError(f"{op}: {argument} is required (the input samples).")
    array = _numbers(_as_array(x, op, argument), op, argument)
    check_input_shape(model._build_input_shape, array.shape, op, argument)
    # One conversion for the whole run, to the dtype of the model's input (uint8 images keep their
    # values: scale them yourself).
    return array if array.dtype == model._input_dtype else array.astype(model._input_dtype)


def _takes_structures(model):
    """Whether the model's inputs may be a list or dict of arrays: a functional model of several inputs,
    or a subclassed model (its ``call`` takes whatever it is given)."""
    if isinstance(model, serialization.model_class("Functional")):
        return len(model.inputs) > 1
    return not isinstance(model, serialization.model_class("Sequential"))


def _is_array_structure(value):
    return isinstance(value, dict) or (
        isinstance(value, (list, tuple))
        and bool(value)
        and all(isinstance(leaf, (np.ndarray, Tensor)) for leaf in nest.flatten(value))
    )


def inputs_of(model, x, op, argument="x"):
    """The model's inputs ``x`` as arrays: one array (``input_array``), or for a model that takes
    several a list / dict of arrays, each checked against its input's shape (floats in the model's
    dtype; integer inputs of an integer ``keras.Input`` kept)."""
    if x is None:
        raise ValueError(f"{op}: {argument} is required (the input samples).")
    Functional = serialization.model_class("Functional")  # noqa: N806 - see model_class
    several = isinstance(model, Functional) and len(model.inputs) > 1
    if not (_takes_structures(model) and _is_array_structure(x)):
        if several:
            names = model.input_names
            raise ValueError(
                f"{op}: the model takes {len(names)} inputs ({names}); give {argument} as a list of arrays in that "
                f"order or as a dict by input name; received {type(x).__name__}."
            )
        return input_array(model, x, op, argument)
    leaves = [_numbers(_as_array(leaf, op, argument), op, argument) for leaf in nest.flatten(x)]
    structure = nest.pack_sequence_as(x, leaves)
    if several:
        flat = model.flat_inputs(structure, op)
        for tensor, array in zip(model.inputs, flat):
            check_input_shape((None, *tensor.shape[1:]), array.shape, op, f"{argument}['{tensor.source[0].name}']")
        dtypes = {id(array): np.dtype(tensor.dtype) for tensor, array in zip(model.inputs, flat)}
    else:
        dtypes = {}
    converted = []
    for array in leaves:
        dtype = dtypes.get(id(array), model._dtype)
        if array.dtype.kind == "f" or dtype.kind == "f":
            converted.append(array if array.dtype == dtype else array.astype(dtype))
        else:
            converted.append(array)
    return nest.pack_sequence_as(x, converted)


def label_array(y, op, argument="y"):
    if y is None:
        raise ValueError(f"{op}: {argument} is required (the labels); use predict() to get outputs without labels.")
    array = _as_array(y, op, argument)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{op}: {argument} must hold numbers; received dtype={array.dtype}.")
    if array.ndim == 0:
        raise ValueError(f"{op}: {argument} must have samples on its first axis; received a scalar.")
    return array


def labels_of(y, op, argument="y"):
    """Labels ``y`` as an array, or a list / dict of arrays for a model of several outputs."""
    if isinstance(y, dict) or (isinstance(y, (list, tuple)) and _is_array_structure(y)):
        return nest.pack_sequence_as(y, [label_array(leaf, op, argument) for leaf in nest.flatten(y)])
    return label_array(y, op, argument)


def weights_of(sample_weight, op, argument="sample_weight"):
    """Sample weights as an array of floats (or a list / dict of them, one per output)."""
    if sample_weight is None:
        return None
    if isinstance(sample_weight, dict) or _is_array_structure(sample_weight):
        return nest.pack_sequence_as(
            sample_weight, [weights_of(leaf, op, argument) for leaf in nest.flatten(sample_weight)]
        )
    array = _as_array(sample_weight, op, argument)
    if array.dtype.kind not in "biuf" or array.ndim == 0:
        raise ValueError(
            f"{op}: {argument} must be numbers, one per sample (shape (samples,)); received shape {array.shape}."
        )
    return array.astype(np.float32, copy=False)


def length_of(structure):
    return len(nest.flatten(structure)[0])


def check_lengths(x, y, op, x_name="x", y_name="y"):
    """All arrays of ``x`` and ``y`` (structures of arrays) hold the same number of samples."""
    x_lengths = [len(leaf) for leaf in nest.flatten(x)]
    y_lengths = [len(leaf) for leaf in nest.flatten(y)]
    if len(set(x_lengths)) > 1:
        raise ValueError(f"{op}: the arrays of {x_name} must have the same number of samples; received {x_lengths}.")
    if y_lengths and (len(set(y_lengths)) > 1 or y_lengths[0] != x_lengths[0]):
        x_shape = nest.flatten(x)[0].shape
        y_shape = [leaf.shape for leaf in nest.flatten(y)]
        raise ValueError(
            f"{op}: {x_name} and {y_name} must have the same number of samples; received {x_lengths[0]} samples in "
            f"{x_name} (shape {x_shape}) and {y_lengths[0] if len(set(y_lengths)) == 1 else y_lengths} in {y_name} "
            f"(shape {y_shape[0] if len(y_shape) == 1 else y_shape})."
        )


def _fits(shape, expected):
    return len(shape) == len(expected) and all(e is None or e == s for s, e in zip(shape, expected))


def check_input_shape(expected, shape, op, argument="x"):
    """Compare an input array's shape with the shape the model input expects (``expected``, batch axis
    first, None: anything), and explain a mismatch."""
    if expected is None or not all(d is None or isinstance(d, int) for d in expected):
        return
    if _fits(tuple(shape[1:]), tuple(expected[1:])):
        return
    sample = tuple(expected[1:])
    received = tuple(shape[1:])
    message = (
        f"{op}: the model expects {argument} of shape {(None, *sample)} (samples of shape {sample}); "
        f"received {argument} of shape {tuple(shape)}."
    )
    if _fits(tuple(shape), sample):
        message += f" It looks like one sample: add the batch axis with {argument}[np.newaxis]."
    elif len(received) == len(sample) - 1 and sample[-1] == 1 and _fits(received, sample[:-1]):
        message += (
            f" The samples lack the channel axis: add it with {argument} = {argument}[..., np.newaxis] "
            f"(or np.expand_dims({argument}, -1)), giving shape {(shape[0], *received, 1)}."
        )
    elif len(received) == len(sample) + 1 and received[-1] == 1 and _fits(received[:-1], sample):
        message += f" Drop the extra last axis with {argument}[..., 0]."
    elif None not in sample and int(np.prod(received)) == int(np.prod(sample)):
        message += f" Each sample has the right number of values: reshape with {argument}.reshape((-1, *{sample}))."
    raise ValueError(message)


def batch_size_argument(batch_size, op):
    if batch_size is None:
        return 32
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
        raise ValueError(f"{op}: batch_size must be a positive integer; received batch_size={batch_size!r}.")
    return int(batch_size)


def steps_argument(steps, argument, op):
    """None, or a positive number of steps."""
    if steps is None:
        return None
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 1:
        raise ValueError(f"{op}: {argument} must be None or a positive integer; received {argument}={steps!r}.")
    return int(steps)


def split_validation(arrays, validation_split):
    """Keras's split of ``arrays`` (x, y, sample_weight: structures of arrays, or None): the LAST
    ``validation_split`` fraction, taken before any shuffling."""
    if not isinstance(validation_split, numbers.Real) or not 0 <= validation_split < 1:
        raise ValueError(
            f"fit: validation_split must be a number in [0, 1); received validation_split={validation_split!r}."
        )
    count = length_of(arrays[0])
    split_at = int(np.floor(count * (1.0 - validation_split)))
    if split_at == 0 or split_at == count:
        raise ValueError(
            f"fit: validation_split={validation_split} leaves {'no training' if split_at == 0 else 'no validation'} "
            f"samples out of {count}; use a larger data set or another fraction."
        )

    def part(structure, piece):
        if structure is None:
            return None
        return nest.pack_sequence_as(structure, [leaf[piece] for leaf in nest.flatten(structure)])

    return (
        tuple(part(a, slice(None, split_at)) for a in arrays),
        tuple(part(a, slice(split_at, None)) for a in arrays),
    )


def check_labels(model, y, output_shape, op, argument="y"):
    """Check the labels against the loss and the model's output shape (one-hot vs integer ids, classes,
    shapes), for a model of one output compiled with one loss."""
    from .. import losses

    compile_loss = model._compile_loss
    loss = None if compile_loss is None else compile_loss.single
    if loss is None or not isinstance(output_shape, tuple) or not isinstance(y, np.ndarray):
        return
    try:
        losses.check_targets(loss, y, output_shape)
    except ValueError as error:
        raise ValueError(
            f"{op}: the labels {argument} do not fit the loss {model._loss_name()!r} and the model's output "
            f"shape {tuple(output_shape)}: {error}"
        ) from None


def class_weights_for(y, class_weight, op):
    """The sample weights ``class_weight`` (``{class id: weight}``) gives the labels ``y`` (Keras's
    ``class_weight_to_sample_weights``: one-hot rows by their arg-max, others rounded; unlisted
    classes weigh 1)."""
    labels = np.asarray(y)
    if labels.ndim > 1:
        labels = np.argmax(labels, axis=-1) if labels.shape[-1] != 1 else labels[..., 0]
    labels = np.round(labels).astype(np.int64).reshape(len(labels), -1)[:, 0]
    weights = np.ones(len(labels), dtype=np.float32)
    for label, weight in class_weight.items():
        weights[labels == int(label)] = weight
    return weights


def check_class_weight(class_weight, y, sample_weight, op):
    if class_weight is None:
        return None
    if not isinstance(class_weight, dict) or not all(
        isinstance(k, numbers.Integral) and isinstance(v, numbers.Real) for k, v in class_weight.items()
    ):
        raise ValueError(f"{op}: class_weight must be a dict {{class id: weight}}; received {class_weight!r}.")
    if sample_weight is not None:
        raise ValueError(f"{op}: give sample_weight or class_weight, not both (as Keras).")
    if y is not None and not isinstance(y, np.ndarray):
        raise ValueError(f"{op}: class_weight is only supported for models of one output (as Keras).")
    return {int(k): float(v) for k, v in class_weight.items()}


# ---- sources of batches ----------------------------------------------------------------------------


def is_dataset(value):
    return isinstance(value, Dataset)


def is_py_dataset(value):
    """A ``keras.utils.PyDataset`` / ``Sequence``, or any object with a length and batches by index."""
    return isinstance(value, PyDataset)


def is_iterator(value):
    return hasattr(value, "__next__") and hasattr(value, "__iter__") and not isinstance(value, (np.ndarray, Tensor))


def is_batch_source(value):
    """Whether ``x`` gives its own batches (a dataset, a generator / iterator, a PyDataset)."""
    return is_dataset(value) or is_py_dataset(value) or is_iterator(value)


class ArrayBatches:
    """Arrays (structures of them) cut into batches of ``batch_size``, in a new random order each pass
    when ``shuffle``; each batch ``(x, y, sample_weight)``."""

    def __init__(self, x, y, sample_weight, batch_size, shuffle=False):
        self.x, self.y, self.sample_weight = x, y, sample_weight
        self.batch_size, self.shuffle = batch_size, shuffle
        self.num_batches = math.ceil(length_of(x) / batch_size)

    def first(self):
        return self._take(slice(0, self.batch_size))

    def batches(self, generator=None):
        """The batches of one pass."""
        size = self.batch_size
        order = generator.permutation(length_of(self.x)) if self.shuffle else None
        for step in range(self.num_batches):
            if order is not None:
                yield self._take(order[step * size : (step + 1) * size])
            else:
                yield self._take(slice(step * size, (step + 1) * size))

    def _take(self, part):
        def take(structure):
            if structure is None:
                return None
            if isinstance(structure, np.ndarray):  # the common case, without the walk
                return structure[part] if isinstance(part, slice) else np.take(structure, part, axis=0)
            leaves = [
                leaf[part] if isinstance(part, slice) else np.take(leaf, part, axis=0)
                for leaf in nest.flatten(structure)
            ]
            return nest.pack_sequence_as(structure, leaves)

        return take(self.x), take(self.y), take(self.sample_weight)

    def on_epoch_end(self):
        pass


class SourceBatches:
    """The batches a dataset, a generator / iterator or a PyDataset gives: each element one batch,
    ``x``, ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)``, checked and converted as it comes
    (with labels required when ``labelled``).

    ``num_batches`` is the source's length when it has one (a finite dataset, a PyDataset),
    else None.
    """

    def __init__(self, model, source, op, labelled, argument="x", shuffle=False):
        self.model, self.source, self.op, self.labelled, self.argument = model, source, op, labelled, argument
        self.shuffle = shuffle  # a PyDataset's batches in a new order each epoch (as Keras 3)
        self._peeked = None  # a generator's first element, read ahead and given again
        if is_dataset(source):
            cardinality = int(source.cardinality())
            self.num_batches = cardinality if cardinality >= 0 else None
            self.infinite = cardinality == -1
        elif is_py_dataset(source):
            self.num_batches = len(source)
            self.infinite = False
        else:
            self.num_batches, self.infinite = None, False

    def _elements(self, generator=None):
        if is_dataset(self.source):
            yield from self.source.as_numpy_iterator()
        elif is_py_dataset(self.source):
            count = len(self.source)
            order = generator.permutation(count) if self.shuffle and generator is not None else range(count)
            for index in order:
                yield self.source[int(index)]
        else:
            if self._peeked is not None:
                element, self._peeked = self._peeked, None
                yield element
            yield from self.source

    def first(self):
        """The first batch, read ahead (to build the model and check the labels)."""
        if is_dataset(self.source) or is_py_dataset(self.source):
            elements = self._elements()
        else:
            try:
                self._peeked = next(self.source)
            except StopIteration:
                raise ValueError(f"{self.op}: the generator {self.argument} gives no batch.") from None
            elements = iter([self._peeked])
        for element in elements:
            try:
                return self._checked(element)
            except ValueError as error:
                raise ValueError(
                    f"{error} The elements of {self.argument} are whole batches: if {self.argument} yields single "
                    f"samples, batch it first ({self.argument}.batch(32))."
                ) from None
        raise ValueError(f"{self.op}: {self.argument} gives no batch (it is empty).")

    def batches(self, generator=None):
        for element in self._elements(generator):
            yield self._checked(element)

    def _checked(self, element):
        if isinstance(element, dict) or not isinstance(element, (tuple, list)):
            x, y, sample_weight = element, None, None
        elif 1 <= len(element) <= 3:
            x, y, sample_weight = (*element, *(None,) * (3 - len(element)))
        else:
            raise ValueError(
                f"{self.op}: a batch must be x, (x,), (x, y) or (x, y, sample_weight); received a "
                f"{len(element)}-tuple."
            )
        if self.labelled and y is None:
            raise ValueError(
                f"{self.op}: {self.argument} must yield (inputs, labels) pairs; received batches without labels."
            )
        x = inputs_of(self.model, x, self.op, self.argument)
        if y is not None:
            y = labels_of(y, self.op)
            check_lengths(x, y, self.op)
        return x, y, weights_of(sample_weight, self.op)

    def on_epoch_end(self):
        if is_py_dataset(self.source):
            self.source.on_epoch_end()


class EpochIterator:
    """The batches of each epoch, as Keras 3's ``EpochIterator`` gives them (see the module docstring).

    Args:
        batches: an ``ArrayBatches`` or a ``SourceBatches``.
        steps_per_epoch: None (one whole pass per epoch) or the number of steps.
        class_weight: None, or ``{class id: weight}`` turned into each batch's sample weights.
        op: the calling method, for messages.
    """

    def __init__(self, batches, steps_per_epoch=None, class_weight=None, op="fit"):
        if steps_per_epoch is None and getattr(batches, "infinite", False):
            raise ValueError(
                f"{op}: x is an infinite dataset (a repeat() without a count); give steps_per_epoch "
                f"(and validation_steps for validation data) to say how many batches an epoch takes."
            )
        self.batches, self.steps_per_epoch, self.class_weight, self.op = batches, steps_per_epoch, class_weight, op
        self._iterator = None
        self._seen = 0
        self.ran_out = False

    @property
    def steps(self):
        """The steps of an epoch, or None while unknown (counted during the first pass)."""
        return self.steps_per_epoch or self.batches.num_batches

    def epoch(self, generator=None):
        """The ``(x, y, sample_weight)`` batches of one epoch."""
        self.ran_out = False
        if self.steps_per_epoch is None:
            count = 0
            for batch in self.batches.batches(generator):
                count += 1
                yield self._weighted(batch)
            if self.batches.num_batches is None:
                self.batches.num_batches = count
            if count == 0:
                self.ran_out = True
            self.batches.on_epoch_end()
            return
        if self._iterator is None:
            self._iterator, self._seen = iter(self.batches.batches(generator)), 0
        for _ in range(self.steps_per_epoch):
            try:
                batch = next(self._iterator)
            except StopIteration:
                self._iterator = None
                self.ran_out = True
                warnings.warn(
                    "Your input ran out of data; interrupting training. Make sure that your dataset or generator "
                    "can generate at least `steps_per_epoch * epochs` batches. You may need to use the `.repeat()` "
                    "function when building your dataset.",
                    UserWarning,
                    stacklevel=4,
                )
                break
            self._seen += 1
            yield self._weighted(batch)
        known = self.batches.num_batches
        if known is not None and self._seen >= known:  # a pass used up: the next epoch starts another
            self._iterator = None
            self.batches.on_epoch_end()

    def _weighted(self, batch):
        x, y, sample_weight = batch
        if self.class_weight is not None and y is not None:
            if sample_weight is not None:
                raise ValueError(f"{self.op}: give sample_weight or class_weight, not both (as Keras).")
            sample_weight = class_weights_for(y, self.class_weight, self.op)
        return x, y, sample_weight


def no_source_arguments(op, **arguments):
    """Refuse the array-only arguments Keras refuses when x gives its own batches."""
    for name, value in arguments.items():
        if value is not None and not (isinstance(value, numbers.Number) and value == 0):
            raise ValueError(
                f"{op}: {name} cannot be used when x is a dataset, a generator or a PyDataset: "
                "it gives the (inputs, labels) batches itself; "
                f"received {name} of type {type(value).__name__}."
            )
