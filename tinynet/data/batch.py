"""What every batch source shares: each epoch's sample order, its cut into batches, and
the decode + transform of one batch (used by the in-process loader path and the worker
processes alike, so both produce bit-identical arrays)."""

from __future__ import annotations

import inspect
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "epoch_order",
    "split_batches",
    "check_start",
    "sample_rng",
    "accepts_min_size",
    "sample_name",
    "BatchJob",
]


def epoch_order(n: int, seed: int, epoch: int, shuffle: bool) -> np.ndarray:
    """Sample order of ``epoch`` -> int64 (n,): ``default_rng([seed, epoch]).permutation(n)``
    with ``shuffle``, else ``arange(n)``."""
    if shuffle:
        return np.random.default_rng([seed, epoch]).permutation(n)
    return np.arange(n, dtype=np.int64)


def split_batches(order: np.ndarray, batch_size: int, drop_last: bool = False) -> list:
    """``order`` cut into consecutive batches of ``batch_size``; the last one may be smaller
    unless ``drop_last``."""
    out = [order[k : k + batch_size] for k in range(0, len(order), batch_size)]
    if drop_last and out and len(out[-1]) < batch_size:
        out.pop()
    return out


def check_start(start) -> int:
    """``set_epoch``'s ``start`` as an int; ValueError unless it is a whole number >= 0."""
    if isinstance(start, bool) or int(start) != start or start < 0:
        raise ValueError(f"start must be a batch number >= 0, got {start!r}")
    return int(start)


def sample_rng(seed: int, epoch: int, index: int) -> np.random.Generator:
    """Augmentation Generator of dataset sample ``index`` in ``epoch``.

    Depends only on (seed, epoch, index), never on worker count, batch position
    or shard, so any worker layout gives the same pixels."""
    return np.random.default_rng([seed, epoch, index])


def accepts_min_size(load) -> bool:
    """Whether ``dataset.load`` takes a ``min_size`` keyword (for JPEG draft decoding)."""
    try:
        params = inspect.signature(load).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "min_size" or p.kind is p.VAR_KEYWORD for p in params)


def sample_name(dataset, index: int) -> str:
    """File path of a sample when the dataset knows it, else ``"sample <index>"``."""
    try:
        return str(dataset.samples[index][0])
    except Exception:
        return f"sample {index}"


class BatchJob(NamedTuple):
    """What building any batch of one pass needs (picklable: the workers receive it).

    Every sample's pixels depend only on (seed, epoch, index), never on the batch, worker
    or process that builds it."""

    dataset: Any
    transform: Any
    seed: int
    epoch: int
    min_size: int | None  # passed to ``dataset.load`` (reduced-scale JPEG decoding) if set

    def load(self, i: int):
        """``dataset.load(i)`` -> (PIL image, label); raises for an unreadable file."""
        if self.min_size is None:
            return self.dataset.load(i)
        return self.dataset.load(i, min_size=self.min_size)

    def augment(self, img, i: int) -> np.ndarray:
        """``transform`` of sample ``i``'s image with its Generator of this epoch."""
        return np.asarray(self.transform(img, sample_rng(self.seed, self.epoch, i)))

    def build(self, indices, images: np.ndarray | None = None, labels: np.ndarray | None = None):
        """Load and transform samples ``indices`` into one batch.

        Returns ``(images, labels, n, skipped)``: the first ``n`` rows of ``images``
        (``(len(indices), *sample_shape)``, allocated on the first good sample when
        not given) and of ``labels`` (int64) are filled; ``skipped`` lists
        ``(index, name, "ErrorType: message")`` for files that failed to load or
        decode. Errors raised by ``transform`` are bugs and propagate.
        """
        if labels is None:
            labels = np.empty(len(indices), dtype=np.int64)
        n = 0
        skipped: list[tuple[int, str, str]] = []
        for i in indices:
            i = int(i)
            try:
                img, label = self.load(i)
            except Exception as e:  # unreadable / truncated / vanished file
                skipped.append((i, sample_name(self.dataset, i), f"{type(e).__name__}: {e}"))
                continue
            x = self.augment(img, i)
            if images is None:
                images = np.empty((len(indices),) + x.shape, dtype=x.dtype)
            elif x.shape != images.shape[1:]:
                raise ValueError(
                    f"transform returned shape {x.shape} for {sample_name(self.dataset, i)} but "
                    f"the batch expects {images.shape[1:]}; every sample must have the same shape"
                )
            images[n] = x
            labels[n] = label
            n += 1
        return images, labels, n, skipped
