"""MaxPool2D, LocalResponseNorm and SGD on both backends: correct gradients, the same results,
and a backward that runs the code its forward ran."""

from __future__ import annotations

import numpy as np

import tinynet


def run(layer, x, dy, backend):
    """(y, dx) of one forward and backward of ``layer`` on ``backend``."""
    with tinynet.backend(backend):
        y = layer.forward(x)
        return y, layer.backward(dy)


def assert_agree(actual, expected):
    """Equal up to the rounding of their dtype (128 ulps: float64 ~3e-14, float32 ~2e-5) relative
    to each value and to the largest one (LRN's backward subtracts nearly equal terms)."""
    assert actual.dtype == expected.dtype
    tol = 128 * np.finfo(expected.dtype).eps
    scale = max(1.0, float(np.abs(expected).max(initial=0)))
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol * scale)
