"""Buckets (tinynet.dist.buckets): parameters grouped last to first, about bucket_bytes each."""

import numpy as np
import pytest

from tinynet.dist import BUCKET_BYTES, Buckets, assign_buckets
from tinynet.models.alexnet import alexnet_param_shapes


def test_buckets_are_filled_last_parameter_first():
    sizes = [40, 4, 100, 8, 30, 2]  # e.g. a.weight a.bias b.weight b.bias c.weight c.bias
    assert assign_buckets(sizes, 32) == [[5, 4], [3, 2], [1, 0]]
    assert assign_buckets(sizes, 1) == [[5], [4], [3], [2], [1], [0]]  # one parameter each
    assert assign_buckets(sizes, 10**6) == [[5, 4, 3, 2, 1, 0]]  # one bucket
    # a parameter larger than a bucket ends the bucket it joins (never split)
    assert assign_buckets(sizes, 50) == [[5, 4, 3, 2], [1, 0]]
    assert assign_buckets([], 10) == []
    with pytest.raises(ValueError, match="at least 1"):
        assign_buckets(sizes, 0)


def test_paper_alexnet_in_default_buckets():
    shapes = alexnet_param_shapes(1000, 227, 1.0, 2, True, 0.5, "he", 0, np.float32, 2.0)
    names = list(shapes)
    nbytes = [4 * int(np.prod(s)) for s in shapes.values()]
    buckets = Buckets(names, nbytes, BUCKET_BYTES)
    groups = [[names[i] for i in g] for g in buckets.groups]
    assert groups == [  # 100 MiB: fc8+fc7 (79.6 MB) close with fc6 (224 MB), then the convs
        ["fc8.bias", "fc8.weight", "fc7.bias", "fc7.weight", "fc6.bias", "fc6.weight"],
        [f"conv{k}.{p}" for k in (5, 4, 3, 2, 1) for p in ("bias", "weight")],
    ]
    assert sorted(buckets.order) == list(range(16))
    assert buckets.bounds == [0, 6, 16]
    dpp = Buckets(names, nbytes, 25 * 2**20)  # DDP's 25 MB: fc8+fc7, fc6, the convs
    assert dpp.bounds == [0, 4, 6, 16]


def test_a_bucket_is_complete_when_every_layer_in_it_is():
    names = ["conv.weight", "conv.bias", "fc.weight", "fc.bias", "out.weight", "out.bias"]
    nbytes = [36, 8, 400, 40, 60, 12]
    # 30 bytes: a bucket boundary between fc's bias and weight
    buckets = Buckets(names, nbytes, 30)
    assert [[names[i] for i in g] for g in buckets.groups] == [
        ["out.bias", "out.weight"], ["fc.bias"], ["fc.weight"], ["conv.bias", "conv.weight"],
    ]  # fmt: skip
    assert buckets.complete() == 0
    buckets.ready("relu")  # no parameters: nothing changes
    assert buckets.complete() == 0
    buckets.ready("fc")  # out is not done: buckets start in order
    assert buckets.complete() == 0
    buckets.ready("out")
    assert buckets.complete() == 3
    buckets.ready("out")  # said twice: counted once
    assert buckets.complete() == 3
    buckets.ready("conv")
    assert buckets.complete() == 4
    buckets.reset()
    assert buckets.complete() == 0
