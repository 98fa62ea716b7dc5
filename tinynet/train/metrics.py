"""Top-k accuracy, running sums over a pass, and the figures of a finished pass."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def topk_correct(scores: np.ndarray, labels: np.ndarray, ks=(1, 5)) -> dict[int, int]:
    """How many rows of ``scores`` (N, K) have their label among the k highest, for each k.

    k is clipped to K, so top-5 with 4 classes counts every row. Ties between scores are
    broken by class index (stable sort), so the result is deterministic.
    """
    labels = np.asarray(labels)
    order = np.argsort(-scores, axis=1, kind="stable")
    rank = np.argmax(order == labels[:, None], axis=1)  # position of the label
    return {k: int(np.sum(rank < min(k, scores.shape[1]))) for k in ks}


@dataclass
class Stats:
    """Figures of one pass over the data (training or evaluation)."""

    loss: float
    acc1: float
    acc5: float
    images: int
    seconds: float
    data_seconds: float = 0.0  # of ``seconds``, spent waiting for the next batch (training)

    @property
    def images_per_sec(self) -> float:
        return self.images / self.seconds if self.seconds > 0 else 0.0

    @property
    def data_share(self) -> float:
        """The share of ``seconds`` spent waiting for data, 0..1."""
        return min(self.data_seconds / self.seconds, 1.0) if self.seconds > 0 else 0.0

    @property
    def top1_error(self) -> float:
        return 1.0 - self.acc1

    @property
    def top5_error(self) -> float:
        return 1.0 - self.acc5


class Meter:
    """Sums of loss and correct counts over a stream of batches, and the seconds they took.

    ``seconds`` is the pass's wall time so far; ``data_seconds`` the part of it spent waiting
    for the next batch (measured by the training pass; the rest is the steps' compute).
    """

    FIELDS = ("images", "loss_sum", "top1", "top5", "seconds", "data_seconds")

    def __init__(self, images=0, loss_sum=0.0, top1=0, top5=0, seconds=0.0, data_seconds=0.0):
        self.images, self.loss_sum, self.top1, self.top5 = int(images), loss_sum, top1, top5
        self.seconds, self.data_seconds = float(seconds), float(data_seconds)

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

    def state_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.FIELDS}

    def total(self, comm) -> Stats:
        """The pass's figures, summed over the ranks of ``comm`` (each counted its own samples)."""
        images, loss_sum, top1, top5 = comm.sum([self.images, self.loss_sum, self.top1, self.top5])
        summed = Meter(int(images), float(loss_sum), int(top1), int(top5))
        return Stats(
            summed.loss, summed.acc1, summed.acc5, summed.images, self.seconds, self.data_seconds
        )
