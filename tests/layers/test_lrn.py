"""Tests of ``tinynet.layers.lrn``."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinynet
from tinynet.backends import BACKENDS
from tinynet.gradcheck import check_layer
from tinynet.layers import LocalResponseNorm

from ..helpers.backends import assert_agree, run
from ..helpers.gradients import assert_small


@pytest.mark.torch
def test_lrn_matches_torch(rng):
    torch = pytest.importorskip("torch")
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


LRN_CASES = [(5, 1e-4, 0.75, 2.0), (5, 0.5, 0.75, 1.0), (4, 0.3, 0.6, 1.5), (3, 2.0, 1.2, 1.0)]


# ------------------------------------------------------------------------------- gradient checks
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("size,alpha,beta,k", LRN_CASES)
def test_lrn_gradient(backend, size, alpha, beta, k, rng):
    x = rng.standard_normal((2, 7, 3, 4)) * 2
    with tinynet.backend(backend):
        errors = check_layer(LocalResponseNorm(size, alpha, beta, k), x)
    assert errors and max(errors.values()) < 1e-6, errors


@given(
    st.tuples(st.integers(1, 3), st.integers(1, 8), st.integers(1, 5), st.integers(1, 5)),
    st.sampled_from(LRN_CASES),
    st.sampled_from([np.float32, np.float64]),
    st.integers(0, 2**31),
)
def test_lrn_backends_agree(shape, case, dtype, seed):
    rng = np.random.default_rng(seed)
    lrn = LocalResponseNorm(*case)
    x = (rng.standard_normal(shape) * 2).astype(dtype)
    dy = rng.standard_normal(shape).astype(dtype)
    y_ref, dx_ref = run(lrn, x, dy, "reference")
    y_fast, dx_fast = run(lrn, x, dy, "fast")
    assert y_ref.dtype == dx_ref.dtype == dtype
    assert_agree(y_fast, y_ref)
    assert_agree(dx_fast, dx_ref)


def test_lrn_single_channel_by_hand():
    layer = LocalResponseNorm(size=1, alpha=1.0, beta=1.0, k=1.0)
    y = layer.forward(np.array([2.0]).reshape(1, 1, 1, 1))
    assert np.isclose(y.item(), 2 / (1 + 4))


@pytest.mark.parametrize(
    "size,alpha,beta,k",
    [(5, 1e-4, 0.75, 2.0), (5, 0.5, 0.75, 1.0), (4, 0.3, 0.6, 1.5), (3, 2.0, 1.2, 1.0)],
)
def test_lrn(size, alpha, beta, k, rng):
    layer = LocalResponseNorm(size, alpha, beta, k)
    assert_small(check_layer(layer, rng.standard_normal((2, 7, 3, 4)) * 2))


def test_lrn_and_layers_produce_no_nan_on_large_finite_input(rng):
    x = (rng.standard_normal((2, 8, 5, 5)) * 1e3).astype(np.float32)
    layer = LocalResponseNorm()
    y = layer.forward(x)
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(layer.backward(np.ones_like(y))))


def test_lrn_bad_config():
    with pytest.raises(ValueError, match="LocalResponseNorm: size"):
        LocalResponseNorm(size=0)
    with pytest.raises(ValueError, match="LocalResponseNorm: need k > 0"):
        LocalResponseNorm(k=0)


def test_lrn_wrong_ndim():
    with pytest.raises(ValueError, match="LocalResponseNorm.*4-d"):
        LocalResponseNorm().forward(np.zeros((2, 4)))
