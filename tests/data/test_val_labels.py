"""Tests of ``tinynet.data.val_labels``: ImageNet's flat val/ with a label file."""

import os
import shutil
import sys

import numpy as np
import pytest

from tinynet.data import DataLoader, DatasetError, EvalTransform, ImageFolder, check_dataset
from tinynet.data.val_labels import LabelledFolder, find_val_labels
from tinynet.models import alexnet
from tinynet.train import evaluate

from ..helpers.loader import no_leftover_children  # noqa: F401  (autouse: no worker left)
from ..helpers.toy_data import colour_image

WNIDS = ("n01440764", "n01443537", "n01484850")  # sorted, as train/ folders
IDS = {"n01440764": 449, "n01443537": 450, "n01484850": 442}  # devkit ILSVRC2012_IDs
VAL_CLASS = [2, 0, 1, 1, 2, 0, 0, 2, 1]  # class of ILSVRC2012_val_00000001.. (not sorted)
RGB = ((220, 30, 30), (30, 200, 40), (20, 40, 230))


def val_name(n):
    return f"ILSVRC2012_val_{n:08d}"


@pytest.fixture(scope="module")
def sorted_root(tmp_path_factory):
    """train/<wnid>/ and a sorted val/<wnid>/ of 9 images named as ImageNet's."""
    root = tmp_path_factory.mktemp("sorted")
    rng = np.random.default_rng(0)
    for k, wnid in enumerate(WNIDS):
        (root / "train" / wnid).mkdir(parents=True)
        (root / "val" / wnid).mkdir(parents=True)
        for i in range(2):
            colour_image(RGB[k], rng, size=24).save(root / "train" / wnid / f"{i}.JPEG", "JPEG")
    for n, k in enumerate(VAL_CLASS, start=1):
        colour_image(RGB[(k + n) % 3], rng, size=24).save(
            root / "val" / WNIDS[k] / f"{val_name(n)}.JPEG", "JPEG"
        )
    return root


def flat_copy(sorted_root, dest):
    """The same dataset with val/ flat, as downloaded; train/ linked."""
    dest.mkdir()
    os.symlink(sorted_root / "train", dest / "train")
    (dest / "val").mkdir()
    for wnid in WNIDS:
        for f in (sorted_root / "val" / wnid).iterdir():
            shutil.copy(f, dest / "val" / f.name)
    return dest


def write_kaggle(path, rows=None):
    rows = rows or [(val_name(n), WNIDS[k]) for n, k in enumerate(VAL_CLASS, start=1)]
    lines = ["ImageId,PredictionString"]
    lines += [f"{name},{wnid} 10 20 30 40 {wnid} 1 2 3 4" for name, wnid in reversed(rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_caffe(path, rows=None):
    rows = rows or [(val_name(n), k) for n, k in enumerate(VAL_CLASS, start=1)]
    path.write_text("".join(f"{name}.JPEG {k}\n" for name, k in rows))
    return path


def write_devkit(folder, ids=None):
    scipy_io = pytest.importorskip("scipy.io")
    folder.mkdir(parents=True, exist_ok=True)
    ids = ids or [IDS[WNIDS[k]] for k in VAL_CLASS]
    gt = folder / "ILSVRC2012_validation_ground_truth.txt"
    gt.write_text("".join(f"{i}\n" for i in ids))
    synsets = [(1, "n02119789", 0), *((i, w, 0) for w, i in IDS.items()), (1001, "n00001740", 3)]
    dtype = [("ILSVRC2012_ID", "O"), ("WNID", "O"), ("num_children", "O")]
    scipy_io.savemat(folder / "meta.mat", {"synsets": np.array(synsets, dtype=dtype)})
    return gt


def names_and_labels(ds):
    return [(os.path.basename(p), label) for p, label in ds.samples]


def figures(ds, ten_crop=False):
    model = alexnet(num_classes=3, input_size=67, width=0.125, seed=1)
    transform = EvalTransform(crop=67, ten_crop=ten_crop)
    with DataLoader(ds, transform, 4, workers=0) as loader:
        stats = evaluate(model, loader)
    return stats.images, stats.loss, stats.acc1, stats.acc5


WRITERS = {
    "kaggle": lambda root: write_kaggle(root / "LOC_val_solution.csv"),
    "kaggle in val": lambda root: write_kaggle(root / "val" / "LOC_val_solution.csv"),
    "caffe": lambda root: write_caffe(root / "val.txt"),
    "caffe in val": lambda root: write_caffe(root / "val" / "val.txt"),
    "devkit": lambda root: write_devkit(root / "ILSVRC2012_devkit_t12" / "data"),
    "devkit in root": lambda root: write_devkit(root),
}


@pytest.mark.parametrize("form", WRITERS)
def test_flat_val_behaves_as_the_sorted_folder(form, sorted_root, tmp_path):
    root = flat_copy(sorted_root, tmp_path / "flat")
    labels = WRITERS[form](root)
    assert find_val_labels(root) == labels
    train, val = check_dataset(root)
    ref_train, ref_val = check_dataset(sorted_root)
    assert isinstance(val, LabelledFolder) and isinstance(ref_val, ImageFolder)
    assert val.classes == train.classes == ref_val.classes == list(WNIDS)
    assert val.class_to_idx == ref_val.class_to_idx
    # the same (image, label) pairs in the same order: the same shards under MPI
    assert names_and_labels(val) == names_and_labels(ref_val)
    assert val.targets == ref_val.targets and len(val) == len(ref_val) == len(VAL_CLASS)
    img, label = val.load(0)
    assert label == 0 and img.mode == "RGB"


def test_evaluation_gives_the_sorted_folders_figures(sorted_root, tmp_path):
    root = flat_copy(sorted_root, tmp_path / "flat")
    labels = write_caffe(tmp_path / "elsewhere.txt")
    _, val = check_dataset(root, val_labels=labels)
    _, ref_val = check_dataset(sorted_root)
    assert figures(val) == figures(ref_val)
    assert figures(val, ten_crop=True) == figures(ref_val, ten_crop=True)


def test_named_file_wins_over_found_one(sorted_root, tmp_path):
    root = flat_copy(sorted_root, tmp_path / "flat")
    write_kaggle(root / "LOC_val_solution.csv", [(val_name(1), "n09999999")])  # would fail
    named = write_devkit(tmp_path / "devkit")
    _, val = check_dataset(root, val_labels=named)
    assert val.targets == sorted(VAL_CLASS)


def test_no_label_file_found(sorted_root, tmp_path):
    root = flat_copy(sorted_root, tmp_path / "flat")
    (root / "ILSVRC2012_validation_ground_truth.txt").write_text("1\n")  # no meta.mat beside
    with pytest.raises(DatasetError) as e:
        check_dataset(root)
    msg = str(e.value)
    assert "\n" not in msg and "holds 9 image(s) directly" in msg
    for name in ("LOC_val_solution.csv", "val.txt", "ILSVRC2012_validation_ground_truth.txt"):
        assert name in msg
    assert "meta.mat" in msg and "ILSVRC2012_devkit_t12/data" in msg and "--val-labels" in msg


def test_labels_for_missing_images(sorted_root, tmp_path):
    root = flat_copy(sorted_root, tmp_path / "flat")
    write_caffe(root / "val.txt")
    for n in (2, 5, 7):
        (root / "val" / f"{val_name(n)}.JPEG").unlink()
    with pytest.raises(DatasetError, match=r"lists 3 image\(s\) that are not in") as e:
        check_dataset(root)
    msg = str(e.value)
    assert "ILSVRC2012_val_00000002, ILSVRC2012_val_00000005, ILSVRC2012_val_00000007" in msg


def test_images_without_a_label(sorted_root, tmp_path):
    root = flat_copy(sorted_root, tmp_path / "flat")
    rows = [(val_name(n), WNIDS[k]) for n, k in enumerate(VAL_CLASS, start=1) if n != 4]
    write_kaggle(root / "LOC_val_solution.csv", rows)
    with pytest.raises(DatasetError, match=r"holds 1 image\(s\) that .* has no label for: "
                       r"ILSVRC2012_val_00000004.JPEG\. "):  # fmt: skip
        check_dataset(root)


def test_wnids_not_among_training_classes(sorted_root, tmp_path):
    root = flat_copy(sorted_root, tmp_path / "flat")
    rows = [(val_name(n), WNIDS[k]) for n, k in enumerate(VAL_CLASS, start=1)]
    rows[3] = (rows[3][0], "n09999999")
    write_kaggle(root / "LOC_val_solution.csv", rows)
    with pytest.raises(DatasetError, match=r"classes that are not training .*: n09999999\. "):
        check_dataset(root)


def test_devkit_ids_not_among_training_classes(sorted_root, tmp_path):
    root = flat_copy(sorted_root, tmp_path / "flat")
    write_devkit(root, ids=[1] + [IDS[WNIDS[k]] for k in VAL_CLASS[1:]])
    with pytest.raises(DatasetError, match=r"not training classes .*: n02119789\. "):
        check_dataset(root)
    write_devkit(root, ids=[7] + [IDS[WNIDS[k]] for k in VAL_CLASS[1:]])
    with pytest.raises(DatasetError, match=r"ILSVRC2012_IDs that its meta.mat does not have: "):
        check_dataset(root)


def test_indices_outside_the_training_classes(sorted_root, tmp_path):
    root = flat_copy(sorted_root, tmp_path / "flat")
    rows = [(val_name(n), k) for n, k in enumerate(VAL_CLASS, start=1)]
    rows[0] = (rows[0][0], 3)
    write_caffe(root / "val.txt", rows)
    with pytest.raises(DatasetError, match=r"indices outside 0\.\.2.*ILSVRC2012_val_00000001"):
        check_dataset(root)


def test_devkit_without_scipy(sorted_root, tmp_path, monkeypatch):
    root = flat_copy(sorted_root, tmp_path / "flat")
    (root / "ILSVRC2012_validation_ground_truth.txt").write_text("449\n")
    (root / "meta.mat").write_bytes(b"")
    monkeypatch.setitem(sys.modules, "scipy", None)
    monkeypatch.setitem(sys.modules, "scipy.io", None)
    with pytest.raises(DatasetError, match=r"needs scipy: pip install scipy"):
        check_dataset(root)


def test_unrecognised_and_misplaced_label_files(sorted_root, tmp_path):
    root = flat_copy(sorted_root, tmp_path / "flat")
    odd = tmp_path / "odd.txt"
    odd.write_text("what is this file\n")
    with pytest.raises(DatasetError, match="is not a validation label file tinynet reads"):
        check_dataset(root, val_labels=odd)
    with pytest.raises(DatasetError, match="does not exist"):
        check_dataset(root, val_labels=tmp_path / "nope.csv")
    with pytest.raises(DatasetError, match=r"is for a flat val/.*Leave out --val-labels"):
        check_dataset(sorted_root, val_labels=odd)


def test_val_mixing_images_and_folders(sorted_root, tmp_path):
    root = flat_copy(sorted_root, tmp_path / "flat")
    write_caffe(root / "val.txt")
    (root / "val" / WNIDS[0]).mkdir()
    with pytest.raises(DatasetError, match=r"holds both 9 image\(s\) directly .* and 1 folder"):
        check_dataset(root)


def test_kaggle_csv_at_the_top_of_kaggles_download(sorted_root, tmp_path):
    download = tmp_path / "imagenet-object-localization-challenge"
    (download / "ILSVRC" / "Data").mkdir(parents=True)
    root = flat_copy(sorted_root, download / "ILSVRC" / "Data" / "CLS-LOC")
    csv = write_kaggle(download / "LOC_val_solution.csv")
    assert find_val_labels(root).resolve() == csv.resolve()
    _, val = check_dataset(root)
    assert names_and_labels(val) == names_and_labels(check_dataset(sorted_root)[1])


def test_loads_in_worker_processes(sorted_root, tmp_path):
    root = flat_copy(sorted_root, tmp_path / "flat")
    write_caffe(root / "val.txt")
    _, val = check_dataset(root)
    with DataLoader(val, EvalTransform(crop=16), 4, workers=2) as loader:
        labels = np.concatenate([y for _, y in loader])
    assert labels.tolist() == sorted(VAL_CLASS)
