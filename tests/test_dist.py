"""Data-parallel training (tinynet.dist) without MPI: flat buffers, gradient averaging,
launcher variables, sharding. The MPI runs are in tests/test_dist_mpi.py."""

import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinynet import dist
from tinynet.cli import main
from tinynet.cli.args import UsageError, parse_args
from tinynet.dist import (
    LOCAL,
    FlatBuffer,
    GradientSync,
    LocalComm,
    eval_shard,
    local_batch_size,
    train_shard,
)

ROOT = Path(__file__).resolve().parents[1]


# -- without MPI ------------------------------------------------------------------------------
def test_flat_buffer_packs_and_unpacks_in_place():
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in [(2, 3), (4,), (1, 2, 2), ()]]
    keep = list(arrays)
    buf = FlatBuffer(arrays, extra=1)
    flat = buf.pack()
    assert flat.dtype == np.float32 and flat.size == 6 + 4 + 4 + 1 + 1
    np.testing.assert_array_equal(flat[:-1], np.concatenate([a.ravel() for a in arrays]))
    flat[:-1] *= 2
    buf.unpack()
    for a, k in zip(arrays, keep):
        assert a is k  # the same objects, changed in place
    np.testing.assert_array_equal(np.concatenate([a.ravel() for a in arrays]), flat[:-1])
    with pytest.raises(ValueError, match="several dtypes"):
        FlatBuffer([np.zeros(2, np.float32), np.zeros(2, np.float64)])


class TwoRanks(LocalComm):
    """A pretend 2-rank communicator: the other rank's buffer is ``other``."""

    size = 2

    def __init__(self, other):
        self.other = other

    def allreduce_sum(self, buf):
        buf += self.other
        return buf


def test_gradient_sync_averages_the_gradients_and_the_loss():
    rng = np.random.default_rng(1)
    grads = [rng.standard_normal(shape).astype(np.float32) for shape in ((3, 2), (3,))]
    params = [
        ("a.weight", np.zeros((3, 2), np.float32), grads[0]),
        ("a.bias", np.zeros(3, np.float32), grads[1]),
    ]
    mine = [g.copy() for _, _, g in params]
    # the other rank: mean gradient g over 3 samples, loss 3.0, sent as 3 g, 3 * 3.0, 3
    g = rng.standard_normal(9)
    theirs = np.concatenate([3 * g, [9.0, 3]]).astype(np.float32)
    sync = GradientSync(params, TwoRanks(theirs))
    loss, total = sync.average(1.0, 1)  # this rank: 1 sample, loss 1.0
    assert total == 4 and loss == pytest.approx((1.0 + 9.0) / 4)
    expected = (np.concatenate([m.ravel() for m in mine]) + 3 * g) / 4
    np.testing.assert_allclose(params[0][2].ravel(), expected[:6], rtol=1e-5)
    np.testing.assert_allclose(params[1][2], expected[6:9], rtol=1e-5)


def test_gradient_sync_with_an_empty_batch_on_one_rank():
    params = [("w", np.zeros(2, np.float32), np.full(2, 7.0, np.float32))]
    theirs = np.array([2 * 0.5, 2 * -1.0, 2 * 1.5, 2], np.float32)  # 2 samples, loss 1.5
    sync = GradientSync(params, TwoRanks(theirs))
    params[0][2][...] = 0  # this rank read nothing: zero gradient, count 0
    loss, total = sync.average(0.0, 0)
    assert total == 2 and loss == pytest.approx(1.5)
    np.testing.assert_allclose(params[0][2], [0.5, -1.0])


def test_local_communicator_is_the_identity():
    buf = np.arange(4.0)
    assert LOCAL.allreduce_sum(buf) is buf and LOCAL.bcast(buf) is buf
    np.testing.assert_array_equal(buf, np.arange(4.0))
    assert LOCAL.agree_signal(None) is None and LOCAL.agree_signal("SIGTERM") == "SIGTERM"
    assert dist.world() is LOCAL  # pytest is not started by an MPI launcher


def test_launcher_variables():
    assert dist.launched_size({}) is None and dist.local_size({}) == 1
    assert dist.launched_size({"PMI_SIZE": "4", "PMI_RANK": "2"}) == 4
    assert dist.launched_rank({"PMI_SIZE": "4", "PMI_RANK": "2"}) == 2
    assert dist.launched_size({"OMPI_COMM_WORLD_SIZE": "2"}) == 2
    assert dist.launched_size({"PMIX_RANK": "0"}) == 0  # launched; size unknown
    assert dist.local_size({"PMI_SIZE": "4", "MPI_LOCALNRANKS": "2"}) == 2
    assert dist.local_size({"SLURM_NTASKS_PER_NODE": "4"}) == 1  # not launched by MPI


def test_under_a_launcher_without_mpi4py_one_clear_line(monkeypatch, capsys):
    monkeypatch.setenv("PMI_SIZE", "2")
    monkeypatch.setenv("PMI_RANK", "0")
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # import mpi4py fails
    monkeypatch.setattr(dist.comm, "_world", None)
    assert main(["--data", "nowhere"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "mpi4py" in err[0] and "pip install mpi4py mpich" in err[0]
    monkeypatch.setattr(dist.comm, "_world", None)


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
