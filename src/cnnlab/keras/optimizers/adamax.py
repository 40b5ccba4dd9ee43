"""Adamax: Adam with the infinity norm of the gradients, in Keras 3's form."""

import numpy as np

from .optimizer import Optimizer, _check_hyperparameter


def adamax_update(variable, gradient, m, u, scratch, *, learning_rate, beta_1, beta_2, epsilon, step):
    """One Adamax step at step ``step`` (1 for the first update), in place.

    Keras 3's formulas::

        m += (g - m) * (1 - beta_1)
        u = max(beta_2 * u, |g|)
        variable -= learning_rate * m / ((1 - beta_1 ** step) * (u + epsilon))
    """
    np.subtract(gradient, m, out=scratch)
    scratch *= 1.0 - beta_1
    m += scratch
    u *= beta_2
    np.maximum(u, np.abs(gradient), out=u)
    np.add(u, epsilon, out=scratch)
    scratch *= 1.0 - beta_1**step
    np.divide(m, scratch, out=scratch)
    scratch *= learning_rate
    variable -= scratch


class Adamax(Optimizer):
    """The Adamax optimizer (``keras.optimizers.Adamax``).

    Args:
        learning_rate: a float, schedule or callable. Defaults to 0.001.
        beta_1: decay rate of the first-moment estimate. Defaults to 0.9.
        beta_2: decay rate of the exponentially weighted infinity norm. Defaults to 0.999.
        epsilon: added to the norm for stability. Defaults to 1e-7.
        name: defaults to 'adamax'.
        **kwargs: weight_decay, clipnorm, clipvalue, global_clipnorm (see ``Optimizer``).

    State: slots 'momentum' and 'norm' per variable; see ``adamax_update``.
    """

    _slot_groups = (("momentum", "norm"),)

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, name="adamax", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1 = _check_hyperparameter("Adamax", "beta_1", beta_1, low=0.0, high=1.0, high_inclusive=False)
        self.beta_2 = _check_hyperparameter("Adamax", "beta_2", beta_2, low=0.0, high=1.0, high_inclusive=False)
        self.epsilon = _check_hyperparameter("Adamax", "epsilon", epsilon, low=0.0)

    def _update_step(self, variable, gradient, slots, scratch, learning_rate):
        adamax_update(
            variable,
            gradient,
            slots["momentum"],
            slots["norm"],
            scratch,
            learning_rate=learning_rate,
            beta_1=self.beta_1,
            beta_2=self.beta_2,
            epsilon=self.epsilon,
            step=int(self._iterations) + 1,
        )

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}
