"""lr_range_test: an exponential learning-rate ramp, its losses, its stop and its suggestion."""

from __future__ import annotations

import numpy as np
import pytest

from tinynet.data import ArrayBatches
from tinynet.layers import SoftmaxCrossEntropy
from tinynet.optim import SGD
from tinynet.train import LRRange, lr_range_test

from ..helpers.training import small_model


def test_the_ramp_is_exponential_and_the_model_is_left_as_it_was(data):
    images, labels = data
    model = small_model(dropout=0.0)
    before = model.state_dict()
    result = lr_range_test(
        model, ArrayBatches(images[:16], labels[:16], 8, seed=0), min_lr=1e-4, max_lr=1e-2, steps=5
    )
    np.testing.assert_allclose(result.lrs, [1e-4, 10**-3.5, 1e-3, 10**-2.5, 1e-2])
    assert result.stopped is None and len(result.losses) == len(result.smoothed) == 5
    assert np.isfinite(result.losses).all()
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key], err_msg=key)


def test_each_step_uses_its_rate(data):
    # The same steps by hand (plain SGD, no momentum or decay): the same losses.
    images, labels = data
    lrs = [1e-3, 1e-2, 1e-1]
    result = lr_range_test(
        small_model(dropout=0.0), ArrayBatches(images[:16], labels[:16], 8, shuffle=False),
        min_lr=lrs[0], max_lr=lrs[-1], steps=3, momentum=0.0, weight_decay=0.0,
    )  # fmt: skip
    model, loss_fn = small_model(dropout=0.0), SoftmaxCrossEntropy()
    sgd = SGD(model.named_parameters(), lr=lrs[0])
    model.train()
    expected = []
    for lr, start in zip(lrs, (0, 8, 0)):
        x, y = images[start : start + 8], labels[start : start + 8]
        expected.append(loss_fn.forward(model.forward(x), y))
        model.backward(loss_fn.backward())
        sgd.lr = lr
        sgd.step()
    np.testing.assert_allclose(result.losses, expected, rtol=1e-4)


def test_a_ramp_to_a_huge_rate_stops_early_saying_why(data):
    images, labels = data
    result = lr_range_test(
        small_model(), ArrayBatches(images, labels, 8, seed=0), min_lr=1e-3, max_lr=1e4, steps=40
    )
    assert len(result.losses) < 40
    assert "x its minimum" in result.stopped or "not finite" in result.stopped
    assert result.best_lr < 1e4 and result.suggestion == pytest.approx(result.best_lr / 10)


def test_suggestion_steepest_and_best_from_a_known_curve():
    lrs = np.logspace(-4, 0, 9)
    smoothed = np.array([2.0, 1.99, 1.9, 1.5, 1.2, 1.1, 1.05, 3.0, 9.0])
    result = LRRange(lrs, smoothed, smoothed)
    assert result.best_lr == pytest.approx(lrs[6])
    assert result.suggestion == pytest.approx(lrs[6] / 10)
    assert result.steepest_lr == pytest.approx(lrs[3])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(steps=1), "lr_range_test: steps must be >= 2"),
        (dict(steps=2.5), "lr_range_test: steps must be an integer"),
        (dict(min_lr=0.0), "lr_range_test: min_lr must be finite and > 0"),
        (dict(max_lr=float("inf")), "lr_range_test: max_lr must be finite"),
        (dict(min_lr=1.0, max_lr=0.1), "lr_range_test: min_lr must be < max_lr"),
        (dict(beta=1.0), "beta must be in"),
        (dict(diverge=1.0), "diverge must be > 1"),
        (dict(schedule="plateau"), "give no schedule"),
    ],
)
def test_wrong_arguments_are_refused_by_name(data, kwargs, match):
    images, labels = data
    with pytest.raises(ValueError, match=match):
        lr_range_test(small_model(), ArrayBatches(images[:8], labels[:8], 8), **kwargs)
