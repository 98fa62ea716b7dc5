"""What a person watching training sees: a progress bar per pass, a line per epoch."""

from __future__ import annotations

import time

from tqdm import tqdm

from .base import Callback


class ProgressBar(Callback):
    """A tqdm bar over each training and validation pass: loss, top-1, images/s, ETA.

    With ``disable=None`` (the default) there is no bar when the output is not a terminal.
    """

    def __init__(self, disable: bool | None = None):
        self.disable = disable
        self.bar = None
        self.start = 0.0

    def on_pass_begin(self, trainer, phase, total):
        self.bar = tqdm(
            total=total,
            desc=f"epoch {trainer.epoch + 1} {phase}",
            unit="batch",
            leave=False,
            disable=self.disable,
            dynamic_ncols=True,
        )
        self.start = time.perf_counter()

    def on_batch_end(self, trainer, phase, meter):
        rate = meter.images / max(time.perf_counter() - self.start, 1e-9)
        postfix = dict(loss=f"{meter.loss:.4f}", top1=f"{meter.acc1:.3f}", img_s=f"{rate:.1f}")
        self.bar.set_postfix(postfix, refresh=False)
        self.bar.update(1)

    def on_pass_end(self, trainer, phase, stats):
        self.on_fit_end(trainer)

    def on_fit_end(self, trainer):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class PrintEvery(Callback):
    """A text line every ``n`` training steps, for logs (pytorch/examples' ``--print-freq``):
    ``epoch [3][ 40/169]  time 12.1s  loss 1.2345  Acc@1 56.25  Acc@5 90.62  801.3 img/s``."""

    def __init__(self, n: int = 10, print_fn=print):
        self.n, self.print = n, print_fn
        self.total, self.start, self.done = None, 0.0, 0

    def on_pass_begin(self, trainer, phase, total):
        self.total, self.start, self.done = total, time.perf_counter(), trainer.epoch_step

    def on_batch_end(self, trainer, phase, meter):
        if phase != "train" or trainer.epoch_step % self.n:
            return
        elapsed = time.perf_counter() - self.start
        total = "?" if self.total is None else self.done + self.total
        width = len(str(total))
        self.print(
            f"epoch [{trainer.epoch + 1}][{trainer.epoch_step:>{width}}/{total}]  "
            f"time {elapsed:.1f}s  loss {meter.loss:.4f}  Acc@1 {100 * meter.acc1:.2f}  "
            f"Acc@5 {100 * meter.acc5:.2f}  {meter.images / max(elapsed, 1e-9):.1f} img/s",
            flush=True,
        )


class EpochLog(Callback):
    """Print one line per epoch: lr, training and validation figures, speed, wall time."""

    def __init__(self, print_fn=print):
        self.print = print_fn
        self.start = 0.0

    def on_epoch_begin(self, trainer):
        self.start = time.perf_counter()

    def on_epoch_end(self, trainer, record):
        line = (
            f"epoch {record['epoch']}/{trainer.epochs}  lr {record['lr']:.3g}  "
            f"train loss {record['train_loss']:.4f} Acc@1 {100 * record['train_top1']:.1f}  "
        )
        if "val_loss" in record:
            line += (
                f"val loss {record['val_loss']:.4f} Acc@1 {100 * record['val_top1']:.1f} "
                f"Acc@5 {100 * record['val_top5']:.1f}  "
            )
        line += f"{record['images_per_sec']:.1f} img/s  {time.perf_counter() - self.start:.0f}s"
        if record.get("skipped"):
            line += f"  ({record['skipped']} unreadable files skipped)"
        self.print(line, flush=True)
