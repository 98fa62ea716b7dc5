"""Tests of ``tinynet.sequential``."""

import numpy as np
import pytest

import tinynet
from tinynet import Sequential
from tinynet.backends import BACKENDS
from tinynet.gradcheck import check_model_with_loss
from tinynet.layers import Conv2D, Dropout, Flatten, Linear, MaxPool2D, ReLU, fuse_conv_relu
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


# -- backward hooks ---------------------------------------------------------------------------
def _hooked_network(rng, dtype=np.float32):
    """Conv2D + ReLU fused (as AlexNet's), a nested Sequential, and a first layer that skips
    dL/dx (its backward returns None)."""
    inner = Sequential([("fc", Linear(8, 6, dtype=dtype, rng=rng)), ("relu", ReLU())])
    model = Sequential(
        [
            ("conv", Conv2D(1, 2, 3, input_grad=False, dtype=dtype, rng=rng)),
            ("relu", ReLU()),
            ("flat", Flatten()),
            ("block", inner),
            ("out", Linear(6, 3, dtype=dtype, rng=rng)),
        ]
    )
    assert fuse_conv_relu(model) == ["relu"]
    return model


def _grads(model):
    return {name: grad.copy() for name, _, grad in model.named_parameters()}


def test_backward_hooks_see_each_layer_in_reverse_order_with_final_gradients(rng):
    model = _hooked_network(rng)
    x = rng.standard_normal((2, 1, 4, 4)).astype(np.float32)
    dy = rng.standard_normal((2, 3)).astype(np.float32)
    model.forward(x)
    model.backward(dy)
    final = _grads(model)  # a backward without hooks
    for grad in model.grads.values():
        grad[...] = np.nan  # what a hook copies must come from this backward
    seen, copies = [], {}

    def hook(name, layer):
        seen.append(name)
        assert layer is model[name]
        copies.update({f"{name}.{k}": g.copy() for k, _, g in layer.named_parameters()})

    inner_seen = []
    model["block"].register_backward_hook(lambda name, layer: inner_seen.append(name))
    model.forward(x)
    assert model.backward(dy) is None  # conv skips dL/dx
    assert seen == []  # not registered yet
    model.forward(x)
    model.register_backward_hook(hook)
    assert model.backward(dy) is None
    assert seen == ["out", "block", "flat", "relu", "conv"]
    assert inner_seen == ["relu", "fc"] * 2  # the nested model's own hooks, in each backward
    assert sorted(copies) == sorted(final)
    for name, grad in final.items():
        np.testing.assert_array_equal(copies[name], grad, err_msg=name)


def test_backward_hooks_order_removal_and_errors(rng):
    model = _hooked_network(rng)
    x = rng.standard_normal((2, 1, 4, 4)).astype(np.float32)
    dy = np.ones((2, 3), np.float32)
    calls = []
    first = model.register_backward_hook(lambda name, layer: calls.append(("first", name)))
    second = model.register_backward_hook(lambda name, layer: calls.append(("second", name)))
    model.forward(x)
    model.backward(dy)
    names = ("out", "block", "flat", "relu", "conv")
    assert calls == [(who, n) for n in names for who in ("first", "second")]
    first.remove()
    first.remove()  # a second remove is harmless
    calls.clear()
    model.forward(x)
    model.backward(dy)
    assert calls == [("second", n) for n in names]
    second.remove()
    assert model._hooks == {}  # no hook: backward runs no hook code at all
    calls.clear()
    model.forward(x)
    model.backward(dy)
    assert calls == []

    def fail(name, layer):
        if name == "flat":
            raise RuntimeError("hook failed at flat")

    model.register_backward_hook(fail)
    model.forward(x)
    with pytest.raises(RuntimeError, match="hook failed at flat"):
        model.backward(dy)
    with pytest.raises(ValueError, match="not callable"):
        model.register_backward_hook("not a function")
