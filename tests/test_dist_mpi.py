"""Data-parallel training under MPI: a 2-process run equals a 1-process run, rank 0 alone
writes, resume across sizes, unreadable files, failing ranks, Ctrl-C.

The tests launch ``mpiexec -n 2 python -m tests.test_dist_mpi WORKER ...`` (this module is its
own worker, see the bottom) and are skipped when mpi4py or a launcher is missing.
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

from tinynet import dist
from tinynet.cli import main
from tinynet.dist import LOCAL, eval_shard, train_shard
from tinynet.models import alexnet
from tinynet.train import Trainer

from .toy_data import write_colour_folders

ROOT = Path(__file__).resolve().parents[1]


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
    """Run ``python -m tests.test_dist_mpi ARGV`` (or ``examples/alexnet.py``) on n processes."""
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


TINY = "--image-size 67 --width 0.125 -b 6 -j 0 --no-progress --init he --lr 0.01".split()


# -- with MPI ---------------------------------------------------------------------------------
@needs_mpi
def test_two_processes_train_the_same_weights_as_one(tmp_path):
    proc = mpirun(2, "-m", "tests.test_dist_mpi", "replica", tmp_path / "two.npz")
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
    assert sum(line.startswith("AlexNet (alexnet) 3 classes") for line in lines) == 1
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
def test_an_unreadable_image_in_one_ranks_share_keeps_the_ranks_in_step(colours, tmp_path):
    """-b 2 on 2 ranks: each rank's batch is one image, so a zero-byte file empties one rank's
    batch; the ranks must still take the same steps (they used to deadlock or crash)."""
    data = tmp_path / "data"
    shutil.copytree(colours, data)
    (data / "train" / "blue" / "0.png").write_bytes(b"")
    flags = "--epochs 1 --image-size 67 --width 0.125 -b 2 -j 0 --no-progress --lr 0.001".split()
    proc = mpirun(2, "examples/alexnet.py", data, "--output", tmp_path / "out", *flags)
    assert proc.returncode == 0, proc.stderr
    assert "(1 unreadable files skipped)" in proc.stdout and "done: 1 epoch" in proc.stdout
    assert Trainer.load(tmp_path / "out" / "checkpoint.npz").step == 18  # 36 images / 2


@needs_mpi
def test_a_failing_rank_stops_the_job(colours, tmp_path):
    start = time.monotonic()
    proc = mpirun(2, "-m", "tests.test_dist_mpi", "fail", colours, tmp_path / "out", timeout=90)
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
    flags = "--epochs 50 --image-size 67 --width 0.125 -b 2 -j 0 --no-progress --lr 0.001".split()
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


# -- the worker: python -m tests.test_dist_mpi WORKER ARGS, under mpiexec ---------------------
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
