"""Image transforms: PIL RGB image in, normalised float32 CHW array out.

Training (AlexNet paper / fb.resnet.torch): resize the shorter side to S
(bilinear), random ``crop`` x ``crop`` window, horizontal flip with p=0.5,
PCA lighting noise on 0..1 RGB, then ``(x - mean) / std``.
Evaluation: resize to S, centre crop (or ten crops), normalise.

S defaults to ``round(crop * 256 / 227)`` (256 for 227, 253 for 224, 72 for 64).
All randomness comes from the ``rng: np.random.Generator`` argument; the draw
order per image is: crop left, crop top, flip, 3 lighting alphas.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from .image import to_rgb

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "IMAGENET_EIGVAL",
    "IMAGENET_EIGVEC",
    "default_resize",
    "resize_shorter",
    "crop_box",
    "random_crop",
    "center_crop",
    "lighting_offset",
    "to_chw",
    "ten_crop",
    "TrainTransform",
    "EvalTransform",
]


def _const(values) -> np.ndarray:
    a = np.array(values, dtype=np.float32)
    a.flags.writeable = False
    return a


#: ImageNet per-channel RGB mean / std on the 0..1 scale, float32 (3,).
IMAGENET_MEAN = _const([0.485, 0.456, 0.406])
IMAGENET_STD = _const([0.229, 0.224, 0.225])
#: ImageNet RGB covariance eigenvalues (3,) and eigenvectors (3, 3), columns = vectors.
IMAGENET_EIGVAL = _const([0.2175, 0.0188, 0.0045])
IMAGENET_EIGVEC = _const(
    [[-0.5675, 0.7192, 0.4009], [-0.5808, -0.0045, -0.8140], [-0.5836, -0.6948, 0.4203]]
)


def default_resize(crop: int) -> int:
    """Shorter-side size S used before cropping: ``round(crop * 256 / 227)``."""
    return int(round(crop * 256 / 227))


def resize_shorter(img: Image.Image, size: int) -> Image.Image:
    """Bilinear resize so the shorter side is ``size``; aspect ratio kept
    (longer side rounded). Returns ``img`` itself if already that size."""
    w, h = img.size
    if min(w, h) == size:
        return img
    if w <= h:
        new = (size, max(size, int(h * size / w + 0.5)))
    else:
        new = (max(size, int(w * size / h + 0.5)), size)
    return img.resize(new, Image.BILINEAR)


def crop_box(size: tuple[int, int], crop: int, left: int, top: int) -> tuple[int, int, int, int]:
    """PIL box (left, top, right, bottom) of a ``crop`` square; checks it fits."""
    w, h = size
    if crop > w or crop > h:
        raise ValueError(f"crop {crop} is larger than the image {w}x{h}")
    return (left, top, left + crop, top + crop)


def random_crop(img: Image.Image, crop: int, rng: np.random.Generator) -> Image.Image:
    """Uniformly placed ``crop`` x ``crop`` window (draws left, then top)."""
    w, h = img.size
    if crop > w or crop > h:
        raise ValueError(f"crop {crop} is larger than the image {w}x{h}")
    left = int(rng.integers(0, w - crop + 1))
    top = int(rng.integers(0, h - crop + 1))
    return img.crop(crop_box(img.size, crop, left, top))


def center_crop(img: Image.Image, crop: int) -> Image.Image:
    """Centre ``crop`` window at left = (w - crop) // 2, top = (h - crop) // 2."""
    w, h = img.size
    return img.crop(crop_box(img.size, crop, (w - crop) // 2, (h - crop) // 2))


def lighting_offset(
    alphastd: float,
    rng: np.random.Generator,
    eigval: np.ndarray = IMAGENET_EIGVAL,
    eigvec: np.ndarray = IMAGENET_EIGVEC,
) -> np.ndarray:
    """AlexNet PCA lighting: RGB offset ``eigvec @ (alpha * eigval)`` with
    ``alpha ~ N(0, alphastd)`` (3 draws) -> float32 (3,), to add to 0..1 RGB."""
    alpha = rng.normal(0.0, alphastd, size=3)
    return (eigvec.astype(np.float64) * (alpha * eigval)).sum(axis=1).astype(np.float32)


def to_chw(
    img: Image.Image,
    mean=IMAGENET_MEAN,
    std=IMAGENET_STD,
    offset: np.ndarray | None = None,
    flip: bool = False,
    scale: float = 1 / 255,
    bgr: bool = False,
) -> np.ndarray:
    """RGB image (W x H) -> float32 C-contiguous (3, H, W) equal to
    ``(pixels * scale + offset - mean) / std`` (mirrored left-right if ``flip``), computed in
    one fused multiply-add pass. ``bgr`` puts the channels in Caffe's order (``mean``, ``std``
    and ``offset`` are then in that order too); ``offset`` is in units of ``scale``.
    """
    a = np.asarray(img, dtype=np.uint8)
    if a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"expected an RGB image, got array of shape {a.shape}")
    a = a.transpose(2, 0, 1)
    if bgr:
        a = a[::-1]
    if flip:
        a = a[:, :, ::-1]
    mean = np.asarray(mean, np.float32)
    std = np.asarray(std, np.float32)
    off = np.zeros(3, np.float32) if offset is None else np.asarray(offset, np.float32)
    unit = 255.0 if scale == 1 / 255 else 1.0 / scale  # 255 exactly: the same bits as always
    factor = (1.0 / (unit * std)).astype(np.float32)[:, None, None]
    shift = ((off - mean) / std).astype(np.float32)[:, None, None]
    out = np.empty(a.shape, dtype=np.float32)
    np.multiply(a, factor, out=out)
    out += shift
    return out


def ten_crop(img: Image.Image, crop: int, mean=IMAGENET_MEAN, std=IMAGENET_STD, **pixels):
    """Ten normalised crops of an (already resized) image -> float32 (10, 3, crop, crop).

    Order: top-left, top-right, bottom-left, bottom-right, centre, then the same
    five mirrored (``out[5 + k] == out[k][..., ::-1]``). ``pixels``: ``scale``, ``bgr`` of
    ``to_chw``.
    """
    img = to_rgb(img)
    w, h = img.size
    corners = [
        (0, 0),
        (w - crop, 0),
        (0, h - crop),
        (w - crop, h - crop),
        ((w - crop) // 2, (h - crop) // 2),
    ]
    out = np.empty((10, 3, crop, crop), dtype=np.float32)
    for k, (left, top) in enumerate(corners):
        out[k] = to_chw(img.crop(crop_box(img.size, crop, left, top)), mean, std, **pixels)
        out[5 + k] = out[k][:, :, ::-1]
    return out


class _ResizeThenCrop:
    """What both transforms share: shorter side resized to ``resize``, a ``crop`` square cut,
    pixels scaled by ``scale``, in ``channels`` order ("RGB" or Caffe's "BGR"), normalised."""

    def __init__(self, crop: int, resize: int | None, mean, std, scale=1 / 255, channels="RGB"):
        self.crop = int(crop)
        self.resize = default_resize(self.crop) if resize is None else int(resize)
        if self.resize < self.crop:
            raise ValueError(f"resize ({self.resize}) must be >= crop ({self.crop})")
        if channels not in ("RGB", "BGR"):
            raise ValueError(f"channels must be 'RGB' or 'BGR', got {channels!r}")
        self.mean = np.asarray(mean, np.float32)
        self.std = np.asarray(std, np.float32)
        self.pixels = dict(scale=float(scale), bgr=channels == "BGR")

    @classmethod
    def for_model(cls, info: dict, default_crop: int, **options):
        """The transform a model's ``info["preprocess"]`` asks for (ImageNet's RGB statistics
        and ``default_crop`` when the model says nothing)."""
        pre = dict(info.get("preprocess") or {})
        crop = pre.pop("crop", default_crop)
        resize = pre.pop("resize", None)
        mean, std = pre.pop("mean", IMAGENET_MEAN), pre.pop("std", IMAGENET_STD)
        return cls(crop, resize, mean=mean, std=std, **pre, **options)

    @property
    def min_size(self) -> int:
        """Shorter side the source image needs (lets loaders decode JPEGs smaller)."""
        return self.resize


class TrainTransform(_ResizeThenCrop):
    """Training augmentation ``(img, rng) -> float32 (3, crop, crop)``.

    resize shorter side to ``resize`` (default ``default_resize(crop)``), random
    crop, horizontal flip (p=0.5 if ``flip``), PCA lighting with std ``lighting``
    (0 disables), ImageNet mean/std normalisation.
    """

    def __init__(
        self,
        crop: int = 227,
        resize: int | None = None,
        lighting: float = 0.1,
        flip: bool = True,
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        **pixels,
    ):
        super().__init__(crop, resize, mean, std, **pixels)
        self.lighting = float(lighting)
        self.flip = bool(flip)

    def __call__(self, img: Image.Image, rng: np.random.Generator) -> np.ndarray:
        img = resize_shorter(to_rgb(img), self.resize)
        img = random_crop(img, self.crop, rng)
        flip = bool(rng.random() < 0.5) if self.flip else False
        offset = None
        if self.lighting > 0:  # drawn in 0..1 RGB units: into the model's scale and order
            offset = lighting_offset(self.lighting, rng) * (255 * self.pixels["scale"])
            offset = offset[::-1] if self.pixels["bgr"] else offset
        return to_chw(img, self.mean, self.std, offset=offset, flip=flip, **self.pixels)

    def __repr__(self) -> str:
        return (
            f"TrainTransform(crop={self.crop}, resize={self.resize}, "
            f"lighting={self.lighting}, flip={self.flip})"
        )


class EvalTransform(_ResizeThenCrop):
    """Evaluation transform ``(img, rng=None) -> float32 (3, crop, crop)``, or
    ``(10, 3, crop, crop)`` with ``ten_crop=True``: resize shorter side, centre
    crop (or ten crops), normalise. Deterministic; ``rng`` is ignored."""

    def __init__(
        self,
        crop: int = 227,
        resize: int | None = None,
        ten_crop: bool = False,
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        **pixels,
    ):
        super().__init__(crop, resize, mean, std, **pixels)
        self.ten_crop = bool(ten_crop)

    def __call__(self, img: Image.Image, rng: np.random.Generator | None = None) -> np.ndarray:
        img = resize_shorter(to_rgb(img), self.resize)
        if self.ten_crop:
            return ten_crop(img, self.crop, self.mean, self.std, **self.pixels)
        return to_chw(center_crop(img, self.crop), self.mean, self.std, **self.pixels)

    def __repr__(self) -> str:
        return f"EvalTransform(crop={self.crop}, resize={self.resize}, ten_crop={self.ten_crop})"
