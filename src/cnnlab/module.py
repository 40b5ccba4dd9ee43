"""``tf.Module``: a named container whose variables and submodules are found by walking its attributes.

Nothing is registered when an attribute is set: ``variables``, ``trainable_variables``
and ``submodules`` walk the object's attributes (in sorted name order, looking into
lists, tuples and dicts), first the module's own, then each submodule's in turn,
each object once, as TF's ``Module._flatten`` does.

Example:
    >>> class Dense(cnnlab.Module):
    ...     def __init__(self, in_features, out_features, name=None):
    ...         super().__init__(name=name)
    ...         self.w = cnnlab.Variable(cnnlab.random.normal([in_features, out_features]), name="w")
    ...         self.b = cnnlab.Variable(cnnlab.zeros([out_features]), name="b")
    ...     def __call__(self, x):
    ...         return cnnlab.nn.relu(x @ self.w + self.b)
    >>> [v.name for v in Dense(3, 2).trainable_variables]
    ['b', 'w']
"""

import contextlib
import functools
import re

from .tensor import Variable

_NAME = re.compile(r"[A-Za-z_][\w.-]*\Z")


def _snake_case(name):
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


class Module:
    """Base class of models and layers built from ``tf.Variable``s (``tf.Module``).

    Args:
        name: the module's name (by default its class name in snake_case); it must
            be a valid Python identifier-like name, as TF requires.
    """

    def __init__(self, name=None):
        if name is None:
            name = _snake_case(type(self).__name__)
        elif not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(
                f"Module: {name!r} is not a valid module name; names start with a letter or '_' and hold "
                "letters, digits, '_', '.' and '-'."
            )
        self._name = name

    @property
    def name(self):
        return self._name

    @property
    def name_scope(self):
        """A context manager for the module's name scope (cnnlab keeps no scopes: it does nothing)."""
        return contextlib.nullcontext(self._name)

    @property
    def variables(self):
        """Every ``tf.Variable`` of this module and its submodules, each once."""
        return tuple(self._flatten(predicate=lambda leaf: isinstance(leaf, Variable)))

    @property
    def trainable_variables(self):
        """The trainable ``tf.Variable``s of this module and its submodules, each once."""
        return tuple(self._flatten(predicate=lambda leaf: isinstance(leaf, Variable) and leaf.trainable))

    @property
    def non_trainable_variables(self):
        return tuple(self._flatten(predicate=lambda leaf: isinstance(leaf, Variable) and not leaf.trainable))

    @property
    def submodules(self):
        """Every module reachable from this one's attributes (not itself), each once."""
        return tuple(self._flatten(predicate=lambda leaf: isinstance(leaf, Module)))

    def _flatten(self, recursive=True, predicate=None, with_path=False):
        """The attribute leaves (or ``(path, leaf)`` pairs) that satisfy ``predicate``, in TF's order."""
        predicate = predicate or (lambda leaf: True)
        return _walk(self, recursive, predicate, with_path, (), {id(self)}, [])

    @classmethod
    def with_name_scope(cls, method):
        """Decorator for methods that should run in the module's name scope (a no-op in cnnlab)."""

        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            return method(self, *args, **kwargs)

        return wrapper

    def __repr__(self):
        return f"<{type(self).__module__}.{type(self).__name__} object at {id(self):#x}>"


def _leaves(value, path):
    """``(path, leaf)`` for the leaves of nested lists, tuples and dicts (dict keys sorted)."""
    if isinstance(value, dict):
        for key in sorted(value, key=str):
            yield from _leaves(value[key], (*path, key))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    else:
        yield path, value


def _walk(module, recursive, predicate, with_path, module_path, seen, stack):
    submodules = []
    module_id = id(module)
    recursive = recursive and module_id not in stack  # a module that contains itself is walked once
    for key in sorted(vars(module)):
        for leaf_path, leaf in _leaves(vars(module)[key], (key,)):
            if not with_path:
                if id(leaf) in seen:
                    continue
                seen.add(id(leaf))
            if predicate(leaf):
                yield (module_path + leaf_path, leaf) if with_path else leaf
            if recursive and isinstance(leaf, Module):
                submodules.append((module_path + leaf_path, leaf))
    stack.append(module_id)
    for path, submodule in submodules:
        yield from _walk(submodule, recursive, predicate, with_path, path, seen, stack)
    stack.pop()
