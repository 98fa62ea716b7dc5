"""The training command: epochs with progress bars, checkpoints, metrics and a clean stop."""
from __future__ import annotations

import shutil
import time

from .progress import EpochBar
from .report import plot_curves, write_metrics
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


def run_training(args) -> int:
    s = Session(args)
    t = s.trainer
    s.output.mkdir(parents=True, exist_ok=True)
    checkpoint, best = s.output / "checkpoint.npz", s.output / "best.npz"
    cfg = t.model.config
    print(f"AlexNet {cfg['num_classes']} classes, input {cfg['input_size']}, width {cfg['width']}, "
          f"groups {cfg['groups']}, lrn {cfg['lrn']}, init {cfg['init']}: "
          f"{t.model.num_parameters():,} parameters")
    print(f"data {s.data_dir}: {len(s.train_set)} train / {len(s.val_set)} val images, "
          f"batch {args.batch_size}, {args.workers} workers; output {s.output}")
    if args.resume:
        print(f"resuming {args.resume} at epoch {t.epoch + 1}, step {t.step}, lr {t.optimizer.lr:g}"
              + (f", {s.skip} samples into the epoch" if s.skip else ""))
    if t.epoch >= args.epochs:
        print(f"nothing to do: the checkpoint has {t.epoch} epochs done, --epochs is {args.epochs}")
        return 0
    val_loader = s.val_loader(args.ten_crop)
    quiet = args.no_progress
    with StopRequests() as stop:
        try:
            while t.epoch < args.epochs:
                start = time.perf_counter()
                train_loader = s.train_loader(s.skip)
                done_before = s.skip
                with EpochBar(len(train_loader), f"epoch {t.epoch + 1} train", quiet,
                              stop.check) as bar:
                    try:
                        train = t.train_epoch(train_loader, on_batch=bar.update)
                    except Interrupted:
                        done = done_before + bar.bar.n * args.batch_size
                        t.save(checkpoint, extra=s.extra(samples_done=min(done, len(s.train_set))))
                        raise
                    finally:
                        train_loader.close()
                s.skip = 0
                with EpochBar(len(val_loader), f"epoch {t.epoch + 1} val", quiet) as bar:
                    val = t.evaluate(val_loader, on_batch=bar.update)
                skipped = train_loader.skipped + val_loader.skipped
                lr = t.optimizer.lr
                is_best = t.finish_epoch(train, val)
                t.save(checkpoint, extra=s.extra())
                if is_best:
                    shutil.copyfile(checkpoint, best.with_suffix(".npz.tmp"))
                    best.with_suffix(".npz.tmp").replace(best)
                write_metrics(s.output / "metrics.csv", t.history)
                plot_curves(s.output / "curves.png", t.history)
                print(_epoch_line(t.epoch, args.epochs, lr, train, val,
                                  time.perf_counter() - start, skipped), flush=True)
                stop.check()
        except Interrupted as why:
            print(f"\n{why} received: saved {checkpoint} at epoch {t.epoch + 1}, step {t.step}. "
                  f"Resume with: python examples/alexnet.py "
                  f"{'--demo' if args.demo else '--data ' + str(args.data)} "
                  f"--output {args.output} --resume {checkpoint}")
            return EXIT_INTERRUPTED.get(str(why), 1)
        finally:
            val_loader.close()
    print(f"done: {t.epoch} epochs, best val top-1 {t.best_acc1:.3f}, best top-5 "
          f"{t.best_acc5:.3f}; checkpoints in {s.output} (checkpoint.npz, best.npz), "
          f"metrics in {s.output / 'metrics.csv'}")
    return 0
