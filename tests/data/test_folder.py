"""Tests of ``tinynet.data.folder``."""

import os
from pathlib import Path

import pytest
from PIL import Image

from tinynet.data import DatasetError, ImageFolder

from ..helpers.images import rgb_image, write_dataset, write_image
from ..helpers.loader import no_leftover_children  # noqa: F401  (autouse: no worker left)


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


def test_classes_samples_and_labels(tree):
    ds = ImageFolder(tree)
    assert ds.classes == ["apple", "banana", "cherry"]
    names = [(Path(p).relative_to(tree).as_posix(), y) for p, y in ds.samples]
    assert names == [
        ("apple/GRAY.JPEG", 0),
        ("apple/cmyk.jpg", 0),
        ("apple/rgb.jpg", 0),
        ("banana/deep.png", 1),
        ("banana/la.png", 1),
        ("banana/pal.png", 1),
        ("banana/rgba.png", 1),
        ("cherry/x.bmp", 2),
        ("cherry/y.WebP", 2),
        ("cherry/z_bad.jpg", 2),
        ("cherry/sub/nested.png", 2),  # like torchvision: a folder's files, then sub-folders
    ]
    assert len(ds) == 11


def test_every_good_file_loads_as_rgb_and_bad_one_raises(tree):
    ds = ImageFolder(tree)
    for i, (path, label) in enumerate(ds.samples):
        if path.endswith("z_bad.jpg"):
            with pytest.raises(OSError):
                ds.load(i)
            continue
        img, y = ds.load(i)
        assert img.mode == "RGB" and y == label
        assert img.size == Image.open(path).size


def test_missing_root_and_no_classes(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        ImageFolder(tmp_path / "nope")
    (tmp_path / "flat").mkdir()
    write_image(tmp_path / "flat" / "a.png", rgb_image())
    with pytest.raises(DatasetError, match="no class sub-folders"):
        ImageFolder(tmp_path / "flat")


def test_empty_class_folder_named(tree):
    (tree / "durian").mkdir()
    with pytest.raises(
        DatasetError, match=r"1 class folder\(s\) contain no image: .*durian\..*Add"
    ):
        ImageFolder(tree)
    for c in "efghi":
        (tree / f"{c}_empty").mkdir()
    with pytest.raises(DatasetError, match=r"^6 class folder\(s\) .*\(and 1 more\)\."):
        ImageFolder(tree)
