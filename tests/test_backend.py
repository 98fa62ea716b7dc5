"""tinynet.set_backend and tinynet.backend: choosing the reference or the fast code, and how."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import tinynet
from tinynet.backends import BACKENDS, ENV, get_backend, is_reference, set_backend

CHOICES = "'reference' or 'fast'"


@pytest.fixture(autouse=True)
def _restore_backend():
    """Every test leaves the process on the backend it found."""
    before = get_backend()
    yield
    set_backend(before)


def run_python(script: str, env_value: str | None) -> subprocess.CompletedProcess:
    """Run ``script`` in a new interpreter with ``$TINYNET_BACKEND`` set (or unset if None)."""
    env = {key: value for key, value in os.environ.items() if key != ENV}
    if env_value is not None:
        env[ENV] = env_value
    return subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )


def test_the_two_backends_and_the_top_level_names():
    assert BACKENDS == ("reference", "fast")
    assert tinynet.set_backend is set_backend and tinynet.get_backend is get_backend


def test_a_new_process_starts_on_fast():
    done = run_python("import numpy; import tinynet; print(tinynet.get_backend())", None)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["fast"]


def test_set_backend_switches_for_the_rest_of_the_process():
    set_backend("reference")
    assert get_backend() == "reference" and is_reference()
    set_backend("fast")
    assert get_backend() == "fast" and not is_reference()


@pytest.mark.parametrize("outer", BACKENDS)
def test_the_context_manager_restores_the_backend_in_force(outer):
    set_backend(outer)
    with tinynet.backend("reference") as name:
        assert name == "reference" and is_reference()
        with tinynet.backend("fast"):
            assert get_backend() == "fast"
        assert get_backend() == "reference"
    assert get_backend() == outer


def test_the_context_manager_restores_the_backend_when_the_block_raises():
    set_backend("fast")
    with pytest.raises(ZeroDivisionError), tinynet.backend("reference"):
        assert is_reference()
        _ = 1 / 0
    assert get_backend() == "fast"


BAD_NAMES = ["Reference", "numba", "", None]


@pytest.mark.parametrize("bad", BAD_NAMES)
def test_set_backend_refuses_a_bad_name_naming_the_choices(bad):
    set_backend("fast")
    with pytest.raises(ValueError, match=CHOICES) as err:
        set_backend(bad)
    assert f"set_backend: backend must be {CHOICES}, got {bad!r}" == str(err.value)
    assert get_backend() == "fast"


@pytest.mark.parametrize("bad", BAD_NAMES)
def test_the_context_manager_refuses_a_bad_name_naming_the_choices(bad):
    set_backend("fast")
    with pytest.raises(ValueError, match=CHOICES) as err, tinynet.backend(bad):
        pass
    assert f"backend: backend must be {CHOICES}, got {bad!r}" == str(err.value)
    assert get_backend() == "fast"


@pytest.mark.parametrize("name", BACKENDS)
def test_a_new_process_reads_its_backend_from_the_environment(name):
    script = (
        "import numpy\n"
        "import tinynet\n"
        "from tinynet.backends import is_reference\n"
        "print(tinynet.get_backend(), is_reference())\n"
    )
    done = run_python(script, name)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [name, str(name == "reference")]


def test_a_bad_environment_value_fails_at_import_with_a_clear_message():
    done = run_python("import numpy\nimport tinynet\nprint('imported')", "bogus")
    assert done.returncode != 0 and "imported" not in done.stdout
    last_line = done.stderr.strip().splitlines()[-1]
    assert last_line == f"ValueError: ${ENV}: backend must be {CHOICES}, got 'bogus'"
