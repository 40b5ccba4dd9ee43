"""AdamW: Adam with decoupled weight decay (``keras.optimizers.AdamW``)."""

from .adam import Adam


class AdamW(Adam):
    """Adam whose every update first shrinks each weight by ``weight * weight_decay * learning_rate``
    (decoupled weight decay, Loshchilov and Hutter), as Keras 3's AdamW.

    Args:
        learning_rate: a float, schedule or callable. Defaults to 0.001.
        weight_decay: the decay rate; required, defaults to 0.004.
        beta_1, beta_2, epsilon, amsgrad: as ``Adam``.
        name: defaults to 'adam_w' (Keras 3's default).
        **kwargs: clipnorm, clipvalue, global_clipnorm (see ``Optimizer``).

    Example:
        >>> AdamW(weight_decay=0.01).get_config()["weight_decay"]
        0.01
    """

    def __init__(
        self,
        learning_rate=0.001,
        weight_decay=0.004,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        amsgrad=False,
        name="adam_w",
        **kwargs,
    ):
        if weight_decay is None:
            raise ValueError("AdamW: argument `weight_decay` must be a float. Received: weight_decay=None")
        super().__init__(
            learning_rate=learning_rate,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            amsgrad=amsgrad,
            name=name,
            weight_decay=weight_decay,
            **kwargs,
        )
