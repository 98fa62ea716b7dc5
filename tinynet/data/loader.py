"""``DataLoader``: batches of decoded, augmented images, optionally built by
worker processes.

Reproducibility
    * epoch ``e`` visits samples in ``np.random.default_rng([seed, e]).permutation(n)``
      order (``arange(n)`` without ``shuffle``); call ``set_epoch(e)`` before each
      epoch (the epoch is NOT advanced automatically).
    * sample ``i`` in epoch ``e`` is augmented with ``default_rng([seed, e, i])``,
      so ``workers=0`` and ``workers=k`` give bit-identical batches.

Data parallelism: ``indices_fn(order) -> subset`` picks this process's samples
from the epoch's order (e.g. ``tinynet.dist.train_shard`` / ``eval_shard``); the
batches are cut from that subset.

Mid-epoch resume: ``set_epoch(e, start=k)`` makes the passes that follow (until the
next ``set_epoch``) yield epoch ``e``'s batches ``k, k + 1, ...``, exactly as a full
pass would, without loading batches ``0..k-1``. Batches are counted after
``indices_fn``: under data parallelism each rank skips its own first ``k`` local
batches, its parts of the first ``k`` global batches. ``len(loader)`` is always the
batches of a whole epoch (a pass from ``start`` yields ``max(0, len(loader) - k)``).

Bad files: a sample whose file fails to open/decode (or is refused, see
``image.MAX_ASPECT_RATIO``) is left out of its batch (the batch is one smaller), counted in
``skipped`` for the current pass and reported once per file per process (even across loader
instances): ``on_skip(path, reason)`` if given, else a ``RuntimeWarning``. A batch with no
good sample is not yielded, unless ``keep_empty``: then it is yielded with 0 rows, so that
every pass yields exactly ``len(loader) - start`` batches (what MPI ranks need to stay in
step).

Workers: ``workers`` processes ('fork' start method where available, else
'spawn') started at the beginning of each pass and stopped at its end, on
``break`` (when the iterator is closed or garbage-collected), on an exception,
on KeyboardInterrupt (workers ignore SIGINT; the main process stops them) and by
``close()`` / leaving a ``with`` block; stopping takes well under a second mid-pass and never
blocks for ever (``workers.WorkerPool.close``). Workers write whole batches into
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

from .batch import BatchJob, accepts_min_size, check_start, epoch_order, split_batches
from .workers import WorkerPool

__all__ = ["DataLoader", "default_workers", "forget_warned_files"]

# Files already reported, process-wide: a trainer may build a new loader every epoch and
# must still report each file only once.
_REPORTED_FILES: set[str] = set()


def forget_warned_files() -> None:
    """Let the next skip of every file be reported again (for tests)."""
    _REPORTED_FILES.clear()


def default_workers() -> int:
    """CPUs this process may run on (``os.cpu_count()`` if affinity is unknown)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _probe(batches, job: BatchJob):
    """(shape, dtype) of the first readable sample, transformed (sizes the shared buffers);
    None if no sample is readable."""
    for idx in batches:
        for i in idx:
            try:
                img, _ = job.load(int(i))
            except Exception:
                continue  # the workers will report it
            x = job.augment(img, int(i))
            return x.shape, x.dtype.str
    return None


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

    ``on_skip(path: str, reason: str)``: called in this process the first time (per process)
    a file is skipped, e.g. ``("train/a/x.jpg", "OSError: image file is truncated")``
    (``path`` is ``"sample <i>"`` for a dataset without ``samples``); default None: a
    ``RuntimeWarning`` pointing at the loop over the loader.

    ``keep_empty``: yield a batch whose every file was skipped, as float32 images
    ``(0, *sample_shape)`` (``(0,)`` while no sample of the pass was readable) and int64
    labels ``(0,)``, instead of leaving it out.

    Attributes: ``epoch`` and ``start`` (set by ``set_epoch``), ``skipped`` (files
    skipped so far in the current/last pass), ``worker_pids`` (processes of the
    current/last pass).
    """

    def __init__(
        self,
        dataset,
        transform,
        batch_size: int,
        shuffle: bool = False,
        seed: int = 0,
        workers: int | None = None,
        drop_last: bool = False,
        prefetch: int = 2,
        indices_fn=None,
        start_method: str | None = None,
        on_skip=None,
        keep_empty: bool = False,
    ):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if seed is None or int(seed) < 0:
            raise ValueError(f"seed must be a non-negative int, got {seed!r}")
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
        self.on_skip = on_skip
        self.keep_empty = bool(keep_empty)
        self._ctx = mp.get_context(start_method) if start_method else _default_context()
        self.epoch = 0
        self.start = 0
        self.skipped = 0
        self.worker_pids: list[int] = []
        ms = getattr(transform, "min_size", None)
        self._min_size = ms if ms is not None and accepts_min_size(dataset.load) else None
        self._spec = None  # (sample_shape, dtype) learnt from the first good sample
        self._active = None  # weakref to the running pass's generator

    # ----------------------------------------------------------------- order
    def set_epoch(self, epoch: int, start: int = 0) -> None:
        """Make the next passes use ``epoch``'s order and augmentations and begin at its
        batch number ``start`` (counted after ``indices_fn``; see the module docstring)."""
        self.epoch, self.start = int(epoch), check_start(start)

    def indices(self, epoch: int | None = None) -> np.ndarray:
        """Dataset indices this loader visits in a whole ``epoch`` -> int64 (m,)."""
        epoch = self.epoch if epoch is None else int(epoch)
        order = epoch_order(len(self.dataset), self.seed, epoch, self.shuffle)
        if self.indices_fn is not None:
            order = self.indices_fn(order)
        return np.asarray(order, dtype=np.int64)

    def __len__(self) -> int:
        """Batches in a whole epoch, whatever ``start`` (skipped-file batches count as full)."""
        m = len(self.indices()) if self.indices_fn is not None else len(self.dataset)
        return m // self.batch_size if self.drop_last else math.ceil(m / self.batch_size)

    # ------------------------------------------------------------ iteration
    def __iter__(self):
        self.close()  # an unfinished earlier pass must not keep its workers
        self.skipped = 0
        batches = split_batches(self.indices(), self.batch_size, self.drop_last)[self.start :]
        job = BatchJob(self.dataset, self.transform, self.seed, self.epoch, self._min_size)
        if not batches:
            gen = iter(())
        elif self.workers == 0:
            gen = self._iter_inprocess(batches, job)
        else:
            gen = self._iter_workers(batches, job)
        self._active = weakref.ref(gen) if hasattr(gen, "close") else None
        return gen

    def _iter_inprocess(self, batches, job: BatchJob, probe: bool = True):
        probe = probe and self.keep_empty and self._spec is None
        for k, idx in enumerate(batches):
            built = job.build(idx)
            if built[2] == 0 and probe:  # an empty batch first: learn its sample shape
                self._spec, probe = _probe(batches[k + 1 :], job), False
            out = self._deliver(*built)
            if out is not None:
                yield out

    def _iter_workers(self, batches, job: BatchJob):
        spec = self._spec or _probe(batches, job)
        if spec is None:  # no readable sample at all: just report the skips
            yield from self._iter_inprocess(batches, job, probe=False)
            return
        self._spec = spec
        pool = WorkerPool(self._ctx, self.workers, self.prefetch, job, batches, *spec)
        self.worker_pids = pool.pids
        try:
            for built in pool:
                out = self._deliver(*built)
                if out is not None:
                    yield out
        finally:
            pool.close()

    def _deliver(self, images, labels, n: int, skipped):
        """Count and report a built batch's skipped files -> ``(images, labels)`` trimmed to
        its ``n`` good samples; for ``n == 0``, the empty batch if ``keep_empty`` else None."""
        self.skipped += len(skipped)
        for _, name, reason in skipped:
            if name in _REPORTED_FILES:
                continue
            _REPORTED_FILES.add(name)
            if self.on_skip is not None:
                self.on_skip(name, reason)
            else:  # stacklevel: this, the pass's generator, the caller's loop
                msg = f"skipping unreadable image {name} ({reason})"
                warnings.warn(msg, RuntimeWarning, stacklevel=3)
        if n == 0:
            return self._empty_batch() if self.keep_empty else None
        if self._spec is None:
            self._spec = images.shape[1:], images.dtype.str
        if n < len(images):
            images, labels = images[:n], labels[:n]
        return images, labels

    def _empty_batch(self) -> tuple[np.ndarray, np.ndarray]:
        """0-sample batch: images ``(0, *sample_shape)`` of the transform's dtype (float32
        ``(0,)`` if no sample shape is known), labels int64 ``(0,)``."""
        shape, dtype = self._spec if self._spec is not None else ((), np.float32)
        return np.empty((0, *shape), dtype=dtype), np.empty(0, dtype=np.int64)

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
        return (
            f"DataLoader(n={len(self.dataset)}, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, seed={self.seed}, workers={self.workers}, "
            f"drop_last={self.drop_last}, keep_empty={self.keep_empty})"
        )
