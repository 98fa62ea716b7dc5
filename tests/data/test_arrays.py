"""ArrayBatches: per-epoch order, reproducibility, mid-epoch start, bad arguments."""

import numpy as np
import pytest

from tinynet.data import ArrayBatches

N = 23


def _data(n=N):
    images = np.arange(n * 2 * 3 * 3, dtype=np.float32).reshape(n, 2, 3, 3)
    return images, np.arange(n) % 4


def _pass(batches, epoch, start=0):
    batches.set_epoch(epoch, start=start)
    return list(batches)


def _order(batches):
    """Sample order of a pass, read back from the images (image i starts with 18 * i)."""
    return [int(v) // 18 for x, _ in batches for v in x[:, 0, 0, 0]]


def test_order_sizes_and_contents():
    images, labels = _data()
    ab = ArrayBatches(images, labels, batch_size=5, seed=3)
    got = _pass(ab, 2)
    assert len(ab) == len(got) == 5 and [len(y) for _, y in got] == [5, 5, 5, 5, 3]
    assert _order(got) == np.random.default_rng([3, 2]).permutation(N).tolist()
    for x, y in got:
        idx = x[:, 0, 0, 0].astype(int) // 18
        np.testing.assert_array_equal(x, images[idx])
        np.testing.assert_array_equal(y, labels[idx])
        x[...] = -1  # a batch is a copy: writing to it leaves the data alone
    np.testing.assert_array_equal(images, _data()[0])


def test_without_shuffle_in_order():
    ab = ArrayBatches(*_data(), batch_size=4, shuffle=False)
    for epoch in (0, 7):
        got = _pass(ab, epoch)
        assert _order(got) == list(range(N)) and [len(y) for _, y in got][-1] == 3


def test_reproducible_per_epoch_and_seed():
    a = ArrayBatches(*_data(), batch_size=6, seed=1)
    b = ArrayBatches(*_data(), batch_size=6, seed=1)
    assert _order(_pass(a, 4)) == _order(_pass(b, 4))
    assert _order(_pass(a, 0)) != _order(_pass(a, 1))
    c = ArrayBatches(*_data(), batch_size=6, seed=2)
    assert _order(_pass(a, 0)) != _order(_pass(c, 0))
    assert _order(_pass(a, 0)) == _order(list(a)), "a pass repeats until set_epoch"


@pytest.mark.parametrize("shuffle", [True, False])
def test_start_skips_exactly_the_first_batches(shuffle):
    ab = ArrayBatches(*_data(), batch_size=5, shuffle=shuffle, seed=9)
    full = _pass(ab, 3)
    for k in range(len(full) + 2):
        rest = _pass(ab, 3, start=k)
        assert len(rest) == max(0, len(full) - k) and len(ab) == len(full)
        for (x, y), (xf, yf) in zip(rest, full[k:], strict=True):
            np.testing.assert_array_equal(x, xf)
            np.testing.assert_array_equal(y, yf)
    ab.set_epoch(3)
    assert ab.start == 0 and len(list(ab)) == len(full), "set_epoch(e) means start 0"


def test_bad_arguments():
    images, labels = _data()
    with pytest.raises(ValueError, match="23 images but 22 labels"):
        ArrayBatches(images, labels[:-1], 4)
    with pytest.raises(ValueError, match="batch_size must be positive"):
        ArrayBatches(images, labels, 0)
    ab = ArrayBatches(images, labels, 4)
    for start in (-1, 0.5, True):
        with pytest.raises(ValueError, match="start"):
            ab.set_epoch(1, start=start)
    assert (ab.epoch, ab.start) == (0, 0)
