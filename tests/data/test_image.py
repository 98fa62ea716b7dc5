"""Tests of ``tinynet.data.image``."""

import os
import threading

import numpy as np
import pytest
from PIL import Image, ImageFile

from tinynet.data import open_rgb
from tinynet.data.image import UnusableImageError, to_rgb
from tinynet.data.transforms import resize_shorter

from ..helpers.images import _smooth, rgb_image, write_image
from ..helpers.loader import no_leftover_children  # noqa: F401  (autouse: no worker left)


# ------------------------------------------------------------- aspect ratio
def test_extreme_aspect_ratio_refused_before_decoding(tmp_path, monkeypatch):
    wide = write_image(tmp_path / "wide.png", Image.new("RGB", (150000, 1)))
    tall = write_image(tmp_path / "tall.png", Image.new("RGB", (1, 150000)))
    assert wide.stat().st_size < 1000, "a small file: Pillow's bomb check lets it through"

    def no_decoding(self):
        raise AssertionError("decoded before the size check")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    for path in (wide, tall):
        with pytest.raises(OSError, match=r"aspect ratio 150000:1 is too extreme \(limit 50:1\)"):
            open_rgb(path)


def test_mode_conversions(tree):
    rgba = np.asarray(open_rgb(tree / "banana" / "rgba.png"))
    assert (rgba[:, :10] == 0).all(), "transparent pixels composite onto black"
    assert (rgba[:, 10:] == 200).all(), "opaque pixels keep their colour"
    gray_src = np.asarray(Image.open(tree / "apple" / "GRAY.JPEG"))
    gray = np.asarray(open_rgb(tree / "apple" / "GRAY.JPEG"))
    assert (gray == gray_src[..., None]).all()
    deep = np.asarray(open_rgb(tree / "banana" / "deep.png"))[..., 0]
    assert deep.tolist() == [[255, 100], [0, 7]], "16-bit keeps its top 8 bits"
    pal = Image.open(tree / "banana" / "pal.png")
    assert np.array_equal(
        np.asarray(open_rgb(tree / "banana" / "pal.png")), np.asarray(pal.convert("RGB"))
    )
    cmyk = np.asarray(open_rgb(tree / "apple" / "cmyk.jpg"), np.int16)
    ref = np.asarray(_smooth(40, 32), np.int16)
    assert np.abs(cmyk - ref).mean() < 6  # lossy JPEG, but the same picture


@pytest.mark.parametrize("mode", ["1", "L", "P", "RGBA", "LA", "CMYK", "YCbCr", "I", "F", "RGB"])
def test_to_rgb_any_mode(mode):
    src = rgb_image(9, 7)
    img = src.convert("L").convert(mode) if mode in ("I", "F") else src.convert(mode)
    out = to_rgb(img)
    assert out.mode == "RGB" and out.size == (9, 7)


def test_jpeg_draft_decodes_smaller_but_big_enough(tmp_path):
    path = write_image(tmp_path / "big.jpg", _smooth(1040, 800), format="JPEG", quality=95)
    full = open_rgb(path)
    small = open_rgb(path, min_size=200)
    assert full.size == (1040, 800)
    assert small.size == (260, 200), "1/4 scale is the largest reduction keeping >= 200"
    a = np.asarray(resize_shorter(full, 200), np.float32)
    b = np.asarray(resize_shorter(small, 200), np.float32)
    assert a.shape == b.shape and np.abs(a - b).mean() < 2
    assert open_rgb(path, min_size=600).size == (1040, 800), "no reduction below 2x"


# ------------------------------------------------------------- regular files only
def test_only_regular_files_are_opened(tmp_path):
    # issue 25 #17: opening a FIFO waits for a writer for ever; a device may never end
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    raised = []

    def open_fifo():
        with pytest.raises(UnusableImageError, match=r"^not a regular file \(a FIFO\)$"):
            open_rgb(fifo)
        raised.append(True)

    worker = threading.Thread(target=open_fifo)
    worker.start()
    worker.join(30)
    if worker.is_alive():  # blocked in open: a writer lets it go
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        worker.join()
    assert raised, "open_rgb waited on the FIFO"
    with pytest.raises(UnusableImageError, match=r"not a regular file \(a directory\)"):
        open_rgb(tmp_path)
    with pytest.raises(UnusableImageError, match=r"not a regular file \(a character device\)"):
        open_rgb("/dev/null")
    with pytest.raises(FileNotFoundError):
        open_rgb(tmp_path / "missing.png")
    link = tmp_path / "link.png"  # a link to a regular file is one
    link.symlink_to(write_image(tmp_path / "real.png", Image.new("RGB", (4, 4))))
    assert open_rgb(link).size == (4, 4)
