"""Batches from in-memory arrays, shuffled reproducibly per epoch."""
from __future__ import annotations

import numpy as np


class ArrayBatches:
    """Iterate (images, labels) batches of in-memory arrays.

    images: (N, C, H, W) float, labels: (N,) int. With ``shuffle`` the order of epoch e is
    ``np.random.default_rng([seed, e]).permutation(N)``: reproducible, and different per epoch.
    Call ``set_epoch(e)`` before iterating (the trainer does). The last batch may be smaller.
    """

    def __init__(self, images, labels, batch_size, shuffle=True, seed=0):
        images, labels = np.asarray(images), np.asarray(labels)
        if len(images) != len(labels):
            raise ValueError(f"ArrayBatches: {len(images)} images but {len(labels)} labels")
        if batch_size < 1:
            raise ValueError(f"ArrayBatches: batch_size must be positive, got {batch_size}")
        self.images, self.labels = images, labels
        self.batch_size, self.shuffle, self.seed = int(batch_size), shuffle, seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return -(-len(self.labels) // self.batch_size)

    def __iter__(self):
        n = len(self.labels)
        order = (np.random.default_rng([self.seed, self.epoch]).permutation(n) if self.shuffle
                 else np.arange(n))
        for start in range(0, n, self.batch_size):
            idx = np.sort(order[start:start + self.batch_size]) if not self.shuffle else \
                order[start:start + self.batch_size]
            yield self.images[idx], self.labels[idx]
