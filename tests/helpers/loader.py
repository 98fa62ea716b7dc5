"""DataLoader: batching, reproducibility, indices_fn, mid-epoch resume (set_epoch's start)
and bad-file skipping. Worker-process behaviour is in test_data_workers.py."""

import multiprocessing as mp
import warnings

import numpy as np
import pytest
from PIL import Image

N_GOOD = 37  # + 1 truncated file


def write_loader_folder(root):
    """``root/class{0,1,2}/``: N_GOOD random 30..60 px images (png/jpg) and one truncated
    jpg, ``class1/img_bad.jpg`` (sample 25) -> ``root``."""
    rng = np.random.default_rng(0)
    for i in range(N_GOOD):
        d = root / f"class{i % 3}"
        d.mkdir(parents=True, exist_ok=True)
        w, h = int(rng.integers(30, 60)), int(rng.integers(30, 60))
        img = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
        img.save(d / f"img{i:03d}.{'png' if i % 2 else 'jpg'}")
    bad = root / "class1" / "img_bad.jpg"
    img.save(bad, format="JPEG")
    bad.write_bytes(bad.read_bytes()[:200])
    return root


@pytest.fixture(autouse=True)
def no_leftover_children():
    """Every test must leave no worker process behind."""
    yield
    assert mp.active_children() == [], "a test left worker processes behind"


def epoch_batches(loader, epoch=0, start=0):
    loader.set_epoch(epoch, start=start)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return list(loader)


def assert_equal_batches(a, b):
    for (xa, ya), (xb, yb) in zip(a, b, strict=True):
        assert xa.dtype == xb.dtype == np.float32 and ya.dtype == yb.dtype == np.int64
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
