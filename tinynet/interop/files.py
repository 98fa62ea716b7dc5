"""Opening an importer's weights file: regular files only, and one-line error messages.

A FIFO, a device or a directory is refused before anything is read from it (reading a FIFO
blocks until something writes to it: forever, for a mistyped path).
"""

from __future__ import annotations

import os
import re
import stat

#: An ANSI escape sequence (a colour, bold...), as some libraries put in their messages.
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def one_line(text: str) -> str:
    """``text`` without ANSI escape codes, its newlines and runs of spaces made one space."""
    return " ".join(_ANSI.sub("", str(text)).split())


def _kind(mode: int) -> str:
    return next((what for test, what in _KINDS if test(mode)), "not a file")


def open_regular(where: str, path):
    """``path`` opened for binary reading if it is a regular file (symbolic links followed);
    ValueError (one line starting with ``where``) if it is missing, cannot be opened or is not
    a regular file. Opened without blocking, and checked again once open."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise ValueError(f"{where}: no such file") from None
    except OSError as err:
        raise ValueError(f"{where}: cannot be read ({one_line(err.strerror or err)})") from None
    if not stat.S_ISREG(mode):
        raise ValueError(f"{where} is not a regular file ({_kind(mode)})")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as err:
        raise ValueError(f"{where}: cannot be read ({one_line(err.strerror or err)})") from None
    mode = os.fstat(fd).st_mode  # the file opened, should the path have changed meanwhile
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise ValueError(f"{where} is not a regular file ({_kind(mode)})")
    return os.fdopen(fd, "rb")
