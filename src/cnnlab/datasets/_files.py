"""Writing files atomically: a reader sees the old file or the whole new one, never half.

A file is written under a temporary name beside its target, ``.NAME.XXXXXXXX.part``
(eight random characters), then renamed over the target in one step.  The
temporary file is created the way ``open(path, "w")`` creates a file, so the
kernel applies the user's umask (and a directory's default ACL): a new file gets
``0o666 & ~umask``, 0644 under the usual umask 022, as Keras's files do.  A file
that is replaced keeps its permission bits, as when a file is rewritten in place.

A process killed while writing leaves its temporary file behind.  The writer
holds an exclusive ``flock`` on its temporary file until the rename, and the
kernel drops the lock when the process dies; so the next write of the same target
(and ``remove_leftovers``) deletes the temporary files of that target whose lock
it can take, and never one that a living writer still holds.
"""

import contextlib
import errno
import fcntl
import os
import re
import secrets
import stat

# `.NAME.` + 8 characters + `.part`; `.tmp` is what cnnlab's model writer used before it came here,
# and [a-z0-9_] covers the names tempfile.mkstemp gave before as well as the hex of today's.
_LEFTOVER = re.compile(r"\.(?P<target>.+)\.[a-z0-9_]{8}\.(?:part|tmp)")
_CREATE_ATTEMPTS = 100
# Errors of writing to a file, raised without the file's name (by write, flush, fsync or close).
_WRITE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO}


@contextlib.contextmanager
def atomic_write(path, mode="wb"):
    """Open a temporary file beside ``path``; on success it replaces ``path`` in one step.

    The temporary file lives in the same directory, so ``os.replace`` is a rename
    on one filesystem.  If the block raises, the temporary file is removed and
    ``path`` is left as it was.  Temporary files of ``path`` left by a writer that
    was killed are removed first.  A full disk (or quota, or an I/O error) is
    raised as an ``OSError`` whose ``filename`` is ``path``.

    Args:
        path: the file to (re)write.
        mode: ``"wb"`` (default) or ``"w"`` for text (UTF-8).

    Raises:
        OSError: the directory cannot be written, the disk is full, ``path`` is a
            directory.

    Example:
        >>> with atomic_write("history.json", "w") as f:
        ...     json.dump(history, f)
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_write: mode must be 'wb' or 'w'; Received: mode={mode!r}")
    path = os.fspath(path)
    directory, name = os.path.split(os.path.abspath(path))
    remove_leftovers(directory, name.__eq__)
    descriptor, temporary = _create_temporary(directory, name)
    replaced = False
    try:
        with open(descriptor, mode, **({"encoding": "utf-8"} if mode == "w" else {})) as f:
            _keep_permissions(f.fileno(), path)
            yield f
            f.flush()
            os.fsync(f.fileno())
        _replace(temporary, path)
        replaced = True
    except OSError as err:
        if err.filename is None and err.errno in _WRITE_ERRORS:
            err.filename = path
        raise
    finally:
        if not replaced:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)


def _replace(temporary, path):
    """``os.replace``, its error naming the target alone (``path`` is a directory), not the temporary name."""
    try:
        os.replace(temporary, path)
    except OSError as err:
        err.filename, err.filename2 = path, None
        raise


def _create_temporary(directory, name):
    """A new file ``directory/.name.XXXXXXXX.part`` opened for writing and locked: ``(descriptor, path)``."""
    for _ in range(_CREATE_ATTEMPTS):
        temporary = os.path.join(directory, f".{name}.{secrets.token_hex(4)}.part")
        try:
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
        except FileExistsError:
            continue
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # a cleaner took it between the open and the lock and will delete it
            os.close(descriptor)
            continue
        except OSError as err:  # no locks on this filesystem: no cleaner can lock it either, so none deletes it
            if err.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL):
                os.close(descriptor)
                raise
        if _names(temporary, descriptor):
            return descriptor, temporary
        os.close(descriptor)  # a cleaner deleted it before the lock: start again under another name
    raise FileExistsError(errno.EEXIST, f"no free temporary name after {_CREATE_ATTEMPTS} attempts", directory)


def _keep_permissions(descriptor, path):
    """Give the file open as ``descriptor`` the permission bits of the regular file at ``path``, if there is one."""
    try:
        existing = os.stat(path)
    except FileNotFoundError:
        return
    if stat.S_ISREG(existing.st_mode):
        os.fchmod(descriptor, existing.st_mode & 0o777)


def _names(path, descriptor):
    """Whether ``path`` is (still) the file open as ``descriptor``."""
    try:
        return os.path.samestat(os.lstat(path), os.fstat(descriptor))
    except FileNotFoundError:
        return False


def remove_leftovers(directory, is_target):
    """Delete the temporary files that killed writers left in ``directory`` for the targets ``is_target`` accepts.

    Only files named as ``atomic_write`` names its temporary files are considered,
    and of those only the ones no living process is writing (whose lock can be taken).

    Args:
        directory: the folder to look in (nothing happens if it does not exist).
        is_target: ``is_target(name) -> bool`` for the name of the file a temporary
            file was meant to become, e.g. ``"model.keras".__eq__``.

    Returns:
        The paths removed, sorted.
    """
    try:
        entries = list(os.scandir(directory))
    except (FileNotFoundError, NotADirectoryError):
        return []
    removed = []
    for entry in entries:
        match = _LEFTOVER.fullmatch(entry.name)
        if (
            match
            and is_target(match["target"])
            and entry.is_file(follow_symlinks=False)
            and _remove_if_abandoned(entry.path)
        ):
            removed.append(entry.path)
    return sorted(removed)


def _remove_if_abandoned(path):
    # Opened for writing: an exclusive lock over NFS needs that.  Not followed, not waited on (a FIFO put there).
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:  # gone, not ours to write, or no longer a plain file
        return False
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # a writer is alive and holds it, or the filesystem has no locks: leave it
            return False
        if not _names(path, descriptor):
            return False
        try:
            os.unlink(path)
        except FileNotFoundError:
            return False
        return True
    finally:
        os.close(descriptor)
