"""Files, safely: atomic writes, and reading regular files only.

**Atomic writes** (``atomic_write``, ``atomic_copy``): a reader sees the old file or the new
one, never a half-written one. The data goes to a temporary file ``.<name>.<random>.tmp``
beside the target, is flushed and fsync'ed, gets ordinary permissions (``0o666`` minus the
umask, as ``open`` would give) and is then ``os.replace``d onto the target. On any error or
interrupt the temporary file is removed and a previous file at the target is left as it was. A
process killed mid-write (SIGKILL, power loss) cannot clean up: its temporary file is removed
by the next write of the same target. Two processes must not write the same target at once:
each would remove the other's temporary file as stale (the command line's run folders have
one owner: ``tinynet.cli.run_folder``).

**Regular files only** (``special_kind``, ``open_regular``): a FIFO blocks its reader until
something writes to it (forever, for a mistyped path), a device may never end, a folder is a
mistake: each is named and refused before it is opened.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_write", "atomic_copy", "fsync_dir", "special_kind", "open_regular"]


def atomic_write(path, write: Callable[[BinaryIO], object]) -> Path:
    """Call ``write(f)`` on a binary file that atomically becomes ``path``; returns ``Path(path)``.

    Parent directories are created, and stale temporary files of ``path`` removed. An
    ``OSError`` (disk full, no permission...) is re-raised as one of the same type and errno
    whose message is one line, ``cannot write <path>: <cause>``; any other exception
    (``KeyboardInterrupt`` too) propagates as it is. Either way the temporary file is removed
    and an existing file at ``path`` is untouched.
    """
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale(path)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        _chmod_ordinary(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        _remove(tmp)
        raise _cannot_write(path, exc) from None
    except BaseException:
        _remove(tmp)
        raise
    fsync_dir(path.parent)
    return path


def atomic_copy(src, dst) -> Path:
    """Copy the file ``src`` to ``dst`` atomically (ordinary permissions); returns ``Path(dst)``."""
    with open(src, "rb") as source:
        return atomic_write(dst, lambda f: shutil.copyfileobj(source, f))


def _cannot_write(path: Path, exc: OSError) -> OSError:
    """``exc`` said in one line with the target first (not the temporary file's name): same
    type (if it allows) and errno."""
    cause = exc.strerror or str(exc)
    if isinstance(exc, (FileExistsError, NotADirectoryError)):  # a parent is a file
        files = [p for p in path.parents if p.exists() and not p.is_dir()]
        cause = f"{files[0]} is a file, not a folder" if files else cause
    message = f"cannot write {path}: {cause}"
    try:
        error = type(exc)(message)
    except TypeError:  # an OSError subclass with another constructor
        error = OSError(message)
    error.errno = exc.errno
    return error


def _remove_stale(path: Path) -> None:
    """Remove the temporary files earlier writes of ``path`` left when they were killed:
    ``.<name>.<random>.tmp`` in its directory, the random part without dots."""
    pattern = re.compile(rf"\.{re.escape(path.name)}\.[^.]+\.tmp")
    stale = [path.parent / name for name in os.listdir(path.parent) if pattern.fullmatch(name)]
    for name in stale:
        _remove(name)


def _remove(name) -> None:
    """Best effort: it may be gone already."""
    if name is not None:
        try:
            os.unlink(name)
        except OSError:
            pass


def _chmod_ordinary(name: str) -> None:
    """Give ``name`` the mode a plain ``open`` would (mkstemp makes 0600); best effort."""
    umask = os.umask(0)  # the only portable way to read the umask is to set it
    os.umask(umask)
    try:
        os.chmod(name, 0o666 & ~umask)
    except OSError:  # e.g. a filesystem without Unix permissions
        pass


def fsync_dir(directory) -> None:
    """Best effort: make the rename durable (not possible on every platform/filesystem)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ------------------------------------------------------------------------- regular files only
_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def special_kind(path) -> str | None:
    """None if ``path`` (links followed) is a regular file, else what it is: "a directory", "a
    FIFO", "a character device", "a block device", "a socket". ``OSError`` (e.g.
    ``FileNotFoundError``) if it cannot be looked at."""
    return _kind(os.stat(path).st_mode)


def _kind(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    return next((what for test, what in _KINDS if test(mode)), "not a file")


def open_regular(where: str, path):
    """``path`` opened for binary reading if it is a regular file (symbolic links followed);
    ValueError (one line starting with ``where``) if it is missing, cannot be opened or is not
    a regular file. Opened without blocking, and checked again once open."""
    try:
        kind = special_kind(path)
    except FileNotFoundError:
        raise ValueError(f"{where}: no such file") from None
    except OSError as err:
        raise ValueError(f"{where}: cannot be read ({err.strerror or err})") from None
    if kind:
        raise ValueError(f"{where} is not a regular file ({kind})")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as err:
        raise ValueError(f"{where}: cannot be read ({err.strerror or err})") from None
    kind = _kind(os.fstat(fd).st_mode)  # the file opened, should the path have changed meanwhile
    if kind:
        os.close(fd)
        raise ValueError(f"{where} is not a regular file ({kind})")
    return os.fdopen(fd, "rb")
