"""Data-parallel training (tinynet.dist) without MPI: flat buffers, gradient averaging,
launcher variables, sharding. The MPI runs are in tests/dist/test_mpi.py."""

import numpy as np
import pytest

from tinynet.dist import FlatBuffer, GradientSync, LocalComm


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
