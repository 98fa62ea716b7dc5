"""Stochastic gradient descent with momentum and weight decay, as in the AlexNet paper."""

from __future__ import annotations

import numpy as np

from ..backends import is_reference
from ..validate import check_keys, fraction, non_negative, parameter_triples

__all__ = ["SGD", "default_decay_filter"]

_CHUNK = 1 << 16  # the fast step goes by pieces this long, which stay in L2 cache

_CHECKS = {  # hyperparameter -> its validator
    "lr": lambda value: non_negative("SGD: learning rate (lr)", value),
    "momentum": lambda value: fraction("SGD: momentum", value),
    "weight_decay": lambda value: non_negative("SGD: weight_decay", value),
}


def default_decay_filter(name: str) -> bool:
    """True for weights (``"weight"``, ``"conv1.weight"``...), False for biases and the rest."""
    return name == "weight" or name.endswith(".weight")


def _hyperparameter(key: str) -> property:
    def set_value(self, value) -> None:
        self._hyper[key] = _CHECKS[key](value)

    return property(lambda self: self._hyper[key], set_value, doc=f"{key} (settable, checked)")


class SGD:
    """SGD with momentum and weight decay: the update rule of Krizhevsky et al. 2012, section 5.

    For each parameter ``w``, with velocity ``v`` (zeros at first, ``w``'s dtype) and
    ``wd = weight_decay`` if ``decay_filter(name)`` else 0, ``step()`` does in place::

        v <- momentum * v - wd * lr * w - lr * grad
        w <- w + v

    ``named_parameters``: (name, param, grad) triples of same-shaped float arrays, e.g.
    ``model.named_parameters()``, read once; the arrays are kept by reference (backward writes
    grad, step writes param). ``lr``, ``momentum`` (in [0, 1)) and ``weight_decay`` may be set at
    any time. The default filter exempts biases, as Caffe's bvlc_alexnet does; the paper decays
    every parameter (``decay_filter=lambda name: True``). On the reference backend
    (``tinynet.set_backend``) ``step()`` is these two lines on whole arrays; on the fast one, the
    same arithmetic in cache-sized pieces without temporaries.

    PyTorch's ``SGD`` does ``b <- momentum * b + grad + wd * w; w <- w - lr * b``: the same
    trajectory at constant lr, with ``v == -lr * b``; after an lr change, ``v`` here still carries
    steps of the old lr (fading at rate ``momentum``), whereas PyTorch rescales all of ``b``.
    """

    lr = _hyperparameter("lr")
    momentum = _hyperparameter("momentum")
    weight_decay = _hyperparameter("weight_decay")

    def __init__(
        self, named_parameters, lr: float, momentum=0.0, weight_decay=0.0, decay_filter=None
    ) -> None:
        self._hyper: dict[str, float] = {}
        self.lr, self.momentum, self.weight_decay = lr, momentum, weight_decay
        decay_filter = default_decay_filter if decay_filter is None else decay_filter
        if not callable(decay_filter):
            raise ValueError(f"SGD: decay_filter must be callable or None, got {decay_filter!r}")
        self._velocity, self._decayed, self._whole, self._pieces = {}, [], [], []
        scratch = {}  # one buffer per dtype
        for name, (param, grad) in parameter_triples("SGD", named_parameters).items():
            velocity = self._velocity[name] = np.zeros(param.shape, param.dtype)
            decay = bool(decay_filter(name))
            self._decayed += [name] if decay else []
            self._whole.append((decay, param, grad, velocity))
            buffer = scratch.setdefault(param.dtype, np.empty(_CHUNK, param.dtype))
            pieces = _pieces(param, grad, velocity, buffer)  # (param, grad, velocity, scratch)
            self._pieces += [(decay, *piece) for piece in pieces]

    @property
    def param_names(self) -> tuple[str, ...]:
        """Parameter names, in the order they were given."""
        return tuple(self._velocity)

    @property
    def decayed_names(self) -> tuple[str, ...]:
        """Names of the parameters that receive weight decay."""
        return tuple(self._decayed)

    def velocity(self, name: str) -> np.ndarray:
        """The live velocity buffer of parameter ``name`` (not a copy)."""
        if name not in self._velocity:
            raise KeyError(f"no parameter named {name!r}")
        return self._velocity[name]

    def step(self) -> None:
        """Apply one update to every parameter, in place, using the current ``grad`` arrays."""
        if is_reference():
            self._reference_step()
        else:
            self._fast_step()

    def _reference_step(self) -> None:
        """The paper's rule, whole arrays: the specification of ``_fast_step``."""
        lr, momentum = self.lr, self.momentum
        for decay, w, g, v in self._whole:
            wd = self.weight_decay if decay else 0.0
            v[...] = momentum * v - wd * lr * w - lr * g
            w += v

    def _fast_step(self) -> None:
        """The same arithmetic in the same order, piece by piece, into preallocated buffers."""
        lr, momentum, wd_lr = self.lr, self.momentum, self.weight_decay * self.lr
        for decay, w, g, v, scratch in self._pieces:
            v *= momentum
            if decay and wd_lr:
                v -= np.multiply(w, wd_lr, out=scratch)
            v -= np.multiply(g, lr, out=scratch)
            w += v

    def state_dict(self) -> dict:
        """``lr``, ``momentum``, ``weight_decay`` (0-d float64) and ``velocity.<name>`` copies."""
        state = {key: np.array(value, np.float64) for key, value in self._hyper.items()}
        state.update({f"velocity.{name}": v.copy() for name, v in self._velocity.items()})
        return state

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict`` saved; validates everything before changing anything.

        Hyperparameters as the setters check them (NaN refused); velocities floating point
        arrays of the parameters' shapes, finite (a NaN would spread into the weights)."""
        velocities = {f"velocity.{name}": v for name, v in self._velocity.items()}
        check_keys("SGD", state, [*_CHECKS, *velocities])
        hyper = {key: check(state[key]) for key, check in _CHECKS.items()}
        for key, velocity in velocities.items():
            src = np.asarray(state[key])
            if src.shape != velocity.shape or src.dtype.kind != "f":
                raise ValueError(
                    f"SGD: {key} in the state is {src.dtype} of shape {src.shape}; "
                    f"expected floating point of shape {velocity.shape}"
                )
            if not np.all(np.isfinite(src)):
                raise ValueError(f"SGD: {key} holds NaN or infinite values")
        for key, velocity in velocities.items():
            np.copyto(velocity, state[key], casting="same_kind")
        self._hyper = hyper

    def __repr__(self) -> str:
        hyper = ", ".join(f"{key}={value!r}" for key, value in self._hyper.items())
        return f"SGD({hyper}, params={len(self._velocity)}, decayed={len(self._decayed)})"


def _pieces(param, grad, velocity, scratch) -> list[tuple[np.ndarray, ...]]:
    """(param, grad, velocity, scratch) views of <= _CHUNK elements; whole if flattening copies."""
    if not (param.flags.c_contiguous and grad.flags.c_contiguous):
        return [(param, grad, velocity, np.empty_like(param))]
    p, g, v = param.reshape(-1), grad.reshape(-1), velocity.reshape(-1)
    chunks = (slice(i, i + _CHUNK) for i in range(0, p.size, _CHUNK))
    return [(p[c], g[c], v[c], scratch[: p[c].size]) for c in chunks]
