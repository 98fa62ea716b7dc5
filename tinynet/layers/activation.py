"""ReLU, and tanh (the saturating non-linearity AlexNet's Figure 1 compares ReLU with)."""

from __future__ import annotations

import numpy as np

from ..layer import Layer
from ..validate import float_input


class ReLU(Layer):
    """y = max(x, 0) elementwise, any shape. Backward passes dy where x > 0 (zero at x == 0).

    ``fused_into`` names the layer that already applies this ReLU (a Conv2D with ``relu=True``,
    see ``tinynet.layers.fusion``); forward and backward then pass their argument through.
    """

    _saved = ("_mask",)

    def __init__(self):
        super().__init__()
        self._mask = None
        self.fused_into = None

    def extra_repr(self):
        return f"fused into {self.fused_into}" if self.fused_into else ""

    def _forward(self, x):
        if self.fused_into:
            return np.asarray(x)
        x = float_input(self.label, x)
        self._mask = x > 0 if self.grad_enabled else None
        return np.maximum(x, 0, dtype=x.dtype)

    def _backward(self, dout):
        if self.fused_into:
            return dout
        return np.where(self._mask, dout, np.zeros((), dtype=dout.dtype))


class Tanh(Layer):
    """y = tanh(x) elementwise, any shape, in the input's float dtype (float64 stays float64,
    anything else becomes float32). Backward: dx = dy * (1 - y ** 2), from the saved output."""

    _saved = ("_y",)

    def __init__(self):
        super().__init__()
        self._y = None

    def _forward(self, x):
        x = float_input(self.label, x)
        y = np.tanh(x)
        self._y = y if self.grad_enabled else None
        return y

    def _backward(self, dout):
        y = self._y
        return dout * (y.dtype.type(1) - y * y)
