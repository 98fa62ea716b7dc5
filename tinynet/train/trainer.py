"""The training loop: epochs of forward, loss, backward and update, with callbacks around it."""

from __future__ import annotations

import time
from pathlib import Path

from ..dist import LOCAL, GradientSync
from ..layers import SoftmaxCrossEntropy
from ..optim import SGD, ReduceLROnPlateau
from .callbacks import DivergenceCheck, StallWarning
from .evaluation import evaluate
from .metrics import Meter
from .resume import SCHEDULES, TrainerState


class NoTrainingData(RuntimeError):
    """A whole training pass read no image at all (every file unreadable)."""


class Trainer(TrainerState):
    """Trains ``model`` with ``optimizer`` (and an optional ``schedule``) through ``fit``.

    ``schedule`` is a ``ReduceLROnPlateau`` (stepped with the validation top-1 error), a
    ``StepLR`` or None. ``epoch`` counts completed epochs, ``step`` optimizer steps,
    ``epoch_step`` the steps of an unfinished epoch. ``callbacks`` always holds the divergence
    check and the stall warning; ``fit`` adds its own. ``save``/``restore``/``load`` (from
    ``TrainerState``) write and read checkpoints that resume exactly, mid-epoch included.

    Data parallel: with a multi-process ``comm`` (``tinynet.dist.world()`` under mpirun) every
    rank holds a replica; rank 0's weights and momenta are broadcast at construction and after
    ``restore``, gradients are averaged over the ranks every step, evaluation figures are
    summed, each rank's random layers draw their own numbers (from [seed, layer, rank, step]),
    and only rank 0 runs the callbacks that are not ``every_rank`` and writes checkpoints. Feed
    each rank its own share of every global batch (``tinynet.dist.train_shard``).
    """

    def __init__(self, model, optimizer, schedule=None, *, comm=None, stall_patience=300):
        if schedule is not None and not isinstance(schedule, tuple(SCHEDULES.values())):
            raise ValueError(f"Trainer: unknown schedule type {type(schedule).__name__}")
        self.model, self.optimizer, self.schedule = model, optimizer, schedule
        self.comm = LOCAL if comm is None else comm
        self.sync = None
        if self.comm.size > 1:
            self.sync = GradientSync(model.named_parameters(), self.comm)
        self.loss_fn = SoftmaxCrossEntropy()
        self.callbacks = [DivergenceCheck(), StallWarning(stall_patience)]
        self.epoch = self.step = self.epoch_step = 0
        self.epochs = 0
        self.best_acc1 = self.best_acc5 = 0.0
        self.history: list[dict] = []
        self.extra: dict = {}  # the application's own entries, saved in checkpoints
        trained = set(getattr(optimizer, "param_names", ()))
        self.frozen = [n for n, _, _ in model.named_parameters() if trained and n not in trained]
        self.num_classes = self.last_loss = None
        self.checkpoint_path: Path | None = None
        self.stop_requested: str | None = None  # set (by StopOnSignal) to stop after this step
        self.stopped: str | None = None  # why the last fit ended early, or None
        self._active = ()
        self._resume_meter: Meter | None = None
        self._callback_state: dict = {}
        self.share_replicas()

    @classmethod
    def for_model(
        cls, model, *, lr=0.01, momentum=0.9, weight_decay=5e-4, schedule="plateau", patience=2,
        step_size=30, frozen=(), **kwargs,
    ) -> Trainer:  # fmt: skip
        """A trainer with the paper's SGD and the named schedule ("plateau", "step" or None);
        the parameters named in ``frozen`` are left out of the optimizer (they never change)."""
        frozen = set(frozen)
        trained = [p for p in model.named_parameters() if p[0] not in frozen]
        optimizer = SGD(trained, lr=lr, momentum=momentum, weight_decay=weight_decay)
        options = {
            "plateau": dict(factor=0.1, patience=patience),
            "step": dict(step_size=step_size),
        }
        if schedule is not None and schedule not in SCHEDULES:
            raise ValueError(
                f"Trainer: schedule must be 'plateau', 'step' or None, got {schedule!r}"
            )
        sched = SCHEDULES[schedule](optimizer, **options[schedule]) if schedule else None
        return cls(model, optimizer, sched, **kwargs)

    # -- the loop -------------------------------------------------------------------------------
    def fit(self, train_batches, val_batches=None, epochs=1, checkpoint=None, callbacks=()):
        """Train until ``epochs`` epochs are complete (or a stop is requested); returns ``history``.

        ``train_batches``/``val_batches`` are iterables of (images, labels); with a
        ``set_epoch(epoch, start=0)`` method they are told each epoch (and where an interrupted
        epoch resumes). ``checkpoint`` is saved after every epoch and when a stop is requested.
        """
        self.epochs, self.stopped = int(epochs), None
        self.checkpoint_path = Path(checkpoint) if checkpoint is not None else None
        self._active = self.callbacks + list(callbacks)
        self._load_callback_state()
        self._call("on_fit_begin")
        try:
            while self.epoch < self.epochs and not self._stop_agreed():
                self._run_epoch(train_batches, val_batches)
        finally:
            self._call("on_fit_end")
            self._active = ()
        return self.history

    def _run_epoch(self, train_batches, val_batches) -> None:
        self._call("on_epoch_begin")
        train = self._train_pass(train_batches)
        if train is None:  # stopped mid-epoch; the checkpoint holds the position
            return
        val = self.evaluate(val_batches) if val_batches is not None else None
        record = self.finish_epoch(train, val, skipped=self._skipped(train_batches, val_batches))
        # Callbacks first (best.npz, metrics.csv), then the checkpoint: a crash between the two
        # resumes from the previous checkpoint and redoes this epoch, so nothing is lost.
        self._call("on_epoch_end", record)
        if self.checkpoint_path is not None:
            self.save(self.checkpoint_path)

    def _train_pass(self, batches):
        start = self.epoch_step
        _set_epoch(batches, self.epoch, start)
        total = len(batches) - start if hasattr(batches, "__len__") else None
        meter, self._resume_meter = self._resume_meter or Meter(), None
        self.model.train()
        self._call("on_pass_begin", "train", total)
        began = time.perf_counter() - meter.seconds
        for images, labels in batches:
            self._train_step(images, labels, meter)
            meter.seconds = time.perf_counter() - began
            if self._stop_agreed():
                self._interrupted(meter)
                return None
        self.epoch_step = 0
        stats = meter.total(self.comm)
        if stats.images == 0:
            raise NoTrainingData(
                f"epoch {self.epoch + 1}: not one training image could be read "
                f"({self._skipped(batches)} files skipped); nothing was learned"
            )
        self._call("on_pass_end", "train", stats)
        return stats

    def _train_step(self, images, labels, meter: Meter) -> None:
        """Forward, loss, backward, (gradient averaging), update: the paper's one step.

        A batch may be empty (all its files unreadable, one rank of a multi-process run): it
        contributes nothing, and the update uses the other ranks' samples (none: no update).
        """
        count = len(labels)
        local_loss = 0.0
        if count:
            scores = self.model.forward(images)
            local_loss = self.loss_fn.forward(scores, labels)
            self.model.backward(self.loss_fn.backward())
            self.num_classes = scores.shape[1]
        else:
            for grad in self.model.grads.values():
                grad[...] = 0
        loss, total = local_loss, count
        if self.sync is not None:
            loss, total = self.sync.average(local_loss, count)
        self.last_loss = loss
        if total:
            self._call("on_backward", loss)
            self.optimizer.step()
        self.step += 1
        self.epoch_step += 1
        if count:
            meter.update(local_loss, scores, labels)
        self._call("on_batch_end", "train", meter)

    def evaluate(self, batches):
        """Loss and top-1/top-5 of ``batches`` in eval mode (``tinynet.train.evaluate``)."""
        self._call("on_pass_begin", "val", len(batches) if hasattr(batches, "__len__") else None)
        stats = evaluate(
            self.model, batches, comm=self.comm,
            on_batch=lambda meter: self._call("on_batch_end", "val", meter),
        )  # fmt: skip
        self._call("on_pass_end", "val", stats)
        return stats

    def finish_epoch(self, train, val=None, skipped=0) -> dict:
        """Record the epoch, step the schedule, update the best accuracy; returns the record."""
        record = {
            "epoch": self.epoch + 1, "lr": self.optimizer.lr, "train_loss": train.loss,
            "train_top1": train.acc1, "seconds": train.seconds,
            "images_per_sec": train.images_per_sec, "skipped": skipped, "is_best": False,
        }  # fmt: skip
        if val is not None:
            record.update(val_loss=val.loss, val_top1=val.acc1, val_top5=val.acc5)
            first = not any("val_top1" in r for r in self.history)
            record["is_best"] = bool(first or val.acc1 > self.best_acc1)
            if record["is_best"]:
                self.best_acc1 = val.acc1
            self.best_acc5 = max(self.best_acc5, val.acc5)
        if isinstance(self.schedule, ReduceLROnPlateau):
            if val is not None:
                self.schedule.step(val.top1_error)
        elif self.schedule is not None:
            self.schedule.step()
        self.epoch += 1
        self.history.append(record)
        return record

    # -- helpers --------------------------------------------------------------------------------
    def _call(self, hook: str, *args) -> None:
        root = self.comm.rank == 0
        for callback in self._active:
            if root or callback.every_rank:
                getattr(callback, hook)(self, *args)

    def _stop_agreed(self) -> bool:
        """True on every rank once any rank was asked to stop (one small collective per step)."""
        reason = self.stop_requested
        if self.comm.size > 1:
            reason = self.comm.agree_signal(reason)
        self.stopped = reason
        return reason is not None

    def _interrupted(self, meter: Meter) -> None:
        if self.checkpoint_path is not None:
            self.save(self.checkpoint_path, epoch_meter=meter)

    def _skipped(self, *sources) -> int:
        """Unreadable files the data sources skipped this epoch, summed over the ranks."""
        local = sum(getattr(source, "skipped", 0) for source in sources if source is not None)
        return int(self.comm.sum([local])[0])


def _set_epoch(batches, epoch: int, start: int) -> None:
    if hasattr(batches, "set_epoch"):
        if start:
            batches.set_epoch(epoch, start=start)
        else:
            batches.set_epoch(epoch)
    elif start:
        raise ValueError(
            f"Trainer: resuming at step {start} of epoch {epoch + 1} needs batches with "
            "set_epoch(epoch, start=...) (DataLoader, ArrayBatches)"
        )
