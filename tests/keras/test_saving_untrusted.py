"""Model files read as untrusted: whatever a file holds, loading it gives ModelFileError naming
the file, and costs memory in proportion to the file (issue 17.2).

These files are of cnnlab's older format (zip, JSON, weights.npz; ``tests/old_format.py``
writes them), which cnnlab still reads; ``test_keras_files_untrusted.py`` does the same
for Keras's formats.

The files are made byte by byte (``tests/forged_files.py``); ``tests/fuzz`` runs the same
kinds of damage at random.  Memory is measured with tracemalloc (NumPy reports its
arrays to it).
"""

import json
import tracemalloc
import zipfile

import numpy as np
import pytest
from forged_files import Member, deflate_with_zeros, make_member, member_content, npy_with_header, pack_zip, unpack_zip
from old_format import save_old_format, save_weights_old_format

from cnnlab import keras
from cnnlab.keras import saving
from cnnlab.keras.layers import Conv2D, Dense, Flatten, Input, MaxPooling2D
from cnnlab.keras.saving import ModelFileError

MIB = 1 << 20
GIB = 1 << 30


def small_cnn():
    return keras.Sequential(
        [
            Input(shape=(8, 8, 1)),
            Conv2D(4, 3, padding="same", activation="relu"),
            MaxPooling2D(),
            Flatten(),
            Dense(3, activation="softmax"),
        ]
    )


@pytest.fixture
def saved(tmp_path):
    """A trained, compiled model and the file it was saved to."""
    keras.utils.set_random_seed(0)
    model = small_cnn()
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    rng = np.random.default_rng(0)
    model.fit(rng.random((8, 8, 8, 1), dtype=np.float32), np.eye(3, dtype=np.float32)[np.arange(8) % 3], verbose=0)
    path = tmp_path / "model.keras"
    save_old_format(model, path)
    return model, path


SAMPLE = np.random.default_rng(1).random((2, 8, 8, 1), dtype=np.float32)


def read_member(path, name):
    with zipfile.ZipFile(path) as archive:
        return archive.read(name)


def rewrite(path, **contents):
    """Replace members of the archive at ``path`` (``weights_npz=`` for weights.npz), keeping their methods."""
    contents = {name.replace("_npz", ".npz").replace("_json", ".json"): value for name, value in contents.items()}
    members = unpack_zip(path.read_bytes())
    for index, member in enumerate(members):
        name = member.name.decode()
        if name in contents:
            members[index] = make_member(name, contents[name], member.method)
    path.write_bytes(pack_zip(members))


def rewrite_json(path, name, change):
    document = json.loads(read_member(path, name))
    rewrite(path, **{name.replace(".", "_"): json.dumps(change(document)).encode()})


def rewrite_npy(path, member, change):
    """Replace the ``.npy`` ``member`` of weights.npz by ``change(its bytes)``."""
    npz = unpack_zip(read_member(path, "weights.npz"))
    for index, entry in enumerate(npz):
        if entry.name.decode() == member:
            npz[index] = make_member(member, change(member_content(entry)), entry.method)
    rewrite(path, weights_npz=pack_zip(npz))


def refused(path, message, load=saving.load_model, **kwargs):
    """Assert that ``load(path)`` raises ModelFileError matching ``message`` and naming the file; the peak memory."""
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match=message) as info:
            load(path, **kwargs)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(path) in str(info.value)
    return peak


def assert_loads_the_same(model, path, **kwargs):
    loaded = saving.load_model(path, **kwargs)
    np.testing.assert_array_equal(loaded.predict(SAMPLE, verbose=0), model.predict(SAMPLE, verbose=0))


# ---- JSON: depth and types ----------------------------------------------------------------------------


def test_json_nested_deeper_than_the_parser_recurses_is_refused_before_parsing(saved):
    _, path = saved
    original = read_member(path, "config.json")
    rewrite(path, config_json=b"[" * 5000 + b"]" * 5000)
    refused(path, "config.json nests arrays and objects 5000 deep; a model file nests them at most 128 deep")
    rewrite(path, config_json=original, metadata_json=b'{"a":' * 200 + b"0" + b"}" * 200)
    refused(path, "metadata.json nests arrays and objects 200 deep", load=saving.load_metadata)
    # A string left open, full of escaped quotes: scanned once, not once per quote.
    rewrite(path, metadata_json=b'{"a": "' + b'\\"[' * 300_000)
    refused(path, "metadata.json is not valid JSON .*Unterminated string", load=saving.load_metadata)


def test_brackets_inside_json_strings_do_not_count_as_nesting(saved):
    model, path = saved
    save_old_format(model, path, user_metadata={"note": "[{" * 5000, "quoted": '\\"[[[' * 100})
    assert saving.load_metadata(path)["user_metadata"]["note"] == "[{" * 5000
    assert_loads_the_same(model, path)


def _nested_in_sequentials(config_text, levels):
    opening = (
        b'{"class_name": "Sequential", "config": {"name": "wrapper", "build_input_shape": [null, 8, 8, 1], "layers": ['
    )
    return opening * levels + config_text + b"]}}" * levels


def test_models_nest_up_to_the_documented_depth(saved):
    model, path = saved
    config = json.loads(read_member(path, "config.json"))
    del config["compile_config"]
    text = json.dumps(config).encode()
    rewrite(path, config_json=_nested_in_sequentials(text, saving.MAX_MODEL_DEPTH - 1))
    assert_loads_the_same(model, path)
    rewrite(path, config_json=_nested_in_sequentials(text, saving.MAX_MODEL_DEPTH))
    refused(path, "config.json nests models more than 32 deep")
    rewrite(path, config_json=_nested_in_sequentials(text, 1000))
    refused(path, "config.json nests arrays and objects 3007 deep")


def _set_layers(change):
    def change_config(config):
        config["config"]["layers"] = change(config["config"]["layers"])
        return config

    return change_config


def test_models_of_many_layers_load_up_to_the_documented_count(tmp_path):
    keras.utils.set_random_seed(0)
    inputs = Input(shape=(4,))
    hidden = inputs
    for _ in range(1100):  # a chain longer than Python's recursion limit
        hidden = keras.layers.ReLU()(hidden)
    chain = keras.Model(inputs, Dense(2)(hidden))
    save_old_format(chain, tmp_path / "chain.keras")
    x = np.random.default_rng(0).random((3, 4), dtype=np.float32)
    loaded = saving.load_model(tmp_path / "chain.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), chain.predict(x, verbose=0))
    path = tmp_path / "long.keras"
    save_old_format(keras.Sequential([Input(shape=(4,)), Dense(2)]), path)
    relu = {"class_name": "ReLU", "config": {}}
    # 2048 layers counting the Sequential and its InputLayer:
    rewrite_json(path, "config.json", _set_layers(lambda layers: layers + [relu] * (saving.MAX_LAYERS - 3)))
    assert len(saving.load_model(path).layers) == saving.MAX_LAYERS - 2
    rewrite_json(path, "config.json", _set_layers(lambda layers: layers + [relu]))
    refused(path, "config.json describes more than 2048 layers")

    def called_9000_times(config):
        config["config"]["layers"].append({"class_name": "ReLU", "config": {}})
        nodes, relu = config["config"]["nodes"], len(config["config"]["layers"]) - 1
        nodes.extend([[relu, source] for source in range(len(nodes) - 1, len(nodes) - 1 + 9000)])
        config["config"]["outputs"] = [len(nodes) - 1]
        return config

    rewrite_json(tmp_path / "chain.keras", "config.json", called_9000_times)
    refused(tmp_path / "chain.keras", "the models in config.json call their layers more than 8192 times")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: {**m, "optimizer_state": 5}, "optimizer_state must be a list of names; found 5"),
        (lambda m: {**m, "optimizer_state": [1, 2]}, r"optimizer_state must be a list of names; found \[1, 2\]"),
        (lambda m: {**m, "weights": "x"}, "metadata.json has no valid 'weights' list"),
        (lambda m: {**m, "weights": [{**m["weights"][0], "shape": [float("inf"), 3, 1, 4]}] + m["weights"][1:]},
         r"describes weight 0 as .*'shape': \[inf, 3, 1, 4\]"),
        (lambda m: {**m, "weights": [{**m["weights"][0], "shape": [1e308, 3, 1, 4]}] + m["weights"][1:]},
         r"describes weight 0 as .*1e\+308"),
        (lambda m: {**m, "weights": [{**m["weights"][0], "dtype": "object"}] + m["weights"][1:]},
         "describes weight 0 as .*'object'"),
        (lambda m: {**m, "weights": [m["weights"][0]["name"]]}, "describes weight 0 as conv2d/kernel"),
        (lambda m: {**m, "format_version": True}, "format version True, but this cnnlab reads version 1"),
        (lambda m: {**m, "kind": ["model"]}, r"gives kind \['model'\]; expected 'model' or 'weights'"),
        (lambda m: [m], "metadata.json does not describe a cnnlab-keras file"),
    ],
)  # fmt: skip
def test_metadata_of_the_wrong_types_is_a_model_file_error(saved, change, message):
    _, path = saved
    rewrite_json(path, "metadata.json", change)
    refused(path, message)
    refused(path, message, load=saving.load_metadata)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: {**c, "compile_config": 5}, "compile_config must be an object; found 5"),
        (lambda c: {**c, "compile_config": {**c["compile_config"], "metrics": 3}}, "compile settings .* cannot be"),
        (lambda c: {**c, "config": {**c["config"], "layers": {"a": 1}}}, "layers of Sequential 'sequential'"),
        (lambda c: {**c, "config": {**c["config"], "layers": [7]}}, "a layer must be described as"),
        (lambda c: {**c, "class_name": "InputSpec"}, "cannot be rebuilt"),
    ],
)
def test_configs_of_the_wrong_types_are_a_model_file_error(saved, change, message):
    _, path = saved
    rewrite_json(path, "config.json", change)
    refused(path, message)


# ---- the zip archive ------------------------------------------------------------------------------------


def _with_member_method(path, name, method):
    members = {}
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            members[info.filename] = (archive.read(info), info.compress_type)
    members[name] = (members[name][0], method)
    with zipfile.ZipFile(path, "w") as archive:
        for member, (content, compress_type) in members.items():
            archive.writestr(member, content, compress_type=compress_type)


@pytest.mark.parametrize(
    ("name", "method", "message"),
    [
        ("config.json", zipfile.ZIP_LZMA, r"'config.json' in the archive is compressed with zip method 14 \(lzma\)"),
        ("metadata.json", zipfile.ZIP_BZIP2, r"'metadata.json' in the archive is compressed with zip method 12"),
        ("weights.npz", zipfile.ZIP_LZMA, r"'weights.npz' in the archive is compressed with zip method 14"),
    ],
)
def test_members_compressed_with_methods_cnnlab_does_not_write_are_refused_unread(saved, name, method, message):
    _, path = saved
    _with_member_method(path, name, method)
    refused(path, message)


def test_unknown_methods_encrypted_members_and_damaged_streams(saved):
    model, path = saved
    original = path.read_bytes()

    def forged(change):
        members = unpack_zip(original)
        change({m.name.decode(): m for m in members})
        path.write_bytes(pack_zip(members))

    forged(lambda m: setattr(m["config.json"], "method", 99))
    refused(path, r"'config.json' in the archive is compressed with zip method 99 \(unknown\)")
    forged(lambda m: setattr(m["weights.npz"], "flags", 0x1))
    refused(path, r"'weights.npz' in the archive is encrypted or patched \(zip flag bits 0x0001\)")
    forged(lambda m: setattr(m["metadata.json"], "flags", 0x40))
    refused(path, r"encrypted or patched \(zip flag bits 0x0040\)", load=saving.load_metadata)
    forged(lambda m: setattr(m["config.json"], "payload", b"\xff" * len(m["config.json"].payload)))
    refused(path, "'config.json' in the archive is damaged .*invalid")
    forged(lambda m: m["config.json"].local.update(name=b"config.jsoX"))
    refused(path, "'config.json' in the archive is damaged .*File name in directory")
    forged(lambda m: setattr(m["weights.npz"], "file_size", m["weights.npz"].file_size + 1))
    refused(path, "'weights.npz' in the archive is stored .* but declares")
    forged(lambda m: setattr(m["weights.npz"], "compress_size", 10**9))
    refused(path, "'weights.npz' in the archive declares 1000000000 bytes at offset .* beyond the end of the archive")
    path.write_bytes(original + b"appended")
    assert_loads_the_same(model, path)


# ---- the weights' .npy members -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda npy: b"not an array", r"weights.npz/weight_0000.npy is not a .npy array \(no npy magic number\)"),
        (lambda npy: npy[:6], r"weight_0000.npy is not a .npy array"),
        (lambda npy: npy[:8] + b"\xff\xff" + npy[10:], r"weight_0000.npy declares an npy header of 65535 bytes"),
        (lambda npy: npy[:6] + b"\x07\x00" + npy[8:], r"weight_0000.npy has npy format version 7.0"),
        (lambda npy: npy_with_header(npy, "{'descr': '<f4', 'fortran_order': False, 'shape': (3L, 4L), }"),
         "weight_0000.npy is not a plain numeric .npy array"),
        (lambda npy: npy_with_header(npy, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4"),
         "weight_0000.npy is not a plain numeric .npy array"),
        (lambda npy: npy_with_header(npy, "{'descr': '<f4', 'fortran_order': False, 'shape': (Infinity,), }"),
         "weight_0000.npy is not a plain numeric .npy array"),
        (lambda npy: npy_with_header(npy, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }"),
         "weight_0000.npy is not a plain numeric .npy array"),
        (lambda npy: npy_with_header(npy, "{'descr': '<f4', 'fortran_order': False, 'shape': (100000000,), }"),
         r"weight_0000.npy declares shape \(100000000,\) of float32 \(400000000 bytes\) but holds 144"),
        (lambda npy: npy_with_header(npy, "{'descr': '<f4', 'fortran_order': False, 'shape': (36,), }"),
         r"weight 0 \('conv2d/kernel'\) has shape \(36,\) and dtype float32 in weights.npz"),
    ],
)  # fmt: skip
def test_npy_members_that_are_not_plain_numeric_arrays_are_refused(saved, change, message):
    _, path = saved
    rewrite_npy(path, "weight_0000.npy", change)
    assert refused(path, message) < 8 * MIB


def test_a_fortran_ordered_array_is_read_in_its_order(saved):
    model, path = saved
    kernel = model.weights[0].numpy()
    header = f"{{'descr': '<f4', 'fortran_order': True, 'shape': {kernel.shape}, }}"
    rewrite_npy(
        path, "weight_0000.npy", lambda npy: npy_with_header(npy, header)[: -kernel.nbytes] + kernel.tobytes("F")
    )
    np.testing.assert_array_equal(saving.load_model(path).weights[0].numpy(), kernel)


# ---- sizes the config declares --------------------------------------------------------------------------------


def _set_layer(index, **settings):
    def change(config):
        config["config"]["layers"][index]["config"].update(settings)
        return config

    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_set_layer(1, filters=10**8), r"the output of layer 'conv2d' would take 25600000000 bytes for one sample"),
        (_set_layer(1, filters=10**6), "config.json describes a model of 10000195 weight values, but the file holds 235"),
        (_set_layer(4, units=100_000), "config.json describes a model of 6500040 weight values, but the file holds 235"),
        (_set_layer(1, dilation_rate=[2**40, 2**40]),
         r"the padded input of layer 'conv2d' would take \d+ bytes for one sample .*more than max_bytes=2147483648"),
        (_set_layer(1, kernel_size=[2**20, 2**20]), r"the padded input of layer 'conv2d' would take \d+ bytes"),
        (_set_layer(2, pool_size=[2**40, 2**40], padding="same"), "the padded input of layer 'max_pooling2d'"),
        (_set_layer(0, batch_shape=[None, 10**9, 10**9, 1]), r"the input of layer 'conv2d' would take 4\d{18} bytes"),
        (_set_layer(0, batch_shape=[None, float("inf"), 8, 1]),
         r"cannot be rebuilt: .*InputLayer: batch_shape must be a tuple of ints \(or None\); received .*inf"),
        (_set_layer(0, batch_shape=[None, 1e308, 8, 1]), r"the input of layer 'conv2d' would take \d+ bytes"),
        (_set_layer(1, strides=[2**40, 1], padding="valid"), r"cannot be rebuilt: .*max_pooling2d.* larger than the input"),
    ],
)  # fmt: skip
def test_huge_layer_settings_are_refused_before_any_weight_exists(saved, change, message):
    _, path = saved
    rewrite_json(path, "config.json", change)
    assert refused(path, message) < 8 * MIB


# Every layer cnnlab exports, with arguments and an input shape to build it for.
EVERY_LAYER = {
    "Activation": ({"activation": "relu"}, (None, 5, 3)),
    "Add": ({}, [(None, 5, 3), (None, 5, 3)]),
    "Average": ({}, [(None, 5, 3), (None, 1, 3)]),
    "Concatenate": ({"axis": 1}, [(None, 5, 3), (None, 2, 3)]),
    "Dot": ({"axes": 2}, [(None, 5, 3), (None, 2, 3)]),
    "Maximum": ({}, [(None, 5, 3), (None, 3)]),
    "Minimum": ({}, [(None, 5, 3), (None, 5, 3)]),
    "Multiply": ({}, [(None, 5, 3), (None, 5, 3)]),
    "Subtract": ({}, [(None, 5, 3), (None, 5, 3)]),
    "AveragePooling1D": ({"pool_size": 2}, (None, 6, 3)),
    "AveragePooling2D": ({}, (None, 6, 6, 3)),
    "BatchNormalization": ({}, (None, 6, 6, 3)),
    "CenterCrop": ({"height": 4, "width": 4}, (None, 6, 6, 3)),
    "Conv1D": ({"filters": 4, "kernel_size": 3}, (None, 9, 3)),
    "Conv2D": ({"filters": 4, "kernel_size": 3}, (None, 6, 6, 3)),
    "Conv2DTranspose": ({"filters": 4, "kernel_size": 3, "strides": 2}, (None, 6, 6, 3)),
    "Cropping2D": ({"cropping": 1}, (None, 6, 6, 3)),
    "Dense": ({"units": 4}, (None, 5, 3)),
    "DepthwiseConv2D": ({"kernel_size": 3, "depth_multiplier": 2}, (None, 6, 6, 3)),
    "Dropout": ({"rate": 0.5}, (None, 5, 3)),
    "ELU": ({}, (None, 5, 3)),
    "Flatten": ({}, (None, 5, 3)),
    "GlobalAveragePooling1D": ({}, (None, 5, 3)),
    "GlobalAveragePooling2D": ({}, (None, 6, 6, 3)),
    "GlobalMaxPooling1D": ({}, (None, 5, 3)),
    "GlobalMaxPooling2D": ({}, (None, 6, 6, 3)),
    "Lambda": ({"function": np.negative, "output_shape": (5, 3)}, (None, 5, 3)),
    "Layer": ({}, (None, 5, 3)),
    "LayerNormalization": ({"axis": [-2, -1]}, (None, 5, 3)),
    "LeakyReLU": ({}, (None, 5, 3)),
    "MaxPooling1D": ({}, (None, 6, 3)),
    "MaxPooling2D": ({}, (None, 6, 6, 3)),
    "PReLU": ({"shared_axes": [1]}, (None, 5, 3)),
    "RandomFlip": ({}, (None, 6, 6, 3)),
    "RandomRotation": ({"factor": 0.1}, (None, 6, 6, 3)),
    "RandomTranslation": ({"height_factor": 0.1, "width_factor": 0.1}, (None, 6, 6, 3)),
    "RandomZoom": ({"height_factor": 0.1}, (None, 6, 6, 3)),
    "ReLU": ({}, (None, 5, 3)),
    "Rescaling": ({"scale": 0.5}, (None, 5, 3)),
    "Reshape": ({"target_shape": (3, 5)}, (None, 5, 3)),
    "Resizing": ({"height": 3, "width": 4}, (None, 6, 6, 3)),
    "SeparableConv2D": ({"filters": 4, "kernel_size": 3, "depth_multiplier": 2}, (None, 6, 6, 3)),
    "Softmax": ({}, (None, 5, 3)),
    "UpSampling2D": ({}, (None, 6, 6, 3)),
    "ZeroPadding2D": ({}, (None, 6, 6, 3)),
}


def test_the_plan_counts_the_weights_of_every_layer_as_building_it_does():
    import inspect

    from cnnlab.keras import layers

    exported = {
        getattr(layers, name).__name__
        for name in layers.__all__
        if inspect.isclass(getattr(layers, name)) and issubclass(getattr(layers, name), layers.Layer)
    }
    assert exported - {"InputLayer"} == set(EVERY_LAYER)  # a new layer needs its line here
    for class_name, (arguments, input_shape) in EVERY_LAYER.items():
        cls = getattr(layers, class_name)
        planned = saving._weight_shapes(cls(**arguments), input_shape)
        built = cls(**arguments)
        built.build(input_shape)
        assert sorted(planned) == sorted(tuple(w.shape) for w in built.weights), class_name


def test_models_of_the_newer_layers_round_trip_and_are_sized_before_building(tmp_path):
    keras.utils.set_random_seed(0)
    layers = keras.layers
    model = keras.Sequential(
        [
            Input(shape=(8, 8, 2)),
            layers.SeparableConv2D(4, 3, depth_multiplier=2, padding="same"),
            layers.DepthwiseConv2D(3, depth_multiplier=2),
            layers.Conv2DTranspose(3, 3, strides=2),
            layers.PReLU(shared_axes=[1, 2]),
            layers.LayerNormalization(),
            layers.Reshape((-1, 3)),
            layers.Conv1D(2, 3),
            layers.GlobalAveragePooling1D(),
        ]
    )
    path = tmp_path / "newer.keras"
    save_old_format(model, path)
    x = np.random.default_rng(0).random((2, 8, 8, 2), dtype=np.float32)
    np.testing.assert_allclose(saving.load_model(path).predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    rewrite_json(path, "config.json", _set_layer(1, depth_multiplier=10**7))
    assert refused(path, r"config.json describes a model of \d+ weight values, but the file holds \d+") < 8 * MIB
    save_old_format(model, path)
    rewrite_json(path, "config.json", _set_layer(3, strides=[2**20, 2**20]))
    refused(path, "the output of layer 'conv2d_transpose' would take")


@pytest.mark.parametrize("dtype", ["U200000000", "V2000000000", "S400000000", "object", ["a", "U9"]])
def test_arrays_in_a_config_hold_numbers_only(tmp_path, dtype):
    model = keras.Sequential([Input(shape=(3,)), keras.layers.Rescaling(np.array([0.5, 1.0, 2.0], np.float32))])
    path = tmp_path / "rescaling.keras"
    save_old_format(model, path)
    entry = {"class_name": "__numpy__", "config": {"value": [1, 2, 3], "dtype": dtype}}
    rewrite_json(path, "config.json", _set_layer(1, scale=entry))
    assert refused(path, "cannot be rebuilt: A __numpy__ entry must hold numbers or booleans") < MIB


def test_the_working_memory_of_one_sample_is_bounded_by_max_bytes(saved):
    _, path = saved
    rewrite_json(path, "config.json", _set_layer(1, dilation_rate=[2**10, 2**10]))
    # 'same' padding pads each 8x8 image to 2056x2056: 16 MiB of float32 for one sample
    refused(path, r"padded input of layer 'conv2d' would take 16908544 bytes .*max_bytes=8388608", max_bytes=8 * MIB)
    assert saving.load_model(path, max_bytes=32 * MIB).layers[0].dilation_rate == (1024, 1024)


def test_weights_listed_in_metadata_must_be_in_the_file(saved):
    _, path = saved
    rewrite_json(path, "metadata.json", lambda m: {**m, "weights": [{**m["weights"][0], "shape": [10**8]}]})
    assert refused(path, r"metadata.json lists 400000000 bytes of weights, but weights.npz holds \d+ bytes") < MIB


def test_the_config_and_the_weights_must_agree_before_building(saved):
    _, path = saved
    rewrite_json(path, "config.json", _set_layer(4, use_bias=False))
    refused(path, "config.json describes a model of 232 weight values, but the file holds 235")


# ---- bombs and byte budgets -------------------------------------------------------------------------------


def test_members_no_loader_needs_are_never_read(saved):
    model, path = saved
    zeros, crc = deflate_with_zeros(b"", 3 * 1024)  # 3 GiB of zeros in 3 MB
    members = unpack_zip(path.read_bytes()) + [Member(b"zeros.bin", zeros, 8, 0, crc, len(zeros), 3 * GIB)]
    path.write_bytes(pack_zip(members))
    tracemalloc.start()
    try:
        assert_loads_the_same(model, path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * MIB


@pytest.mark.parametrize(
    ("name", "declared", "message"),
    [
        ("weights.npz", 3 * GIB, (r"'weights.npz' in the archive declares 3221225472 bytes in \d+ compressed "
                                  r"ones, more than 100 times as many: a decompression bomb")),
        ("config.json", 1000, r"'config.json' in the archive is damaged .*Bad CRC-32"),
        ("metadata.json", 2**32 - 1, r"'metadata.json' in the archive declares 4294967295 bytes"),
    ],
)  # fmt: skip
def test_decompression_bombs_are_refused_before_they_expand(saved, name, declared, message):
    _, path = saved
    zeros, crc = deflate_with_zeros(b"", 1024)
    members = [
        Member(m.name, zeros, 8, 0, crc, len(zeros), declared) if m.name == name.encode() else m
        for m in unpack_zip(path.read_bytes())
    ]
    path.write_bytes(pack_zip(members))
    assert refused(path, message) < 4 * MIB


def test_a_bomb_inside_the_weights_archive_is_refused(saved):
    _, path = saved
    zeros, crc = deflate_with_zeros(b"\x93NUMPY", 1024)
    npz = [
        Member(m.name, zeros, 8, 0, crc, len(zeros), GIB + 6) if m.name == b"weight_0001.npy" else m
        for m in unpack_zip(read_member(path, "weights.npz"))
    ]
    rewrite(path, weights_npz=pack_zip(npz))
    assert refused(path, r"'weight_0001.npy' in weights.npz declares 1073741830 bytes .* decompression bomb") < 8 * MIB


def test_max_bytes_bounds_what_is_read(tmp_path):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([Input(shape=(100,)), Dense(1000)])
    path = tmp_path / "wide.keras"
    save_old_format(model, path)
    weights_size = len(read_member(path, "weights.npz"))
    refused(path, r"'weights.npz' in the archive declares 404\d{3} bytes, more than the \d+ bytes left of the limit "
            r"max_bytes=300000 \(pass a larger max_bytes if the file is trusted\)", max_bytes=300_000)  # fmt: skip
    config_size = len(read_member(path, "config.json"))
    assert len(read_member(path, "metadata.json")) < config_size
    refused(path, rf"config.json declares {config_size} bytes of JSON, more than max_bytes / 128 = {config_size - 1}",
            max_bytes=128 * config_size - 1)  # fmt: skip
    x = np.random.default_rng(0).random((2, 100), dtype=np.float32)
    loaded = saving.load_model(path, max_bytes=2 * weights_size)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    with pytest.raises(ValueError, match="load_model: max_bytes must be an int >= 0; received max_bytes=-1"):
        saving.load_model(path, max_bytes=-1)


# ---- weights files ---------------------------------------------------------------------------------------------


def test_a_weights_file_with_fewer_weights_than_the_model_is_refused_and_changes_nothing(tmp_path):
    """Issue 26, item 2: the stored weights are a prefix of the model's, with the same shapes,
    so only the count tells them apart (the test of more weights is in test_saving.py)."""
    keras.utils.set_random_seed(3)
    shorter = keras.Sequential([Input(shape=(3,)), Dense(2)])
    save_weights_old_format(shorter, tmp_path / "short.weights")
    longer = keras.Sequential([Input(shape=(3,)), Dense(2), Dense(2)])
    before = longer.get_weights()
    with pytest.raises(ModelFileError, match=r"short.weights'.*holds 2 weights but the model has 4"):
        longer.load_weights(tmp_path / "short.weights")
    for got, expected in zip(longer.get_weights(), before):
        np.testing.assert_array_equal(got, expected)


def test_load_weights_refuses_a_file_whose_weights_are_not_in_it(saved, tmp_path):
    model, _ = saved
    path = tmp_path / "w.weights"
    save_weights_old_format(model, path)
    rewrite_json(path, "metadata.json", lambda m: {**m, "weights": [{**e, "shape": [10**6] * len(e["shape"])}
                                                                    for e in m["weights"]]})  # fmt: skip
    fresh = small_cnn()
    refused(path, r"weight 0 \('conv2d/kernel'\) has shape \(1000000, 1000000, 1000000, 1000000\) in the file",
            load=fresh.load_weights)  # fmt: skip
