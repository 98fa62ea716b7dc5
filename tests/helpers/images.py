"""ImageFolder, image-mode conversion, check_dataset and class_names."""

from pathlib import Path

import numpy as np
from PIL import Image


def _noise(w, h, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def rgb_image(w=20, h=16, seed=0):
    return Image.fromarray(_noise(w, h, seed))


def _smooth(w, h):
    """Smooth colour gradient (survives JPEG compression and rescaling)."""
    y, x = np.mgrid[0:h, 0:w]
    arr = np.stack([255 * x / w, 255 * y / h, 128 + 100 * np.sin(x / 9.0)], axis=2)
    return Image.fromarray(arr.astype(np.uint8))


def write_image(path: Path, img: Image.Image, **kw):
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, **kw)
    return path


def _truncated_jpeg(path: Path):
    write_image(path, rgb_image(64, 48), format="JPEG", quality=95)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


# ------------------------------------------------------------ check_dataset
def write_dataset(root: Path, train=("a", "b"), val=("a", "b"), per_class=2):
    for split, classes in (("train", train), ("val", val)):
        for c in classes:
            for i in range(per_class):
                write_image(root / split / c / f"{i}.png", rgb_image(seed=i))
    return root
