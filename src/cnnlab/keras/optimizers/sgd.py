"""Stochastic gradient descent with optional (Nesterov) momentum, Keras's form."""

import numpy as np

from .optimizer import Optimizer, _check_hyperparameter


def sgd_update(variable, gradient, velocity, scratch, *, learning_rate, momentum, nesterov):
    """One SGD step, in place on ``variable`` (and ``velocity``, None without momentum).

    Keras's formulas (``velocity`` starts at zero)::

        velocity = momentum * velocity - learning_rate * gradient
        variable += velocity                                         # plain momentum
        variable += momentum * velocity - learning_rate * gradient   # nesterov

    PyTorch keeps ``buffer = -velocity / learning_rate`` instead; for a constant
    learning rate the two give the same steps.
    """
    np.multiply(gradient, learning_rate, out=scratch)  # learning_rate * gradient
    if velocity is None:
        variable -= scratch
        return
    velocity *= momentum
    velocity -= scratch
    if nesterov:
        variable -= scratch
        np.multiply(velocity, momentum, out=scratch)
        variable += scratch
    else:
        variable += velocity


class SGD(Optimizer):
    """Gradient descent with momentum (``tf.keras.optimizers.SGD``).

    Args:
        learning_rate: a float, schedule or callable. Defaults to 0.01.
        momentum: in [0, 1]; 0 is plain gradient descent.
        nesterov: use Nesterov momentum.
        name: defaults to 'SGD'.
        **kwargs: weight_decay, clipnorm, clipvalue, global_clipnorm (see ``Optimizer``).

    Update (per variable ``w`` with gradient ``g``)::

        velocity = momentum * velocity - learning_rate * g
        w = w + velocity                                  # or, with nesterov:
        w = w + momentum * velocity - learning_rate * g

    Example:
        >>> w = cnnlab.Variable(1.0)
        >>> opt = SGD(learning_rate=0.1, momentum=0.9)
        >>> _ = opt.apply_gradients([(cnnlab.constant(1.0), w)])
        >>> _ = opt.apply_gradients([(cnnlab.constant(1.0), w)])
        >>> round(float(w), 4)   # 1 - 0.1 - (0.9 * 0.1 + 0.1)
        0.71
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, name="SGD", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.momentum = float(_check_hyperparameter("SGD", "momentum", momentum, low=0.0, high=1.0))
        self.nesterov = bool(nesterov)
        self._slot_groups = (("momentum",),) if self.momentum != 0 else ()

    def _update_step(self, variable, gradient, slots, scratch, learning_rate):
        sgd_update(
            variable,
            gradient,
            slots.get("momentum"),
            scratch,
            learning_rate=learning_rate,
            momentum=self.momentum,
            nesterov=self.nesterov,
        )

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}
