"""Data-parallel training under MPI: a 2-process run equals a 1-process run, rank 0 alone
writes, resume across sizes, unreadable files, failing ranks, Ctrl-C.

The tests launch ``mpiexec -n 2 python -m tests.dist.test_mpi WORKER ...`` (this module is its
own worker, see the bottom) and are skipped when mpi4py or a launcher is missing.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinynet.dist import LOCAL, eval_shard, train_shard
from tinynet.models import alexnet
from tinynet.train import Trainer

ROOT = Path(__file__).resolve().parents[2]


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


def needs_mpi(f):
    """Marked ``mpi``; skipped without mpi4py or an MPI launcher."""
    skip = pytest.mark.skipif(LAUNCHER is None, reason="mpi4py or mpiexec is not installed")
    return pytest.mark.mpi(skip(f))


def mpirun(n, *argv, timeout=120):
    """Run ``python -m tests.dist.test_mpi ARGV`` (or ``examples/alexnet.py``) on n processes."""
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


TINY = "--image-size 67 --width 0.125 -b 6 -j 0 --no-progress --init he --lr 0.01".split()
