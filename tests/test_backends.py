"""Tests of ``tinynet.backends``."""

from __future__ import annotations

import numpy as np
import pytest

import tinynet
from tinynet.backends import BACKENDS, ENV, get_backend, is_reference, set_backend
from tinynet.kernels import lrn as fast_lrn
from tinynet.kernels import pool as fast_pool
from tinynet.layers import LocalResponseNorm, MaxPool2D
from tinynet.reference import lrn as reference_lrn
from tinynet.reference import pool as reference_pool

from .helpers.arrays import distinct
from .helpers.backends import run
from .helpers.processes import run_python

CHOICES = "'reference' or 'fast'"


@pytest.fixture(autouse=True)
def _restore_backend():
    """Every test leaves the process on the backend it found."""
    before = get_backend()
    yield
    set_backend(before)


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


#: The module each backend runs, per layer, and the name of the layer's backward function there.
CODE = {
    "pool": {"reference": reference_pool, "fast": fast_pool},
    "lrn": {"reference": reference_lrn, "fast": fast_lrn},
}
BACKWARD = {"pool": "maxpool_backward", "lrn": "lrn_backward"}


@pytest.mark.parametrize("backend", BACKENDS)
def test_forward_without_grad_gives_the_same_output(backend, rng):
    x = distinct(rng, (2, 3, 7, 7))
    for layer in (MaxPool2D(3, 2, 1), LocalResponseNorm(3, 0.5, 0.75, 1.0)):
        with tinynet.backend(backend):
            kept = layer.forward(x)
            layer.backward(np.ones_like(kept))
            with layer.no_grad():
                np.testing.assert_array_equal(layer.forward(x), kept)


# ------------------------------------------------------------- backward runs the forward's code
@pytest.mark.parametrize("forward_on", BACKENDS)
@pytest.mark.parametrize("which", ["pool", "lrn"])
def test_backward_runs_the_code_of_its_forward_after_a_switch(forward_on, which, rng, monkeypatch):
    layer = MaxPool2D(3, 2, 1) if which == "pool" else LocalResponseNorm(3, 0.5, 0.75, 1.0)
    x = distinct(rng, (2, 4, 7, 6))
    dy = rng.standard_normal(layer.output_shape(x.shape) if which == "pool" else x.shape)
    y_expected, dx_expected = run(layer, x, dy, forward_on)

    other = "fast" if forward_on == "reference" else "reference"

    def must_not_run(*args):
        raise AssertionError(f"backward ran the {other} code after a {forward_on} forward")

    monkeypatch.setattr(CODE[which][other], BACKWARD[which], must_not_run)
    with tinynet.backend(forward_on):
        y = layer.forward(x)
    with tinynet.backend(other):
        dx = layer.backward(dy)
    np.testing.assert_array_equal(y, y_expected)
    np.testing.assert_array_equal(dx, dx_expected)  # the same code: the same bits
