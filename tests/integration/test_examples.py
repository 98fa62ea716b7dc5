"""The command line as a new user meets it: resume with the run's settings, overrides said or
refused, an occupied --output, text progress in logs, the stall notice, clean one-line notices
and errors, pytorch/examples' conventions."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_gradcheck_demo_has_help_and_an_exit_status():
    script = str(ROOT / "examples" / "gradcheck_demo.py")
    help_text = subprocess.run([sys.executable, script, "--help"], capture_output=True, text=True)
    assert help_text.returncode == 0 and "--eps" in help_text.stdout
    checked = subprocess.run([sys.executable, script], capture_output=True, text=True)
    assert checked.returncode == 0 and "FAILED" not in checked.stdout and "ok" in checked.stdout
