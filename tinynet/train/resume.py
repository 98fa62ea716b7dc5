"""A trainer's checkpoints: everything an exact resume needs, in one ``.npz``, and back."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..models import from_config, param_shapes
from ..optim import SGD, ReduceLROnPlateau, StepLR
from ..validate import check_shapes
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .metrics import Meter

#: The schedules a checkpoint can name.
SCHEDULES = {"plateau": ReduceLROnPlateau, "step": StepLR}


class TrainerState:
    """``save``, ``restore`` and ``load`` of ``Trainer`` (kept apart from the loop)."""

    def save(self, path, epoch_meter: Meter | None = None) -> Path:
        """Write an atomic ``.npz`` checkpoint holding everything an exact resume needs.

        The model state holds the weights and the random layers' generator states; the meta
        holds the counters, the position inside an unfinished epoch with its running sums
        (``epoch_meter``), the callbacks' states, the history and ``extra``. In a multi-process
        run only rank 0 writes.
        """
        if self.comm.rank != 0:
            return Path(path)
        active = self._active or self.callbacks
        meta = {
            "epoch": self.epoch, "step": self.step, "epoch_step": self.epoch_step,
            "epoch_meter": epoch_meter.state_dict() if epoch_meter is not None else None,
            "best_acc1": self.best_acc1, "best_acc5": self.best_acc5,
            "model_config": getattr(self.model, "config", None),
            "model_info": getattr(self.model, "info", {}), "frozen": list(self.frozen),
            "schedule_kind": _schedule_kind(self),
            "callbacks": {
                type(cb).__name__: cb.state_dict() for cb in active if hasattr(cb, "state_dict")
            },
            "history": self.history, "extra": self.extra,
        }  # fmt: skip
        return save_checkpoint(
            path,
            model_state=self.model.state_dict(),
            optimizer_state=self.optimizer.state_dict(),
            schedule_state=self.schedule.state_dict() if self.schedule else {},
            meta=meta,
        )

    def restore(self, ckpt) -> None:
        """Load a checkpoint's weights, optimizer, schedule, counters and random states."""
        try:  # each load checks its whole state before it changes anything
            check_shapes("model", _state_shapes(self.model), _shapes(ckpt.model_state))
            self.optimizer.load_state_dict(ckpt.optimizer_state)
            if self.schedule is not None:
                self.schedule.load_state_dict(ckpt.schedule_state)
            self.model.load_state_dict(ckpt.model_state)
        except ValueError as err:
            raise CheckpointError(f"{ckpt.path}: {err}") from None
        meta = ckpt.meta
        self.epoch, self.step = int(meta["epoch"]), int(meta["step"])
        self.epoch_step = int(meta.get("epoch_step", 0))
        sums = meta.get("epoch_meter")
        self._resume_meter = Meter(**sums) if sums else None
        self.best_acc1, self.best_acc5 = float(meta["best_acc1"]), float(meta["best_acc5"])
        self.history = list(meta.get("history", []))
        self.extra = dict(meta.get("extra", {}))
        self._callback_state = dict(meta.get("callbacks", {}))
        self.model.info = dict(meta.get("model_info") or {})
        self._load_callback_state(self.callbacks)
        self.share_replicas()

    @classmethod
    def load(cls, path, builder=None, **kwargs):
        """Rebuild model, optimizer and schedule from a checkpoint written by ``save``.

        The model comes from ``builder(config)`` with the config saved in the checkpoint;
        by default ``tinynet.models.from_config``, and then the config is first checked against
        the shapes of the saved parameters, without allocating anything. Any problem with the
        file or its contents is a ``CheckpointError`` naming the file.
        """
        ckpt = load_checkpoint(path)
        meta = ckpt.meta
        for key in ("epoch", "step", "model_config", "schedule_kind", "best_acc1"):
            if key not in meta:
                raise CheckpointError(f"{path}: not a training checkpoint (no {key!r} in meta)")
        config, kind = meta["model_config"], meta["schedule_kind"]
        if kind is not None and kind not in SCHEDULES:
            raise CheckpointError(f"{path}: unknown schedule kind {kind!r}")
        try:
            if builder is None:  # a config that does not fit the arrays: refused before building
                shapes = _shapes(ckpt.model_state).items()
                found = {k: shape for k, shape in shapes if not k.endswith(".rng")}
                who = "its model_config does not fit its model arrays (expected: from the config)"
                check_shapes(who, param_shapes(config), found)
            model = (builder or from_config)(config)
        except ValueError as err:
            raise CheckpointError(f"{path}: cannot rebuild its model: {err}") from None
        frozen = set(meta.get("frozen") or ())
        trained = [p for p in model.named_parameters() if p[0] not in frozen]
        optimizer = SGD(trained)  # restore sets lr, momentum... (checked)
        trainer = cls(model, optimizer, SCHEDULES[kind](optimizer) if kind else None, **kwargs)
        trainer.restore(ckpt)
        return trainer

    def share_replicas(self) -> None:
        """Multi-process runs: every rank takes rank 0's weights and momenta; each rank's random
        layers get their own stream, from [seed, layer index, rank, step]."""
        if self.sync is None:
            return
        velocities = [self.optimizer.velocity(name) for name in self.optimizer.param_names]
        self.sync.broadcast_parameters(more=velocities)
        seed = int((getattr(self.model, "config", None) or {}).get("seed", 0))
        for index, (_, layer) in enumerate(self.model):
            if layer.rng is not None:
                layer.rng = np.random.default_rng([seed, index, self.comm.rank, self.step])

    def _load_callback_state(self, callbacks=None) -> None:
        for callback in self._active if callbacks is None else callbacks:
            state = self._callback_state.get(type(callback).__name__)
            if state is not None and hasattr(callback, "load_state_dict"):
                callback.load_state_dict(state)
                del self._callback_state[type(callback).__name__]


def _shapes(state: dict) -> dict:
    return {name: np.shape(value) for name, value in state.items()}


def _state_shapes(model) -> dict:
    """The shapes of ``model.state_dict()``, without copying the arrays."""
    shapes = {name: param.shape for name, param in model.params.items()}
    shapes.update({f"{name}.rng": (6,) for name, layer in model if layer.rng is not None})
    return shapes


def _schedule_kind(trainer) -> str | None:
    for kind, cls in SCHEDULES.items():
        if isinstance(trainer.schedule, cls):
            return kind
    return None
