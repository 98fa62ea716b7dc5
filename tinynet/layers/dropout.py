"""Inverted dropout."""
from __future__ import annotations

import numpy as np

from .._checks import float_input, own_dtype
from ..layer import Layer


class Dropout(Layer):
    """Zero each element with probability p in training and scale the rest by 1/(1-p).

    In eval mode (``layer.eval()``) it is the identity, so nothing changes at test time.
    The mask comes from ``rng`` (a ``np.random.Generator``; a fresh unseeded one if None).
    """

    def __init__(self, p=0.5, rng=None):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p!r}")
        self.p = float(p)
        self.rng = np.random.default_rng() if rng is None else rng
        self._mask = None

    def extra_repr(self):
        return f"p={self.p}"

    def forward(self, x):
        x = float_input(x, own_dtype(np.asarray(x)))
        if not self.training or self.p == 0:
            self._mask = None
            return x
        keep = self.rng.random(x.shape, dtype=x.dtype) >= self.p
        self._mask = keep * x.dtype.type(1 / (1 - self.p))      # 0 or 1/(1-p), x's dtype
        return x * self._mask

    def backward(self, dout):
        dout = np.asarray(dout)
        if self._mask is None:
            return dout
        if dout.shape != self._mask.shape:
            raise ValueError(f"Dropout: expected a gradient of shape {self._mask.shape}, "
                             f"got {dout.shape}")
        return dout * self._mask
