"""Learning-rate schedules that drive an optimizer's ``lr`` attribute once per epoch.

* :class:`ReduceLROnPlateau` -- the AlexNet paper's schedule: "divide the learning rate by 10 when
  the validation error rate stopped improving with the current learning rate".
* :class:`StepLR` -- a fixed step schedule (Caffe's bvlc_alexnet uses one).

Both work with any optimizer that has a settable float ``lr`` attribute (e.g. :class:`~tinynet.optim.SGD`),
and both take ``step(metric)`` once per epoch, so a training loop can call either the same way.
Their ``state_dict()`` holds plain Python scalars and strings; the learning rate itself lives in
the optimizer's state, so a resume must restore both (see ``tinynet.checkpoint``).
"""

from __future__ import annotations

import math
import numbers

__all__ = ["ReduceLROnPlateau", "StepLR"]


def _check_optimizer(optimizer) -> None:
    if not hasattr(optimizer, "lr"):
        raise ValueError(
            f"optimizer must have a settable 'lr' attribute, got {type(optimizer).__name__}"
        )


def _check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(value)


def _check_real(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if math.isnan(value):
        raise ValueError(f"{name} must not be NaN")
    return value


def _check_non_negative(name: str, value) -> float:
    number = _check_real(name, value)
    if not math.isfinite(number) or number < 0.0:
        raise ValueError(f"{name} must be finite and >= 0, got {value!r}")
    return number


class ReduceLROnPlateau:
    """Multiply the learning rate by ``factor`` when a metric has stopped improving.

    Call ``step(metric)`` once per epoch, after validation. With the default ``mode="min"`` the
    metric is something where lower is better -- the paper uses the validation *error* rate
    (pass ``1 - top1_accuracy``, or use ``mode="max"`` with the accuracy).

    Semantics follow ``torch.optim.lr_scheduler.ReduceLROnPlateau``:

    * ``best`` starts at +inf (``mode="min"``) or -inf (``mode="max"``).
    * A metric is an improvement iff, for ``mode="min"``, ``metric < best * (1 - threshold)``
      (``threshold_mode="rel"``) or ``metric < best - threshold`` (``"abs"``); for ``mode="max"``,
      ``metric > best * (1 + threshold)`` or ``metric > best + threshold``. An improvement sets
      ``best = metric`` and resets ``num_bad_epochs`` to 0; anything else increments it.
    * While in cooldown (``cooldown_counter > 0``) the counter is decremented and bad epochs are
      not counted.
    * When ``num_bad_epochs > patience`` the lr becomes ``max(lr * factor, min_lr)``,
      ``num_bad_epochs`` is reset and ``cooldown_counter = cooldown``. So with ``patience=2`` the
      lr drops on the third consecutive epoch without improvement.

    ``step`` returns True iff it lowered the lr (it returns False when the lr is already at
    ``min_lr``). ``reductions`` counts the reductions performed. A NaN metric raises ValueError
    (a diverged run should stop, not silently look like "no improvement").

    ``state_dict()`` holds the configuration and the counters (``best``, ``num_bad_epochs``,
    ``cooldown_counter``, ``last_epoch``, ``reductions``); ``load_state_dict`` restores all of
    them, including the configuration saved in the checkpoint.
    """

    _CONFIG_KEYS = ("factor", "patience", "threshold", "threshold_mode", "cooldown", "min_lr", "mode")
    _COUNTER_KEYS = ("best", "num_bad_epochs", "cooldown_counter", "last_epoch", "reductions")

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
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        self._set_config(
            dict(
                factor=factor,
                patience=patience,
                threshold=threshold,
                threshold_mode=threshold_mode,
                cooldown=cooldown,
                min_lr=min_lr,
                mode=mode,
            )
        )
        self.best = math.inf if self.mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0
        self.reductions = 0

    @staticmethod
    def _validated_config(cfg: dict) -> dict:
        factor = _check_real("factor", cfg["factor"])
        if not (0.0 < factor < 1.0):
            raise ValueError(f"factor must satisfy 0 < factor < 1, got {cfg['factor']!r}")
        patience = _check_int("patience", cfg["patience"], 0)
        threshold = _check_non_negative("threshold", cfg["threshold"])
        threshold_mode = cfg["threshold_mode"]
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        if threshold_mode == "rel" and threshold >= 1.0:
            raise ValueError(f"a relative threshold must be < 1, got {threshold!r}")
        cooldown = _check_int("cooldown", cfg["cooldown"], 0)
        min_lr = _check_non_negative("min_lr", cfg["min_lr"])
        mode = cfg["mode"]
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        return dict(
            factor=factor,
            patience=patience,
            threshold=threshold,
            threshold_mode=threshold_mode,
            cooldown=cooldown,
            min_lr=min_lr,
            mode=mode,
        )

    def _set_config(self, cfg: dict) -> None:
        for key, value in self._validated_config(cfg).items():
            setattr(self, key, value)

    @property
    def lr(self) -> float:
        """The optimizer's current learning rate."""
        return float(self.optimizer.lr)

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
        try:
            current = float(metric)
        except (TypeError, ValueError):
            raise ValueError(f"metric must be a real number, got {metric!r}") from None
        if math.isnan(current):
            raise ValueError(
                f"ReduceLROnPlateau.step got a NaN metric at epoch {self.last_epoch + 1}; "
                "the run has probably diverged"
            )
        self.last_epoch += 1

        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1

        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs during cooldown do not count

        if self.num_bad_epochs > self.patience:
            self.num_bad_epochs = 0
            self.cooldown_counter = self.cooldown
            old_lr = float(self.optimizer.lr)
            new_lr = max(old_lr * self.factor, self.min_lr)
            if new_lr < old_lr:
                self.optimizer.lr = new_lr
                self.reductions += 1
                return True
        return False

    def state_dict(self) -> dict:
        """Configuration and counters as plain Python scalars/strings (``best`` may be +-inf)."""
        state = {key: getattr(self, key) for key in self._CONFIG_KEYS}
        state.update({key: getattr(self, key) for key in self._COUNTER_KEYS})
        return state

    def load_state_dict(self, state: dict) -> None:
        """Restore configuration and counters; validates everything before changing anything."""
        if not isinstance(state, dict):
            raise ValueError(f"scheduler state must be a dict, got {type(state).__name__}")
        expected = self._CONFIG_KEYS + self._COUNTER_KEYS
        missing = [k for k in expected if k not in state]
        if missing:
            raise ValueError(f"ReduceLROnPlateau state is missing {missing}")
        unknown = sorted(k for k in state if k not in expected)
        if unknown:
            raise ValueError(f"ReduceLROnPlateau state has unknown keys {unknown}")
        cfg = self._validated_config({k: _plain(state[k]) for k in self._CONFIG_KEYS})
        best = _check_real("best", _plain(state["best"]))
        counters = {
            k: _check_int(k, _plain(state[k]), 0)
            for k in ("num_bad_epochs", "cooldown_counter", "last_epoch", "reductions")
        }
        for key, value in cfg.items():
            setattr(self, key, value)
        self.best = best
        for key, value in counters.items():
            setattr(self, key, value)

    def __repr__(self) -> str:
        return (
            f"ReduceLROnPlateau(factor={self.factor}, patience={self.patience}, "
            f"threshold={self.threshold}, threshold_mode={self.threshold_mode!r}, "
            f"cooldown={self.cooldown}, min_lr={self.min_lr}, mode={self.mode!r}, best={self.best}, "
            f"num_bad_epochs={self.num_bad_epochs}, reductions={self.reductions})"
        )


class StepLR:
    """``lr = base_lr * gamma ** (epoch // step_size)``, updated by ``step()`` once per epoch.

    ``base_lr`` is the optimizer's lr when the schedule is created; epoch 0 is the first epoch.
    ``step(metric=None)`` ends an epoch (the metric is ignored; it is accepted so a training loop
    can call every schedule as ``sched.step(val_error)``) and sets the lr for the next one. It
    returns True iff the lr changed. The lr is computed in closed form, never accumulated.
    """

    def __init__(self, optimizer, step_size: int = 30, gamma: float = 0.1) -> None:
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        self.step_size = _check_int("step_size", step_size, 1)
        self.gamma = self._check_gamma(gamma)
        self.base_lr = float(optimizer.lr)
        self.last_epoch = 0

    @staticmethod
    def _check_gamma(gamma) -> float:
        g = _check_real("gamma", gamma)
        if not math.isfinite(g) or g <= 0.0:
            raise ValueError(f"gamma must be finite and > 0, got {gamma!r}")
        return g

    @property
    def lr(self) -> float:
        return float(self.optimizer.lr)

    def lr_at(self, epoch: int) -> float:
        """The learning rate this schedule assigns to (0-based) ``epoch``."""
        epoch = _check_int("epoch", epoch, 0)
        return self.base_lr * self.gamma ** (epoch // self.step_size)

    def step(self, metric=None) -> bool:
        self.last_epoch += 1
        old_lr = float(self.optimizer.lr)
        new_lr = self.lr_at(self.last_epoch)
        self.optimizer.lr = new_lr
        return new_lr != old_lr

    def state_dict(self) -> dict:
        return {
            "step_size": self.step_size,
            "gamma": self.gamma,
            "base_lr": self.base_lr,
            "last_epoch": self.last_epoch,
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore the schedule. Does not touch the optimizer's lr (restore the optimizer too)."""
        if not isinstance(state, dict):
            raise ValueError(f"scheduler state must be a dict, got {type(state).__name__}")
        expected = ("step_size", "gamma", "base_lr", "last_epoch")
        missing = [k for k in expected if k not in state]
        if missing:
            raise ValueError(f"StepLR state is missing {missing}")
        unknown = sorted(k for k in state if k not in expected)
        if unknown:
            raise ValueError(f"StepLR state has unknown keys {unknown}")
        step_size = _check_int("step_size", _plain(state["step_size"]), 1)
        gamma = self._check_gamma(_plain(state["gamma"]))
        base_lr = _check_real("base_lr", _plain(state["base_lr"]))
        if not math.isfinite(base_lr) or base_lr < 0.0:
            raise ValueError(f"base_lr must be finite and >= 0, got {base_lr!r}")
        last_epoch = _check_int("last_epoch", _plain(state["last_epoch"]), 0)
        self.step_size, self.gamma, self.base_lr, self.last_epoch = step_size, gamma, base_lr, last_epoch

    def __repr__(self) -> str:
        return (
            f"StepLR(step_size={self.step_size}, gamma={self.gamma}, base_lr={self.base_lr}, "
            f"last_epoch={self.last_epoch})"
        )


def _plain(value):
    """Turn a numpy scalar / 0-d array (e.g. from an .npz) into the equivalent Python scalar."""
    item = getattr(value, "item", None)
    if item is not None and getattr(value, "shape", None) == ():
        return item()
    return value
