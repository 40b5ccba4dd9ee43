"""``keras.Model``: a layer that can be compiled, trained, evaluated, summarized and saved.

Subclass it and write ``call`` (layers assigned as attributes are tracked, so
their weights belong to the model):

    class Classifier(keras.Model):
        def __init__(self):
            super().__init__()
            self.flatten = keras.layers.Flatten()
            self.hidden = keras.layers.Dense(64, activation="relu")
            self.dropout = keras.layers.Dropout(0.3)
            self.out = keras.layers.Dense(10, activation="softmax")

        def call(self, x, training=False):
            x = self.hidden(self.flatten(x))
            return self.out(self.dropout(x, training=training))

or build one from symbolic tensors, ``keras.Model(inputs, outputs)``, or use
``keras.Sequential``.  The training loop itself lives in ``training.py``.
"""

import numpy as np

from .. import optimizers, serialization
from ..layers.base import Layer
from ..layers.core import InputLayer
from . import compile_utils, training
from . import summary as summary_module
from .training import Trainer

# compile() arguments of Keras that change nothing in an eager NumPy engine (TF 2's
# experimental_run_tf_function=False is what Horovod's scripts pass with DistributedOptimizer).
_NO_OP_COMPILE_ARGUMENTS = (
    "run_eagerly",
    "jit_compile",
    "steps_per_execution",
    "auto_scale_loss",
    "experimental_run_tf_function",
)


def _functional_arguments(args, kwargs):
    return bool(args) or "inputs" in kwargs or "outputs" in kwargs


def _inject_functional(cls, functional):
    """Put ``functional`` in place of ``Model`` among the bases of ``cls`` (and of its bases that
    derive from Model), as Keras 3's ``inject_functional_model_class`` does."""
    if cls is Model:
        return functional
    if cls is object or not issubclass(cls, Model) or issubclass(cls, functional):
        return cls
    cls.__bases__ = tuple(_inject_functional(base, functional) for base in cls.__bases__)
    return cls


class Model(Trainer, Layer):
    """A trainable stack of layers (``tf.keras.Model``); see the module docstring for the three ways to make one.

    ``fit``, ``evaluate`` and ``predict`` run ``train_step``, ``test_step`` and ``predict_step``
    (``Trainer``) on each batch: override them to change what a step does.

    Args:
        name: the model's name (default ``model``, ``sequential``, ...).
        trainable: whether ``fit`` updates its weights.
    """

    def __new__(cls, *args, **kwargs):
        # keras.Model(inputs, outputs) makes a functional model, as in Keras.
        if cls is Model and _functional_arguments(args, kwargs):
            return Layer.__new__(serialization.model_class("Functional"))
        return Layer.__new__(cls)

    def __init__(self, *args, **kwargs):
        Functional = serialization.model_class("Functional")  # noqa: N806 - see model_class
        if _functional_arguments(args, kwargs) and not isinstance(self, Functional):
            # A subclass of Model made from inputs and outputs is a functional model with the
            # subclass's methods: as Keras 3, Functional takes Model's place among its bases.
            _inject_functional(type(self), Functional)
            Functional.__init__(self, *args, **kwargs)
            return
        if args:
            raise TypeError(f"{type(self).__name__}: unexpected positional arguments {args!r}.")
        super().__init__(**kwargs)
        self.optimizer = None
        self.loss = None
        self.compiled = False
        self.stop_training = False
        self.history = None
        self._compile_loss = None
        self._compile_metrics = None
        self._loss_tracker = None
        self._compile_settings = None
        #: When True, ``fit`` stops at the first NaN or infinite loss, before its update (see ``fit``).
        self.stop_on_nonfinite_loss = False

    # ---- structure ----------------------------------------------------------------------
    @property
    def layers(self):
        """The model's layers, in order (a ``Sequential``'s InputLayer is not listed, as in Keras)."""
        return [layer for layer in self._layers if not isinstance(layer, InputLayer)]

    def get_layer(self, name=None, index=None):
        """The layer called ``name``, or the one at position ``index`` of ``layers``."""
        if (name is None) == (index is None):
            raise ValueError("get_layer: give exactly one of name= or index=.")
        layers = self.layers
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ValueError(f"get_layer: index={index} is out of range; the model has {len(layers)} layers.")
            return layers[index]
        for layer in self._layers:
            if layer.name == name:
                return layer
        raise ValueError(
            f"get_layer: no layer named {name!r}; the layers are {[layer.name for layer in self._layers]}."
        )

    def build(self, input_shape):
        """Create every weight by running the model once on zeros of ``input_shape`` (batch axis first)."""
        shape = tuple(1 if d is None else int(d) for d in input_shape)
        self(np.zeros(shape, dtype=self._dtype), training=False)

    def _build_for(self, input_shape):
        # A model's sub-layers build themselves during the call that follows; only a
        # subclass that overrides build() needs it called here.
        self._build_input_shape = (None, *input_shape[1:])
        self.built = True
        if type(self).build is not Model.build:
            self.build(self._build_input_shape)

    def summary(
        self,
        line_length=None,
        positions=None,
        print_fn=None,
        expand_nested=False,
        show_trainable=False,
        layer_range=None,
    ):
        """Print Keras's table: ``Layer (type) | Output Shape | Param #``, then the parameter totals.

        Args:
            line_length: total width (default 88, narrower on a narrow terminal).
            positions: where the columns end, as fractions of the width (default [0.45, 0.80, 1.0]).
            print_fn: called with the whole summary text instead of ``print``.
            expand_nested: also list the layers inside nested models.
            show_trainable: add a column saying whether each layer is trainable.
            layer_range: (first name, last name) patterns limiting the rows printed.
        """
        summary_module.print_summary(self, line_length, positions, print_fn, expand_nested, show_trainable, layer_range)

    # ---- compile / train / use --------------------------------------------------------------
    def compile(
        self,
        optimizer="rmsprop",
        loss=None,
        loss_weights=None,
        metrics=None,
        weighted_metrics=None,
        **kwargs,
    ):
        """Choose the optimizer, the loss and the metrics for ``fit`` and ``evaluate``.

        Args:
            optimizer: an optimizer name ('adam', 'sgd', 'rmsprop', ...) or object.
            loss: a loss name ('categorical_crossentropy', 'sparse_categorical_crossentropy',
                'binary_crossentropy', 'mse', ...), a Loss object or a function
                ``loss(y_true, y_pred)``; for a model of several outputs one loss for all,
                a list (one per output) or a dict by output name.  None when ``train_step``
                computes its own loss (or the layers add every loss with ``add_loss``).
            loss_weights: a factor per output's loss (a list or a dict), or one number.
            metrics: a list of metric names or objects; 'accuracy' is resolved from the
                loss and the label shapes as Keras does.  For several outputs, a list with
                one entry (a metric or a list of them) per output, or a dict by output name.
            weighted_metrics: metrics computed with the sample weights (``metrics`` are not).

        A compile that fails (an unknown optimizer, loss or metric, a structure that does
        not fit the outputs) leaves the model as it was.
        """
        for argument in kwargs:
            if argument not in _NO_OP_COMPILE_ARGUMENTS:
                raise TypeError(f"compile: unsupported argument {argument!r}.")
        # Everything is made first, so that a bad argument changes nothing.
        optimizer_object = optimizers.get(optimizer)
        names = compile_utils.OutputNames(self)
        compile_loss = None if loss is None else compile_utils.CompileLoss(loss, loss_weights, names)
        compile_metrics = None
        if metrics is not None or weighted_metrics is not None:
            compile_metrics = compile_utils.CompileMetrics(metrics, weighted_metrics, names, compile_loss)
        self._check_output_structure(loss, loss_weights, metrics, weighted_metrics)
        self.optimizer = optimizer_object
        self.loss = loss
        self._compile_loss = compile_loss
        self._compile_metrics = compile_metrics
        self._loss_tracker = compile_utils.LossTracker()
        self._compile_settings = {
            "loss_weights": loss_weights,
            "metrics": metrics,
            "weighted_metrics": weighted_metrics,
        }
        self.compiled = True

    def _check_output_structure(self, loss, loss_weights, metrics, weighted_metrics):
        """For a model whose outputs are known, the per-output arguments must name its outputs (and a
        list of losses count them)."""
        structure = getattr(self, "_outputs_structure", None)
        outputs = list(structure) if isinstance(structure, dict) else getattr(self, "output_names", None)
        if not self.built or outputs is None or len(getattr(self, "outputs", None) or ()) < 2:
            return
        for argument, value in (
            ("loss", loss),
            ("loss_weights", loss_weights),
            ("metrics", metrics),
            ("weighted_metrics", weighted_metrics),
        ):
            if isinstance(value, dict) and set(value) - set(outputs):
                raise ValueError(
                    f"compile: {argument} names outputs {sorted(set(value) - set(outputs))} the model does not "
                    f"have; its outputs are {outputs}."
                )
            if argument.startswith("loss") and isinstance(value, (list, tuple)) and len(value) != len(outputs):
                raise ValueError(
                    f"compile: for a model of {len(outputs)} outputs ({outputs}), {argument} must be a list with one "
                    f"entry per output or a dict by output name; received a list of {len(value)}."
                )

    def _loss_name(self):
        if isinstance(self.loss, str):
            return self.loss
        single = None if self._compile_loss is None else self._compile_loss.single
        return getattr(single, "name", repr(self.loss))

    def fit(
        self,
        x=None,
        y=None,
        batch_size=None,
        epochs=1,
        verbose="auto",
        callbacks=None,
        validation_split=0.0,
        validation_data=None,
        shuffle=True,
        class_weight=None,
        sample_weight=None,
        initial_epoch=0,
        steps_per_epoch=None,
        validation_steps=None,
        validation_batch_size=None,
        validation_freq=1,
    ):
        """Train the model on ``x`` and ``y`` for ``epochs`` epochs.

        Args:
            x: the inputs: an array or tensor with samples on the first axis (a list or dict
                of them for a model of several inputs); or a ``tf.data.Dataset``, a Python
                generator or a ``keras.utils.PyDataset`` giving batches ``(x, y)`` or
                ``(x, y, sample_weight)``.
            y: the labels (one-hot or integer class ids, as the loss expects); a list or dict
                for several outputs; None when x gives them (or ``train_step`` needs none).
            batch_size: samples per gradient step (default 32; for arrays).
            epochs: the epoch number to stop at (counted from 0, so with
                ``initial_epoch=3, epochs=5`` two epochs run).
            verbose: 'auto' or 1 (a progress bar per epoch), 2 (one line per epoch), 0 (silent).
            callbacks: a list of ``keras.callbacks.Callback``.
            validation_split: the fraction of the data held out for validation,
                taken from the END of x and y before any shuffling (as Keras; arrays only).
            validation_data: ``(x_val, y_val)`` or ``(x_val, y_val, sample_weight_val)``, or a
                dataset / generator / PyDataset; overrides validation_split.
            shuffle: reshuffle the training samples (a PyDataset's batches) before each epoch.
            class_weight: ``{class id: weight}``: each sample's loss weighted by its class
                (models of one output; not with sample_weight).
            sample_weight: one weight per sample (one array per output, or one for all).
            initial_epoch: the epoch to start at (to resume a run).
            steps_per_epoch: the batches of an epoch; the data is then read on from where
                the previous epoch stopped (needed for an infinite dataset or a generator).
            validation_steps: the batches of each validation pass.
            validation_batch_size: batch size of the validation pass (default batch_size).
            validation_freq: validate after every ``validation_freq``-th epoch.

        Returns:
            A ``History`` whose ``history`` dict maps 'loss', each metric name,
            'val_loss' and 'val_<metric>' to per-epoch values (for several outputs also
            '<output>_loss' and '<output>_<metric>', as Keras 3 names them).

        As in Keras, a step whose loss is NaN or infinite is applied and training carries
        on (the History shows the loss as nan); ``keras.callbacks.TerminateOnNaN()`` stops
        training after such a step.  cnnlab's own guard, ``model.stop_on_nonfinite_loss =
        True``, stops before the update it would cause, with a warning naming the epoch
        and step.  Randomness (shuffling, Dropout, initializers) follows
        ``cnnlab.random.set_seed`` / ``keras.utils.set_random_seed``.
        """
        return training.fit(
            self,
            x,
            y,
            batch_size,
            epochs,
            verbose,
            callbacks,
            validation_split,
            validation_data,
            shuffle,
            class_weight,
            sample_weight,
            initial_epoch,
            steps_per_epoch,
            validation_steps,
            validation_batch_size,
            validation_freq,
        )

    def evaluate(
        self,
        x=None,
        y=None,
        batch_size=None,
        verbose="auto",
        sample_weight=None,
        steps=None,
        callbacks=None,
        return_dict=False,
    ):
        """The loss and metrics on ``x``, ``y`` (inference mode), in batches of ``batch_size`` (default 32).

        ``x`` and ``y`` are as ``fit`` takes them; ``steps`` limits the batches read.

        Returns:
            The loss if nothing else is tracked, else ``[loss, metric, ...]`` (see
            ``metrics_names``); with ``return_dict=True`` a dict by name.
        """
        return training.evaluate(self, x, y, batch_size, verbose, sample_weight, steps, callbacks, return_dict)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """The model's outputs for ``x`` (as ``fit`` takes it) as a NumPy array (a list or dict of them
        for several outputs), computed in batches of ``batch_size`` (default 32)."""
        return training.predict(self, x, batch_size, verbose, steps, callbacks)

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One gradient step on one batch; returns the batch's loss (and metrics, as ``evaluate``)."""
        return training.train_on_batch(self, x, y, sample_weight, class_weight, return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """The loss (and metrics) on one batch, without updating anything."""
        return training.test_on_batch(self, x, y, sample_weight, return_dict)

    def predict_on_batch(self, x):
        """The outputs for one batch, as a NumPy array."""
        return training.predict(self, x, None, 0, None, None, one_batch=True)

    # ---- saving ------------------------------------------------------------------------------
    def save(self, filepath, overwrite=True, include_optimizer=True, user_metadata=None):
        """Write the whole model to ONE file: architecture (JSON), weights, compile
        settings and optimizer state; ``keras.models.load_model`` reads it back.

        See ``cnnlab.keras.saving.save_model`` for the format and ``user_metadata``.
        """
        from .. import saving

        saving.save_model(
            self, filepath, overwrite=overwrite, include_optimizer=include_optimizer, user_metadata=user_metadata
        )

    def save_weights(self, filepath, overwrite=True):
        """Write only the weights (in ``weights`` order) to one file."""
        from .. import saving

        saving.save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath, *, max_bytes=None):
        """Read weights written by ``save_weights`` (or a whole-model file) into this model.

        ``max_bytes`` bounds what is read from the file (see ``keras.saving.load_weights``).
        """
        from .. import saving

        saving.load_weights(self, filepath, max_bytes=saving.MAX_BYTES if max_bytes is None else max_bytes)

    def export(self, filepath, format="tf_saved_model", verbose=None, input_signature=None, **kwargs):  # noqa: A002
        """Write the model for serving elsewhere (``keras.Model.export``); cnnlab writes ONNX.

        Args:
            filepath: the file to write (``model.onnx``).
            format: ``"onnx"`` (opset 17; the only format cnnlab writes).
            verbose: print where the model was written.
            input_signature: accepted for Keras's signature; the model's own input shapes
                are exported, the batch size left free.

        Raises:
            ValueError: another format, or a layer without an ONNX equivalent (named).
            ImportError: the onnx package is missing (``pip install 'cnnlab[onnx]'``).

        Example:
            >>> model.export("clothes.onnx", format="onnx")
        """
        if format != "onnx":
            raise ValueError(
                f"export: cnnlab exports format='onnx' only; received format={format!r}. "
                "Use model.export(path, format='onnx')."
            )
        if kwargs:
            raise TypeError(f"export: unexpected keyword arguments {sorted(kwargs)}.")
        from ..onnx_export import export_onnx

        export_onnx(self, filepath, verbose=bool(verbose))

    def get_config(self):
        """A subclassed model has no generic config; override this (and ``from_config``) to save it whole."""
        config = super().get_config()
        config.pop("dtype")
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """The model ``config`` describes: ``keras.Model.from_config(functional.get_config())``
        rebuilds a functional model (as Keras does); a subclass gets ``cls(**config)``."""
        if cls is Model and "layers" in config:
            return serialization.model_class("Functional").from_config(config, custom_objects=custom_objects)
        return cls(**config)

    def to_json(self, **kwargs):
        """The model's architecture (and compile settings) as JSON text, in Keras 3's schema;
        ``keras.models.model_from_json`` reads it back.

        Args:
            **kwargs: passed to ``json.dumps`` (``indent=2``, ...).
        """
        import json

        from ..serialization import serialize_keras_object

        return json.dumps(serialize_keras_object(self), **kwargs)

