"""The training command: the trainer's loop with the command line's callbacks around it.

In a multi-process (MPI) run every rank runs this same code on its share of the data; rank 0
alone prints and writes files (the trainer runs the other callbacks on rank 0 only).
"""

from __future__ import annotations

import shlex
import sys
from contextlib import nullcontext

from ..dist import LOCAL, dropped_per_epoch
from ..kernels import cache_is_warm
from ..train import (
    Curves,
    EpochLog,
    KeepBest,
    MetricsCSV,
    PrintEvery,
    ProgressBar,
    StopOnSignal,
    TrainingDiverged,
)  # fmt: skip
from .run_folder import FolderLock, ReplaceOldRun
from .session import Session

EXIT_INTERRUPTED = {"SIGINT": 130, "SIGTERM": 143}


def _describe(s: Session, say) -> None:
    t, run, cfg = s.trainer, s.config, s.trainer.model.config
    shape = ", ".join(f"{k} {cfg[k]}" for k in ("width", "groups", "lrn", "init") if k in cfg)
    origin = f"from {run.weights}" if run.weights else f"({run.arch})"
    say(
        f"AlexNet {origin} {cfg['num_classes']} classes, input {s.image_size}"
        f"{', ' + shape if shape else ''}: {t.model.num_parameters():,} parameters"
    )
    say(
        f"data {s.data_dir or 'synthetic (--dummy)'}: {len(s.train_set)} train / "
        f"{len(s.val_set)} val images, "
        f"batch {run.batch_size}, {s.args.workers} workers; output {s.output}"
    )
    if s.comm.size > 1:
        dropped = dropped_per_epoch(len(s.train_set), run.batch_size, s.comm.size)
        left_out = f"; {dropped} of the last partial batch left out each epoch" if dropped else ""
        say(
            f"data parallel: {s.comm.size} processes, {s.local_batch} images per process per "
            f"step{left_out}"
        )
    if s.args.resume:
        into = f", {t.epoch_step} steps into the epoch" if t.epoch_step else ""
        where = f"epoch {t.epoch + 1}, step {t.step}, lr {t.optimizer.lr:g}{into}"
        say(f"resuming {s.args.resume} at {where}")
    for note in s.notes:
        say(f"  changed: {note}" if s.args.resume else f"  {note}")


def _callbacks(s: Session, curves: Curves) -> list:
    args, out = s.args, s.output
    terminal = sys.stderr.isatty() and not args.no_progress
    shown = [ProgressBar()] if terminal else [PrintEvery(args.print_freq)] * bool(args.print_freq)
    files = [KeepBest(out / "best.npz"), MetricsCSV(out / "metrics.csv"), curves]
    return [StopOnSignal(), *s.replace_old, *shown, EpochLog(), *files]


def run_training(args, comm=LOCAL, on_skip=None) -> int:
    s = Session(args, comm, on_skip)
    # rank 0 writes the files: it holds the folder (a second run there is refused) and looks
    # at the folder again under the lock (a run may have written there since the first look)
    with FolderLock(s.output, "training") if s.root else nullcontext():
        replacing = s.check_folder(held=True)
        # the old run's files (--overwrite) go when the first of the new run's is written
        s.replace_old = [ReplaceOldRun(s.output, replacing)] if replacing else []
        try:
            return _train(s, args, comm)
        except TrainingDiverged as err:
            if s.replace_old and s.replace_old[0].old:  # the new run wrote nothing
                err.saved = (
                    f"No checkpoint was written: no epoch was complete; the old run's files in "
                    f"{s.output} are as they were."
                )
            raise


def _train(s: Session, args, comm) -> int:
    t, epochs = s.trainer, s.config.epochs
    say = print if s.root else _silent
    _describe(s, say)
    if t.epoch >= epochs:
        say(f"nothing to do: the checkpoint has {_epochs(t.epoch)} done, --epochs is {epochs}")
        return 0
    curves = Curves(s.output / "curves.png")
    if not curves.available:
        say('curves.png will not be drawn: matplotlib is not installed (pip install -e ".[plot]")')
    if not cache_is_warm():
        say("compiling the kernels (first run only, about 15 s)", flush=True)
    checkpoint = s.output / "checkpoint.npz"
    with s.train_loader() as train, s.val_loader(args.ten_crop) as val:
        t.fit(train, val, epochs, checkpoint=checkpoint, callbacks=_callbacks(s, curves))
    if t.stopped:
        launch = f"mpirun -n {comm.size} " if comm.size > 1 else ""
        say(
            f"\n{t.stopped} received: saved {checkpoint} at epoch {t.epoch + 1}, step {t.step}. "
            f"Resume with: {launch}python examples/alexnet.py {s.data_command()} "
            f"--output {shlex.quote(str(args.output))} --resume {shlex.quote(str(checkpoint))}"
        )
        return EXIT_INTERRUPTED.get(t.stopped, 1)
    written = [name for name in ("checkpoint.npz", "best.npz") if (s.output / name).exists()]
    drawn = f", curves in {s.output / 'curves.png'}" if curves.available else ""
    say(
        f"done: {_epochs(t.epoch)}, best val Acc@1 {100 * t.best_acc1:.1f}, best Acc@5 "
        f"{100 * t.best_acc5:.1f}; checkpoints in {s.output} ({', '.join(written)}), "
        f"metrics in {s.output / 'metrics.csv'}{drawn}"
    )
    return 0


def _epochs(n: int) -> str:
    return f"{n} epoch" + ("" if n == 1 else "s")


def _silent(*args, **kwargs):
    pass
