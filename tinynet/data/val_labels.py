"""ILSVRC2012's validation set as downloaded: one flat ``val/`` folder of
``ILSVRC2012_val_00000001.JPEG``... images, with the labels in a separate file.

Three label files are read (``read_val_labels``), found without a flag by ``find_val_labels``
in the dataset root or in ``val/`` (the devkit's also in ``ILSVRC2012_devkit_t12/data/``, Kaggle's
also in its download's folder when the root is its ``ILSVRC/Data/CLS-LOC``):

* Kaggle's ``LOC_val_solution.csv``: header ``ImageId,PredictionString``, rows
  ``ILSVRC2012_val_00008726,n02119789 255 142 454 329 ...``; the first word of
  PredictionString is the image's wnid;
* Caffe's ``val.txt``: lines ``ILSVRC2012_val_00000001.JPEG 65``, the index into the sorted
  wnids (the sorted ``train/`` class folders);
* the devkit's ``ILSVRC2012_validation_ground_truth.txt`` (one ILSVRC2012_ID, 1..1000, per line
  for the images 1..50000 in order) with ``meta.mat`` beside it, whose ``synsets`` map
  ILSVRC2012_ID to WNID (read with scipy).

``LabelledFolder`` is the flat folder as a dataset that behaves as the sorted ``ImageFolder``
would: the same classes (``train/``'s), labels and ``samples`` order (by class, then file name),
so evaluation, ten-crop and MPI sharding (which splits by index) give the same figures.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

from .errors import DatasetError
from .folder import ImageFolder, visible_entries
from .image import is_image_file

__all__ = ["LabelledFolder", "find_val_labels", "read_val_labels", "LABEL_FILES"]

KAGGLE, CAFFE, DEVKIT, META = (
    "LOC_val_solution.csv",
    "val.txt",
    "ILSVRC2012_validation_ground_truth.txt",
    "meta.mat",
)
#: The label files looked for, in this order, in the dataset root then in val/.
LABEL_FILES = (KAGGLE, CAFFE, DEVKIT)
DEVKIT_DATA = Path("ILSVRC2012_devkit_t12") / "data"


def _few(items, limit: int = 5) -> str:
    items = list(items)
    extra = f", ... ({len(items)} in all)" if len(items) > limit else ""
    return ", ".join(items[:limit]) + extra


def _devkit_places(root: Path) -> list[Path]:
    return [root, root / "val", root / DEVKIT_DATA]


def _kaggle_download(root: Path) -> Path | None:
    """The folder of Kaggle's download when ``root`` is its ``ILSVRC/Data/CLS-LOC``, where
    ``LOC_val_solution.csv`` lies."""
    if root.resolve().parts[-3:] == ("ILSVRC", "Data", "CLS-LOC"):
        return root.resolve().parents[2]
    return None


def find_val_labels(root: str | os.PathLike) -> Path | None:
    """The first label file found for ``root/val``: ``LOC_val_solution.csv`` or ``val.txt`` in
    ``root`` or ``root/val``, else the devkit's ground truth with ``meta.mat`` beside it in
    ``root``, ``root/val`` or ``root/ILSVRC2012_devkit_t12/data``; None if there is none.
    When ``root`` is Kaggle's ``ILSVRC/Data/CLS-LOC``, the CSV is also looked for in the folder
    of the download (three levels up)."""
    root = Path(root)
    for folder in (root, root / "val"):
        for name in (KAGGLE, CAFFE):
            if (folder / name).is_file():
                return folder / name
    kaggle = _kaggle_download(root)
    if kaggle is not None and (kaggle / KAGGLE).is_file():
        return kaggle / KAGGLE
    for folder in _devkit_places(root):
        if (folder / DEVKIT).is_file() and (folder / META).is_file():
            return folder / DEVKIT
    return None


def looked_for(root: str | os.PathLike) -> str:
    """The places ``find_val_labels`` looks in, for a message."""
    root = Path(root)
    kaggle = _kaggle_download(root)
    also = f" (and {KAGGLE} in {kaggle})" if kaggle is not None else ""
    return (
        f"{KAGGLE} or {CAFFE} in {root} or {root / 'val'}, or {DEVKIT} with {META} beside it "
        f"in one of those or {root / DEVKIT_DATA}{also}"
    )


def _lines(path: Path) -> list[str]:
    try:
        with open(path, encoding="utf-8-sig") as f:
            return [ln.strip() for ln in f]
    except UnicodeDecodeError:
        raise DatasetError(f"Validation label file '{path}' is not UTF-8 text.") from None
    except OSError as err:
        raise DatasetError(
            f"Cannot read validation label file '{path}': {err.strerror or err}."
        ) from None


def _kaggle(path: Path, lines: list[str]) -> dict[str, str]:
    labels = {}
    rows = csv.reader(lines[1:])
    for n, row in enumerate(rows, start=2):
        if not row or not any(row):
            continue
        words = row[1].split() if len(row) > 1 else []
        if len(row) != 2 or not words:
            raise DatasetError(
                f"'{path}' line {n} is not 'ImageId,PredictionString' with a wnid first "
                f"(it is {','.join(row)[:80]!r})."
            )
        labels[Path(row[0].strip()).stem] = words[0]
    return labels


def _caffe(path: Path, lines: list[str], classes: list[str]) -> dict[str, str]:
    labels = {}
    bad = []
    for n, line in enumerate(lines, start=1):
        if not line:
            continue
        words = line.split()
        if len(words) != 2 or not words[1].lstrip("-").isdigit():
            raise DatasetError(
                f"'{path}' line {n} is not '<file name> <class index>' (it is {line[:80]!r})."
            )
        index = int(words[1])
        if not 0 <= index < len(classes):
            bad.append(f"{words[0]} {index}")
            continue
        labels[Path(words[0]).stem] = classes[index]
    if bad:
        raise DatasetError(
            f"'{path}' gives class indices outside 0..{len(classes) - 1}, the {len(classes)} "
            f"training classes (sorted train/ folders): {_few(bad)}. Its indices must count "
            "the sorted wnids of the same classes as train/."
        )
    return labels


def _meta_path(path: Path, root: Path) -> Path:
    for folder in (path.parent, root / DEVKIT_DATA):
        if (folder / META).is_file():
            return folder / META
    raise DatasetError(
        f"'{path}' gives ILSVRC2012_IDs, which need the devkit's {META} to become wnids: put "
        f"{META} (from the devkit's data/ folder) beside it or in {root / DEVKIT_DATA}."
    )


def read_meta(path: Path) -> dict[int, str]:
    """ILSVRC2012_ID -> WNID from the devkit's ``meta.mat`` (needs scipy)."""
    try:
        import scipy.io
    except ImportError:
        raise DatasetError(
            f"Reading the devkit's {path} needs scipy: pip install scipy (or use "
            f"{KAGGLE} or {CAFFE} instead)."
        ) from None
    try:
        synsets = scipy.io.loadmat(path, squeeze_me=True)["synsets"]
        return {int(s["ILSVRC2012_ID"]): str(s["WNID"]) for s in synsets.ravel()}
    except Exception as err:
        raise DatasetError(
            f"'{path}' is not the devkit's meta.mat (with a 'synsets' struct array of "
            f"ILSVRC2012_ID and WNID): {err}."
        ) from None


def _devkit(path: Path, lines: list[str], root: Path) -> dict[str, str]:
    meta = read_meta(_meta_path(path, root))
    labels, unknown = {}, []
    for n, line in enumerate(lines, start=1):
        if not line:
            continue
        if not line.isdigit():
            raise DatasetError(
                f"'{path}' line {n} is not an ILSVRC2012_ID (an integer; it is {line[:80]!r})."
            )
        wnid = meta.get(int(line))
        if wnid is None:
            unknown.append(f"line {n}: {line}")
        labels[f"ILSVRC2012_val_{n:08d}"] = wnid
    if unknown:
        raise DatasetError(
            f"'{path}' gives ILSVRC2012_IDs that its meta.mat does not have: {_few(unknown)}."
        )
    return labels


def read_val_labels(path: str | os.PathLike, classes: list[str], root=None) -> dict[str, int]:
    """Image name without extension (``ILSVRC2012_val_00000001``) -> class index in
    ``classes`` (the sorted training classes), from any of the three label files (told
    apart by their content). ``root``: the dataset root, where the devkit's ``meta.mat`` is
    also looked for. ``DatasetError`` for an unreadable or malformed file and for classes
    not among ``classes``."""
    path = Path(path)
    root = Path(root) if root is not None else path.parent
    if not path.is_file():
        raise DatasetError(f"Validation label file '{path}' does not exist or is not a file.")
    if path.suffix.lower() == ".mat":
        raise DatasetError(
            f"'{path}' is the devkit's meta.mat: give its {DEVKIT} instead (meta.mat is "
            "found beside it)."
        )
    lines = _lines(path)
    first = next((ln for ln in lines if ln), "")
    if first.replace(" ", "").startswith("ImageId,"):
        wnids = _kaggle(path, lines)
    elif first.isdigit():
        wnids = _devkit(path, lines, root)
    elif len(first.split()) == 2:
        wnids = _caffe(path, lines, classes)
    else:
        raise DatasetError(
            f"'{path}' is not a validation label file tinynet reads: expected Kaggle's {KAGGLE} "
            f"(header ImageId,PredictionString), Caffe's {CAFFE} ('<file> <index>' lines) or "
            f"the devkit's {DEVKIT} (one ILSVRC2012_ID per line); its first line is {first[:80]!r}."
        )
    index = {c: i for i, c in enumerate(classes)}
    unknown = sorted({w for w in wnids.values() if w not in index})
    if unknown:
        raise DatasetError(
            f"'{path}' labels validation images with classes that are not training classes "
            f"(train/ folders): {_few(unknown)}. train/ must hold a folder for every class "
            "of the validation set."
        )
    return {name: index[w] for name, w in wnids.items()}


class LabelledFolder(ImageFolder):
    """The images lying directly in ``root`` (a flat ``val/``), labelled by the file ``labels``
    (see ``read_val_labels``) with the indices of ``classes`` (``train/``'s).

    It behaves as the ``ImageFolder`` of the same images sorted into ``root/<class>/``:
    ``samples`` are ordered by label, then file name; ``classes`` are all of ``classes``.

    ``DatasetError`` names a few of the files the label file lists that are not in ``root``,
    or of the images in ``root`` it has no label for.
    """

    def __init__(self, root, classes: list[str], labels, dataset_root=None):
        self.root = Path(root)
        self.labels_file = Path(labels)
        self.classes = list(classes)
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}
        label_of = read_val_labels(labels, self.classes, dataset_root or self.root.parent)
        images = [e for e in visible_entries(self.root) if is_image_file(e.name) and not e.is_dir()]
        stems = {Path(e.name).stem for e in images}
        missing = sorted(set(label_of) - stems)
        if missing:
            raise DatasetError(
                f"'{labels}' lists {len(missing)} image(s) that are not in '{self.root}': "
                f"{_few(missing)}. Copy the whole validation set there, or use the label file "
                "that goes with these images."
            )
        unlabelled = sorted(e.name for e in images if Path(e.name).stem not in label_of)
        if unlabelled:
            raise DatasetError(
                f"'{self.root}' holds {len(unlabelled)} image(s) that '{labels}' has no label "
                f"for: {_few(unlabelled)}. Remove them, or use the label file of these images."
            )
        pairs = sorted((label_of[Path(e.name).stem], e.name, e.path) for e in images)
        self.samples = [(path, label) for label, _, path in pairs]

    def __repr__(self) -> str:
        return (
            f"LabelledFolder(root='{self.root}', labels='{self.labels_file}', "
            f"classes={len(self.classes)}, samples={len(self)})"
        )
