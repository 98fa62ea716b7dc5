"""Human-readable class names: from a mapping file beside the split folders, else, for
ImageNet WordNet-id folders, from the ILSVRC-2012 list shipped with tinynet
(``imagenet_synset_words.txt``: the 1000 classes in the standard order, wnid then words)."""

from __future__ import annotations

import functools
import os
import warnings
from importlib import resources
from pathlib import Path

from .errors import DatasetError
from .folder import find_classes
from .prepared import is_prepared, read_manifest

__all__ = ["class_names", "imagenet_words", "MAPPING_FILES"]

#: Files looked for in the dataset root, first found wins.
MAPPING_FILES = ("LOC_synset_mapping.txt", "classes.txt")


def _read_lines(path: Path) -> list[str]:
    """Non-blank stripped lines of a UTF-8 text file; ``DatasetError`` if it is not UTF-8."""
    try:
        with open(path, encoding="utf-8") as f:
            return [ln.strip() for ln in f if ln.strip()]
    except UnicodeDecodeError as err:
        raise DatasetError(
            f"'{path}' is not UTF-8 text (byte {err.object[err.start]:#04x} at offset "
            f"{err.start}); save it as UTF-8 (e.g. iconv -f latin1 -t utf-8)."
        ) from None


@functools.lru_cache(maxsize=1)
def imagenet_words() -> dict[str, str]:
    """WordNet id -> words of the 1000 ILSVRC-2012 classes, e.g. ``"n01440764"`` ->
    ``"tench, Tinca tinca"`` (from the package's ``imagenet_synset_words.txt``)."""
    text = (resources.files(__package__) / "imagenet_synset_words.txt").read_text("utf-8")
    pairs = (ln.split(maxsplit=1) for ln in text.splitlines() if ln and not ln.startswith("#"))
    return {p[0]: p[1] for p in pairs}


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

    ``root_parent`` is the dataset root holding ``train/`` and ``val/``, or a prepared
    dataset (``tinynet.data.prepare``), whose manifest gives the names;
    ``classes`` defaults to the sorted folder names of ``train/`` (else ``val/``).
    Looks in ``root_parent`` for

    * ``LOC_synset_mapping.txt``: lines ``n01440764 tench, Tinca tinca`` -> the
      text after the wnid (here ``"tench, Tinca tinca"``);
    * ``classes.txt``: either lines ``<folder> <name>`` (every first word is a
      class folder), or one name per line in class order (line count = #classes).

    Classes without an entry keep their folder name. With no mapping file, ImageNet
    WordNet ids get their words (``imagenet_words``) and other folders keep their names.
    A ``classes.txt`` that matches neither form gives a warning and the folder names; one
    that is not UTF-8 a ``DatasetError``.
    """
    root = Path(root_parent)
    if is_prepared(root):  # a prepared dataset: the names its manifest keeps
        manifest = read_manifest(root)
        names = dict(zip(manifest["classes"], manifest["class_names"], strict=False))
        classes = manifest["classes"] if classes is None else list(classes)
        return [names.get(c, c) for c in classes]
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
    words = imagenet_words()
    return [words.get(c, c) for c in classes]
