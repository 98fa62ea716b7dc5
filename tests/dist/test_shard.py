"""Data-parallel training (tinynet.dist) without MPI: flat buffers, gradient averaging,
launcher variables, sharding. The MPI runs are in tests/dist/test_mpi.py."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinynet import dist
from tinynet.cli.args import UsageError, parse_args
from tinynet.dist import eval_shard, local_batch_size, train_shard


@given(n=st.integers(0, 60), batch=st.integers(1, 12), size=st.sampled_from([1, 2, 3, 4]))
def test_shards_rebuild_the_single_process_batches(n, batch, size):
    batch *= size
    order = np.random.default_rng(n).permutation(n)
    local = local_batch_size(batch, size)
    shards = [train_shard(order, batch, r, size) for r in range(size)]
    assert len({len(s) for s in shards}) == 1  # the same number of steps
    one = order
    for k in range(0, len(shards[0]), local):  # global batch k, rank by rank
        joined = np.concatenate([s[k : k + local] for s in shards])
        start = k * size
        expected = one[start : start + batch]
        if len(joined) == len(expected):
            np.testing.assert_array_equal(joined, expected)
        else:  # the tail: (m // N) * N of m
            assert len(expected) < batch and len(joined) == len(expected) - len(expected) % size
            np.testing.assert_array_equal(joined, expected[: len(joined)])
    assert len(np.concatenate(shards)) == len(one) - dist.dropped_per_epoch(len(one), batch, size)
    np.testing.assert_array_equal(train_shard(order, batch, 0, 1), one)


def test_eval_shards_cover_the_set_once():
    order = np.arange(10)
    parts = [eval_shard(order, r, 3) for r in range(3)]
    np.testing.assert_array_equal(np.concatenate(parts), order)


def test_batch_must_divide_among_the_processes():
    with pytest.raises(ValueError, match="does not divide among 4 processes"):
        local_batch_size(6, 4)
    with pytest.raises(UsageError, match="multiple of 4"):
        parse_args(["--data", "x", "-b", "6"], num_processes=4)
    assert parse_args(["--data", "x", "-b", "8"], num_processes=4).batch_size == 8
