"""``ArrayBatches``: batches of in-memory arrays, shuffled reproducibly per epoch."""

from __future__ import annotations

import numpy as np

from .batch import check_start, epoch_order, split_batches

__all__ = ["ArrayBatches"]


class ArrayBatches:
    """Iterate ``(images, labels)`` batches of in-memory arrays.

    images: (N, C, H, W) float, labels: (N,) int. With ``shuffle`` the order of epoch e is
    ``np.random.default_rng([seed, e]).permutation(N)``: reproducible, and different per epoch;
    without, it is ``0..N-1``. The last batch may be smaller. Each batch is a copy.

    ``set_epoch(e, start=k)`` (the trainer calls it) makes the passes that follow yield
    epoch e's batches k, k + 1, ... (a mid-epoch resume); ``len()`` is always the batches of
    a whole epoch.
    """

    def __init__(self, images, labels, batch_size: int, shuffle: bool = True, seed: int = 0):
        images, labels = np.asarray(images), np.asarray(labels)
        if len(images) != len(labels):
            raise ValueError(f"ArrayBatches: {len(images)} images but {len(labels)} labels")
        if batch_size < 1:
            raise ValueError(f"ArrayBatches: batch_size must be positive, got {batch_size}")
        self.images, self.labels = images, labels
        self.batch_size, self.shuffle, self.seed = int(batch_size), shuffle, seed
        self.epoch = 0
        self.start = 0

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        """Make the next passes use ``epoch``'s order and begin at its batch ``start``."""
        self.epoch, self.start = int(epoch), check_start(start)

    def __len__(self) -> int:
        return -(-len(self.labels) // self.batch_size)

    def __iter__(self):
        order = epoch_order(len(self.labels), self.seed, self.epoch, self.shuffle)
        for idx in split_batches(order, self.batch_size)[self.start :]:
            yield self.images[idx], self.labels[idx]
