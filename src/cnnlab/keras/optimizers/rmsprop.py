"""RMSprop, in Keras's form (epsilon inside the square root)."""

import numpy as np

from .optimizer import Optimizer, _check_hyperparameter


def rmsprop_update(
    variable, gradient, velocity, momentum_buffer, average_gradient, scratch, *, learning_rate, rho, momentum, epsilon
):
    """One RMSprop step, in place; ``momentum_buffer`` / ``average_gradient`` are None when unused.

    Keras's formulas::

        velocity = rho * velocity + (1 - rho) * g**2
        average_gradient = rho * average_gradient + (1 - rho) * g          # centered only
        denominator = velocity - average_gradient**2 + epsilon             # centered
                      velocity + epsilon                                   # otherwise
        increment = learning_rate * g / sqrt(denominator)
        momentum_buffer = momentum * momentum_buffer + increment           # momentum > 0
        variable -= momentum_buffer (or increment)

    PyTorch uses ``sqrt(velocity) + epsilon``; the two agree exactly for epsilon = 0.
    """
    velocity *= rho
    np.square(gradient, out=scratch)
    scratch *= 1.0 - rho
    velocity += scratch
    if average_gradient is not None:
        average_gradient *= rho
        np.multiply(gradient, 1.0 - rho, out=scratch)
        average_gradient += scratch
        np.square(average_gradient, out=scratch)
        np.subtract(velocity, scratch, out=scratch)
        scratch += epsilon
    else:
        np.add(velocity, epsilon, out=scratch)
    np.sqrt(scratch, out=scratch)
    np.divide(gradient, scratch, out=scratch)
    scratch *= learning_rate
    if momentum_buffer is not None:
        momentum_buffer *= momentum
        momentum_buffer += scratch
        variable -= momentum_buffer
    else:
        variable -= scratch


class RMSprop(Optimizer):
    """The RMSprop optimizer (``tf.keras.optimizers.RMSprop``).

    Args:
        learning_rate: a float, schedule or callable. Defaults to 0.001.
        rho: discount of the running average of squared gradients, in [0, 1]. Defaults to 0.9.
        momentum: in [0, 1]; when > 0 a (plain) momentum buffer is kept. Defaults to 0.
        epsilon: added under the square root. Defaults to 1e-7.
        centered: normalize by the estimated variance of the gradient instead of
            its uncentered second moment.
        name: defaults to 'rmsprop'.
        **kwargs: weight_decay, clipnorm, clipvalue, global_clipnorm (see ``Optimizer``).

    Update: see ``rmsprop_update``.

    Example:
        >>> w = cnnlab.Variable(10.0)
        >>> opt = RMSprop(learning_rate=0.1)
        >>> _ = opt.minimize(lambda: w * w / 2.0, [w])   # d/dw = w
        >>> round(float(w), 5)
        9.68377
    """

    def __init__(
        self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, name="rmsprop", **kwargs
    ):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.rho = _check_hyperparameter("RMSprop", "rho", rho, low=0.0, high=1.0)
        self.momentum = _check_hyperparameter("RMSprop", "momentum", momentum, low=0.0, high=1.0)
        self.epsilon = _check_hyperparameter("RMSprop", "epsilon", epsilon, low=0.0)
        self.centered = bool(centered)
        # As Keras builds them: each kind for every variable, kind after kind.
        self._slot_groups = (
            (("velocity",),)
            + ((("momentum",),) if self.momentum > 0 else ())
            + ((("average_gradient",),) if self.centered else ())
        )

    def _update_step(self, variable, gradient, slots, scratch, learning_rate):
        rmsprop_update(
            variable,
            gradient,
            slots["velocity"],
            slots.get("momentum"),
            slots.get("average_gradient"),
            scratch,
            learning_rate=learning_rate,
            rho=self.rho,
            momentum=self.momentum,
            epsilon=self.epsilon,
        )

    def get_config(self):
        return {
            **super().get_config(),
            "rho": self.rho,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "centered": self.centered,
        }
