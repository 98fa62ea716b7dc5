"""The training algorithm around a model: epochs, schedule, best model, checkpoints, exact resume."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..checkpoint import CheckpointError, check_state_matches, load_checkpoint, save_checkpoint
from ..dist import LOCAL, GradientSync
from ..layers import Dropout, SoftmaxCrossEntropy
from ..models import alexnet_from_config
from ..optim import SGD, ReduceLROnPlateau, StepLR
from .loop import PlateauWatch, evaluate, train_epoch

SCHEDULES = {"plateau": ReduceLROnPlateau, "step": StepLR}


def _schedule_kind(schedule) -> str | None:
    for kind, cls in SCHEDULES.items():
        if isinstance(schedule, cls):
            return kind
    if schedule is None:
        return None
    raise ValueError(f"Trainer: unknown schedule type {type(schedule).__name__}")


class Trainer:
    """Runs epochs of ``train_epoch``/``evaluate`` and keeps what a resume needs.

    ``model`` must carry a ``config`` (as ``tinynet.models.alexnet`` models do) for ``save``/
    ``load`` to rebuild it. ``schedule`` is a ``ReduceLROnPlateau`` (stepped with the validation
    top-1 error), a ``StepLR`` or None. ``epoch`` counts completed epochs, ``step`` optimizer steps.

    Data parallel: with a multi-process ``comm`` (``tinynet.dist.world()`` under mpirun) every
    rank holds a replica; rank 0's weights and momenta are broadcast at construction and after
    ``restore``, gradients are averaged over the ranks every step, evaluation figures are summed,
    each rank's dropout draws its own masks (from [seed, layer, rank, step]), and only rank 0
    writes checkpoints. Feed each rank its own share of every global batch (``tinynet.dist.shard``).
    """

    def __init__(self, model, optimizer, schedule=None, *, num_classes=None, plateau_patience=300,
                 comm=None):
        self.model, self.optimizer, self.schedule = model, optimizer, schedule
        self.comm = LOCAL if comm is None else comm
        self.sync = GradientSync(model.named_parameters(), self.comm) if self.comm.size > 1 \
            else None
        self.schedule_kind = _schedule_kind(schedule)
        self.loss_fn = SoftmaxCrossEntropy()
        if num_classes is None:
            num_classes = getattr(model, "config", {}).get("num_classes", 2)
        self.num_classes = int(num_classes)
        self.watch = PlateauWatch(self.num_classes, plateau_patience)
        self.epoch = 0
        self.step = 0
        self.best_acc1 = 0.0
        self.best_acc5 = 0.0
        self.history: list[dict] = []
        self.extra: dict = {}
        self._share_replicas()

    @classmethod
    def for_model(cls, model, *, lr=0.01, momentum=0.9, weight_decay=5e-4, schedule="plateau",
                  patience=2, step_size=30, **kwargs) -> "Trainer":
        """A trainer with the paper's SGD and the named schedule ("plateau", "step" or None)."""
        optimizer = SGD(model.named_parameters(), lr=lr, momentum=momentum,
                        weight_decay=weight_decay)
        if schedule == "plateau":
            sched = ReduceLROnPlateau(optimizer, factor=0.1, patience=patience)
        elif schedule == "step":
            sched = StepLR(optimizer, step_size=step_size, gamma=0.1)
        elif schedule is None:
            sched = None
        else:
            raise ValueError(f"Trainer: schedule must be 'plateau', 'step' or None, got {schedule!r}")
        return cls(model, optimizer, sched, **kwargs)

    # -- one epoch --------------------------------------------------------------------------
    def train_epoch(self, batches, on_batch=None):
        if hasattr(batches, "set_epoch"):
            batches.set_epoch(self.epoch)

        def counted(meter):           # counted here, so a stop raised by on_batch keeps it
            self.step += 1
            if on_batch is not None:
                on_batch(meter)

        stats, _ = train_epoch(self.model, self.loss_fn, self.optimizer, batches,
                               step=self.step, watch=self.watch, on_batch=counted, sync=self.sync)
        return stats

    def evaluate(self, batches, on_batch=None):
        return evaluate(self.model, self.loss_fn, batches, on_batch=on_batch, comm=self.comm)

    def finish_epoch(self, train_stats, val_stats=None) -> bool:
        """Record the epoch, step the schedule, update the best accuracy; True if a new best."""
        record = {"epoch": self.epoch + 1, "lr": self.optimizer.lr,
                  "train_loss": train_stats.loss, "train_top1": train_stats.acc1,
                  "seconds": train_stats.seconds, "images_per_sec": train_stats.images_per_sec}
        is_best = False
        if val_stats is not None:
            record.update(val_loss=val_stats.loss, val_top1=val_stats.acc1,
                          val_top5=val_stats.acc5)
            first = not any("val_top1" in r for r in self.history)
            is_best = first or val_stats.acc1 > self.best_acc1
            if is_best:
                self.best_acc1 = val_stats.acc1
            self.best_acc5 = max(self.best_acc5, val_stats.acc5)
        if isinstance(self.schedule, ReduceLROnPlateau):
            if val_stats is not None:
                self.schedule.step(val_stats.top1_error)
        elif self.schedule is not None:
            self.schedule.step()
        self.epoch += 1
        self.history.append(record)
        return is_best

    def fit(self, train_batches, val_batches=None, epochs=1, checkpoint=None, best=None):
        """Train until ``epochs`` epochs are complete; save ``checkpoint`` (and ``best``) paths."""
        while self.epoch < epochs:
            train_stats = self.train_epoch(train_batches)
            val_stats = self.evaluate(val_batches) if val_batches is not None else None
            is_best = self.finish_epoch(train_stats, val_stats)
            if checkpoint is not None:
                self.save(checkpoint)
            if best is not None and is_best:
                self.save(best)
        return self.history

    # -- data parallel ----------------------------------------------------------------------
    def _share_replicas(self) -> None:
        """Multi-process runs: every rank takes rank 0's weights and momenta; each rank's
        dropout layers get their own mask stream, from [seed, layer, rank, step]."""
        if self.sync is None:
            return
        self.sync.broadcast_parameters(
            more=[self.optimizer.velocity(name) for name in self.optimizer.param_names])
        seed = int(getattr(self.model, "config", {}).get("seed", 0))
        for index, (name, layer) in enumerate(self.model):
            if isinstance(layer, Dropout):
                layer.rng = np.random.default_rng([seed, index, self.comm.rank, self.step])

    # -- checkpoints ------------------------------------------------------------------------
    def _dropout_layers(self):
        return {name: layer for name, layer in self.model if isinstance(layer, Dropout)}

    def save(self, path, extra: dict | None = None) -> Path:
        """Write an atomic ``.npz`` checkpoint holding everything an exact resume needs.

        In a multi-process run only rank 0 writes (the ranks hold the same state, except
        dropout streams, which a resume under MPI derives anew from the seed and the step).
        """
        if self.comm.rank != 0:
            return Path(path)
        meta = {
            "epoch": self.epoch, "step": self.step,
            "best_acc1": self.best_acc1, "best_acc5": self.best_acc5,
            "model_config": getattr(self.model, "config", None),
            "num_classes": self.num_classes,
            "schedule_kind": self.schedule_kind,
            "rng": {name: layer.rng.bit_generator.state
                    for name, layer in self._dropout_layers().items()},
            "plateau_watch": {"count": self.watch.count, "warned": self.watch.warned},
            "history": self.history,
            "extra": extra or {},
        }
        return save_checkpoint(path, model_state=self.model.state_dict(),
                               optimizer_state=self.optimizer.state_dict(),
                               schedule_state=self.schedule.state_dict() if self.schedule else {},
                               meta=meta)

    def restore(self, ckpt) -> None:
        """Load a checkpoint's weights, optimizer, schedule, counters and RNG states into self."""
        expected = {name: p.shape for name, p, _ in self.model.named_parameters()}
        check_state_matches(expected, ckpt.model_state, what="model")
        self.model.load_state_dict(ckpt.model_state)
        self.optimizer.load_state_dict(ckpt.optimizer_state)
        if self.schedule is not None:
            self.schedule.load_state_dict(ckpt.schedule_state)
        meta = ckpt.meta
        self.epoch, self.step = int(meta["epoch"]), int(meta["step"])
        self.best_acc1, self.best_acc5 = float(meta["best_acc1"]), float(meta["best_acc5"])
        self.history = list(meta.get("history", []))
        self.watch.count = int(meta["plateau_watch"]["count"])
        self.watch.warned = bool(meta["plateau_watch"]["warned"])
        drops = self._dropout_layers()
        for name, state in meta.get("rng", {}).items():
            if name in drops:
                drops[name].rng.bit_generator.state = state
        self._share_replicas()

    @classmethod
    def load(cls, path, **kwargs) -> "Trainer":
        """Rebuild model, optimizer and schedule from a checkpoint written by ``save``."""
        ckpt = load_checkpoint(path)
        meta = ckpt.meta
        for key in ("epoch", "step", "model_config", "schedule_kind", "best_acc1"):
            if key not in meta:
                raise CheckpointError(f"{path}: not a training checkpoint (no {key!r} in meta)")
        if not meta["model_config"]:
            raise CheckpointError(f"{path}: the checkpoint has no model configuration")
        model = alexnet_from_config(meta["model_config"])
        optimizer = SGD(model.named_parameters(), lr=float(ckpt.optimizer_state["lr"]))
        kind = meta["schedule_kind"]
        schedule = SCHEDULES[kind](optimizer) if kind else None
        trainer = cls(model, optimizer, schedule, num_classes=meta.get("num_classes"), **kwargs)
        trainer.restore(ckpt)
        trainer.extra = meta.get("extra", {})
        return trainer
