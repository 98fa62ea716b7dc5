"""Tests of ``tinynet.layers.linear``."""

import numpy as np
import pytest

from tinynet.gradcheck import check_layer
from tinynet.layers import Linear

from ..helpers.gradients import F64, assert_small


def test_linear_by_hand():
    lin = Linear(2, 1, dtype=np.float64)
    lin.params["weight"][...] = [[2, -1]]
    lin.params["bias"][...] = 3
    np.testing.assert_array_equal(lin.forward(np.array([[1.0, 4.0]])), [[1.0]])


def test_linear(rng):
    assert_small(check_layer(Linear(7, 4, dtype=F64, rng=rng), rng.standard_normal((3, 7))))


def test_linear_wrong_features():
    with pytest.raises(ValueError, match=r"Linear\(8, 2\).*8 channels/features.*\(3, 7\)"):
        Linear(8, 2).forward(np.zeros((3, 7), np.float32))
    with pytest.raises(ValueError, match=r"Linear.*2-d.*\(3, 2, 4\)"):
        Linear(8, 2).forward(np.zeros((3, 2, 4), np.float32))
