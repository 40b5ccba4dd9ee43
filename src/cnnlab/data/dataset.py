"""``tf.data.Dataset``: input pipelines built from arrays, generators or indexable sources, lazily.

A dataset is a recipe: each ``iter(dataset)`` (each epoch of ``fit``) runs the
pipeline from its source again, so a ``shuffle`` reshuffles and a ``map`` runs
again.  Elements are nested structures (tuples, dicts) of tensors; inside the
pipeline they travel as NumPy arrays and become cnnlab tensors where user code
sees them (``map`` / ``filter`` functions and iteration).

Sources:
    ``from_tensor_slices`` (the slices of arrays along their first axis),
    ``from_tensors`` (one element), ``range``, ``from_generator`` (a generator
    function, run anew each epoch), and ``Dataset.from_indexable`` (a length and a
    function giving element ``i``, such as a list of files decoded on demand: the
    way a folder of pictures is read without holding it in memory).

Transformations keep TF's semantics: ``shuffle`` draws from a buffer of
``buffer_size`` elements (element ``i`` can only come out among the first
``i + buffer_size``), reshuffling each epoch unless told otherwise; ``batch``
stacks consecutive elements, the last batch shorter unless ``drop_remainder``;
``prefetch`` runs the pipeline before it on a background thread, ``buffer_size``
elements ahead; ``cache`` keeps the elements of the first complete pass in memory.

Example:
    >>> ds = cnnlab.data.Dataset.from_tensor_slices(([1, 2, 3, 4], [0, 1, 0, 1]))
    >>> [(x.numpy().tolist(), y.numpy().tolist()) for x, y in ds.batch(3)]
    [([1, 2, 3], [0, 1, 0]), ([4], [1])]
"""

import builtins
import itertools
import math
import queue
import threading

import numpy as np

from .. import dtypes, nest
from .. import random as cnnlab_random
from ..function import TensorSpec
from ..tensor import Tensor, _to_array, is_integral_number

AUTOTUNE = -1
INFINITE_CARDINALITY = -1
UNKNOWN_CARDINALITY = -2

# ``prefetch(AUTOTUNE)`` keeps this many elements ready.
_AUTOTUNE_PREFETCH = 2


# ---- elements: nested structures of arrays inside, of tensors outside -------------------------


def _map_structure(fn, structure):
    if isinstance(structure, dict):
        return {key: _map_structure(fn, structure[key]) for key in structure}
    if isinstance(structure, (tuple, list)):
        items = [_map_structure(fn, item) for item in structure]
        return type(structure)(*items) if hasattr(structure, "_fields") else type(structure)(items)
    return fn(structure)


def _leaf_array(value, op):
    """A leaf of a user's element as an array, with TF's dtypes for Python values (float32, int32)."""
    if isinstance(value, Tensor):
        return value._value
    if isinstance(value, (str, bytes)) or (isinstance(value, np.ndarray) and value.dtype.kind in "USO"):
        raise TypeError(f"{op}: cnnlab datasets hold numbers only (no strings); received {value!r:.60}.")
    return _to_array(value, None, op)


def _to_arrays(structure, op):
    """A user's element as arrays: tuples and dicts are structure; a list (of numbers, nested lists or
    arrays) is one array, as TF converts it."""
    if isinstance(structure, dict):
        return {key: _to_arrays(structure[key], op) for key in structure}
    if isinstance(structure, tuple):
        items = [_to_arrays(item, op) for item in structure]
        return type(structure)(*items) if hasattr(structure, "_fields") else tuple(items)
    if isinstance(structure, list) and any(isinstance(v, (tuple, dict)) for v in structure):
        return [_to_arrays(item, op) for item in structure]
    return _leaf_array(structure, op)


def _to_tensors(element):
    return _map_structure(Tensor, element)


def _spec_of(element, batch=False):
    """The ``TensorSpec`` structure of an element (with an unknown leading axis when ``batch``)."""

    def spec(array):
        shape = list(array.shape)
        if batch and shape:
            shape[0] = None
        return TensorSpec(shape, array.dtype)

    return _map_structure(spec, element)


def _call_with_element(fn, element):
    """Call a user function as TF's ``map`` does: a tuple element is spread over the arguments."""
    tensors = _to_tensors(element)
    if isinstance(tensors, tuple) and not hasattr(tensors, "_fields"):
        return fn(*tensors)
    return fn(tensors)


def _cardinality_text(value):
    return {INFINITE_CARDINALITY: "infinite", UNKNOWN_CARDINALITY: "unknown"}.get(value, str(value))


class Dataset:
    """A lazy sequence of elements (``tf.data.Dataset``); see the module docstring.

    Make one with a source (``from_tensor_slices``, ``from_tensors``, ``range``,
    ``from_generator``, ``from_indexable``) and chain transformations; iterate it with
    ``for element in dataset`` or give it to ``Model.fit`` / ``evaluate`` / ``predict``.
    """

    def __init__(self, elements, cardinality, spec=None, batched_input=False, source=None, indices=None):
        # ``elements()``: a fresh iterator over the elements (structures of arrays).
        # ``batched_input``: the spec, worked out from the first element, keeps the first axis unknown
        # (a map of batches: its first element's batch size is not every batch's).
        # ``source`` and ``indices()``: for a selection or reordering of an indexable source, the source and
        # a fresh iterator over the indices read from it, so that ``batch`` can read a whole batch at once.
        self._elements = elements
        self._cardinality = cardinality
        self._spec = spec
        self._batched_input = batched_input
        self._source = source
        self._indices = indices

    @staticmethod
    def _over(source, indices, cardinality):
        """The elements of ``source`` at the indices ``indices()`` gives."""
        return Dataset(
            lambda: (source.read(i) for i in indices()), cardinality, source.spec, source=source, indices=indices
        )

    def _reordered(self, transform, cardinality):
        """A dataset of ``transform(make_items)``, ``make_items`` giving a fresh iterator over this one's
        elements, or over its indices when it reads an indexable source (which it then reads too)."""
        if self._source is not None:
            indices = self._indices
            dataset = Dataset._over(self._source, lambda: transform(indices), cardinality)
            dataset._spec = self._spec
            return dataset
        elements = self._elements
        return Dataset(lambda: transform(elements), cardinality, self._spec)

    # ---- sources ----------------------------------------------------------------------------

    @staticmethod
    def from_tensor_slices(tensors, name=None):
        """The slices of ``tensors`` (an array, or a tuple / dict of arrays) along their first axis.

        Example:
            >>> [int(x) for x in cnnlab.data.Dataset.from_tensor_slices([1, 2, 3])]
            [1, 2, 3]
        """
        arrays = _to_arrays(tensors, "Dataset.from_tensor_slices")
        leaves = nest.flatten(arrays)
        if not leaves or any(a.ndim == 0 for a in leaves):
            raise ValueError(
                "Dataset.from_tensor_slices: every component must have a first axis to slice along (rank >= 1)."
            )
        lengths = {a.shape[0] for a in leaves}
        if len(lengths) > 1:
            raise ValueError(
                "Dataset.from_tensor_slices: all components must have the same size on their first axis; received "
                f"sizes {[a.shape[0] for a in leaves]}."
            )
        length = lengths.pop()
        spec = _map_structure(lambda a: TensorSpec(a.shape[1:], a.dtype), arrays)
        # ``read`` takes one index or an array of them: a batch is one fancy-indexing read per array.
        return _IndexableSource(
            length, lambda i: _map_structure(lambda a: a[i], arrays), spec, reads_batches=True
        ).dataset()

    @staticmethod
    def from_tensors(tensors, name=None):
        """A dataset of one element: ``tensors`` itself."""
        element = _to_arrays(tensors, "Dataset.from_tensors")
        return Dataset(lambda: iter([element]), 1, _spec_of(element))

    @staticmethod
    def range(*args, output_type=dtypes.int64, name=None):  # noqa: A003 - TF's name
        """``range(stop)``, ``range(start, stop[, step])`` as int64 scalars (``output_type``)."""
        if not 1 <= len(args) <= 3 or not all(is_integral_number(a) for a in args):
            raise ValueError(
                f"Dataset.range: expected 1 to 3 integer arguments (start, stop, step); received {args!r}."
            )
        span = builtins.range(*args)
        dtype = dtypes.as_dtype(output_type)
        return Dataset(lambda: (np.asarray(v, dtype) for v in span), len(span), TensorSpec([], dtype))

    @staticmethod
    def from_generator(generator, output_types=None, output_shapes=None, args=None, output_signature=None, name=None):
        """The elements a generator yields, the generator called anew for every pass (lazy, unknown length).

        Args:
            generator: a callable returning an iterator (called with ``args``).
            output_signature: a structure of ``TensorSpec``: each element is converted
                to its dtypes and checked against its shapes (None: taken as yielded).
            output_types, output_shapes: TF 1's form of the same.
        """
        if not callable(generator):
            raise TypeError(
                f"Dataset.from_generator: generator must be a callable; received {type(generator).__name__}."
            )
        if output_signature is None and output_types is not None:
            shapes = output_shapes if output_shapes is not None else _map_structure(lambda _: None, output_types)
            output_signature = _zip_structures(lambda t, s: TensorSpec(s, t), output_types, shapes)
        call_args = tuple(args or ())

        def elements():
            for value in generator(*call_args):
                yield _checked_element(value, output_signature)

        return Dataset(elements, UNKNOWN_CARDINALITY, output_signature)

    @staticmethod
    def from_indexable(length, element_at, element_spec=None):
        """A dataset of ``length`` elements, element ``i`` made by ``element_at(i)`` only when it is read.

        For sources too big to hold in memory, such as files decoded on demand.  Its
        length is known (``cardinality``), and ``shuffle`` / ``batch`` on it ask only for
        the elements they use.  Not in TF's API: ``tf.data`` builds such pipelines from
        file readers, which cnnlab leaves out.
        """
        if not is_integral_number(length) or length < 0:
            raise ValueError(f"Dataset.from_indexable: length must be a non-negative integer; received {length!r}.")
        if not callable(element_at):
            raise TypeError("Dataset.from_indexable: element_at must be a callable taking an index.")

        def read(i):
            return _checked_element(element_at(int(i)), element_spec)

        return _IndexableSource(int(length), read, element_spec).dataset()

    @staticmethod
    def zip(*datasets, name=None):
        """Elements of several datasets side by side (a tuple or dict of datasets), as long as the shortest."""
        structure = datasets[0] if len(datasets) == 1 and not isinstance(datasets[0], Dataset) else datasets
        members = nest.flatten(structure)
        if not members or not all(isinstance(d, Dataset) for d in members):
            raise TypeError("Dataset.zip: expected a tuple or dict of datasets.")
        known = [d._cardinality for d in members]
        finite = [c for c in known if c >= 0]
        if UNKNOWN_CARDINALITY in known:
            cardinality = UNKNOWN_CARDINALITY
        else:
            cardinality = min(finite) if finite else INFINITE_CARDINALITY

        def elements():
            for parts in zip(*(d._elements() for d in members)):
                yield nest.pack_sequence_as(structure, list(parts))

        specs = [d._spec for d in members]
        spec = None if any(s is None for s in specs) else nest.pack_sequence_as(structure, specs)
        return Dataset(elements, cardinality, spec)

    # ---- what it is -------------------------------------------------------------------------

    @property
    def element_spec(self):
        """The structure of ``TensorSpec`` of an element (worked out from the first element when needed)."""
        if self._spec is None:
            first = next(iter(self._elements()), None)
            if first is None:
                raise ValueError(
                    "Dataset.element_spec: the dataset is empty, so its elements' spec cannot be worked out."
                )
            self._spec = _spec_of(first, batch=self._batched_input)
        return self._spec

    def cardinality(self):
        """The number of elements as an int64 scalar tensor, or ``INFINITE_CARDINALITY`` (-1) or
        ``UNKNOWN_CARDINALITY`` (-2)."""
        return Tensor(np.asarray(self._cardinality, np.int64))

    def __len__(self):
        if self._cardinality < 0:
            raise TypeError(f"The dataset's length is {_cardinality_text(self._cardinality)}.")
        return self._cardinality

    def __iter__(self):
        for element in self._elements():
            yield _to_tensors(element)

    def __bool__(self):
        return True  # not len(): an infinite dataset is still a dataset

    def as_numpy_iterator(self):
        """The elements as NumPy arrays (scalars as NumPy scalars), in structures like the dataset's."""
        for element in self._elements():
            yield _map_structure(lambda a: a[()] if a.ndim == 0 else a, element)

    def __repr__(self):
        try:
            spec = self.element_spec
        except ValueError:
            spec = "unknown"
        return f"<{type(self).__name__} element_spec={spec}>"

    # ---- transformations ---------------------------------------------------------------------

    def batch(self, batch_size, drop_remainder=False, num_parallel_calls=None, deterministic=None, name=None):
        """Consecutive elements stacked along a new first axis, ``batch_size`` at a time."""
        batch_size = _positive_int(batch_size, "batch", "batch_size")
        count = _batch_count(self._cardinality, batch_size, drop_remainder)
        spec = (
            None
            if self._spec is None
            else _map_structure(
                lambda s: TensorSpec([batch_size if drop_remainder else None, *(s.shape or [])], s.dtype), self._spec
            )
        )
        upstream = self

        def elements():
            if upstream._source is not None:  # read a whole batch at once
                for group in _groups(upstream._indices(), batch_size, drop_remainder):
                    yield upstream._source.read_batch(group)
                return
            for group in _groups(upstream._elements(), batch_size, drop_remainder):
                yield _stack(group)

        return Dataset(elements, count, spec, batched_input=not drop_remainder)

    def padded_batch(self, batch_size, padded_shapes=None, padding_values=None, drop_remainder=False, name=None):
        """``batch`` for elements of different shapes: each is padded (at the end of each axis) to a common shape.

        Args:
            padded_shapes: the shape to pad each component to, None entries (or None
                altogether) meaning the longest in the batch.
            padding_values: the value padded with (0 by default), one per component or one for all.
        """
        batch_size = _positive_int(batch_size, "padded_batch", "batch_size")
        count = _batch_count(self._cardinality, batch_size, drop_remainder)
        upstream = self

        def elements():
            for group in _groups(upstream._elements(), batch_size, drop_remainder):
                structure = group[0]
                columns = list(zip(*(nest.flatten(e) for e in group)))
                shapes = _broadcast_setting(padded_shapes, structure, len(columns))
                fills = _broadcast_setting(padding_values, structure, len(columns))
                stacked = [_pad_and_stack(column, shape, fill) for column, shape, fill in zip(columns, shapes, fills)]
                yield nest.pack_sequence_as(structure, stacked)

        return Dataset(elements, count, None, batched_input=True)

    def unbatch(self, name=None):
        """The slices of each element along its first axis, one by one (the inverse of ``batch``)."""
        upstream = self

        def elements():
            for element in upstream._elements():
                leaves = nest.flatten(element)
                if any(a.ndim == 0 for a in leaves):
                    raise ValueError("Dataset.unbatch: every component must have a first axis (rank >= 1).")
                for i in builtins.range(leaves[0].shape[0] if leaves else 0):
                    yield _map_structure(lambda a: a[i], element)

        spec = None if self._spec is None else _map_structure(lambda s: TensorSpec(s.shape[1:], s.dtype), self._spec)
        count = INFINITE_CARDINALITY if self._cardinality == INFINITE_CARDINALITY else UNKNOWN_CARDINALITY
        return Dataset(elements, count, spec)

    def shuffle(self, buffer_size, seed=None, reshuffle_each_iteration=None, name=None):
        """The elements in random order, drawn from a buffer of ``buffer_size`` (see the module docstring).

        Args:
            buffer_size: elements held at once; at least the dataset's length for a full shuffle.
            seed: fixes the orders (without it, ``tf.random.set_seed`` before building makes them reproducible).
            reshuffle_each_iteration: a new order every pass (default True).
        """
        buffer_size = _positive_int(buffer_size, "shuffle", "buffer_size", allow_autotune=True)
        if buffer_size == AUTOTUNE:
            buffer_size = max(self._cardinality, 1) if self._cardinality >= 0 else 1024
        if seed is not None and (not is_integral_number(seed) or seed < 0):
            raise ValueError(f"Dataset.shuffle: seed must be None or a non-negative integer; received seed={seed!r}.")
        reshuffle = True if reshuffle_each_iteration is None else bool(reshuffle_each_iteration)
        orders = _ShuffleOrders(seed, reshuffle)
        return self._reordered(
            lambda make_items: _buffer_shuffle(make_items(), buffer_size, orders.next_generator()), self._cardinality
        )

    def map(self, map_func, num_parallel_calls=None, deterministic=None, name=None):
        """``map_func`` applied to each element (a tuple element is spread over its arguments).

        ``num_parallel_calls`` is accepted; the calls run one after another (put a
        ``prefetch`` after the map to run them on a background thread).
        """
        if not callable(map_func):
            raise TypeError(f"Dataset.map: map_func must be callable; received {type(map_func).__name__}.")
        upstream = self

        def elements():
            for element in upstream._elements():
                yield _to_arrays(_call_with_element(map_func, element), "Dataset.map")

        batched = self._spec is not None and all(
            s.shape is not None and len(s.shape) > 0 and s.shape[0] is None for s in nest.flatten(self._spec)
        )
        return Dataset(elements, self._cardinality, None, batched_input=batched)

    def filter(self, predicate, name=None):
        """The elements for which ``predicate`` returns True (a bool scalar)."""
        if not callable(predicate):
            raise TypeError(f"Dataset.filter: predicate must be callable; received {type(predicate).__name__}.")
        upstream = self

        def elements():
            for element in upstream._elements():
                keep = _leaf_array(_call_with_element(predicate, element), "Dataset.filter")
                if keep.dtype != np.bool_ or keep.ndim != 0:
                    raise TypeError(
                        "Dataset.filter: predicate must return a bool scalar; "
                        f"received dtype={keep.dtype}, shape={keep.shape}."
                    )
                if keep:
                    yield element

        count = INFINITE_CARDINALITY if self._cardinality == INFINITE_CARDINALITY else UNKNOWN_CARDINALITY
        return Dataset(elements, count, self._spec)

    def flat_map(self, map_func, name=None):
        """``map_func`` maps each element to a dataset; their elements one after another."""
        upstream = self

        def elements():
            for element in upstream._elements():
                inner = _call_with_element(map_func, element)
                if not isinstance(inner, Dataset):
                    raise TypeError(
                        f"Dataset.flat_map: map_func must return a Dataset; received {type(inner).__name__}."
                    )
                yield from inner._elements()

        return Dataset(elements, UNKNOWN_CARDINALITY, None)

    def take(self, count, name=None):
        """The first ``count`` elements (all of them for -1)."""
        count = _count(count, "take")
        known = self._cardinality
        if count == -1:
            size = known
        elif known == INFINITE_CARDINALITY:
            size = count
        else:
            size = min(count, known) if known >= 0 else UNKNOWN_CARDINALITY
        return self._slice(0, None if count == -1 else count, size)

    def skip(self, count, name=None):
        """All elements after the first ``count`` (none for -1)."""
        count = _count(count, "skip")
        known = self._cardinality
        if count == -1:
            return self._slice(0, 0, 0 if known != INFINITE_CARDINALITY else INFINITE_CARDINALITY)
        size = known if known < 0 else max(known - count, 0)
        return self._slice(count, None, size)

    def _slice(self, start, stop, cardinality):
        return self._reordered(lambda make_items: itertools.islice(make_items(), start, stop), cardinality)

    def repeat(self, count=None, name=None):
        """The dataset ``count`` times over (forever when None or -1), each pass a fresh run."""
        count = -1 if count is None else _count(count, "repeat")
        known = self._cardinality
        if count == -1:
            cardinality = (
                0 if known == 0 else (INFINITE_CARDINALITY if known != UNKNOWN_CARDINALITY else UNKNOWN_CARDINALITY)
            )
        else:
            cardinality = known * count if known >= 0 else known
        return self._reordered(lambda make_items: _repeated(make_items, count), cardinality)

    def concatenate(self, dataset, name=None):
        """This dataset's elements, then ``dataset``'s (of the same structure)."""
        if not isinstance(dataset, Dataset):
            raise TypeError(f"Dataset.concatenate: expected a Dataset; received {type(dataset).__name__}.")
        first, second = self, dataset
        counts = (first._cardinality, second._cardinality)
        if INFINITE_CARDINALITY in counts:
            cardinality = INFINITE_CARDINALITY
        elif UNKNOWN_CARDINALITY in counts:
            cardinality = UNKNOWN_CARDINALITY
        else:
            cardinality = sum(counts)

        def elements():
            yield from first._elements()
            yield from second._elements()

        return Dataset(elements, cardinality, self._spec)

    def enumerate(self, start=0, name=None):  # noqa: A003 - TF's name
        """``(index, element)`` pairs, the index an int64 scalar counting from ``start``."""
        upstream = self

        def elements():
            for i, element in enumerate(upstream._elements(), start):
                yield (np.asarray(i, np.int64), element)

        spec = None if self._spec is None else (TensorSpec([], dtypes.int64), self._spec)
        return Dataset(elements, self._cardinality, spec)

    def cache(self, filename="", name=None):
        """The elements of the first complete pass, kept in memory and replayed on later passes.

        A ``filename`` is accepted but the cache stays in memory (it does not outlive the program).
        """
        upstream = self
        stored = []

        def elements():
            if stored:
                yield from stored[0]
                return
            seen = []
            for element in upstream._elements():
                seen.append(element)
                yield element
            stored.append(seen)  # only a complete pass is kept, as TF does

        return Dataset(elements, self._cardinality, self._spec)

    def prefetch(self, buffer_size, name=None):
        """Run the pipeline so far on a background thread, keeping ``buffer_size`` elements ready."""
        buffer_size = _positive_int(buffer_size, "prefetch", "buffer_size", allow_autotune=True, allow_zero=True)
        if buffer_size == AUTOTUNE:
            buffer_size = _AUTOTUNE_PREFETCH
        if buffer_size == 0:
            return self
        upstream = self
        return Dataset(lambda: _prefetched(upstream._elements, buffer_size), self._cardinality, self._spec)

    def shard(self, num_shards, index, name=None):
        """Every ``num_shards``-th element starting at ``index`` (one worker's part of the data)."""
        num_shards = _positive_int(num_shards, "shard", "num_shards")
        if not is_integral_number(index) or not 0 <= index < num_shards:
            raise ValueError(f"Dataset.shard: index must be in [0, {num_shards}); received index={index!r}.")
        upstream = self
        known = self._cardinality
        cardinality = known if known < 0 else len(builtins.range(index, known, num_shards))
        return Dataset(lambda: itertools.islice(upstream._elements(), index, None, num_shards), cardinality, self._spec)

    def reduce(self, initial_state, reduce_func, name=None):
        """Fold the elements into one value: ``state = reduce_func(state, element)``."""
        state = _to_tensors(_to_arrays(initial_state, "Dataset.reduce"))
        for element in self._elements():
            state = reduce_func(state, _to_tensors(element))
        return state

    def apply(self, transformation_func):
        """``transformation_func(self)``: a whole pipeline step written as a function of a dataset."""
        result = transformation_func(self)
        if not isinstance(result, Dataset):
            raise TypeError(
                f"Dataset.apply: the transformation must return a Dataset; received {type(result).__name__}."
            )
        return result

    def get_single_element(self, name=None):
        """The only element of a one-element dataset."""
        elements = list(itertools.islice(self._elements(), 2))
        if len(elements) != 1:
            found = "none" if not elements else "more"
            raise ValueError(f"Dataset.get_single_element: the dataset must have exactly one element; it has {found}.")
        return _to_tensors(elements[0])


class _IndexableSource:
    """A source with a known length whose element ``i`` is read on demand (arrays' slices, files)."""

    def __init__(self, length, read, spec, reads_batches=False):
        self.length = length
        self.read = read
        self.spec = spec
        self.reads_batches = reads_batches  # ``read`` also takes an array of indices, giving their batch

    def read_batch(self, indices):
        if self.reads_batches:
            return self.read(np.asarray(indices))
        return _stack([self.read(i) for i in indices])

    def dataset(self):
        return Dataset._over(self, lambda: iter(builtins.range(self.length)), self.length)


class _ShuffleOrders:
    """The random streams of a ``shuffle``: one per pass, or the same one each pass."""

    def __init__(self, seed, reshuffle):
        # A seed fixes the orders, as in TF; without one, they come from the global generator when the
        # dataset is built (so ``set_seed`` before it makes them reproducible).
        self._base = seed if seed is not None else int(cnnlab_random.get_global_generator().integers(2**63))
        self._reshuffle = reshuffle
        self._passes = itertools.count()

    def next_generator(self):
        return np.random.default_rng([self._base, next(self._passes) if self._reshuffle else 0])


def _buffer_shuffle(items, buffer_size, rng):
    """TF's shuffle: fill a buffer, then repeatedly emit a random buffered item and refill its place."""
    buffer = []
    for item in items:
        if len(buffer) < buffer_size:
            buffer.append(item)
            continue
        pick = int(rng.integers(len(buffer)))
        yield buffer[pick]
        buffer[pick] = item
    while buffer:
        pick = int(rng.integers(len(buffer)))
        buffer[pick], buffer[-1] = buffer[-1], buffer[pick]
        yield buffer.pop()


def _repeated(make_items, count):
    """The items of ``make_items()``, made anew ``count`` times (forever for -1); an empty pass ends it."""
    for _ in itertools.count() if count == -1 else builtins.range(count):
        produced = False
        for item in make_items():
            produced = True
            yield item
        if not produced:  # an empty dataset repeated forever is still empty
            return


def _batch_count(cardinality, batch_size, drop_remainder):
    """How many batches a dataset of ``cardinality`` elements makes (infinite or unknown stay so)."""
    if cardinality < 0:
        return cardinality
    return cardinality // batch_size if drop_remainder else math.ceil(cardinality / batch_size)


def _groups(items, size, drop_remainder):
    iterator = iter(items)
    while True:
        group = list(itertools.islice(iterator, size))
        if not group or (drop_remainder and len(group) < size):
            return
        yield group


def _stack(elements):
    """Elements of one structure stacked leaf by leaf along a new first axis."""
    structure = elements[0]
    columns = zip(*(nest.flatten(e) for e in elements))
    try:
        stacked = [np.stack(column) for column in columns]
    except ValueError:
        shapes = sorted({tuple(a.shape) for e in elements for a in nest.flatten(e)})
        raise ValueError(
            f"Dataset.batch: cannot stack elements of different shapes {shapes} into one batch; resize them to one "
            "shape first (for example with a map)."
        ) from None
    return nest.pack_sequence_as(structure, stacked)


def _broadcast_setting(setting, structure, count):
    """A per-component setting of ``padded_batch`` (None, one value for all, or a structure like the
    element's, whose leaves may be shapes) as a list in ``nest.flatten`` order."""
    if setting is None:
        return [None] * count
    both_tuples = isinstance(structure, tuple) and isinstance(setting, tuple)
    both_dicts = isinstance(structure, dict) and isinstance(setting, dict)
    if not (both_tuples or both_dicts):
        return [setting] * count

    def leaves(value, shape):
        if isinstance(shape, dict):
            return [leaf for key in sorted(shape) for leaf in leaves(value[key], shape[key])]
        if isinstance(shape, tuple):
            return [leaf for v, s in zip(value, shape) for leaf in leaves(v, s)]
        return [value]

    return leaves(setting, structure)


def _pad_and_stack(arrays, shape, fill):
    rank = arrays[0].ndim
    if any(a.ndim != rank for a in arrays):
        shapes = [a.shape for a in arrays]
        raise ValueError(
            f"Dataset.padded_batch: the elements of a component must have one rank; received shapes {shapes}."
        )
    longest = [max(a.shape[d] for a in arrays) for d in range(rank)]
    target = longest if shape is None else [n if s is None or s == -1 else int(s) for s, n in zip(list(shape), longest)]
    if len(target) != rank or any(t < n for t, n in zip(target, longest)):
        shapes = sorted({a.shape for a in arrays})
        raise ValueError(f"Dataset.padded_batch: padded_shapes {list(shape)} cannot hold elements of shapes {shapes}.")
    out = np.full(
        (len(arrays), *target), 0 if fill is None else _leaf_array(fill, "Dataset.padded_batch"), dtype=arrays[0].dtype
    )
    for i, a in enumerate(arrays):
        out[(i, *(slice(0, n) for n in a.shape))] = a
    return out


def _prefetched(make_elements, buffer_size):
    """The elements of ``make_elements()``, produced on a background thread ``buffer_size`` ahead."""
    ready = queue.Queue(maxsize=buffer_size)
    stop = threading.Event()

    def offer(item):
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce():
        elements = make_elements()
        try:
            for element in elements:
                if not offer(("element", element)):
                    return
            offer(("end", None))
        except Exception as error:  # noqa: BLE001 - not swallowed: the consumer raises it in its own thread
            offer(("error", error))
        finally:
            close = getattr(elements, "close", None)
            if close is not None:
                close()

    producer = threading.Thread(target=produce, name="cnnlab-data-prefetch", daemon=True)
    producer.start()
    try:
        while True:
            kind, item = ready.get()
            if kind == "end":
                return
            if kind == "error":
                raise item
            yield item
    finally:
        stop.set()
        producer.join()


def _checked_element(value, signature):
    element = _to_arrays(value, "Dataset")
    if signature is None:
        return element
    try:
        pairs = list(zip(nest.flatten(signature), nest.flatten(element), strict=True))
    except ValueError:
        raise ValueError(f"Dataset: an element does not have the structure of the signature {signature!r}.") from None
    arrays = []
    for spec, array in pairs:
        if array.dtype != spec.dtype:
            array = _to_array(array, spec.dtype, "Dataset")
        if spec.shape is not None and (
            len(array.shape) != len(spec.shape)
            or any(d is not None and d != n for d, n in zip(spec.shape, array.shape))
        ):
            raise ValueError(f"Dataset: an element of shape {array.shape} does not fit the signature's {spec!r}.")
        arrays.append(array)
    return nest.pack_sequence_as(signature, arrays)


def _zip_structures(fn, first, second):
    if isinstance(first, dict):
        return {key: _zip_structures(fn, first[key], second[key]) for key in first}
    if isinstance(first, (tuple, list)):
        return type(first)(_zip_structures(fn, a, b) for a, b in zip(first, second))
    return fn(first, second)


def _positive_int(value, op, argument, allow_autotune=False, allow_zero=False):
    value = int(value._value) if isinstance(value, Tensor) else value
    if allow_autotune and value == AUTOTUNE:
        return AUTOTUNE
    if not is_integral_number(value) or value < (0 if allow_zero else 1):
        raise ValueError(f"Dataset.{op}: {argument} must be a positive integer; received {argument}={value!r}.")
    return int(value)


def _count(value, op):
    value = int(value._value) if isinstance(value, Tensor) else value
    if not is_integral_number(value) or value < -1:
        raise ValueError(f"Dataset.{op}: count must be a non-negative integer or -1; received count={value!r}.")
    return int(value)


__all__ = ["AUTOTUNE", "INFINITE_CARDINALITY", "UNKNOWN_CARDINALITY", "Dataset"]
