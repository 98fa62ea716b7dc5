"""Fixtures shared by the tests in this folder."""

import pytest

from tinynet.models import alexnet
from tinynet.train import Trainer

from ..helpers.toy_data import blobs


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A checkpoint of a small AlexNet trainer."""
    model = alexnet(num_classes=4, input_size=67, width=0.25, init="he", seed=0)
    path = tmp_path_factory.mktemp("ck") / "good.npz"
    Trainer.for_model(model, lr=0.01, schedule="plateau").save(path)
    return path


@pytest.fixture(scope="module")
def data():
    return blobs(16, seed=0)
