"""Watching the loss: stop on divergence, warn when the network is stuck at chance."""

from __future__ import annotations

import math
import warnings

from .base import Callback


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; nothing was stepped or saved after it."""


class LossPlateauWarning(UserWarning):
    """The training loss has stayed at ln(num_classes), i.e. the net predicts uniformly."""


class DivergenceCheck(Callback):
    """Raise ``TrainingDiverged`` before the weights are updated when the loss is not finite.

    Runs on every rank: the loss it sees is the global batch's, so all ranks stop together.
    """

    every_rank = True

    def on_backward(self, trainer, loss):
        if not math.isfinite(loss):
            raise TrainingDiverged(
                f"the training loss became {loss} at step {trainer.step + 1} with learning rate "
                f"{trainer.optimizer.lr:g}; stopping before the weights are updated. Lower the "
                "learning rate or use another init."
            )


class StallWarning(Callback):
    """Warn once when the loss stays within 1% of ln(num_classes) for ``patience`` steps."""

    def __init__(self, patience: int = 300):
        self.patience = patience
        self.count = 0
        self.warned = False

    def on_batch_end(self, trainer, phase, meter):
        if phase != "train" or self.warned:
            return
        classes = trainer.num_classes
        chance = math.log(classes) if classes and classes > 1 else 0.0
        loss = trainer.last_loss
        self.count = self.count + 1 if chance and abs(loss - chance) <= 0.01 * chance else 0
        if self.count >= self.patience:
            self.warned = True
            warnings.warn(
                f"the training loss has stayed within 1% of ln({classes}) = {chance:.4f} for "
                f"{self.count} steps: the network predicts every class equally. The paper's init "
                "(std 0.01, biases 1) is known to sit here for a long time; try init='caffe' or "
                "init='he', or a smaller learning rate.",
                LossPlateauWarning,
                stacklevel=2,
            )

    def state_dict(self) -> dict:
        return {"count": self.count, "warned": self.warned}

    def load_state_dict(self, state: dict) -> None:
        self.count, self.warned = int(state["count"]), bool(state["warned"])
