"""keras.utils.image_dataset_from_directory on generated folders: Keras's files, labels, classes and split
(the rule written out here, and Keras 3's own index_directory), the pictures as decoded, unreadable files."""

import gc
import importlib
import io
import os
import sys
import tracemalloc
import warnings

import numpy as np
import pytest
from PIL import Image

import cnnlab as tf
from cnnlab.keras.image_utils import ImageError, ImageWarning
from cnnlab.keras import image_dataset

STEP = 5  # each picture is one flat grey, 10 + STEP * its id, so a decoded batch says which files it holds


def grey(file_id):
    return 10 + STEP * file_id


def save_flat(path, file_id, size=(20, 12), mode="RGB", fmt=None):
    value = grey(file_id)
    colour = {"L": value, "RGB": (value,) * 3, "RGBA": (value, value, value, 255), "P": None}[mode]
    if mode == "P":
        image = Image.new("RGB", size, (value,) * 3).convert("P")
    else:
        image = Image.new(mode, size, colour)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format=fmt)


@pytest.fixture
def folder(tmp_path):
    """Classes apple (nested folders, mixed formats and sizes, grey and RGB, a corrupt and a text file), banana
    (empty), cherry (RGBA, a linked file, a linked folder), date (a linked class folder), a hidden class, and
    files beside the classes.  Returns (root, {path inside root: picture id})."""
    root = tmp_path / "pictures"
    ids = {}

    def add(relative, **kwargs):
        ids[relative] = len(ids)
        save_flat(root / relative, ids[relative], **kwargs)

    add("apple/a1.png", size=(31, 17))
    add("apple/A2.JPG", mode="L", size=(12, 40), fmt="JPEG")
    add("apple/nested/deep/a3.bmp", size=(8, 8))
    add("apple/nested/a4.gif", mode="P", size=(50, 25))
    add("apple/.hidden-file.png")  # hidden files are kept (Keras leaves out hidden folders only)
    add("apple/nested/a5.jpeg", size=(300, 200), fmt="JPEG")
    add("cherry/c1.png", mode="RGBA", size=(16, 16))
    add("cherry/c2.jpg", fmt="JPEG")
    add("cherry/sub dir/c3.png", mode="L")
    (root / "banana").mkdir()
    (root / "apple" / "notes.txt").write_text("not a picture")
    (root / "apple" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    (root / "cherry" / "empty.jpg").write_bytes(b"")
    save_flat(root / ".hidden-class" / "h.png", 40)
    save_flat(root / "apple" / "a6.webp", 41, fmt="WEBP")  # read only when asked for
    save_flat(root / "beside.png", 42)  # not in a class folder
    ids["date/d1.png"] = len(ids)
    save_flat(tmp_path / "date-target" / "d1.png", ids["date/d1.png"])
    (root / "date").symlink_to(tmp_path / "date-target", target_is_directory=True)
    outside = tmp_path / "outside"
    ids["cherry/linked.png"] = ids["apple/a1.png"]
    (root / "cherry" / "linked.png").symlink_to(root / "apple" / "a1.png")
    save_flat(outside / "o1.png", 30)
    ids["cherry/linked-dir/o1.png"] = 30
    (root / "cherry" / "linked-dir").symlink_to(outside, target_is_directory=True)
    return root, ids


CORRUPT = ("apple/broken.png", "cherry/empty.jpg")
CLASSES = ["apple", "banana", "cherry", "date"]


def keras_rule_listing(root, follow_links, extensions=(".bmp", ".gif", ".jpeg", ".jpg", ".png")):
    """Keras's file order written out: sorted visible class folders; in each, its folders sorted by path (into
    linked ones only with follow_links), the files of each sorted by name; lower-cased extension allowed."""
    paths, labels = [], []
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    for label, name in enumerate(classes):
        folders = [root / name]
        pending = [root / name]
        while pending:
            folder = pending.pop()
            for entry in folder.iterdir():
                if entry.is_dir() and (follow_links or not entry.is_symlink()):
                    folders.append(entry)
                    pending.append(entry)
        for folder in sorted(folders, key=str):
            files = sorted(p.name for p in folder.iterdir() if not p.is_dir())
            for file in files:
                if file.lower().endswith(extensions):
                    paths.append(str(folder / file))
                    labels.append(label)
    return paths, labels, classes


def keras_rule_split(paths, labels, seed, validation_split):
    paths, labels = list(paths), np.array(labels, dtype=np.int32)
    np.random.RandomState(seed).shuffle(paths)
    np.random.RandomState(seed).shuffle(labels)
    n_val = int(validation_split * len(paths))
    return (paths[: len(paths) - n_val], labels[: len(paths) - n_val]), (
        paths[len(paths) - n_val :],
        labels[len(paths) - n_val :],
    )


def decoded_ids(dataset):
    """(picture id, label) for every picture a dataset yields, read from the pictures' flat grey."""
    pairs = []
    for images, labels in dataset:
        values = images.numpy()[:, images.shape[1] // 2, images.shape[2] // 2, 0]
        pairs += [(round((v - 10) / STEP), int(label)) for v, label in zip(values, labels.numpy())]
    return sorted(pairs)


def ids_of(root, ids, paths, labels):
    return sorted((ids[os.path.relpath(p, root)], int(label)) for p, label in zip(paths, labels))


@pytest.mark.parametrize("follow_links", [False, True])
def test_files_labels_and_classes_follow_keras(folder, follow_links, capsys):
    root, _ = folder
    expected_paths, expected_labels, classes = keras_rule_listing(root, follow_links)
    assert classes == CLASSES
    assert ("cherry/linked-dir/o1.png" in [os.path.relpath(p, root) for p in expected_paths]) == follow_links
    paths, labels, class_names = image_dataset.index_directory(
        str(root), "inferred", image_dataset.ALLOWLIST_FORMATS, shuffle=False, follow_links=follow_links
    )
    assert (paths, labels.tolist(), class_names) == (expected_paths, expected_labels, CLASSES)
    assert capsys.readouterr().out == f"Found {len(expected_paths)} files belonging to 4 classes.\n"

    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras_utils = importlib.import_module("keras.src.utils.dataset_utils")
    keras_paths, keras_labels, keras_classes = keras_utils.index_directory(
        str(root), "inferred", formats=image_dataset.ALLOWLIST_FORMATS, shuffle=True, seed=5, follow_links=follow_links
    )
    paths, labels, class_names = image_dataset.index_directory(
        str(root), "inferred", image_dataset.ALLOWLIST_FORMATS, shuffle=True, seed=5, follow_links=follow_links
    )
    assert (paths, labels.tolist(), class_names) == (keras_paths, keras_labels.tolist(), keras_classes)


@pytest.mark.parametrize(("seed", "validation_split"), [(1, 0.2), (123, 0.5), (7, 0.34)])
def test_training_and_validation_split_follows_keras_rule(folder, seed, validation_split, capsys):
    root, ids = folder
    paths, labels, _ = keras_rule_listing(root, follow_links=False)
    (train_paths, train_labels), (val_paths, val_labels) = keras_rule_split(paths, labels, seed, validation_split)
    with pytest.warns(ImageWarning) as caught:
        train, val = tf.keras.utils.image_dataset_from_directory(
            root, validation_split=validation_split, subset="both", seed=seed, image_size=(9, 7), batch_size=4
        )
    corrupt = {str(root / name) for name in CORRUPT}
    assert sorted(str(w.message).split(":")[0] for w in caught) == sorted(corrupt)
    assert train.file_paths == [p for p in train_paths if p not in corrupt]
    assert val.file_paths == [p for p in val_paths if p not in corrupt]
    assert train.class_names == val.class_names == CLASSES
    keep_train = [p not in corrupt for p in train_paths]
    keep_val = [p not in corrupt for p in val_paths]
    assert decoded_ids(train) == ids_of(root, ids, train.file_paths, train_labels[keep_train])
    assert decoded_ids(val) == ids_of(root, ids, val.file_paths, val_labels[keep_val])
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == [
        f"Found {len(paths)} files belonging to 4 classes.",
        f"Using {len(train_paths)} files for training.",
    ]
    counts = np.bincount(train_labels[keep_train], minlength=4)
    skipped = len(train_paths) - sum(keep_train)
    line = "Training pictures per class: " + ", ".join(f"{c} {n}" for c, n in zip(CLASSES, counts))
    assert out[2] == line + (f"; {skipped} unreadable file{'s' * (skipped > 1)} left out." if skipped else ".")
    assert out[3] == f"Using {len(val_paths)} files for validation."
    assert out[4].startswith("Validation pictures per class: apple ")

    with warnings.catch_warnings(record=True):  # the corrupt files again, if they are in this subset
        separately = tf.keras.utils.image_dataset_from_directory(
            root, validation_split=validation_split, subset="validation", seed=seed, image_size=(9, 7), verbose=False
        )
    assert separately.file_paths == val.file_paths


def test_pictures_are_resized_and_converted_as_asked(folder):
    root, ids = folder
    for color_mode, channels in (("grayscale", 1), ("rgb", 3), ("rgba", 4)):
        with pytest.warns(ImageWarning):
            ds = tf.keras.utils.image_dataset_from_directory(
                root, color_mode=color_mode, image_size=(5, 8), shuffle=False, batch_size=100, verbose=False
            )
        images, labels = next(iter(ds))
        assert images.shape == (len(ds.file_paths), 5, 8, channels) and images.dtype == tf.float32
        assert labels.dtype == tf.int32
        values = images.numpy()
        expected = np.array([grey(ids[os.path.relpath(p, root)]) for p in ds.file_paths], dtype=np.float32)
        np.testing.assert_allclose(values[..., :3].min(axis=(1, 2, 3)), expected, atol=2)  # JPEG: within 2
        np.testing.assert_allclose(values[..., :3].max(axis=(1, 2, 3)), expected, atol=2)
        if channels == 4:
            assert (values[..., 3] == 255).all()
    with pytest.warns(ImageWarning):
        first = tf.keras.utils.image_dataset_from_directory(
            root, image_size=(6, 4), shuffle=False, batch_size=None, data_format="channels_first", verbose=False
        )
    image, label = next(iter(first))
    assert image.shape == (3, 6, 4) and label.shape == ()


def test_crop_and_pad_keep_the_aspect_ratio(tmp_path):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras_image_utils = importlib.import_module("keras.src.utils.image_utils")
    picture = np.zeros((20, 40, 3), np.uint8)  # 40 wide, 20 high: a white square in the middle, red left edge
    picture[:, 10:30] = 255
    picture[:, :4, 0] = 200
    Image.fromarray(picture).save(tmp_path / "wide.png")
    from cnnlab.keras.image_utils import decode_picture

    cropped = decode_picture(tmp_path / "wide.png", (10, 10), 3, "bilinear", crop_to_aspect_ratio=True)
    keras = keras_image_utils.load_img(
        str(tmp_path / "wide.png"), target_size=(10, 10), interpolation="bilinear", keep_aspect_ratio=True
    )
    np.testing.assert_array_equal(cropped, np.asarray(keras, dtype=np.float32))  # Keras's own Pillow path
    assert (cropped[:, 2:8] == 255).all() and (cropped[..., 0] == cropped[..., 1]).all()  # the centred window only
    padded = decode_picture(tmp_path / "wide.png", (10, 10), 3, "nearest", pad_to_aspect_ratio=True)
    assert (padded[:2] == 0).all() and (padded[-2:] == 0).all()  # black bands above and below
    assert (padded[3:7, 3:7] == 255).all()
    stretched = decode_picture(tmp_path / "wide.png", (10, 10), 3, "nearest")
    assert stretched[5, 0, 0] == 200 and (stretched[:, 5] == 255).all()


def test_label_modes_and_explicit_labels(folder):
    root, _ = folder
    kwargs = {"image_size": (4, 4), "shuffle": False, "verbose": False, "batch_size": 100}
    with pytest.warns(ImageWarning):
        _, ints = next(iter(tf.keras.utils.image_dataset_from_directory(root, **kwargs)))
    with pytest.warns(ImageWarning):
        _, one_hot = next(iter(tf.keras.utils.image_dataset_from_directory(root, label_mode="categorical", **kwargs)))
    assert one_hot.dtype == tf.float32 and one_hot.shape == (len(ints), 4)
    np.testing.assert_array_equal(one_hot.numpy(), np.eye(4, dtype=np.float32)[ints.numpy()])
    with pytest.warns(ImageWarning):
        binary = tf.keras.utils.image_dataset_from_directory(
            root, label_mode="binary", class_names=["cherry", "apple"], **kwargs
        )
    _, labels = next(iter(binary))
    assert binary.class_names == ["cherry", "apple"] and labels.shape[1:] == (1,) and labels.dtype == tf.float32
    assert labels.numpy()[0, 0] == 0.0 and labels.numpy()[-1, 0] == 1.0  # cherry's files first, as given
    with pytest.raises(ValueError, match=r'label_mode="binary"`, there must be exactly 2 class_names'):
        tf.keras.utils.image_dataset_from_directory(root, label_mode="binary", **kwargs)
    with pytest.warns(ImageWarning):
        images_only = tf.keras.utils.image_dataset_from_directory(root, labels=None, **kwargs)
    assert images_only.class_names is None and next(iter(images_only)).shape[1:] == (4, 4, 3)
    n_files = len(keras_rule_listing(root, False)[0])
    given = [i % 3 for i in range(n_files)]
    with pytest.warns(ImageWarning, match="broken.png"):
        flat = tf.keras.utils.image_dataset_from_directory(root / "apple", labels=given[:7], **kwargs)
    assert flat.class_names == ["0", "1", "2"]
    with pytest.raises(ValueError, match=r"len\(labels\) is 3 while we found 7 files"):
        tf.keras.utils.image_dataset_from_directory(root / "apple", labels=[0, 1, 2], **kwargs)


def test_unreadable_files_warn_with_their_path_or_raise_when_strict(folder):
    root, _ = folder
    with pytest.warns(ImageWarning) as caught:
        ds = tf.keras.utils.image_dataset_from_directory(root, image_size=(4, 4), shuffle=False, verbose=False)
    messages = sorted(str(w.message) for w in caught)
    assert messages[0].startswith(f"{root / 'apple' / 'broken.png'}: ") and messages[0].endswith("; left out")
    assert messages[1].startswith(f"{root / 'cherry' / 'empty.jpg'}: ")
    assert not any(p.endswith(CORRUPT) for p in ds.file_paths)
    with pytest.raises(ImageError, match=r"apple/broken.png: "):
        tf.keras.utils.image_dataset_from_directory(root, image_size=(4, 4), shuffle=False, verbose=False, strict=True)


def test_other_formats_only_when_asked(folder):
    root, _ = folder
    formats = (*image_dataset.ALLOWLIST_FORMATS, ".webp")
    with pytest.warns(ImageWarning):
        plain = tf.keras.utils.image_dataset_from_directory(root, image_size=(4, 4), shuffle=False, verbose=False)
    with pytest.warns(ImageWarning):
        webp = tf.keras.utils.image_dataset_from_directory(
            root, image_size=(4, 4), shuffle=False, verbose=False, formats=formats
        )
    assert [p for p in webp.file_paths if p not in plain.file_paths] == [str(root / "apple" / "a6.webp")]


def test_a_large_folder_shows_a_progress_bar_with_counts(tmp_path, monkeypatch, capsys):
    for i in range(6):
        save_flat(tmp_path / "d" / f"c{i % 2}" / f"{i}.png", i)

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setattr(image_dataset, "PROGRESS_MIN_FILES", 5)
    tf.keras.utils.image_dataset_from_directory(tmp_path / "d", image_size=(4, 4), seed=1)
    assert "Checking pictures" in terminal.getvalue() and "6/6" in terminal.getvalue()
    assert capsys.readouterr().out.splitlines() == [
        "Found 6 files belonging to 2 classes.",
        "Pictures per class: c0 3, c1 3.",
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"validation_split": 0.2, "subset": "training"}, r"you must provide a `seed` argument"),
        ({"subset": "training"}, r"If `subset` is set, `validation_split` must be set"),
        ({"validation_split": 1.5, "subset": "training", "seed": 1}, r"`validation_split` must be between 0 and 1"),
        ({"subset": "train", "validation_split": 0.2, "seed": 1}, r'`subset` must be either "training", "validation"'),
        (
            {"color_mode": "cmyk"},
            r'`color_mode` must be one of \{"rgb", "rgba", "grayscale"\}. Received: color_mode=cmyk',
        ),
        ({"label_mode": "sparse"}, r"`label_mode` argument must be one of"),
        ({"image_size": (4,)}, r"Invalid `image_size` value. Expected a tuple of 2 integers"),
        ({"interpolation": "gaussian"}, r"interpolation='gaussian' is not available in cnnlab"),
        ({"interpolation": "linear"}, r"interpolation must be one of nearest, bilinear, bicubic, area, "),
        ({"crop_to_aspect_ratio": True, "pad_to_aspect_ratio": True}, r"Only one of `pad_to_aspect_ratio`"),
        ({"format": "grain"}, r'`format` should be "tf"'),
        ({"labels": "folders"}, r"`labels` argument should be a list/tuple of integer labels"),
        ({"labels": [0], "class_names": ["a"]}, r'You can only pass `class_names` if `labels="inferred"`'),
        ({"class_names": ["apple", "kiwi"]}, r"The `class_names` passed did not match"),
        ({"batch_size": 0}, r"`batch_size` should be a positive integer or None"),
    ],
)
def test_arguments_keras_refuses(folder, kwargs, message):
    root, _ = folder
    with pytest.raises(ValueError, match=message):
        tf.keras.utils.image_dataset_from_directory(root, verbose=False, **kwargs)


def test_missing_folder_and_no_pictures(tmp_path):
    with pytest.raises(FileNotFoundError):
        tf.keras.utils.image_dataset_from_directory(tmp_path / "nowhere")
    (tmp_path / "empty" / "a").mkdir(parents=True)
    with pytest.raises(ValueError, match=r"No images found in directory .*empty. Allowed formats"):
        tf.keras.utils.image_dataset_from_directory(tmp_path / "empty", verbose=False)


def test_the_dataset_methods_tutorials_use(folder):
    root, _ = folder
    with pytest.warns(ImageWarning):
        ds = tf.keras.utils.image_dataset_from_directory(root, image_size=(6, 6), batch_size=3, seed=3, verbose=False)
    assert len(ds) == -(-len(ds.file_paths) // 3)
    batches = list(ds.take(2))
    assert len(batches) == 2 and batches[0][0].shape == (3, 6, 6, 3)
    scaled = ds.map(lambda x, y: (x / 255.0, y)).cache().shuffle(10, seed=1).prefetch(tf.data.AUTOTUNE)
    images, labels = next(iter(scaled))
    assert float(images.numpy().max()) <= 1.0 and labels.shape == (3,)
    assert sum(len(y) for _, y in scaled) == len(ds.file_paths)


def test_a_folder_bigger_than_a_memory_budget_trains_a_batch_at_a_time(tmp_path):
    """Decoded, the folder is 27 MB of float32; scanning it and an epoch of fit stay under a tenth of that."""
    count, size = 960, 48
    rng = np.random.default_rng(0)
    for i in range(count):
        noise = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        (tmp_path / "d" / f"c{i % 2}").mkdir(parents=True, exist_ok=True)
        Image.fromarray(noise).save(tmp_path / "d" / f"c{i % 2}" / f"{i}.png")
    decoded_bytes = count * size * size * 3 * 4
    model = tf.keras.Sequential(
        [
            tf.keras.Input((size, size, 3)),
            tf.keras.layers.Rescaling(1 / 255),
            tf.keras.layers.Conv2D(4, 3, activation="relu"),
            tf.keras.layers.GlobalAveragePooling2D(),
            tf.keras.layers.Dense(2, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(np.zeros((8, size, size, 3), np.float32), np.zeros(8), verbose=0)  # imports, workspaces, slots
    tracemalloc.start()
    try:
        ds = tf.keras.utils.image_dataset_from_directory(
            tmp_path / "d", image_size=(size, size), batch_size=8, seed=0, verbose=False
        )
        history = model.fit(ds, epochs=1, verbose=0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(history.history["loss"]) == 1 and len(ds.file_paths) == count
    assert peak < decoded_bytes / 10, (peak, decoded_bytes)


def test_a_batch_is_freed_as_soon_as_it_is_dropped():
    """No reference cycle holds a batch (nest.pack_sequence_as used to make one per batch): with the cyclic garbage
    collector off, a pass over a dataset leaves nothing for it to collect."""
    dataset = tf.data.Dataset.from_indexable(64, lambda i: (np.zeros(3, np.float32), np.int32(i % 2))).batch(8)
    gc.collect()
    gc.disable()
    try:
        for _ in dataset:
            pass
        assert gc.collect() == 0
    finally:
        gc.enable()
