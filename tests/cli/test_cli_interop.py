"""The command and Keras's files: runs write a Keras 3 model.keras, ``cnnlab export`` writes ONNX,
evaluate / predict / inspect take models Keras wrote, and a run checkpointed by the cnnlab of
before (its own zip format) resumes (issue 21)."""

import os
import sys

os.environ["KERAS_BACKEND"] = "torch"  # before keras is imported: no TensorFlow needed

import keras as keras3  # noqa: E402
import numpy as np  # noqa: E402
import onnxruntime  # noqa: E402
import pytest  # noqa: E402
from old_format import save_old_format  # noqa: E402
from PIL import Image  # noqa: E402

from cnnlab import keras  # noqa: E402
from cnnlab.cli import main  # noqa: E402
from cnnlab.cli.common import model_input  # noqa: E402
from cnnlab.datasets import fashion_mnist  # noqa: E402

pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)

QUICK = ("--epochs", "1", "--batch-size", "16", "--seed", "3")


@pytest.fixture(scope="module")
def run(tmp_path_factory, fake_data_dir, fake_env):
    run_dir = tmp_path_factory.mktemp("run")
    with pytest.MonkeyPatch.context() as monkeypatch:
        fake_env.apply(monkeypatch, fake_data_dir, run_dir / "home")
        assert main(["train", "--model", "seed", *QUICK, "--out", str(run_dir)]) == 0
    return run_dir


def test_a_run_loads_in_keras_and_exports_to_onnx_with_the_same_predictions(cli, run, tmp_path):
    (_, _), (x_test, _) = fashion_mnist.load_data()
    images = model_input(x_test)
    expected = keras.models.load_model(run / "model.keras").predict(images, verbose=0)
    theirs = keras3.models.load_model(run / "model.keras")
    np.testing.assert_allclose(theirs.predict(images, verbose=0), expected, rtol=0, atol=1e-5)
    status, out, err = cli("export", run, "--format", "onnx", "--out", tmp_path / "seed.onnx")
    assert status == 0, err
    assert out == f"wrote {tmp_path / 'seed.onnx'} (ONNX, opset 17; input ('batch', 28, 28, 1) float32, NHWC)\n"
    session = onnxruntime.InferenceSession(str(tmp_path / "seed.onnx"), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {session.get_inputs()[0].name: images})
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
    assert cli("export", run / "model.keras")[0] == 0 and (run / "model.onnx").is_file()


def test_export_without_the_onnx_package_is_one_line_naming_the_extra(cli, run, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    status, out, err = cli("export", run, "--out", tmp_path / "m.onnx")
    assert status == 1 and out == ""
    assert err == "cnnlab export: error: exporting to ONNX needs the onnx package: pip install 'cnnlab[onnx]'\n"


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_evaluate_predict_and_inspect_take_a_model_keras_wrote(cli, tmp_path, suffix):
    keras3.utils.set_random_seed(0)
    layers = keras3.layers
    theirs = keras3.Sequential(
        [
            keras3.Input(shape=(28, 28, 1)),
            layers.Conv2D(6, 3, activation="relu", padding="same"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(10, activation="softmax"),
        ]
    )
    theirs.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    theirs.fit(model_input(x_train), y_train, epochs=1, verbose=0)
    path = tmp_path / f"keras{suffix}"
    theirs.save(path)
    status, out, err = cli("evaluate", path, "--out", tmp_path / "confusion.png")
    assert status == 0, err
    accuracy = np.mean(theirs.predict(model_input(x_test), verbose=0).argmax(axis=1) == y_test)
    assert out.startswith(f"test accuracy: {accuracy:.4f}")
    Image.new("L", (40, 40), 200).save(tmp_path / "grey.png")
    status, out, err = cli("predict", path, tmp_path / "grey.png", "--json")
    assert status == 0, err
    status, _, err = cli("inspect", path, "--index", "0", "--out", tmp_path / "maps")
    assert status == 0, err
    assert any(name.endswith(".png") for name in os.listdir(tmp_path / "maps"))  # the feature maps drawn


def test_a_run_checkpointed_in_cnnlabs_older_format_resumes_as_if_uninterrupted(cli, tmp_path):
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    assert cli("train", "--model", "seed-dropout", *QUICK[2:], "--epochs", "2", "--out", straight)[0] == 0
    assert cli("train", "--model", "seed-dropout", *QUICK[2:], "--epochs", "1", "--out", resumed)[0] == 0
    # The checkpoint as the cnnlab of before wrote it: same weights and optimizer state, its zip format.
    checkpoint = resumed / "checkpoint" / "epoch-0001.keras"
    model = keras.models.load_model(checkpoint)
    save_old_format(model, checkpoint)
    status, out, err = cli("train", "--resume", resumed, "--epochs", "2")
    assert status == 0, err
    assert f"resuming {resumed} after epoch 1 of 2" in out
    for got, expected in zip(
        keras.models.load_model(resumed / "model.keras").weights,
        keras.models.load_model(straight / "model.keras").weights,
        strict=True,
    ):
        np.testing.assert_array_equal(got.numpy(), expected.numpy())
