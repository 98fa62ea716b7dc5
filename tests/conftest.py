import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

from .helpers.toy_data import write_colour_folders

# Numba compiles each kernel once per dtype; the first example can be slow, so no deadline.
settings.register_profile(
    "default",
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("thorough", max_examples=300, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(autouse=True)
def _own_working_folder(tmp_path_factory, monkeypatch):
    """Every test starts in an empty folder of its own, so nothing in the folder pytest was started
    from (a `runs/alexnet` left by the demo, say) can change a result, and no test writes there."""
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


@pytest.fixture(scope="module")
def colours(tmp_path_factory):
    """train/ and val/ with three colour classes: learnable in a few steps."""
    return write_colour_folders(tmp_path_factory.mktemp("colours"))
