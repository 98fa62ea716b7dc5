"""Inverted dropout."""

from __future__ import annotations

import numpy as np

from ..layer import Layer
from ..validate import float_input, fraction


class Dropout(Layer):
    """Zero each element with probability p in training and scale the rest by 1/(1-p).

    In eval mode (``layer.eval()``) it is the identity, so nothing changes at test time.
    The mask comes from ``rng`` (a ``np.random.Generator``; a fresh unseeded one if None), whose
    state is saved in ``state_dict()["rng"]`` so a resumed run draws the same masks.
    """

    _saved = ("_mask",)

    def __init__(self, p=0.5, rng=None):
        super().__init__()
        self.p = fraction("Dropout: p", p)
        self.rng = np.random.default_rng() if rng is None else rng
        self._mask = None

    def extra_repr(self):
        return f"p={self.p}"

    def _forward(self, x):
        x = float_input(self.label, x)
        if not self.training or self.p == 0:
            self._mask = None
            return x
        keep = self.rng.random(x.shape, dtype=x.dtype) >= self.p
        mask = keep * x.dtype.type(1 / (1 - self.p))  # 0 or 1/(1-p), x's dtype
        self._mask = mask if self.grad_enabled else None
        return x * mask

    def _backward(self, dout):
        return dout if self._mask is None else dout * self._mask
