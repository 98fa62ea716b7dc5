"""A generated image-classification dataset of coloured shapes, in ImageFolder layout.

``make_shapes_dataset(root)`` writes ``root/train/<shape>/*.png``,
``root/val/<shape>/*.png``, ``root/classes.txt`` (one name per line, in class
order) and ``root/DONE`` (JSON of the parameters). Each image: a random
background colour with 0-2 thin clutter lines, one anti-aliased shape (random
centre, radius 22-42% of the image, rotation within +-30 degrees, random colour
lighter than the background), and Gaussian pixel noise of random strength.
Colour carries no class information; the outline does. Image ``i`` of class
``c`` in split ``s`` is drawn from ``default_rng([seed, s, c, i])``: same seed
-> same pixels.

The tree is built in a hidden temporary folder beside ``root`` and renamed into
place when complete, so ``root`` either does not exist or is complete; a
complete ``root`` made with the same parameters is reused as is.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from .errors import DatasetError

__all__ = ["SHAPES", "make_shapes_dataset", "render_shape"]

#: Shape classes in the order they are taken (num_classes takes a prefix).
SHAPES = ("circle", "square", "triangle", "cross", "star", "ring", "bars", "halfdisc")
_SS = 4  # supersampling factor for anti-aliased masks
_VERSION = 2  # 2: shapes lighter than background, rotation +-30 deg, 0-2 lines
# Difficulty knobs (changing them changes the images: bump _VERSION). Tuned so that a
# 3-conv CNN learns the task in a few epochs while colour alone says nothing.
_RADIUS = (0.22, 0.42)  # shape radius as a fraction of the image size
_NOISE_STD = (2.0, 12.0)  # per-image Gaussian pixel-noise std range (0..255 scale)
_MAX_LINES = 2  # clutter lines per image: 0.._MAX_LINES
_MIN_CONTRAST = 70  # min mean |fg - bg| over RGB
_MAX_ROT = 30.0  # rotation uniform in +-_MAX_ROT degrees
_LIGHTER = True  # the shape is always lighter (luma) than the background


def _regular(n: int, radius: float = 1.0, phase: float = 0.0) -> np.ndarray:
    a = phase + 2 * np.pi * np.arange(n) / n
    return np.stack([radius * np.cos(a), radius * np.sin(a)], axis=1)


def _outlines(shape: str) -> list[tuple[np.ndarray, int]]:
    """Polygons in unit coordinates (fit in the unit disc) with fill 255 / 0 (hole)."""
    if shape == "circle":
        return [(_regular(48), 255)]
    if shape == "square":
        return [(_regular(4, 1.0, np.pi / 4), 255)]
    if shape == "triangle":
        return [(_regular(3, 1.0, -np.pi / 2), 255)]
    if shape == "cross":
        a, b = 0.3, 0.95
        pts = [
            (a, b),
            (a, a),
            (b, a),
            (b, -a),
            (a, -a),
            (a, -b),
            (-a, -b),
            (-a, -a),
            (-b, -a),
            (-b, a),
            (-a, a),
            (-a, b),
        ]
        return [(np.array(pts), 255)]
    if shape == "star":
        outer, inner = _regular(5, 1.0, -np.pi / 2), _regular(5, 0.4, -np.pi / 2 + np.pi / 5)
        return [(np.stack([outer, inner], axis=1).reshape(10, 2), 255)]
    if shape == "ring":
        return [(_regular(48), 255), (_regular(48, 0.55), 0)]
    if shape == "bars":
        return [
            (np.array([(-0.85, y), (0.85, y), (0.85, y + 0.3), (-0.85, y + 0.3)]), 255)
            for y in (-0.8, -0.15, 0.5)
        ]
    if shape == "halfdisc":
        a = np.linspace(0, np.pi, 25)
        return [(np.stack([np.cos(a), np.sin(a) - 0.5], axis=1), 255)]
    raise ValueError(f"unknown shape {shape!r}; choose from {SHAPES}")


_LUMA = np.array([0.299, 0.587, 0.114])


def _contrasting_colours(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    bg = rng.integers(0, 256, 3)
    while True:
        fg = rng.integers(0, 256, 3)
        if np.abs(fg - bg).mean() >= _MIN_CONTRAST:
            if _LIGHTER and _LUMA @ fg < _LUMA @ bg:
                fg, bg = bg, fg
            return fg, bg


def render_shape(shape: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """One sample of ``shape`` -> uint8 (size, size, 3) RGB."""
    fg, bg = _contrasting_colours(rng)
    big = size * _SS
    canvas = Image.new("RGB", (size, size), tuple(int(v) for v in bg))
    draw = ImageDraw.Draw(canvas)
    for _ in range(int(rng.integers(0, _MAX_LINES + 1))):  # clutter lines
        x0, y0, x1, y1 = (int(v) for v in rng.integers(0, size, 4))
        draw.line((x0, y0, x1, y1), fill=tuple(int(v) for v in rng.integers(0, 256, 3)), width=1)
    radius = rng.uniform(*_RADIUS) * size
    cx, cy = rng.uniform(radius, size - radius, 2)
    theta = np.deg2rad(rng.uniform(-_MAX_ROT, _MAX_ROT))
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    mask = Image.new("L", (big, big), 0)
    mdraw = ImageDraw.Draw(mask)
    for pts, fill in _outlines(shape):
        xy = (pts @ rot.T * radius + (cx, cy)) * _SS
        mdraw.polygon([tuple(p) for p in xy], fill=fill)
    mask = mask.reduce(_SS)
    canvas = Image.composite(
        Image.new("RGB", (size, size), tuple(int(v) for v in fg)), canvas, mask
    )
    noise = rng.normal(0.0, rng.uniform(*_NOISE_STD), (size, size, 3))
    return np.clip(np.asarray(canvas, np.float32) + noise, 0, 255).astype(np.uint8)


def _params(num_classes, train_per_class, val_per_class, image_size, seed) -> dict:
    return {
        "version": _VERSION,
        "num_classes": num_classes,
        "train_per_class": train_per_class,
        "val_per_class": val_per_class,
        "image_size": image_size,
        "seed": seed,
    }


def _read_done(root: Path) -> dict | None:
    try:
        return json.loads((root / "DONE").read_text())
    except (OSError, ValueError):
        return None


def _write_tree(tmp: Path, params: dict) -> None:
    classes = sorted(SHAPES[: params["num_classes"]])
    for split_id, (split, count) in enumerate(
        (("train", params["train_per_class"]), ("val", params["val_per_class"]))
    ):
        for cls in classes:
            folder = tmp / split / cls
            folder.mkdir(parents=True)
            c = SHAPES.index(cls)
            for i in range(count):
                rng = np.random.default_rng([params["seed"], split_id, c, i])
                arr = render_shape(cls, params["image_size"], rng)
                Image.fromarray(arr).save(folder / f"{cls}_{i:05d}.png", compress_level=1)
    (tmp / "classes.txt").write_text("".join(f"{c}\n" for c in classes))
    (tmp / "DONE").write_text(json.dumps(params, sort_keys=True) + "\n")


def make_shapes_dataset(
    root: str | os.PathLike,
    num_classes: int = 6,
    train_per_class: int = 300,
    val_per_class: int = 60,
    image_size: int = 72,
    seed: int = 0,
) -> Path:
    """Create (or reuse) the shapes dataset at ``root`` -> ``Path(root)``.

    Layout: ``root/{train,val}/<shape>/<shape>_NNNNN.png`` (RGB, ``image_size``
    square), ``root/classes.txt``, ``root/DONE``. ``num_classes`` <= 8.
    Raises ``DatasetError`` if ``root`` exists but is not a complete dataset made
    with the same parameters.
    """
    if not 2 <= num_classes <= len(SHAPES):
        raise ValueError(f"num_classes must be in 2..{len(SHAPES)}, got {num_classes}")
    if image_size < 16 or train_per_class < 1 or val_per_class < 1 or seed < 0:
        raise ValueError("need image_size >= 16, train/val_per_class >= 1 and seed >= 0")
    root = Path(root)
    params = _params(num_classes, train_per_class, val_per_class, image_size, seed)

    def reuse_or_fail() -> Path:
        done = _read_done(root)
        if done == params:
            return root
        if done is not None:
            raise DatasetError(
                f"'{root}' holds a shapes dataset made with different parameters ({done}); "
                f"delete it or choose another folder to make one with {params}."
            )
        raise DatasetError(
            f"'{root}' exists but is not a complete shapes dataset (no valid DONE marker), "
            "e.g. an interrupted run or another folder; delete it or choose another path."
        )

    if root.exists():
        if root.is_dir() and not any(root.iterdir()):
            root.rmdir()
        else:
            return reuse_or_fail()
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.tmp-", dir=root.parent))
    try:
        _write_tree(tmp, params)
        os.chmod(tmp, 0o755)  # mkdtemp made it private
        try:
            os.rename(tmp, root)
        except OSError:  # someone else finished first
            if not root.exists():
                raise
            return reuse_or_fail()
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return root
