"""Data-parallel training over MPI (mpi4py): one model, N processes, gradients summed per step.

Launch any training with an MPI launcher, e.g. ``mpirun -n 4 python examples/alexnet.py
--data DIR``; without one everything runs in a single process and mpi4py is never imported.
See docs/distributed.md.

- ``comm``: ``world()`` (the ``LocalComm`` or ``MPIComm`` of this process), ``run_or_abort``.
- ``gradients``: ``GradientSync`` (gradient averaging, in buckets during backward or in one
  allreduce after it), ``broadcast_arrays``.
- ``buckets``: which parameters are summed together (``Buckets``, ``BUCKET_BYTES``).
- ``shard``: which samples each rank takes (``train_shard``, ``eval_shard``).
"""

from .buckets import BUCKET_BYTES, Buckets, assign_buckets
from .comm import (
    LOCAL,
    DistError,
    LocalComm,
    MPIComm,
    ProgressThread,
    launched_rank,
    launched_size,
    local_size,
    run_or_abort,
    world,
)
from .gradients import PROGRESS, FlatBuffer, GradientSync, broadcast_arrays
from .shard import dropped_per_epoch, eval_shard, local_batch_size, train_shard

__all__ = [
    "BUCKET_BYTES",
    "Buckets",
    "assign_buckets",
    "LOCAL",
    "DistError",
    "LocalComm",
    "MPIComm",
    "ProgressThread",
    "launched_rank",
    "launched_size",
    "local_size",
    "run_or_abort",
    "world",
    "PROGRESS",
    "FlatBuffer",
    "GradientSync",
    "broadcast_arrays",
    "dropped_per_epoch",
    "eval_shard",
    "local_batch_size",
    "train_shard",
]
