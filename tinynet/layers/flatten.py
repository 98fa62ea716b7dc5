"""Flatten everything but the batch axis."""

from __future__ import annotations

from ..layer import Layer
from ..validate import batched, numeric


class Flatten(Layer):
    """(N, d1, d2, ...) -> (N, d1*d2*...), in C order (so NCHW flattens channel-major).

    Any numeric dtype passes through unchanged (see ``tinynet.validate.numeric``).
    """

    _saved = ("_shape",)

    def __init__(self):
        super().__init__()
        self._shape = None

    def _forward(self, x):
        x = batched(self.label, numeric(self.label, x))
        self._shape = x.shape if self.grad_enabled else None
        return x.reshape(x.shape[0], -1)

    def _backward(self, dout):
        return dout.reshape(self._shape)
