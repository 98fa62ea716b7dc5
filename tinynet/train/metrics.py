"""Top-k accuracy and running averages."""
from __future__ import annotations

import numpy as np


def topk_correct(scores: np.ndarray, labels: np.ndarray, ks=(1, 5)) -> dict[int, int]:
    """How many rows of ``scores`` (N, K) have their label among the k highest, for each k.

    k is clipped to K, so top-5 with 4 classes counts every row. Ties between scores are
    broken by class index (stable sort), so the result is deterministic.
    """
    labels = np.asarray(labels)
    order = np.argsort(-scores, axis=1, kind="stable")
    rank = np.argmax(order == labels[:, None], axis=1)     # position of the label
    return {k: int(np.sum(rank < min(k, scores.shape[1]))) for k in ks}


class Meter:
    """Sums of loss and correct counts over a stream of batches."""

    def __init__(self):
        self.images = 0
        self.loss_sum = 0.0
        self.top1 = 0
        self.top5 = 0

    def update(self, loss: float, scores: np.ndarray, labels: np.ndarray) -> None:
        n = len(labels)
        correct = topk_correct(scores, labels)
        self.images += n
        self.loss_sum += loss * n
        self.top1 += correct[1]
        self.top5 += correct[5]

    @property
    def loss(self) -> float:
        return self.loss_sum / max(self.images, 1)

    @property
    def acc1(self) -> float:
        return self.top1 / max(self.images, 1)

    @property
    def acc5(self) -> float:
        return self.top5 / max(self.images, 1)
