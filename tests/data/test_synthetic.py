"""make_shapes_dataset: layout, determinism, balance, atomic creation and reuse."""

import json

import numpy as np
import pytest
from PIL import Image

from tinynet.data import DatasetError, check_dataset, class_names, make_shapes_dataset
from tinynet.data.synthetic import SHAPES, render_shape

SMALL = dict(num_classes=3, train_per_class=5, val_per_class=2, image_size=32)


def _pixels(root):
    return {
        p.relative_to(root).as_posix(): np.asarray(Image.open(p))
        for p in sorted(root.rglob("*.png"))
    }


def test_layout_balance_and_check_dataset(tmp_path):
    root = make_shapes_dataset(tmp_path / "shapes", **SMALL)
    assert sorted(p.name for p in root.iterdir()) == ["DONE", "classes.txt", "train", "val"]
    train, val = check_dataset(root)
    assert train.classes == val.classes == sorted(SHAPES[:3])
    assert np.bincount([y for _, y in train.samples]).tolist() == [5, 5, 5]
    assert np.bincount([y for _, y in val.samples]).tolist() == [2, 2, 2]
    assert class_names(root) == train.classes
    img, _ = train.load(0)
    assert img.size == (32, 32) and Image.open(train.samples[0][0]).mode == "RGB"
    assert json.loads((root / "DONE").read_text())["image_size"] == 32
    assert not list(tmp_path.glob(".shapes.tmp-*")), "temporary folder left behind"


def test_deterministic_from_seed(tmp_path):
    a = _pixels(make_shapes_dataset(tmp_path / "a", seed=5, **SMALL))
    b = _pixels(make_shapes_dataset(tmp_path / "b", seed=5, **SMALL))
    c = _pixels(make_shapes_dataset(tmp_path / "c", seed=6, **SMALL))
    assert a.keys() == b.keys() == c.keys()
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert sum(not np.array_equal(a[k], c[k]) for k in a) == len(a)
    first = sorted((tmp_path / "a").rglob("*.png"))[0]
    twin = tmp_path / "b" / first.relative_to(tmp_path / "a")
    assert first.read_bytes() == twin.read_bytes()


def test_images_vary_within_a_class(tmp_path):
    root = make_shapes_dataset(tmp_path / "s", **SMALL)
    px = _pixels(root)
    circles = [v for k, v in px.items() if k.startswith("train/circle/")]
    assert len(circles) == 5
    assert len({v.tobytes() for v in circles}) == 5
    assert np.std([v.reshape(-1, 3).mean(0) for v in circles], axis=0).max() > 10, "colours vary"


def test_every_shape_renders_distinctly():
    rng_seed = 11
    masks = {}
    for s in SHAPES:
        arr = render_shape(s, 48, np.random.default_rng(rng_seed))
        assert arr.shape == (48, 48, 3) and arr.dtype == np.uint8
        masks[s] = arr
    # same generator state => same colours/pose, so differences come from the outline
    names = list(masks)
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            diff = np.abs(masks[names[i]].astype(int) - masks[names[j]].astype(int)).mean()
            assert diff > 1.0, (names[i], names[j])
    with pytest.raises(ValueError, match="unknown shape"):
        render_shape("blob", 32, np.random.default_rng(0))


def test_reuse_complete_dataset(tmp_path):
    root = make_shapes_dataset(tmp_path / "s", **SMALL)
    f = next(root.rglob("*.png"))
    f.write_bytes(b"marker")  # a rewrite would restore it
    assert make_shapes_dataset(tmp_path / "s", **SMALL) == root
    assert f.read_bytes() == b"marker"


def test_refuses_incomplete_or_different(tmp_path):
    root = make_shapes_dataset(tmp_path / "s", **SMALL)
    with pytest.raises(DatasetError, match="different parameters"):
        make_shapes_dataset(root, **dict(SMALL, seed=1))
    (root / "DONE").unlink()
    with pytest.raises(DatasetError, match="not a complete shapes dataset"):
        make_shapes_dataset(root, **SMALL)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert (make_shapes_dataset(empty, **SMALL) / "DONE").is_file()
    with pytest.raises(ValueError, match="num_classes"):
        make_shapes_dataset(tmp_path / "x", num_classes=len(SHAPES) + 1)
