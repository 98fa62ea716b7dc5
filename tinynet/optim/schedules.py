"""Learning-rate schedules: each owns its optimizer's ``lr`` and sets it once per epoch.

* :class:`ReduceLROnPlateau` -- the AlexNet paper's: "divide the learning rate by 10 when the
  validation error rate stopped improving with the current learning rate".
* :class:`StepLR` -- divide by 10 every ``step_size`` epochs (Caffe's bvlc_alexnet).
* :class:`CosineLR` -- from the base rate down to 0 along half a cosine over the run.

All share one interface. ``step(metric=None)`` ends an epoch (``metric``: the validation error,
which only the plateau schedule reads; None when there was no validation) and sets the lr of the
next. ``warmup=W`` first raises the lr linearly over W epochs, ``base_lr * (epoch + 1) / (W + 1)``
(Goyal et al. 2017, per epoch here); from epoch W on, the schedule's own rule gives the lr of
each epoch (the step schedule counts from epoch 0, the cosine from the end of warm-up). The lr is
always computed from the state (``rate()``), never accumulated, so ``set(base_lr=...)`` (a new
base rate on resume) or ``set(last_epoch=...)`` (a run counted from a later epoch) takes effect
at once. ``state_dict()`` holds plain Python scalars; the optimizer's state holds the current lr.

A new schedule: a subclass with ``name``, its ``_STATE`` and ``_rate()``, added to ``SCHEDULES``.
Its constructor's argument names are the run settings it takes (``tinynet.train.RunConfig``).
"""

from __future__ import annotations

import inspect
import math
from functools import partial

from ..validate import check_keys, fraction, has_attribute, integer, non_negative, positive, real

__all__ = ["Schedule", "ReduceLROnPlateau", "StepLR", "CosineLR", "SCHEDULES", "make_schedule"]

_count = partial(integer, minimum=0)


class Schedule:
    """What every schedule shares: the optimizer, the base rate, the warm-up and the epoch count.

    ``_STATE`` maps each state key to its validator ``(who, value) -> value``."""

    name = ""
    _STATE = {"base_lr": non_negative, "warmup": _count, "last_epoch": _count}

    def __init__(self, optimizer, warmup: int = 0, **state) -> None:
        has_attribute(type(self).__name__, "optimizer", optimizer, "lr")
        self.optimizer = optimizer
        self._set(base_lr=optimizer.lr, warmup=warmup, last_epoch=0, **state)
        self._apply()

    @classmethod
    def restored(cls, optimizer, state: dict) -> Schedule:
        """The schedule whose ``state_dict()`` was ``state``, driving ``optimizer`` (whose own
        state holds the lr)."""
        has_attribute(cls.__name__, "optimizer", optimizer, "lr")
        schedule = cls.__new__(cls)
        schedule.optimizer = optimizer
        schedule.load_state_dict(state)
        return schedule

    def rate(self) -> float:
        """The learning rate of epoch ``last_epoch`` (0-based): warm-up, then ``_rate()``."""
        lr = self._rate()
        if self.last_epoch < self.warmup:
            lr *= (self.last_epoch + 1) / (self.warmup + 1)
        return lr

    def _rate(self) -> float:
        raise NotImplementedError

    @property
    def lr(self) -> float:
        """The optimizer's current learning rate."""
        return float(self.optimizer.lr)

    def step(self, metric=None) -> bool:
        """End an epoch; set the next epoch's lr. Returns True iff the lr changed."""
        self._record(metric)
        self.last_epoch += 1
        return self._apply()

    def _record(self, metric) -> None:
        """What the schedule learns from an epoch's validation metric (nothing by default)."""

    def set(self, **changes) -> None:
        """Change state values (checked, all or none), then the lr to what they give."""
        unknown = sorted(set(changes) - set(self._STATE))
        if unknown:
            raise ValueError(
                f"{type(self).__name__}: no setting {unknown}; it has {list(self._STATE)}"
            )
        self._set(**changes)
        self._apply()

    def _apply(self) -> bool:
        old, new = float(self.optimizer.lr), self.rate()
        self.optimizer.lr = new
        return new != old

    def _checked(self, state) -> dict:
        name = type(self).__name__
        return {key: self._STATE[key](f"{name}: {key}", value) for key, value in state.items()}

    def _set(self, **state) -> None:
        """Check every value of ``state``, then set them all as attributes."""
        for key, value in self._checked(state).items():
            setattr(self, key, value)

    def state_dict(self) -> dict:
        """The configuration and counters, as plain Python scalars."""
        return {key: getattr(self, key) for key in self._STATE}

    def load_state_dict(self, state: dict) -> None:
        """Restore a ``state_dict()`` (not the optimizer's lr); checks all before changing any."""
        check_keys(type(self).__name__, state, self._STATE)
        self._set(**state)

    def __repr__(self) -> str:
        state = ", ".join(f"{key}={value!r}" for key, value in self.state_dict().items())
        return f"{type(self).__name__}({state})"


class ReduceLROnPlateau(Schedule):
    """Multiply the lr by ``factor`` when the validation error has stopped improving.

    ``step(error)`` once per epoch, lower is better (the paper's ``1 - top1``). ``best`` starts
    at +inf; an error improves on it iff ``error < best * (1 - threshold)``, and then becomes
    ``best`` with ``num_bad_epochs`` back to 0; else ``num_bad_epochs`` grows by 1 (not during
    warm-up). When ``num_bad_epochs > patience`` (``patience=2``: the third bad epoch in a row)
    ``reductions`` grows by 1 and ``num_bad_epochs`` drops to 0: the lr is
    ``base_lr * factor ** reductions``. ``step(None)`` (no validation) changes nothing but the
    epoch count. A NaN error raises ValueError: a diverged run should stop.
    """

    name = "plateau"
    _STATE = {
        **Schedule._STATE,
        "patience": _count,
        "factor": partial(fraction, low_open=True),
        "threshold": fraction,
        "best": real,
        "num_bad_epochs": _count,
        "reductions": _count,
    }

    def __init__(self, optimizer, patience: int, factor=0.1, threshold=1e-3, warmup=0) -> None:
        super().__init__(
            optimizer, warmup, patience=patience, factor=factor, threshold=threshold,
            best=math.inf, num_bad_epochs=0, reductions=0,
        )  # fmt: skip

    def _rate(self) -> float:
        lr = self.base_lr
        for _ in range(self.reductions):  # multiplied in turn, as the lr was divided each time
            lr *= self.factor
        return lr

    def _record(self, metric) -> None:
        if metric is None:
            return
        error = real(f"ReduceLROnPlateau: the metric of epoch {self.last_epoch + 1}", metric)
        if error < self.best * (1.0 - self.threshold):
            self.best, self.num_bad_epochs = error, 0
        elif self.last_epoch >= self.warmup:
            self.num_bad_epochs += 1
        if self.num_bad_epochs > self.patience:
            self.num_bad_epochs, self.reductions = 0, self.reductions + 1


class StepLR(Schedule):
    """``lr = base_lr * gamma ** (epoch // step_size)``, epoch 0 being the first."""

    name = "step"
    _STATE = {**Schedule._STATE, "step_size": partial(integer, minimum=1), "gamma": positive}

    def __init__(self, optimizer, step_size: int, gamma=0.1, warmup=0) -> None:
        super().__init__(optimizer, warmup, step_size=step_size, gamma=gamma)

    def _rate(self) -> float:
        return self.base_lr * self.gamma ** (self.last_epoch // self.step_size)

    def lr_at(self, epoch: int) -> float:
        """The rate this schedule gives (0-based) ``epoch``, warm-up included."""
        now, self.last_epoch = self.last_epoch, _count("StepLR.lr_at: epoch", epoch)
        try:
            return self.rate()
        finally:
            self.last_epoch = now


class CosineLR(Schedule):
    """``lr = base_lr * (1 + cos(pi * t / T)) / 2`` with ``t`` the epochs since warm-up and
    ``T = epochs - warmup``: the base rate at the first epoch after warm-up, 0 after the last
    (Loshchilov & Hutter 2017, without restarts). ``epochs``: the run's total."""

    name = "cosine"
    _STATE = {**Schedule._STATE, "epochs": partial(integer, minimum=1)}

    def __init__(self, optimizer, epochs: int, warmup=0) -> None:
        super().__init__(optimizer, warmup, epochs=epochs)

    def _checked(self, state) -> dict:
        checked = super()._checked(state)
        now = {key: getattr(self, key) for key in ("epochs", "warmup") if hasattr(self, key)}
        epochs, warmup = {**now, **checked}["epochs"], {**now, **checked}["warmup"]
        if warmup >= epochs:
            raise ValueError(f"CosineLR: warmup ({warmup}) must be shorter than epochs ({epochs})")
        return checked

    def _rate(self) -> float:
        span = self.epochs - self.warmup
        t = min(max(self.last_epoch - self.warmup, 0), span)
        return self.base_lr * (1.0 + math.cos(math.pi * t / span)) / 2.0


#: The schedules by the name a run configuration and a checkpoint give them.
SCHEDULES = {cls.name: cls for cls in (ReduceLROnPlateau, StepLR, CosineLR)}


def make_schedule(name: str, optimizer, **settings) -> Schedule:
    """``SCHEDULES[name]`` for ``optimizer``, given the ``settings`` its constructor names (the
    others, e.g. a whole run configuration's, are ignored)."""
    if name not in SCHEDULES:
        raise ValueError(f"schedule must be one of {tuple(SCHEDULES)} or None, got {name!r}")
    cls = SCHEDULES[name]
    wanted = inspect.signature(cls).parameters
    return cls(optimizer, **{key: value for key, value in settings.items() if key in wanted})
