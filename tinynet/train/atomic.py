"""Atomic file writes: a reader sees the old file or the new one, never a half-written one.

The data goes to a temporary file beside the target, is flushed and fsync'ed, gets ordinary
permissions (``0o666`` minus the umask, as ``open`` would give) and is then ``os.replace``d onto
the target. On any error or interrupt the temporary file is removed and a previous file at the
target is left as it was.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_write", "atomic_copy"]


def atomic_write(path, write: Callable[[BinaryIO], object]) -> Path:
    """Call ``write(f)`` on a binary file that atomically becomes ``path``; returns ``Path(path)``.

    Parent directories are created. Any exception (``KeyboardInterrupt`` too) removes the
    temporary file and propagates; an existing file at ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        _chmod_ordinary(tmp)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(path.parent)
    return path


def atomic_copy(src, dst) -> Path:
    """Copy the file ``src`` to ``dst`` atomically (ordinary permissions); returns ``Path(dst)``."""
    with open(src, "rb") as source:
        return atomic_write(dst, lambda f: shutil.copyfileobj(source, f))


def _chmod_ordinary(name: str) -> None:
    """Give ``name`` the mode a plain ``open`` would (mkstemp makes 0600); best effort."""
    umask = os.umask(0)  # the only portable way to read the umask is to set it
    os.umask(umask)
    try:
        os.chmod(name, 0o666 & ~umask)
    except OSError:  # e.g. a filesystem without Unix permissions
        pass


def _fsync_dir(directory: Path) -> None:
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
