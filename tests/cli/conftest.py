"""Fixtures shared by the tests in this folder."""

import pytest

from ..helpers.cli import TINY, run
from ..helpers.torchvision_files import random_state
from ..helpers.toy_data import write_colour_folders


@pytest.fixture(scope="module")
def trained(colours, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert run("--data", colours, "--output", out, "--epochs", 2, *TINY) == 0
    return out


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return write_colour_folders(
        tmp_path_factory.mktemp("colours"), counts=(("train", 4), ("val", 2))
    )


@pytest.fixture(scope="module")
def pth(tmp_path_factory):
    torch = pytest.importorskip("torch")

    path = tmp_path_factory.mktemp("tv") / "alexnet.pth"
    torch.save({k: torch.from_numpy(v) for k, v in random_state(1000).items()}, path)
    return path
