"""The base class every layer derives from: parameters, gradients, train/eval and state."""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from .validate import check_state, numeric

_AFTER_NO_GRAD = (
    "backward after a forward under no_grad() (or evaluating()), which keeps nothing for "
    "backward; run forward again outside it"
)
_AFTER_BACKWARD = (
    "backward called twice after one forward (the first one released what forward kept); "
    "run forward again"
)


class Layer:
    """A layer with a hand-written forward and backward pass.

    A subclass writes ``_forward(x) -> y`` and ``_backward(dout) -> dx`` (Caffe's
    ``Forward_cpu``/``Backward_cpu``); the public ``forward``/``backward`` around them check, once
    for every layer, that backward comes after a forward and that ``dout`` has the output's shape.

    ``params`` and ``grads`` map a name (``"weight"``, ``"bias"``) to arrays of the same shape.
    Gradient arrays are allocated once and overwritten in place by every ``backward``; they are
    not accumulated across calls, so no ``zero_grad`` is needed. A layer that draws random
    numbers owns a ``np.random.Generator`` in ``rng``, whose state is part of ``state_dict()``.
    ``name`` is set by the ``Sequential`` holding the layer and appears in error messages.
    """

    #: Attributes holding what forward keeps for backward; backward releases them (set to None).
    _saved: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.training = True
        self.grad_enabled = True  # False under no_grad(): forward keeps nothing for backward
        self.rng: np.random.Generator | None = None
        self.name: str | None = None
        self._out_shape: tuple[int, ...] | None = None  # None: backward cannot run now, ...
        self._no_backward = "backward called before forward"  # ... and this says why

    # -- mode ---------------------------------------------------------------------------------
    def train(self, mode: bool = True) -> Layer:
        """Put the layer in training mode (``mode=False`` is the same as ``eval()``)."""
        self.training = bool(mode)
        return self

    def eval(self) -> Layer:
        """Put the layer in evaluation mode (Dropout becomes the identity)."""
        return self.train(False)

    def set_grad_enabled(self, mode: bool = True) -> Layer:
        """Whether forward keeps what backward needs (inputs, ReLU masks, pooling argmax)."""
        self.grad_enabled = bool(mode)
        return self

    @contextmanager
    def no_grad(self):
        """``with model.no_grad():`` forward keeps nothing for backward, like ``torch.no_grad()``:
        inference that is faster and holds less memory. A backward after it raises."""
        was_enabled = self.grad_enabled
        self.set_grad_enabled(False)
        try:
            yield self
        finally:
            self.set_grad_enabled(was_enabled)

    @contextmanager
    def evaluating(self):
        """``with model.evaluating():`` runs the block in eval mode and under ``no_grad()``, then
        restores both: what prediction and evaluation use."""
        was_training = self.training
        self.eval()
        try:
            with self.no_grad():
                yield self
        finally:
            self.train(was_training)

    # -- computation --------------------------------------------------------------------------
    def forward(self, x: np.ndarray) -> np.ndarray:
        y = self._forward(x)
        self._out_shape = y.shape if self.grad_enabled else None
        self._no_backward = _AFTER_NO_GRAD
        return y

    def backward(self, dout: np.ndarray) -> np.ndarray | None:
        """dL/d(input) from dL/d(output); fills ``grads`` as a side effect."""
        if self._out_shape is None:
            raise RuntimeError(f"{self.label}: {self._no_backward}")
        dout = numeric(self.label, dout)
        if dout.shape != self._out_shape:
            raise ValueError(
                f"{self.label}: expected a gradient of shape {self._out_shape}, got {dout.shape}"
            )
        dx = self._backward(dout)
        for name in self._saved:  # as PyTorch frees its graph: the step's peak memory drops
            setattr(self, name, None)
        self._out_shape, self._no_backward = None, _AFTER_BACKWARD
        return dx

    def _forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _backward(self, dout: np.ndarray) -> np.ndarray | None:
        raise NotImplementedError

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    # -- parameters and state -----------------------------------------------------------------
    def named_parameters(self):
        """Yield ``(name, param, grad)`` for each parameter of this layer."""
        for name, param in self.params.items():
            yield name, param, self.grads[name]

    def num_parameters(self) -> int:
        return sum(p.size for _, p, _ in self.named_parameters())

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter, plus ``"rng"`` (uint64, see ``rng_state``) if ``rng``."""
        return {name: value.copy() for name, value in self._state().items()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Copy arrays into the parameters in place; ValueError on missing, extra or misshaped."""
        check_state(self.label, self._state(), state)
        for name, param in self.params.items():
            param[...] = state[name]
        if self.rng is not None:
            set_rng_state(self.rng, state["rng"])

    def state_shapes(self) -> dict[str, tuple[int, ...]]:
        """The shape of each entry of ``state_dict()``, without copying anything."""
        return {key: np.shape(value) for key, value in self._state().items()}

    def _state(self) -> dict[str, np.ndarray]:
        """What ``state_dict()`` copies, uncopied: the parameters themselves and the rng's state
        (``load_state_dict`` checks shapes against it without copying every parameter)."""
        state = dict(self.params)
        if self.rng is not None:
            state["rng"] = rng_state(self.rng)
        return state

    # -- names --------------------------------------------------------------------------------
    @property
    def label(self) -> str:
        """How errors name this layer: ``conv2 = Conv2D(...)``, or the repr alone."""
        return f"{self.name} = {self!r}" if self.name else repr(self)

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"

    def _add_param(self, name: str, value: np.ndarray) -> None:
        self.params[name] = value
        self.grads[name] = np.zeros_like(value)


def rng_state(rng: np.random.Generator) -> np.ndarray:
    """A PCG64 generator's whole state as 6 uint64 (state and increment as 128-bit halves)."""
    s = rng.bit_generator.state
    if s["bit_generator"] != "PCG64":
        raise ValueError(f"only PCG64 generators can be saved, got {s['bit_generator']}")
    state, inc = s["state"]["state"], s["state"]["inc"]
    words = (state >> 64, state & (2**64 - 1), inc >> 64, inc & (2**64 - 1))
    return np.array([*words, s["has_uint32"], s["uinteger"]], dtype=np.uint64)


def set_rng_state(rng: np.random.Generator, words: np.ndarray) -> None:
    """Restore a state saved by ``rng_state``."""
    hi, lo, inc_hi, inc_lo, has_uint32, uinteger = (int(w) for w in np.asarray(words))
    rng.bit_generator.state = {
        "bit_generator": "PCG64",
        "state": {"state": hi << 64 | lo, "inc": inc_hi << 64 | inc_lo},
        "has_uint32": has_uint32,
        "uinteger": uinteger,
    }
