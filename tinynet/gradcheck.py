"""Finite-difference gradient checks, usable from tests and notebooks.

The recipe (CS231n, Chainer): compute the analytic gradient of L = sum(f(x) * dout) for a random
upstream gradient ``dout``, then compare it with centred differences
(L(x + eps) - L(x - eps)) / (2 eps), one element at a time, in float64, by the relative error

    rel_error(a, b) = max|a - b| / max(1e-8, max(|a| + |b|))

Measured on every layer (both backends) and a stacked network: a correct backward pass gives
1e-11 to 1e-8, so the tests require below 1e-6; a wrong one gives 1e-1 to 1 (a forgotten mask, a
flipped kernel), a slight slip 1e-4 to 1e-2 (a gradient 1% off: 5e-3).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .validate import integer, positive


def rel_error(a, b) -> float:
    """max|a - b| / max(1e-8, max(|a| + |b|)) over all elements."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error: shapes differ, {a.shape} vs {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b)) / max(1e-8, float(np.max(np.abs(a) + np.abs(b)))))


def numerical_gradient(
    objective: Callable[[], float], x: np.ndarray, eps: float = 1e-6, indices=None
) -> np.ndarray:
    """Centred-difference gradient of ``objective()`` with respect to ``x``, perturbed in place.

    ``indices`` (an iterable of flat indices) restricts the check to some elements; the others
    are left at zero. ``x`` is restored exactly after each perturbation.
    """
    eps = positive("numerical_gradient: eps", eps)
    if x.dtype != np.float64:
        raise ValueError(f"numerical_gradient needs float64 arrays, got {x.dtype}")
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    if not np.shares_memory(flat, x):
        raise ValueError("numerical_gradient needs a contiguous array it can perturb in place")
    for i in range(flat.size) if indices is None else indices:
        old = flat[i]
        flat[i] = old + eps
        plus = objective()
        flat[i] = old - eps
        minus = objective()
        flat[i] = old
        gflat[i] = (plus - minus) / (2 * eps)
    return grad


def _check_settings(who: str, eps, max_checks) -> None:
    """``eps`` a finite float > 0; ``max_checks`` None (every element) or an int >= 1."""
    positive(f"{who}: eps", eps)
    if max_checks is not None:
        integer(f"{who}: max_checks", max_checks, 1)


def _subset(size: int, max_checks: int | None, rng: np.random.Generator):
    if max_checks is None or size <= max_checks:
        return None
    return rng.choice(size, max_checks, replace=False)


def _compare(objective, analytic, targets, eps, max_checks, rng) -> dict[str, float]:
    """Relative error between each analytic gradient and centred differences of ``objective``."""
    errors = {}
    for name, array in targets.items():
        if analytic[name] is None:
            continue
        idx = _subset(array.size, max_checks, rng)
        numeric = numerical_gradient(objective, array, eps, idx)
        if idx is None:
            errors[name] = rel_error(analytic[name], numeric)
        else:
            errors[name] = rel_error(analytic[name].reshape(-1)[idx], numeric.reshape(-1)[idx])
    return errors


def _analytic(layer, dx):
    grads = {"input": dx}
    for name, _, grad in layer.named_parameters():
        grads[name] = grad.copy()
    return grads


def _targets(layer, x):
    return {"input": x, **{name: p for name, p, _ in layer.named_parameters()}}


def check_layer(
    layer,
    x: np.ndarray,
    *,
    seed: int = 0,
    eps: float = 1e-6,
    max_checks: int | None = None,
    before_forward: Callable[[], None] | None = None,
) -> dict[str, float]:
    """Relative errors of ``layer``'s backward pass: ``{"input": e, "weight": e, ...}``.

    ``layer`` is anything with ``forward``, ``backward`` and ``named_parameters`` (a layer or a
    ``Sequential``), built in float64. ``before_forward`` runs before every forward pass, e.g. to
    reseed a Dropout so every pass draws the same mask. ``max_checks`` bounds how many elements
    of each array are perturbed (chosen at random from ``seed``; None: all), at least 1; ``eps``
    is the finite difference step, a finite float > 0.
    """
    _check_settings("check_layer", eps, max_checks)
    rng = np.random.default_rng(seed)
    x = np.array(x, dtype=np.float64)
    reset = before_forward or (lambda: None)

    reset()
    dout = rng.standard_normal(layer.forward(x).shape)
    analytic = _analytic(layer, layer.backward(dout.copy()))

    def objective() -> float:
        reset()
        return float(np.sum(layer.forward(x) * dout))

    return _compare(objective, analytic, _targets(layer, x), eps, max_checks, rng)


def check_loss(loss_fn, logits: np.ndarray, labels: np.ndarray, eps: float = 1e-6) -> float:
    """Relative error of ``loss_fn.backward()`` against centred differences of the loss."""
    _check_settings("check_loss", eps, None)
    logits = np.array(logits, dtype=np.float64)
    loss_fn.forward(logits, labels)
    analytic = loss_fn.backward()
    numeric = numerical_gradient(lambda: loss_fn.forward(logits, labels), logits, eps)
    return rel_error(analytic, numeric)


def check_model_with_loss(
    model, loss_fn, x, labels, *, seed=0, eps=1e-6, max_checks=None, before_forward=None
) -> dict[str, float]:
    """Like ``check_layer`` for ``loss_fn(model(x), labels)``, a scalar, so no upstream gradient."""
    _check_settings("check_model_with_loss", eps, max_checks)
    rng = np.random.default_rng(seed)
    x = np.array(x, dtype=np.float64)
    reset = before_forward or (lambda: None)

    def objective() -> float:
        reset()
        return loss_fn.forward(model.forward(x), labels)

    objective()
    analytic = _analytic(model, model.backward(loss_fn.backward()))
    return _compare(objective, analytic, _targets(model, x), eps, max_checks, rng)
