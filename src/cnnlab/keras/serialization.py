"""The one serializer of Keras objects, in Keras 3's schema (``keras/src/saving/serialization_lib.py``).

Every object becomes ``{"module", "class_name", "config", "registered_name"}``, plus
``"build_config"`` for a built layer and ``"compile_config"`` for a compiled model:

    >>> serialize_keras_object(keras.layers.Dense(3))["module"], ...["class_name"]
    ('keras.layers', 'Dense')

cnnlab's own classes are written under the Keras modules that export them
(``keras.layers``, ``keras.optimizers``, ...; a functional model under
``keras.src.models.functional``), so the configs read the same in Keras.  Your
own classes and functions are written under their Python module with their
registered name (``"package>Name"`` after ``@register_keras_serializable``, else
the class name), and found again on loading through, in this order: the
innermost ``custom_object_scope``, the registry, then ``custom_objects``.
NumPy arrays and tensors are written as Keras's ``__numpy__`` / ``__tensor__``
entries.  A Python ``lambda`` is written as Keras writes it (its bytecode), but
never loaded: cnnlab runs no code read from a file.

``model.to_json()``, ``keras.models.model_from_json``, ``keras.layers.serialize`` /
``deserialize``, ``Model.from_config`` and the model files (``config.json``) all
go through ``serialize_keras_object`` / ``deserialize_keras_object``.

cnnlab's own classes and functions are found by name in the tables their packages fill
as they are imported (``note_builtin_namespace``, ``note_builtin_functions``), so that
this module, which every Keras module uses, imports none of them.

State: those tables, filled at import; the registry of ``register_keras_serializable``
and the stack of open ``custom_object_scope`` blocks, filled only by the program's own calls.
"""

import codecs
import contextlib
import inspect
import marshal
import re
import types

import numpy as np

from ..tensor import Tensor, constant

# The classes each of cnnlab's Keras packages exports, by package and exported name
# (aliases included), and its activations, loss and metric functions by kind and name;
# filled as the packages load.
_builtin_classes = {}
_builtin_functions = {"activation": {}, "loss": {}, "metric": {}}
# "package>name" -> class or function, and back: filled by register_keras_serializable.
_registered_objects = {}
_registered_names = {}
# The dicts of the open custom_object_scope blocks, innermost last.
_scopes = []

# Where Keras exports what cnnlab defines: cnnlab module prefix -> Keras module.
_KERAS_MODULES = (
    ("cnnlab.keras.layers", "keras.layers"),
    ("cnnlab.keras.models.functional", "keras.src.models.functional"),
    ("cnnlab.keras.models", "keras"),
    ("cnnlab.keras.optimizers.schedules", "keras.optimizers.schedules"),
    ("cnnlab.keras.optimizers", "keras.optimizers"),
    ("cnnlab.keras.losses", "keras.losses"),
    ("cnnlab.keras.metrics", "keras.metrics"),
    ("cnnlab.keras.initializers", "keras.initializers"),
    ("cnnlab.keras.regularizers", "keras.regularizers"),
    ("cnnlab.keras.constraints", "keras.constraints"),
    ("cnnlab.keras.activations", "keras.activations"),
)


# The cnnlab packages searched for a class written under a Keras module (None: cnnlab's
# older files, which name no module), in order.
_PACKAGES_OF_KERAS_MODULE = {
    "keras.layers": ("cnnlab.keras.layers",),
    "keras": ("cnnlab.keras.models", "cnnlab.keras.layers"),
    "keras.models": ("cnnlab.keras.models",),
    "keras.src.models.functional": ("cnnlab.keras.models",),
    "keras.src.models.sequential": ("cnnlab.keras.models",),
    "keras.src.models.model": ("cnnlab.keras.models",),
    "keras.optimizers": ("cnnlab.keras.optimizers",),
    "keras.optimizers.schedules": ("cnnlab.keras.optimizers.schedules",),
    "keras.losses": ("cnnlab.keras.losses",),
    "keras.metrics": ("cnnlab.keras.metrics",),
    "keras.initializers": ("cnnlab.keras.initializers",),
    "keras.regularizers": ("cnnlab.keras.regularizers",),
    "keras.constraints": ("cnnlab.keras.constraints",),
    None: ("cnnlab.keras.layers", "cnnlab.keras.models"),
}


def to_snake_case(name):
    """Keras's automatic layer names: ``Conv2D`` -> ``conv2d``, ``MaxPooling2D`` -> ``max_pooling2d``."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


# ---- cnnlab's own classes and functions ----------------------------------------------------------


def note_builtin_namespace(package, namespace):
    """Make the classes a package exports (its ``namespace``, aliases included) findable by the
    names they are exported under, when a config names them (called at the end of each package)."""
    _builtin_classes[package] = {name: value for name, value in namespace.items() if inspect.isclass(value)}


def note_builtin_functions(kind, namespace):
    """Make the public functions of a module's ``namespace`` findable by name: ``kind`` is
    'activation', 'loss' or 'metric' (searched in that order)."""
    table = _builtin_functions[kind]
    for name, value in namespace.items():
        if not name.startswith("_") and callable(value) and not inspect.isclass(value):
            table.setdefault(name, value)


def builtin_class(class_name, keras_module):
    """The class of cnnlab's called ``class_name`` under ``keras_module`` (a Keras module name,
    or None for cnnlab's older files), or None."""
    if keras_module in _PACKAGES_OF_KERAS_MODULE:
        packages = _PACKAGES_OF_KERAS_MODULE[keras_module]
    elif keras_module.startswith("keras.src.backend.") and "optimizers" in keras_module:  # backend-specific optimizers
        packages = ("cnnlab.keras.optimizers",)
    else:
        return None
    for package in packages:
        found = _builtin_classes.get(package, {}).get(class_name)
        if found is not None:
            return found
    return None


def model_class(name):
    """cnnlab's ``"Model"``, ``"Sequential"`` or ``"Functional"`` class, for the modules below the
    models (saving, the file formats, the exporter), which the models use and so cannot import."""
    return builtin_class(name, "keras.src.models.functional" if name == "Functional" else "keras")


def object_from_identifier(identifier, by_name, kind, expected):
    """What ``keras.regularizers.get`` and ``keras.constraints.get`` return for ``identifier``: None for
    None; for a name in ``by_name`` or a class, an instance with default arguments; for a serialized
    dict, the object it describes; any other callable as it is.

    Raises:
        ValueError: naming the ``kind`` and what was ``expected``.
    """
    if identifier is None:
        return None
    found = identifier
    if isinstance(identifier, dict):
        found = deserialize_keras_object(identifier, module_objects=by_name)
    elif isinstance(identifier, str):
        found = by_name.get(identifier)
    if inspect.isclass(found):
        found = found()
    if not callable(found):
        raise ValueError(f"Could not interpret {kind} identifier: {identifier!r} (expected {expected}).")
    return found


# ---- registration and scopes ------------------------------------------------------------------


def register_keras_serializable(package="Custom", name=None):
    """Decorator: make a class or function serializable under ``"package>name"``
    (``keras.saving.register_keras_serializable``).

    Args:
        package: the first part of the registered name.
        name: the second part; the object's ``__name__`` by default.

    Example:
        >>> @register_keras_serializable(package="my_layers")
        ... class Scale(keras.layers.Layer):
        ...     ...
        >>> get_registered_name(Scale)
        'my_layers>Scale'
    """
    if not isinstance(package, str) or not package:
        raise ValueError(f"register_keras_serializable: package must be a non-empty string; received {package!r}.")

    def decorator(obj):
        registered_name = f"{package}>{name if name is not None else obj.__name__}"
        if inspect.isclass(obj) and not hasattr(obj, "get_config"):
            raise ValueError(
                f"register_keras_serializable: cannot register {obj.__name__}, a class without a get_config() method."
            )
        _registered_objects[registered_name] = obj
        _registered_names[obj] = registered_name
        return obj

    return decorator


def get_registered_name(obj):
    """The name ``obj`` is registered under, or its ``__name__`` when it is not registered."""
    return _registered_names.get(obj, obj.__name__)


def get_registered_object(name, custom_objects=None, module_objects=None):
    """The class or function known as ``name``: from the open ``custom_object_scope``
    blocks (innermost first), the registry, ``custom_objects``, then ``module_objects``; or None."""
    for scope in reversed(_scopes):
        if name in scope:
            return scope[name]
    if name in _registered_objects:
        return _registered_objects[name]
    for table in (custom_objects, module_objects):
        if table and name in table:
            return table[name]
    return None


def get_custom_objects():
    """The registry of ``register_keras_serializable``, ``{"package>name": object}`` (a copy)."""
    return dict(_registered_objects)


@contextlib.contextmanager
def custom_object_scope(*custom_objects):
    """Within the block, these ``{name: class_or_function}`` dicts are searched when loading
    models and layers (``keras.utils.custom_object_scope``).

    Example:
        >>> with custom_object_scope({"Scale": Scale}):
        ...     model = keras.models.model_from_json(text)
    """
    merged = {}
    for table in custom_objects:
        if table is None:
            continue
        if not isinstance(table, dict):
            raise TypeError(f"custom_object_scope: expected dicts of name -> object; received {table!r}.")
        merged.update(table)
    _scopes.append(merged)
    try:
        yield merged
    finally:
        _scopes.remove(merged)


CustomObjectScope = custom_object_scope


def _lookup_tables(custom_objects):
    """Every name visible now, the innermost scope winning (for APIs that take a dict)."""
    tables = {**(custom_objects or {}), **_registered_objects}
    for scope in _scopes:
        tables.update(scope)
    return tables


# ---- serializing ----------------------------------------------------------------------------------


def serialize_keras_object(obj):
    """``obj`` as JSON-ready data in Keras 3's schema (see the module docstring).

    Plain values, lists and dicts are kept (their contents serialized); NumPy arrays,
    tensors, functions and objects with ``get_config`` become ``{"class_name", "config", ...}`` dicts.
    """
    if obj is None or isinstance(obj, (str, bool, int, float)):
        return obj
    if isinstance(obj, (list, tuple)):
        return [serialize_keras_object(item) for item in obj]
    if isinstance(obj, dict):
        return {key: serialize_keras_object(value) for key, value in obj.items()}
    if isinstance(obj, np.ndarray) and obj.ndim > 0:
        return {"class_name": "__numpy__", "config": {"value": obj.tolist(), "dtype": obj.dtype.name}}
    if isinstance(obj, (np.generic, np.ndarray)):
        return obj.item()
    if isinstance(obj, Tensor):
        return {"class_name": "__tensor__", "config": {"value": obj._value.tolist(), "dtype": obj.dtype.name}}
    if isinstance(obj, bytes):
        return {"class_name": "__bytes__", "config": {"value": obj.decode("utf-8")}}
    if isinstance(obj, types.FunctionType) and obj.__name__ == "<lambda>":
        return {"class_name": "__lambda__", "config": {"value": _function_dump(obj)}}
    if isinstance(obj, types.FunctionType) or (callable(obj) and not hasattr(obj, "get_config")):
        return serialize_function(obj)
    if not hasattr(obj, "get_config"):
        raise TypeError(
            f"Cannot serialize {obj!r} of type {type(obj).__name__}: to be serializable, a class must implement "
            "get_config()."
        )
    config = obj.get_config()
    if not isinstance(config, dict):
        raise TypeError(f"The get_config() method of {obj!r} should return a dict; it returned {config!r}.")
    cls = type(obj)
    keras_module = _keras_module(cls)
    serialized = {
        "module": keras_module or cls.__module__,
        "class_name": cls.__name__,
        "config": serialize_keras_object(config),
        "registered_name": None if keras_module else get_registered_name(cls),
    }
    build_config = _build_config(obj)
    if build_config is not None:
        serialized["build_config"] = build_config
    compile_config = _compile_config(obj)
    if compile_config is not None:
        serialized["compile_config"] = compile_config
    return serialized


def serialize_layer(layer):
    """A layer or model in Keras 3's schema (``serialize_keras_object``):
    ``{"module", "class_name", "config", "registered_name", "build_config"}``.

    The build config (as in Keras 3) lets a layer or model whose config does not
    say its input shape (a subclassed model) be built, so its weights exist to be
    loaded.  The compile settings are left out: a model file keeps its own.
    """
    serialized = serialize_keras_object(layer)
    serialized.pop("compile_config", None)
    return serialized


def deserialize_layer(config, custom_objects=None):
    """The layer (or model) ``serialize_layer`` described (also cnnlab's older ``{"class_name", "config"}``
    dicts); ``custom_objects`` maps names of your own classes."""
    if (
        not isinstance(config, dict)
        or not isinstance(config.get("class_name"), str)
        or not isinstance(config.get("config"), dict)
    ):
        raise ValueError(
            f"a layer must be described as {{'class_name': str, 'config': dict}}; found {str(config)[:200]}."
        )
    return deserialize_keras_object({k: v for k, v in config.items() if k != "compile_config"}, custom_objects)


def serialize_function(fn):
    """A function as Keras writes one: ``{"module": "builtins", "class_name": "function",
    "config": <registered name or name>, "registered_name": "function"}``; a lambda as its bytecode."""
    if isinstance(fn, types.FunctionType) and fn.__name__ == "<lambda>":
        code, defaults, closure = _function_dump(fn)
        return {"class_name": "__lambda__", "config": {"code": code, "defaults": defaults, "closure": closure}}
    name = getattr(fn, "__name__", None)
    if name is None:
        raise TypeError(f"Cannot serialize {fn!r}: it is neither a named function nor an object with get_config().")
    return {
        "module": "builtins",
        "class_name": "function",
        "config": get_registered_name(fn),
        "registered_name": "function",
    }


def _function_dump(fn):
    """Keras's ``func_dump``: (base64 marshal of the code, defaults, closure values)."""
    code = codecs.encode(marshal.dumps(fn.__code__), "base64").decode("ascii")
    closure = tuple(cell.cell_contents for cell in fn.__closure__) if fn.__closure__ else None
    return code, fn.__defaults__, closure


def _keras_module(cls):
    """The Keras module exporting a class cnnlab defines (None for a class of the program's own)."""
    for prefix, keras_module in _KERAS_MODULES:
        if cls.__module__ == prefix or cls.__module__.startswith(prefix + "."):
            return keras_module
    return None


def _build_config(obj):
    """A built layer's input shape (layers alone keep ``_build_input_shape``)."""
    if getattr(obj, "built", False) and getattr(obj, "_build_input_shape", None) is not None:
        return {"input_shape": list(obj._build_input_shape)}
    return None


def _compile_config(obj):
    """A compiled model's compile settings (models alone have ``compiled``)."""
    if getattr(obj, "compiled", False) is not True:
        return None
    settings = obj._compile_settings
    return {
        "optimizer": serialize_keras_object(obj.optimizer),
        "loss": serialize_keras_object(obj.loss),
        "loss_weights": serialize_keras_object(settings["loss_weights"]),
        "metrics": serialize_keras_object(settings["metrics"]),
        "weighted_metrics": serialize_keras_object(settings["weighted_metrics"]),
        "run_eagerly": False,
        "steps_per_execution": 1,
        "jit_compile": False,
    }


# ---- deserializing -------------------------------------------------------------------------------


def deserialize_keras_object(config, custom_objects=None, safe_mode=True, **kwargs):
    """The object ``serialize_keras_object`` described (``keras.saving.deserialize_keras_object``).

    Args:
        config: what ``serialize_keras_object`` returned (also cnnlab's older
            ``{"class_name", "config"}`` layer dicts).
        custom_objects: ``{name: class_or_function}`` for your own classes and functions.
        safe_mode: accepted for Keras's signature; lambdas are refused either way.
        module_objects: ``{name: object}`` searched after the others (a module's own names).

    Raises:
        ValueError: for a class or function that cannot be found (naming it and how
            to provide it) or a lambda.
    """
    module_objects = kwargs.pop("module_objects", None)
    if kwargs:
        raise TypeError(f"deserialize_keras_object: unexpected keyword arguments {sorted(kwargs)}.")
    if config is None or isinstance(config, (bool, int, float)):
        return config
    if isinstance(config, str):
        found = get_registered_object(config, custom_objects, module_objects)
        return config if found is None else found
    if isinstance(config, (list, tuple)):
        return [
            deserialize_keras_object(item, custom_objects, safe_mode, module_objects=module_objects) for item in config
        ]
    if not isinstance(config, dict):
        raise TypeError(f"deserialize_keras_object: cannot parse {config!r}.")
    if "class_name" not in config or "config" not in config:
        return {
            key: deserialize_keras_object(value, custom_objects, safe_mode, module_objects=module_objects)
            for key, value in config.items()
        }
    class_name, inner = config["class_name"], config["config"]
    special = _SPECIAL.get(class_name)
    if special is not None:
        return special(inner if inner is not None else {})
    if class_name == "function":
        return deserialize_function(config, custom_objects, "function", module_objects)
    cls = _find_class(config, custom_objects, module_objects)
    if isinstance(cls, types.FunctionType):
        return cls
    if not hasattr(cls, "from_config"):
        raise TypeError(f"Cannot rebuild {class_name!r}: the class has no from_config() method.")
    arguments = keras_arguments(cls, dict(inner or {}))
    with custom_object_scope(custom_objects or {}):
        instance = _from_config(cls, _resolved_layer_arguments(cls, arguments, custom_objects), custom_objects)
        build_config = config.get("build_config")
        if (
            isinstance(build_config, dict)
            and build_config.get("input_shape") is not None
            and not getattr(instance, "built", True)
        ):
            input_shape = tuple(build_config["input_shape"])
            instance.build(input_shape)
        compile_config = config.get("compile_config")
        if compile_config:
            compile_from_config(instance, compile_config, custom_objects)
    return instance


def deserialize_function(config, custom_objects=None, what="function", module_objects=None):
    """The function a ``serialize_function`` entry (or a bare name) describes.

    Searched by name in the scopes, the registry and ``custom_objects``, then among
    Keras's built-in activations, losses and metrics.  A lambda is refused.
    """
    if callable(config):
        return config
    if isinstance(config, dict) and config.get("class_name") == "__lambda__":
        raise ValueError(
            f"Cannot load this {what}: it is a Python lambda, saved as bytecode, and cnnlab never runs code read "
            "from a file. Define the function with `def`, register it with "
            "@keras.saving.register_keras_serializable() or pass it in custom_objects, and save again."
        )
    name = config.get("config") if isinstance(config, dict) else config
    if not isinstance(name, str):
        raise ValueError(f"Cannot load this {what}: expected a function name; found {config!r}.")
    found = get_registered_object(name, custom_objects, module_objects)
    if found is None and ">" in name:
        found = get_registered_object(name.split(">", 1)[1], custom_objects, module_objects)
    if found is None:
        found = _builtin_function(name)
    if found is None:
        raise ValueError(
            f"Unknown {what} {name!r}. If it is your own function, pass it in "
            f"custom_objects={{{name!r}: {name.split('>')[-1]}}}, "
            "open a keras.utils.custom_object_scope, or register it with @keras.saving.register_keras_serializable()."
        )
    return found


def _builtin_function(name):
    for table in _builtin_functions.values():  # activations, then losses, then metrics
        if name in table:
            return table[name]
    return None


def _find_class(config, custom_objects, module_objects):
    class_name = config["class_name"]
    registered_name = config.get("registered_name") or class_name
    found = get_registered_object(registered_name, custom_objects, module_objects)
    if found is None and registered_name != class_name:
        found = get_registered_object(class_name, custom_objects, module_objects)
    if found is not None:
        return found
    module = config.get("module")
    found = builtin_class(class_name, module)
    if found is not None:
        return found
    if isinstance(module, str) and (module == "keras" or module.startswith("keras.")):
        raise ValueError(
            f"cnnlab does not have {class_name!r} ({module}.{class_name}), which this config uses; it can only "
            "load models made of the layers, initializers, optimizers, losses and metrics it has."
        )
    raise ValueError(
        f"Unknown class {class_name!r} (module {config.get('module')!r}). If it is your own class, pass "
        f"custom_objects={{{class_name!r}: {class_name}}}, open a keras.utils.custom_object_scope, or register it "
        "with @keras.saving.register_keras_serializable()."
    )


# Config keys of Keras for features cnnlab does not have, with the values that mean the feature
# is not used (_ANY: none of its values has an effect cnnlab could honour or would miss).
_ANY = object()
_KERAS_ONLY_DEFAULTS = {
    **dict.fromkeys(("sparse", "ragged", "optional", "renorm", "use_ema", "is_legacy_optimizer"), (False,)),
    **dict.fromkeys(("pad_to_aspect_ratio", "crop_to_aspect_ratio", "antialias"), (False,)),
    **dict.fromkeys(
        (
            "quantization_config",
            "lora_rank",
            "lora_alpha",
            "renorm_clipping",
            "noise_shape",
            "ignore_class",
            "input_axes",
            "output_axes",
            "ema_overwrite_frequency",
            "loss_scale_factor",
            "gradient_accumulation_steps",
            "moving_mean_constraint",
            "moving_variance_constraint",
        ),
        (None,),
    ),
    "groups": (1,),
    "data_format": ("channels_last", None),
    "autocast": (True,),
    # Only read when their switch (renorm, use_ema) is on; jit_compile and a layer's seed
    # steer Keras's own compiler and random streams.
    **dict.fromkeys(("renorm_momentum", "ema_momentum", "jit_compile", "seed"), _ANY),
}


def keras_arguments(cls, config):
    """A config written by Keras made fit for one of cnnlab's own classes.

    A DTypePolicy dict becomes its dtype name (also for your own classes).  For a
    class cnnlab defines, a key its constructor does not take is dropped when it is
    one of Keras's for a feature cnnlab lacks, set to the value that leaves the
    feature off (``kernel_regularizer=None``, ``renorm=False``, ``groups=1``...);
    set otherwise, it is an error naming it.  Other unknown keys are left for the
    constructor to refuse.

    Raises:
        ValueError: the config turns on a Keras feature cnnlab does not have.
    """
    dtype = config.get("dtype")
    if isinstance(dtype, dict) and dtype.get("class_name") in ("DTypePolicy", "FloatDTypePolicy"):
        config["dtype"] = (dtype.get("config") or {}).get("name")
    if not inspect.isclass(cls) or not cls.__module__.startswith("cnnlab."):
        return config
    accepted = _constructor_arguments(cls)
    if accepted is None:
        return config
    for key in [key for key in config if key not in accepted and key in _KERAS_ONLY_DEFAULTS]:
        neutral = _KERAS_ONLY_DEFAULTS[key]
        value = config[key]
        if neutral is not _ANY and not any(value == off and type(value) is type(off) for off in neutral):
            raise ValueError(
                f"{cls.__name__}: the config sets {key}={str(config[key])[:200]}, a Keras feature cnnlab does not "
                f"have (it reads {key}={neutral[0]!r} only)."
            )
        del config[key]
    return config


def _constructor_arguments(cls):
    """The keyword arguments ``cls(...)`` accepts (following ``**kwargs`` up the bases), or None when unknown."""
    accepted = set()
    for klass in cls.__mro__:
        if klass is object:  # cnnlab's base classes take **kwargs only to refuse unknown ones
            return accepted
        if "__init__" not in vars(klass):
            continue
        try:
            parameters = inspect.signature(vars(klass)["__init__"]).parameters.values()
        except (TypeError, ValueError):
            return None
        accepted.update(p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
        if not any(p.kind is p.VAR_KEYWORD for p in parameters):
            return accepted
    return None


def _resolved_layer_arguments(cls, arguments, custom_objects):
    """A layer's activation named in its config, found among custom objects when it is not built in
    (a built-in name is left for the layer to resolve, as it resolves the names it is given)."""
    if inspect.isclass(cls) and "activation" in arguments:
        activation = arguments["activation"]
        if isinstance(activation, dict):
            arguments["activation"] = deserialize_function(activation, custom_objects, "activation")
        elif isinstance(activation, str):
            found = get_registered_object(activation, custom_objects)
            if found is not None:
                arguments["activation"] = found
    return arguments


def _from_config(cls, arguments, custom_objects):
    from_config = cls.from_config
    try:
        if "custom_objects" in inspect.signature(from_config).parameters:
            return from_config(arguments, custom_objects=custom_objects)
        return from_config(arguments)
    except TypeError as error:
        raise ValueError(
            f"Cannot rebuild {cls.__name__} from its config ({error}). A class whose __init__ takes other arguments "
            "than its get_config() gives must implement from_config()."
        ) from None


def compile_from_config(model, compile_config, custom_objects=None):
    """Compile ``model`` as a Keras 3 ``compile_config`` describes (optimizer, loss, metrics)."""

    def resolve(entry, what):
        if isinstance(entry, dict) and entry.get("class_name") == "function":
            return deserialize_function(entry, custom_objects, what)
        if isinstance(entry, dict) and "class_name" in entry:
            return deserialize_keras_object(entry, custom_objects)
        if isinstance(entry, dict):  # one entry per output, by name
            return {key: resolve(value, what) for key, value in entry.items()}
        if isinstance(entry, list):
            return [resolve(value, what) for value in entry]
        return entry

    optimizer = resolve(compile_config.get("optimizer"), "optimizer")
    model.compile(
        optimizer="rmsprop" if optimizer is None else optimizer,
        loss=resolve(compile_config.get("loss"), "loss"),
        loss_weights=compile_config.get("loss_weights"),
        metrics=resolve(compile_config.get("metrics"), "metric"),
        weighted_metrics=resolve(compile_config.get("weighted_metrics"), "metric"),
    )


def _numpy_value(config):
    """A ``__numpy__`` entry's array: numbers or booleans only (a string or void dtype read
    from a file could ask for gigabytes per element)."""
    dtype = config["dtype"]
    if not isinstance(dtype, str) or np.dtype(dtype).kind not in "biufc":
        raise ValueError(f"A __numpy__ entry must hold numbers or booleans; found dtype {str(dtype)[:100]!r}.")
    return np.array(config["value"], dtype=dtype)


_SPECIAL = {
    "__numpy__": _numpy_value,
    "__tensor__": lambda config: constant(config["value"], dtype=config["dtype"]),
    "__bytes__": lambda config: config["value"].encode("utf-8"),
    "__lambda__": lambda config: deserialize_function({"class_name": "__lambda__"}),
}
