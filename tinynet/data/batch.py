"""Decode + transform one batch of samples; shared by the in-process loader
path and the worker processes, so both produce bit-identical arrays."""

from __future__ import annotations

import inspect

import numpy as np

__all__ = ["sample_rng", "accepts_min_size", "sample_name", "build_batch"]


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


def build_batch(dataset, transform, indices, seed: int, epoch: int, min_size: int | None,
                images: np.ndarray | None = None, labels: np.ndarray | None = None):
    """Load and transform ``dataset`` samples ``indices`` into one batch.

    Returns ``(images, labels, n, skipped)``: the first ``n`` rows of ``images``
    (``(len(indices), *sample_shape)``, allocated on the first good sample when
    not given) and of ``labels`` (int64) are filled; ``skipped`` lists
    ``(index, name, "ErrorType: message")`` for files that failed to load or
    decode. Errors raised by ``transform`` are bugs and propagate.
    """
    kwargs = {"min_size": min_size} if min_size is not None else {}
    if labels is None:
        labels = np.empty(len(indices), dtype=np.int64)
    n = 0
    skipped: list[tuple[int, str, str]] = []
    for i in indices:
        i = int(i)
        try:
            img, label = dataset.load(i, **kwargs)
        except Exception as e:  # unreadable / truncated / vanished file
            skipped.append((i, sample_name(dataset, i), f"{type(e).__name__}: {e}"))
            continue
        x = transform(img, sample_rng(seed, epoch, i))
        if images is None:
            images = np.empty((len(indices),) + x.shape, dtype=x.dtype)
        elif x.shape != images.shape[1:]:
            raise ValueError(
                f"transform returned shape {x.shape} for {sample_name(dataset, i)} but the "
                f"batch expects {images.shape[1:]}; every sample must have the same shape"
            )
        images[n] = x
        labels[n] = label
        n += 1
    return images, labels, n, skipped
