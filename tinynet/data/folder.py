"""``ImageFolder``: a labelled image dataset laid out as ``root/<class>/<image>``.

Class indices follow the sorted class-folder names (ImageNet wnids such as
``n01440764`` sort into the standard 0..999 order). Files are found
recursively inside each class folder, in sorted order; hidden files and
folders (names starting with ``.``, e.g. macOS ``._x.JPEG``) are ignored.
"""

from __future__ import annotations

import os
from pathlib import Path

from PIL import Image

from .errors import DatasetError
from .image import IMG_EXTENSIONS, is_image_file, open_rgb

__all__ = ["ImageFolder", "find_classes", "list_images"]


def find_classes(root: str | os.PathLike) -> list[str]:
    """Sorted names of the visible sub-folders of ``root``."""
    with os.scandir(root) as it:
        return sorted(e.name for e in it if e.is_dir() and not e.name.startswith("."))


def list_images(folder: str | os.PathLike) -> list[str]:
    """Sorted paths of the accepted image files under ``folder`` (recursive)."""
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        out.extend(os.path.join(dirpath, f) for f in sorted(filenames) if is_image_file(f))
    return out


class ImageFolder:
    """Images in ``root/<class>/...``; label = index of the class in sorted order.

    Attributes
    ----------
    root : Path
    classes : list[str]            sorted class-folder names
    class_to_idx : dict[str, int]  (torchvision's names)
    targets : list[int]            the label of each sample
    samples : list[tuple[str, int]]  (path, label), grouped by class, sorted

    Raises ``DatasetError`` if ``root`` is missing, has no class folder, or a class
    folder holds no image.
    """

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        if not self.root.is_dir():
            raise DatasetError(
                f"Image folder '{self.root}' does not exist or is not a directory. "
                "Expected the layout <root>/<class>/<image>."
            )
        self.classes = find_classes(self.root)
        if not self.classes:
            raise DatasetError(
                f"Image folder '{self.root}' has no class sub-folders. Put each class's images "
                f"in its own folder: {self.root}/<class>/<image>."
            )
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}
        self.samples: list[tuple[str, int]] = []
        empty: list[str] = []
        for label, cls in enumerate(self.classes):
            files = list_images(self.root / cls)
            if not files:
                empty.append(cls)
            self.samples.extend((f, label) for f in files)
        if empty:
            shown = ", ".join(str(self.root / c) for c in empty[:5])
            more = f" (and {len(empty) - 5} more)" if len(empty) > 5 else ""
            raise DatasetError(
                f"{len(empty)} class folder(s) contain no image: {shown}{more}. "
                f"Accepted extensions: {' '.join(IMG_EXTENSIONS)} (any case). "
                "Add images to them or remove the empty folders."
            )

    @property
    def targets(self) -> list[int]:
        return [label for _, label in self.samples]

    def __len__(self) -> int:
        return len(self.samples)

    def __repr__(self) -> str:
        return f"ImageFolder(root='{self.root}', classes={len(self.classes)}, samples={len(self)})"

    def load(self, i: int, min_size: int | None = None) -> tuple[Image.Image, int]:
        """Decode sample ``i`` -> (RGB PIL image, int label).

        ``min_size``: the shorter side the caller will resize to; large JPEGs are
        then decoded at reduced scale (see ``image.open_rgb``). Raises PIL's
        error for an unreadable/truncated file.
        """
        path, label = self.samples[i]
        return open_rgb(path, min_size=min_size), label
