"""``UpdateRatio``: the size of each step's update relative to the weights, per parameter."""

from __future__ import annotations

import numpy as np

from ..validate import integer
from .callbacks import Callback

__all__ = ["UpdateRatio"]


class UpdateRatio(Callback):
    """Record ``||update|| / ||w||`` for each weight after every training step.

    The update is what the step added to ``w``: the optimizer's velocity (``lr * grad`` plus
    momentum and weight decay for ``tinynet.optim.SGD``), and ``w`` the weights before it.
    CS231n's rule of thumb: about 1e-3; far below, that layer barely learns (the learning rate
    is too small); far above, the steps are too large.

    ``names``: the parameters to follow (default: every trained one whose name ends in
    ``weight``); ``every``: record every ``every``-th step. After ``fit``: ``steps`` (the
    recorded step numbers, from 1) and ``ratios`` (``{name: list of floats}``, one per step);
    ``as_arrays()`` gives them as float64 arrays.
    """

    def __init__(self, names=None, every: int = 1):
        self.names = None if names is None else list(names)
        self.every = integer("UpdateRatio: every", every, 1)
        self.steps: list[int] = []
        self.ratios: dict[str, list[float]] = {}

    def on_fit_begin(self, trainer):
        trained = trainer.optimizer.param_names
        if self.names is None:
            self.names = [n for n in trained if n == "weight" or n.endswith(".weight")]
        unknown = [n for n in self.names if n not in trained]
        if unknown:
            raise ValueError(
                f"UpdateRatio: {unknown} are not parameters the optimizer trains "
                f"(it trains {list(trained)})"
            )
        for name in self.names:
            self.ratios.setdefault(name, [])

    def on_batch_end(self, trainer, phase, meter):
        if phase != "train" or trainer.step % self.every:
            return
        self.steps.append(trainer.step)
        for name in self.names:
            update = trainer.optimizer.velocity(name)
            before = trainer.model.params[name] - update
            norm = float(np.linalg.norm(before))
            ratio = float(np.linalg.norm(update)) / norm if norm > 0 else float("inf")
            self.ratios[name].append(ratio)

    def as_arrays(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """``(steps, {name: ratios})`` as float64 arrays."""
        steps = np.array(self.steps, dtype=np.float64)
        return steps, {name: np.array(r, dtype=np.float64) for name, r in self.ratios.items()}
