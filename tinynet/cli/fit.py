"""The training command: the trainer's loop with the command line's callbacks around it.

In a multi-process (MPI) run every rank runs this same code on its share of the data; rank 0
alone prints and writes files (the trainer runs the other callbacks on rank 0 only).
"""

from __future__ import annotations

from ..dist import LOCAL, dropped_per_epoch
from ..train import Curves, EpochLog, KeepBest, MetricsCSV, ProgressBar, StopOnSignal
from .session import Session

EXIT_INTERRUPTED = {"SIGINT": 130, "SIGTERM": 143}


def _describe(s: Session, say) -> None:
    t, args, cfg = s.trainer, s.args, s.trainer.model.config
    say(
        f"AlexNet {cfg['num_classes']} classes, input {cfg['input_size']}, width {cfg['width']}, "
        f"groups {cfg['groups']}, lrn {cfg['lrn']}, init {cfg['init']}: "
        f"{t.model.num_parameters():,} parameters"
    )
    say(
        f"data {s.data_dir}: {len(s.train_set)} train / {len(s.val_set)} val images, "
        f"batch {args.batch_size}, {args.workers} workers; output {s.output}"
    )
    if s.comm.size > 1:
        dropped = dropped_per_epoch(len(s.train_set), args.batch_size, s.comm.size)
        left_out = f"; {dropped} of the last partial batch left out each epoch" if dropped else ""
        say(
            f"data parallel: {s.comm.size} processes, {s.local_batch} images per process per "
            f"step{left_out}"
        )
    if args.resume:
        into = f", {t.epoch_step} steps into the epoch" if t.epoch_step else ""
        where = f"epoch {t.epoch + 1}, step {t.step}, lr {t.optimizer.lr:g}{into}"
        say(f"resuming {args.resume} at {where}")


def run_training(args, comm=LOCAL) -> int:
    s = Session(args, comm)
    t = s.trainer
    say = print if s.root else _silent
    if s.root:
        s.output.mkdir(parents=True, exist_ok=True)
    _describe(s, say)
    if t.epoch >= args.epochs:
        say(f"nothing to do: the checkpoint has {t.epoch} epochs done, --epochs is {args.epochs}")
        return 0
    checkpoint = s.output / "checkpoint.npz"
    callbacks = [
        StopOnSignal(),
        ProgressBar(disable=True if args.no_progress else None),
        EpochLog(),
        KeepBest(s.output / "best.npz"),
        MetricsCSV(s.output / "metrics.csv"),
        Curves(s.output / "curves.png"),
    ]
    with s.train_loader() as train, s.val_loader(args.ten_crop) as val:
        t.fit(train, val, epochs=args.epochs, checkpoint=checkpoint, callbacks=callbacks)
    if t.stopped:
        launch = f"mpirun -n {comm.size} " if comm.size > 1 else ""
        data = "--demo" if args.demo else f"--data {args.data}"
        say(
            f"\n{t.stopped} received: saved {checkpoint} at epoch {t.epoch + 1}, step {t.step}. "
            f"Resume with: {launch}python examples/alexnet.py {data} "
            f"--output {args.output} --resume {checkpoint}"
        )
        return EXIT_INTERRUPTED.get(t.stopped, 1)
    say(
        f"done: {t.epoch} epochs, best val top-1 {t.best_acc1:.3f}, best top-5 "
        f"{t.best_acc5:.3f}; checkpoints in {s.output} (checkpoint.npz, best.npz), "
        f"metrics in {s.output / 'metrics.csv'}"
    )
    return 0


def _silent(*args, **kwargs):
    pass
