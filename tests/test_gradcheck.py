"""Tests of ``tinynet.gradcheck``."""

import numpy as np
import pytest

from tinynet.gradcheck import (
    check_layer,
    check_loss,
    check_model_with_loss,
    numerical_gradient,
    rel_error,
)
from tinynet.layers import Linear, ReLU
from tinynet.layers.loss import SoftmaxCrossEntropy

from .helpers.gradients import F64, TOL


# ----------------------------------------------------------------------------- gradcheck arguments
@pytest.mark.parametrize("max_checks", [0, -3, 2.5, True])
def test_gradcheck_refuses_max_checks_below_one(max_checks, rng):
    layer = Linear(3, 2, dtype=F64, rng=rng)
    with pytest.raises(ValueError, match="check_layer: max_checks must be"):
        check_layer(layer, rng.standard_normal((2, 3)), max_checks=max_checks)
    loss = SoftmaxCrossEntropy()
    with pytest.raises(ValueError, match="check_model_with_loss: max_checks must be"):
        check_model_with_loss(layer, loss, np.ones((2, 3)), np.array([0, 1]), max_checks=max_checks)


@pytest.mark.parametrize("eps", [0, 0.0, -1e-6, float("nan"), float("inf"), "1e-6"])
def test_gradcheck_refuses_an_eps_that_is_not_a_positive_number(eps, rng):
    layer = Linear(3, 2, dtype=F64, rng=rng)
    x = rng.standard_normal((2, 3))
    with pytest.raises(ValueError, match="check_layer: eps must be"):
        check_layer(layer, x, eps=eps)
    with pytest.raises(ValueError, match="check_loss: eps must be"):
        check_loss(SoftmaxCrossEntropy(), x, np.array([0, 1]), eps=eps)
    with pytest.raises(ValueError, match="numerical_gradient: eps must be"):
        numerical_gradient(lambda: 0.0, x, eps=eps)


def test_gradcheck_still_checks_a_sample(rng):
    errors = check_layer(
        Linear(3, 2, dtype=F64, rng=rng), rng.standard_normal((2, 3)), max_checks=1
    )
    assert set(errors) == {"input", "weight", "bias"} and max(errors.values()) < 1e-6


def test_a_wrong_backward_is_caught(rng):
    class BrokenReLU(ReLU):
        def backward(self, dout):
            return dout  # forgets the mask

    x = rng.standard_normal((4, 6))
    x[np.abs(x) < 1e-3] = 0.5
    assert check_layer(BrokenReLU(), x)["input"] > 1e-2


def test_a_slightly_wrong_backward_is_caught_too(rng):
    """A weight gradient 1% off: rel_error 0.01 / 1.99 = 5e-3, far above TOL (gradcheck.py)."""

    class SlightlyWrongLinear(Linear):
        def _backward(self, dout):
            dx = super()._backward(dout)
            self.grads["weight"] *= 0.99
            return dx

    errors = check_layer(SlightlyWrongLinear(7, 4, dtype=F64, rng=rng), rng.standard_normal((3, 7)))
    assert errors["weight"] == pytest.approx(0.01 / 1.99, rel=1e-3)
    assert errors["input"] < TOL and errors["bias"] < TOL


def test_rel_error_formula():
    assert rel_error([1.0, 2.0], [1.0, 2.0]) == 0
    assert rel_error([1.0], [3.0]) == pytest.approx(0.5)
    assert rel_error([0.0], [0.0]) == 0
    assert rel_error([1e-9], [0.0]) == pytest.approx(1e-9 / 1e-8)
