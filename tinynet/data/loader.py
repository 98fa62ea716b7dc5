"""``DataLoader``: batches of decoded, augmented images, optionally built by
worker processes.

Reproducibility
    * epoch ``e`` visits samples in ``np.random.default_rng([seed, e]).permutation(n)``
      order (``arange(n)`` without ``shuffle``); call ``set_epoch(e)`` before each
      epoch (the epoch is NOT advanced automatically).
    * sample ``i`` in epoch ``e`` is augmented with ``default_rng([seed, e, i])``,
      so ``workers=0`` and ``workers=k`` give bit-identical batches.

Sharding (for data-parallel training): ``indices_fn(perm) -> subset`` if given,
else with ``num_shards > 1`` shard ``r`` takes the strided slice
``perm[:m][r::num_shards]`` where ``m = n - n % num_shards``: the shards are
disjoint and all the same size (so every rank runs the same number of batches);
up to ``num_shards - 1`` samples per epoch are left out (a different few each
shuffled epoch). For an exact sharded evaluation pass an ``indices_fn``.

Bad files: a sample whose file fails to open/decode is left out of its batch
(the batch is one smaller; a batch with no good sample is not yielded), warned
about once per file per process (even across loader instances), and recorded in
``skipped`` / ``skipped_files`` for the current epoch and ``bad_files`` (all
epochs of this loader).

Workers: ``workers`` processes ('fork' start method where available, else
'spawn') started at the beginning of each pass and stopped at its end, on
``break`` (when the iterator is closed or garbage-collected), on an exception,
on KeyboardInterrupt (workers ignore SIGINT; the main process terminates them)
and by ``close()`` / leaving a ``with`` block. Workers write whole batches into
``prefetch * workers`` shared-memory slots (memory: that many batches, e.g.
2 * 8 * 79 MB for batch 128 at 227x227 with 8 workers); the main process copies
each batch out, so yielded arrays are never overwritten later. An idle worker
whose parent has died exits within a second.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import warnings
import weakref

import numpy as np

from .batch import accepts_min_size, build_batch, sample_rng
from .workers import WorkerPool

__all__ = ["DataLoader", "default_workers", "forget_warned_files"]

# Files already warned about, process-wide: a trainer may build a new loader every epoch
# and must still warn only once per file.
_WARNED_FILES: set[str] = set()


def forget_warned_files() -> None:
    """Let the next skip of every file warn again (for tests)."""
    _WARNED_FILES.clear()


def default_workers() -> int:
    """CPUs this process may run on (``os.cpu_count()`` if affinity is unknown)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _default_context():
    methods = mp.get_all_start_methods()
    return mp.get_context("fork" if "fork" in methods else "spawn")


class DataLoader:
    """Iterate one epoch -> ``(images, labels)`` batches.

    ``images``: float32 C-contiguous ``(B, *sample_shape)``, i.e. ``(B, 3, H, W)``
    NCHW for the standard transforms (``(B, 10, 3, H, W)`` for ten-crop);
    ``labels``: int64 ``(B,)``. The last partial batch is yielded unless
    ``drop_last``.

    ``dataset`` needs ``__len__`` and ``load(i[, min_size]) -> (PIL image, label)``
    (``ImageFolder``); ``transform(img, rng) -> np.ndarray``. If the transform has
    a ``min_size`` attribute and ``load`` accepts it, large JPEGs are decoded at
    reduced scale.

    Attributes: ``epoch``, ``skipped`` (files skipped so far in the current/last
    pass), ``skipped_files`` (their paths), ``bad_files`` (every file ever
    skipped), ``worker_pids`` (processes of the current/last pass).
    """

    def __init__(self, dataset, transform, batch_size: int, shuffle: bool = False,
                 seed: int = 0, workers: int | None = None, drop_last: bool = False,
                 prefetch: int = 2, indices_fn=None, num_shards: int = 1, shard: int = 0,
                 start_method: str | None = None):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if seed is None or int(seed) < 0:
            raise ValueError(f"seed must be a non-negative int, got {seed!r}")
        if num_shards < 1 or not 0 <= shard < num_shards:
            raise ValueError(f"need 0 <= shard < num_shards, got shard={shard}, "
                             f"num_shards={num_shards}")
        if prefetch < 1:
            raise ValueError(f"prefetch must be >= 1, got {prefetch}")
        self.dataset = dataset
        self.transform = transform
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self.workers = default_workers() if workers is None else int(workers)
        if self.workers < 0:
            raise ValueError(f"workers must be >= 0, got {workers}")
        self.drop_last = bool(drop_last)
        self.prefetch = int(prefetch)
        self.indices_fn = indices_fn
        self.num_shards = int(num_shards)
        self.shard = int(shard)
        self._ctx = mp.get_context(start_method) if start_method else _default_context()
        self.epoch = 0
        self.skipped = 0
        self.skipped_files: list[str] = []
        self.bad_files: set[str] = set()
        self.worker_pids: list[int] = []
        ms = getattr(transform, "min_size", None)
        self._min_size = ms if ms is not None and accepts_min_size(dataset.load) else None
        self._spec = None  # (sample_shape, dtype) learnt from the first good sample
        self._active = None  # weakref to the running pass's generator

    # ----------------------------------------------------------------- order
    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose shuffle order and augmentations the next pass uses."""
        self.epoch = int(epoch)

    def indices(self, epoch: int | None = None) -> np.ndarray:
        """Dataset indices this loader (shard) visits in ``epoch`` -> int64 (m,)."""
        epoch = self.epoch if epoch is None else int(epoch)
        n = len(self.dataset)
        if self.shuffle:
            order = np.random.default_rng([self.seed, epoch]).permutation(n)
        else:
            order = np.arange(n)
        if self.indices_fn is not None:
            order = self.indices_fn(order)
        elif self.num_shards > 1:
            order = order[: n - n % self.num_shards][self.shard::self.num_shards]
        return np.asarray(order, dtype=np.int64)

    def _batches(self, order: np.ndarray) -> list[np.ndarray]:
        bs = self.batch_size
        out = [order[k:k + bs] for k in range(0, len(order), bs)]
        if self.drop_last and out and len(out[-1]) < bs:
            out.pop()
        return out

    def __len__(self) -> int:
        """Batches per epoch (counting skipped-file batches as full)."""
        n = len(self.dataset)
        if self.indices_fn is not None:
            m = len(self.indices())
        else:
            m = n // self.num_shards if self.num_shards > 1 else n
        return m // self.batch_size if self.drop_last else math.ceil(m / self.batch_size)

    # ------------------------------------------------------------ iteration
    def __iter__(self):
        self.close()  # an unfinished earlier pass must not keep its workers
        self.skipped = 0
        self.skipped_files = []
        batches = self._batches(self.indices())
        if not batches:
            gen = iter(())
        elif self.workers == 0:
            gen = self._iter_inprocess(batches, self.epoch)
        else:
            gen = self._iter_workers(batches, self.epoch)
        self._active = weakref.ref(gen) if hasattr(gen, "close") else None
        return gen

    def _iter_inprocess(self, batches, epoch):
        for idx in batches:
            images, labels, n, skipped = build_batch(
                self.dataset, self.transform, idx, self.seed, epoch, self._min_size)
            out = self._deliver(images, labels, n, skipped)
            if out is not None:
                yield out

    def _iter_workers(self, batches, epoch):
        spec = self._spec or self._probe(batches, epoch)
        if spec is None:  # no readable sample at all: just report the skips
            yield from self._iter_inprocess(batches, epoch)
            return
        self._spec = spec
        pool = WorkerPool(self._ctx, self.workers, self.prefetch, self.dataset, self.transform,
                          batches, self.seed, epoch, self._min_size, *spec)
        self.worker_pids = pool.pids
        try:
            for images, labels, n, skipped in pool:
                out = self._deliver(images, labels, n, skipped)
                if out is not None:
                    yield out
        finally:
            pool.close()

    def _probe(self, batches, epoch):
        """(shape, dtype) of one transformed sample (sizes the shared buffers)."""
        kwargs = {"min_size": self._min_size} if self._min_size is not None else {}
        for idx in batches:
            for i in idx:
                try:
                    img, _ = self.dataset.load(int(i), **kwargs)
                except Exception:
                    continue  # the workers will report it
                x = np.asarray(self.transform(img, sample_rng(self.seed, epoch, int(i))))
                return x.shape, x.dtype.str
        return None

    def _deliver(self, images, labels, n, skipped):
        for _, name, err in skipped:
            self.skipped += 1
            self.skipped_files.append(name)
            self.bad_files.add(name)
            if name not in _WARNED_FILES:
                _WARNED_FILES.add(name)
                warnings.warn(f"skipping unreadable image {name} ({err})", RuntimeWarning,
                              stacklevel=3)
        if n == 0:
            return None
        if n < len(images):
            images, labels = images[:n], labels[:n]
        return images, labels

    # -------------------------------------------------------------- cleanup
    def close(self) -> None:
        """Stop the workers of an unfinished pass (safe to call any time)."""
        gen = self._active() if self._active is not None else None
        self._active = None
        if gen is not None:
            try:
                gen.close()
            except ValueError:  # running in another thread; it cleans up itself
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        return (f"DataLoader(n={len(self.dataset)}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, seed={self.seed}, workers={self.workers}, "
                f"drop_last={self.drop_last}, shard={self.shard}/{self.num_shards})")
