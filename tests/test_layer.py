"""Tests of ``tinynet.layer``."""

from __future__ import annotations

import numpy as np
import pytest

from tinynet import Layer, Sequential
from tinynet.layers import Conv2D, Dropout, Linear
from tinynet.models import alexnet


def test_layers_give_their_parameter_shapes_without_allocating():
    assert Conv2D.param_shapes(4, 6, (3, 2), groups=2, dtype=np.float64) == {
        "weight": (6, 2, 3, 2),
        "bias": (6,),
    }
    assert Linear.param_shapes(7, 3) == {"weight": (3, 7), "bias": (3,)}
    with pytest.raises(ValueError, match=r"Conv2D\(4, 6, groups=4\): .*divisible by groups"):
        Conv2D.param_shapes(4, 6, 3, groups=4)
    with pytest.raises(ValueError, match=r"Linear\(0, 3\): in_features must be >= 1"):
        Linear.param_shapes(0, 3)


def test_load_state_dict_checks_shapes_without_copying_the_parameters(rng, monkeypatch):
    model = Sequential([("fc", Linear(3, 2, rng=rng)), ("drop", Dropout(0.5, rng=rng))])
    state = model.state_dict()
    monkeypatch.setattr(Layer, "state_dict", lambda self: pytest.fail("state_dict() copied"))
    model.load_state_dict(state)
    with pytest.raises(ValueError, match=r"fc.weight: expected \(2, 3\) vs found \(3, 2\)"):
        model.load_state_dict({**state, "fc.weight": np.zeros((3, 2), np.float32)})
    with pytest.raises(ValueError, match=r"rng: expected \(6,\) vs found \(2,\)"):
        model["drop"].load_state_dict({"rng": np.zeros(2, np.uint64)})
    # the shapes of the state, as a checkpoint is checked against them, copy nothing either
    expected = {key: value.shape for key, value in state.items()}
    assert (
        model.state_shapes() == expected == {"fc.weight": (2, 3), "fc.bias": (2,), "drop.rng": (6,)}
    )


@pytest.fixture
def model():
    return alexnet(num_classes=5, input_size=67, width=0.25, init="paper", seed=0)


def kept_arrays(model):
    """Arrays a layer holds for backward (its saved input, masks, argmax, LRN scale)."""
    kept = {}
    for name, layer in model:
        for attr in ("_x", "_mask", "_cache"):
            value = getattr(layer, attr, None)
            if isinstance(value, np.ndarray) or (isinstance(value, tuple) and len(value) > 1):
                kept[f"{name}.{attr}"] = value
    return kept


def test_no_grad_gives_the_same_outputs_and_keeps_nothing(model):
    x = np.random.default_rng(0).standard_normal((3, 3, 67, 67)).astype(np.float32)
    model.eval()
    with_grad = model.forward(x)
    assert kept_arrays(model), "a training-ready forward keeps what backward needs"
    with model.no_grad():
        without = model.forward(x)
    np.testing.assert_array_equal(with_grad, without)
    assert kept_arrays(model) == {}
    assert model.grad_enabled and all(layer.grad_enabled for _, layer in model)


def test_backward_after_no_grad_says_why(model):
    x = np.zeros((2, 3, 67, 67), np.float32)
    with model.evaluating():
        y = model.forward(x)
    assert model.training  # evaluating() restores the mode
    with pytest.raises(RuntimeError, match=r"fc8 .*backward after a forward under no_grad"):
        model.backward(np.ones_like(y))
    model.forward(x)  # a forward outside it makes backward possible again
    assert model.backward(np.ones_like(y)) is None  # conv1 needs no input gradient


def test_eval_alone_still_allows_backward(model):
    """eval() changes what dropout does, not whether backward works (PyTorch's meaning)."""
    model.eval()
    y = model.forward(np.ones((1, 3, 67, 67), np.float32))
    model.backward(np.ones_like(y))
    assert np.any(model["conv2"].grads["weight"] != 0)


def test_a_second_backward_says_the_first_released_the_saved_arrays(model):
    x = np.zeros((2, 3, 67, 67), np.float32)
    y = model.forward(x)
    model.backward(np.ones_like(y))
    assert kept_arrays(model) == {}  # released, as PyTorch frees its graph
    with pytest.raises(RuntimeError, match=r"fc8 .*backward called twice after one forward"):
        model.backward(np.ones_like(y))
