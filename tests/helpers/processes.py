"""Helpers shared by several test files.

Moved from tests/test_backend.py, tests/test_data_workers.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tinynet.backends import ENV


def run_python(script: str, env_value: str | None) -> subprocess.CompletedProcess:
    """Run ``script`` in a new interpreter with ``$TINYNET_BACKEND`` set (or unset if None)."""
    env = {key: value for key, value in os.environ.items() if key != ENV}
    if env_value is not None:
        env[ENV] = env_value
    return subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )


def is_dead(pid: int) -> bool:
    """True once ``pid`` is gone (a zombie counts as gone: it holds no memory or files)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat[stat.rindex(")") + 2 :].split()[0] == "Z"
