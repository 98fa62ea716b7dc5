"""The base class every layer derives from: parameters, gradients and the train/eval flag."""
from __future__ import annotations

import numpy as np


class Layer:
    """A layer with a hand-written forward and backward pass.

    ``params`` and ``grads`` map a name (``"weight"``, ``"bias"``) to arrays of the same shape.
    Gradient arrays are allocated once and overwritten in place by every ``backward``; they are
    not accumulated across calls, so no ``zero_grad`` is needed.
    """

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.training = True

    # -- mode ---------------------------------------------------------------------------------
    def train(self, mode: bool = True) -> "Layer":
        """Put the layer in training mode (``mode=False`` is the same as ``eval()``)."""
        self.training = bool(mode)
        return self

    def eval(self) -> "Layer":
        """Put the layer in evaluation mode (Dropout becomes the identity)."""
        return self.train(False)

    # -- computation --------------------------------------------------------------------------
    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dout: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    # -- parameters ---------------------------------------------------------------------------
    def named_parameters(self):
        """Yield ``(name, param, grad)`` for each parameter of this layer."""
        for name, param in self.params.items():
            yield name, param, self.grads[name]

    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter, keyed by name."""
        return {name: param.copy() for name, param in self.params.items()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Copy arrays into the parameters in place (shapes must match exactly)."""
        from .state import load_into

        load_into(self.params, state, owner=type(self).__name__)

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"

    def _add_param(self, name: str, value: np.ndarray) -> None:
        self.params[name] = value
        self.grads[name] = np.zeros_like(value)
