"""Data faults found by the audits: skip reports (on_skip), empty batches kept for MPI
(keep_empty), extreme aspect ratios, symlink loops, unreadable folders, a classes.txt that is
not UTF-8, one-class datasets and ImageNet class names."""

import os
import warnings

import numpy as np
import pytest
from PIL import Image, ImageFile

from tinynet.data import (
    DataLoader,
    DatasetError,
    EvalTransform,
    ImageFolder,
    check_dataset,
    class_names,
    open_rgb,
)
from tinynet.data.image import MAX_ASPECT_RATIO
from tinynet.data.loader import forget_warned_files

from .test_data_folder import rgb_image, write_dataset, write_image
from .test_data_loader import (
    N_GOOD,
    bad_index,
    no_leftover_children,  # noqa: F401  (autouse: no worker left)
    write_loader_folder,
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


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    return ImageFolder(write_loader_folder(tmp_path_factory.mktemp("faults") / "train"))


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


# ------------------------------------------------------------- aspect ratio
def test_extreme_aspect_ratio_refused_before_decoding(tmp_path, monkeypatch):
    wide = write_image(tmp_path / "wide.png", Image.new("RGB", (150000, 1)))
    tall = write_image(tmp_path / "tall.png", Image.new("RGB", (1, 150000)))
    assert wide.stat().st_size < 1000, "a small file: Pillow's bomb check lets it through"

    def no_decoding(self):
        raise AssertionError("decoded before the size check")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    for path in (wide, tall):
        with pytest.raises(OSError, match=r"aspect ratio 150000:1 is too extreme \(limit 50:1\)"):
            open_rgb(path)


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


# ------------------------------------------------------------- folder walks
def test_symlink_loop_does_not_multiply_a_class(tmp_path):
    train = write_dataset(tmp_path / "ds", per_class=3) / "train"
    (train / "a" / "loop").symlink_to("..")  # the split folder: 48 images became 688
    names = [os.path.relpath(p, train) for p, _ in ImageFolder(train).samples]
    assert names == ["a/0.png", "a/1.png", "a/2.png", "b/0.png", "b/1.png", "b/2.png"]


def test_symlinks_never_visit_a_folder_or_list_a_file_twice(tmp_path):
    train = write_dataset(tmp_path / "ds", per_class=2) / "train"
    write_image(tmp_path / "elsewhere" / "x.png", rgb_image())
    a = train / "a"
    (a / "self").symlink_to(".")
    (a / "other_class").symlink_to("../b")
    (a / "again.png").symlink_to("0.png")  # the same file under a second name
    (a / "more").symlink_to(tmp_path / "elsewhere")  # a real extra folder: followed once
    (a / "more_again").symlink_to(tmp_path / "elsewhere")
    names = [os.path.relpath(p, train) for p, _ in ImageFolder(train).samples]
    assert names == ["a/0.png", "a/1.png", "a/more/x.png", "b/0.png", "b/1.png"]


def _deny(monkeypatch, *folders):
    """``os.scandir`` raises PermissionError for ``folders`` (tests run as root, where
    chmod 000 does not stop reading)."""
    real, denied = os.scandir, {os.path.normpath(f) for f in folders}

    def scandir(path="."):
        if os.path.normpath(path) in denied:
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)


def test_unreadable_split_folder_is_one_clear_error(tmp_path, monkeypatch):
    root = write_dataset(tmp_path / "ds")
    _deny(monkeypatch, root / "train")
    with pytest.raises(DatasetError, match=rf"^Cannot read folder '{root}/train': Permission"):
        check_dataset(root)


@pytest.mark.parametrize("denied", ["a", "a/sub"])
def test_unreadable_folder_in_a_class_is_not_called_empty(tmp_path, monkeypatch, denied):
    root = write_dataset(tmp_path / "ds")
    write_image(root / "train" / "a" / "sub" / "x.png", rgb_image())
    _deny(monkeypatch, root / "train" / denied)
    with pytest.raises(DatasetError) as err:
        check_dataset(root)
    assert str(err.value).startswith(f"Cannot read folder '{root}/train/{denied}': Permission")
    assert "no image" not in str(err.value)


def test_classes_txt_not_utf8_names_the_file(tmp_path):
    root = write_dataset(tmp_path / "ds")
    (root / "classes.txt").write_bytes("a café\nb thé\n".encode("latin-1"))
    with pytest.raises(DatasetError, match=rf"^'{root}/classes.txt' is not UTF-8 .*save it as"):
        class_names(root)


# ----------------------------------------------------------- classes, names
def test_one_class_is_refused(tmp_path):
    root = write_dataset(tmp_path / "ds", train=("cats",), val=("cats",))
    with pytest.raises(DatasetError, match=r"only one class \(cats\).*nothing can be learned"):
        check_dataset(root)


def test_imagenet_wnids_get_their_words(tmp_path):
    wnids = ("n01440764", "n15075141", "n99999999", "zebra")
    root = write_dataset(tmp_path / "ds", train=wnids, val=wnids, per_class=1)
    assert class_names(root) == [
        "tench, Tinca tinca",
        "toilet tissue, toilet paper, bathroom tissue",
        "n99999999",
        "zebra",
    ]
    (root / "classes.txt").write_text("n01440764 my fish\n")
    assert class_names(root)[0] == "my fish", "a classes file still wins"
