"""``tf.config``: the devices a program may ask about, TF's switches that cnnlab accepts, and threads.

cnnlab runs on the CPU only, so the device lists hold one CPU; programs that look
for GPUs find none and go on, as they do under TF on a machine without one.
``tf.config.threading`` sets how many threads cnnlab's kernels use (``cnnlab.runtime``
has the default and the environment variable ``CNNLAB_NUM_THREADS``).

Example:
    >>> cnnlab.config.list_physical_devices()
    [PhysicalDevice(name='/physical_device:CPU:0', device_type='CPU')]
    >>> cnnlab.config.list_physical_devices("GPU")
    []
    >>> cnnlab.config.threading.set_intra_op_parallelism_threads(2)
    >>> cnnlab.config.threading.get_intra_op_parallelism_threads()
    2
    >>> cnnlab.config.threading.set_intra_op_parallelism_threads(0)  # back to the default
"""

import collections
import contextlib
import re
import types

from . import runtime

PhysicalDevice = collections.namedtuple("PhysicalDevice", ["name", "device_type"])
LogicalDevice = collections.namedtuple("LogicalDevice", ["name", "device_type"])

_CPU = PhysicalDevice(name="/physical_device:CPU:0", device_type="CPU")
_LOGICAL_CPU = LogicalDevice(name="/device:CPU:0", device_type="CPU")

# One part of a device string: /job:NAME, /replica:N, /task:N, /device:TYPE:N, TYPE:N (N may be *).
_DEVICE_PART = re.compile(r"(job:[\w.-]+|replica:\d+|task:\d+|(device:)?[A-Za-z_]+:(\d+|\*))", re.ASCII)


def _device_type(device_type, op):
    if device_type is None:
        return None
    if not isinstance(device_type, str):
        raise TypeError(f"{op}: device_type must be a string such as 'CPU' or 'GPU'; received {device_type!r}.")
    return device_type.upper()


def list_physical_devices(device_type=None):
    """The machine's devices (of ``device_type`` when given): one CPU."""
    wanted = _device_type(device_type, "list_physical_devices")
    return [_CPU] if wanted in (None, "CPU") else []


def list_logical_devices(device_type=None):
    """The devices ops run on (of ``device_type`` when given): one CPU."""
    wanted = _device_type(device_type, "list_logical_devices")
    return [_LOGICAL_CPU] if wanted in (None, "CPU") else []


def get_visible_devices(device_type=None):
    """The devices the program may use: the CPU."""
    return list_physical_devices(device_type)


def set_visible_devices(devices, device_type=None):
    """Choose the devices the program may use: only the CPU exists, so the CPU must stay visible.

    Hiding every GPU (``set_visible_devices([], 'GPU')``) is accepted, as it changes nothing.
    """
    devices = [devices] if isinstance(devices, PhysicalDevice) else list(devices)
    for device in devices:
        if not isinstance(device, PhysicalDevice) or device != _CPU:
            raise ValueError(f"set_visible_devices: cnnlab has only the CPU {_CPU}; received {device!r}.")
    if _device_type(device_type, "set_visible_devices") in (None, "CPU") and not devices:
        raise ValueError("set_visible_devices: the CPU cannot be hidden: cnnlab runs on it.")


def _set_memory_growth(device, enable):
    """TF's switch for GPU memory; refused for the CPU with TF's reason (no GPU exists in cnnlab)."""
    if not isinstance(device, PhysicalDevice):
        raise TypeError(
            f"set_memory_growth: device must be a PhysicalDevice from list_physical_devices; received {device!r}."
        )
    raise ValueError(
        f"set_memory_growth: cannot set memory growth on {device.name}: it applies to GPUs only, and cnnlab has none "
        "(programs that loop over list_physical_devices('GPU') never get here)."
    )


def _get_memory_growth(device):
    if not isinstance(device, PhysicalDevice):
        raise TypeError(f"get_memory_growth: device must be a PhysicalDevice; received {device!r}.")
    raise ValueError(f"get_memory_growth: {device.name} is not a GPU; memory growth applies to GPUs only.")


def _get_device_details(device):
    if not isinstance(device, PhysicalDevice):
        raise TypeError(f"get_device_details: device must be a PhysicalDevice; received {device!r}.")
    return {}


def run_functions_eagerly(run_eagerly):
    """Accepted: ``tf.function`` always runs eagerly in cnnlab. Asking for graphs (False) changes nothing."""
    if not isinstance(run_eagerly, bool):
        raise TypeError(f"run_functions_eagerly: expected a bool; received {run_eagerly!r}.")


def functions_run_eagerly():
    """True: cnnlab's ``tf.function`` runs eagerly."""
    return True


def set_soft_device_placement(enabled):
    """Accepted: every op runs on the CPU, whatever ``tf.device`` asks for (soft placement, always on)."""
    if not isinstance(enabled, bool):
        raise TypeError(f"set_soft_device_placement: expected a bool; received {enabled!r}.")


def get_soft_device_placement():
    return True


def _enable_op_determinism():
    """Accepted: cnnlab's ops already give the same values run after run (given ``set_seed``)."""


experimental = types.SimpleNamespace(
    enable_op_determinism=_enable_op_determinism,
    list_physical_devices=list_physical_devices,
    list_logical_devices=list_logical_devices,
    get_visible_devices=get_visible_devices,
    set_visible_devices=set_visible_devices,
    set_memory_growth=_set_memory_growth,
    get_memory_growth=_get_memory_growth,
    get_device_details=_get_device_details,
)


def _check_device_name(device_name):
    if device_name is None or device_name == "":
        return
    if not isinstance(device_name, str):
        raise TypeError(f"device: device_name must be a string such as '/CPU:0' or '/GPU:0'; received {device_name!r}.")
    parts = device_name.strip("/").split("/")
    if not all(_DEVICE_PART.fullmatch(part) for part in parts):
        raise ValueError(
            f"device: cannot parse the device name {device_name!r}; expected something like '/CPU:0', '/GPU:0' or "
            "'/job:localhost/replica:0/task:0/device:CPU:0'."
        )


@contextlib.contextmanager
def device(device_name):
    """Run the ops in this block on ``device_name`` (``tf.device``): in cnnlab every op runs on the CPU.

    As TF with soft placement on a machine without the device asked for, the ops
    run where they can (``tensor.device`` names the CPU).  The name is checked.

    Example:
        >>> with cnnlab.device("/GPU:0"):
        ...     x = cnnlab.ones([2])
        >>> x.device
        '/job:localhost/replica:0/task:0/device:CPU:0'
    """
    _check_device_name(device_name)
    yield


def get_intra_op_parallelism_threads():
    """The thread count set for cnnlab's kernels; 0 when none was set (the default rule applies)."""
    return runtime.requested_threads()


def set_intra_op_parallelism_threads(num_threads):
    """Use ``num_threads`` threads inside each op (cnnlab's kernels); 0: the default rule.

    Unlike TF, it may be called at any time: the next op uses the new count.
    """
    runtime.set_num_threads(num_threads)


def get_inter_op_parallelism_threads():
    """The inter-op thread count set (0 if none); cnnlab runs one op at a time."""
    return runtime.inter_op_threads()


def set_inter_op_parallelism_threads(num_threads):
    """Accepted for TF compatibility and remembered; cnnlab runs one op at a time, so it changes nothing."""
    runtime.set_inter_op_threads(num_threads)


threading = types.SimpleNamespace(
    get_intra_op_parallelism_threads=get_intra_op_parallelism_threads,
    set_intra_op_parallelism_threads=set_intra_op_parallelism_threads,
    get_inter_op_parallelism_threads=get_inter_op_parallelism_threads,
    set_inter_op_parallelism_threads=set_inter_op_parallelism_threads,
)
