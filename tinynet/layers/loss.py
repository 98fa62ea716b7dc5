"""Softmax and cross-entropy fused into one numerically stable loss."""

from __future__ import annotations

import numpy as np

from ..validate import float_input


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """log softmax over the last axis, stable for any finite logits."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def softmax(logits: np.ndarray) -> np.ndarray:
    """softmax over the last axis, stable for any finite logits."""
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def nll(logp: np.ndarray, labels: np.ndarray) -> float:
    """Mean over the batch of -logp[i, labels[i]] for log-probabilities ``logp`` (N, K)."""
    return float(-logp[np.arange(len(labels)), labels].mean(dtype=np.float64))


def check_labels(logits: np.ndarray, labels) -> np.ndarray:
    """``labels`` as an int array (N,) with values in [0, K) for ``logits`` (N, K)."""
    labels = np.asarray(labels)
    if logits.ndim != 2:
        raise ValueError(
            f"SoftmaxCrossEntropy: expected logits of shape (N, K), got {logits.shape}"
        )
    n, k = logits.shape
    if labels.shape != (n,):
        raise ValueError(
            f"SoftmaxCrossEntropy: expected labels of shape ({n},) for logits {logits.shape}, "
            f"got {labels.shape}"
        )
    if labels.dtype.kind not in "iu":
        raise ValueError(f"SoftmaxCrossEntropy: labels must be integers, got {labels.dtype}")
    if n == 0:
        raise ValueError("SoftmaxCrossEntropy: got an empty batch")
    if labels.min() < 0 or labels.max() >= k:
        bad = labels[(labels < 0) | (labels >= k)][:5].tolist()
        raise ValueError(
            f"SoftmaxCrossEntropy: labels must be in [0, {k}) for logits {logits.shape}; got {bad}"
        )
    return labels


class SoftmaxCrossEntropy:
    """Mean over the batch of -log softmax(logits)[label].

    ``forward(logits (N, K) float, labels (N,) int in [0, K))`` returns the loss as a Python float;
    ``backward()`` returns dL/dlogits (N, K) = (softmax - onehot) / N in the logits' dtype.
    Logits are shifted by their row maximum, so no overflow for any finite input.
    """

    def __init__(self):
        self._cache = None

    def __call__(self, logits, labels):
        return self.forward(logits, labels)

    def forward(self, logits, labels) -> float:
        logits = np.asarray(logits)
        labels = check_labels(logits, labels)
        logp = log_softmax(float_input(logits))
        self._cache = (logp, labels)
        return nll(logp, labels)

    def backward(self) -> np.ndarray:
        if self._cache is None:
            raise RuntimeError("SoftmaxCrossEntropy: backward called before forward")
        logp, labels = self._cache
        n = logp.shape[0]
        grad = np.exp(logp)
        grad[np.arange(n), labels] -= 1
        grad /= n
        return grad
