"""Finite-difference gradient checks, float64, relative error below 1e-6, for every layer.

The convolution and the stacked network are checked on both backends (``BACKENDS``); pooling
and LRN on both in ``test_backends_pool_lrn_sgd.py``.
"""

from tinynet.gradcheck import check_layer
from tinynet.layers import Flatten

from ..helpers.gradients import assert_small


def test_flatten(rng):
    assert_small(check_layer(Flatten(), rng.standard_normal((2, 3, 2, 2))))
