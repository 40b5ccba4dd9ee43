"""``tf.data``: in-memory and lazy input pipelines (``Dataset``), and TF's constants for them.

TF's file readers (``TFRecordDataset``, ``TextLineDataset``, ``list_files``) are
not part of cnnlab; ``Dataset.from_generator`` and ``Dataset.from_indexable`` read
anything Python can.
"""

import types

from .dataset import AUTOTUNE, INFINITE_CARDINALITY, UNKNOWN_CARDINALITY, Dataset


def _cardinality(dataset):
    """``dataset.cardinality()`` (TF's ``tf.data.experimental.cardinality``)."""
    return dataset.cardinality()


experimental = types.SimpleNamespace(
    AUTOTUNE=AUTOTUNE,
    INFINITE_CARDINALITY=INFINITE_CARDINALITY,
    UNKNOWN_CARDINALITY=UNKNOWN_CARDINALITY,
    cardinality=_cardinality,
)

__all__ = ["AUTOTUNE", "INFINITE_CARDINALITY", "UNKNOWN_CARDINALITY", "Dataset", "experimental"]
