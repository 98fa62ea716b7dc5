"""Synthetic data held in memory (pytorch/examples' ``--dummy``): what training costs without
reading or decoding a single image."""

from __future__ import annotations

import numpy as np

from ..validate import integer
from .batch import check_start

__all__ = ["DummySplit", "DummyBatches", "dummy_splits"]


class DummySplit:
    """A split of ``count`` synthetic images of ``classes`` classes (named ``class0``...)."""

    def __init__(self, count: int, classes: int) -> None:
        self.count = integer("--dummy: image count", count, 1)
        self.classes = [f"class{i}" for i in range(integer("--dummy: classes", classes, 2))]

    def __len__(self) -> int:
        return self.count


def dummy_splits(train_count: int, classes: int) -> tuple[DummySplit, DummySplit]:
    """Train and val splits in about ImageNet's proportions: val has 1/25 of the training
    images (ILSVRC2012: 1,281,167 and 50,000), at least one."""
    return DummySplit(train_count, classes), DummySplit(max(1, train_count // 25), classes)


class DummyBatches:
    """``steps`` batches of ``(images, labels)`` per epoch: the same (batch, 3, size, size)
    float32 N(0, 1) images every step (made once from ``seed``) and labels drawn from
    ``default_rng([seed, epoch, step])``. Resumes like ``ArrayBatches``:
    ``set_epoch(epoch, start)``; ``len()`` is a whole epoch's steps. Nothing is ever skipped."""

    skipped = 0

    def __init__(self, steps: int, batch: int, size: int, classes: int, seed: int = 0) -> None:
        self.steps, self.classes, self.seed = int(steps), int(classes), int(seed)
        rng = np.random.default_rng([seed, 2**31])
        self.images = rng.standard_normal((batch, 3, size, size), dtype=np.float32)
        self.epoch = self.start = 0

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        self.epoch, self.start = int(epoch), check_start(start)

    def __len__(self) -> int:
        return self.steps

    def __iter__(self):
        for step in range(self.start, self.steps):
            rng = np.random.default_rng([self.seed, self.epoch, step])
            yield self.images, rng.integers(0, self.classes, len(self.images))

    def __enter__(self) -> DummyBatches:
        return self

    def __exit__(self, *exc) -> None:
        pass
