"""AdaptiveAvgPool2D: PyTorch's bins, its gradient, and its argument checks."""

import numpy as np
import pytest

from tinynet.gradcheck import check_layer
from tinynet.layers import AdaptiveAvgPool2D

from ..helpers.adaptive_pool import reference

# (input H, W) -> (output h, w): divisible, not divisible, output larger than input, 1x1, mixed
CASES = [
    ((12, 8), (6, 4)),
    ((13, 7), (6, 3)),
    ((3, 5), (6, 7)),
    ((9, 10), (1, 1)),
    ((5, 11), (5, 2)),
    ((1, 1), (2, 3)),
]


@pytest.mark.parametrize("in_hw,out_hw", CASES)
def test_forward_matches_the_definition(rng, in_hw, out_hw):
    x = rng.standard_normal((2, 3, *in_hw))
    y = AdaptiveAvgPool2D(out_hw).forward(x)
    assert y.shape == (2, 3, *out_hw) and y.dtype == np.float64
    np.testing.assert_allclose(y, reference(x, out_hw), rtol=1e-12, atol=1e-12)


def test_int_output_size_and_dtypes(rng):
    x = rng.standard_normal((1, 2, 7, 9)).astype(np.float32)
    y = AdaptiveAvgPool2D(3).forward(x)
    assert y.shape == (1, 2, 3, 3) and y.dtype == np.float32
    assert AdaptiveAvgPool2D(2).forward(np.ones((1, 1, 4, 4), np.int64)).dtype == np.float32


@pytest.mark.parametrize("in_hw,out_hw", CASES)
def test_gradient_finite_differences(rng, in_hw, out_hw):
    x = rng.standard_normal((2, 2, *in_hw))
    errors = check_layer(AdaptiveAvgPool2D(out_hw), x, seed=1)
    assert errors["input"] < 1e-6, errors


def test_backward_does_not_write_into_its_argument(rng):
    layer = AdaptiveAvgPool2D((2, 3))
    layer.forward(rng.standard_normal((1, 1, 5, 5)))
    dout = rng.standard_normal((1, 1, 2, 3))
    kept = dout.copy()
    assert layer.backward(dout).shape == (1, 1, 5, 5)
    np.testing.assert_array_equal(dout, kept)


@pytest.mark.torch
def test_matches_torch(rng):
    torch = pytest.importorskip("torch")
    for in_hw, out_hw in CASES:
        x = rng.standard_normal((2, 3, *in_hw))
        dy = rng.standard_normal((2, 3, *out_hw))
        layer = AdaptiveAvgPool2D(out_hw)
        xt = torch.tensor(x, requires_grad=True)
        yt = torch.nn.functional.adaptive_avg_pool2d(xt, out_hw)
        yt.backward(torch.tensor(dy))
        np.testing.assert_allclose(layer.forward(x), yt.detach().numpy(), atol=1e-12)
        np.testing.assert_allclose(layer.backward(dy), xt.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize("output_size", [0, (6, 0), -1, 2.5, (2, 3, 4), "6", True, None])
def test_bad_output_size_names_the_layer(output_size):
    with pytest.raises(ValueError, match=r"AdaptiveAvgPool2D\(output_size="):
        AdaptiveAvgPool2D(output_size)


def test_bad_inputs_name_the_layer():
    layer = AdaptiveAvgPool2D(2)
    for x in [np.zeros((2, 3, 4)), np.zeros((1, 1, 4, 4), bool), np.zeros((1, 1, 0, 4))]:
        with pytest.raises(ValueError, match=r"AdaptiveAvgPool2D\(output_size"):
            layer.forward(x)
    layer.forward(np.zeros((1, 1, 4, 4)))
    with pytest.raises(ValueError, match="expected a gradient of shape"):
        layer.backward(np.zeros((1, 1, 4, 4)))
