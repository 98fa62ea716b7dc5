"""Data-parallel training over MPI (mpi4py): one model, N processes, one Allreduce per step.

Launch any training with an MPI launcher, e.g. ``mpirun -n 4 python examples/alexnet.py
--data DIR``; without one everything runs in a single process and mpi4py is never imported.
See docs/distributed.md.

- ``comm``: ``world()`` (the ``LocalComm`` or ``MPIComm`` of this process), ``run_or_abort``.
- ``gradients``: ``GradientSync`` (flat-buffer gradient averaging), ``broadcast_arrays``.
- ``shard``: which samples each rank takes (``train_shard``, ``eval_shard``).
"""

from .comm import (
    LOCAL,
    DistError,
    LocalComm,
    MPIComm,
    launched_rank,
    launched_size,
    local_size,
    run_or_abort,
    world,
)
from .gradients import FlatBuffer, GradientSync, broadcast_arrays
from .shard import dropped_per_epoch, eval_shard, local_batch_size, train_shard

__all__ = [
    "LOCAL",
    "DistError",
    "LocalComm",
    "MPIComm",
    "launched_rank",
    "launched_size",
    "local_size",
    "run_or_abort",
    "world",
    "FlatBuffer",
    "GradientSync",
    "broadcast_arrays",
    "dropped_per_epoch",
    "eval_shard",
    "local_batch_size",
    "train_shard",
]
