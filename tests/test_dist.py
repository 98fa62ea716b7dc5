"""Data-parallel training (tinynet.dist): flat buffers and sharding without MPI; with MPI, a
2-process run equals a 1-process run, rank 0 alone writes, resume across sizes, failing ranks.

The MPI tests launch ``mpiexec -n 2 python -m tests.test_dist WORKER ...`` (this module is its own
worker, see the bottom) and are skipped when mpi4py or a launcher is missing.
"""

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
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
from tinynet.models import alexnet
from tinynet.train import Trainer

from .toy_data import write_colour_folders

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
    theirs = np.concatenate([rng.standard_normal(9), [3.0]]).astype(np.float32)
    sync = GradientSync(params, TwoRanks(theirs))
    loss = sync.average(1.0)
    assert loss == pytest.approx(2.0)
    np.testing.assert_allclose(params[0][2].ravel(), (mine[0].ravel() + theirs[:6]) / 2, rtol=1e-6)
    np.testing.assert_allclose(params[1][2], (mine[1] + theirs[6:9]) / 2, rtol=1e-6)


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


# -- with MPI: helpers ------------------------------------------------------------------------
def _launcher():
    """[mpiexec, flags] that starts processes here, or None (no mpi4py or no launcher)."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return None
    beside = Path(sys.executable).parent / "mpiexec"
    exe = str(beside) if beside.exists() else shutil.which("mpiexec") or shutil.which("mpirun")
    if exe is None:
        return None
    try:
        version = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = version.stdout + version.stderr
    if "Open MPI" in text or "OpenRTE" in text:
        flags = ["--oversubscribe"] + (["--allow-run-as-root"] if os.geteuid() == 0 else [])
    else:  # MPICH's Hydra: plain processes on this machine
        flags = ["-launcher", "fork"] if "HYDRA" in text.upper() else []
    return [exe] + flags


LAUNCHER = _launcher()
needs_mpi = pytest.mark.skipif(LAUNCHER is None, reason="mpi4py or mpiexec is not installed")


def mpirun(n, *argv, timeout=120):
    """Run ``python -m tests.test_dist ARGV`` (or ``examples/alexnet.py``) on n processes."""
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }
    cmd = LAUNCHER + ["-n", str(n), sys.executable] + [str(a) for a in argv]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def replica_run(out, comm=LOCAL, epochs=2):
    """Train the small AlexNet (dropout off) on 28 samples, global batch 8, on every rank of
    ``comm``; rank 0 saves the weights and the history to ``out`` (.npz)."""
    rng = np.random.default_rng(0)
    images = rng.standard_normal((28, 3, 67, 67)).astype(np.float32)
    labels = rng.integers(0, 3, 28)
    model = alexnet(num_classes=3, input_size=67, width=0.125, dropout=0, init="he", seed=0)
    trainer = Trainer.for_model(model, lr=0.01, schedule="plateau", patience=0, comm=comm)
    train = Shards(images, labels, 8, comm, shuffle=True)
    val = Shards(images[:11], labels[:11], 8, comm, shuffle=False)
    trainer.fit(train, val, epochs=epochs)
    spread = trainer.sync.max_divergence() if trainer.sync is not None else 0.0
    if comm.rank == 0:
        np.savez(out, spread=spread, history=json.dumps(trainer.history), **model.state_dict())


class Shards:
    """This rank's part of every global batch of in-memory arrays (tinynet.dist.shard)."""

    def __init__(self, images, labels, batch, comm, shuffle):
        self.images, self.labels, self.batch, self.comm = images, labels, batch, comm
        self.shuffle, self.epoch = shuffle, 0

    def set_epoch(self, epoch, start=0):
        self.epoch, self.start = epoch, start

    def __iter__(self):
        n, rank, size = len(self.labels), self.comm.rank, self.comm.size
        if self.shuffle:
            order = np.random.default_rng([0, self.epoch]).permutation(n)
            mine = train_shard(order, self.batch, rank, size)
        else:
            mine = eval_shard(np.arange(n), rank, size)
        local = self.batch // size
        for k in range(getattr(self, "start", 0) * local, len(mine), local):
            yield self.images[mine[k : k + local]], self.labels[mine[k : k + local]]


@pytest.fixture(scope="module")
def colours(tmp_path_factory):
    return write_colour_folders(tmp_path_factory.mktemp("colours"))


TINY = [
    "--image-size",
    "67",
    "--width",
    "0.125",
    "-b",
    "6",
    "-j",
    "0",
    "--no-progress",
    "--init",
    "he",
    "--lr",
    "0.01",
]


# -- with MPI ---------------------------------------------------------------------------------
@needs_mpi
def test_two_processes_train_the_same_weights_as_one(tmp_path):
    proc = mpirun(2, "-m", "tests.test_dist", "replica", tmp_path / "two.npz")
    assert proc.returncode == 0, proc.stderr
    replica_run(tmp_path / "one.npz")
    two, one = np.load(tmp_path / "two.npz"), np.load(tmp_path / "one.npz")
    assert float(two["spread"]) == 0.0  # the ranks hold identical weights
    names = [k for k in one.files if k not in ("spread", "history")]
    assert len(names) == 16
    start = alexnet(
        num_classes=3, input_size=67, width=0.125, dropout=0, init="he", seed=0
    ).state_dict()
    for name in names:
        scale = np.abs(one[name]).max()  # float32 rounding differs, not the maths
        np.testing.assert_allclose(two[name], one[name], rtol=1e-5, atol=1e-5 * scale, err_msg=name)
        assert not np.array_equal(one[name], start[name])  # they did train
    h2, h1 = json.loads(str(two["history"])), json.loads(str(one["history"]))
    for r2, r1 in zip(h2, h1):
        assert r2["lr"] == r1["lr"]
        for key in ("train_loss", "train_top1", "val_loss", "val_top1", "val_top5"):
            assert r2[key] == pytest.approx(r1[key], rel=1e-4), key


@needs_mpi
def test_rank_zero_writes_and_a_single_process_resumes(colours, tmp_path, capsys):
    out = tmp_path / "run"
    proc = mpirun(
        2, "examples/alexnet.py", "--data", colours, "--output", out, "--epochs", 1, *TINY
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert sum(line.startswith("AlexNet 3 classes") for line in lines) == 1
    assert sum(line.startswith("epoch 1/1") for line in lines) == 1
    assert sum(line.startswith("done:") for line in lines) == 1
    assert "data parallel: 2 processes, 3 images per process per step" in proc.stdout
    assert sorted(p.name for p in out.iterdir()) in (
        ["best.npz", "checkpoint.npz", "metrics.csv"],
        ["best.npz", "checkpoint.npz", "curves.png", "metrics.csv"],
    )
    assert [r["epoch"] for r in csv.DictReader(open(out / "metrics.csv"))] == ["1"]
    # 36 images, global batch 6: 6 steps in epoch 1, whatever the number of processes
    assert Trainer.load(out / "checkpoint.npz").step == 6
    assert (
        main(
            [
                "--data",
                str(colours),
                "--output",
                str(out),
                "--epochs",
                "2",
                "--resume",
                str(out / "checkpoint.npz"),
                *TINY,
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "resuming" in text and "epoch 2/2" in text
    assert [r["epoch"] for r in csv.DictReader(open(out / "metrics.csv"))] == ["1", "2"]
    assert Trainer.load(out / "checkpoint.npz").step == 12


@needs_mpi
def test_a_failing_rank_stops_the_job(colours, tmp_path):
    start = time.monotonic()
    proc = mpirun(2, "-m", "tests.test_dist", "fail", colours, tmp_path / "out", timeout=90)
    assert proc.returncode != 0
    assert "rank 1: RuntimeError: injected failure on rank 1" in proc.stderr
    assert time.monotonic() - start < 90


@needs_mpi
def test_usage_errors_are_said_once(colours, tmp_path):
    proc = mpirun(
        2, "examples/alexnet.py", "--data", colours, "--output", tmp_path, "-b", "5", timeout=60
    )
    assert proc.returncode == 2
    assert proc.stderr.count("does not divide among 2 processes") == 1, proc.stderr


@needs_mpi
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigint_stops_every_rank_and_rank_zero_saves(colours, tmp_path):
    out = tmp_path / "interrupted"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    flags = "--epochs 50 --image-size 67 --width 0.125 -b 2 -j 0 --no-progress".split()
    script = ["examples/alexnet.py", "--data", str(colours), "--output", str(out), *flags]
    cmd = LAUNCHER + ["-n", "2", sys.executable, *script]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.time() + 60
        while not (out / "metrics.csv").exists() and time.time() < deadline:
            time.sleep(0.2)
        assert (out / "metrics.csv").exists(), "no epoch finished"
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)  # the launcher passes it on to every rank
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert stdout.count("SIGINT received: saved") == 1 and "mpirun -n 2" in stdout
    assert "Traceback" not in stderr
    trainer = Trainer.load(out / "checkpoint.npz")
    assert trainer.step >= 18  # 36 images / global batch 2 in epoch 1


# -- the worker: python -m tests.test_dist WORKER ARGS, under mpiexec ---------------------------
def _worker(argv):
    comm = dist.world()
    if argv[0] == "replica":
        dist.run_or_abort(comm, lambda: replica_run(argv[1], comm))
        return 0
    if argv[0] == "fail":  # rank 1 fails in its first training epoch
        if comm.rank == 1:

            def fail(self, *args, **kwargs):
                raise RuntimeError("injected failure on rank 1")

            Trainer._train_step = fail
        return main(["--data", argv[1], "--output", argv[2], "--epochs", "1", *TINY])
    raise SystemExit(f"unknown worker {argv[0]!r}")


if __name__ == "__main__":
    sys.exit(_worker(sys.argv[1:]))
