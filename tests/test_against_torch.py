"""Optional: agreement with PyTorch where it is installed (skipped otherwise)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tinynet.layers import Conv2D, LocalResponseNorm, MaxPool2D  # noqa: E402


def test_lrn_matches_torch(rng):
    x = rng.standard_normal((2, 9, 4, 5)) * 3
    dy = rng.standard_normal(x.shape)
    for size in (5, 4):
        layer = LocalResponseNorm(size, 0.3, 0.75, 2.0)
        y = layer.forward(x)
        xt = torch.tensor(x, requires_grad=True)
        yt = torch.nn.LocalResponseNorm(size, 0.3, 0.75, 2.0)(xt)
        yt.backward(torch.tensor(dy))
        np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(layer.backward(dy), xt.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_conv_and_pool_match_torch(rng):
    x = rng.standard_normal((2, 4, 9, 7))
    conv = Conv2D(4, 6, (3, 2), stride=(2, 1), padding=(1, 1), groups=2, dtype=np.float64, rng=rng)
    tconv = torch.nn.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 1), groups=2).double()
    with torch.no_grad():
        tconv.weight.copy_(torch.tensor(conv.params["weight"]))
        tconv.bias.copy_(torch.tensor(conv.params["bias"]))
    np.testing.assert_allclose(conv.forward(x), tconv(torch.tensor(x)).detach().numpy(), atol=1e-12)
    pool = MaxPool2D(3, 2, 1)
    np.testing.assert_array_equal(
        pool.forward(x), torch.nn.functional.max_pool2d(torch.tensor(x), 3, 2, 1).numpy()
    )
