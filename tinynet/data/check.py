"""``check_dataset``: validate a ``data_dir/{train,val}/<class>/<image>`` tree
before training, with error messages that say what is wrong and how to fix it."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import DatasetError
from .folder import ImageFolder, find_classes, visible_entries
from .image import IMG_EXTENSIONS, is_image_file
from .prepared import PreparedDataset, is_prepared, open_prepared
from .val_labels import LabelledFolder, find_val_labels, looked_for

__all__ = ["check_dataset"]

LAYOUT = "{root}/train/<class>/<image> and {root}/val/<class>/<image>"


def _listing(folder: Path, limit: int = 8) -> str:
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return "(unreadable)"
    if not names:
        return "(empty)"
    extra = f", ... ({len(names)} entries)" if len(names) > limit else ""
    return ", ".join(names[:limit]) + extra


def _few(items: list[str], limit: int = 5) -> str:
    extra = f", ... ({len(items)} in all)" if len(items) > limit else ""
    return ", ".join(items[:limit]) + extra


def _missing_split(root: Path, split: str) -> DatasetError:
    hint = ""
    kaggle = root / "ILSVRC" / "Data" / "CLS-LOC"
    if kaggle.is_dir():
        hint = f" This looks like the Kaggle ImageNet download: pass '{kaggle}' instead."
    elif root.name in ("train", "val"):
        hint = f" You seem to have passed a split folder itself; pass its parent '{root.parent}'."
    elif find_classes(root) and split == "train":
        hint = (
            " Its sub-folders look like class folders: move them into a train/ folder "
            "and create a val/ folder the same way."
        )
    return DatasetError(
        f"Data directory '{root}' has no {split}/ folder (it contains: {_listing(root)}). "
        f"Expected layout: {LAYOUT.format(root=root)}.{hint}"
    )


def _check_split(root: Path, split: str) -> ImageFolder:
    d = root / split
    entries = visible_entries(d)
    loose = [e.name for e in entries if is_image_file(e.name) and e.is_file()]
    classes = find_classes(d)
    if loose:
        raise DatasetError(
            f"'{d}' holds {len(loose)} image(s) directly (e.g. {_few(loose, 3)}); every image "
            f"must be inside a class folder: {d}/<class>/<image>."
        )
    if not classes:
        raise DatasetError(
            f"'{d}' has no class folders (it contains: {_listing(d)}). Put each class's images "
            f"in its own folder {d}/<class>/ (accepted extensions: {' '.join(IMG_EXTENSIONS)})."
        )
    return ImageFolder(d)


def _flat_val(root: Path, classes: list[str], val_labels) -> LabelledFolder:
    """ImageNet's raw validation layout: ``val/`` holding the images directly, labelled by
    ``val_labels`` or the label file found in the dataset (``find_val_labels``)."""
    d = root / "val"
    entries = visible_entries(d)
    loose = [e.name for e in entries if is_image_file(e.name) and e.is_file()]
    folders = [e.name for e in entries if e.is_dir()]
    if folders:
        raise DatasetError(
            f"'{d}' holds both {len(loose)} image(s) directly (e.g. {_few(loose, 3)}) and "
            f"{len(folders)} folder(s) ({_few(folders, 3)}): either sort every image into "
            f"{d}/<class>/ folders or leave them all flat with a label file."
        )
    labels = val_labels or find_val_labels(root)
    if labels is None:
        raise DatasetError(
            f"'{d}' holds {len(loose)} image(s) directly (e.g. {_few(loose, 3)}), ImageNet's raw "
            f"validation layout, but no label file was found (looked for {looked_for(root)}); "
            "name one with --val-labels FILE, or sort the images into val/<wnid>/ folders."
        )
    return LabelledFolder(d, classes, labels, dataset_root=root)


def check_dataset(
    data_dir: str | os.PathLike, val_labels: str | os.PathLike | None = None
) -> tuple[ImageFolder, ImageFolder] | tuple[PreparedDataset, PreparedDataset]:
    """Validate ``data_dir`` -> (train ImageFolder, val ImageFolder).

    A prepared dataset (``data_dir/manifest.json``, written by ``python -m
    tinynet.data.prepare``) gives (train, val) ``PreparedDataset``s, after its manifest is
    checked against its arrays (shapes, counts, file sizes; see ``tinynet.data.prepared``).

    A ``val/`` holding its images directly (ImageNet's raw validation layout) is labelled by
    ``val_labels`` or, without it, by Kaggle's ``LOC_val_solution.csv``, Caffe's ``val.txt`` or
    the devkit's ``ILSVRC2012_validation_ground_truth.txt`` (with ``meta.mat``) found in the
    dataset: the val dataset is then a ``LabelledFolder``, which behaves as the sorted folder
    (see ``tinynet.data.val_labels``).

    Raises ``DatasetError`` (a ``ValueError``) naming the problem and its fix for:
    a missing ``data_dir``, ``train/`` or ``val/``; a split without class folders;
    images lying directly in ``train/``; a flat ``val/`` without a label file, or whose label
    file does not match its images or the training classes; an empty class folder; ``val/``
    classes that differ from ``train/`` classes; a single class; a folder that cannot be read.
    """
    root = Path(data_dir)
    if not root.exists():
        raise DatasetError(
            f"Data directory '{root}' does not exist. Pass the folder that contains train/ and "
            f"val/ ({LAYOUT.format(root=root)}); to try tinynet without ImageNet, create one "
            f"with tinynet.data.make_shapes_dataset('{root}')."
        )
    if not root.is_dir():
        raise DatasetError(
            f"Data directory '{root}' is a file, not a directory. "
            f"Expected layout: {LAYOUT.format(root=root)}."
        )
    if is_prepared(root):
        if val_labels is not None:
            raise DatasetError(
                f"--val-labels {val_labels} is for a flat val/, but '{root}' is a prepared "
                "dataset, which holds its labels. Leave out --val-labels."
            )
        return open_prepared(root)
    for split in ("train", "val"):
        if not (root / split).is_dir():
            raise _missing_split(root, split)
    train = _check_split(root, "train")
    val_dir = root / "val"
    if any(is_image_file(e.name) and e.is_file() for e in visible_entries(val_dir)):
        val = _flat_val(root, train.classes, val_labels)
    elif val_labels is not None:
        raise DatasetError(
            f"--val-labels {val_labels} is for a flat val/ (images directly in it), but "
            f"'{val_dir}' holds no image directly: its labels come from its class folders. "
            "Leave out --val-labels."
        )
    else:
        val = _check_split(root, "val")
    if train.classes != val.classes:
        t, v = set(train.classes), set(val.classes)
        only_val, only_train = sorted(v - t), sorted(t - v)
        parts = []
        if only_val:
            parts.append(f"only in val/: {_few(only_val)}")
        if only_train:
            parts.append(f"only in train/: {_few(only_train)}")
        raise DatasetError(
            f"'{root}/val' has {len(v)} classes and '{root}/train' has {len(t)}; they differ ("
            + "; ".join(parts)
            + "). Labels are the sorted folder names, so both splits must "
            "contain exactly the same class folders: add the missing folders (with images) "
            "or remove the extra ones."
        )
    if len(train.classes) < 2:
        raise DatasetError(
            f"'{root}/train' has only one class ({train.classes[0]}): nothing can be learned "
            "from one class (every prediction would be right, loss 0 and top-1 1.000). A "
            "classifier needs at least 2 class folders in train/ and val/."
        )
    return train, val
