"""Tests of ``tinynet.data.check``."""

import os

import pytest

from tinynet.data import DatasetError, check_dataset

from ..helpers.images import rgb_image, write_dataset, write_image
from ..helpers.loader import no_leftover_children  # noqa: F401  (autouse: no worker left)


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


# ----------------------------------------------------------- classes, names
def test_one_class_is_refused(tmp_path):
    root = write_dataset(tmp_path / "ds", train=("cats",), val=("cats",))
    with pytest.raises(DatasetError, match=r"only one class \(cats\).*nothing can be learned"):
        check_dataset(root)


def test_check_dataset_ok(tmp_path):
    train, val = check_dataset(write_dataset(tmp_path / "ds"))
    assert train.classes == val.classes == ["a", "b"]
    assert len(train) == len(val) == 4


def test_check_missing_data_dir(tmp_path):
    with pytest.raises(DatasetError, match=r"nope' does not exist.*train/ and val/.*make_shapes"):
        check_dataset(tmp_path / "nope")


@pytest.mark.parametrize("split", ["train", "val"])
def test_check_missing_split(tmp_path, split):
    root = write_dataset(tmp_path / "ds")
    import shutil

    shutil.rmtree(root / split)
    with pytest.raises(DatasetError, match=rf"has no {split}/ folder.*Expected layout"):
        check_dataset(root)


def test_check_passed_split_folder_itself(tmp_path):
    root = write_dataset(tmp_path / "ds")
    with pytest.raises(DatasetError, match="pass its parent"):
        check_dataset(root / "train")


def test_check_flat_val_is_imagenet_raw_layout(tmp_path):
    root = write_dataset(tmp_path / "ds", val=())
    for i in range(3):
        write_image(root / "val" / f"ILSVRC2012_val_{i:08d}.JPEG", rgb_image(), format="JPEG")
    with pytest.raises(DatasetError) as e:
        check_dataset(root)
    msg = str(e.value)
    assert "holds 3 image(s) directly" in msg and "no label file was found" in msg
    assert "ILSVRC2012_val_00000000.JPEG" in msg and "--val-labels" in msg


def test_check_flat_train(tmp_path):
    root = write_dataset(tmp_path / "ds")
    write_image(root / "train" / "loose.png", rgb_image())
    with pytest.raises(DatasetError, match=r"train' holds 1 image\(s\) directly.*inside a class"):
        check_dataset(root)


def test_check_split_without_class_folders(tmp_path):
    root = write_dataset(tmp_path / "ds", val=())
    (root / "val").mkdir(exist_ok=True)
    (root / "val" / "README").write_text("x")
    with pytest.raises(DatasetError, match=r"val' has no class folders.*README"):
        check_dataset(root)


def test_check_empty_class_folder(tmp_path):
    root = write_dataset(tmp_path / "ds")
    (root / "val" / "b" / "0.png").unlink()
    (root / "val" / "b" / "1.png").unlink()
    with pytest.raises(DatasetError, match=r"contain no image: .*val/b\."):
        check_dataset(root)


def test_check_val_classes_differ(tmp_path):
    root = write_dataset(tmp_path / "ds", train=("a", "b", "c"), val=("a", "b", "zz"))
    with pytest.raises(DatasetError) as e:
        check_dataset(root)
    msg = str(e.value)
    assert "only in val/: zz" in msg and "only in train/: c" in msg and "same class folders" in msg
