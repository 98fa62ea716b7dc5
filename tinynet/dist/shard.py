"""Which samples each rank takes, so that N processes train on the same global batches as one.

Training: ``-b B`` is the global batch. Each epoch's permutation (the same on every rank, from
the seed and the epoch) is cut into global batches of B samples, exactly as a single process
would cut it, and rank r takes the r-th slice of B/N samples of every batch::

    global batch k = perm[k*B : (k+1)*B]
    rank r's part  = perm[k*B + r*B/N : k*B + (r+1)*B/N]

The last, partial batch of m < B samples is split the same way into N slices of m // N samples;
the m % N samples left over (at most N - 1, a different few each shuffled epoch) are skipped
that epoch, so every rank runs the same number of steps with the same local batch size. With
N = 1 nothing is skipped. Evaluation needs no equal sizes (its figures are sums): each rank
takes one contiguous part of the validation set, all parts together covering it exactly once.
"""

from __future__ import annotations

import numpy as np


def local_batch_size(batch_size: int, size: int, exact: bool = True) -> int:
    """B/N, the samples each of ``size`` ranks takes per step; ValueError if N does not divide B
    (training), or at least 1 with ``exact=False`` (evaluation, where batches may differ)."""
    if not exact:
        return max(1, batch_size // size)
    if batch_size % size:
        raise ValueError(
            f"the batch size {batch_size} does not divide among {size} processes: -b is the "
            f"global batch, split evenly over the processes, so make it a multiple of {size} "
            f"(e.g. {max(size, batch_size - batch_size % size)} or "
            f"{batch_size - batch_size % size + size})"
        )
    return batch_size // size


def train_shard(order: np.ndarray, batch_size: int, rank: int, size: int) -> np.ndarray:
    """Rank ``rank``'s samples, in order, from the epoch's permutation ``order``.

    Batches of ``batch_size // size`` over the result are the rank's parts of the global batches.
    """
    local = local_batch_size(batch_size, size)
    order = np.asarray(order)
    full = len(order) // batch_size
    head = order[: full * batch_size].reshape(full, size, local)[:, rank].reshape(-1)
    tail = order[full * batch_size :]
    part = len(tail) // size
    return np.concatenate([head, tail[rank * part : (rank + 1) * part]])


def eval_shard(order: np.ndarray, rank: int, size: int) -> np.ndarray:
    """Rank ``rank``'s contiguous part of ``order``; the parts of all ranks cover it once."""
    return np.array_split(np.asarray(order), size)[rank]


def dropped_per_epoch(n: int, batch_size: int, size: int) -> int:
    """How many of ``n`` samples an epoch leaves out with N = ``size`` ranks (tail % N)."""
    return (n % batch_size) % size
