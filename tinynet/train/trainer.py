"""The training loop (epochs of forward, loss, backward and update, with callbacks around it)
and its checkpoints (everything an exact resume needs, in one ``.npz``, and back)."""

from __future__ import annotations

import copy
import dataclasses
import difflib
import math
import os
import time
from pathlib import Path

import numpy as np

from ..dist import BUCKET_BYTES, LOCAL, GradientSync
from ..layers import SoftmaxCrossEntropy
from ..models import from_config, param_shapes
from ..optim import SCHEDULES, SGD, Schedule, make_schedule
from ..sequential import Sequential
from ..validate import check_shapes, integer
from .callbacks import Callback, DivergenceCheck, StallWarning
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .config import RunConfig
from .evaluation import evaluate
from .meta import check_meta
from .metrics import Meter

#: The widest parameter dtype a checkpoint's array may be stored in (float64): its bytes per
#: value bound what an entry of a known shape may unpack to.
MAX_ITEMSIZE = 8


class NoTrainingData(RuntimeError):
    """A whole training pass read no image at all (every file unreadable)."""


class Trainer:
    """Trains ``model`` with ``optimizer`` (and an optional ``schedule``) through ``fit``.

    ``schedule``: a ``tinynet.optim.Schedule`` (stepped after each epoch with the validation
    top-1 error) or None. ``config``: the ``RunConfig`` the trainer was made from
    (``for_model``), recorded in checkpoints; None for a trainer put together by hand.
    ``epoch`` counts completed epochs, ``step`` optimizer steps, ``epoch_step`` the steps of an
    unfinished epoch. ``callbacks`` always holds the divergence check and the stall warning;
    ``fit`` adds its own. ``save``/``restore``/``load`` write and read checkpoints that resume
    exactly, mid-epoch included.

    Data parallel: with a multi-process ``comm`` (``tinynet.dist.world()`` under mpirun) every
    rank holds a replica; rank 0's weights and momenta are broadcast at construction and after
    ``restore``, gradients are averaged over the ranks every step (in buckets sent during
    backward, through a backward hook on the model: ``sync_gradients``), evaluation figures are
    summed, each rank's random layers draw their own numbers (from [seed, layer, rank, step]),
    and only rank 0 runs the callbacks that are not ``every_rank`` and writes checkpoints. Feed
    each rank its own share of every global batch (``tinynet.dist.train_shard``).
    """

    def __init__(
        self, model, optimizer, schedule=None, *, config=None, comm=None, stall_patience=300
    ):
        _check_model("Trainer", model)
        if schedule is not None and not isinstance(schedule, Schedule):
            raise ValueError(f"Trainer: unknown schedule type {type(schedule).__name__}")
        self.model, self.optimizer, self.schedule = model, optimizer, schedule
        self.config: RunConfig | None = config
        self.comm = LOCAL if comm is None else comm
        self.sync: GradientSync | None = None
        self._sync_hook = None
        self.sync_gradients()
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
        self.loaded_from: Path | None = None  # the checkpoint ``restore`` read, if any
        self.stop_requested: str | None = None  # set (by StopOnSignal) to stop after this step
        self.stopped: str | None = None  # why the last fit ended early, or None
        self._active = ()
        self._resume_meter: Meter | None = None
        self._pass_began = 0.0  # perf_counter at the training pass's start (minus resumed time)
        self._callback_state: dict = {}
        self.share_replicas()

    @classmethod
    def for_model(cls, model, config=None, *, comm=None, stall_patience=300, **settings):
        """A trainer for ``model`` as ``config`` says (a ``RunConfig``, default ``RunConfig()``:
        the paper's SGD and plateau schedule) with ``settings`` changed, e.g.
        ``Trainer.for_model(model, lr=0.05, schedule=None)``. The parameters of the first
        ``config.freeze`` layers that have any are left out of the optimizer (they never change);
        ``config.start_epoch`` sets where the epochs (and the schedule) start counting."""
        _check_model("Trainer.for_model", model)
        if config is not None and not isinstance(config, RunConfig):
            raise ValueError(
                f"Trainer.for_model: config must be a RunConfig (or None), got "
                f"{type(config).__name__}; give single settings as keywords (lr=0.05)"
            )
        _check_settings(settings)
        config = dataclasses.replace(config or RunConfig(), **settings)
        frozen = set(frozen_names(model, config.freeze))
        trained = [p for p in model.named_parameters() if p[0] not in frozen]
        if not trained:
            layers = [name for name, layer in model if layer.params]
            builder = str((model.config or {}).get("builder"))
            what = "AlexNet" if builder.startswith("alexnet") else "the model"
            raise ValueError(
                f"Trainer.for_model: freeze={config.freeze} leaves no parameter to train "
                f"({what} has {len(layers)} layers with parameters: {', '.join(layers)})"
            )
        optimizer = SGD(
            trained, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
        )
        schedule = None
        if config.schedule is not None:
            schedule = make_schedule(config.schedule, optimizer, **config.asdict())
        trainer = cls(
            model, optimizer, schedule, config=config, comm=comm, stall_patience=stall_patience
        )
        trainer.start_at(config.start_epoch)
        return trainer

    def sync_gradients(self, bucket_bytes: int = BUCKET_BYTES, progress: str | None = None) -> None:
        """Multi-process runs: how gradients are averaged (single process: nothing to do).

        ``bucket_bytes`` > 0: in buckets of about that many bytes, each sent while backward
        computes the layers below it (a backward hook on the model), moved forward by
        ``progress`` (``tinynet.dist.gradients.PROGRESS``; None: a progress thread when MPI
        allows threads, measured fastest, else tests between layers); 0: one allreduce after
        backward. The results are the same up to float32 rounding; only the speed differs."""
        if self.comm.size == 1:
            return
        if progress is None:
            progress = "thread" if self.comm.thread_multiple else "test"
        bucket_bytes = integer("Trainer.sync_gradients: bucket_bytes", bucket_bytes, 0)
        if self._sync_hook is not None:
            self._sync_hook.remove()
            self._sync_hook = None
        if self.sync is not None:
            self.sync.close()
        overlap = bucket_bytes > 0
        self.sync = GradientSync(
            self.model.named_parameters(), self.comm, overlap=overlap,
            bucket_bytes=max(bucket_bytes, 1), progress=progress,
        )  # fmt: skip
        if overlap:
            self._sync_hook = self.model.register_backward_hook(self.sync.ready)

    def start_at(self, epoch: int) -> None:
        """Count the epochs (and the schedule's) from ``epoch``: a new run that continues
        another's numbering."""
        self.epoch = integer("Trainer.start_at: epoch", epoch, 0)
        if self.schedule is not None:
            self.schedule.set(last_epoch=self.epoch)

    # -- the loop -------------------------------------------------------------------------------
    def fit(self, train_batches, val_batches=None, epochs=1, checkpoint=None, callbacks=()):
        """Train until ``epochs`` epochs are complete (or a stop is requested); returns ``history``.

        ``train_batches``/``val_batches`` are iterables of (images, labels); with a
        ``set_epoch(epoch, start=0)`` method they are told each epoch (and where an interrupted
        epoch resumes). ``checkpoint`` is saved after every epoch and when a stop is requested.
        ``epochs`` is an integer (the total to reach), ``callbacks`` a list of ``Callback``s;
        a wrong argument is a ValueError naming it. A resumed position past the end of an epoch
        of ``train_batches`` (a tampered ``epoch_step``) is a CheckpointError naming the
        checkpoint and the value.
        """
        epochs = integer("Trainer.fit: epochs", epochs, 0)
        for name, batches in (("train_batches", train_batches), ("val_batches", val_batches)):
            if not hasattr(batches, "__iter__") and not (name == "val_batches" and batches is None):
                raise ValueError(
                    f"Trainer.fit: {name} must be an iterable of (images, labels) batches, "
                    f"got {type(batches).__name__}"
                )
        if checkpoint is not None and not isinstance(checkpoint, (str, os.PathLike)):
            raise ValueError(
                f"Trainer.fit: checkpoint must be a path (or None), got {type(checkpoint).__name__}"
            )
        callbacks = _check_callbacks(callbacks)
        self.epochs, self.stopped = epochs, None
        self.checkpoint_path = Path(checkpoint) if checkpoint is not None else None
        self._active = self.callbacks + callbacks
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
        if start and hasattr(batches, "__len__") and start > len(batches):
            self._cannot_resume(f"an epoch of these batches has {len(batches)} steps")
        _set_epoch(batches, self.epoch, start)
        total = len(batches) - start if hasattr(batches, "__len__") else None
        meter, self._resume_meter = self._resume_meter or Meter(), None
        self.model.train()
        self._call("on_pass_begin", "train", total)
        # meter.seconds: the pass's wall time (a resumed epoch's included); meter.data_seconds:
        # the part of it from the end of one step to the next batch's arrival (the first batch's
        # wait counts from here: starting the loader's workers is waiting for data too).
        self._pass_began = time.perf_counter() - meter.seconds
        waiting_since = time.perf_counter()
        for images, labels in batches:
            meter.data_seconds += time.perf_counter() - waiting_since
            self._train_step(images, labels, meter)
            stop = self._stop_agreed()
            meter.seconds = time.perf_counter() - self._pass_began
            if stop:
                self._interrupted(meter)
                return None
            waiting_since = time.perf_counter()
        came = self.epoch_step > start
        self.epoch_step = 0
        stats = meter.total(self.comm)
        if stats.images == 0 and start and not came:
            self.epoch_step = start
            self._cannot_resume("the batches ended before it")
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
        if self.sync is not None:
            self.sync.begin(count)  # from here backward sends the gradients it has finished
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
        meter.seconds = time.perf_counter() - self._pass_began  # up to date for the callbacks
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
            "data_seconds": train.data_seconds, "images_per_sec": train.images_per_sec,
            "skipped": skipped, "is_best": False,
        }  # fmt: skip
        if val is not None:
            record.update(val_loss=val.loss, val_top1=val.acc1, val_top5=val.acc5)
            first = not any("val_top1" in r for r in self.history)
            record["is_best"] = bool(first or val.acc1 > self.best_acc1)
            if record["is_best"]:
                self.best_acc1 = val.acc1
            self.best_acc5 = max(self.best_acc5, val.acc5)
        if self.schedule is not None:
            self.schedule.step(val.top1_error if val is not None else None)
        self.epoch += 1
        self.history.append(record)
        return record

    # -- checkpoints ----------------------------------------------------------------------------
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
            "schedule_kind": self.schedule.name if self.schedule else None,
            "run": self.config.asdict() if self.config else None,
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
        """Load a checkpoint's weights, optimizer, schedule, counters and random states.

        Every meta field is checked first (``tinynet.train.meta.check_meta``); any problem is a
        CheckpointError naming the file, and leaves the trainer as it was."""
        meta = check_meta(ckpt.path, ckpt.meta)
        try:  # each load checks its whole state before it changes anything
            check_shapes("model", self.model.state_shapes(), _shapes(ckpt.model_state))
            unknown = sorted(set(meta["frozen"]) - set(self.model.params))
            if unknown:
                raise ValueError(f"meta field 'frozen' names {unknown}, not model parameters")
            self.optimizer.load_state_dict(ckpt.optimizer_state)
            if self.schedule is not None:
                self.schedule.load_state_dict(ckpt.schedule_state)
            config = RunConfig.from_dict(meta["run"]) if meta["run"] else None
            self._check_callback_states(meta["callbacks"])
            self.model.load_state_dict(ckpt.model_state)
        except ValueError as err:
            raise CheckpointError(f"{ckpt.path}: {err}") from None
        self.config, self.loaded_from = config, ckpt.path
        self.epoch, self.step, self.epoch_step = meta["epoch"], meta["step"], meta["epoch_step"]
        sums = meta["epoch_meter"]
        self._resume_meter = Meter(**sums) if sums else None
        self.best_acc1, self.best_acc5 = meta["best_acc1"], meta["best_acc5"]
        self.history, self.extra = meta["history"], meta["extra"]
        self._callback_state = meta["callbacks"]
        self.model.info = meta["model_info"]
        self._load_callback_state(self.callbacks)
        self.share_replicas()

    @classmethod
    def load(cls, path, builder=None, **kwargs):
        """Rebuild model, optimizer and schedule from a checkpoint written by ``save``.

        The model comes from ``builder(config)`` with the config saved in the checkpoint;
        by default ``tinynet.models.from_config``, and then the config is first checked against
        the shapes of the saved parameters, without allocating anything. Any problem with the
        file or its contents is a ``CheckpointError`` naming the file.

        Nothing is decompressed before it is judged: the meta is read and checked first, field
        by field; then every array entry must declare the shape the model's config gives it,
        in at most 8 bytes a value (an optimizer's velocity: its parameter's), and any other
        entry is small (``checkpoint.OTHER_LIMIT``).
        """
        path, built = Path(path), {}

        def expect(meta, declared):
            meta = check_meta(path, meta)
            shapes = _model_shapes(path, meta["model_config"], declared, builder, built)
            limits = {f"model/{k}": _most_bytes(shape) for k, shape in shapes.items()}
            for name, shape in shapes.items():
                limits[f"optim/velocity.{name}"] = _most_bytes(shape)
            return limits

        ckpt = load_checkpoint(path, expect)
        meta = ckpt.meta
        config, kind = meta["model_config"], meta["schedule_kind"]
        try:
            model = built["model"] if "model" in built else (builder or from_config)(config)
        except (ValueError, TypeError) as err:
            raise CheckpointError(f"{path}: cannot rebuild its model: {err}") from None
        frozen = set(meta.get("frozen") or ())
        trained = [p for p in model.named_parameters() if p[0] not in frozen]
        if not trained:
            raise CheckpointError(f"{path}: meta field 'frozen' leaves no parameter to train")
        optimizer = SGD(trained, lr=0.0)  # restore sets lr, momentum... (checked)
        try:
            schedule = SCHEDULES[kind].restored(optimizer, ckpt.schedule_state) if kind else None
        except ValueError as err:
            raise CheckpointError(f"{path}: {err}") from None
        trainer = cls(model, optimizer, schedule, **kwargs)
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
            name = type(callback).__name__
            state = self._callback_state.get(name)
            if state is not None and hasattr(callback, "load_state_dict"):
                try:
                    callback.load_state_dict(state)
                except (ValueError, TypeError, KeyError) as err:
                    raise CheckpointError(
                        f"{self.loaded_from}: meta field 'callbacks.{name}' does not fit "
                        f"{name}: {err!r}"
                    ) from None
                del self._callback_state[name]

    def _check_callback_states(self, states: dict) -> None:
        """The saved states of the trainer's own callbacks load into copies of them (a
        ValueError naming the bad one, before anything changes)."""
        for callback in self.callbacks:
            name = type(callback).__name__
            if name in states and hasattr(callback, "load_state_dict"):
                try:
                    copy.copy(callback).load_state_dict(states[name])
                except (ValueError, TypeError, KeyError) as err:
                    raise ValueError(
                        f"meta field 'callbacks.{name}' does not fit {name}: {err!r}"
                    ) from None

    def _cannot_resume(self, why: str):
        where = f"the checkpoint {self.loaded_from}" if self.loaded_from else "the trainer"
        raise CheckpointError(
            f"Trainer.fit: cannot resume at step {self.epoch_step} of epoch {self.epoch + 1}: "
            f"{why} ({where} says epoch_step {self.epoch_step})"
        )

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


def _shapes(state: dict) -> dict:
    return {name: np.shape(value) for name, value in state.items()}


def _most_bytes(shape) -> int:
    return math.prod(shape) * MAX_ITEMSIZE


def _model_shapes(path, config, declared: dict, builder, built: dict) -> dict:
    """The shape of each model state entry (``{name: shape}``) a checkpoint must hold, from its
    model config: without ``builder`` computed (nothing allocated) and checked against the
    ``declared`` headers; with one, from the model it builds (kept in ``built``)."""
    try:
        if builder is not None:
            built["model"] = builder(config)
            return built["model"].state_shapes()
        expected = param_shapes(config)
    except (ValueError, TypeError) as err:
        raise CheckpointError(f"{path}: cannot rebuild its model: {err}") from None
    start = "model/"
    found = {
        k[len(start) :]: shape
        for k, (shape, _) in declared.items()
        if k.startswith(start) and not k.endswith(".rng")
    }
    who = "its model_config does not fit its model arrays (expected: from the config)"
    try:
        check_shapes(who, expected, found)
    except ValueError as err:
        raise CheckpointError(f"{path}: cannot rebuild its model: {err}") from None
    return expected


def _check_model(who: str, model) -> None:
    if not isinstance(model, Sequential):
        raise ValueError(
            f"{who}: model must be a tinynet Sequential (e.g. tinynet.models.alexnet()), got "
            f"{type(model).__name__} {model!r:.60}"
        )


def _check_settings(settings: dict) -> None:
    """Every keyword of ``Trainer.for_model`` must be a RunConfig field."""
    names = [f.name for f in dataclasses.fields(RunConfig)]
    for key in settings:
        if key not in names:
            close = difflib.get_close_matches(key, names, n=1)
            hint = f" (did you mean {close[0]}=?)" if close else ""
            raise ValueError(
                f"Trainer.for_model: unknown setting {key!r}{hint}; the settings are "
                f"RunConfig's: {', '.join(names)}"
            )


def _check_callbacks(callbacks) -> list:
    if isinstance(callbacks, Callback) or not hasattr(callbacks, "__iter__"):
        raise ValueError(
            f"Trainer.fit: callbacks must be a list of Callbacks, got {type(callbacks).__name__}"
        )
    callbacks = list(callbacks)
    for callback in callbacks:
        if not isinstance(callback, Callback):
            raise ValueError(
                f"Trainer.fit: callbacks must be tinynet Callbacks, got {type(callback).__name__}"
            )
    return callbacks


def frozen_names(model, layers: int) -> list[str]:
    """The parameters of the first ``layers`` layers that have any (``RunConfig.freeze``)."""
    with_params = [name for name, layer in model if layer.params][:layers]
    return [f"{name}.{key}" for name in with_params for key in model[name].params]
