"""The examples in cnnlab.signal's docstrings run and print what they say."""

import doctest
import importlib

import numpy as np
import pytest


@pytest.mark.parametrize("name", ["cnnlab.signal", "cnnlab.signal._convolve"])
def test_docstring_examples(name):
    result = doctest.testmod(
        importlib.import_module(name), extraglobs={"np": np}, optionflags=doctest.NORMALIZE_WHITESPACE
    )
    assert result.attempted > 0 and result.failed == 0
