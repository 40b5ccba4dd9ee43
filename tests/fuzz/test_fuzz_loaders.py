"""The file loaders fuzzed in the suite: 1,000 structure-aware mutants per file family.

Each family runs in a child process under an address-space limit (see
``loader_fuzz.py``, which also runs alone: ``scripts/fuzz-loaders`` loads 10,000 per
family).  Every mutant must load, or fail with the family's documented error naming
the file; every mutator class must be drawn, and must reach the loaders' checks (but
``h5-data``, whose flipped weights must load).
"""

import loader_fuzz
import pytest

FILES = 1000
SEED = 17
# Mutator classes whose files must load: HDF5 keeps no checksum of a dataset's data, so a
# flipped bit there is a weight with another value, which nothing can tell from a real one.
LOAD_WITH_THE_CHANGE = {"h5-data"}


@pytest.mark.parametrize("family", sorted(loader_fuzz.FAMILIES))
def test_every_mutant_loads_or_fails_with_the_documented_error(family):
    tallies = loader_fuzz.run_family(family, FILES, SEED, timeout=300)
    table = loader_fuzz.format_table(family, tallies)
    assert sum(t.escapes for t in tallies.values()) == 0, table
    classes = loader_fuzz.FAMILIES[family]().mutators()
    assert sorted(tallies) == sorted(classes), table
    assert sum(t.files for t in tallies.values()) == FILES, table
    for kind, tally in tallies.items():
        assert tally.files >= FILES // len(classes), (kind, table)
        if kind in LOAD_WITH_THE_CHANGE:
            assert tally.loaded == tally.files, (kind, table)
        else:
            assert tally.documented >= tally.files // 3, (kind, table)  # the mutants do reach the checks
