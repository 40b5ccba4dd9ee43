"""Flatten and rebuild nested structures of lists, tuples and dicts (``tf.nest``, the part we use)."""


def flatten(structure):
    """The leaves of ``structure`` in order; dicts are walked in sorted key order."""
    if isinstance(structure, dict):
        return [leaf for key in sorted(structure) for leaf in flatten(structure[key])]
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in flatten(item)]
    return [structure]


def pack_sequence_as(structure, flat):
    """Rebuild ``structure`` with the leaves taken in order from ``flat``."""
    return _rebuild(structure, iter(flat))


def _rebuild(node, leaves):
    # A module-level function, not a closure calling itself: that closure would be a reference cycle holding
    # ``flat`` (a dataset's whole batch) until the cyclic garbage collector happened to run.
    if isinstance(node, dict):
        return {key: _rebuild(node[key], leaves) for key in sorted(node)}
    if isinstance(node, (list, tuple)):
        items = [_rebuild(item, leaves) for item in node]
        return type(node)(*items) if hasattr(node, "_fields") else type(node)(items)
    return next(leaves)
