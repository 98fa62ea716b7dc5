"""Transforms: shapes, crop/flip geometry, lighting, normalisation, seeding."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from tinynet.data import IMAGENET_MEAN, IMAGENET_STD, EvalTransform, TrainTransform, ten_crop
from tinynet.data.transforms import (
    IMAGENET_EIGVAL,
    IMAGENET_EIGVEC,
    center_crop,
    default_resize,
    lighting_offset,
    resize_shorter,
    to_chw,
)

MEAN = IMAGENET_MEAN[:, None, None]
STD = IMAGENET_STD[:, None, None]


def _pixels(chw: np.ndarray) -> np.ndarray:
    """Undo normalisation: float32 CHW -> 0..255 pixel values."""
    return (chw * STD + MEAN) * 255.0


def _coord_image(w: int, h: int) -> Image.Image:
    """R = x, G = y, B = 7: each pixel tells where it came from (w, h <= 256)."""
    y, x = np.mgrid[0:h, 0:w]
    return Image.fromarray(np.stack([x, y, np.full_like(x, 7)], axis=2).astype(np.uint8))


def _noise(w, h, seed=0):
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (h, w, 3), np.uint8))


def test_default_resize_and_resize_shorter():
    assert default_resize(227) == 256 and default_resize(224) == 253
    assert resize_shorter(_noise(500, 375), 256).size == (341, 256)
    assert resize_shorter(_noise(375, 500), 256).size == (256, 341)
    img = _noise(300, 256)
    assert resize_shorter(img, 256) is img


@settings(max_examples=25, deadline=None)
@given(
    w=st.integers(30, 400),
    h=st.integers(30, 400),
    crop=st.integers(8, 64),
    seed=st.integers(0, 2**32),
)
def test_train_output_shape_dtype_any_size(w, h, crop, seed):
    out = TrainTransform(crop)(_noise(w, h), np.random.default_rng(seed))
    assert out.shape == (3, crop, crop) and out.dtype == np.float32
    assert out.flags.c_contiguous and np.isfinite(out).all()


@settings(max_examples=25, deadline=None)
@given(w=st.integers(20, 500), h=st.integers(20, 500), size=st.integers(10, 300))
def test_resize_shorter_property(w, h, size):
    rw, rh = resize_shorter(_noise(w, h), size).size
    assert min(rw, rh) == size
    assert abs(max(rw, rh) - max(w, h) * size / min(w, h)) <= 0.5 + 1e-9


def test_eval_and_tencrop_shapes():
    img = _noise(320, 240)
    e = EvalTransform(64)(img)
    assert e.shape == (3, 64, 64) and e.dtype == np.float32 and e.flags.c_contiguous
    t = EvalTransform(64, ten_crop=True)(img, None)
    assert t.shape == (10, 3, 64, 64) and t.dtype == np.float32
    assert np.array_equal(t[4], e), "the 5th crop is the centre crop"
    assert EvalTransform(64).min_size == TrainTransform(64).min_size == 72
    with pytest.raises(ValueError, match="resize"):
        TrainTransform(64, resize=60)


def test_random_crop_is_a_region_of_the_resized_image():
    """Image already at the resize size: the crop must be an exact window of it."""
    img = _coord_image(250, 240)  # shorter side 240 == resize: no resampling
    tf = TrainTransform(crop=200, resize=240, lighting=0.0, flip=False)
    src = np.asarray(img, np.float32).transpose(2, 0, 1)
    offsets = set()
    for seed in range(30):
        px = _pixels(tf(img, np.random.default_rng(seed)))
        left, top = int(round(px[0, 0, 0])), int(round(px[1, 0, 0]))
        assert 0 <= left <= 50 and 0 <= top <= 40
        np.testing.assert_allclose(px, src[:, top : top + 200, left : left + 200], atol=1e-3)
        offsets.add((left, top))
    assert len(offsets) > 20, "crop positions must vary with the seed"


def test_crop_after_resize_matches_region():
    img = _coord_image(200, 100)  # resized 2x to 400x200 before a 150 crop
    tf = TrainTransform(crop=150, resize=200, lighting=0.0, flip=False)
    resized = np.asarray(resize_shorter(img, 200), np.float32).transpose(2, 0, 1)
    for seed in range(10):
        out = _pixels(tf(img, np.random.default_rng(seed)))
        # offsets are drawn left then top from the same generator
        ref = np.random.default_rng(seed)
        left, top = int(ref.integers(0, 251)), int(ref.integers(0, 51))
        np.testing.assert_allclose(out, resized[:, top : top + 150, left : left + 150], atol=1e-3)


def test_flip_mirrors_the_crop():
    img = _coord_image(240, 240)
    plain = TrainTransform(crop=240, resize=240, lighting=0.0, flip=False)
    flipping = TrainTransform(crop=240, resize=240, lighting=0.0, flip=True)
    base = plain(img, np.random.default_rng(0))
    flips = 0
    for seed in range(20):
        out = flipping(img, np.random.default_rng(seed))
        if _pixels(out)[0, 0, 0] > 200:  # x coordinate 239 in the first column
            np.testing.assert_array_equal(out, base[..., ::-1])
            flips += 1
        else:
            np.testing.assert_array_equal(out, base)
    assert 3 <= flips <= 17, "p=0.5 flips"
    np.testing.assert_array_equal(to_chw(img, flip=True), to_chw(img)[..., ::-1])


def test_center_crop_position():
    img = _coord_image(250, 241)
    assert center_crop(img, 227).getpixel((0, 0))[:2] == ((250 - 227) // 2, (241 - 227) // 2)
    out = _pixels(EvalTransform(227, resize=241)(img))
    assert round(float(out[0, 0, 0])) == 11 and round(float(out[1, 0, 0])) == 7


def test_ten_crop_composition():
    img = _coord_image(100, 80)
    out = ten_crop(img, 60)
    assert out.shape == (10, 3, 60, 60) and out.dtype == np.float32
    px = np.rint(_pixels(out))
    corners = [(0, 0), (40, 0), (0, 20), (40, 20), (20, 10)]  # (left, top)
    for k, (left, top) in enumerate(corners):
        assert (px[k, 0, 0, 0], px[k, 1, 0, 0]) == (left, top)
        np.testing.assert_array_equal(out[5 + k], out[k][..., ::-1])
    assert px[5, 0, 0, 0] == 59, "mirrored top-left starts at its right edge"


def test_normalisation_mean_std():
    colour = (10, 128, 250)
    img = Image.new("RGB", (80, 80), colour)
    out = EvalTransform(64)(img)
    expect = (np.array(colour, np.float32) / 255 - IMAGENET_MEAN) / IMAGENET_STD
    np.testing.assert_allclose(out.mean(axis=(1, 2)), expect, rtol=1e-6, atol=1e-6)
    assert out.std(axis=(1, 2)).max() < 1e-5
    # ImageNet-like pixel statistics map to ~zero mean, unit std
    rng = np.random.default_rng(0)
    arr = (IMAGENET_MEAN + IMAGENET_STD * rng.standard_normal((200, 200, 3))) * 255
    img = Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8))
    x = to_chw(img)
    np.testing.assert_allclose(x.mean(axis=(1, 2)), 0, atol=0.03)
    np.testing.assert_allclose(x.std(axis=(1, 2)), 1, atol=0.05)


def test_lighting_offset_is_pca_noise():
    rng = np.random.default_rng(1)
    offs = np.array([lighting_offset(0.1, rng) for _ in range(4000)])
    alphas = np.linalg.solve(IMAGENET_EIGVEC, offs.T).T / IMAGENET_EIGVAL
    np.testing.assert_allclose(alphas.std(axis=0), 0.1, rtol=0.06)
    np.testing.assert_allclose(alphas.mean(axis=0), 0, atol=0.01)
    # the transform adds exactly that offset (on the 0..1 scale) before normalising
    img = Image.new("RGB", (72, 72), (100, 120, 140))
    lit = TrainTransform(64, lighting=0.1, flip=False)(img, np.random.default_rng(5))
    flat = TrainTransform(64, lighting=0.0, flip=False)(img, np.random.default_rng(5))
    ref = np.random.default_rng(5)
    ref.integers(0, 9), ref.integers(0, 9)  # crop draws
    off = lighting_offset(0.1, ref)
    np.testing.assert_allclose(((lit - flat) * STD)[:, 0, 0], off, atol=1e-5)
    assert np.abs(off).max() > 1e-3


def test_seeded_reproducibility_and_seed_sensitivity():
    img = _noise(120, 100, seed=3)
    tf = TrainTransform(64)
    a = tf(img, np.random.default_rng(42))
    b = tf(img, np.random.default_rng(42))
    c = tf(img, np.random.default_rng(43))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_non_rgb_input_is_converted():
    img = Image.new("L", (80, 90), 77)
    out = TrainTransform(64, lighting=0.0)(img, np.random.default_rng(0))
    expect = (77 / 255 - IMAGENET_MEAN) / IMAGENET_STD
    np.testing.assert_allclose(out[:, 0, 0], expect, atol=1e-5)
