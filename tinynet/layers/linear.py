"""Fully connected layer."""

from __future__ import annotations

import math

import numpy as np

from ..layer import Layer
from ..perf.blas import matmul
from ..validate import check_input, float_input, integer


class Linear(Layer):
    """y = x @ weight.T + bias; x (N, in_features) -> (N, out_features).

    ``weight`` is (out_features, in_features) and ``bias`` (out_features,) in ``dtype``, initialised
    like PyTorch's: U(-1/sqrt(in_features), 1/sqrt(in_features)).
    """

    _saved = ("_x",)

    def __init__(self, in_features, out_features, dtype=np.float32, rng=None):
        super().__init__()
        shapes = self.param_shapes(in_features, out_features)
        self.in_features, self.out_features = in_features, out_features
        self.dtype = np.dtype(dtype)
        rng = np.random.default_rng() if rng is None else rng
        bound = 1 / math.sqrt(in_features)
        self._add_param("weight", rng.uniform(-bound, bound, shapes["weight"]).astype(self.dtype))
        self._add_param("bias", rng.uniform(-bound, bound, out_features).astype(self.dtype))
        self._x = None

    @staticmethod
    def param_shapes(in_features, out_features, **options) -> dict[str, tuple[int, ...]]:
        """``{"weight": (out_features, in_features), "bias": (out_features,)}``, checked as the
        constructor checks them; allocates nothing. ``options`` (dtype, rng) do not matter."""
        who = f"Linear({in_features}, {out_features})"
        integer(f"{who}: in_features", in_features, 1)
        integer(f"{who}: out_features", out_features, 1)
        return {"weight": (out_features, in_features), "bias": (out_features,)}

    def extra_repr(self):
        return f"{self.in_features}, {self.out_features}"

    def _forward(self, x):
        x = float_input(self.label, check_input(self.label, x, 2, self.in_features), self.dtype)
        self._x = x if self.grad_enabled else None
        y = np.empty((x.shape[0], self.out_features), dtype=self.dtype)
        # y^T = weight @ x^T: OpenBLAS is faster with the weight as the left operand
        # (docs/performance.md, "The measurements behind the code").
        np.add(matmul(self.params["weight"], x.T).T, self.params["bias"], out=y)
        return y

    def _backward(self, dout):
        dout = float_input(self.label, dout, self.dtype)
        matmul(dout.T, self._x, out=self.grads["weight"])
        np.sum(dout, axis=0, out=self.grads["bias"])
        return matmul(dout, self.params["weight"])
