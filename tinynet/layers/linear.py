"""Fully connected layer."""
from __future__ import annotations

import math

import numpy as np

from .._checks import check_input, float_input
from ..blas import matmul
from ..layer import Layer


class Linear(Layer):
    """y = x @ weight.T + bias; x (N, in_features) -> (N, out_features).

    ``weight`` is (out_features, in_features) and ``bias`` (out_features,) in ``dtype``, initialised
    like PyTorch's: U(-1/sqrt(in_features), 1/sqrt(in_features)).
    """

    def __init__(self, in_features, out_features, dtype=np.float32, rng=None):
        super().__init__()
        if in_features <= 0 or out_features <= 0:
            raise ValueError(f"Linear({in_features}, {out_features}): sizes must be positive")
        self.in_features, self.out_features = in_features, out_features
        self.dtype = np.dtype(dtype)
        rng = np.random.default_rng() if rng is None else rng
        bound = 1 / math.sqrt(in_features)
        self._add_param("weight", rng.uniform(-bound, bound, (out_features, in_features))
                        .astype(self.dtype))
        self._add_param("bias", rng.uniform(-bound, bound, out_features).astype(self.dtype))
        self._x = None

    def extra_repr(self):
        return f"{self.in_features}, {self.out_features}"

    def forward(self, x):
        x = check_input(x, f"Linear({self.extra_repr()})", 2, self.in_features)
        x = float_input(x, self.dtype)
        self._x = x
        y = matmul(x, self.params["weight"].T)
        y += self.params["bias"]
        return y

    def backward(self, dout):
        if self._x is None:
            raise RuntimeError(f"Linear({self.extra_repr()}): backward called before forward")
        dout = np.asarray(dout)
        expected = (self._x.shape[0], self.out_features)
        if dout.shape != expected:
            raise ValueError(f"Linear({self.extra_repr()}): expected a gradient of shape "
                             f"{expected}, got {dout.shape}")
        dout = float_input(dout, self.dtype)
        matmul(dout.T, self._x, out=self.grads["weight"])
        np.sum(dout, axis=0, out=self.grads["bias"])
        return matmul(dout, self.params["weight"])
