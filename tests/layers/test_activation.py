"""Finite-difference gradient checks, float64, relative error below 1e-6, for every layer.

The convolution and the stacked network are checked on both backends (``BACKENDS``); pooling
and LRN on both in ``test_backends_pool_lrn_sgd.py``.
"""

import numpy as np

from tinynet.gradcheck import check_layer
from tinynet.layers import ReLU, Tanh

from ..helpers.gradients import assert_small


def test_relu(rng):
    x = rng.standard_normal((3, 4, 5))
    x[np.abs(x) < 1e-3] = 0.5  # stay away from the kink, where differences are meaningless
    assert_small(check_layer(ReLU(), x))


def test_tanh(rng):
    x = 2 * rng.standard_normal((3, 4, 5))  # tanh is smooth: no kink to avoid
    assert_small(check_layer(Tanh(), x))


def test_tanh_values_and_dtypes(rng):
    x = rng.standard_normal((2, 3))
    for dtype in (np.float32, np.float64):
        layer = Tanh()
        y = layer.forward(x.astype(dtype))
        assert y.dtype == dtype
        np.testing.assert_allclose(y, np.tanh(x), rtol=1e-6)
        dx = layer.backward(np.ones_like(y))
        assert dx.dtype == dtype
        np.testing.assert_allclose(dx, 1 - np.tanh(x) ** 2, rtol=1e-5, atol=1e-6)
    assert Tanh().forward(np.arange(3)).dtype == np.float32  # integers compute in float32
    # saturation, the reason for Figure 1 of the paper: almost no gradient far from 0
    layer = Tanh()
    layer.forward(np.array([[0.0, 5.0, -5.0]]))
    assert layer.backward(np.ones((1, 3))).tolist()[0][0] == 1.0
