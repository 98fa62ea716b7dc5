"""Open an image file as an 8-bit RGB PIL image, whatever its mode.

Conversion rules (documented because they change pixel values):

* ``RGB``: returned as is.
* ``L``, ``1``, ``CMYK``, ``YCbCr``, plain ``P``: ``Image.convert("RGB")``.
* Anything with transparency (``RGBA``, ``LA``, ``PA``, ``RGBa``, ``P``/``L``/``RGB``
  with a ``transparency`` entry): composited onto a **black** background, i.e.
  each colour is multiplied by its alpha. Transparent pixels therefore become
  black rather than whatever colour happens to be stored under them.
* 16/32-bit integer (``I;16*``, ``I``) and float (``F``) greyscale: scaled to
  0..255 (``I;16`` keeps its top 8 bits; ``I``/``F`` are divided by 257 when their
  maximum exceeds 255, ``F`` in 0..1 is multiplied by 255), then replicated to RGB.

EXIF orientation is NOT applied (ImageNet loaders do not apply it either).

Refused (``UnusableImageError``, an ``OSError``: loaders skip the file like a corrupt one):
a path that is not a regular file (a FIFO would block the reader forever, a device could be
endless), checked before it is opened; an image whose longer side is more than
``MAX_ASPECT_RATIO`` (50) times its shorter side, checked from the header, before decoding.
Resizing the shorter side of such a strip to 256 would allocate ``ratio * 256**2`` pixels: a
150000x1 PNG of a few hundred bytes passes Pillow's decompression-bomb check yet would become
38 million x 256 pixels (~30 GB). Real photos are far inside the limit (ImageNet's widest
panoramas are about 10:1: 5x headroom); at 50:1 a resize to 256 makes at most 3.3 million pixels
(10 MB).
"""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

from ..files import special_kind

__all__ = [
    "IMG_EXTENSIONS",
    "MAX_ASPECT_RATIO",
    "UnusableImageError",
    "is_image_file",
    "check_aspect_ratio",
    "check_regular_file",
    "to_rgb",
    "open_rgb",
]

#: Accepted file extensions (compared case-insensitively).
IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
#: Largest accepted longer-side / shorter-side ratio (see the module docstring).
MAX_ASPECT_RATIO = 50


class UnusableImageError(OSError):
    """An image file that decodes but is refused (an extreme aspect ratio)."""


def is_image_file(name: str) -> bool:
    """True for a visible file name with an accepted extension (``._x.jpg`` is hidden)."""
    return not name.startswith(".") and name.lower().endswith(IMG_EXTENSIONS)


def check_aspect_ratio(size: tuple[int, int]) -> None:
    """Raise ``UnusableImageError`` if ``size`` (width, height) is empty or longer than
    ``MAX_ASPECT_RATIO`` times its shorter side."""
    w, h = size
    short, long = min(w, h), max(w, h)
    if short < 1:
        raise UnusableImageError(f"{w}x{h} pixels: an empty image")
    if long > MAX_ASPECT_RATIO * short:
        ratio = f"{long // short}:1" if long % short == 0 else f"{long / short:.1f}:1"
        raise UnusableImageError(
            f"{w}x{h} pixels: aspect ratio {ratio} is too extreme (limit {MAX_ASPECT_RATIO}:1)"
        )


def check_regular_file(path: str | os.PathLike) -> None:
    """Raise ``UnusableImageError`` unless ``path`` (links followed) is a regular file: opening
    a FIFO blocks until a writer comes, a device may never end (``tinynet.files``).
    ``FileNotFoundError`` (or another ``OSError``) if it cannot be looked at."""
    kind = special_kind(path)
    if kind:
        raise UnusableImageError(f"not a regular file ({kind})")


def _high_depth_to_l(img: Image.Image) -> Image.Image:
    """``I;16*`` / ``I`` / ``F`` greyscale -> 8-bit ``L``."""
    if img.mode.startswith("I;16"):
        arr = np.asarray(img).astype(np.uint32) >> 8
    else:
        arr = np.asarray(img, dtype=np.float64)
        hi = float(arr.max()) if arr.size else 0.0
        if img.mode == "F" and hi <= 1.0:
            arr = arr * 255.0
        elif hi > 255.0:
            arr = arr / 257.0
        arr = np.rint(arr)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), mode="L")


def to_rgb(img: Image.Image) -> Image.Image:
    """Return ``img`` as an 8-bit RGB image (see module docstring for the rules)."""
    if img.mode == "RGB":
        return img
    if img.mode.startswith("I") or img.mode == "F":
        return _high_depth_to_l(img).convert("RGB")
    has_alpha = img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info
    if has_alpha:
        rgba = img.convert("RGBA")
        black = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        return Image.alpha_composite(black, rgba).convert("RGB")
    return img.convert("RGB")


def open_rgb(path: str | os.PathLike, min_size: int | None = None) -> Image.Image:
    """Open, fully decode and convert ``path`` to an RGB image.

    ``min_size``: if given and the file is a JPEG at least twice that size on its
    shorter side, decode at a reduced scale (1/2, 1/4 or 1/8, via ``img.draft``)
    that still leaves the shorter side >= ``min_size``. This is the main CPU
    saving of the pipeline; the later resize then has less work too.

    Raises whatever PIL raises for a missing, unreadable or truncated file
    (``OSError``, ``PIL.UnidentifiedImageError``, ``SyntaxError``...), because
    the image is decoded here (``Image.open`` alone is lazy); ``UnusableImageError`` for
    an extreme aspect ratio (before decoding) and for a path that is not a regular file
    (``check_regular_file``: a FIFO, a device, a directory; before opening it).
    """
    if not hasattr(path, "read"):  # PIL accepts an open file too
        check_regular_file(path)
    with Image.open(path) as img:
        check_aspect_ratio(img.size)
        if min_size is not None and img.format == "JPEG":
            img.draft("RGB", (int(min_size), int(min_size)))
        img.load()
        out = to_rgb(img)
        if out is img:  # detach from the file before it is closed
            out = img.copy()
    return out
