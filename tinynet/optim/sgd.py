"""Stochastic gradient descent with momentum and weight decay, as in the AlexNet paper.

The update rule is the one written in Krizhevsky, Sutskever & Hinton (2012), section 5::

    v <- momentum * v - weight_decay * lr * w - lr * grad
    w <- w + v

It is applied in place, chunk by chunk, with one small reusable scratch buffer per dtype, so a
step over AlexNet's 61M parameters allocates nothing.
"""

from __future__ import annotations

import math
from typing import Callable, Iterable

import numpy as np

__all__ = ["SGD", "default_decay_filter"]

# Elements processed per inner chunk: 64K float32 = 256 KiB per operand, so the four operands of a
# chunk (param, grad, velocity, scratch) stay in L2 cache and the per-chunk Python overhead is noise.
_CHUNK = 1 << 16


def default_decay_filter(name: str) -> bool:
    """Return True for parameters that get weight decay by default: weights, not biases.

    A parameter is a weight if its name is ``"weight"`` or ends in ``".weight"`` (``"conv1.weight"``,
    ``"fc8.weight"``); everything else (``"fc8.bias"``, ...) is exempt.
    """
    return name == "weight" or name.endswith(".weight")


def _as_float(what: str, value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a real number, got {value!r}") from None


def _non_negative(what: str, value) -> float:
    number = _as_float(what, value)
    if not math.isfinite(number) or number < 0.0:
        raise ValueError(f"{what} must be finite and >= 0, got {value!r}")
    return number


def _check_lr(value) -> float:
    return _non_negative("learning rate", value)


def _check_momentum(value) -> float:
    momentum = _as_float("momentum", value)
    if not (0.0 <= momentum < 1.0):
        raise ValueError(f"momentum must satisfy 0 <= momentum < 1, got {value!r}")
    return momentum


def _check_weight_decay(value) -> float:
    return _non_negative("weight_decay", value)


def _scalar_from_state(state: dict, key: str) -> float:
    value = np.asarray(state[key])
    if value.size != 1:
        raise ValueError(f"optimizer state entry {key!r} must be a scalar, got shape {value.shape}")
    return float(value.reshape(()))


class _Slot:
    """One parameter: its arrays, velocity buffer, and precomputed chunk views."""

    __slots__ = ("name", "param", "grad", "velocity", "decay", "chunks")

    def __init__(self, name, param, grad, velocity, decay, chunks):
        self.name = name
        self.param = param
        self.grad = grad
        self.velocity = velocity
        self.decay = decay
        self.chunks = chunks


class SGD:
    """SGD with momentum and weight decay (biases exempt by default): the AlexNet paper's rule.

    Parameters
    ----------
    named_parameters:
        Any iterable of ``(name, param, grad)`` triples (e.g. ``model.named_parameters()``); it is
        consumed once. ``param`` and ``grad`` are same-shaped floating-point numpy arrays. The
        optimizer keeps references to both forever: the model's backward pass must overwrite
        ``grad`` in place, and ``step()`` updates ``param`` in place (the array object is never
        replaced, so other references to it stay valid).
    lr:
        Learning rate (the paper's epsilon), ``>= 0``. Settable at any time via ``opt.lr = ...``
        (that is what the learning-rate schedules do).
    momentum:
        ``0 <= momentum < 1``; the paper uses 0.9.
    weight_decay:
        ``>= 0``; the paper uses 5e-4.
    decay_filter:
        ``decay_filter(name) -> bool`` selects which parameters receive weight decay. The default
        (:func:`default_decay_filter`) decays only weights -- names equal to ``"weight"`` or ending
        in ``".weight"`` -- and exempts biases. This follows Caffe's bvlc_alexnet (biases get
        ``decay_mult: 0``) and common practice; the paper itself decays every parameter. Pass
        ``decay_filter=lambda name: True`` for the paper's exact behaviour.

    Update rule (Krizhevsky et al. 2012, section 5), per parameter, with ``wd = weight_decay`` if
    the parameter is decayed and 0 otherwise::

        v <- momentum * v - wd * lr * w - lr * grad
        w <- w + v

    Velocity buffers start at zero and have the parameter's dtype (float32 params stay float32;
    the scalars are applied in the parameter's precision).

    Relation to PyTorch: ``torch.optim.SGD(momentum=m, weight_decay=wd)`` computes
    ``b <- m * b + grad + wd * w ; w <- w - lr * b``. With a constant ``lr`` the two are the same
    trajectory, with ``v == -lr * b``. They differ right after ``lr`` changes: here the velocity
    still carries steps scaled by the *old* lr (it decays away at rate ``momentum``), whereas
    PyTorch rescales the whole accumulated buffer by the new lr immediately.
    """

    def __init__(
        self,
        named_parameters: Iterable[tuple[str, np.ndarray, np.ndarray]],
        lr: float = 0.01,
        momentum: float = 0.9,
        weight_decay: float = 5e-4,
        decay_filter: Callable[[str], bool] | None = None,
    ) -> None:
        self._lr = _check_lr(lr)
        self._momentum = _check_momentum(momentum)
        self._weight_decay = _check_weight_decay(weight_decay)
        if decay_filter is None:
            decay_filter = default_decay_filter
        elif not callable(decay_filter):
            raise ValueError(f"decay_filter must be callable or None, got {decay_filter!r}")
        self._decay_filter = decay_filter

        triples = list(named_parameters)
        if not triples:
            raise ValueError("SGD got an empty parameter list")

        seen_names: dict[str, int] = {}
        seen_params: dict[int, str] = {}
        checked = []
        for i, triple in enumerate(triples):
            try:
                name, param, grad = triple
            except (TypeError, ValueError):
                raise ValueError(
                    f"named_parameters item {i} must be a (name, param, grad) triple, got {triple!r}"
                ) from None
            if not isinstance(name, str) or not name:
                raise ValueError(f"parameter name must be a non-empty string, got {name!r}")
            if name in seen_names:
                raise ValueError(f"duplicate parameter name {name!r}")
            seen_names[name] = i
            for what, arr in (("param", param), ("grad", grad)):
                if not isinstance(arr, np.ndarray):
                    raise ValueError(
                        f"{what} of {name!r} must be a numpy array, got {type(arr).__name__}"
                    )
                if not np.issubdtype(arr.dtype, np.floating):
                    raise ValueError(f"{what} of {name!r} must be floating point, got {arr.dtype}")
            if grad.shape != param.shape:
                raise ValueError(
                    f"grad of {name!r} has shape {grad.shape}, but the parameter has shape {param.shape}"
                )
            if not param.flags.writeable:
                raise ValueError(f"parameter {name!r} is read-only; SGD updates parameters in place")
            if id(param) in seen_params:
                raise ValueError(
                    f"parameters {seen_params[id(param)]!r} and {name!r} are the same array; "
                    "it would be updated twice per step"
                )
            seen_params[id(param)] = name
            checked.append((name, param, grad))

        # One scratch buffer per parameter dtype, shared by every parameter of that dtype.
        scratch: dict[np.dtype, np.ndarray] = {}
        for _, param, _ in checked:
            n = min(param.size, _CHUNK) if _is_flat(param) else 0
            if n > scratch.get(param.dtype, np.empty(0)).size:
                scratch[param.dtype] = np.empty(n, dtype=param.dtype)
        self._scratch = scratch

        self._slots: list[_Slot] = []
        for name, param, grad in checked:
            velocity = np.zeros(param.shape, dtype=param.dtype)
            chunks = _make_chunks(param, grad, velocity, scratch.get(param.dtype))
            decay = bool(decay_filter(name))
            self._slots.append(_Slot(name, param, grad, velocity, decay, chunks))
        self._by_name = {slot.name: slot for slot in self._slots}

    # ------------------------------------------------------------------ hyperparameters
    @property
    def lr(self) -> float:
        """Current learning rate (settable; validated to be finite and >= 0)."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = _check_lr(value)

    @property
    def momentum(self) -> float:
        return self._momentum

    @momentum.setter
    def momentum(self, value: float) -> None:
        self._momentum = _check_momentum(value)

    @property
    def weight_decay(self) -> float:
        return self._weight_decay

    @weight_decay.setter
    def weight_decay(self, value: float) -> None:
        self._weight_decay = _check_weight_decay(value)

    @property
    def param_names(self) -> tuple[str, ...]:
        """Parameter names, in the order they were given."""
        return tuple(slot.name for slot in self._slots)

    @property
    def decayed_names(self) -> tuple[str, ...]:
        """Names of the parameters that receive weight decay."""
        return tuple(slot.name for slot in self._slots if slot.decay)

    def velocity(self, name: str) -> np.ndarray:
        """The live velocity buffer of parameter ``name`` (not a copy)."""
        try:
            return self._by_name[name].velocity
        except KeyError:
            raise KeyError(f"no parameter named {name!r}") from None

    # ------------------------------------------------------------------ update
    def step(self) -> None:
        """Apply one update to every parameter, in place, using the current ``grad`` arrays."""
        lr = self._lr
        momentum = self._momentum
        wd_lr = self._weight_decay * lr
        multiply, subtract, add = np.multiply, np.subtract, np.add
        for slot in self._slots:
            decay = slot.decay and wd_lr != 0.0
            for p, g, v, s in slot.chunks:
                multiply(v, momentum, out=v)          # v = momentum * v
                if decay:
                    multiply(p, wd_lr, out=s)         # s = (wd * lr) * w
                    subtract(v, s, out=v)             # v -= s
                multiply(g, lr, out=s)                # s = lr * grad
                subtract(v, s, out=v)                 # v -= s
                add(p, v, out=p)                      # w += v

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict:
        """Return a flat dict of numpy values (copies)::

            {"lr": np.array(lr), "momentum": np.array(momentum),
             "weight_decay": np.array(weight_decay),
             "velocity.<param name>": velocity array, ...}

        The scalars are 0-d float64 arrays.
        """
        state: dict = {
            "lr": np.array(self._lr, dtype=np.float64),
            "momentum": np.array(self._momentum, dtype=np.float64),
            "weight_decay": np.array(self._weight_decay, dtype=np.float64),
        }
        for slot in self._slots:
            state["velocity." + slot.name] = slot.velocity.copy()
        return state

    def load_state_dict(self, state: dict) -> None:
        """Restore ``lr``, ``momentum``, ``weight_decay`` and every velocity buffer.

        Velocities are copied into the existing buffers (which keep their dtype). Everything is
        validated before anything is changed: a missing key, a misshaped velocity (the error names
        the parameter and both shapes), an unknown key (e.g. a velocity for a parameter this
        optimizer does not have) or an invalid hyperparameter raises ``ValueError`` and leaves the
        optimizer untouched.
        """
        if not isinstance(state, dict):
            raise ValueError(f"optimizer state must be a dict, got {type(state).__name__}")
        for key in ("lr", "momentum", "weight_decay"):
            if key not in state:
                raise ValueError(f"optimizer state is missing {key!r}")
        lr = _check_lr(_scalar_from_state(state, "lr"))
        momentum = _check_momentum(_scalar_from_state(state, "momentum"))
        weight_decay = _check_weight_decay(_scalar_from_state(state, "weight_decay"))

        expected = {"velocity." + slot.name: slot for slot in self._slots}
        unknown = sorted(k for k in state if k not in expected and k not in ("lr", "momentum", "weight_decay"))
        if unknown:
            raise ValueError(
                f"optimizer state has unknown keys {unknown} "
                f"(velocity.* keys must name parameters of this optimizer)"
            )
        missing = [slot.name for key, slot in expected.items() if key not in state]
        if missing:
            raise ValueError(f"optimizer state is missing the velocity of parameter(s) {missing}")
        sources = []
        for key, slot in expected.items():
            src = np.asarray(state[key])
            if src.shape != slot.velocity.shape:
                raise ValueError(
                    f"velocity of parameter {slot.name!r} has shape {src.shape} in the state, "
                    f"but the parameter has shape {slot.velocity.shape}"
                )
            if not np.issubdtype(src.dtype, np.floating):
                raise ValueError(
                    f"velocity of parameter {slot.name!r} has dtype {src.dtype}, expected floating point"
                )
            sources.append((slot, src))

        for slot, src in sources:
            np.copyto(slot.velocity, src, casting="same_kind")
        self._lr, self._momentum, self._weight_decay = lr, momentum, weight_decay

    def __repr__(self) -> str:
        return (
            f"SGD(lr={self._lr!r}, momentum={self._momentum!r}, weight_decay={self._weight_decay!r}, "
            f"params={len(self._slots)}, decayed={sum(s.decay for s in self._slots)})"
        )


def _is_flat(arr: np.ndarray) -> bool:
    return arr.flags.c_contiguous


def _make_chunks(param, grad, velocity, scratch) -> list[tuple[np.ndarray, ...]]:
    """Precompute (param, grad, velocity, scratch) views for each chunk of a parameter.

    Contiguous params are split into flat chunks of ``_CHUNK`` elements sharing the per-dtype
    scratch buffer. A non-contiguous param (rare) is processed whole with its own scratch.
    """
    if _is_flat(param) and param.size > 0:
        p = param.reshape(-1)
        v = velocity.reshape(-1)
        # reshape of a non-contiguous grad would copy and silently read a stale snapshot, so
        # such a grad is handled by the whole-array path below.
        if grad.flags.c_contiguous:
            g = grad.reshape(-1)
            chunks = []
            for start in range(0, p.size, _CHUNK):
                stop = min(start + _CHUNK, p.size)
                chunks.append((p[start:stop], g[start:stop], v[start:stop], scratch[: stop - start]))
            return chunks
    return [(param, grad, velocity, np.empty(param.shape, dtype=param.dtype))]

