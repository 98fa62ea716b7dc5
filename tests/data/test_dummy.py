"""tinynet.data.dummy: --dummy's synthetic batches."""

import numpy as np
import pytest

from tinynet.data.dummy import DummyBatches, dummy_splits


def test_splits_have_imagenet_s_proportions_and_named_classes():
    train, val = dummy_splits(1_281_167, 1000)
    assert (len(train), len(val)) == (1_281_167, 51_246)
    assert train.classes[:2] == ["class0", "class1"]
    assert len(dummy_splits(10, 3)[1]) == 1
    with pytest.raises(ValueError, match="--dummy: classes"):
        dummy_splits(10, 1)


def test_batches_are_reproducible_per_epoch_and_resume_at_a_step():
    batches = DummyBatches(steps=5, batch=4, size=9, classes=3, seed=7)
    assert len(batches) == 5
    epoch0 = [(x.copy(), y) for x, y in batches]
    assert len(epoch0) == 5 and epoch0[0][0].shape == (4, 3, 9, 9)
    assert epoch0[0][0].dtype == np.float32 and all(0 <= y.min() and y.max() < 3 for _, y in epoch0)
    batches.set_epoch(0, start=3)
    tail = list(batches)
    assert len(tail) == 2 and all(np.array_equal(a[1], b[1]) for a, b in zip(epoch0[3:], tail))
    batches.set_epoch(1)
    labels1 = np.concatenate([y for _, y in batches])
    assert not np.array_equal(labels1, np.concatenate([y for _, y in epoch0]))
    assert batches.skipped == 0
