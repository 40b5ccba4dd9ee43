"""The examples in the core modules' docstrings run and print what they say."""

import doctest
import importlib
import sys

import numpy as np
import pytest

import cnnlab

MODULES = [
    "cnnlab.autodiff",
    "cnnlab.config",
    "cnnlab.data.dataset",
    "cnnlab.function",
    "cnnlab.image",
    "cnnlab.keras.ops",
    "cnnlab.keras.random",
    "cnnlab.module",
    "cnnlab.nn",
    "cnnlab.ops.array_ops",
    "cnnlab.ops.conv_ops",
    "cnnlab.ops.elementwise_ops",
    "cnnlab.ops.histogram_ops",
    "cnnlab.ops.indexing_ops",
    "cnnlab.ops.linalg_ops",
    "cnnlab.ops.math_ops",
    "cnnlab.ops.nn_ops",
    "cnnlab.ops.pool_ops",
    "cnnlab.ops.print_ops",
    "cnnlab.ops.reduction_ops",
    "cnnlab.ops.scan_ops",
    "cnnlab.ops.sort_ops",
    "cnnlab.random",
    "cnnlab.runtime",
    "cnnlab.runtime.memory",
    "cnnlab.runtime.threads",
    "cnnlab.tensor",
    "cnnlab.testing",
    "cnnlab.version",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(
        importlib.import_module(name),
        extraglobs={"cnnlab": cnnlab, "np": np, "sys": sys},
        optionflags=doctest.NORMALIZE_WHITESPACE,
    )
    assert result.attempted > 0 and result.failed == 0
