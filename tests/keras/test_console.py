"""What a user sees: fit / evaluate / predict's progress output, History's keys and model.summary(),
each compared with what Keras 3 itself (on PyTorch) prints for the same model and data.

The progress output is compared byte for byte after the timings and the metric values are
replaced by placeholders (and the padding and backspaces that depend on their widths are
collapsed); both libraries run on a fake clock that moves 0.25 s at every reading, so that
both redraw the bar after every batch.
"""

import io
import itertools
import os
import re
import sys
import types

os.environ["KERAS_BACKEND"] = "torch"  # before keras is imported: no TensorFlow needed

import keras as keras3  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from keras.src.utils import progbar as keras_progbar  # noqa: E402

import cnnlab as tf  # noqa: E402
from cnnlab import keras  # noqa: E402
from cnnlab.keras.models import progress, summary  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def fake_clocks(monkeypatch, tick=0.25):
    """Keras's and cnnlab's progress bars each on a clock that moves ``tick`` seconds at every reading."""
    for module in (keras_progbar, progress):
        ticks = itertools.count()
        monkeypatch.setattr(module, "time", types.SimpleNamespace(time=lambda ticks=ticks: next(ticks) * tick))


@pytest.fixture
def clocks(monkeypatch):
    fake_clocks(monkeypatch)


def shape_of(text):
    """The output with its timings and values replaced by placeholders."""
    text = re.sub(r"\x08+", "<BS>", text)
    text = re.sub(r"\x1b\[1m[\d:]+s?\x1b\[0m", "<CLOCK>", text)  # the ETA, or the time elapsed
    text = re.sub(r"\d+(s|ms|us)/step", "<T>/step", text)
    text = re.sub(r" - \d+s - ", " - <ELAPSED> - ", text)
    text = re.sub(r": -?\d+\.\d{4}(e[+-]\d+)?", ": <V>", text)
    return re.sub(r" +(?=<BS>|\r|\n|$)", "", text)  # the padding over a longer previous line


class SynchronousCallback(keras3.callbacks.Callback):
    """Keras dispatches batch callbacks on worker threads when no callback of the program has a
    batch hook; one with hooks (doing nothing) keeps its progress bar's updates in order."""

    def on_train_batch_end(self, batch, logs=None):
        pass

    def on_test_batch_end(self, batch, logs=None):
        pass

    def on_predict_batch_end(self, batch, logs=None):
        pass


def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(96, 8)).astype(np.float32), rng.integers(0, 3, 96)


def build(library, metrics=("accuracy",)):
    model = library.Sequential(
        [
            library.Input((8,)),
            library.layers.Dense(4, activation="relu", name="hidden"),
            library.layers.Dense(3, name="out"),
        ],
        name="tiny",
    )
    model.compile(
        optimizer="adam",
        loss=library.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[metric(library) if callable(metric) else metric for metric in metrics],
    )
    return model


def run_both(capsys, program):
    """``program(library, extra_callbacks)``'s output with Keras 3, then with cnnlab."""
    program(keras3, [SynchronousCallback()])
    theirs = capsys.readouterr().out
    program(keras, [])
    ours = capsys.readouterr().out
    return theirs, ours


@pytest.mark.parametrize("verbose", [1, 2, "auto"])
@pytest.mark.parametrize("epochs", [1, 2])
def test_fit_evaluate_predict_print_what_keras_prints(capsys, clocks, verbose, epochs):
    x, y = data()

    def program(library, callbacks):
        model = build(library)
        model.fit(x, y, epochs=epochs, batch_size=32, validation_split=0.25, verbose=verbose, callbacks=callbacks)
        model.evaluate(x, y, batch_size=32, verbose=verbose, callbacks=callbacks)
        model.predict(x, batch_size=32, verbose=verbose, callbacks=callbacks)

    theirs, ours = run_both(capsys, program)
    assert shape_of(ours) == shape_of(theirs)
    assert ("Epoch 1/2\n" in ours) == (epochs == 2)  # no 'Epoch 1/1' line, as Keras
    if verbose == 2:
        assert re.search(
            r"^3/3 - \d+s - \d+ms/step - accuracy: \d\.\d{4} - loss: \d\.\d{4} - val_accuracy: ", ours, re.MULTILINE
        )
    else:
        final = re.escape("\x1b[1m3/3\x1b[0m \x1b[32m" + "━" * 20 + "\x1b[0m\x1b[37m\x1b[0m \x1b[1m") + "[^\r\x08]*\n"
        assert len(re.findall(final, ours)) == epochs + 2  # the final line of each epoch, of evaluate and of predict


def test_the_bar_of_many_steps_shows_the_eta_and_pads_over_longer_lines(capsys, monkeypatch):
    fake_clocks(monkeypatch, tick=1.0)  # an ETA of two digits at first, of one at the end
    x, y = np.random.default_rng(1).normal(size=(26, 8)).astype(np.float32), np.arange(26) % 3

    def program(library, callbacks):
        model = build(
            library, metrics=("accuracy", lambda lib: lib.metrics.SparseTopKCategoricalAccuracy(2, name="Top2"))
        )
        model.fit(x, y, epochs=1, batch_size=2, verbose=1, callbacks=callbacks)

    theirs, ours = run_both(capsys, program)
    assert shape_of(ours) == shape_of(theirs)
    assert re.search(
        r"\r\x1b\[1m 1/13\x1b\[0m \x1b\[32m━\x1b\[0m\x1b\[37m━{19}\x1b\[0m \x1b\[1m\d\ds\x1b\[0m", ours
    )  # with the ETA
    assert re.search(r" \x08", ours)  # a line shorter than the one before is padded with spaces
    assert " - Top2: " in ours  # Keras sorts the names as Python does: capitals first


def test_the_final_line_shows_what_callbacks_added_to_the_logs(capsys, clocks):
    x, y = data()

    def program(library, callbacks):
        model = build(library)
        reduce = library.callbacks.ReduceLROnPlateau(monitor="val_loss", patience=5)
        history = model.fit(
            x, y, epochs=2, batch_size=32, validation_data=(x, y), verbose=2, callbacks=[*callbacks, reduce]
        )
        print(list(history.history))

    theirs, ours = run_both(capsys, program)
    assert shape_of(ours) == shape_of(theirs)
    assert ours.splitlines()[-1] == "['accuracy', 'loss', 'val_accuracy', 'val_loss', 'learning_rate']"
    assert ours.splitlines()[1].endswith(" - learning_rate: 0.0010")


def test_progbar_logger_prints_as_keras_own(capsys, clocks):
    x, y = data()

    def program(library, callbacks):
        model = build(library)
        logger = [library.callbacks.ProgbarLogger()]
        model.fit(x, y, epochs=2, batch_size=32, verbose=1, callbacks=[*callbacks, *logger])
        model.evaluate(x, y, batch_size=32, verbose=2, callbacks=[*callbacks, library.callbacks.ProgbarLogger()])

    theirs, ours = run_both(capsys, program)
    assert shape_of(ours) == shape_of(theirs)


def test_a_progbar_logger_given_to_predict_on_a_dataset_prints_the_only_bar(capsys, clocks):
    x, _ = data()
    model = build(keras)
    model.predict(
        tf.data.Dataset.from_tensor_slices(x).batch(32), verbose=2, callbacks=[keras.callbacks.ProgbarLogger()]
    )
    assert re.fullmatch(r"3/3 - \d+s - \d+(us|ms)/step\n", capsys.readouterr().out)


def test_without_posix_and_a_terminal_each_redraw_starts_a_line(capsys, clocks, monkeypatch):
    monkeypatch.delitem(sys.modules, "posix")  # as on Windows with stdout sent to a file
    x, y = data()

    def program(library, callbacks):
        build(library).fit(x, y, epochs=1, batch_size=32, verbose=1, callbacks=callbacks)

    theirs, ours = run_both(capsys, program)
    assert shape_of(ours) == shape_of(theirs)
    assert "\r" not in ours and "\b" not in ours and ours.startswith("\n")


def test_a_stream_that_cannot_encode_the_bar_gets_equals_signs(monkeypatch, clocks):
    x, y = data()
    outputs = []
    for library, callbacks in ((keras3, [SynchronousCallback()]), (keras, [])):
        stream = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
        monkeypatch.setattr(sys, "stdout", stream)
        build(library).fit(x, y, epochs=1, batch_size=32, verbose=1, callbacks=callbacks)
        stream.flush()
        outputs.append(stream.buffer.getvalue().decode("ascii"))
    monkeypatch.undo()
    assert shape_of(outputs[1]) == shape_of(outputs[0])
    assert "=" * 20 in outputs[1]


@pytest.mark.parametrize("return_dict", [True, False])
def test_logs_and_results_are_in_keras_order(return_dict):
    x, y = data()
    results = []
    for library in (keras3, keras):
        model = build(
            library, metrics=("accuracy", lambda lib: lib.metrics.SparseTopKCategoricalAccuracy(2, name="Top2"))
        )
        history = model.fit(x, y, epochs=1, batch_size=32, validation_split=0.25, verbose=0)
        evaluated = model.evaluate(x, y, verbose=0, return_dict=return_dict)
        results.append((list(history.history), list(evaluated) if return_dict else len(evaluated)))
    assert results[1] == results[0]
    assert results[1][0] == ["Top2", "accuracy", "loss", "val_Top2", "val_accuracy", "val_loss"]


def test_callbacks_receive_sorted_logs_and_share_them():
    seen = []

    class Recorder(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(("batch", list(logs)))

        def on_epoch_end(self, epoch, logs=None):
            seen.append(("epoch", list(logs)))
            logs["extra"] = 1.0

    x, y = data()
    history = build(keras).fit(x, y, epochs=1, batch_size=48, validation_split=0.5, verbose=0, callbacks=[Recorder()])
    assert seen == [("batch", ["accuracy", "loss"]), ("epoch", ["accuracy", "loss", "val_accuracy", "val_loss"])]
    assert list(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss", "extra"]


# ---- summary() ---------------------------------------------------------------------------
def convnet(library):
    """keras.io's 'Simple MNIST convnet' (34,826 parameters)."""
    layers = library.layers
    return library.Sequential(
        [
            library.Input(shape=(28, 28, 1)),
            layers.Conv2D(32, kernel_size=(3, 3), activation="relu", name="conv2d"),
            layers.MaxPooling2D(pool_size=(2, 2), name="max_pooling2d"),
            layers.Conv2D(64, kernel_size=(3, 3), activation="relu", name="conv2d_1"),
            layers.MaxPooling2D(pool_size=(2, 2), name="max_pooling2d_1"),
            layers.Flatten(name="flatten"),
            layers.Dropout(0.5, name="dropout"),
            layers.Dense(10, activation="softmax", name="dense"),
        ],
        name="sequential",
    )


def with_long_names(library):
    layers = library.layers
    return library.Sequential(
        [
            library.Input(shape=(16, 16, 3)),
            layers.Conv2D(8, 3, name="a_convolution_with_a_rather_long_name_indeed"),
            layers.BatchNormalization(name="batch_normalization"),
            layers.GlobalAveragePooling2D(name="gap"),
            layers.Dense(2, name="d"),
        ],
        name="a_model_with_a_long_name",
    )


def nested(library):
    layers = library.layers
    inner = library.Sequential([layers.Dense(6, name="inner_dense"), layers.Dense(5, name="inner_out")], name="block")
    model = library.Sequential([library.Input((4,)), layers.Dense(6, name="first"), inner], name="outer")
    model.layers[0].trainable = False
    return model


def branches(library):
    """Two heads, one deeper than the other, and a residual join: the layers in Keras's order."""
    inputs = library.Input((8,), name="pixels")
    left = library.layers.Dense(4, name="left")(library.layers.Dense(6, name="left_hidden")(inputs))
    right = library.layers.Dense(8, name="right")(inputs)
    joined = library.layers.Add(name="join")([right, library.layers.Dense(8, name="skip")(right)])
    return library.Model(inputs, [left, joined], name="two_heads")


def chain(library):
    inputs = library.Input((28, 28, 1), name="image")
    x = library.layers.Conv2D(4, 3, name="conv")(inputs)
    outputs = library.layers.Dense(10, name="scores")(library.layers.Flatten(name="flat")(x))
    return library.Model(inputs, outputs, name="chain")


def keras_summary(model, capsys, **kwargs):
    model.summary(**kwargs)
    return ANSI.sub("", capsys.readouterr().out)


@pytest.mark.parametrize("model_of", [convnet, with_long_names, nested, branches, chain])
@pytest.mark.parametrize("columns", [44, 70, 80, 100, 200])
@pytest.mark.parametrize("options", [{}, {"show_trainable": True}, {"expand_nested": True}, {"line_length": 120}])
def test_summary_is_keras_own_at_any_width(capsys, monkeypatch, model_of, columns, options):
    monkeypatch.setenv("COLUMNS", str(columns))  # read by Keras's shutil and rich, and by cnnlab
    try:
        expected = keras_summary(model_of(keras3), capsys, **options)
    except ValueError:
        with pytest.raises(ValueError, match="too narrow.*line_length"):
            model_of(keras).summary(**options)
        return
    model_of(keras).summary(**options)
    assert capsys.readouterr().out == expected


@pytest.mark.parametrize(
    "options",
    [
        {"positions": [0.5, 0.75, 1.0]},
        {"positions": [0.2, 0.4, 0.6]},
        {"line_length": 60, "layer_range": ["conv2d_1", "flatten"]},
        {"layer_range": ["flatten", "conv2d"]},
    ],
)
def test_summary_options_are_keras_own(capsys, monkeypatch, options):
    monkeypatch.setenv("COLUMNS", "120")
    expected = keras_summary(convnet(keras3), capsys, **options)
    convnet(keras).summary(**options)
    assert capsys.readouterr().out == expected


def test_summary_hands_print_fn_the_whole_text_as_keras(monkeypatch):
    monkeypatch.setenv("COLUMNS", "90")
    texts = []
    for library in (keras3, keras):
        printed = []
        convnet(library).summary(print_fn=printed.append)
        texts.append(printed)
    assert texts[1] == texts[0] and len(texts[1]) == 1 and texts[1][0].endswith(" Non-trainable params: 0 (0.00 B)\n")
    assert " Total params: 34,826 (136.04 KB)\n" in texts[1][0]


def test_summary_of_unbuilt_layers_is_keras_own(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "90")
    expected = keras_summary(keras3.Sequential([keras3.layers.Dense(4, name="d")], name="s"), capsys)
    keras.Sequential([keras.layers.Dense(4, name="d")], name="s").summary()
    assert capsys.readouterr().out == expected
    assert re.search(r"│ d \(Dense\) +│ \? +│ +0 \(unbuilt\) │", expected)


def test_summary_counts_the_optimizer_state_once_built(capsys, monkeypatch):
    """Keras counts the optimizer's variables once it is built (by fit); cnnlab's iteration counter is
    an int64 as in TensorFlow's Keras (Keras on PyTorch keeps an int32)."""
    monkeypatch.setenv("COLUMNS", "90")
    model = build(keras)
    assert "Optimizer params" not in summary.summary_lines(model)[-1]
    model.fit(*data(), epochs=1, verbose=0)
    lines = summary.summary_lines(model)
    # 51 weights; Adam's two slots each, its learning rate and iteration counter
    assert lines[-1] == " Optimizer params: 104 (420.00 B)"
    assert lines[-4] == " Total params: 155 (624.00 B)"


def test_summary_too_narrow_names_line_length():
    with pytest.raises(ValueError, match=r"line_length=10 with positions=\[0.45, 0.8, 1.0\] gives a column of 2"):
        convnet(keras).summary(line_length=10)
    with pytest.raises(ValueError, match="line_length=9"):
        convnet(keras).summary(line_length=9)


def test_tensors_print_as_tensorflow_prints_them():
    assert str(tf.constant([[1.0, 2.0], [3.0, 4.0]])) == "tf.Tensor(\n[[1. 2.]\n [3. 4.]], shape=(2, 2), dtype=float32)"
    assert repr(tf.constant([1, 2])) == "<tf.Tensor: shape=(2,), dtype=int32, numpy=array([1, 2], dtype=int32)>"
    assert str(tf.constant(3.5)) == "tf.Tensor(3.5, shape=(), dtype=float32)"
