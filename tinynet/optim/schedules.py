"""Learning-rate schedules that drive an optimizer's ``lr`` attribute once per epoch.

* :class:`ReduceLROnPlateau` -- the AlexNet paper's schedule: "divide the learning rate by 10 when
  the validation error rate stopped improving with the current learning rate".
* :class:`StepLR` -- a fixed step schedule (Caffe's bvlc_alexnet uses one).

Both work with any optimizer that has a settable float ``lr`` (e.g. :class:`~tinynet.optim.SGD`)
and take ``step(metric)`` once per epoch, so a training loop can call either the same way. Their
``state_dict()`` holds plain Python scalars and strings; the learning rate itself lives in the
optimizer's state, so a resume must restore both (see ``tinynet.train.checkpoint``).
"""

from __future__ import annotations

import math
from functools import partial

from ..validate import check_keys, choice, fraction, integer, non_negative, positive, real

__all__ = ["ReduceLROnPlateau", "StepLR"]

_count = partial(integer, minimum=0)


class _Schedule:
    """What both schedules share: the optimizer, and a state of checked plain values."""

    _STATE: dict = {}  # state key -> validator(who, value)

    def __init__(self, optimizer) -> None:
        if not hasattr(optimizer, "lr"):
            raise ValueError(
                f"optimizer must have a settable 'lr' attribute, got {type(optimizer).__name__}"
            )
        self.optimizer = optimizer

    @property
    def lr(self) -> float:
        """The optimizer's current learning rate."""
        return float(self.optimizer.lr)

    def _checked(self, state) -> dict:
        name = type(self).__name__
        return {key: self._STATE[key](f"{name}: {key}", value) for key, value in state.items()}

    def _set(self, **state) -> None:
        """Check every value of ``state``, then set them all as attributes."""
        for key, value in self._checked(state).items():
            setattr(self, key, value)

    def state_dict(self) -> dict:
        """The configuration and counters, as plain Python scalars and strings."""
        return {key: getattr(self, key) for key in self._STATE}

    def load_state_dict(self, state: dict) -> None:
        """Restore a ``state_dict()`` (not the optimizer's lr); checks all before changing any."""
        check_keys(type(self).__name__, state, self._STATE)
        self._set(**state)

    def __repr__(self) -> str:
        state = ", ".join(f"{key}={value!r}" for key, value in self.state_dict().items())
        return f"{type(self).__name__}({state})"


class ReduceLROnPlateau(_Schedule):
    """Multiply the lr by ``factor`` when a metric has stopped improving (PyTorch's semantics).

    Call ``step(metric)`` once per epoch, after validation; it returns True iff it lowered the lr.
    With ``mode="min"`` lower is better: the paper's validation error rate (``1 - top1``); use
    ``mode="max"`` for an accuracy.

    * ``best`` starts at +-inf. ``metric`` improves on it iff ``metric < best * (1 - threshold)``
      (``threshold_mode="rel"``) or ``metric < best - threshold`` (``"abs"``), mirrored for
      ``"max"``; it then becomes ``best`` and ``num_bad_epochs`` drops to 0, else it grows by 1.
    * During a cooldown (``cooldown_counter > 0``, counted down each epoch) bad epochs do not count.
    * When ``num_bad_epochs > patience`` (with ``patience=2``: the third bad epoch in a row) the lr
      becomes ``max(lr * factor, min_lr)``, ``num_bad_epochs`` drops to 0 and a cooldown of
      ``cooldown`` epochs starts. ``reductions`` counts the drops that lowered the lr.
    * A NaN metric raises ValueError: a diverged run should stop, not look like "no improvement".
    """

    _STATE = {
        "factor": partial(fraction, low_open=True),
        "patience": _count,
        "threshold": non_negative,  # and < 1 when relative, see _checked
        "threshold_mode": lambda who, value: str(choice(who, value, ("rel", "abs"))),
        "cooldown": _count,
        "min_lr": non_negative,
        "mode": lambda who, value: str(choice(who, value, ("min", "max"))),
        "best": real,
        **dict.fromkeys(("num_bad_epochs", "cooldown_counter", "last_epoch", "reductions"), _count),
    }

    def __init__(
        self,
        optimizer,
        factor: float = 0.1,
        patience: int = 2,
        threshold: float = 1e-3,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float = 1e-6,
        mode: str = "min",
    ) -> None:
        super().__init__(optimizer)
        best = math.inf if mode == "min" else -math.inf
        self._set(factor=factor, patience=patience, cooldown=cooldown, min_lr=min_lr, mode=mode)
        self._set(threshold=threshold, threshold_mode=threshold_mode, best=best)
        self.num_bad_epochs = self.cooldown_counter = self.last_epoch = self.reductions = 0

    def _checked(self, state) -> dict:
        checked = super()._checked(state)
        if checked.get("threshold_mode") == "rel":  # always set together with threshold
            fraction("ReduceLROnPlateau: a relative threshold", checked["threshold"])
        return checked

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def is_better(self, metric: float, best: float) -> bool:
        if self.mode == "min":
            if self.threshold_mode == "rel":
                return metric < best * (1.0 - self.threshold)
            return metric < best - self.threshold
        if self.threshold_mode == "rel":
            return metric > best * (1.0 + self.threshold)
        return metric > best + self.threshold

    def step(self, metric) -> bool:
        """Record one epoch's metric; lower the lr if it has plateaued. Returns True iff lowered."""
        current = real(f"ReduceLROnPlateau: the metric of epoch {self.last_epoch + 1}", metric)
        self.last_epoch += 1
        if self.is_better(current, self.best):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs during cooldown do not count
        if self.num_bad_epochs <= self.patience:
            return False
        self.num_bad_epochs, self.cooldown_counter = 0, self.cooldown
        old_lr = float(self.optimizer.lr)
        new_lr = max(old_lr * self.factor, self.min_lr)
        if new_lr < old_lr:
            self.optimizer.lr = new_lr
            self.reductions += 1
        return new_lr < old_lr


class StepLR(_Schedule):
    """``lr = base_lr * gamma ** (epoch // step_size)``, updated by ``step()`` once per epoch.

    ``base_lr`` is the optimizer's lr when the schedule is created; epoch 0 is the first epoch.
    ``step(metric=None)`` ends an epoch (the metric is ignored; it is accepted so a training loop
    can call every schedule as ``sched.step(val_error)``) and sets the lr for the next one. It
    returns True iff the lr changed. The lr is computed in closed form, never accumulated.
    """

    _STATE = {
        "step_size": partial(integer, minimum=1),
        "gamma": positive,
        "base_lr": non_negative,
        "last_epoch": _count,
    }

    def __init__(self, optimizer, step_size: int = 30, gamma: float = 0.1) -> None:
        super().__init__(optimizer)
        self._set(step_size=step_size, gamma=gamma, base_lr=optimizer.lr, last_epoch=0)

    def lr_at(self, epoch: int) -> float:
        """The learning rate this schedule assigns to (0-based) ``epoch``."""
        epoch = _count("StepLR.lr_at: epoch", epoch)
        return self.base_lr * self.gamma ** (epoch // self.step_size)

    def step(self, metric=None) -> bool:
        self.last_epoch += 1
        old_lr, new_lr = float(self.optimizer.lr), self.lr_at(self.last_epoch)
        self.optimizer.lr = new_lr
        return new_lr != old_lr
