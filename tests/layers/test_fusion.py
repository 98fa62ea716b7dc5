"""Finite-difference gradient checks, float64, relative error below 1e-6, for every layer.

The convolution and the stacked network are checked on both backends (``BACKENDS``); pooling
and LRN on both in ``test_backends_pool_lrn_sgd.py``.
"""

import numpy as np
import pytest

import tinynet
from tinynet.backends import BACKENDS
from tinynet.gradcheck import check_layer
from tinynet.layers import Conv2D

from ..helpers.gradients import CONV_ON, F64, assert_small, small_network


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("stride", [1, 2])
def test_conv_with_fused_relu(stride, backend, rng):
    conv = Conv2D(4, 6, 3, stride, padding=1, groups=2, dtype=F64, rng=rng, relu=True)
    x = rng.standard_normal((2, 4, 5, 6))
    with tinynet.backend(backend):
        assert conv.algorithm_for(x.shape).name == CONV_ON[backend]
        y = conv.forward(x)
        assert y.min() == 0 and (y > 0).any()
        assert_small(check_layer(conv, x))


def test_fused_model_matches_unfused(rng):
    from tinynet.layers import fuse_conv_relu, unfuse

    model, reseed = small_network(rng)
    x = rng.standard_normal((3, 4, 7, 5))
    dy = rng.standard_normal((3, 5))
    reseed()
    y_plain, dx_plain = model.forward(x), model.backward(dy)
    grads_plain = {n: g.copy() for n, _, g in model.named_parameters()}
    assert fuse_conv_relu(model) == ["relu"]
    assert model["conv"].relu and model["relu"].fused_into == "conv"
    reseed()
    np.testing.assert_array_equal(model.forward(x), y_plain)
    np.testing.assert_array_equal(model.backward(dy), dx_plain)
    for n, _, g in model.named_parameters():
        np.testing.assert_array_equal(g, grads_plain[n])
    unfuse(model)
    assert not model["conv"].relu and model["relu"].fused_into is None
