"""Check for notebook 4, part 2: the saliency map of Simonyan et al. 2013.

The student's map is compared with one computed here in float64 (the gradient of each image's
label logit, by backward and by centred differences), on tiny models with dropout handed over
in training mode, for two geometries (N > 1, non-square images, labels that are neither all
equal nor the predicted classes).
"""

from __future__ import annotations

import copy

import numpy as np

import tinynet
from tinynet.gradcheck import numerical_gradient, rel_error
from tinynet.layers import softmax

from ._report import GRAD_TOL, Wrong, as_array, call, check, diagnose, differs
from .training import images, tiny_model


def _input_gradient(model, x, dout_of, training=False) -> np.ndarray:
    """dL/dx for the upstream gradient ``dout_of(logits)``, on a copy of ``model``."""
    model = copy.deepcopy(model).train(training)
    model["conv1"].input_grad = True
    logits = model.forward(x)
    return model.backward(dout_of(logits))


def _onehot(logits, labels) -> np.ndarray:
    dout = np.zeros_like(logits)
    dout[np.arange(len(labels)), labels] = 1.0
    return dout


def _candidates(model, x, labels) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(the right map, {diagnosis: the map of a known mistake})."""
    n = len(labels)
    score = _input_gradient(model, x, lambda z: _onehot(z, labels))

    def loss_grad(z):
        return (softmax(z) - _onehot(z, labels)) / n

    def prob_grad(z):
        p = softmax(z)
        py = p[np.arange(n), labels][:, None]
        return py * (_onehot(z, labels) - p)

    def every_column(z):
        dout = np.zeros_like(z)
        dout[:, labels] = 1.0
        return dout

    right = np.abs(score).max(axis=1)
    wrong_grads = {
        "the gradient of the loss, not of the class score: the loss mixes every logit through "
        "the softmax; backpropagate a one-hot of the label": loss_grad,
        "the gradient of the softmax probability, not of the class score (the logit): "
        "backpropagate a one-hot of the label from the logits": prob_grad,
        "the gradient of the predicted class (argmax), not of the given labels": lambda z: _onehot(
            z, z.argmax(axis=1)
        ),
        "one label (labels[0]) for the whole batch: each image's one-hot at its own label": (
            lambda z: _onehot(z, np.full(n, labels[0]))
        ),
        "dout[:, labels] = 1 sets, in every row, the columns of all the batch's labels: index "
        "dout[np.arange(N), labels]": every_column,
    }
    mistakes = {m: np.abs(_input_gradient(model, x, f)).max(axis=1) for m, f in wrong_grads.items()}
    mistakes.update(
        {
            "no absolute value: take the max over channels of |gradient|": score.max(axis=1),
            "the mean over channels: take the max of |gradient|": np.abs(score).mean(axis=1),
            "the sum over channels: take the max of |gradient|": np.abs(score).sum(axis=1),
            "|max over channels| of the signed gradient: take the max of |gradient|": np.abs(
                score.max(axis=1)
            ),
            "dropout was active (training mode): compute the map in eval mode, model.eval()": (
                np.abs(_input_gradient(model, x, lambda z: _onehot(z, labels), True)).max(axis=1)
            ),
        }
    )
    return right, mistakes


def _numerical_map(model, x, labels) -> np.ndarray:
    """max over channels of |d(sum_n z[n, labels[n]]) / dx| by centred differences."""
    model = copy.deepcopy(model).eval()
    x = x.copy()

    def objective() -> float:
        with model.no_grad():
            return float(model.forward(x)[np.arange(len(labels)), labels].sum())

    return np.abs(numerical_gradient(objective, x)).max(axis=1)


_CACHE: dict[tuple, tuple] = {}  # the references of each case, computed once per process


def _references(model, x, labels, case: tuple) -> tuple:
    """(right map, {diagnosis: wrong map}, map by centred differences) for a seeded case."""
    if case not in _CACHE:
        _CACHE[case] = (*_candidates(model, x, labels), _numerical_map(model, x, labels))
    return _CACHE[case]


@check("saliency")
def check_saliency(saliency) -> str:
    """``saliency(model, x, labels) -> (N, H, W)``: max over channels of |d logit_label / dx|,
    in eval mode, the model left as found."""
    errors = []
    with tinynet.backend("reference"):
        for k, n, h, w, seed in ((5, 3, 6, 8, 0), (4, 2, 10, 6, 1)):
            model = tiny_model(k, h, w, seed).train()  # handed over in training mode
            x = images(n, h, w, seed)
            with model.evaluating():
                predicted = model.forward(x).argmax(axis=1)
            labels = (predicted + 1 + np.arange(n) % (k - 1)) % k  # never the predicted class
            assert len(set(labels)) > 1, "the check's labels are all equal"
            right, mistakes, numerical = _references(model, x, labels, (k, n, h, w, seed))
            errors.append(rel_error(right, numerical))
            assert errors[-1] < GRAD_TOL, "the check's reference disagrees with centred differences"
            before = copy.deepcopy(model)
            got = call(saliency, model, x, labels, names=("model", "x", "labels"))
            if isinstance(got, np.ndarray) and got.shape == x.shape:
                raise Wrong(
                    f"returned the gradient itself, shape {got.shape}: reduce it over the channel "
                    "axis (max of the absolute values)"
                )
            got = as_array(f"the map (N={n}, H={h}, W={w})", got, (n, h, w))
            if not model.training or not all(layer.training for _, layer in model):
                raise Wrong("the model came in training mode and was left in eval mode: restore it")
            if model["conv1"].input_grad is not before["conv1"].input_grad:
                raise Wrong("conv1.input_grad was left changed: set it back to what it was")
            if rel_error(got, numerical) > GRAD_TOL:
                raise Wrong(
                    diagnose(got, mistakes) or differs(f"the map (N={n}, H={h}, W={w})", got, right)
                )
    return (
        "max over channels of |d logit_label / dx| in eval mode, as centred differences give it "
        f"(rel. error {max(errors):.0e}), for N=3 at 6x8 and N=2 at 10x6; model left as found"
    )
