"""Softmax and cross-entropy fused into one numerically stable loss.

For finite logits z (one row), log softmax(z)_k = (z_k - max z) - log sum_j exp(z_j - max z):
the shift makes every exp at most 1, and the only step that can overflow is z_k - max z, when
the spread exceeds the dtype's range (~1.8e308 in float64, ~3.4e38 in float32). That entry is
then -inf (its probability 0), which is its exact limit, so no warning is raised for it.
"""

from __future__ import annotations

import numpy as np

from ..validate import check_labels, float_input


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """log softmax over the last axis of float ``logits``; any finite input (see the module)."""
    with np.errstate(over="ignore"):  # z - max z below the dtype's range: -inf, exactly right
        shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def softmax(logits: np.ndarray) -> np.ndarray:
    """softmax over the last axis of float ``logits``; any finite input (see the module)."""
    with np.errstate(over="ignore"):
        e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def nll(logp: np.ndarray, labels: np.ndarray) -> float:
    """Mean over the batch of -logp[i, labels[i]] for log-probabilities ``logp`` (N, K).

    inf when the float64 sum overflows (``SoftmaxCrossEntropy`` then computes it another way).
    """
    with np.errstate(over="ignore"):
        return float(-logp[np.arange(len(labels)), labels].mean(dtype=np.float64))


def _wide_nll(logits: np.ndarray, labels: np.ndarray) -> float:
    """The loss of ``logits`` (N, K) in float64 where ``nll`` overflowed: a float32 row beyond
    float32's range, or a sum of rows beyond float64's. Halving is exact, so max z - z_label
    stays finite; the result is inf only when the mean itself exceeds the float64 maximum."""
    z = logits.astype(np.float64)
    n = len(labels)
    top = z.max(axis=1)
    with np.errstate(over="ignore"):
        lse = np.log(np.exp(z - top[:, None]).sum(axis=1))  # in [0, log K]
    half = 0.5 * top - 0.5 * z[np.arange(n), labels]
    return 2 * float(np.sum((half + 0.5 * lse) / n))


class SoftmaxCrossEntropy:
    """Mean over the batch of -log softmax(logits)[label].

    ``forward(logits (N, K) float, labels (N,) int in [0, K))`` returns the loss as a Python float;
    ``backward()`` returns dL/dlogits (N, K) = (softmax - onehot) / N in the logits' dtype.

    Range, for any finite logits: the gradient is always finite. The loss is accurate to the
    rounding of the logits' dtype wherever the mean of the per-example losses
    max z - z_label + log sum exp(z - max z) is representable as a float64 (float32 logits
    included, whose losses may exceed float32's range); when it exceeds the float64 maximum
    (~1.8e308, i.e. logits about that far apart, e.g. +-1e308), the loss is inf.
    """

    def __init__(self):
        self._cache = None

    def __call__(self, logits, labels):
        return self.forward(logits, labels)

    def forward(self, logits, labels) -> float:
        logits = float_input("SoftmaxCrossEntropy", logits)
        labels = check_labels("SoftmaxCrossEntropy", logits, labels)
        logp = log_softmax(logits)
        self._cache = (logp, labels)
        loss = nll(logp, labels)
        return _wide_nll(logits, labels) if loss == np.inf else loss

    def backward(self) -> np.ndarray:
        if self._cache is None:
            raise RuntimeError("SoftmaxCrossEntropy: backward called before forward")
        logp, labels = self._cache
        n = logp.shape[0]
        grad = np.exp(logp)
        grad[np.arange(n), labels] -= 1
        grad /= n
        return grad
