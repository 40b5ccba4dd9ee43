"""Adagrad, in Keras's form (epsilon inside the square root)."""

import numpy as np

from .optimizer import Optimizer, _check_hyperparameter


def adagrad_update(variable, gradient, accumulator, scratch, *, learning_rate, epsilon):
    """One Adagrad step, in place on ``variable`` and ``accumulator``.

    Keras's formulas::

        accumulator += g**2
        variable -= learning_rate * g / sqrt(accumulator + epsilon)

    PyTorch uses ``sqrt(accumulator) + epsilon``; the two agree exactly for epsilon = 0.
    """
    np.square(gradient, out=scratch)
    accumulator += scratch
    np.add(accumulator, epsilon, out=scratch)
    np.sqrt(scratch, out=scratch)
    np.divide(gradient, scratch, out=scratch)
    scratch *= learning_rate
    variable -= scratch


class Adagrad(Optimizer):
    """The Adagrad optimizer (``tf.keras.optimizers.Adagrad``).

    Args:
        learning_rate: a float, schedule or callable. Defaults to 0.001.
        initial_accumulator_value: the starting value of the accumulators, >= 0.
            Defaults to 0.1.
        epsilon: added under the square root. Defaults to 1e-7.
        name: defaults to 'adagrad'.
        **kwargs: weight_decay, clipnorm, clipvalue, global_clipnorm (see ``Optimizer``).

    Update: see ``adagrad_update``.

    Example:
        >>> w = cnnlab.Variable(1.0)
        >>> _ = Adagrad(learning_rate=0.1, initial_accumulator_value=0.0, epsilon=0.0).apply_gradients(
        ...     [(cnnlab.constant(2.0), w)])
        >>> float(w)   # 1 - 0.1 * 2 / sqrt(4)
        0.9
    """

    _slot_groups = (("accumulator",),)

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, name="adagrad", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.initial_accumulator_value = _check_hyperparameter(
            "Adagrad", "initial_accumulator_value", initial_accumulator_value, low=0.0
        )
        self.epsilon = _check_hyperparameter("Adagrad", "epsilon", epsilon, low=0.0)

    def _slot_initial_value(self, slot_name):
        return self.initial_accumulator_value

    def _update_step(self, variable, gradient, slots, scratch, learning_rate):
        adagrad_update(
            variable, gradient, slots["accumulator"], scratch, learning_rate=learning_rate, epsilon=self.epsilon
        )

    def get_config(self):
        return {
            **super().get_config(),
            "initial_accumulator_value": self.initial_accumulator_value,
            "epsilon": self.epsilon,
        }
