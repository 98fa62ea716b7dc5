"""``ImageFolder``: a labelled image dataset laid out as ``root/<class>/<image>``.

Class indices follow the sorted class-folder names (ImageNet wnids such as
``n01440764`` sort into the standard 0..999 order). Files are found
recursively inside each class folder, in sorted order; hidden files and
folders (names starting with ``.``, e.g. macOS ``._x.JPEG``) are ignored.

Symbolic links are followed, but each real folder is visited once (by ``(st_dev, st_ino)``):
a link to a folder already visited, to an ancestor (``train/a/loop -> ..``) or to another
class folder is not followed, and a file reached twice (a link to a file, a hard link) is
listed once. A folder that cannot be read is a ``DatasetError`` naming it.
"""

from __future__ import annotations

import os
from pathlib import Path

from PIL import Image

from .errors import DatasetError
from .image import IMG_EXTENSIONS, is_image_file, open_rgb

__all__ = ["ImageFolder", "find_classes", "list_images", "visible_entries"]


def _unreadable(folder, err: OSError) -> DatasetError:
    return DatasetError(
        f"Cannot read folder '{folder}': {err.strerror or err}. Make it readable by this "
        "user (e.g. chmod -R u+rX) or move it out of the dataset."
    )


def visible_entries(folder: str | os.PathLike) -> list[os.DirEntry]:
    """Entries of ``folder`` not starting with ``.``, sorted by name; ``DatasetError`` (naming
    the folder) if it cannot be read."""
    try:
        with os.scandir(folder) as it:
            return sorted((e for e in it if not e.name.startswith(".")), key=lambda e: e.name)
    except OSError as err:
        raise _unreadable(folder, err) from None


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()  # follows symbolic links
    except OSError:
        return False


def find_classes(root: str | os.PathLike) -> list[str]:
    """Sorted names of the visible sub-folders of ``root``."""
    return [e.name for e in visible_entries(root) if _is_dir(e)]


def folder_key(path: str | os.PathLike) -> tuple[int, int]:
    """``(st_dev, st_ino)`` of the folder ``path`` (links followed): its identity.
    ``DatasetError`` if it cannot be read."""
    try:
        st = os.stat(path)
    except OSError as err:
        raise _unreadable(path, err) from None
    return st.st_dev, st.st_ino


def _file_key(entry: os.DirEntry, dev: int):
    """Identity of the file ``entry`` in a folder on device ``dev``: ``(dev, inode)``,
    through a link if it is one (its path if the link is broken)."""
    if not entry.is_symlink():
        return dev, entry.inode()
    try:
        st = os.stat(entry.path)
    except OSError:
        return entry.path
    return st.st_dev, st.st_ino


def _ancestors(folder: str | os.PathLike) -> set[tuple[int, int]]:
    """``folder_key`` of every folder above ``folder``'s real path, up to ``/``."""
    keys = set()
    for parent in Path(os.path.realpath(folder)).parents:
        try:
            keys.add(folder_key(parent))
        except DatasetError:  # cannot be stat'ed: no link can lead there either
            pass
    return keys


def list_images(folder: str | os.PathLike, exclude=()) -> list[str]:
    """Sorted paths of the accepted image files under ``folder`` (recursive: a folder's
    files, then its sub-folders', depth first). Links to a folder that is an ancestor, in
    ``exclude`` (``folder_key``s, e.g. the other class folders) or already visited are not
    followed; a file reached twice is listed once."""
    seen = (set(exclude) | _ancestors(folder)) - {folder_key(folder)}
    files_seen: set = set()
    out: list[str] = []
    stack = [os.fspath(folder)]
    while stack:
        path = stack.pop()
        key = folder_key(path)
        if key in seen:
            continue
        seen.add(key)
        entries = visible_entries(path)
        subdirs = [e.path for e in entries if _is_dir(e)]
        for e in entries:
            if is_image_file(e.name) and not _is_dir(e):
                fkey = _file_key(e, key[0])
                if fkey not in files_seen:
                    files_seen.add(fkey)
                    out.append(e.path)
        stack.extend(reversed(subdirs))
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
        class_keys = {folder_key(self.root)} | {folder_key(self.root / c) for c in self.classes}
        for label, cls in enumerate(self.classes):
            files = list_images(self.root / cls, exclude=class_keys)
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
