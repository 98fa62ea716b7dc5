"""Tests of ``tinynet.data.loader``."""

import warnings

import numpy as np
import pytest
from PIL import Image

from tinynet.data import DataLoader, EvalTransform, ImageFolder, TrainTransform
from tinynet.data.image import MAX_ASPECT_RATIO
from tinynet.data.loader import forget_warned_files

from ..helpers.images import rgb_image, write_image
from ..helpers.loader import (
    N_GOOD,
    assert_equal_batches,
    epoch_batches,
    no_leftover_children,  # noqa: F401  (autouse: no test leaves a worker behind)
)


class _Failing:
    """``dataset`` whose samples ``bad`` fail to load with an OSError (picklable)."""

    def __init__(self, dataset, bad):
        self.dataset, self.bad, self.samples = dataset, set(bad), dataset.samples

    def __len__(self):
        return len(self.dataset)

    def load(self, i, min_size=None):
        if i in self.bad:
            raise OSError(f"cannot identify image file {self.samples[i][0]!r}")
        return self.dataset.load(i, min_size)


def _quiet(path, reason):
    pass


# ------------------------------------------------------------------- on_skip
@pytest.mark.parametrize("workers", [0, 2])
def test_on_skip_reports_each_file_once_per_process(ds, workers):
    forget_warned_files()
    calls = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # on_skip replaces the RuntimeWarning
        for epoch in (0, 1):
            dl = DataLoader(
                ds, EvalTransform(24), 8, workers=workers, on_skip=lambda *a: calls.append(a)
            )
            dl.set_epoch(epoch)
            assert sum(len(y) for _, y in dl) == N_GOOD and dl.skipped == 1
    assert len(calls) == 1, calls
    path, reason = calls[0]
    assert path == ds.samples[bad_index(ds)][0]
    assert reason.split(":")[0].endswith("Error") and len(reason) > 10, reason


# ---------------------------------------------------------------- keep_empty
@pytest.mark.parametrize("workers", [0, 2])
def test_keep_empty_yields_every_batch(ds, workers):
    """Batch 1 (samples 4..7) has no readable file: still yielded, with 0 rows."""
    data = _Failing(ds, bad=range(4, 8))
    kept = DataLoader(data, EvalTransform(24), 4, workers=workers, keep_empty=True, on_skip=_quiet)
    dropped = DataLoader(data, EvalTransform(24), 4, workers=workers, on_skip=_quiet)
    batches = list(kept)
    assert len(batches) == len(kept) == 10 and len(list(dropped)) == 9
    x, y = batches[1]
    assert x.shape == (0, 3, 24, 24) and x.dtype == np.float32
    assert y.shape == (0,) and y.dtype == np.int64
    assert [len(y) for _, y in batches] == [4, 0, 4, 4, 4, 4, 3, 4, 4, 2]
    kept.set_epoch(0, start=1)
    assert len(list(kept)) == len(kept) - 1


@pytest.mark.parametrize("workers", [0, 2])
def test_keep_empty_before_any_readable_sample(ds, workers):
    first_bad = DataLoader(
        _Failing(ds, bad=range(4)), EvalTransform(24), 4, workers=workers, keep_empty=True,
        on_skip=_quiet,
    )  # fmt: skip
    assert next(iter(first_bad))[0].shape == (0, 3, 24, 24), "shape learnt from a later batch"
    first_bad.close()
    none = DataLoader(
        _Failing(ds, bad=range(len(ds))), EvalTransform(24), 8, workers=workers,
        keep_empty=True, on_skip=_quiet,
    )  # fmt: skip
    batches = list(none)
    assert len(batches) == len(none) == 5 and none.skipped == len(ds)
    assert all(x.shape == (0,) and x.dtype == np.float32 and y.shape == (0,) for x, y in batches)


def test_extreme_aspect_ratio_skipped_panoramas_kept(tmp_path):
    root = tmp_path / "train"
    write_image(root / "a" / "normal.png", rgb_image(40, 30))
    write_image(root / "a" / "panorama.png", Image.new("RGB", (500, 50)))  # 10:1
    write_image(root / "a" / "limit.png", Image.new("RGB", (MAX_ASPECT_RATIO * 3, 3)))
    write_image(root / "a" / "strip.png", Image.new("RGB", (6000, 1)))
    calls = []
    dl = DataLoader(
        ImageFolder(root), EvalTransform(24), 4, workers=0, on_skip=lambda *a: calls.append(a)
    )
    forget_warned_files()
    assert [len(y) for _, y in dl] == [3] and dl.skipped == 1
    assert calls[0][0].endswith("strip.png") and "aspect ratio 6000:1" in calls[0][1]


def bad_index(ds) -> int:
    return [i for i, (p, _) in enumerate(ds.samples) if "bad" in p][0]


def test_batches_shape_dtype_layout(ds):
    dl = DataLoader(ds, TrainTransform(24), batch_size=8, shuffle=False, workers=0)
    batches = epoch_batches(dl)
    sizes = [len(y) for _, y in batches]
    assert sum(sizes) == N_GOOD and len(batches) == len(dl) == 5
    x, y = batches[0]
    assert x.shape == (8, 3, 24, 24) and x.dtype == np.float32 and x.flags.c_contiguous
    assert y.dtype == np.int64 and y.shape == (8,)
    labels = np.concatenate([y for _, y in batches])
    assert labels.tolist() == [lab for p, lab in ds.samples if "bad" not in p]


def test_last_partial_batch_and_drop_last(ds):
    keep = DataLoader(ds, EvalTransform(24), batch_size=10, workers=0)
    drop = DataLoader(ds, EvalTransform(24), batch_size=10, workers=0, drop_last=True)
    # 38 files: batches of 10,10,10,8; the truncated file (index 25) shrinks batch 2
    assert bad_index(ds) == 25
    assert [len(y) for _, y in epoch_batches(keep)] == [10, 10, 9, 8]
    assert [len(y) for _, y in epoch_batches(drop)] == [10, 10, 9]
    assert (len(keep), len(drop)) == (4, 3)


def test_shuffle_reproducible_per_epoch(ds):
    n = len(ds)
    a = DataLoader(ds, EvalTransform(24), batch_size=8, shuffle=True, seed=7, workers=0)
    b = DataLoader(ds, EvalTransform(24), batch_size=8, shuffle=True, seed=7, workers=0)
    for e in (0, 1, 5):
        np.testing.assert_array_equal(a.indices(e), np.random.default_rng([7, e]).permutation(n))
    assert not np.array_equal(a.indices(0), a.indices(1))
    assert not np.array_equal(a.indices(0), np.arange(n))
    assert_equal_batches(epoch_batches(a, 1), epoch_batches(b, 1))
    y0 = np.concatenate([y for _, y in epoch_batches(a, 0)])
    y1 = np.concatenate([y for _, y in epoch_batches(a, 1)])
    assert not np.array_equal(y0, y1)
    other = DataLoader(ds, EvalTransform(24), batch_size=8, shuffle=True, seed=8, workers=0)
    assert not np.array_equal(other.indices(0), a.indices(0))


def test_augmentation_differs_across_epochs_not_across_positions(ds):
    dl = DataLoader(ds, TrainTransform(24), batch_size=N_GOOD + 1, shuffle=True, workers=0)
    x0, y0 = epoch_batches(dl, 0)[0]
    x1, _ = epoch_batches(dl, 1)[0]
    i0 = [int(i) for i in dl.indices(0) if "bad" not in ds.samples[i][0]]
    i1 = [int(i) for i in dl.indices(1) if "bad" not in ds.samples[i][0]]
    a = x0[i0.index(0)]
    b = x1[i1.index(0)]
    assert not np.array_equal(a, b), "sample 0 is augmented afresh each epoch"
    # a subset (one rank's share) sees exactly the same pixels for a sample in an epoch
    part = DataLoader(
        ds,
        TrainTransform(24),
        batch_size=4,
        shuffle=True,
        workers=0,
        indices_fn=lambda order: order[1::3],
    )
    xs, _ = epoch_batches(part, 0)[0]
    first = int(part.indices(0)[0])
    np.testing.assert_array_equal(xs[0], x0[i0.index(first)])


def test_indices_fn_picks_the_samples(ds):
    n = len(ds)
    custom = DataLoader(ds, EvalTransform(24), 4, workers=0, indices_fn=lambda p: p[p % 5 == 0])
    assert custom.indices().tolist() == list(range(0, n, 5))
    shuffled = DataLoader(
        ds, EvalTransform(24), 4, shuffle=True, seed=1, workers=0, indices_fn=lambda p: p[::2]
    )
    np.testing.assert_array_equal(
        shuffled.indices(2), np.random.default_rng([1, 2]).permutation(n)[::2]
    )


# ------------------------------------------------------------ mid-epoch resume
def _rank_part(order, rank, size=2, global_batch=8):
    """Rank ``rank``'s slice of every full global batch (as tinynet.dist.train_shard cuts it)."""
    full = len(order) // global_batch * global_batch
    return order[:full].reshape(-1, size, global_batch // size)[:, rank].reshape(-1)


@pytest.mark.parametrize("workers", [0, 1])
@pytest.mark.parametrize("rank", [None, 0, 1])
def test_start_yields_exactly_the_rest_of_the_full_pass(ds, workers, rank):
    """Batches k.. of the pass, pixels included; with an indices_fn, counted after it."""
    fn = None if rank is None else (lambda order: _rank_part(order, rank))
    dl = DataLoader(
        ds, TrainTransform(24), batch_size=4, shuffle=True, seed=2, workers=workers, indices_fn=fn
    )
    full = epoch_batches(dl, 3)
    assert len(full) == len(dl) == (10 if rank is None else 4)
    for k in (1, 3):
        assert_equal_batches(epoch_batches(dl, 3, start=k), full[k:])
        assert len(dl) == len(full), "len() stays the batches of a whole epoch"


def test_start_under_data_parallelism_skips_the_first_global_batches(ds):
    """Each rank's local batch j is its part of global batch j, also from a start."""
    one = DataLoader(ds, EvalTransform(24), batch_size=8, shuffle=True, seed=4, workers=0)
    ranks = [
        DataLoader(
            ds,
            EvalTransform(24),
            batch_size=4,
            shuffle=True,
            seed=4,
            workers=0,
            indices_fn=lambda order, r=r: _rank_part(order, r),
        )
        for r in (0, 1)
    ]
    glob = epoch_batches(one, 1, start=2)[:2]  # global batches 2 and 3 (4 is partial: not in parts)
    parts = [epoch_batches(dl, 1, start=2) for dl in ranks]
    for (xg, yg), (x0, y0), (x1, y1) in zip(glob, *parts, strict=True):
        np.testing.assert_array_equal(np.concatenate([y0, y1]), yg)
        np.testing.assert_array_equal(np.concatenate([x0, x1]), xg)


def test_start_does_not_load_the_skipped_batches(ds):
    loaded = []

    class Recording:
        samples = ds.samples

        def __len__(self):
            return len(ds)

        def load(self, i):
            loaded.append(i)
            return ds.load(i)

    dl = DataLoader(Recording(), EvalTransform(24), batch_size=5, shuffle=True, workers=0)
    epoch_batches(dl, 2, start=3)
    assert loaded == dl.indices(2)[15:].tolist()


@pytest.mark.parametrize("workers", [0, 1])
def test_start_at_or_past_the_end_yields_nothing(ds, workers):
    dl = DataLoader(ds, TrainTransform(24), batch_size=8, workers=workers, drop_last=True)
    assert len(dl) == 4
    for start in (4, 5, 100):
        assert epoch_batches(dl, 0, start=start) == []
        assert dl.worker_pids == [], "no worker is started for an empty pass"


def test_start_lasts_until_the_next_set_epoch(ds):
    dl = DataLoader(ds, EvalTransform(24), batch_size=10, workers=0)
    dl.set_epoch(1, start=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        # batches 2 and 3 of 10, 10, 10, 8 (the truncated file, index 25, is in batch 2)
        assert [len(y) for _, y in dl] == [len(y) for _, y in dl] == [9, 8]
    assert (dl.epoch, dl.start) == (1, 2)
    dl.set_epoch(2)
    assert (dl.epoch, dl.start) == (2, 0), "set_epoch(e) means start 0"
    assert len(epoch_batches(dl, 2)) == len(dl) == 4


@pytest.mark.parametrize("start", [-1, 1.5, True, "2"])
def test_bad_start_rejected(ds, start):
    dl = DataLoader(ds, EvalTransform(24), batch_size=10, workers=0)
    with pytest.raises(ValueError, match="start"):
        dl.set_epoch(0, start=start)
    assert (dl.epoch, dl.start) == (0, 0)


@pytest.mark.parametrize("workers", [0, 2])
def test_corrupt_file_skipped_warned_once_and_counted(ds, workers):
    forget_warned_files()
    dl = DataLoader(ds, EvalTransform(24), batch_size=8, workers=workers)
    bad_batch = bad_index(ds) // 8
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for epoch in (0, 1):
            dl.set_epoch(epoch)
            sizes = [len(y) for _, y in dl]
            assert sizes[bad_batch] == 7 and sum(sizes) == N_GOOD and dl.skipped == 1
        # a fresh loader (trainers may build one per epoch) does not warn again
        again = DataLoader(ds, EvalTransform(24), batch_size=8, workers=workers)
        assert sum(len(y) for _, y in again) == N_GOOD and again.skipped == 1
        again.set_epoch(0, start=bad_batch + 1)
        assert sum(len(y) for _, y in again) == N_GOOD - 8 * (bad_batch + 1) + 1
        assert again.skipped == 0, "skipped counts the files of this pass only"
    warned = [w for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(warned) == 1, [str(w.message) for w in warned]
    assert str(warned[0].message).startswith("skipping unreadable image")
    assert ds.samples[bad_index(ds)][0] in str(warned[0].message)
    assert warned[0].filename == __file__, "the warning points at the loop that iterates"
