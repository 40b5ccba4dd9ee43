"""train / evaluate / predict / inspect on a tiny model and a small fake Fashion-MNIST (see conftest)."""

import copy
import json

import numpy as np
import pytest
from PIL import Image

import cnnlab as tf
from cnnlab.cli import main, train
from cnnlab.cli.common import model_input
from cnnlab.cli.evaluate import confusion_matrix, per_class_scores
from cnnlab.cli.models import MODELS, augment
from cnnlab.datasets import CLASS_NAMES, fashion_mnist
from cnnlab.cli.images import load_image

QUICK = ("--epochs", "2", "--batch-size", "16", "--seed", "3")
N_TEST = 20  # the fake test set of conftest.py


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, fake_data_dir, fake_env):
    """One seed model trained for 2 epochs, shared by the tests that only read it."""
    assert fake_env.n_test == N_TEST
    run_dir = tmp_path_factory.mktemp("run")
    with pytest.MonkeyPatch.context() as monkeypatch:
        fake_env.apply(monkeypatch, fake_data_dir, run_dir / "home")
        assert main(["train", "--model", "seed", *QUICK, "--out", str(run_dir)]) == 0
    return run_dir


def png_size(path):
    with Image.open(path) as image:
        assert image.format == "PNG"
        return image.size


def test_train_writes_model_history_plot_and_metrics(trained_run, fake_data):
    history = json.loads((trained_run / "history.json").read_text())
    assert sorted(history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert all(len(values) == 2 for values in history.values())
    assert png_size(trained_run / "history.png") == (1000, 400)

    model = tf.keras.models.load_model(trained_run / "model.keras")
    (_, _), (x_test, y_test) = fashion_mnist.load_data()
    probabilities = model.predict(model_input(x_test), verbose=0)
    assert probabilities.shape == (N_TEST, 10)
    metrics = json.loads((trained_run / "metrics.json").read_text())
    assert metrics["test_accuracy"] == pytest.approx(np.mean(probabilities.argmax(axis=1) == y_test))
    assert metrics["epochs"] == 2 and metrics["model"] == "seed"
    state = json.loads((trained_run / "checkpoint" / "state.json").read_text())
    assert state["epochs_done"] == 2 and state["history"] == history
    assert sorted(p.name for p in (trained_run / "checkpoint").iterdir()) == ["epoch-0002.keras", "state.json"]


def test_train_prints_progress_and_the_test_accuracy(cli, tmp_path):
    status, out, err = cli("train", "--model", "seed", "--epochs", "1", "--limit", "30", "--out", tmp_path / "r")
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("training seed on 24 images, validating on 6: 1 epochs, batch 32, adam lr 0.001")
    assert lines[1].startswith("epoch 1/1  accuracy ")  # the History in Keras 3's order
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert f"test accuracy: {metrics['test_accuracy']:.4f}" in out


def test_augmentation_follows_the_model_unless_told(cli, tmp_path):
    status, out, _ = cli("train", "--epochs", "1", "--limit", "30", "--augment", "--out", tmp_path / "a")
    assert status == 0 and out.splitlines()[0].endswith("adam lr 0.001, shifted and mirrored images")
    state = json.loads((tmp_path / "a" / "checkpoint" / "state.json").read_text())
    assert state["settings"]["augment"] is True
    status, out, _ = cli(
        "train", "--model", "deep", "--epochs", "1", "--limit", "30", "--no-augment", "--out", tmp_path / "b"
    )
    assert status == 0 and out.splitlines()[0].endswith("sgd lr 0.05 on a cosine to 0")


def test_another_optimizer_gets_its_keras_default_learning_rate(cli, tmp_path):
    status, out, _ = cli("train", "--optimizer", "sgd", "--epochs", "1", "--limit", "30", "--out", tmp_path / "r")
    assert status == 0 and "1 epochs, batch 32, sgd lr 0.01\n" in out


def test_a_diverging_run_stops_with_one_line(cli, tmp_path):
    status, out, err = cli("train", "--optimizer", "sgd", "--lr", "1e30", "--epochs", "3", "--out", tmp_path / "r")
    assert status == 1
    assert (
        err.strip()
        == "cnnlab train: error: training stopped in epoch 1: the loss became NaN or infinite; try a smaller --lr"
    )
    assert "epoch 1/3  accuracy " in out and "epoch 2/3" not in out
    assert not (tmp_path / "r" / "checkpoint").exists()


@pytest.mark.parametrize("model_name", ["seed-dropout", "deep", "small-resnet"])
def test_a_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(cli, tmp_path, monkeypatch, model_name):
    args = ("train", "--model", model_name, "--epochs", "3", "--batch-size", "16", "--seed", "7")
    assert cli(*args, "--out", tmp_path / "straight")[0] == 0

    save_checkpoint = train.save_checkpoint

    def save_then_interrupt(model, settings, epochs_done, *rest):
        save_checkpoint(model, settings, epochs_done, *rest)
        if epochs_done == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(train, "save_checkpoint", save_then_interrupt)
    status, _, err = cli(*args, "--out", tmp_path / "interrupted")
    assert status == 130
    assert (
        err.strip()
        == f"cnnlab train: error: interrupted; continue with: cnnlab train --resume {tmp_path / 'interrupted'}"
    )
    assert not (tmp_path / "interrupted" / "model.keras").exists()
    monkeypatch.setattr(train, "save_checkpoint", save_checkpoint)

    status, out, err = cli("train", "--resume", tmp_path / "interrupted")
    assert status == 0, err
    assert "resuming" in out and "after epoch 1 of 3" in out

    straight = tf.keras.models.load_model(tmp_path / "straight" / "model.keras").get_weights()
    resumed = tf.keras.models.load_model(tmp_path / "interrupted" / "model.keras").get_weights()
    assert len(straight) == len(resumed)
    for a, b in zip(straight, resumed):
        np.testing.assert_array_equal(a, b)
    history = json.loads((tmp_path / "straight" / "history.json").read_text())
    assert json.loads((tmp_path / "interrupted" / "history.json").read_text()) == history


def test_each_epoch_draws_its_own_order_augmentation_and_dropout_masks(cli, tmp_path, monkeypatch):
    # Reproducibility tests compare run with run, which one seed for every epoch would pass:
    # here the epochs of one run are compared with one another.
    from cnnlab import random

    orders, augmented, first_augment_draws, first_dropout_draws = [], [], [], []
    real_augment, real_fit_epoch = train.augment, train._fit_epoch

    def recording_augment(images, rng, max_shift=2):
        # what this epoch's augmentation draws first, read from a copy (the run is left as it is)
        first_augment_draws.append(copy.deepcopy(rng).random(1000))
        out = real_augment(images, rng, max_shift=max_shift)
        orders.append([image.tobytes() for image in images])
        augmented.append({image.tobytes(): result for image, result in zip(images, out)})
        return out

    def recording_fit_epoch(model, *args):
        first_dropout_draws.append(copy.deepcopy(random.get_global_generator()).random(1000))
        return real_fit_epoch(model, *args)

    monkeypatch.setattr(train, "augment", recording_augment)
    monkeypatch.setattr(train, "_fit_epoch", recording_fit_epoch)
    args = ("train", "--model", "seed-dropout", "--epochs", "2", "--batch-size", "16", "--augment", "--seed", "5")
    status, _, err = cli(*args, "--out", tmp_path / "r")
    assert status == 0, err
    assert len(orders) == len(first_dropout_draws) == 2
    index = {key: i for i, key in enumerate(sorted(orders[0]))}
    assert sorted(orders[1]) == sorted(orders[0])  # the same training images ...
    order_0, order_1 = ([index[key] for key in order] for order in orders)
    assert order_0 != order_1, "both epochs shuffled alike"  # ... in another order
    assert not np.array_equal(*first_augment_draws), "both epochs' augmentations draw alike"
    same_augmentation = sum(np.array_equal(augmented[0][key], augmented[1][key]) for key in index)
    assert same_augmentation < len(index) / 4, f"{same_augmentation} of {len(index)} images augmented alike"
    assert not np.array_equal(*first_dropout_draws), "both epochs' Dropout masks draw alike"


def test_resume_mistakes(cli, trained_run, tmp_path):
    status, _, err = cli("train", "--resume", trained_run, "--model", "deep")
    assert status == 1 and "only --epochs may be changed (got --model)" in err
    status, _, err = cli("train", "--resume", tmp_path)
    assert status == 1 and f"{tmp_path}: no checkpoint to resume from" in err
    status, _, err = cli("train", "--resume", trained_run, "--epochs", "1")
    assert status == 1 and "--epochs 1 is fewer than the 2 epochs this run has already trained" in err
    status, _, err = cli("train", "--limit", "2", "--out", tmp_path / "tiny")
    assert status == 1 and "leave no validation samples" in err
    for message in (err,):
        assert len(message.strip().splitlines()) == 1 and "Traceback" not in message


def test_a_finished_run_is_replaced_but_an_interrupted_one_is_kept(cli, tmp_path, monkeypatch):
    run = tmp_path / "run"
    assert cli("train", "--epochs", "1", "--limit", "30", "--seed", "1", "--out", run)[0] == 0
    first = (run / "model.keras").read_bytes()
    status, out, _ = cli("train", "--epochs", "1", "--limit", "30", "--seed", "2", "--out", run)
    assert status == 0 and out.startswith(f"replacing the run in {run}\n")
    assert (run / "model.keras").read_bytes() != first

    with monkeypatch.context() as stopped:  # undoes only its own patch, not the fake data's
        stopped.setattr(train, "_finish", lambda *args: None)  # as if stopped after the last checkpoint
        assert cli("train", "--epochs", "2", "--limit", "30", "--out", run)[0] == 0
    assert not (run / "model.keras").exists()  # the finished run's files went with it
    state = json.loads((run / "checkpoint" / "state.json").read_text())
    state["settings"]["epochs"] = 3  # now it looks interrupted after epoch 2 of 3
    (run / "checkpoint" / "state.json").write_text(json.dumps(state))
    status, _, err = cli("train", "--epochs", "1", "--out", run)
    assert status == 1
    assert err.strip() == (
        f"cnnlab train: error: {run} holds an interrupted run (epoch 2 of 3); "
        f"continue it with --resume {run}, or pass --overwrite or another --out"
    )
    assert cli("train", "--epochs", "1", "--limit", "30", "--out", run, "--overwrite")[0] == 0


def test_evaluate_prints_the_table_and_writes_the_confusion_matrix(cli, trained_run, tmp_path):
    out_png = tmp_path / "cm.png"
    status, out, err = cli("evaluate", trained_run / "model.keras", "--out", out_png)
    assert status == 0, err
    model = tf.keras.models.load_model(trained_run / "model.keras")
    (_, _), (x_test, y_test) = fashion_mnist.load_data()
    predicted = model.predict(model_input(x_test), verbose=0).argmax(axis=1)
    assert out.startswith(f"test accuracy: {np.mean(predicted == y_test):.4f}  ({N_TEST} images)")
    rows = [line for line in out.splitlines() if line.split("  ")[0].strip() in CLASS_NAMES]
    assert [row[: len(name)] for row, name in zip(rows, CLASS_NAMES)] == list(CLASS_NAMES)
    assert png_size(out_png) == (800, 700)


def test_evaluate_defaults_to_a_png_beside_the_model(cli, trained_run):
    assert cli("evaluate", trained_run)[0] == 0
    assert png_size(trained_run / "confusion_matrix.png") == (800, 700)


def test_confusion_matrix_and_scores_by_hand():
    labels = np.array([0, 0, 0, 1, 1, 2])
    predicted = np.array([0, 0, 1, 1, 2, 2])
    matrix = confusion_matrix(labels, predicted, 3)
    np.testing.assert_array_equal(matrix, [[2, 1, 0], [0, 1, 1], [0, 0, 1]])
    precision, recall, f1, support = per_class_scores(matrix)
    np.testing.assert_allclose(precision, [1, 0.5, 0.5])
    np.testing.assert_allclose(recall, [2 / 3, 0.5, 1])
    np.testing.assert_allclose(f1, [0.8, 0.5, 2 / 3])
    np.testing.assert_array_equal(support, [3, 2, 1])
    _, _, f1_missing, _ = per_class_scores(np.array([[1, 0], [0, 0]]))  # a class never seen nor predicted
    np.testing.assert_array_equal(f1_missing, [1, 0])


@pytest.fixture
def pictures(tmp_path):
    light = Image.new("RGB", (90, 60), (250, 250, 250))
    light.paste((30, 30, 120), (20, 10, 70, 50))
    light.save(tmp_path / "shirt.jpg")
    dark = Image.new("L", (40, 40), 0)
    dark.paste(220, (5, 12, 35, 16))
    dark.save(tmp_path / "stripe.png")
    (tmp_path / "notes.png").write_text("not a picture")
    return tmp_path


def test_predict_json_matches_the_model_and_reports_bad_files(cli, trained_run, pictures):
    files = [pictures / "shirt.jpg", pictures / "notes.png", pictures / "stripe.png"]
    status, out, err = cli("predict", trained_run, *files, "--json")
    assert status == 1
    assert err.strip().splitlines() == [
        f"cnnlab predict: error: {files[1]}: not an image Pillow can read (expected a PNG or JPEG)"
    ]
    results = json.loads(out)
    assert [entry["file"] for entry in results] == [str(f) for f in files]
    assert "error" in results[1] and "predictions" not in results[1]

    model = tf.keras.models.load_model(trained_run / "model.keras")
    expected = model.predict(model_input(np.stack([load_image(files[0]), load_image(files[2])])), verbose=0)
    for entry, row in zip((results[0], results[2]), expected):
        top = np.argsort(-row)[:3]
        assert [p["label"] for p in entry["predictions"]] == top.tolist()
        assert [p["class"] for p in entry["predictions"]] == [CLASS_NAMES[i] for i in top]
        np.testing.assert_allclose([p["probability"] for p in entry["predictions"]], row[top], rtol=1e-6)


def test_predict_text_output_and_no_invert(cli, trained_run, pictures):
    status, out, _ = cli("predict", trained_run / "model.keras", pictures / "shirt.jpg", "--top", "2")
    assert status == 0
    lines = out.splitlines()
    assert lines[0] == str(pictures / "shirt.jpg") and len(lines) == 3
    assert lines[1].startswith("  1. ") and lines[1].endswith("%") and lines[2].startswith("  2. ")

    inverted = json.loads(cli("predict", trained_run, pictures / "shirt.jpg", "--json", "--top", "10")[1])
    kept = json.loads(cli("predict", trained_run, pictures / "shirt.jpg", "--json", "--top", "10", "--no-invert")[1])
    assert inverted[0]["predictions"] != kept[0]["predictions"]  # a different picture reached the model


def test_predict_with_a_missing_model_is_one_line(cli, tmp_path, pictures):
    status, out, err = cli("predict", tmp_path / "nope.keras", pictures / "shirt.jpg")
    assert status == 1 and out == ""
    missing = tmp_path / "nope.keras"
    assert (
        err.strip() == f"cnnlab predict: error: {missing}: no such model file (train one with 'cnnlab train --out DIR')"
    )


def test_predict_with_a_damaged_model_is_one_line(cli, tmp_path, trained_run, pictures):
    damaged = tmp_path / "damaged.keras"
    damaged.write_bytes((trained_run / "model.keras").read_bytes()[:200])
    status, _, err = cli("predict", damaged, pictures / "shirt.jpg")
    assert status == 1 and err.startswith(f"cnnlab predict: error: {damaged}: cannot load the model")
    assert len(err.strip().splitlines()) <= 2 and "Traceback" not in err


def test_inspect_a_test_image(cli, trained_run, tmp_path):
    out_dir = tmp_path / "look"
    status, out, err = cli("inspect", trained_run, "--index", "3", "--out", out_dir)
    assert status == 0, err
    assert out.startswith(f"test image 3: {CLASS_NAMES[9]}, predicted: ")  # y_test[3] = 3 * 3 % 10
    names = sorted(p.name for p in out_dir.iterdir())
    assert names == [
        "00_input.png",
        "01_conv2d_feature_maps.png",
        "01_conv2d_filters.png",
        "02_max_pooling2d_feature_maps.png",
    ]
    # 10 feature maps / filters: 8 panels of 160 px per row, 2 rows, 60 px of title
    assert png_size(out_dir / "01_conv2d_feature_maps.png") == (1280, 380)
    assert png_size(out_dir / "01_conv2d_filters.png") == (1280, 380)
    assert png_size(out_dir / "02_max_pooling2d_feature_maps.png") == (1280, 380)
    assert png_size(out_dir / "00_input.png") == (320, 380)


def test_inspect_a_picture_and_its_mistakes(cli, trained_run, pictures, tmp_path):
    status, out, _ = cli(
        "inspect", trained_run / "model.keras", "--image", pictures / "stripe.png", "--out", tmp_path / "o"
    )
    assert status == 0 and out.startswith("stripe.png, predicted: ")
    assert (tmp_path / "o" / "01_conv2d_feature_maps.png").exists()
    status, _, err = cli("inspect", trained_run, "--index", str(N_TEST))
    assert status == 1 and f"--index {N_TEST} is out of range: the test set has {N_TEST} images" in err
    status, _, err = cli("inspect", trained_run, "--image", pictures / "notes.png")
    assert status == 1 and "not an image Pillow can read" in err


def test_deep_model_inspection_shows_the_strongest_input_channel(cli, tmp_path):
    assert cli("train", "--model", "deep", "--epochs", "1", "--limit", "40", "--out", tmp_path / "deep")[0] == 0
    status, out, err = cli("inspect", tmp_path / "deep", "--out", tmp_path / "look")
    assert status == 0, err
    filters = sorted(p.name for p in (tmp_path / "look").iterdir() if p.name.endswith("_filters.png"))
    assert len(filters) == 3  # three convolutions
    assert png_size(tmp_path / "look" / filters[0]) == (1280, 4 * 160 + 60)  # 32 filters, 8 per row
    assert png_size(tmp_path / "look" / filters[1]) == (1280, 8 * 160 + 60)  # 64 filters


def test_model_zoo_parameter_counts():
    tf.random.set_seed(0)
    assert MODELS["seed"].build().count_params() == 197_210
    assert MODELS["seed-dropout"].build().count_params() == 197_210


def test_augment_shifts_and_mirrors_without_inventing_pixels():
    images = np.zeros((400, 28, 28), dtype=np.uint8)
    images[:, 10:14, 5:9] = 200  # a 4x4 square left of centre
    out = augment(images, np.random.default_rng(0))
    assert out.shape == images.shape and out.dtype == np.uint8
    assert np.all(out.reshape(400, -1).sum(axis=1) == 16 * 200)  # the square never leaves the frame
    tops = np.array([np.flatnonzero(o.max(axis=1))[0] for o in out])
    lefts = np.array([np.flatnonzero(o.max(axis=0))[0] for o in out])
    assert set(tops) == set(range(8, 13))  # shifted up to 2 rows either way
    mirrored = lefts >= 19 - 2  # 28 - 9 = 19 is the mirrored left edge
    assert 0.35 < mirrored.mean() < 0.65
    assert set(lefts[~mirrored]) == set(range(3, 8)) and set(lefts[mirrored]) == set(range(17, 22))
    np.testing.assert_array_equal(augment(images, np.random.default_rng(0)), out)  # a function of the generator


def test_augment_without_shifts_mirrors_half_of_the_images_and_moves_nothing_else():
    images = np.random.default_rng(1).integers(0, 256, size=(200, 28, 28), dtype=np.uint8)
    out = augment(images, np.random.default_rng(0), max_shift=0)
    mirrored = np.array([np.array_equal(o, i[:, ::-1]) for o, i in zip(out, images)])
    unchanged = np.array([np.array_equal(o, i) for o, i in zip(out, images)])
    assert np.all(mirrored ^ unchanged)  # each image is either itself or its mirror image
    assert 0.35 < mirrored.mean() < 0.65


def test_the_deep_model_trains_on_shifted_and_mirrored_images_with_nesterov_sgd(cli, tmp_path):
    status, out, _ = cli("train", "--model", "deep", "--epochs", "1", "--limit", "30", "--out", tmp_path / "d")
    assert status == 0 and out.splitlines()[0].endswith("sgd lr 0.05 on a cosine to 0, shifted and mirrored images")
    optimizer = tf.keras.models.load_model(tmp_path / "d" / "model.keras").optimizer
    assert (optimizer.momentum, optimizer.nesterov, optimizer.weight_decay) == (0.9, True, 5e-3)


def test_small_resnet_trains_with_nesterov_sgd_on_a_cosine_to_zero(cli, tmp_path):
    run = tmp_path / "r"
    args = ("train", "--model", "small-resnet", "--limit", "30")
    status, out, err = cli(*args, "--epochs", "2", "--batch-size", "8", "--out", run)
    assert status == 0, err
    assert out.splitlines()[0].endswith("sgd lr 0.05 on a cosine to 0, shifted and mirrored images")
    optimizer = tf.keras.models.load_model(run / "model.keras").optimizer
    assert isinstance(optimizer, tf.keras.optimizers.SGD)
    assert (optimizer.momentum, optimizer.nesterov, optimizer.weight_decay) == (0.9, True, 5e-3)
    schedule = optimizer._learning_rate
    assert isinstance(schedule, tf.keras.optimizers.schedules.CosineDecay)
    # 24 training images in batches of 8: 3 steps an epoch; the rate reaches 0 at the run's last step.
    assert (schedule.initial_learning_rate, schedule.decay_steps, int(optimizer.iterations)) == (0.05, 6, 6)
    assert float(schedule(6)) == 0.0 and float(schedule(3)) == pytest.approx(0.025)

    # Given more epochs, a resumed run stretches its cosine to its new end.
    status, out, err = cli("train", "--resume", run, "--epochs", "4")
    assert status == 0, err
    optimizer = tf.keras.models.load_model(run / "model.keras").optimizer
    assert (optimizer._learning_rate.decay_steps, int(optimizer.iterations)) == (12, 12)

    # Another optimizer keeps the model's schedule but not SGD's momentum and decay.
    status, out, err = cli(*args, "--optimizer", "adam", "--epochs", "1", "--out", tmp_path / "a")
    assert status == 0, err
    assert "adam lr 0.001 on a cosine to 0" in out.splitlines()[0]
    optimizer = tf.keras.models.load_model(tmp_path / "a" / "model.keras").optimizer
    assert isinstance(optimizer, tf.keras.optimizers.Adam) and optimizer.weight_decay is None


def test_scale_lr_runs_a_cosine_model_on_its_cosine_after_the_warm_up():
    settings = {"model": "small-resnet", "lr": 0.05, "epochs": 15, "scale_lr": True}
    warm_up, cosine = train._learning_rate_callbacks(settings, processes=2)
    assert warm_up.initial_lr == cosine.initial_lr == 0.1
    assert (cosine.start_epoch, cosine.staircase) == (train.WARMUP_EPOCHS, False)
    # From the scaled rate after the 5-epoch warm-up to 0 at the end of epoch 15, counted in fractions.
    assert [cosine.multiplier(epoch) for epoch in (5, 10, 15, 16)] == pytest.approx([1.0, 0.5, 0.0, 0.0])
    assert train._learning_rate_callbacks(settings, processes=1) == []
