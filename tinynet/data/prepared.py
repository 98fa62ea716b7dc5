"""``PreparedDataset``: a split written by ``python -m tinynet.data.prepare SRC DST``.

A prepared dataset ``DST`` holds, per split (``train``, ``val``), ``<split>_images.npy``, a
uint8 array of shape (N, 256, 256, 3) (RGB rows, the shorter side of each source image resized
to 256 with PIL's bilinear filter and the centre 256x256 kept), and ``<split>_labels.npy``
(int64, N), with ``manifest.json`` beside them: the format name and version, the classes
(folder names) and their display names, each split's count and files, each file's size in bytes
and sha256. The manifest is written last: a folder without it is not a prepared dataset.

``open_prepared(root)`` checks the manifest against the arrays (header shapes and dtypes,
counts, file sizes: cheap) and returns (train, val); ``PreparedDataset.verify()`` also checks
the sha256 of its files (it reads every byte). The image arrays are memory-mapped read-only,
so a worker process reads only the rows it loads.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
from PIL import Image

from .errors import DatasetError

__all__ = [
    "PreparedDataset",
    "open_prepared",
    "read_manifest",
    "is_prepared",
    "MANIFEST",
    "FORMAT",
    "VERSION",
    "SIZE",
    "SPLITS",
]

MANIFEST = "manifest.json"
FORMAT = "tinynet-prepared-images"
VERSION = 1
SIZE = 256
SPLITS = ("train", "val")


def is_prepared(root: str | os.PathLike) -> bool:
    """Whether ``root`` is a prepared dataset (it holds ``manifest.json``)."""
    return (Path(root) / MANIFEST).is_file()


def read_manifest(root: str | os.PathLike) -> dict:
    """The manifest of the prepared dataset ``root``; ``DatasetError`` (one line) if it cannot
    be read or is not one tinynet writes."""
    path = Path(root) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise DatasetError(f"Cannot read the prepared dataset's manifest '{path}': {err}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise DatasetError(
            f"'{path}' is not the manifest of a prepared dataset (its format is not {FORMAT!r})."
        )
    if manifest.get("version") != VERSION:
        raise DatasetError(
            f"'{path}' is of prepared-dataset format version {manifest.get('version')!r}; this "
            f"tinynet reads version {VERSION}: prepare the dataset again with this tinynet."
        )
    try:
        for split in SPLITS:
            info = manifest["splits"][split]
            int(info["count"]), str(info["images"]), str(info["labels"])
        for name in ("classes", "class_names", "files"):
            if not isinstance(manifest[name], (list, dict)):
                raise TypeError(name)
    except (KeyError, TypeError, ValueError) as err:
        raise DatasetError(f"'{path}' lacks or garbles the entry {err}.") from None
    return manifest


def npy_layout(path: Path) -> tuple[tuple, np.dtype, int]:
    """(shape, dtype, offset of the data) from the header of the ``.npy`` file ``path``."""
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        if fortran:
            raise ValueError("Fortran-ordered")
        return tuple(shape), np.dtype(dtype), f.tell()


def file_sha256(path: str | os.PathLike, chunk: int = 1 << 22) -> str:
    """Hex sha256 of the file ``path``."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _check_file(root: Path, manifest: dict, name: str, shape: tuple, dtype) -> None:
    """``DatasetError`` (one line) unless the array file ``name`` has ``shape``, ``dtype`` and
    the size in bytes the manifest gives."""
    path = root / name
    try:
        size = path.stat().st_size
        found_shape, found_dtype, offset = npy_layout(path)
    except (OSError, ValueError) as err:
        raise DatasetError(
            f"Prepared dataset '{root}': cannot read the array file {name}: {err}. Prepare the "
            "dataset again."
        ) from None
    expected = manifest["files"].get(name, {}).get("bytes")
    if found_shape != shape or found_dtype != np.dtype(dtype):
        raise DatasetError(
            f"Prepared dataset '{root}': {name} holds a {found_dtype} array of shape "
            f"{found_shape}, but its manifest says {np.dtype(dtype)} {shape}. Prepare the "
            "dataset again."
        )
    needed = offset + int(np.prod(shape)) * np.dtype(dtype).itemsize
    if size != needed or size != expected:
        raise DatasetError(
            f"Prepared dataset '{root}': {name} is {size} bytes, but its array needs {needed} "
            f"and its manifest says {expected} (a truncated or replaced file). Prepare the "
            "dataset again."
        )


class PreparedDataset:
    """One split of a prepared dataset: ``load(i) -> (256x256 RGB PIL image, int label)``, as
    ``ImageFolder.load`` (so ``DataLoader``, ``TrainTransform`` and ``EvalTransform`` take it
    unchanged: resizing 256x256 to a shorter side of 256 leaves it as it is).

    Attributes: ``root`` (the prepared folder), ``split``, ``classes``, ``class_names``,
    ``class_to_idx``, ``targets``; ``images`` is the read-only memory-mapped (N, 256, 256, 3)
    uint8 array (opened again in each process it is pickled to, never copied).
    """

    def __init__(self, root: str | os.PathLike, split: str, manifest: dict | None = None):
        self.root = Path(root)
        self.split = split
        self.manifest = manifest if manifest is not None else read_manifest(self.root)
        info = self.manifest["splits"][split]
        self.count = int(info["count"])
        self.images_file, self.labels_file = info["images"], info["labels"]
        self.classes = list(self.manifest["classes"])
        self.class_names = list(self.manifest["class_names"])
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}
        size = int(self.manifest.get("size", SIZE))
        _check_file(self.root, self.manifest, self.images_file, (self.count, size, size, 3), "u1")
        _check_file(self.root, self.manifest, self.labels_file, (self.count,), "<i8")
        self.labels = np.load(self.root / self.labels_file, allow_pickle=False)
        if self.count and not (0 <= self.labels.min() and self.labels.max() < len(self.classes)):
            raise DatasetError(
                f"Prepared dataset '{self.root}': {self.labels_file} holds labels outside "
                f"0..{len(self.classes) - 1}. Prepare the dataset again."
            )
        self._images = None

    @property
    def images(self) -> np.ndarray:
        if self._images is None:
            self._images = np.load(self.root / self.images_file, mmap_mode="r")
        return self._images

    def __getstate__(self):
        return {**self.__dict__, "_images": None}

    @property
    def targets(self) -> list[int]:
        return self.labels.tolist()

    def __len__(self) -> int:
        return self.count

    def __repr__(self) -> str:
        return (
            f"PreparedDataset(root='{self.root}', split='{self.split}', "
            f"classes={len(self.classes)}, samples={len(self)})"
        )

    def load(self, i: int) -> tuple[Image.Image, int]:
        """Row ``i`` -> (RGB PIL image, int label)."""
        return Image.fromarray(np.array(self.images[i]), "RGB"), int(self.labels[i])

    def verify(self) -> None:
        """Check the sha256 of this split's files against the manifest (reads every byte);
        ``DatasetError`` (one line) naming a file that differs."""
        for name in (self.images_file, self.labels_file):
            expected = self.manifest["files"].get(name, {}).get("sha256")
            found = file_sha256(self.root / name)
            if found != expected:
                raise DatasetError(
                    f"Prepared dataset '{self.root}': the sha256 of {name} is {found}, its "
                    f"manifest says {expected} (the file was changed or damaged). Prepare the "
                    "dataset again."
                )


def open_prepared(root: str | os.PathLike) -> tuple[PreparedDataset, PreparedDataset]:
    """(train, val) of the prepared dataset ``root``, checked against its manifest (shapes,
    dtypes, counts, file sizes); ``DatasetError`` (one line) if anything disagrees."""
    manifest = read_manifest(root)
    return PreparedDataset(root, "train", manifest), PreparedDataset(root, "val", manifest)
