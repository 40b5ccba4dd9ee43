"""Nadam: Adam with Nesterov momentum, in Keras 3's form (Dozat's momentum schedule)."""

import numpy as np

from ...tensor import Variable
from .optimizer import Optimizer, _check_hyperparameter

# Dozat's momentum schedule: u_t = beta_1 * (1 - 0.5 * 0.96 ** t).
_SCHEDULE_BASE = 0.96


def nadam_update(variable, gradient, m, v, scratch, *, learning_rate, beta_1, beta_2, epsilon, step, u_product):
    """One Nadam step at step ``step`` (1 for the first update), in place on ``variable``, ``m``, ``v``.

    ``u_product`` is the product of the momentum schedule up to ``step``.  Keras 3's formulas::

        u_t   = beta_1 * (1 - 0.5 * 0.96 ** step);  u_t1 = beta_1 * (1 - 0.5 * 0.96 ** (step + 1))
        m += (g - m) * (1 - beta_1)
        v += (g**2 - v) * (1 - beta_2)
        m_hat = u_t1 * m / (1 - u_product * u_t1) + (1 - u_t) * g / (1 - u_product)
        v_hat = v / (1 - beta_2 ** step)
        variable -= learning_rate * m_hat / (sqrt(v_hat) + epsilon)
    """
    # The schedule in the variable's precision, as Keras computes it.
    real = variable.dtype.type
    u_t = real(beta_1) * (real(1.0) - real(0.5) * real(_SCHEDULE_BASE) ** real(step))
    u_next = real(beta_1) * (real(1.0) - real(0.5) * real(_SCHEDULE_BASE) ** real(step + 1))
    u_product = real(u_product)
    np.subtract(gradient, m, out=scratch)
    scratch *= 1.0 - beta_1
    m += scratch
    np.square(gradient, out=scratch)
    scratch -= v
    scratch *= 1.0 - beta_2
    v += scratch
    m_hat = m * (u_next / (real(1.0) - u_product * u_next)) + gradient * ((real(1.0) - u_t) / (real(1.0) - u_product))
    np.divide(v, real(1.0) - real(beta_2) ** real(step), out=scratch)
    np.sqrt(scratch, out=scratch)
    scratch += epsilon
    np.divide(m_hat, scratch, out=scratch)
    scratch *= learning_rate
    variable -= scratch


class Nadam(Optimizer):
    """The Nadam optimizer (``keras.optimizers.Nadam``): Adam with Nesterov momentum.

    Args:
        learning_rate: a float, schedule or callable. Defaults to 0.001.
        beta_1: decay rate of the first-moment estimate. Defaults to 0.9.
        beta_2: decay rate of the second-moment estimate. Defaults to 0.999.
        epsilon: added to ``sqrt(v_hat)`` for stability. Defaults to 1e-7.
        name: defaults to 'nadam'.
        **kwargs: weight_decay, clipnorm, clipvalue, global_clipnorm (see ``Optimizer``).

    State:
        slots 'momentum' and 'velocity' per variable, and 'u_product' (the product of
        the momentum schedule so far) for the optimizer; see ``nadam_update``.

    Example:
        >>> w = cnnlab.Variable([1.0])
        >>> _ = Nadam(learning_rate=0.1).apply_gradients([(cnnlab.constant([2.0]), w)])
    """

    _slot_groups = (("momentum", "velocity"),)

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, name="nadam", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1 = _check_hyperparameter("Nadam", "beta_1", beta_1, low=0.0, high=1.0, high_inclusive=False)
        self.beta_2 = _check_hyperparameter("Nadam", "beta_2", beta_2, low=0.0, high=1.0, high_inclusive=False)
        self.epsilon = _check_hyperparameter("Nadam", "epsilon", epsilon, low=0.0)
        self._u_product = Variable(np.float32(1.0), trainable=False, name="u_product")

    def _shared_state(self):
        return {"u_product": self._u_product}

    def _prepare_step(self):
        real = self._u_product.dtype.type
        step = real(int(self._iterations) + 1)
        self._u_product.assign(
            self._u_product._value * real(self.beta_1) * (real(1.0) - real(0.5) * real(_SCHEDULE_BASE) ** step)
        )

    def _update_step(self, variable, gradient, slots, scratch, learning_rate):
        nadam_update(
            variable,
            gradient,
            slots["momentum"],
            slots["velocity"],
            scratch,
            learning_rate=learning_rate,
            beta_1=self.beta_1,
            beta_2=self.beta_2,
            epsilon=self.epsilon,
            step=int(self._iterations) + 1,
            u_product=self._u_product._value[()],
        )

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}
