"""Reverse-mode automatic differentiation with a ``GradientTape``.

Every op computes its value with NumPy and hands it to ``record`` together with
its inputs and a gradient function.  Each active tape that watches one of the
inputs keeps ``(output, inputs, grad_fn)`` by the tensors' keys, not the tensors:
what a gradient needs, its ``grad_fn`` holds, and every other intermediate result is
freed as soon as the forward pass is done with it (as in TensorFlow).
``tape.gradient`` walks the records backwards, calling each ``grad_fn(dy)`` and
summing what it returns into the inputs' gradients.

Gradient functions are written with cnnlab ops, so while an outer tape is
recording, the backward pass of an inner tape is itself recorded: nested tapes
give higher-order derivatives, as in TensorFlow.
"""

import contextlib

import numpy as np

from . import nest
from .tensor import Tensor, Variable

# The tapes inside whose ``with`` block we are, innermost last.  Together with the
# RNG, the counter that numbers tensors (``Tensor._key``) and the runtime's settings
# (``cnnlab.runtime.state``), this is the only global mutable state in cnnlab.
_active_tapes = []


def record(value, inputs, grad_fn):
    """Wrap an op's result in a Tensor and put the op on every tape that watches an input.

    Args:
        value: the op's result, an ndarray (NumPy scalars are turned into 0-d arrays).
        inputs: the op's tensor inputs, in the order ``grad_fn`` returns gradients.
        grad_fn: ``grad_fn(dy) -> tuple`` of one gradient (Tensor or None) per input,
            given ``dy``, the gradient of the target with respect to the result.
    """
    if type(value) is not np.ndarray:
        value = np.asarray(value)
    out = Tensor(value)
    for tape in _active_tapes:
        if tape._recording:
            tape._record(out, inputs, grad_fn)
    return out


def is_watched(tensor):
    """Whether some active tape will want a gradient for ``tensor``.

    Ops whose gradient is costly (conv2d, matmul) ask this when they run, to skip
    gradients nobody will read, such as the one for a network's input images.
    """
    for tape in _active_tapes:
        if tape._recording and tape._watches(tensor):
            return True
    return False


def is_recording():
    """Whether some active tape is recording, so that ops run now (even inside a gradient
    function) are themselves differentiated later.

    Fused ops take a NumPy shortcut for their gradient when nothing records it, and
    build it from differentiable ops when something does (higher-order gradients).
    """
    return any(tape._recording for tape in _active_tapes)


@contextlib.contextmanager
def no_recording():
    """Within the block, no active tape records anything (Keras uses it to run a layer once to
    learn its output shape, a run that must leave no trace)."""
    paused = [tape for tape in _active_tapes if tape._recording]
    for tape in paused:
        tape._recording = False
    try:
        yield
    finally:
        for tape in paused:
            tape._recording = True


class UnconnectedGradients:
    NONE = "none"
    ZERO = "zero"


class GradientTape:
    """Records operations for automatic differentiation (``tf.GradientTape``).

    Args:
        persistent: allow more than one call to ``gradient``.
        watch_accessed_variables: watch every trainable Variable an op reads.

    Example:
        >>> x = cnnlab.Variable(3.0)
        >>> with cnnlab.GradientTape() as tape:
        ...     y = x * x
        >>> float(tape.gradient(y, x))
        6.0
    """

    def __init__(self, persistent=False, watch_accessed_variables=True):
        self._persistent = bool(persistent)
        self._watch_accessed_variables = bool(watch_accessed_variables)
        # Tensor._key -> the tensor for sources (watched tensors and variables), None for op outputs.
        self._watched = {}
        self._ops = []
        self._recording = False
        self._used = False

    def __enter__(self):
        _active_tapes.append(self)
        self._recording = True
        return self

    def __exit__(self, *exc_info):
        self._recording = False
        _active_tapes.remove(self)
        return False

    def watch(self, tensor):
        """Ensure gradients with respect to ``tensor`` (or each tensor in a structure) are kept."""
        for t in nest.flatten(tensor):
            if not isinstance(t, Tensor):
                raise ValueError(f"GradientTape.watch: expected a Tensor or Variable; received {type(t).__name__}.")
            self._watched[t._key] = t

    def watched_variables(self):
        return tuple(t for t in self._watched.values() if isinstance(t, Variable))

    @contextlib.contextmanager
    def stop_recording(self):
        """Ops run inside this block are not recorded on this tape."""
        if not self._recording:
            raise ValueError("GradientTape.stop_recording: the tape is not recording (use it inside the tape's `with` block).")
        self._recording = False
        try:
            yield
        finally:
            self._recording = True

    def reset(self):
        """Forget everything recorded so far."""
        self._watched.clear()
        self._ops.clear()
        self._used = False

    def _watches(self, tensor):
        if tensor._key in self._watched:
            return True
        return self._watch_accessed_variables and isinstance(tensor, Variable) and tensor.trainable

    def _record(self, out, inputs, grad_fn):
        watched = self._watched
        hit = False
        for t in inputs:
            if t._key in watched:
                hit = True
            elif self._watch_accessed_variables and isinstance(t, Variable) and t.trainable:
                watched[t._key] = t
                hit = True
        if hit and out._value.dtype.kind in "fc":
            watched[out._key] = None
            self._ops.append((out._key, tuple(t._key for t in inputs), grad_fn))

    def gradient(self, target, sources, output_gradients=None, unconnected_gradients=UnconnectedGradients.NONE):
        """Gradients of ``target`` with respect to ``sources``, in the structure of ``sources``.

        Args:
            target: a tensor, or a structure of tensors whose gradients are summed.
                A non-scalar target is differentiated as the sum of its elements.
            sources: a tensor or Variable, or a list, tuple or dict of them.
            output_gradients: optional seeds for the targets (default ones).
            unconnected_gradients: 'none' (return None) or 'zero' for sources the
                target does not depend on.

        Returns:
            The gradients, None where a source is unconnected or not of a float dtype.
        """
        if self._used and not self._persistent:
            raise RuntimeError(
                "GradientTape.gradient can only be called once on a non-persistent tape; "
                "create the tape with GradientTape(persistent=True) to call it more than once."
            )
        if unconnected_gradients not in (UnconnectedGradients.NONE, UnconnectedGradients.ZERO):
            raise ValueError(
                f"GradientTape.gradient: unconnected_gradients must be 'none' or 'zero'; received {unconnected_gradients!r}."
            )
        self._used = True
        flat_sources = nest.flatten(sources)
        for s in flat_sources:
            if not isinstance(s, Tensor):
                raise ValueError(f"GradientTape.gradient: sources must be Tensors or Variables; received {type(s).__name__}.")
        flat_targets = nest.flatten(target)
        seeds = [None] * len(flat_targets) if output_gradients is None else nest.flatten(output_gradients)
        if len(seeds) != len(flat_targets):
            raise ValueError(
                f"GradientTape.gradient: expected {len(flat_targets)} output_gradients (one per target); received {len(seeds)}."
            )

        from .ops import array_ops

        was_recording = self._recording
        self._recording = False  # the backward pass is not recorded on this tape
        try:
            grads = {}
            for t, seed in zip(flat_targets, seeds):
                if not isinstance(t, Tensor):
                    raise ValueError(f"GradientTape.gradient: target must be a Tensor; received {type(t).__name__}.")
                seed = array_ops.ones_like(t) if seed is None else array_ops.broadcast_to(seed, t.shape)
                _accumulate(grads, t._key, seed)
            keep = {s._key for s in flat_sources}
            for out, inputs, grad_fn in reversed(self._ops):
                dy = grads.get(out)
                if dy is None:
                    continue
                if out not in keep:
                    del grads[out]  # free it as soon as it has been used
                for inp, grad in zip(inputs, grad_fn(dy)):
                    if grad is not None and inp in self._watched:
                        _accumulate(grads, inp, grad)
        finally:
            self._recording = was_recording
            if not self._persistent:
                self._ops = []

        result = []
        for s in flat_sources:
            grad = grads.get(s._key) if s.dtype.kind in "fc" else None
            if grad is None and unconnected_gradients == UnconnectedGradients.ZERO:
                grad = array_ops.zeros_like(s)
            result.append(grad)
        return nest.pack_sequence_as(sources, result)


def _accumulate(grads, key, grad):
    previous = grads.get(key)
    grads[key] = grad if previous is None else previous + grad
