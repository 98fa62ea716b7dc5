"""ReLU."""
from __future__ import annotations

import numpy as np

from .._checks import float_input, own_dtype
from ..layer import Layer


class ReLU(Layer):
    """y = max(x, 0) elementwise, any shape. Backward passes dy where x > 0 (zero at x == 0).

    ``fused_into`` names the layer that already applies this ReLU (a Conv2D with ``relu=True``,
    see ``tinynet.fusion``); forward and backward then pass their argument through unchanged.
    """

    def __init__(self):
        super().__init__()
        self._mask = None
        self.fused_into = None

    def extra_repr(self):
        return f"fused into {self.fused_into}" if self.fused_into else ""

    def forward(self, x):
        if self.fused_into:
            return x
        x = float_input(x, own_dtype(np.asarray(x)))
        self._mask = x > 0
        return np.maximum(x, 0, dtype=x.dtype)

    def backward(self, dout):
        if self.fused_into:
            return dout
        if self._mask is None:
            raise RuntimeError("ReLU: backward called before forward")
        dout = np.asarray(dout)
        if dout.shape != self._mask.shape:
            raise ValueError(f"ReLU: expected a gradient of shape {self._mask.shape}, "
                             f"got {dout.shape}")
        return np.where(self._mask, dout, np.zeros((), dtype=dout.dtype))
