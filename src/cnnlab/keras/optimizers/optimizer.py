"""The optimizer base class (``tf.keras.optimizers.Optimizer``).

It owns what every optimizer shares: the learning rate (a float, a schedule or a
callable), the ``iterations`` counter, gradient clipping and weight decay, and the
per-variable state ("slots": momentum, velocity, ...).  A subclass names its slots
and implements ``_update_step``, which hands NumPy arrays to a small module-level
function holding the update formula (the PyTorch habit: state in the class, math in
one function).

Updates are done in place on each Variable's array with NumPy ``out=`` arguments,
never through cnnlab ops, so no tape records them and no temporaries pile up.  (An
element-wise optimizer updates small variables together in flat arrays, where their
slots then live: see ``_element_wise_update``.)
"""

import re
import warnings

import numpy as np

from ...autodiff import GradientTape, no_recording
from ...tensor import Tensor, Variable
from . import schedules


class _VariableList(list):
    """The optimizer's variables; callable too, since TF 2 spelled it ``variables()``
    and Keras 3 spells it ``variables``."""

    def __call__(self):
        return self


class Optimizer:
    """Base class of the optimizers.

    Args:
        learning_rate: a float, a ``LearningRateSchedule`` (called with
            ``iterations`` before every update), or a callable taking no arguments.
        name: the optimizer's name, kept in its config.
        weight_decay: if set, every updated variable is first shrunk by
            ``variable * weight_decay * learning_rate`` (Keras's decoupled decay), but for
            those ``exclude_from_weight_decay`` names.
        clipnorm: if set, each gradient is rescaled so its L2 norm is at most this.
        clipvalue: if set, each gradient is clipped elementwise to ``[-clipvalue, clipvalue]``.
        global_clipnorm: if set, all gradients are rescaled together so that their
            joint L2 norm is at most this.

    State:
        ``iterations`` counts the updates applied.  Per-variable slots are created the
        first time a variable is updated (or by ``build(var_list)``), in that order;
        ``get_state()`` / ``set_state()`` save and restore them keyed by that order, so
        an optimizer built on the same variable list restores exactly.

    Example:
        >>> w = cnnlab.Variable([1.0, 2.0])
        >>> opt = cnnlab.keras.optimizers.SGD(learning_rate=0.1)
        >>> _ = opt.minimize(lambda: cnnlab.reduce_sum(w * w), [w])
        >>> w.numpy()
        array([0.8, 1.6], dtype=float32)
    """

    def __init__(
        self,
        learning_rate,
        name=None,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        **kwargs,
    ):
        if kwargs.pop("decay", None) is not None:
            warnings.warn("Argument `decay` is no longer supported and will be ignored.", stacklevel=2)
        if kwargs:
            raise ValueError(f"{type(self).__name__}: argument(s) not recognized: {kwargs}")
        given_clips = {
            k: v
            for k, v in (("clipnorm", clipnorm), ("clipvalue", clipvalue), ("global_clipnorm", global_clipnorm))
            if v is not None
        }
        if len(given_clips) > 1:
            raise ValueError(
                "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. "
                f"Received: clipnorm={clipnorm}, clipvalue={clipvalue}, global_clipnorm={global_clipnorm}"
            )
        for argument, value in given_clips.items():
            _check_hyperparameter(type(self).__name__, argument, value, low=0.0, low_inclusive=False)
        if weight_decay is not None:
            _check_hyperparameter(type(self).__name__, "weight_decay", weight_decay, low=0.0)
        self.name = _snake_case(type(self).__name__) if name is None else str(name)
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self._iterations = Variable(np.int64(0), trainable=False, name="iteration")
        self._learning_rate = self._build_learning_rate(learning_rate)
        self._variables_seen = []  # model variables, in the order first seen
        self._index_of = {}  # id(variable) -> its position in _variables_seen
        self._slots = []  # per variable seen: {slot name: Variable}
        self._scratch = {}  # (shape, dtype) -> a work array shared by same-shaped updates
        self._flat_groups = {}  # (dtype, shapes) of small variables updated together -> a _FlatGroup
        self._no_decay_ids = set()  # id() of the variables exclude_from_weight_decay named
        self._no_decay_pattern = None  # and the pattern of the names it gave
        self._decays = {}  # id(variable) -> whether weight decay shrinks it (_use_weight_decay)

    # ---- what subclasses provide ------------------------------------------------------
    #: The per-variable state this optimizer keeps, in groups, in the order Keras creates it:
    #: group after group, and within a group, each variable's slots of that group together
    #: (Adam's ``(("momentum", "velocity"),)`` lists m0, v0, m1, v1, ...).  ``variables``,
    #: ``get_state`` and the saved files follow this order.
    _slot_groups = ()

    #: Whether ``_update_step`` computes each element from the same elements of the variable, the
    #: gradient and the slots alone, with scalars that are the same for every variable of a step.
    #: Such an optimizer updates the small variables of a step (biases, small kernels) as one flat
    #: array: the same operations on each element, so the same values, in a dozen NumPy calls
    #: instead of a dozen per variable (``_FlatGroup``).
    _element_wise_update = False

    @property
    def _slot_names(self):
        return tuple(name for group in self._slot_groups for name in group)

    def _slot_initial_value(self, slot_name):
        return 0.0

    def _update_step(self, variable, gradient, slots, scratch, learning_rate):
        """Update ``variable`` (an ndarray) in place; ``slots`` maps slot names to ndarrays."""
        raise NotImplementedError

    def _shared_state(self):
        """``{name: Variable}`` of state kept for the optimizer as a whole (Nadam's running
        product), saved after the slots; none by default."""
        return {}

    def _prepare_step(self):
        """Called once per ``apply_gradients``, before any variable is updated."""

    # ---- learning rate ------------------------------------------------------------------
    def _build_learning_rate(self, learning_rate):
        if _is_rate_function(learning_rate):
            return learning_rate
        return Variable(
            np.float32(_float_learning_rate(type(self).__name__, learning_rate)), trainable=False, name="learning_rate"
        )

    @property
    def learning_rate(self):
        """The current learning rate: a float32 Variable, or the schedule's value at ``iterations``.

        Settable with a float (kept in the same Variable), a schedule or a callable.
        """
        rate = self._learning_rate
        if isinstance(rate, schedules.LearningRateSchedule):
            return rate(self._iterations)
        if isinstance(rate, Variable):
            return rate
        return rate()

    @learning_rate.setter
    def learning_rate(self, learning_rate):
        if _is_rate_function(learning_rate):
            self._learning_rate = learning_rate
        elif isinstance(self._learning_rate, schedules.LearningRateSchedule):
            raise TypeError(
                "This optimizer was created with a `LearningRateSchedule` object as its `learning_rate` constructor "
                "argument, hence its learning rate is not settable. If you need the learning rate to be settable, "
                "you should instantiate the optimizer with a float `learning_rate` argument."
            )
        elif isinstance(self._learning_rate, Variable):
            self._learning_rate.assign(np.float32(_float_learning_rate(type(self).__name__, learning_rate)))
        else:
            self._learning_rate = self._build_learning_rate(learning_rate)

    @property
    def lr(self):
        """tf.keras 2's name for ``learning_rate`` (readable and settable)."""
        return self.learning_rate

    @lr.setter
    def lr(self, learning_rate):
        self.learning_rate = learning_rate

    def _current_learning_rate(self):
        return float(np.asarray(self.learning_rate))

    @property
    def iterations(self):
        """The number of updates applied so far (an int64 Variable)."""
        return self._iterations

    # ---- variables and state ------------------------------------------------------------
    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Exclude variables from weight decay (Keras 3's method): the variables of ``var_list``, and
        every variable whose name contains one of ``var_names`` (regular expressions searched in
        ``variable.name``: ``var_names=["bias", "gamma", "beta"]`` spares the biases and the
        normalizations' scales and offsets).  Each call replaces the exclusions of the one before.

        Raises:
            ValueError: the optimizer is already built (it has updated or built variables), as Keras.
            TypeError: ``var_list`` holds something else than Variables, or ``var_names`` something
                else than strings.

        Example::

            optimizer = keras.optimizers.SGD(0.05, momentum=0.9, weight_decay=5e-4)
            optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
        """
        if self.built:
            raise ValueError("`exclude_from_weight_decay()` can only be configured before the optimizer is built.")
        op = f"{type(self).__name__}.exclude_from_weight_decay"
        var_list, var_names = list(var_list or ()), list(var_names or ())
        for variable in var_list:
            if not isinstance(variable, Variable):
                raise TypeError(f"{op}: var_list must hold Variables; received a {type(variable).__name__}.")
        for name in var_names:
            if not isinstance(name, str):
                raise TypeError(f"{op}: var_names must hold strings; received {name!r}.")
        self._no_decay_ids = {id(variable) for variable in var_list}
        self._no_decay_pattern = re.compile("|".join(sorted(set(var_names)))) if var_names else None
        self._decays = {}

    def _use_weight_decay(self, variable):
        """Whether weight decay shrinks ``variable`` (see ``exclude_from_weight_decay``)."""
        decays = self._decays.get(id(variable))
        if decays is None:
            pattern = self._no_decay_pattern
            decays = id(variable) not in self._no_decay_ids and (pattern is None or pattern.search(variable.name) is None)
            self._decays[id(variable)] = decays
        return decays

    @property
    def built(self):
        """Whether the optimizer has made the state of some variables (``build``, or a first update), as
        Keras's ``optimizer.built``; ``model.summary()`` then counts that state as 'Optimizer params'."""
        return bool(self._variables_seen)

    def build(self, var_list):
        """Create the slots of every variable in ``var_list`` (in order) not seen before."""
        for variable in var_list:
            self._slot_index(variable)

    def _slot_index(self, variable):
        index = self._index_of.get(id(variable))
        if index is None:
            index = len(self._variables_seen)
            self._variables_seen.append(variable)
            self._index_of[id(variable)] = index
            self._slots.append(
                {
                    slot: Variable(
                        np.full_like(variable._value, self._slot_initial_value(slot)),
                        trainable=False,
                        name=f"{variable.name}_{slot}",
                    )
                    for slot in self._slot_names
                }
            )
        return index

    @property
    def variables(self):
        """The optimizer's state as Variables, in Keras's order: ``iterations``, the learning
        rate (when it is a float), the slots (see ``_slot_groups``) of the variables in the
        order first seen, then any state of the optimizer as a whole (``_shared_state``)."""
        own = [self._iterations]
        if isinstance(self._learning_rate, Variable):
            own.append(self._learning_rate)
        slots = [self._slots[index][name] for index, name in self._slot_order()]
        return _VariableList(own + slots + list(self._shared_state().values()))

    def _slot_order(self):
        """``(variable index, slot name)`` of every slot, in the order of ``variables``."""
        return [
            (index, name) for group in self._slot_groups for index in range(len(self._slots)) for name in group
        ]

    def _state_keys(self):
        keys = ["iterations"]
        if isinstance(self._learning_rate, Variable):
            keys.append("learning_rate")
        keys += [f"{index}/{name}" for index, name in self._slot_order()]
        return keys + list(self._shared_state())

    def get_state(self):
        """The state as ``{key: ndarray}`` copies: 'iterations', 'learning_rate' (when a
        float) and '<variable index>/<slot name>' for each slot, e.g. '0/momentum'."""
        return {key: np.array(variable._value) for key, variable in zip(self._state_keys(), self.variables)}

    def set_state(self, state):
        """Restore what ``get_state`` returned (an optimizer built on the same variables).

        Everything is checked before anything is written, so a mismatch leaves the
        optimizer unchanged.
        """
        keys = self._state_keys()
        slot_keys_given = [key for key in state if "/" in key]
        if slot_keys_given and not self._slots:
            raise ValueError(
                f"{type(self).__name__}.set_state: the state holds per-variable slots but this optimizer has not "
                "seen any variables yet; call optimizer.build(var_list) with the same variables first."
            )
        if set(state) != set(keys):
            missing, unexpected = sorted(set(keys) - set(state)), sorted(set(state) - set(keys))
            raise ValueError(
                f"{type(self).__name__}.set_state: the state does not match this optimizer "
                f"({len(self._variables_seen)} variables). Missing keys: {missing}; unexpected keys: {unexpected}."
            )
        arrays = {}
        for key, variable in zip(keys, self.variables):
            array = np.asarray(state[key])
            if array.shape != variable._value.shape:
                raise ValueError(
                    f"{type(self).__name__}.set_state: '{key}' has shape {array.shape}; expected {variable._value.shape}."
                )
            arrays[key] = array
        for key, variable in zip(keys, self.variables):
            variable.assign(arrays[key].astype(variable.dtype, copy=False))

    # ---- applying gradients ---------------------------------------------------------------
    def apply_gradients(self, grads_and_vars):
        """Apply one update to each variable from its gradient.

        Args:
            grads_and_vars: pairs ``(gradient, variable)``, e.g. ``zip(grads, vars)``.
                Pairs whose gradient is None are skipped (with a warning).

        Returns:
            ``iterations``, incremented by one.
        """
        op = f"{type(self).__name__}.apply_gradients"
        pairs = list(grads_and_vars)
        for pair in pairs:
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise TypeError(f"{op}: expected (gradient, variable) pairs, e.g. zip(grads, vars); received {pair!r}.")
            if not isinstance(pair[1], Variable):
                raise TypeError(
                    f"{op}: can only update Variables; received a {type(pair[1]).__name__} paired with a gradient."
                )
        if not pairs:
            return self._iterations
        present = [(g, v) for g, v in pairs if g is not None]
        if not present:
            raise ValueError(f"{op}: no gradients provided for any variable: {[v.name for _, v in pairs]}.")
        if len(present) < len(pairs):
            warnings.warn(
                f"Gradients do not exist for variables {[v.name for g, v in pairs if g is None]} when minimizing the loss.",
                stacklevel=2,
            )
        variables = [v for _, v in present]
        grads = self._clip_gradients([_gradient_array(op, g, v) for g, v in present])
        learning_rate = self._current_learning_rate()
        self._prepare_step()
        # A variable given twice is updated twice, in turn: then none waits to be updated together.
        together = self._element_wise_update and len({id(variable) for variable in variables}) == len(variables)
        small = {}  # dtype -> [(gradient, value, slots)] of the small variables to update together
        for grad, variable in zip(grads, variables):
            slots = self._slots[self._slot_index(variable)]
            value = variable._value
            if self.weight_decay is not None and self._use_weight_decay(variable):
                value *= 1.0 - self.weight_decay * learning_rate
            if together and value.size <= _SMALL_VARIABLE_SIZE:
                small.setdefault(value.dtype, []).append((grad, value, slots))
            else:
                self._update_one(value, grad, slots, learning_rate)
        for group in small.values():
            if len(group) > 1:
                self._update_together(group, learning_rate)
            else:
                self._update_one(group[0][1], group[0][0], group[0][2], learning_rate)
        self._iterations._value += 1
        for variable in variables:  # as Keras 3: a weight's constraint projects it after each update
            if variable.constraint is not None:
                with no_recording():
                    variable.assign(variable.constraint(variable))
        return self._iterations

    def apply(self, grads, trainable_variables=None):
        """Keras 3's spelling of ``apply_gradients``: the gradients and the variables as two lists
        (by default the variables the optimizer was built for).

        Returns:
            ``iterations``.
        """
        if trainable_variables is None:
            if not self._variables_seen:
                raise ValueError(
                    f"{type(self).__name__}.apply: give the variables (apply(grads, variables)); the optimizer has "
                    "not been built for any yet."
                )
            trainable_variables = self._variables_seen
        grads, trainable_variables = list(grads), list(trainable_variables)
        if len(grads) != len(trainable_variables):
            raise ValueError(
                f"{type(self).__name__}.apply: received {len(grads)} gradients for {len(trainable_variables)} variables."
            )
        return self.apply_gradients(zip(grads, trainable_variables))

    def minimize(self, loss, var_list, tape=None):
        """Compute the gradients of ``loss`` and apply them to ``var_list``.

        Args:
            loss: a callable taking no arguments and returning the loss, or a loss
                tensor computed under ``tape``.
            var_list: the Variables to update (or a callable returning them).
            tape: the ``GradientTape`` that recorded ``loss`` when it is a tensor.

        Returns:
            ``iterations``.
        """
        if callable(var_list):
            var_list = var_list()
        var_list = list(var_list)
        if callable(loss):
            tape = GradientTape() if tape is None else tape
            with tape:
                tape.watch(var_list)
                loss = loss()
        elif tape is None:
            raise ValueError(
                f"{type(self).__name__}.minimize: `tape` is required when `loss` is a Tensor; "
                "pass the GradientTape that computed it, or pass `loss` as a callable."
            )
        grads = tape.gradient(loss, var_list)
        return self.apply_gradients(zip(grads, var_list))

    def _update_one(self, value, grad, slots, learning_rate):
        slot_values = {name: slot._value for name, slot in slots.items()}
        self._update_step(value, grad, slot_values, self._scratch_for(value), learning_rate)

    def _update_together(self, small, learning_rate):
        """``_update_step`` once over the variables of ``small`` (``(gradient, value, slots)``, one dtype),
        gathered into flat arrays; their new values are copied back.  Their slots live in the flat
        arrays (each slot Variable holds a view of its segment), so they need no copies."""
        key = (small[0][1].dtype, *(value.shape for _, value, _ in small))
        group = self._flat_groups.get(key)
        slots = [slot_dict for _, _, slot_dict in small]
        if group is None or not group.holds(slots):
            group = self._flat_groups[key] = _FlatGroup([value for _, value, _ in small], slots, self._slot_names)
        np.concatenate([grad.reshape(-1) for grad, _, _ in small], out=group.gradient)
        np.concatenate([value.reshape(-1) for _, value, _ in small], out=group.value)
        self._update_step(group.value, group.gradient, group.slots, group.scratch, learning_rate)
        for (_, value, _), segment in zip(small, group.value_segments):
            np.copyto(value, segment)

    def _scratch_for(self, value):
        key = (value.shape, value.dtype)
        scratch = self._scratch.get(key)
        if scratch is None:
            scratch = self._scratch[key] = np.empty_like(value)
        return scratch

    def _clip_gradients(self, grads):
        if self.clipnorm is not None:
            return [g * (self.clipnorm / max(_l2_norm(g), self.clipnorm)) for g in grads]
        if self.global_clipnorm is not None:
            norm = np.sqrt(sum(_l2_norm(g) ** 2 for g in grads))
            return [g * (self.global_clipnorm / max(norm, self.global_clipnorm)) for g in grads]
        if self.clipvalue is not None:
            return [np.clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        return grads

    # ---- config -----------------------------------------------------------------------------
    def get_config(self):
        """The constructor arguments, JSON-ready (a schedule is serialized as a dict)."""
        rate = self._learning_rate
        if isinstance(rate, schedules.LearningRateSchedule):
            rate = schedules.serialize(rate)
        elif isinstance(rate, Variable):
            rate = float(rate.numpy())
        else:
            raise ValueError(
                f"{type(self).__name__}.get_config: a learning rate given as a plain callable ({rate!r}) cannot be "
                "serialized; use a LearningRateSchedule subclass with get_config() instead."
            )
        return {
            "name": self.name,
            "learning_rate": rate,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """The optimizer ``get_config`` describes (without its state)."""
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"], custom_objects=custom_objects)
        return cls(**config)

    def __repr__(self):
        rate = self._learning_rate
        rate = float(rate.numpy()) if isinstance(rate, Variable) else rate
        return f"<{type(self).__name__} name={self.name!r} learning_rate={rate!r} iterations={int(self._iterations)}>"


# Variables of at most this many elements are updated together by an element-wise optimizer: for
# them the NumPy calls' start-up, not the arithmetic, is the cost.
_SMALL_VARIABLE_SIZE = 4096


class _FlatGroup:
    """Flat arrays for updating some small variables together: their values, gradients and slots one
    after another in the order given, and a scratch array.

    The slots move into the flat arrays: each slot Variable's value becomes a view of its segment
    (its current values copied in), so that an update of the flat slot is an update of the slot.
    """

    def __init__(self, values, slots, slot_names):
        bounds = np.cumsum([0, *(value.size for value in values)]).tolist()
        dtype, total = values[0].dtype, bounds[-1]
        self.value, self.gradient, self.scratch = (np.empty(total, dtype) for _ in range(3))
        self.value_segments = self._segments(self.value, bounds, values)
        self.slots = {}
        self._slot_views = []  # (slot Variable, the view it must hold)
        for name in slot_names:
            flat = self.slots[name] = np.empty(total, dtype)
            variables = [slot_dict[name] for slot_dict in slots]
            for variable, view in zip(variables, self._segments(flat, bounds, values)):
                np.copyto(view, variable._value)
                variable._value = view
                self._slot_views.append((variable, view))

    @staticmethod
    def _segments(flat, bounds, values):
        return [flat[start:stop].reshape(value.shape) for start, stop, value in zip(bounds, bounds[1:], values)]

    def holds(self, slots):
        """Whether ``slots`` (one dict of slot Variables per variable, in order) are the ones this group
        holds, each still holding its view (an assignment in place keeps it; a new array does not)."""
        names = self.slots
        given = [slot_dict[name] for name in names for slot_dict in slots]
        return len(given) == len(self._slot_views) and all(
            variable is held and variable._value is view for variable, (held, view) in zip(given, self._slot_views)
        )


def _is_rate_function(learning_rate):
    """A schedule or a callable (rather than a number) given as the learning rate."""
    return isinstance(learning_rate, schedules.LearningRateSchedule) or (
        callable(learning_rate) and not isinstance(learning_rate, Tensor)
    )


def _gradient_array(op, grad, variable):
    """A gradient as an ndarray of the variable's dtype and shape (read-only use)."""
    array = grad._value if isinstance(grad, Tensor) else np.asarray(grad)
    if array.dtype.kind not in "fiu":
        raise TypeError(
            f"{op}: the gradient for variable '{variable.name}' must be numeric; received dtype={array.dtype}."
        )
    if array.shape != variable._value.shape:
        raise ValueError(
            f"{op}: the gradient for variable '{variable.name}' has shape {array.shape}, "
            f"but the variable has shape {variable._value.shape}."
        )
    return array if array.dtype == variable.dtype else array.astype(variable.dtype)


def _l2_norm(array):
    flat = array.reshape(-1)
    return float(np.sqrt(np.dot(flat, flat)))


def _float_learning_rate(optimizer, value):
    if isinstance(value, (Tensor, np.ndarray)) and value.ndim == 0 and value.dtype.kind in "iuf":
        value = value.item() if isinstance(value, np.ndarray) else value.numpy().item()  # optimizer.lr read back
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(
            f"{optimizer}: argument `learning_rate` should be a float, an instance of LearningRateSchedule, or a "
            f"callable that returns the learning rate. Received: learning_rate={value!r}"
        )
    if not np.isfinite(value) or value < 0:
        raise ValueError(
            f"{optimizer}: argument `learning_rate` must be a finite number >= 0. Received: learning_rate={value}"
        )
    return float(value)


def _check_hyperparameter(optimizer, argument, value, low, high=None, low_inclusive=True, high_inclusive=True):
    """Raise a Keras-style ValueError unless ``value`` is a real number in the range."""
    is_number = not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating))
    in_range = (
        is_number
        and np.isfinite(value)
        and (value >= low if low_inclusive else value > low)
        and (high is None or (value <= high if high_inclusive else value < high))
    )
    if not in_range:
        low_bracket = "[" if low_inclusive else "("
        high_text = "inf)" if high is None else f"{high}{']' if high_inclusive else ')'}"
        raise ValueError(
            f"{optimizer}: `{argument}` must be a number in {low_bracket}{low}, {high_text}. Received: {argument}={value!r}"
        )
    return value


def _snake_case(name):
    return re.sub(r"(?<!^)(?=[A-Z][a-z])", "_", name).lower()
