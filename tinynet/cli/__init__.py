"""The command line of ``examples/alexnet.py``: train, evaluate and predict.

Started by an MPI launcher (``mpirun -n N python examples/alexnet.py ...``) it trains one model
on N processes (``tinynet.dist``); rank 0 prints and writes the files, and an error on any rank
prints ``rank R: <error>`` and stops the whole job. ``--backend`` (``tinynet.set_backend``)
applies to the whole run, on every rank; data-loader workers, forked from it, inherit it.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import warnings
from pathlib import Path

import numpy as np

from ..backends import backend, get_backend
from ..data import DatasetError
from ..dist import DistError, launched_rank, local_size, run_or_abort, world
from ..train import CheckpointError, NoTrainingData, TrainingDiverged
from .args import UsageError, parse_args


def main(argv=None) -> int:
    """Run the command; user mistakes print one line and return 2 (no traceback)."""
    try:
        comm = world()
    except DistError as err:
        if launched_rank() == 0:  # one line for the job, not one per process
            print(f"alexnet.py: error: {err}", file=sys.stderr)
        return 2
    try:
        args = parse_args(argv, comm.size)
    except UsageError as err:  # the same on every rank: rank 0 says it
        if comm.rank == 0:
            print(f"alexnet.py: error: {err}", file=sys.stderr)
        return 2
    # --backend for this run; without it the process's own ($TINYNET_BACKEND, else fast).
    # Restored afterwards, for a caller in Python (a notebook, a test).
    with warnings.catch_warnings(), backend(args.backend or get_backend()):
        warnings.showwarning = _one_line_warning
        if comm.size == 1:
            return _run(args, comm)
        _share_cores()
        brief = (UsageError, DatasetError, CheckpointError, NoTrainingData, OSError)
        return run_or_abort(comm, lambda: _run(args, comm), brief=brief)


def _run(args, comm) -> int:
    try:
        with np.errstate(all="ignore"):  # an overflow becomes a NaN loss: the trainer says so
            return _command(args, comm)
    except (UsageError, DatasetError, CheckpointError) as err:  # a checkpoint's: at its resume
        if comm.size > 1:  # may be this rank's alone (a missing file): abort all
            raise UsageError(f"alexnet.py: error: {err}") from None
        print(f"alexnet.py: error: {err}", file=sys.stderr)
        return 2
    except TrainingDiverged as err:  # agreed on by every rank (the global loss)
        if comm.rank == 0:
            saved = getattr(err, "saved", None) or _last_checkpoint(args)
            print(f"alexnet.py: stopped: {err} {saved}", file=sys.stderr)
        return 1
    except (NoTrainingData, OSError) as err:  # no image readable; a disk full or read-only
        if comm.size > 1:
            raise
        print(f"alexnet.py: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        if comm.size > 1:
            raise
        print("\nalexnet.py: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print("\nalexnet.py: terminated (SIGTERM); nothing was written", file=sys.stderr)
        return 143


class Terminated(Exception):
    """SIGTERM arrived during a command without checkpoints (export, evaluation, prediction)."""


@contextlib.contextmanager
def _sigterm_raises():
    """SIGTERM raises ``Terminated`` (so files being written are cleaned up, and the command
    says so and exits 143) instead of ending the process on the spot."""

    def terminate(signum, frame):
        raise Terminated

    try:
        previous = signal.signal(signal.SIGTERM, terminate)
    except ValueError:  # not the main thread (a caller in Python): leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _command(args, comm) -> int:
    if args.export_onnx:
        from .weights import export_onnx

        if comm.rank != 0:
            return 0
        with _sigterm_raises():
            return export_onnx(args)
    if args.predict:
        from .use import run_prediction

        return run_prediction(args) if comm.rank == 0 else 0
    if args.evaluate:
        from .use import run_evaluation

        return run_evaluation(args, comm, on_skip=_skipping)
    from .fit import run_training

    return run_training(args, comm, on_skip=_skipping)


def _last_checkpoint(args) -> str:
    path = Path(args.output) / "checkpoint.npz"
    if path.exists():
        return f"{path} holds the run as it was at the end of its last complete epoch."
    return "No checkpoint was written: no epoch was complete."


def _skipping(path: str, reason: str) -> None:
    """One line per unreadable image (each is skipped once per run and counted per epoch)."""
    print(f"alexnet.py: skipping unreadable image {path} ({reason})", file=sys.stderr, flush=True)


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"alexnet.py: warning: {message}", file=sys.stderr, flush=True)


def _share_cores() -> None:
    """Several processes on one machine: give each its share of Numba's and BLAS's threads
    (``tinynet.perf.threads.share_cores`` decides; an explicit thread count wins)."""
    from ..perf.threads import share_cores

    blas_threads = share_cores(local_size())
    if blas_threads is None:
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # an optional nicety: without it BLAS keeps its threads
        return
    threadpool_limits(limits=blas_threads, user_api="blas")
