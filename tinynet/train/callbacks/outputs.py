"""Files a training run leaves beside its checkpoint: best.npz, metrics.csv, curves.png."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ...files import atomic_write
from .base import Callback

COLUMNS = (
    "epoch", "lr", "train_loss", "train_top1", "val_loss", "val_top1", "val_top5",
    "seconds", "images_per_sec", "data_wait_share",
)  # fmt: skip


class KeepBest(Callback):
    """Save the trainer to ``path`` whenever validation top-1 is a new best.

    ``Trainer.fit`` runs ``on_epoch_end`` before it saves the epoch's checkpoint, so a crash
    between the two saves resumes from the previous checkpoint and redoes the epoch: best.npz
    is never older than the best score the checkpoint remembers.
    """

    def __init__(self, path):
        self.path = Path(path)

    def on_epoch_end(self, trainer, record):
        if record.get("is_best"):
            trainer.save(self.path)


class MetricsCSV(Callback):
    """Rewrite ``path`` after every epoch: one row per epoch with ``COLUMNS`` (empty if unknown).

    ``data_wait_share`` is the share (0..1) of the epoch's training seconds spent waiting for
    batches (the record's ``data_seconds / seconds``).
    """

    def __init__(self, path):
        self.path = Path(path)

    def on_epoch_end(self, trainer, record):
        buf = io.StringIO()
        writer = csv.DictWriter(buf, COLUMNS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in trainer.history:
            row = dict(row)
            if row.get("seconds") and "data_seconds" in row:
                row["data_wait_share"] = min(row["data_seconds"] / row["seconds"], 1.0)
            writer.writerow({k: f"{v:.6g}" if isinstance(v, float) else v for k, v in row.items()})
        atomic_write(self.path, lambda f: f.write(buf.getvalue().encode()))


class Curves(Callback):
    """Plot loss and top-1 per epoch into ``path`` (PNG) after every epoch, if matplotlib is
    installed (``available`` says whether it is; without it nothing is written)."""

    def __init__(self, path):
        self.path = Path(path)
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            plt = None
        self.plt = plt

    @property
    def available(self) -> bool:
        return self.plt is not None

    def on_epoch_end(self, trainer, record):
        if self.plt is None:
            return
        fig = plot_history(self.plt, trainer.history)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=100)
        self.plt.close(fig)
        atomic_write(self.path, lambda f: f.write(buf.getvalue()))


def plot_history(plt, history: list[dict]):
    """A figure of loss (left) and accuracy (right) per epoch from ``Trainer.history``."""
    epochs = [r["epoch"] for r in history]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    ax_loss.plot(epochs, [r["train_loss"] for r in history], "o-", label="train")
    if all("val_loss" in r for r in history):
        ax_loss.plot(epochs, [r["val_loss"] for r in history], "o-", label="val")
        ax_acc.plot(epochs, [r["val_top1"] for r in history], "o-", label="val top-1")
        ax_acc.plot(epochs, [r["val_top5"] for r in history], "o-", label="val top-5")
    ax_acc.plot(epochs, [r["train_top1"] for r in history], "o-", label="train top-1")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy", ylim=(0, 1))
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return fig
