"""Winograd F(m x m, r x r) convolution (3x3 and 5x5): against the reference convolution, its
NumPy reference transforms and gradcheck."""

import numpy as np
import pytest

from tinynet.kernels import winograd as wk
from tinynet.reference.winograd import conv_backward as ref_backward
from tinynet.reference.winograd import conv_forward as ref_forward
from tinynet.reference.winograd import input_tiles, matrices

from ..helpers.winograd import TILES


@pytest.mark.parametrize("m,r", TILES)
@pytest.mark.parametrize(
    "n,c,k,g,hw,p",
    [(2, 4, 6, 2, (5, 7), (1, 1)), (1, 3, 2, 1, (6, 3), (0, 2)), (3, 6, 3, 3, (9, 5), (2, 0))],
)
def test_kernels_match_numpy_reference(m, r, n, c, k, g, hw, p, rng):
    x = rng.standard_normal((n, c, *hw))
    w = rng.standard_normal((k, c // g, r, r))
    b = rng.standard_normal(k)
    bt = matrices(m, r)[0]
    tile = wk.tile(m, r, np.float64)
    v = np.empty(wk.transformed_shape(tile, x.shape, c, p, g))
    wk.input_transform(tile, x, p, g, v)
    v_ref = np.einsum("ai,nctxij,bj->abntxc", bt, input_tiles(x, p, m, r), bt)  # (E, T, C)
    v_ref = v_ref.reshape(v.shape[0], v.shape[2], g, c // g).transpose(0, 2, 1, 3)
    np.testing.assert_allclose(v, v_ref, rtol=1e-12, atol=1e-12)
    u = np.empty((tile.alpha**2, g, c // g, k // g))
    wk.filter_transform(tile, w, g, u)
    y_ref = ref_forward(x, w, b, p, g, m)
    y = np.empty_like(y_ref)
    wk.output_transform(tile, np.matmul(v, u), b, y)
    np.testing.assert_allclose(y, y_ref, rtol=1e-12, atol=1e-12)
    dy = rng.standard_normal(y.shape)
    rdx, rdw, rdb = ref_backward(x, w, dy, p, g, m)
    wt, db = np.empty(wk.transformed_shape(tile, x.shape, k, p, g)), np.zeros(k)
    wk.dy_transform(tile, dy, g, wt, db)
    dw = wk.filter_transform_t(tile, np.matmul(wt.transpose(0, 1, 3, 2), v), np.empty_like(w))
    dx = wk.input_transform_t(tile, np.matmul(wt, u.transpose(0, 1, 3, 2)), p, np.empty_like(x))
    for got, want in ((dx, rdx), (dw, rdw), (db, rdb)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
