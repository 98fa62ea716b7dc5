"""One-line error messages from other libraries' text."""

from __future__ import annotations

import re

#: An ANSI escape sequence (a colour, bold...), as some libraries put in their messages.
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


def one_line(text: str) -> str:
    """``text`` without ANSI escape codes, its newlines and runs of spaces made one space."""
    return " ".join(_ANSI.sub("", str(text)).split())
