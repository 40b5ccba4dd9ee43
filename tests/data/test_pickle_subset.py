"""The parser of CIFAR's pickles: the real files' layout read as pickle reads it, everything else refused unrun."""

import io
import os
import pickle
import pickletools
import struct
import tracemalloc

import numpy as np
import pytest
from standard_files import CIFAR10, CIFAR100, cifar_batch, python2_pickle

from cnnlab.datasets.pickle_subset import PickleSubsetError, read_pickle


def parse(blob, source="batch"):
    return read_pickle(io.BytesIO(blob), len(blob), source)


def assert_same_value(got, want):
    if isinstance(want, np.ndarray):
        assert isinstance(got, np.ndarray) and got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, want)
    elif isinstance(want, dict):
        assert isinstance(got, dict) and list(got) == list(want)
        for key in want:
            assert_same_value(got[key], want[key])
    elif isinstance(want, (list, tuple)):
        assert type(got) is type(want) and len(got) == len(want)
        for a, b in zip(got, want):
            assert_same_value(a, b)
    else:
        assert type(got) is type(want) and got == want


@pytest.mark.parametrize("layout", [CIFAR10, CIFAR100], ids=["cifar10", "cifar100"])
def test_the_python2_layout_reads_as_pickle_reads_it(layout):
    batch = cifar_batch(layout, 1200, np.random.default_rng(0))  # > 1000 labels: several APPENDS, LONG_BINPUT
    blob = python2_pickle(batch)
    assert blob.startswith(b"\x80\x02}q\x01(U\x04dataq\x02cnumpy.core.multiarray\n_reconstruct\nq\x03cnumpy\nndarray\n")
    pickletools.dis(blob, out=io.StringIO())  # well formed
    opcodes = {op.name for op, _, _ in pickletools.genops(blob)}
    assert {"LONG_BINPUT", "BINSTRING", "APPENDS", "REDUCE", "BUILD", "GLOBAL"} <= opcodes
    trusted = pickle.loads(blob, encoding="bytes")  # our own bytes: safe to unpickle as the oracle
    assert_same_value(parse(blob), trusted)
    assert_same_value(parse(blob), batch)


@pytest.mark.parametrize(
    "array",
    [
        np.arange(24, dtype=np.uint8).reshape(2, 3, 4),
        np.arange(6, dtype=np.int64).reshape(3, 2),
        np.linspace(-1, 1, 5, dtype=np.float32),
        np.array([True, False]),
        np.arange(4, dtype=">i4"),
        np.asfortranarray(np.arange(6, dtype=np.uint16).reshape(2, 3)),
        np.zeros((0, 3072), np.uint8),
    ],
    ids=["u1-3d", "i8", "f4", "bool", "big-endian", "fortran", "empty"],
)
def test_python3_protocol_2_arrays_and_values(array):
    value = {
        b"data": array,
        "text": "é",
        b"labels": [0, 255, 65535, -1, 2**31 - 1],
        b"none": None,
        b"pair": (True, False),
    }
    blob = pickle.dumps(value, protocol=2)
    assert_same_value(parse(blob), pickle.loads(blob))


def test_a_list_holding_itself_is_read():
    shared = [1]
    shared.append(shared)
    result = parse(pickle.dumps({b"a": shared, b"b": shared}, protocol=2))
    assert result[b"a"] is result[b"b"] and result[b"a"][1] is result[b"a"]


class _Gadget:
    def __init__(self, function, argument):
        self.function, self.argument = function, argument

    def __reduce__(self):
        return self.function, (self.argument,)


@pytest.mark.parametrize(("function", "name"), [(os.system, r"(posix|os)\.system"), (eval, r"__builtin__\.eval")])
def test_foreign_globals_are_refused_without_running(tmp_path, function, name):
    witness = tmp_path / "ran"
    argument = f"touch {witness}" if function is os.system else f"open({str(witness)!r}, 'w')"
    blob = pickle.dumps({b"data": _Gadget(function, argument)}, protocol=2)
    with pytest.raises(
        PickleSubsetError, match=rf"batch: the global {name} is not one CIFAR's pickles use .* \(at byte \d+\)"
    ):
        parse(blob)
    assert not witness.exists()


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (pickle.dumps({b"x": 1}, protocol=4), r"pickle protocol 4; CIFAR's files are protocol 2 or lower"),
        (b"\x80\x02G?\xf0\x00\x00\x00\x00\x00\x00.", r"opcode BINFLOAT \(0x47\) is not one CIFAR's pickles use"),
        (b"\x80\x02\xff.", r"opcode 0xff, not a pickle opcode"),
        (b"\x80\x02}q\x01", r"the data ends 1 bytes early|runs past the end"),
        (b"\x80\x02K\x01K\x02.", r"STOP with a stack of other than one value"),
        (b"\x80\x02h\x05.", r"a memo fetch of entry 5, never stored"),
        (b"\x80\x02cnumpy\nndarray\n)R.", r"REDUCE of numpy.ndarray, which is only an argument"),
        (b"\x80\x02cnumpy\ndtype\n.", r"holds a NumPy dtype, a global or an unfinished array as a value"),
        (pickle.dumps(np.array([1, "a"], dtype=object), protocol=2), r"'O8'|only arrays of numbers"),
        (pickle.dumps(np.array(["ab"]), protocol=2), r"only arrays of numbers"),
    ],
    ids=[
        "protocol-4",
        "binfloat",
        "not-an-opcode",
        "truncated",
        "two-values",
        "memo",
        "ndarray-call",
        "bare-dtype",
        "object-array",
        "string-array",
    ],
)
def test_other_opcodes_and_values_are_refused(blob, message):
    with pytest.raises(PickleSubsetError, match=message):
        parse(blob)


def test_a_length_beyond_the_file_is_refused_before_reading_or_allocating():
    blob = b"\x80\x02T" + struct.pack("<I", 2**31) + b"tiny"
    tracemalloc.start()
    try:
        with pytest.raises(
            PickleSubsetError, match=r"a length of 2147483648 bytes runs past the end of the data \(4 bytes left\)"
        ):
            parse(blob)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


def test_an_array_whose_data_does_not_fill_its_shape_is_refused():
    blob = bytearray(python2_pickle({b"data": np.zeros((2, 3), np.uint8)}))
    shape_at = blob.index(b"K\x01K\x02K\x03\x86")
    blob[shape_at + 5] = 4  # shape (2, 4): 8 bytes needed, 6 there
    with pytest.raises(PickleSubsetError, match=r"shape \(2, 4\) and dtype uint8 needs 8 bytes; its data has 6"):
        parse(bytes(blob))
