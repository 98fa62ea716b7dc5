"""What a person watching training sees: a progress bar per pass, a line per epoch."""

from __future__ import annotations

import os
import sys
import time

from tqdm import tqdm

from .base import Callback


class ProgressBar(Callback):
    """A tqdm bar over each training and validation pass: loss, top-1, images/s, ETA, and in
    training the average seconds a step waited for its batch (``data``).

    With ``disable=None`` (the default) there is no bar when the output is not a terminal. A
    terminal that reports no size (0 columns or rows: ``script`` without one) gets a bar
    ``FALLBACK_COLUMNS`` wide (``bar_size``), not none.
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
            **bar_size(),
        )
        self.start = time.perf_counter()

    def on_batch_end(self, trainer, phase, meter):
        rate = meter.images / max(time.perf_counter() - self.start, 1e-9)
        postfix = dict(loss=f"{meter.loss:.4f}", top1=f"{meter.acc1:.3f}", img_s=f"{rate:.1f}")
        if phase == "train":  # the average wait for a batch (evaluation does not measure it)
            postfix["data"] = f"{meter.data_seconds / max(trainer.epoch_step, 1):.3f}s"
        self.bar.set_postfix(postfix, refresh=False)
        self.bar.update(1)

    def on_pass_end(self, trainer, phase, stats):
        self.on_fit_end(trainer)

    def on_fit_end(self, trainer):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


#: The width of a progress bar on a terminal that reports 0 columns.
FALLBACK_COLUMNS = 80


def bar_size(file=None) -> dict:
    """tqdm's size arguments for a bar on ``file`` (default ``sys.stderr``, where tqdm writes):
    following the terminal's width (``dynamic_ncols``), or, when the terminal reports 0 columns
    or rows, ``FALLBACK_COLUMNS`` wide. (tqdm takes a reported 0 x 0 for -1 x -1 and then
    draws nothing at all.)"""
    file = sys.stderr if file is None else file
    try:
        columns, rows = os.get_terminal_size(file.fileno())
    except (AttributeError, ValueError, OSError):  # not a terminal (or no file): tqdm decides
        return dict(dynamic_ncols=True)
    if columns > 0 and rows > 0:
        return dict(dynamic_ncols=True)
    return dict(ncols=columns if columns > 0 else FALLBACK_COLUMNS, nrows=rows if rows > 0 else 24)


class PrintEvery(Callback):
    """A text line every ``n`` training steps, for logs (pytorch/examples' ``--print-freq``):
    ``epoch [3][ 40/169]  time 0.512 s  data 0.031 s  loss 1.2345  Acc@1 56.25  Acc@5 90.62
    801.3 img/s`` (one line). ``time`` is the average wall time of a step so far this epoch,
    waiting for its batch included; ``data`` the average part of it spent waiting for the batch.
    """

    def __init__(self, n: int = 10, print_fn=print):
        self.n, self.print = n, print_fn
        self.total, self.done = None, 0

    def on_pass_begin(self, trainer, phase, total):
        self.total, self.done = total, trainer.epoch_step

    def on_batch_end(self, trainer, phase, meter):
        if phase != "train" or trainer.epoch_step % self.n:
            return
        steps = max(trainer.epoch_step, 1)  # the meter's sums cover a resumed epoch's start too
        total = "?" if self.total is None else self.done + self.total
        width = len(str(total))
        self.print(
            f"epoch [{trainer.epoch + 1}][{trainer.epoch_step:>{width}}/{total}]  "
            f"time {meter.seconds / steps:.3f} s  data {meter.data_seconds / steps:.3f} s  "
            f"loss {meter.loss:.4f}  Acc@1 {100 * meter.acc1:.2f}  Acc@5 {100 * meter.acc5:.2f}  "
            f"{meter.images / max(meter.seconds, 1e-9):.1f} img/s",
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
        notice = data_wait_notice(record)
        if notice:
            self.print(notice, flush=True)


#: Above this share of an epoch's training time spent waiting for batches, ``EpochLog`` says so.
DATA_WAIT_LIMIT = 0.1


def data_wait_notice(record: dict) -> str | None:
    """One line when the epoch ``record`` waited for data more than ``DATA_WAIT_LIMIT`` of its
    training time, with what to do about it; None otherwise."""
    seconds, waited = record.get("seconds") or 0.0, record.get("data_seconds") or 0.0
    if seconds <= 0 or waited <= DATA_WAIT_LIMIT * seconds:
        return None
    return (
        f"  waiting for data took {100 * waited / seconds:.0f}% of epoch {record['epoch']}'s "
        f"training time ({waited:.1f} of {seconds:.1f} s): reading and decoding images is "
        "holding training back; use more loader workers (-j N) if cores are free, fewer or "
        "cheaper augmentations, or faster storage"
    )
