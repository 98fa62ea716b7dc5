"""Data-parallel training under MPI: a 2-process run equals a 1-process run, rank 0 alone
writes, resume across sizes, unreadable files, failing ranks, Ctrl-C.

The tests launch ``mpiexec -n 2 python -m tests.dist.test_mpi WORKER ...`` (this module is its
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

import numpy as np
import pytest

from tinynet import dist
from tinynet.cli import main
from tinynet.models import alexnet
from tinynet.train import Trainer

from ..helpers.mpi import LAUNCHER, ROOT, TINY, mpirun, needs_mpi, replica_run
from ..helpers.toy_data import write_colour_folders

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def colours(tmp_path_factory):
    return write_colour_folders(tmp_path_factory.mktemp("colours"))


# -- with MPI ---------------------------------------------------------------------------------
@needs_mpi
def test_two_processes_train_the_same_weights_as_one(tmp_path):
    proc = mpirun(2, "-m", "tests.dist.test_mpi", "replica", tmp_path / "two.npz")
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
    proc = mpirun(2, "-m", "tests.dist.test_mpi", "fail", colours, tmp_path / "out", timeout=90)
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


#: Ways of averaging the overlap test compares: (name, bucket_bytes, progress); 0: one allreduce
#: after backward. 1 byte puts every parameter in a bucket of its own (boundaries inside layers).
WAYS = [
    ("flat", 0, "test"),
    ("default", dist.BUCKET_BYTES, "thread"),
    ("tiny", 1, "test"),
    ("small", 20_000, "thread"),
    ("mpi", 100_000, "none"),
]


@needs_mpi
def test_buckets_during_backward_train_as_one_allreduce_after_it(tmp_path):
    proc = mpirun(2, "-m", "tests.dist.test_mpi", "overlap", tmp_path / "ways.npz")
    assert proc.returncode == 0, proc.stderr
    ways = np.load(tmp_path / "ways.npz")
    start = alexnet(
        num_classes=3, input_size=67, width=0.125, dropout=0, init="he", seed=0
    ).state_dict()
    names = [n for n in start if n.endswith(("weight", "bias"))]
    assert len(names) == 16
    for way, _, _ in WAYS:
        assert float(ways[f"{way}/spread"]) == 0.0, way  # the ranks agree
        for name in names:
            flat, got = ways[f"flat/{name}"], ways[f"{way}/{name}"]
            scale = np.abs(flat).max()
            np.testing.assert_allclose(got, flat, rtol=1e-6, atol=1e-6 * scale, err_msg=way + name)
            assert not np.array_equal(got, start[name])  # they did train
    assert json.loads(str(ways["counts"])) == [[4, 4], [4, 1], [0, 3], [2, 4]]


class Uneven:
    """Batches of unequal sizes on the two ranks, an empty one included (unreadable files)."""

    COUNTS = [[4, 4], [4, 1], [0, 3], [2, 4]]

    def __init__(self, images, labels, rank):
        self.images, self.labels, self.rank = images, labels, rank

    def __iter__(self):
        at = 0
        for counts in self.COUNTS:
            mine = slice(at + sum(counts[: self.rank]), at + sum(counts[: self.rank + 1]))
            at += sum(counts)
            yield self.images[mine], self.labels[mine]


def overlap_run(out, comm):
    """The small AlexNet trained one epoch of ``Uneven`` batches under each of ``WAYS``, from
    the same weights; rank 0 saves them to ``out`` (.npz, "<way>/<parameter>")."""
    rng = np.random.default_rng(0)
    images = rng.standard_normal((24, 3, 67, 67)).astype(np.float32)
    labels = rng.integers(0, 3, 24)
    saved = {"counts": json.dumps(Uneven.COUNTS)}
    for way, bucket_bytes, progress in WAYS:
        model = alexnet(num_classes=3, input_size=67, width=0.125, dropout=0, init="he", seed=0)
        trainer = Trainer.for_model(model, lr=0.01, schedule=None, comm=comm)
        trainer.sync_gradients(bucket_bytes, progress)
        trainer.fit(Uneven(images, labels, comm.rank), epochs=1)
        saved[f"{way}/spread"] = trainer.sync.max_divergence()
        saved.update({f"{way}/{k}": v for k, v in model.state_dict().items()})
        trainer.sync.close()
    if comm.rank == 0:
        np.savez(out, **saved)


# -- the worker: python -m tests.dist.test_mpi WORKER ARGS, under mpiexec ---------------------
def _worker(argv):
    comm = dist.world()
    if argv[0] == "replica":
        dist.run_or_abort(comm, lambda: replica_run(argv[1], comm))
        return 0
    if argv[0] == "overlap":
        dist.run_or_abort(comm, lambda: overlap_run(argv[1], comm))
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
