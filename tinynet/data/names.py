"""Human-readable class names from a mapping file beside the split folders."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from .errors import DatasetError
from .folder import find_classes

__all__ = ["class_names", "MAPPING_FILES"]

#: Files looked for in the dataset root, first found wins.
MAPPING_FILES = ("LOC_synset_mapping.txt", "classes.txt")


def _read_lines(path: Path) -> list[str]:
    with open(path, encoding="utf-8") as f:
        return [ln.strip() for ln in f if ln.strip()]


def _default_classes(root: Path) -> list[str]:
    for split in ("train", "val"):
        if (root / split).is_dir():
            return find_classes(root / split)
    raise DatasetError(
        f"'{root}' has neither train/ nor val/; pass the dataset root that contains them, "
        "or pass classes=[...] explicitly."
    )


def class_names(root_parent: str | os.PathLike, classes: list[str] | None = None) -> list[str]:
    """Display name of each class, in class-index order -> list[str] (len = #classes).

    ``root_parent`` is the dataset root holding ``train/`` and ``val/``;
    ``classes`` defaults to the sorted folder names of ``train/`` (else ``val/``).
    Looks in ``root_parent`` for

    * ``LOC_synset_mapping.txt``: lines ``n01440764 tench, Tinca tinca`` -> the
      text after the wnid (here ``"tench, Tinca tinca"``);
    * ``classes.txt``: either lines ``<folder> <name>`` (every first word is a
      class folder), or one name per line in class order (line count = #classes).

    Classes without an entry keep their folder name; with no usable file the
    folder names are returned unchanged. A ``classes.txt`` that matches neither
    form gives a warning and the folder names.
    """
    root = Path(root_parent)
    classes = list(classes) if classes is not None else _default_classes(root)
    for fname in MAPPING_FILES:
        path = root / fname
        if not path.is_file():
            continue
        lines = _read_lines(path)
        pairs = [ln.split(maxsplit=1) for ln in lines]
        mapping = {p[0]: (p[1].strip() if len(p) > 1 else p[0]) for p in pairs}
        known = set(classes)
        if fname == "LOC_synset_mapping.txt" or (lines and all(p[0] in known for p in pairs)):
            return [mapping.get(c, c) for c in classes]
        if len(lines) == len(classes):
            return lines
        warnings.warn(
            f"{path}: {len(lines)} lines for {len(classes)} classes and first words are not "
            "class folder names; expected '<folder> <name>' lines or one name per class "
            "in sorted folder order. Using folder names.",
            stacklevel=2,
        )
        return list(classes)
    return list(classes)
