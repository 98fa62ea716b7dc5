"""Watching the loss: stop on divergence, warn when the network is stuck at chance."""

from __future__ import annotations

import math
import sys
import warnings
from pathlib import Path

from .base import Callback

_PACKAGE = str(Path(__file__).resolve().parents[2])


def _caller_level() -> int:
    """The ``stacklevel`` that points a warning at the first caller outside tinynet (the user's
    ``trainer.fit(...)`` line), not into the library."""
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    return level


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
    """Warn once when the network is stuck predicting every class equally: the training loss
    within 1% of ln(num_classes) for ``patience`` steps or over a whole epoch, or training and
    validation accuracy below 1.5x chance for two epochs in a row."""

    ADVICE = (
        "the network is not learning. The paper's init (std 0.01, biases 1) is "
        "known to sit here for a long time: use init 'he' or 'caffe' (--init he), or a smaller "
        "learning rate."
    )

    def __init__(self, patience: int = 300):
        self.patience = patience
        self.count = self.chance_epochs = 0
        self.warned = False

    def _at_chance(self, trainer, loss) -> float | None:
        classes = trainer.num_classes or 0
        chance = math.log(classes) if classes > 1 else 0.0
        return chance if chance and abs(loss - chance) <= 0.01 * chance else None

    def on_batch_end(self, trainer, phase, meter):
        if phase != "train" or self.warned:
            return
        chance = self._at_chance(trainer, trainer.last_loss)
        self.count = self.count + 1 if chance else 0
        if self.count >= self.patience:
            self._warn(f"the training loss has stayed within 1% of ln({trainer.num_classes}) = "
                       f"{chance:.4f} for {self.count} steps")  # fmt: skip

    def on_epoch_end(self, trainer, record):
        if self.warned:
            return
        chance = self._at_chance(trainer, record["train_loss"])
        if chance:
            self._warn(f"epoch {record['epoch']}: the training loss {record['train_loss']:.4f} "
                       f"is ln({trainer.num_classes}) = {chance:.4f}")  # fmt: skip
            return
        guess = 1 / (trainer.num_classes or 1)  # accuracy of a constant or random guess
        accuracies = [record["train_top1"], record.get("val_top1", 0.0)]
        self.chance_epochs = self.chance_epochs + 1 if max(accuracies) < 1.5 * guess else 0
        if self.chance_epochs >= 2:
            self._warn(f"epochs {record['epoch'] - 1}-{record['epoch']}: training and validation "
                       f"accuracy stayed at chance level ({100 * guess:.0f}%)")  # fmt: skip

    def _warn(self, what: str) -> None:
        self.warned = True
        warnings.warn(f"{what}: {self.ADVICE}", LossPlateauWarning, stacklevel=_caller_level())

    def state_dict(self) -> dict:
        return {"count": self.count, "chance_epochs": self.chance_epochs, "warned": self.warned}

    def load_state_dict(self, state: dict) -> None:
        self.count, self.warned = int(state["count"]), bool(state["warned"])
        self.chance_epochs = int(state.get("chance_epochs", 0))
