"""Atomic file writes and the project lock (POSIX)."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from envman.errors import StoreError


def _store_error(path: Path, exc: OSError) -> StoreError:
    if exc.errno == errno.ENOSPC:
        return StoreError(f"disk full while writing {path}", "free some space and re-run; nothing was changed")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return StoreError(f"cannot write {path}: permission denied or read-only", "check the folder's permissions; nothing was changed")
    return StoreError(f"cannot write {path}: {exc.strerror}", "check the disk and re-run; nothing was changed")


def atomic_write(path: Path, data: bytes | bytearray, *, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` atomically: temp file in the same folder, fsync, rename, fsync folder.

    ``mode`` is applied when the temp file is created, so a 0600 file is never
    readable by others, not even for an instant and whatever the umask.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
        try:
            os.fchmod(fd, mode)  # umask may have narrowed or, for 0600, must not widen
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise _store_error(path, exc) from None
    fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def append_durable(path: Path, data: bytes) -> int:
    """Append ``data`` with one write() and fsync; return the file size before the append."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
        try:
            start = os.fstat(fd).st_size
            written = os.write(fd, data)
            if written != len(data):
                os.ftruncate(fd, start)
                raise OSError(errno.ENOSPC, "short write")
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise _store_error(path, exc) from None
    return start


@contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``path`` (created if missing) for the block."""
    import fcntl

    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise _store_error(path, exc) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


@contextmanager
def shared_lock(path: Path) -> Iterator[None]:
    """Hold a shared lock on ``path`` for the block: a reader of several files never sees a writer's half-done change.

    Where the lock file cannot be opened (a read-only folder), nobody can write either: read without it.
    """
    import fcntl

    try:
        fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError:
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)


def write_private(path: Path, data: bytes) -> None:
    """Write a file that holds plaintext: atomically and mode 0600."""
    atomic_write(path, data, mode=0o600)


def write_output(path: Path, data: bytes | bytearray, *, mode: int = 0o644, terminal_ok: bool = True) -> None:
    """Write a file the user named (``-o``): replaced atomically if it is a file, written into if it is not.

    A symlink's target is replaced and the link kept. A device or pipe (``/dev/stdout``,
    ``/dev/null``, a FIFO) is written directly: renaming a temp file over it would put a
    regular file in its place. ``terminal_ok`` False refuses a terminal.
    """
    import stat

    from envman.errors import UsageError

    try:
        kind = os.stat(path).st_mode
    except FileNotFoundError:
        kind = stat.S_IFREG
    except OSError as exc:
        raise _store_error(path, exc) from None
    if stat.S_ISREG(kind):
        atomic_write(Path(os.path.realpath(path)), data, mode=mode)
        return
    if stat.S_ISDIR(kind):
        raise UsageError(f"{path} is a folder", "name a file to write")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise _store_error(path, exc) from None
    try:
        if not terminal_ok and os.isatty(fd):
            raise UsageError("this would print plaintext secrets to the terminal", f"write to a file, not {path}, or add --reveal")
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except OSError as exc:
        raise _store_error(path, exc) from None
    finally:
        os.close(fd)
