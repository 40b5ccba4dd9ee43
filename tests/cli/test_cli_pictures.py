"""cnnlab train / evaluate / predict / inspect on a folder of your own pictures, and on MNIST and CIFAR-10."""

import json
import os
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from PIL import Image, ImageDraw
from standard_files import CIFAR10, write_cifar, write_mnist_npz

import cnnlab as tf
from cnnlab.cli import train
from cnnlab.cli.data import read_run_data

SHAPES = ("circle", "square", "triangle")


def draw_shape(shape, rng, size=32):
    """A white circle, square or triangle of a random size at a random place on black."""
    picture = Image.new("L", (size, size), 0)
    pen = ImageDraw.Draw(picture)
    radius = int(rng.integers(7, 12))
    x, y = rng.integers(radius + 1, size - radius - 1, 2)
    if shape == "circle":
        pen.ellipse([x - radius, y - radius, x + radius, y + radius], fill=255)
    elif shape == "square":
        pen.rectangle([x - radius, y - radius, x + radius, y + radius], fill=255)
    else:
        pen.polygon([(x, y - radius), (x - radius, y + radius), (x + radius, y + radius)], fill=255)
    return picture


def make_shapes(folder, per_class, seed):
    rng = np.random.default_rng(seed)
    for shape in SHAPES:
        (folder / shape).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            draw_shape(shape, rng).save(folder / shape / f"{shape}-{i:03d}.png")
    return folder


@pytest.fixture(scope="module")
def shapes_run(tmp_path_factory):
    """900 drawn shapes trained on for 8 epochs (the end-to-end run): ``(run folder, its output, the shapes folder)``."""
    root = tmp_path_factory.mktemp("shapes")
    folder = make_shapes(root / "shapes", 300, seed=1)
    run = root / "run"
    arguments = ["--image-size", "32", "32", "--color", "grayscale", "--epochs", "8", "--batch-size", "16"]
    command = [sys.executable, "-m", "cnnlab.cli", "train", "--data", str(folder), *arguments, "--augment"]
    result = subprocess.run([*command, "--out", str(run)], capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    return run, result.stdout.splitlines(), folder


def test_a_folder_of_shapes_trains_to_095_and_new_shapes_are_named(shapes_run, cli, tmp_path):
    run, output, folder = shapes_run
    assert output[:4] == [
        f"data: {folder} holds class folders of pictures",
        "Found 900 files belonging to 3 classes.",
        "Pictures per class: circle 300, square 300, triangle 300.",
        (
            "training seed on 720 pictures, validating on 180: 8 epochs, batch 16, adam lr 0.001, shifted and "
            "mirrored pictures"
        ),
    ]
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["validation_accuracy"] >= 0.95 and metrics["classes"] == list(SHAPES)
    assert "test_accuracy" not in metrics and metrics["data"] == "pictures"

    rng = np.random.default_rng(2024)  # shapes the run has never seen
    pictures = []
    for shape in SHAPES:
        draw_shape(shape, rng).convert("RGB").resize((64, 64)).save(tmp_path / f"new-{shape}.jpg")  # another size
        pictures.append(tmp_path / f"new-{shape}.jpg")
    status, out, err = cli("predict", run, *pictures, "--json")
    assert status == 0, err
    assert [entry["predictions"][0]["class"] for entry in json.loads(out)] == list(SHAPES)
    _, out, _ = cli("predict", run / "model.keras", pictures[2])
    assert out.splitlines()[1].startswith("  1. triangle ")


def test_the_run_records_its_data_and_evaluate_uses_the_validation_pictures(shapes_run, cli, tmp_path):
    run, _, folder = shapes_run
    recorded = json.loads((run / "data.json").read_text())
    assert {key: recorded[key] for key in ("format", "kind", "class_names", "image_size", "color", "data")} == {
        "format": "cnnlab-run-data",
        "kind": "pictures",
        "class_names": list(SHAPES),
        "image_size": [32, 32],
        "color": "grayscale",
        "data": str(folder),
    }
    validation = recorded["validation_files"]
    assert len(validation) == 180
    for path, label in validation:  # each labelled by its folder, 60 of each class (a stratified 20%)
        assert path.split(os.sep)[0] == SHAPES[label] and (folder / path).is_file()
    assert np.bincount([label for _, label in validation]).tolist() == [60, 60, 60]

    status, out, err = cli("evaluate", run, "--out", tmp_path / "cm.png")
    assert status == 0, err
    metrics = json.loads((run / "metrics.json").read_text())
    assert out.splitlines()[0] == f"validation accuracy: {metrics['validation_accuracy']:.4f}  (180 images)"
    assert "triangle" in out and (tmp_path / "cm.png").is_file()

    other = make_shapes(tmp_path / "more", 5, seed=9)
    status, out, err = cli("evaluate", run, "--data", other, "--out", tmp_path / "cm2.png")
    assert status == 0, err
    assert out.splitlines()[:2] == [
        "Found 15 files belonging to 3 classes.",
        "Pictures per class: circle 5, square 5, triangle 5.",
    ]
    assert out.splitlines()[2].startswith(f"accuracy on {other}: ")


def test_inspect_a_validation_picture_names_the_runs_class(shapes_run, cli, tmp_path):
    run, _, _ = shapes_run
    status, out, err = cli("inspect", run, "--index", 3, "--out", tmp_path / "look")
    assert status == 0, err
    label = read_run_data(run / "model.keras").validation[3][1]
    assert out.startswith(f"validation picture 3: {SHAPES[label]}, predicted: ")
    assert (tmp_path / "look" / "00_input.png").is_file()


def test_the_model_file_is_what_model_save_writes_and_the_run_data_stays_beside_it(shapes_run, tmp_path):
    """The classes, picture size and validation pictures live in data.json: model.keras holds nothing of cnnlab's
    own beyond what model.save writes for any model (so a Keras-format model file stays Keras's)."""
    run, _, _ = shapes_run
    model = tf.keras.models.load_model(run / "model.keras")
    model.save(tmp_path / "again.keras")
    with zipfile.ZipFile(run / "model.keras") as written, zipfile.ZipFile(tmp_path / "again.keras") as saved:
        assert written.namelist() == saved.namelist()
        assert json.loads(written.read("config.json")) == json.loads(saved.read("config.json"))
        metadata = json.loads(written.read("metadata.json"))
        assert not metadata.get("user_metadata")
        assert b"triangle" not in written.read("config.json") + written.read("metadata.json")
    (tmp_path / "alone").mkdir()
    shutil.copy(run / "model.keras", tmp_path / "alone" / "model.keras")  # without its data.json
    batch = np.zeros((2, 32, 32, 1), np.float32)
    np.testing.assert_array_equal(
        tf.keras.models.load_model(tmp_path / "alone" / "model.keras").predict(batch, verbose=0),
        model.predict(batch, verbose=0),
    )


def test_val_dir_and_rgb_pictures_with_a_resumed_run(cli, tmp_path, monkeypatch):
    train_folder = make_shapes(tmp_path / "train", 8, seed=3)
    val_folder = make_shapes(tmp_path / "val", 3, seed=4)
    shutil.rmtree(val_folder / "square")  # a validation folder may lack classes
    args = ("train", "--data", train_folder, "--val-dir", val_folder, "--image-size", "20", "24", "--epochs", "2")
    args += ("--batch-size", "8", "--model", "deep", "--seed", "5")
    status, out, err = cli(*args, "--out", tmp_path / "straight")
    assert status == 0, err
    assert "training deep on 24 pictures, validating on 6: 2 epochs, batch 8" in out
    recorded = read_run_data(tmp_path / "straight" / "model.keras")
    assert recorded.color == "rgb" and recorded.image_size == (20, 24)
    assert sorted(label for _, label in recorded.validation) == [0, 0, 0, 2, 2, 2]
    assert all(path.startswith(os.path.join("..", "val")) for path, _ in recorded.validation)

    save_checkpoint = train.save_checkpoint

    def save_then_interrupt(model, settings, epochs_done, *rest):
        save_checkpoint(model, settings, epochs_done, *rest)
        if epochs_done == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(train, "save_checkpoint", save_then_interrupt)
    assert cli(*args, "--out", tmp_path / "interrupted")[0] == 130
    monkeypatch.setattr(train, "save_checkpoint", save_checkpoint)
    status, out, err = cli("train", "--resume", tmp_path / "interrupted")
    assert status == 0, err
    straight = tf.keras.models.load_model(tmp_path / "straight" / "model.keras").get_weights()
    resumed = tf.keras.models.load_model(tmp_path / "interrupted" / "model.keras").get_weights()
    for a, b in zip(straight, resumed, strict=True):
        np.testing.assert_array_equal(a, b)

    draw_shape("circle", np.random.default_rng(0)).save(train_folder / "circle" / "late.png")
    (tmp_path / "interrupted" / "model.keras").unlink()
    status, _, err = cli("train", "--resume", tmp_path / "interrupted", "--epochs", "3")
    assert status == 1 and "its pictures changed since the run started" in err


def one_error_line(result, message, command="train"):
    status, _, err = result
    assert "Traceback" not in err
    assert err.splitlines() == [f"cnnlab {command}: error: {message}"]
    assert status == 1


def test_mistakes_with_pictures_are_one_line(cli, tmp_path):
    folder = make_shapes(tmp_path / "shapes", 2, seed=5)
    out = ("--out", tmp_path / "run")
    one_error_line(
        cli("train", "--image-size", "32", "32", *out),
        "--image-size is for a folder of pictures (--data DIR with class subfolders); Fashion-MNIST is 28x28 grayscale",
    )
    one_error_line(
        cli("train", "--dataset", "cifar10", "--color", "rgb", *out),
        "--color is for a folder of pictures (--data DIR with class subfolders); CIFAR-10 is 32x32 rgb",
    )
    one_error_line(
        cli("train", "--data", folder, "--limit", "3", *out),
        "--limit is for the standard data sets; make a smaller folder of pictures instead",
    )
    one_error_line(
        cli("train", "--data", folder, "--val-dir", folder, "--val-fraction", "0.3", *out),
        "--val-dir and --val-fraction exclude each other: the validation pictures are the folder's",
    )
    (tmp_path / "flat").mkdir()
    (tmp_path / "flat" / "notes.txt").write_text("x")
    one_error_line(
        cli("train", "--data", tmp_path / "flat", *out),
        f"{tmp_path / 'flat'}: holds neither the files of a data set (Fashion-MNIST's train-images-idx3-ubyte.gz, "
        "..., mnist.npz, cifar-10-python.tar.gz) nor class subfolders of pictures (DIR/cat/*.jpg, DIR/dog/*.jpg, ...)",
    )
    one_error_line(cli("train", "--data", tmp_path / "nowhere", *out), f"{tmp_path / 'nowhere'}: no such folder")
    one_occupant = tmp_path / "one"
    shutil.copytree(folder / "circle", one_occupant / "circle")
    status, _, err = cli("train", "--data", one_occupant, *out)
    assert status == 1 and err.splitlines()[-1] == (
        f"cnnlab train: error: {one_occupant}: a classifier needs at least 2 class folders; found 1"
    )
    other = make_shapes(tmp_path / "other", 1, seed=6)
    (other / "star").mkdir()
    draw_shape("circle", np.random.default_rng(0)).save(other / "star" / "s.png")
    assert cli("train", "--data", folder, "--epochs", "1", *out)[0] == 0
    status, _, err = cli("evaluate", tmp_path / "run", "--data", other, "--out", tmp_path / "cm.png")
    assert status == 1 and err.splitlines()[-1] == (
        f"cnnlab evaluate: error: {other}: class folder(s) star are not among the run's classes "
        "(circle, square, triangle)"
    )


def test_unreadable_pictures_and_empty_classes_are_one_line_warnings(cli, tmp_path):
    folder = make_shapes(tmp_path / "shapes", 5, seed=7)
    (folder / "circle" / "broken.png").write_bytes(b"not a png")
    (folder / "hexagon").mkdir()
    status, out, err = cli(
        "train", "--data", folder, "--epochs", "1", "--image-size", "16", "16", "--out", tmp_path / "r"
    )
    assert status == 0, err
    assert "Pictures per class: circle 5, hexagon 0, square 5, triangle 5; 1 unreadable file left out." in out
    warnings = [line for line in err.splitlines() if line.startswith("cnnlab train: warning: ")]
    assert warnings == [
        (
            f"cnnlab train: warning: {folder / 'circle' / 'broken.png'}: not an image Pillow can read (expected a "
            "PNG or JPEG); left out"
        ),
        f"cnnlab train: warning: {folder / 'hexagon'}: no pictures; the model will never predict 'hexagon'",
    ]
    assert read_run_data(tmp_path / "r" / "model.keras").class_names == ("circle", "hexagon", "square", "triangle")


def test_small_resnet_parameters_and_shapes():
    """Issue 24's ResNet: conv 32, residual stages of 32 / 64 / 128 (projections at the stride-2 stages), BN, GAP."""
    from cnnlab.cli.models import MODELS

    model = MODELS["small-resnet"].build((28, 28, 1), 10)

    def conv(k, cin, cout):
        return k * k * cin * cout

    def norm(c):
        return 4 * c  # gamma, beta, moving mean, moving variance

    expected = conv(3, 1, 32) + norm(32)
    expected += 2 * (conv(3, 32, 32) + norm(32))
    expected += conv(3, 32, 64) + conv(3, 64, 64) + conv(1, 32, 64) + 3 * norm(64)
    expected += conv(3, 64, 128) + conv(3, 128, 128) + conv(1, 64, 128) + 3 * norm(128)
    expected += 128 * 10 + 10
    assert model.count_params() == expected
    ends = ["stage_1_out", "stage_2_out", "stage_3_out", "pool", "classes"]
    assert [tuple(model.get_layer(name).output.shape[1:]) for name in ends] == [
        (28, 28, 32),
        (14, 14, 64),
        (7, 7, 128),
        (128,),
        (10,),
    ]
    assert [type(layer).__name__ for layer in model.layers].count("Add") == 3


def old_small_resnet(input_shape, num_classes):
    """small-resnet as it was built before keras.layers.Add existed: one ResidualBlock layer per stage."""
    from cnnlab.cli.resnet import ResidualBlock

    layers = tf.keras.layers
    return tf.keras.Sequential(
        [
            tf.keras.Input(shape=input_shape),
            layers.Conv2D(32, (3, 3), padding="same", use_bias=False),
            layers.BatchNormalization(),
            layers.ReLU(),
            ResidualBlock(32, name="stage_1"),
            ResidualBlock(64, strides=2, name="stage_2"),
            ResidualBlock(128, strides=2, name="stage_3"),
            layers.GlobalAveragePooling2D(),
            layers.Dense(num_classes, activation="softmax"),
        ],
        name="small_resnet",
    )


def test_small_resnet_files_saved_with_residual_blocks_still_load_and_compute_what_the_functional_model_does(tmp_path):
    from cnnlab.cli.models import MODELS, custom_objects

    tf.random.set_seed(3)
    old = old_small_resnet((12, 12, 3), 4)
    rng = np.random.default_rng(1)
    old.set_weights([  # every weight away from its initial value; variances positive
        rng.uniform(0.5, 1.5, w.shape) if "variance" in w.name else rng.normal(0, 0.3, w.shape) for w in old.weights
    ])
    x = rng.random((3, 12, 12, 3)).astype(np.float32)
    path = tmp_path / "old.keras"
    old.save(path)
    loaded = tf.keras.models.load_model(path, custom_objects=custom_objects())
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), old.predict(x, verbose=0))
    new = MODELS["small-resnet"].build((12, 12, 3), 4)
    pairs = [("stem_conv", old.layers[0]), ("stem_norm", old.layers[1]), ("classes", old.layers[-1])]
    for stage, block in enumerate(old.layers[3:6], start=1):
        for part in ("conv1", "norm1", "conv2", "norm2", "projection", "projection_norm"):
            if getattr(block, part) is not None:
                pairs.append((f"stage_{stage}_{part}", getattr(block, part)))
    for name, layer in pairs:  # the same weights, layer by layer
        new.get_layer(name).set_weights(layer.get_weights())
    np.testing.assert_allclose(new.predict(x, verbose=0), old.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("dataset", "shape", "n_test"),
    [("mnist", (28, 28, 1), 5), ("cifar10", (32, 32, 3), 11)],
)
def test_standard_data_sets_train_evaluate_predict_and_inspect(cli, tmp_path, monkeypatch, dataset, shape, n_test):
    data = tmp_path / "data"
    if dataset == "mnist":
        write_mnist_npz(data / "mnist" / "mnist.npz", n_train=40, n_test=n_test)
        names = [str(digit) for digit in range(10)]
    else:
        write_cifar(data / "cifar-10", CIFAR10, n_per_batch=6)
        names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    monkeypatch.setenv("CNNLAB_DATA", str(data))
    run = tmp_path / "run"
    status, out, err = cli("train", "--dataset", dataset, "--epochs", "1", "--model", "small-resnet", "--out", run)
    assert status == 0, err
    folder = data / ("mnist" if dataset == "mnist" else "cifar-10")
    status, detected, err = cli("train", "--data", folder, "--epochs", "1", "--out", tmp_path / "detected")
    assert status == 0, err
    assert f"data: {folder} holds the {'MNIST' if dataset == 'mnist' else 'CIFAR-10'} files" in detected
    assert out.splitlines()[-2].startswith("test accuracy: ") and f", {n_test} images)" in out.splitlines()[-2]
    recorded = read_run_data(run / "model.keras")
    assert (recorded.kind, recorded.class_names, recorded.input_shape) == (dataset, tuple(names), shape)
    assert json.loads((run / "metrics.json").read_text())["classes"] == names

    status, out, err = cli("evaluate", run, "--out", tmp_path / "cm.png")
    assert status == 0, err
    assert out.splitlines()[0].startswith("test accuracy: ") and f"({n_test} images)" in out.splitlines()[0]
    picture = tmp_path / "p.png"
    Image.new("RGB", (50, 40), (200, 30, 30)).save(picture)
    status, out, err = cli("predict", run, picture, "--json", "--top", "10")
    assert status == 0, err
    assert sorted(p["class"] for p in json.loads(out)[0]["predictions"]) == sorted(names)
    status, out, err = cli("inspect", run, "--index", 2, "--out", tmp_path / "look")
    assert status == 0, err
    # Every convolution of the graph: the stem, two per stage and the two projections.
    assert out.startswith("test image 2: ") and len(list((tmp_path / "look").glob("*_filters.png"))) == 9


def test_small_resnet_computes_what_the_same_network_computes_in_pytorch():
    """Inference (BatchNormalization with its moving statistics) against torch.nn.functional with the same weights;
    TensorFlow's SAME padding of a stride-2 convolution pads bottom and right only."""
    import torch
    import torch.nn.functional as F

    from cnnlab.cli.models import MODELS

    tf.random.set_seed(1)
    model = MODELS["small-resnet"].build((12, 12, 3), 4)
    rng = np.random.default_rng(0)
    for layer in model.layers:
        if isinstance(layer, tf.keras.layers.BatchNormalization):
            gamma, beta, mean, variance = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 1.5, gamma.shape), rng.normal(0, 0.1, beta.shape),
                               rng.normal(0, 0.1, mean.shape), rng.uniform(0.5, 1.5, variance.shape)])  # fmt: skip
    x = rng.random((2, 12, 12, 3)).astype(np.float32)
    ours = model.predict(x, verbose=0)

    def conv(h, name, stride):
        layer = model.get_layer(name)
        kernel = torch.from_numpy(layer.get_weights()[0]).permute(3, 2, 0, 1)
        if kernel.shape[-1] == 3:
            h = F.pad(h, (1, 1, 1, 1) if stride == 1 else (0, 1, 0, 1))
        return F.conv2d(h, kernel, stride=stride)

    def norm(h, name):
        layer = model.get_layer(name)
        gamma, beta, mean, variance = (torch.from_numpy(w) for w in layer.get_weights())
        return F.batch_norm(h, mean, variance, gamma, beta, training=False, eps=layer.epsilon)

    h = torch.from_numpy(x).permute(0, 3, 1, 2)
    h = F.relu(norm(conv(h, "stem_conv", 1), "stem_norm"))
    for stage, strides in ((1, 1), (2, 2), (3, 2)):
        name = f"stage_{stage}"
        y = F.relu(norm(conv(h, f"{name}_conv1", strides), f"{name}_norm1"))
        y = norm(conv(y, f"{name}_conv2", 1), f"{name}_norm2")
        shortcut = h if stage == 1 else norm(conv(h, f"{name}_projection", strides), f"{name}_projection_norm")
        h = F.relu(y + shortcut)
    kernel, bias = (torch.from_numpy(w) for w in model.get_layer("classes").get_weights())
    theirs = F.softmax(h.mean(dim=(2, 3)) @ kernel + bias, dim=1).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
