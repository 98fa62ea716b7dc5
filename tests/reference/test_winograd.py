"""Winograd F(m x m, r x r) convolution (3x3 and 5x5): against the reference convolution, its
NumPy reference transforms and gradcheck."""

import numpy as np
import pytest

from tinynet.reference.conv import conv2d, conv2d_backward
from tinynet.reference.winograd import MATRICES, matrices
from tinynet.reference.winograd import conv_backward as ref_backward
from tinynet.reference.winograd import conv_forward as ref_forward

from ..helpers.winograd import TILES


@pytest.mark.parametrize("m,r", TILES)
def test_matrices_compute_1d_correlation_exactly(m, r, rng):
    bt, g, at = matrices(m, r)
    assert bt.shape == (m + r - 1,) * 2 and g.shape == (m + r - 1, r) and at.shape == (m, m + r - 1)
    d, f = rng.standard_normal((100, m + r - 1)), rng.standard_normal((100, r))
    y = np.einsum("ia,na->ni", at, (f @ g.T) * (d @ bt.T))
    direct = np.stack([np.einsum("nj,nj->n", d[:, i : i + r], f) for i in range(m)], axis=1)
    np.testing.assert_allclose(y, direct, rtol=0, atol=1e-13)
    assert set(MATRICES) == set(TILES)


@pytest.mark.parametrize("m,r", TILES)
def test_numpy_reference_matches_the_reference_convolution(m, r, rng):
    x, w, b = rng.standard_normal((2, 4, 7, 5)), rng.standard_normal((6, 2, r, r)), np.ones(6)
    p = (r // 2, r // 2 - 1)
    y = ref_forward(x, w, b, p, 2, m)
    np.testing.assert_allclose(y, conv2d(x, w, b, (1, 1), p, 2), atol=1e-12)
    dy = rng.standard_normal(y.shape)
    direct = conv2d_backward(x, w, dy, (1, 1), p, 2)
    for got, want in zip(ref_backward(x, w, dy, p, 2, m), direct):
        np.testing.assert_allclose(got, want, atol=1e-12)
