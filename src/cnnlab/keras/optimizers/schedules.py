"""Learning-rate schedules (``tf.keras.optimizers.schedules``).

A schedule is a callable ``schedule(step) -> learning rate``; an optimizer given one
as its ``learning_rate`` calls it with its ``iterations`` count before every update
(so the first update uses ``schedule(0)``), as Keras does.

    >>> lr = ExponentialDecay(0.1, decay_steps=100, decay_rate=0.5)
    >>> float(lr(100))
    0.05
"""

import math

import numpy as np

from ...tensor import Tensor, constant
from .. import serialization


class LearningRateSchedule:
    """Base class: subclasses implement ``__call__(step)`` and ``get_config()``.

    Example:
        >>> class InverseStep(LearningRateSchedule):
        ...     def __init__(self, initial_learning_rate):
        ...         self.initial_learning_rate = initial_learning_rate
        ...     def __call__(self, step):
        ...         return self.initial_learning_rate / (float(step) + 1)
        ...     def get_config(self):
        ...         return {"initial_learning_rate": self.initial_learning_rate}
    """

    def __call__(self, step):
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override `__call__(self, step)`."
        )

    def get_config(self):
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override `get_config()` in order to be serializable."
        )

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _step_value(step):
    """The optimizer step (an int, NumPy scalar or scalar tensor) as a float."""
    if isinstance(step, Tensor):
        step = step._value
    step = np.asarray(step)
    if step.ndim != 0 or step.dtype.kind not in "iuf":
        raise ValueError(f"A learning rate schedule takes a scalar step number; received step={step!r}.")
    return float(step)


def _positive_decay_steps(decay_steps, argument="decay_steps"):
    if (
        isinstance(decay_steps, bool)
        or not isinstance(decay_steps, (int, float, np.integer, np.floating))
        or decay_steps <= 0
    ):
        raise ValueError(f"Argument `{argument}` must be > 0. Received: {argument}={decay_steps!r}")
    return decay_steps


def _as_learning_rate(value):
    """A schedule's result: a float32 scalar tensor, as Keras returns a floatx tensor."""
    return constant(np.float32(value))


class ExponentialDecay(LearningRateSchedule):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)``.

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: positive; the rate is multiplied by ``decay_rate`` every
            ``decay_steps`` steps.
        decay_rate: the factor per ``decay_steps`` steps.
        staircase: when True, ``step / decay_steps`` is floored, so the rate drops
            in steps instead of continuously.
        name: a label kept in the config.

    Example:
        >>> lr = ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5, staircase=True)
        >>> [round(float(lr(s)), 4) for s in (0, 9, 10, 25)]
        [0.1, 0.1, 0.05, 0.025]
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="ExponentialDecay"):
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = _positive_decay_steps(decay_steps)
        self.decay_rate = decay_rate
        self.staircase = bool(staircase)
        self.name = name

    def __call__(self, step):
        progress = _step_value(step) / self.decay_steps
        if self.staircase:
            progress = math.floor(progress)
        return _as_learning_rate(self.initial_learning_rate * self.decay_rate**progress)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }


class InverseTimeDecay(LearningRateSchedule):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)``.

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: positive; the time unit of the decay.
        decay_rate: how fast the rate falls.
        staircase: when True, ``step / decay_steps`` is floored.
        name: a label kept in the config.

    Example:
        >>> float(InverseTimeDecay(0.1, decay_steps=1, decay_rate=0.5)(2))
        0.05
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="InverseTimeDecay"):
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = _positive_decay_steps(decay_steps)
        self.decay_rate = decay_rate
        self.staircase = bool(staircase)
        self.name = name

    def __call__(self, step):
        progress = _step_value(step) / self.decay_steps
        if self.staircase:
            progress = math.floor(progress)
        return _as_learning_rate(self.initial_learning_rate / (1.0 + self.decay_rate * progress))

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[i]`` on the i-th interval between ``boundaries``.

    The rate is ``values[0]`` while ``step <= boundaries[0]``, ``values[1]`` while
    ``boundaries[0] < step <= boundaries[1]``, ..., and ``values[-1]`` after the last
    boundary (Keras's rule: a boundary belongs to the interval before it).

    Args:
        boundaries: strictly increasing step numbers.
        values: one more value than there are boundaries.
        name: a label kept in the config.

    Example:
        >>> lr = PiecewiseConstantDecay([100, 200], [1.0, 0.5, 0.1])
        >>> [float(lr(s)) for s in (100, 101, 201)]
        [1.0, 0.5, 0.1]
    """

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        boundaries, values = list(boundaries), list(values)
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "The length of boundaries should be 1 less than the length of values. "
                f"Received: boundaries={boundaries} of length {len(boundaries)}, and values={values} of length {len(values)}."
            )
        if any(later <= earlier for earlier, later in zip(boundaries, boundaries[1:])):
            raise ValueError(f"Argument `boundaries` must be strictly increasing. Received: boundaries={boundaries}")
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def __call__(self, step):
        # The number of boundaries strictly below the step is the interval's index.
        interval = int(np.searchsorted(self.boundaries, _step_value(step), side="left"))
        return _as_learning_rate(self.values[interval])

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class CosineDecay(LearningRateSchedule):
    """A cosine from ``initial_learning_rate`` down to ``alpha * initial_learning_rate``, after an
    optional linear warm-up (Loshchilov & Hutter, SGDR, 2017).

    Without a warm-up the rate at ``step`` is
    ``initial_learning_rate * ((1 - alpha) * cosine + alpha)`` with
    ``cosine = 0.5 * (1 + cos(pi * min(step, decay_steps) / decay_steps))``.
    With ``warmup_target`` set, the rate first rises linearly from ``initial_learning_rate`` to
    ``warmup_target`` over ``warmup_steps`` steps, then the cosine runs from ``warmup_target`` over
    the next ``decay_steps`` steps; after them it stays at its last value.

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: positive; the length of the cosine, in steps.
        alpha: the last rate as a fraction of the cosine's first.
        name: a label kept in the config.
        warmup_target: the rate the warm-up reaches (None: no warm-up).
        warmup_steps: the length of the warm-up, in steps.

    Example:
        >>> lr = CosineDecay(0.1, decay_steps=100)
        >>> [round(float(lr(s)), 4) for s in (0, 50, 100, 150)]
        [0.1, 0.05, 0.0, 0.0]
    """

    def __init__(
        self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay", warmup_target=None, warmup_steps=0
    ):
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = _positive_decay_steps(decay_steps)
        self.alpha = alpha
        self.name = name
        self.warmup_target = warmup_target
        if warmup_target is not None and warmup_steps != 0:
            _positive_decay_steps(warmup_steps, argument="warmup_steps")
        self.warmup_steps = warmup_steps

    def __call__(self, step):
        step = _step_value(step)
        if self.warmup_target is None:
            return _as_learning_rate(self._cosine(min(step, self.decay_steps), self.initial_learning_rate))
        step = min(step, self.decay_steps + self.warmup_steps)
        if step < self.warmup_steps:
            rise = self.warmup_target - self.initial_learning_rate
            return _as_learning_rate(rise * (step / self.warmup_steps) + self.initial_learning_rate)
        return _as_learning_rate(self._cosine(step - self.warmup_steps, self.warmup_target))

    def _cosine(self, step, start):
        cosine = 0.5 * (1.0 + math.cos(math.pi * (step / self.decay_steps)))
        return start * ((1 - self.alpha) * cosine + self.alpha)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "alpha": self.alpha,
            "name": self.name,
            "warmup_target": self.warmup_target,
            "warmup_steps": self.warmup_steps,
        }


_SCHEDULES = {cls.__name__: cls for cls in (ExponentialDecay, InverseTimeDecay, PiecewiseConstantDecay, CosineDecay)}


def serialize(schedule):
    """A JSON-ready dict ``{'class_name': ..., 'config': ...}`` describing ``schedule``."""
    if not isinstance(schedule, LearningRateSchedule):
        raise ValueError(f"serialize: expected a LearningRateSchedule; received {schedule!r}.")
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def deserialize(config, custom_objects=None):
    """The schedule described by ``serialize``'s dict; ``custom_objects`` maps extra class names."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"deserialize: expected a dict with 'class_name' and 'config'; received {config!r}.")
    known = {**_SCHEDULES, **(custom_objects or {})}
    cls = known.get(config["class_name"])
    if cls is None:
        raise ValueError(
            f"deserialize: unknown learning rate schedule {config['class_name']!r}; known: {sorted(known)}. "
            "Pass custom schedules in custom_objects."
        )
    return cls.from_config(dict(config.get("config", {})))


serialization.note_builtin_namespace(__name__, globals())
