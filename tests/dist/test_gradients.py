"""Gradient averaging (tinynet.dist.gradients) without MPI: flat buffers, the single allreduce,
the buckets sent during backward (ranks as threads: tests/dist/threads_comm.py), the progress
thread. The MPI runs are in tests/dist/test_mpi.py."""

import threading
import time

import numpy as np
import pytest

import tinynet
from tinynet import Sequential
from tinynet.dist import PROGRESS, FlatBuffer, GradientSync, LocalComm, ProgressThread
from tinynet.layers import Conv2D, Flatten, Linear, ReLU, fuse_conv_relu

from .threads_comm import World


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


def test_flat_buffer_scales_in_the_copies():
    arrays = [np.arange(6, dtype=np.float32).reshape(2, 3), np.arange(3, dtype=np.float32)]
    buf = FlatBuffer(arrays)
    assert buf.offsets == [0, 6, 9]
    buf.flat[:] = -1
    buf.pack(3, first=1, last=2)  # the second array only, times 3
    np.testing.assert_array_equal(buf.flat, [-1] * 6 + [0, 3, 6])
    buf.pack(2)
    buf.unpack(4)
    np.testing.assert_array_equal(arrays[0], np.arange(6).reshape(2, 3) / 2)


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
    sync = GradientSync(params, TwoRanks(theirs), overlap=False)
    loss, total = sync.average(1.0, 1)  # this rank: 1 sample, loss 1.0
    assert total == 4 and loss == pytest.approx((1.0 + 9.0) / 4)
    expected = (np.concatenate([m.ravel() for m in mine]) + 3 * g) / 4
    np.testing.assert_allclose(params[0][2].ravel(), expected[:6], rtol=1e-5)
    np.testing.assert_allclose(params[1][2], expected[6:9], rtol=1e-5)


def test_gradient_sync_with_an_empty_batch_on_one_rank():
    params = [("w", np.zeros(2, np.float32), np.full(2, 7.0, np.float32))]
    theirs = np.array([2 * 0.5, 2 * -1.0, 2 * 1.5, 2], np.float32)  # 2 samples, loss 1.5
    sync = GradientSync(params, TwoRanks(theirs), overlap=False)
    params[0][2][...] = 0  # this rank read nothing: zero gradient, count 0
    loss, total = sync.average(0.0, 0)
    assert total == 2 and loss == pytest.approx(1.5)
    np.testing.assert_allclose(params[0][2], [0.5, -1.0])


# -- buckets during backward: two ranks as threads ---------------------------------------------
@pytest.fixture(autouse=True)
def _reference_backend():
    """Plain NumPy: Numba's thread pool must not be entered by two threads at once."""
    with tinynet.backend("reference"):
        yield


def _model(seed=0):
    """A small float32 network: Conv2D+ReLU fused, a first layer without dL/dx, three Linears."""
    rng = np.random.default_rng(seed)
    model = Sequential(
        [
            ("conv", Conv2D(2, 3, 3, input_grad=False, rng=rng)),
            ("relu", ReLU()),
            ("flat", Flatten()),
            ("fc1", Linear(12, 20, rng=rng)),
            ("relu1", ReLU()),
            ("fc2", Linear(20, 7, rng=rng)),
            ("out", Linear(7, 4, rng=rng)),
        ]
    )
    fuse_conv_relu(model)
    return model


def _step(comm, counts, *, hook=True, **options):
    """One step on ``comm``'s rank: its own ``counts[rank]`` samples' mean gradient (dout = 1
    per output), averaged; returns (loss, total, the averaged grads, sums started per layer)."""
    model = _model()
    sync = GradientSync(model.named_parameters(), comm, **options)
    count = counts[comm.rank]
    x = np.random.default_rng([1, comm.rank]).standard_normal((max(count, 1), 2, 4, 4))
    started = {}
    if hook:
        model.register_backward_hook(sync.ready)
        model.register_backward_hook(lambda name, _: started.update({name: len(comm.started)}))
    sync.begin(count)
    if count:
        model.forward(x.astype(np.float32)[:count])
        model.backward(np.ones((count, 4), np.float32) / count)
    else:
        for grad in model.grads.values():
            grad[...] = 0
    loss, total = sync.average(float(comm.rank + 1), count)
    sync.close()
    return loss, total, {n: g.copy() for n, _, g in model.named_parameters()}, started


def _expected(counts):
    """The global batch's mean gradient in float64, one rank's data after the other's."""
    sums = {}
    for rank, count in enumerate(counts):
        if not count:
            continue
        model = _model()
        x = np.random.default_rng([1, rank]).standard_normal((count, 2, 4, 4))
        model.forward(x.astype(np.float32))
        model.backward(np.ones((count, 4), np.float32) / count)
        for name, _, grad in model.named_parameters():
            sums[name] = sums.get(name, 0) + count * grad.astype(np.float64)
    return {name: total / sum(counts) for name, total in sums.items()}


@pytest.mark.parametrize("counts", [(3, 3), (3, 1), (0, 2)])
@pytest.mark.parametrize("bucket_bytes", [1, 100, 600, 10**6])
def test_buckets_average_as_the_single_allreduce_does(counts, bucket_bytes):
    flat = World(2).run(lambda comm: _step(comm, counts, overlap=False))
    buckets = World(2).run(lambda comm: _step(comm, counts, bucket_bytes=bucket_bytes))
    expected = _expected(counts)
    total = sum(counts)
    for rank in (0, 1):
        assert buckets[rank][1] == flat[rank][1] == total
        mean_loss = (counts[0] * 1.0 + counts[1] * 2.0) / total
        assert buckets[rank][0] == pytest.approx(mean_loss) == flat[rank][0]
        for name, grad in expected.items():
            np.testing.assert_array_equal(buckets[rank][2][name], flat[rank][2][name])
            np.testing.assert_allclose(buckets[rank][2][name], grad, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("progress", PROGRESS)
def test_each_bucket_is_sent_as_soon_as_backward_finishes_it(progress):
    results = World(2).run(lambda comm: _step(comm, (2, 2), bucket_bytes=1, progress=progress))
    started = results[0][3]
    # one bucket per parameter, last first: out.bias out.weight fc2.* fc1.* conv.*
    assert started == {"out": 2, "fc2": 4, "relu1": 4, "fc1": 6, "flat": 6, "relu": 6, "conv": 8}
    for name, grad in _expected((2, 2)).items():
        np.testing.assert_allclose(results[1][2][name], grad, rtol=1e-6, atol=1e-7)


def test_without_the_hook_average_sends_every_bucket():
    results = World(2).run(lambda comm: _step(comm, (2, 1), hook=False, bucket_bytes=100))
    assert results[0][3] == {}
    for name, grad in _expected((2, 1)).items():
        np.testing.assert_allclose(results[0][2][name], grad, rtol=1e-6, atol=1e-7)


def test_a_step_is_begun_and_averaged_with_one_count():
    model = _model()
    sync = GradientSync(model.named_parameters(), LocalComm(), bucket_bytes=1)
    sync.ready("out")  # outside a step: nothing happens
    assert sync._requests == []
    sync.begin(2)
    with pytest.raises(ValueError, match="count 3 but begin\\(2\\)"):
        sync.average(0.5, 3)
    with pytest.raises(ValueError, match="progress must be one of"):
        GradientSync(model.named_parameters(), LocalComm(), progress="sometimes")


class SlowRequest:
    """Completes after ``needed`` tests."""

    def __init__(self, needed):
        self.needed, self.tests = needed, 0

    def test(self):
        self.tests += 1
        return self.tests >= self.needed


def test_the_progress_thread_tests_the_requests_until_they_finish():
    thread = ProgressThread(LocalComm(), interval=1e-4)
    requests = [SlowRequest(5), SlowRequest(20)]
    for request in requests:
        thread.add(request)
    deadline = time.monotonic() + 10
    while requests[1].tests < 20 and time.monotonic() < deadline:
        time.sleep(1e-3)
    assert requests[0].tests >= 5 and requests[1].tests >= 20
    assert thread.take() == []  # all finished: the thread let them go
    thread.add(SlowRequest(10**9))
    time.sleep(0.01)
    taken = thread.take()
    seen = taken[0].tests
    time.sleep(0.01)
    assert taken[0].tests == seen > 0  # taken back: the thread no longer touches it
    thread.close()
    assert not any(t.name == "mpi-progress" and t.is_alive() for t in threading.enumerate())


def test_the_progress_thread_needs_thread_multiple():
    class Serialized(LocalComm):
        thread_multiple = False

    with pytest.raises(ValueError, match="MPI_THREAD_MULTIPLE"):
        ProgressThread(Serialized())
