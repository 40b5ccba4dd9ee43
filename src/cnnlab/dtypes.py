"""dtypes: cnnlab uses NumPy dtypes directly, under TensorFlow's names.

``tf.float32`` is ``np.dtype('float32')``, so ``x.dtype == tf.float32`` and
``np.zeros(3, dtype=tf.float32)`` both work.  ``as_dtype`` accepts what TF accepts:
a dtype, a NumPy type, a name, or the Python types ``float`` (float32), ``int``
(int32), ``bool`` and ``complex`` (complex128).
"""

import numpy as np

float16 = half = np.dtype("float16")
float32 = np.dtype("float32")
float64 = double = np.dtype("float64")
int8 = np.dtype("int8")
int16 = np.dtype("int16")
int32 = np.dtype("int32")
int64 = np.dtype("int64")
uint8 = np.dtype("uint8")
uint16 = np.dtype("uint16")
uint32 = np.dtype("uint32")
uint64 = np.dtype("uint64")
bool_ = np.dtype("bool")
complex64 = np.dtype("complex64")
complex128 = np.dtype("complex128")
string = np.dtype("O")

_PYTHON_TYPES = {float: float32, int: int32, bool: bool_, complex: complex128}


def as_dtype(type_value, context="as_dtype"):
    """Return the NumPy dtype for ``type_value`` (TF rules for Python types); ``context`` names the caller in errors."""
    if type_value in _PYTHON_TYPES:
        return _PYTHON_TYPES[type_value]
    try:
        return np.dtype(type_value)
    except TypeError:
        raise TypeError(f"{context}: cannot convert {type_value!r} to a dtype; received dtype={type_value!r}.") from None


def is_floating(dtype):
    return np.dtype(dtype).kind == "f"


def is_differentiable(dtype):
    """Gradients flow only through floating and complex tensors, as in TF."""
    return np.dtype(dtype).kind in "fc"
