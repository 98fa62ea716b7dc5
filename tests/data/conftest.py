"""Fixtures shared by the tests in this folder."""

import numpy as np
import pytest
from PIL import Image

from tinynet.data import ImageFolder

from ..helpers.images import _smooth, _truncated_jpeg, rgb_image, write_image
from ..helpers.loader import write_loader_folder


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    return ImageFolder(write_loader_folder(tmp_path_factory.mktemp("loader") / "train"))


@pytest.fixture
def tree(tmp_path):
    """root/{apple,banana,cherry}/ with every supported format and odd modes."""
    root = tmp_path / "train"
    a, b, c = root / "apple", root / "banana", root / "cherry"
    write_image(a / "rgb.jpg", rgb_image(), format="JPEG")
    write_image(a / "GRAY.JPEG", rgb_image().convert("L"), format="JPEG")
    write_image(a / "cmyk.jpg", _smooth(40, 32).convert("CMYK"), format="JPEG", quality=95)
    write_image(b / "pal.png", rgb_image().convert("P", palette=Image.ADAPTIVE, colors=16))
    rgba = np.zeros((16, 20, 4), np.uint8)
    rgba[..., :3] = 200
    rgba[:, 10:, 3] = 255  # right half opaque, left half fully transparent
    write_image(b / "rgba.png", Image.fromarray(rgba))
    write_image(b / "la.png", Image.new("LA", (20, 16), (255, 255)))
    i16 = np.array([[65535, 256 * 100], [0, 256 * 7]], dtype=np.uint16)
    write_image(b / "deep.png", Image.fromarray(i16))
    write_image(c / "x.bmp", rgb_image(), format="BMP")
    write_image(c / "y.WebP", rgb_image(), format="WEBP", lossless=True)
    write_image(c / "sub" / "nested.png", rgb_image())
    _truncated_jpeg(c / "z_bad.jpg")
    (c / "notes.txt").write_text("not an image")
    write_image(c / "._x.jpg", rgb_image(), format="JPEG")  # macOS resource-fork name: hidden
    return root
