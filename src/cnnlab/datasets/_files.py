"""Writing files atomically: a reader sees the old file or the whole new one, never half."""

import contextlib
import os
import tempfile


@contextlib.contextmanager
def atomic_write(path, mode="wb"):
    """Open a temporary file beside ``path``; on success it replaces ``path`` in one step.

    The temporary file lives in the same directory, so ``os.replace`` is a rename
    on one filesystem.  If the block raises, the temporary file is removed and
    ``path`` is left as it was.

    Args:
        path: the file to (re)write.
        mode: ``"wb"`` (default) or ``"w"`` for text (UTF-8).

    Example:
        >>> with atomic_write("history.json", "w") as f:
        ...     json.dump(history, f)
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_write: mode must be 'wb' or 'w'; Received: mode={mode!r}")
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp_path = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".part")
    replaced = False
    try:
        with open(fd, mode, **({"encoding": "utf-8"} if mode == "w" else {})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_path, path)
        replaced = True
    finally:
        if not replaced:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_path)
