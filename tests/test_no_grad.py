"""Inference under ``no_grad()`` / ``evaluating()``: same outputs, nothing kept for backward."""

from __future__ import annotations

import numpy as np
import pytest

from tinynet.kernels import maxpool_forward
from tinynet.models import alexnet


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


def test_maxpool_without_argmax_gives_the_same_values():
    x = np.random.default_rng(1).permutation(2 * 3 * 9 * 11).reshape(2, 3, 9, 11).astype(np.float32)
    out, argmax = maxpool_forward(x, (3, 3), (2, 2), (1, 1), (5, 6))
    lean, none = maxpool_forward(x, (3, 3), (2, 2), (1, 1), (5, 6), keep_argmax=False)
    np.testing.assert_array_equal(out, lean)
    assert argmax.shape == out.shape and none is None


def test_a_second_backward_says_the_first_released_the_saved_arrays(model):
    x = np.zeros((2, 3, 67, 67), np.float32)
    y = model.forward(x)
    model.backward(np.ones_like(y))
    assert kept_arrays(model) == {}  # released, as PyTorch frees its graph
    with pytest.raises(RuntimeError, match=r"fc8 .*backward called twice after one forward"):
        model.backward(np.ones_like(y))
