"""Adam, in Keras's form (epsilon added to the uncorrected ``sqrt(v)``)."""

import math

import numpy as np

from .optimizer import Optimizer, _check_hyperparameter


def adam_update(variable, gradient, m, v, v_hat, scratch, *, alpha, beta_1, beta_2, epsilon):
    """One Adam step, in place on ``variable``, ``m``, ``v`` (and ``v_hat`` for AMSGrad).

    Keras's formulas, with ``alpha = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)``::

        m += (g - m) * (1 - beta_1)
        v += (g**2 - v) * (1 - beta_2)
        v_hat = max(v_hat, v)                      # AMSGrad only; then v_hat replaces v
        variable -= alpha * m / (sqrt(v) + epsilon)

    PyTorch adds epsilon to the bias-corrected ``sqrt(v / (1 - beta_2**t))`` instead,
    so the two agree exactly only for epsilon = 0.
    """
    np.subtract(gradient, m, out=scratch)
    scratch *= 1.0 - beta_1
    m += scratch
    np.square(gradient, out=scratch)
    scratch -= v
    scratch *= 1.0 - beta_2
    v += scratch
    if v_hat is not None:
        np.maximum(v_hat, v, out=v_hat)
        v = v_hat
    np.sqrt(v, out=scratch)
    scratch += epsilon
    np.divide(m, scratch, out=scratch)
    scratch *= alpha
    variable -= scratch


class Adam(Optimizer):
    """The Adam optimizer (``tf.keras.optimizers.Adam``).

    Args:
        learning_rate: a float, schedule or callable. Defaults to 0.001.
        beta_1: decay rate of the first-moment estimate, in [0, 1). Defaults to 0.9.
        beta_2: decay rate of the second-moment estimate, in [0, 1). Defaults to 0.999.
        epsilon: added to ``sqrt(v)`` (before bias correction) for stability. Defaults to 1e-7.
        amsgrad: use the AMSGrad variant (the running maximum of ``v``).
        name: defaults to 'adam'.
        **kwargs: weight_decay, clipnorm, clipvalue, global_clipnorm (see ``Optimizer``).

    Update at step ``t`` (1 for the first update), see ``adam_update``.

    Example:
        >>> w = cnnlab.Variable([1.0, -1.0])
        >>> _ = Adam(learning_rate=0.1).apply_gradients([(cnnlab.constant([3.0, -0.5]), w)])
        >>> np.round(w.numpy(), 4)   # the first Adam step moves each weight by about lr * sign(g)
        array([ 0.9, -0.9], dtype=float32)
    """

    def __init__(
        self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, name="adam", **kwargs
    ):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1 = _check_hyperparameter("Adam", "beta_1", beta_1, low=0.0, high=1.0, high_inclusive=False)
        self.beta_2 = _check_hyperparameter("Adam", "beta_2", beta_2, low=0.0, high=1.0, high_inclusive=False)
        self.epsilon = _check_hyperparameter("Adam", "epsilon", epsilon, low=0.0)
        self.amsgrad = bool(amsgrad)
        # As Keras builds them: momentum and velocity per variable, then the maxima (AMSGrad).
        self._slot_groups = (("momentum", "velocity"),) + ((("velocity_hat",),) if self.amsgrad else ())

    _element_wise_update = True

    def _update_step(self, variable, gradient, slots, scratch, learning_rate):
        step = int(self._iterations) + 1
        alpha = learning_rate * math.sqrt(1.0 - self.beta_2**step) / (1.0 - self.beta_1**step)
        adam_update(
            variable,
            gradient,
            slots["momentum"],
            slots["velocity"],
            slots.get("velocity_hat"),
            scratch,
            alpha=alpha,
            beta_1=self.beta_1,
            beta_2=self.beta_2,
            epsilon=self.epsilon,
        )

    def get_config(self):
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "amsgrad": self.amsgrad,
        }
