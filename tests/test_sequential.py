"""Tests of ``tinynet.sequential``."""

import numpy as np
import pytest

import tinynet
from tinynet import Sequential
from tinynet.backends import BACKENDS
from tinynet.gradcheck import check_model_with_loss
from tinynet.layers import Conv2D, Dropout, Flatten, Linear, MaxPool2D, ReLU
from tinynet.layers.loss import SoftmaxCrossEntropy

from .helpers.gradients import CONV_ON, assert_small, small_network


@pytest.mark.parametrize("backend", BACKENDS)
def test_stacked_network_with_loss(backend, rng):
    model, reseed = small_network(rng)
    x = rng.standard_normal((3, 4, 7, 5))
    labels = np.array([4, 0, 2])
    with tinynet.backend(backend):
        assert model["conv"].algorithm_for(x.shape).name == CONV_ON[backend]
        errors = check_model_with_loss(
            model, SoftmaxCrossEntropy(), x, labels, before_forward=reseed
        )
    assert set(errors) == {"input", "conv.weight", "conv.bias", "fc.weight", "fc.bias"}
    assert_small(errors)


def test_sequential_modes_parameters_and_state(rng):
    model = Sequential(
        [
            ("conv", Conv2D(1, 2, 3, rng=rng)),
            ("relu", ReLU()),
            ("flat", Flatten()),
            ("drop", Dropout(0.5)),
            ("fc", Linear(8, 3, rng=rng)),
        ]
    )
    names = [n for n, _, _ in model.named_parameters()]
    assert names == ["conv.weight", "conv.bias", "fc.weight", "fc.bias"]
    assert model.num_parameters() == 2 * 9 + 2 + 3 * 8 + 3
    model.eval()
    assert all(not layer.training for _, layer in model)
    model.train()
    assert model["drop"].training
    state = model.state_dict()
    other = Sequential(
        [
            ("conv", Conv2D(1, 2, 3)),
            ("relu", ReLU()),
            ("flat", Flatten()),
            ("drop", Dropout(0.5)),
            ("fc", Linear(8, 3)),
        ]
    )
    weight_ref = other["fc"].params["weight"]
    other.load_state_dict(state)
    assert other["fc"].params["weight"] is weight_ref  # loaded in place
    x = rng.standard_normal((2, 1, 4, 4)).astype(np.float32)
    model.eval(), other.eval()
    np.testing.assert_array_equal(model.forward(x), other.forward(x))
    state["fc.weight"][...] = 0  # a copy: the model is untouched
    assert np.any(model["fc"].params["weight"] != 0)


def test_sequential_summary(rng):
    model = Sequential(
        [
            ("conv", Conv2D(3, 4, 3, rng=rng)),
            ("pool", MaxPool2D(2)),
            ("flat", Flatten()),
            ("fc", Linear(4 * 3 * 3, 2, rng=rng)),
        ]
    )
    text = model.summary((1, 3, 8, 8))
    assert "(1, 4, 3, 3)" in text and "(1, 2)" in text
    assert f"{model.num_parameters():,}" in text


def test_sequential_bad_construction():
    with pytest.raises(ValueError, match="duplicate layer name 'a'"):
        Sequential([("a", ReLU()), ("a", ReLU())])
    with pytest.raises(ValueError, match="pairs"):
        Sequential([ReLU()])
    with pytest.raises(ValueError, match="without dots"):
        Sequential([("a.b", ReLU())])


def test_load_state_dict_errors_leave_parameters_untouched():
    model = Sequential([("fc", Linear(3, 2)), ("flat", Flatten())])
    before = model.state_dict()
    bad = {"fc.weight": np.zeros((3, 2), np.float32), "fc.extra": np.zeros(1)}
    with pytest.raises(ValueError) as info:
        model.load_state_dict(bad)
    msg = str(info.value)
    assert "missing keys (1): fc.bias" in msg and "unexpected keys (1): fc.extra" in msg
    assert "fc.weight: expected (2, 3) vs found (3, 2)" in msg
    for k, v in before.items():
        np.testing.assert_array_equal(model.state_dict()[k], v)
