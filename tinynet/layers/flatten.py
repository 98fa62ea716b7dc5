"""Flatten everything but the batch axis."""
from __future__ import annotations

import numpy as np

from ..layer import Layer


class Flatten(Layer):
    """(N, d1, d2, ...) -> (N, d1*d2*...), in C order (so NCHW flattens channel-major)."""

    def __init__(self):
        super().__init__()
        self._shape = None

    def forward(self, x):
        x = np.asarray(x)
        if x.ndim < 1:
            raise ValueError(f"Flatten: expected at least a batch axis, got shape {x.shape}")
        self._shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dout):
        if self._shape is None:
            raise RuntimeError("Flatten: backward called before forward")
        dout = np.asarray(dout)
        if dout.size != int(np.prod(self._shape)):
            raise ValueError(f"Flatten: gradient of shape {dout.shape} does not match the "
                             f"input shape {self._shape}")
        return dout.reshape(self._shape)
