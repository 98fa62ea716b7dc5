"""The training command: epochs with progress bars, checkpoints, metrics and a clean stop.

In a multi-process (MPI) run every rank runs this same code on its share of the data; rank 0
alone prints and writes files, and a stop signal is acted on only when the ranks have agreed on
it (a small Allreduce after each step), so they all leave the loop after the same step.
"""
from __future__ import annotations

import shutil
import time

from .progress import EpochBar
from .report import plot_curves, write_metrics
from ..dist import LOCAL, dropped_per_epoch
from .session import Session
from .stop import Interrupted, StopRequests

EXIT_INTERRUPTED = {"SIGINT": 130, "SIGTERM": 143}


def _epoch_line(epoch, epochs, lr, train, val, seconds, skipped):
    line = (f"epoch {epoch}/{epochs}  lr {lr:.3g}  train loss {train.loss:.4f} "
            f"top-1 {train.acc1:.3f}  val loss {val.loss:.4f} top-1 {val.acc1:.3f} "
            f"top-5 {val.acc5:.3f}  {train.images_per_sec:.1f} img/s  {seconds:.0f}s")
    if skipped:
        line += f"  ({skipped} unreadable files skipped)"
    return line


def _agreed_check(stop, comm):
    """``stop.check`` for all ranks at once: Interrupted on every rank if any got a signal."""
    def check():
        name = comm.agree_signal(stop.signal_name)
        if name is not None:
            raise Interrupted(name)
    return stop.check if comm.size == 1 else check


def run_training(args, comm=LOCAL) -> int:
    s = Session(args, comm)
    t = s.trainer
    say = print if s.root else _silent
    if s.root:
        s.output.mkdir(parents=True, exist_ok=True)
    checkpoint, best = s.output / "checkpoint.npz", s.output / "best.npz"
    cfg = t.model.config
    say(f"AlexNet {cfg['num_classes']} classes, input {cfg['input_size']}, width {cfg['width']}, "
        f"groups {cfg['groups']}, lrn {cfg['lrn']}, init {cfg['init']}: "
        f"{t.model.num_parameters():,} parameters")
    say(f"data {s.data_dir}: {len(s.train_set)} train / {len(s.val_set)} val images, "
        f"batch {args.batch_size}, {args.workers} workers; output {s.output}")
    if comm.size > 1:
        dropped = dropped_per_epoch(len(s.train_set), args.batch_size, comm.size)
        say(f"data parallel: {comm.size} processes, {s.local_batch} images per process per "
            f"step" + (f"; {dropped} of the last partial batch left out each epoch"
                       if dropped else ""))
    if args.resume:
        say(f"resuming {args.resume} at epoch {t.epoch + 1}, step {t.step}, lr {t.optimizer.lr:g}"
            + (f", {s.skip} samples into the epoch" if s.skip else ""))
    if t.epoch >= args.epochs:
        say(f"nothing to do: the checkpoint has {t.epoch} epochs done, --epochs is {args.epochs}")
        return 0
    val_loader = s.val_loader(args.ten_crop)
    quiet = args.no_progress or not s.root
    with StopRequests() as stop:
        check = _agreed_check(stop, comm)
        try:
            while t.epoch < args.epochs:
                start = time.perf_counter()
                train_loader = s.train_loader(s.skip)
                done_before, step_before = s.skip, t.step
                with EpochBar(len(train_loader), f"epoch {t.epoch + 1} train", quiet,
                              check) as bar:
                    try:
                        train = t.train_epoch(train_loader, on_batch=bar.update)
                    except Interrupted:
                        done = done_before + (t.step - step_before) * args.batch_size
                        t.save(checkpoint, extra=s.extra(samples_done=min(done, len(s.train_set))))
                        raise
                    finally:
                        train_loader.close()
                s.skip = 0
                with EpochBar(len(val_loader), f"epoch {t.epoch + 1} val", quiet) as bar:
                    val = t.evaluate(val_loader, on_batch=bar.update)
                skipped = int(comm.sum([train_loader.skipped + val_loader.skipped])[0])
                lr = t.optimizer.lr
                is_best = t.finish_epoch(train, val)
                t.save(checkpoint, extra=s.extra())
                if s.root:
                    if is_best:
                        shutil.copyfile(checkpoint, best.with_suffix(".npz.tmp"))
                        best.with_suffix(".npz.tmp").replace(best)
                    write_metrics(s.output / "metrics.csv", t.history)
                    plot_curves(s.output / "curves.png", t.history)
                say(_epoch_line(t.epoch, args.epochs, lr, train, val,
                                time.perf_counter() - start, skipped), flush=True)
                check()
        except Interrupted as why:
            launch = f"mpirun -n {comm.size} " if comm.size > 1 else ""
            say(f"\n{why} received: saved {checkpoint} at epoch {t.epoch + 1}, step {t.step}. "
                f"Resume with: {launch}python examples/alexnet.py "
                f"{'--demo' if args.demo else '--data ' + str(args.data)} "
                f"--output {args.output} --resume {checkpoint}")
            return EXIT_INTERRUPTED.get(str(why), 1)
        finally:
            val_loader.close()
    say(f"done: {t.epoch} epochs, best val top-1 {t.best_acc1:.3f}, best top-5 "
        f"{t.best_acc5:.3f}; checkpoints in {s.output} (checkpoint.npz, best.npz), "
        f"metrics in {s.output / 'metrics.csv'}")
    return 0


def _silent(*args, **kwargs):
    pass
