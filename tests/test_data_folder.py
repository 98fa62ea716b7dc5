"""ImageFolder, image-mode conversion, check_dataset and class_names."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tinynet.data import DatasetError, ImageFolder, check_dataset, class_names, open_rgb
from tinynet.data.image import to_rgb
from tinynet.data.transforms import resize_shorter


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


def test_classes_samples_and_labels(tree):
    ds = ImageFolder(tree)
    assert ds.classes == ["apple", "banana", "cherry"]
    names = [(Path(p).relative_to(tree).as_posix(), y) for p, y in ds.samples]
    assert names == [
        ("apple/GRAY.JPEG", 0),
        ("apple/cmyk.jpg", 0),
        ("apple/rgb.jpg", 0),
        ("banana/deep.png", 1),
        ("banana/la.png", 1),
        ("banana/pal.png", 1),
        ("banana/rgba.png", 1),
        ("cherry/x.bmp", 2),
        ("cherry/y.WebP", 2),
        ("cherry/z_bad.jpg", 2),
        ("cherry/sub/nested.png", 2),  # like torchvision: a folder's files, then sub-folders
    ]
    assert len(ds) == 11


def test_every_good_file_loads_as_rgb_and_bad_one_raises(tree):
    ds = ImageFolder(tree)
    for i, (path, label) in enumerate(ds.samples):
        if path.endswith("z_bad.jpg"):
            with pytest.raises(OSError):
                ds.load(i)
            continue
        img, y = ds.load(i)
        assert img.mode == "RGB" and y == label
        assert img.size == Image.open(path).size


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


def test_missing_root_and_no_classes(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        ImageFolder(tmp_path / "nope")
    (tmp_path / "flat").mkdir()
    write_image(tmp_path / "flat" / "a.png", rgb_image())
    with pytest.raises(DatasetError, match="no class sub-folders"):
        ImageFolder(tmp_path / "flat")


def test_empty_class_folder_named(tree):
    (tree / "durian").mkdir()
    with pytest.raises(
        DatasetError, match=r"1 class folder\(s\) contain no image: .*durian\..*Add"
    ):
        ImageFolder(tree)
    for c in "efghi":
        (tree / f"{c}_empty").mkdir()
    with pytest.raises(DatasetError, match=r"^6 class folder\(s\) .*\(and 1 more\)\."):
        ImageFolder(tree)


# ------------------------------------------------------------ check_dataset
def write_dataset(root: Path, train=("a", "b"), val=("a", "b"), per_class=2):
    for split, classes in (("train", train), ("val", val)):
        for c in classes:
            for i in range(per_class):
                write_image(root / split / c / f"{i}.png", rgb_image(seed=i))
    return root


def test_check_dataset_ok(tmp_path):
    train, val = check_dataset(write_dataset(tmp_path / "ds"))
    assert train.classes == val.classes == ["a", "b"]
    assert len(train) == len(val) == 4


def test_check_missing_data_dir(tmp_path):
    with pytest.raises(DatasetError, match=r"nope' does not exist.*train/ and val/.*make_shapes"):
        check_dataset(tmp_path / "nope")


@pytest.mark.parametrize("split", ["train", "val"])
def test_check_missing_split(tmp_path, split):
    root = write_dataset(tmp_path / "ds")
    import shutil

    shutil.rmtree(root / split)
    with pytest.raises(DatasetError, match=rf"has no {split}/ folder.*Expected layout"):
        check_dataset(root)


def test_check_passed_split_folder_itself(tmp_path):
    root = write_dataset(tmp_path / "ds")
    with pytest.raises(DatasetError, match="pass its parent"):
        check_dataset(root / "train")


def test_check_flat_val_is_imagenet_raw_layout(tmp_path):
    root = write_dataset(tmp_path / "ds", val=())
    for i in range(3):
        write_image(root / "val" / f"ILSVRC2012_val_{i:08d}.JPEG", rgb_image(), format="JPEG")
    with pytest.raises(DatasetError) as e:
        check_dataset(root)
    msg = str(e.value)
    assert "holds 3 image(s) directly" in msg and "valprep.sh" in msg
    assert "ILSVRC2012_val_00000000.JPEG" in msg and "class folders" in msg


def test_check_flat_train(tmp_path):
    root = write_dataset(tmp_path / "ds")
    write_image(root / "train" / "loose.png", rgb_image())
    with pytest.raises(DatasetError, match=r"train' holds 1 image\(s\) directly.*inside a class"):
        check_dataset(root)


def test_check_split_without_class_folders(tmp_path):
    root = write_dataset(tmp_path / "ds", val=())
    (root / "val").mkdir(exist_ok=True)
    (root / "val" / "README").write_text("x")
    with pytest.raises(DatasetError, match=r"val' has no class folders.*README"):
        check_dataset(root)


def test_check_empty_class_folder(tmp_path):
    root = write_dataset(tmp_path / "ds")
    (root / "val" / "b" / "0.png").unlink()
    (root / "val" / "b" / "1.png").unlink()
    with pytest.raises(DatasetError, match=r"contain no image: .*val/b\."):
        check_dataset(root)


def test_check_val_classes_differ(tmp_path):
    root = write_dataset(tmp_path / "ds", train=("a", "b", "c"), val=("a", "b", "zz"))
    with pytest.raises(DatasetError) as e:
        check_dataset(root)
    msg = str(e.value)
    assert "only in val/: zz" in msg and "only in train/: c" in msg and "same class folders" in msg


# -------------------------------------------------------------- class_names
def test_class_names_from_loc_synset_mapping(tmp_path):
    wnids = ("n01440764", "n01443537")
    root = write_dataset(tmp_path / "ds", train=wnids, val=wnids)
    (root / "LOC_synset_mapping.txt").write_text(
        "n01443537 goldfish, Carassius auratus\nn01440764 tench, Tinca tinca\nn09999999 other\n"
    )
    assert class_names(root) == ["tench, Tinca tinca", "goldfish, Carassius auratus"]


def test_class_names_from_classes_txt_pairs_and_lines(tmp_path):
    root = write_dataset(tmp_path / "ds")
    assert class_names(root) == ["a", "b"], "no mapping file: folder names"
    (root / "classes.txt").write_text("b Bee\na Ay\n")
    assert class_names(root) == ["Ay", "Bee"]
    (root / "classes.txt").write_text("first class\nsecond class\n")
    assert class_names(root) == ["first class", "second class"]
    (root / "classes.txt").write_text("only one line\n")
    with pytest.warns(UserWarning, match="classes.txt"):
        assert class_names(root) == ["a", "b"]
