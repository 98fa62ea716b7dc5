"""The learning-rate range test (Smith 2015, fastai's ``lr_find``): one short run whose learning
rate grows exponentially every step, and the loss it gives at each rate."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ..validate import fraction, integer, positive, real
from .callbacks import Callback, LossPlateauWarning, TrainingDiverged
from .trainer import Trainer

__all__ = ["LRRange", "lr_range_test"]


@dataclass
class LRRange:
    """What ``lr_range_test`` measured, one entry per step taken.

    ``lrs``: the learning rate of each step (float64, increasing), ``losses``: its training
    loss (the batch's, before that step's update), ``smoothed``: their exponential moving
    average with bias correction. ``stopped``: why the test ended before its last step, or None.
    """

    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    stopped: str | None = None

    @property
    def best_lr(self) -> float:
        """The learning rate at which the smoothed loss was lowest."""
        return float(self.lrs[int(np.nanargmin(self.smoothed))])

    @property
    def steepest_lr(self) -> float:
        """The learning rate at which the smoothed loss fell fastest per decade of lr
        (up to ``best_lr``)."""
        end = int(np.nanargmin(self.smoothed)) + 1
        if end < 3:
            return float(self.lrs[0])
        slope = np.gradient(self.smoothed[:end], np.log10(self.lrs[:end]))
        return float(self.lrs[int(np.argmin(slope))])

    @property
    def suggestion(self) -> float:
        """A rate to train at: one decade below ``best_lr`` (fastai's rule of thumb), i.e.
        before the loss bottoms out and starts to diverge."""
        return self.best_lr / 10


class _Ramp(Callback):
    """Records each step's loss and sets the next step's learning rate; stops at the end of the
    ramp or when the smoothed loss passes ``diverge`` times its minimum."""

    def __init__(self, lrs, beta, diverge):
        self.lrs, self.beta, self.diverge = lrs, beta, diverge
        self.losses, self.smoothed, self.stopped = [], [], None
        self.average = 0.0

    def on_batch_end(self, trainer, phase, meter):
        if phase != "train":
            return
        loss = float(trainer.last_loss)
        self.losses.append(loss)
        self.average = self.beta * self.average + (1 - self.beta) * loss
        self.smoothed.append(self.average / (1 - self.beta ** len(self.losses)))
        done = len(self.losses)
        if done == len(self.lrs):
            trainer.stop_requested = "end of the ramp"
        elif self.smoothed[-1] > self.diverge * min(self.smoothed):
            self.stopped = trainer.stop_requested = (
                f"smoothed loss {self.smoothed[-1]:.3g} > {self.diverge:g} x its minimum "
                f"{min(self.smoothed):.3g} at lr {self.lrs[done - 1]:.3g}"
            )
        else:
            trainer.optimizer.lr = self.lrs[done]


def lr_range_test(
    model,
    batches,
    *,
    min_lr: float = 1e-5,
    max_lr: float = 1.0,
    steps: int = 100,
    beta: float = 0.9,
    diverge: float = 4.0,
    config=None,
    **settings,
) -> LRRange:
    """Train ``model`` for up to ``steps`` steps with the learning rate growing exponentially
    from ``min_lr`` to ``max_lr`` (``lr_i = min_lr * (max_lr / min_lr) ** (i / (steps - 1))``)
    and record the loss of every step -> ``LRRange``. ``model`` is left as it was (its state is
    restored at the end).

    ``batches``: an iterable of (images, labels), e.g. ``ArrayBatches``; epochs of it follow
    one another until ``steps`` steps are done. The optimizer is the trainer's
    (``Trainer.for_model(model, config, **settings)``: the paper's SGD with momentum 0.9 and weight
    decay 5e-4 unless ``settings`` say otherwise), without a schedule. The test stops early
    when the loss is not finite or its moving average (``beta``) passes ``diverge`` times its
    minimum. Read the curve: the loss falls, bottoms out, then shoots up; a good rate is on the
    falling part, before the bottom (``LRRange.suggestion``).
    """
    steps = integer("lr_range_test: steps", steps, 2)
    min_lr = positive("lr_range_test: min_lr", min_lr)
    max_lr = positive("lr_range_test: max_lr", max_lr)
    if not min_lr < max_lr:
        raise ValueError(f"lr_range_test: min_lr must be < max_lr, got {min_lr!r} and {max_lr!r}")
    beta = fraction("lr_range_test: beta", beta)
    if not real("lr_range_test: diverge", diverge) > 1:
        raise ValueError(f"lr_range_test: diverge must be > 1, got {diverge!r}")
    if "schedule" in settings:
        raise ValueError("lr_range_test: the learning rate follows the ramp; give no schedule")
    if not hasattr(batches, "__len__") or len(batches) == 0:
        raise ValueError("lr_range_test: batches must be a sized, non-empty iterable of batches")
    lrs = min_lr * (max_lr / min_lr) ** (np.arange(steps) / (steps - 1))
    saved = model.state_dict()
    trainer = Trainer.for_model(
        model, config, lr=float(lrs[0]), schedule=None, stall_patience=steps + 1, **settings
    )
    ramp = _Ramp(lrs, beta, diverge)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", LossPlateauWarning)
            warnings.simplefilter("ignore", RuntimeWarning)  # overflows on the way to a NaN
            trainer.fit(batches, None, epochs=-(-steps // len(batches)), callbacks=[ramp])
    except TrainingDiverged:
        ramp.stopped = f"loss not finite at lr {lrs[len(ramp.losses)]:.3g}"
    finally:
        model.load_state_dict(saved)
    done = len(ramp.losses)
    return LRRange(lrs[:done], np.array(ramp.losses), np.array(ramp.smoothed), ramp.stopped)
