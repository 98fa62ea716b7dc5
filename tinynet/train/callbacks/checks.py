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
    """Warn once when the network is stuck predicting every class equally, after at least
    ``patience`` training steps of it: the training loss within 1% of ln(num_classes) for
    ``patience`` steps in a row, or over whole epochs that add up to ``patience`` steps, or
    training and validation accuracy below 1.5x chance for two epochs or more in a row that add
    up to ``patience`` steps. (A few epochs of a few steps each are no evidence: a network
    often starts at chance.)

    The warning names the epoch and step it is about; one found at the end of an epoch is given
    after the epoch's own line (at the next epoch's start, or when ``fit`` ends). Its advice fits
    the run: the paper's init and Caffe's (``model.config["init"]`` "paper" or "caffe", not
    started from ``--weights``) are known to sit at chance, so it says to change the init;
    otherwise it speaks of the learning rate, and for a run started from weights of the
    fine-tuning rate.
    """

    PAPER_INIT_ADVICE = (
        "the network is not learning. The paper's init (std 0.01, biases 1) is "
        "known to sit here for a long time: use init 'he' or 'caffe' (--init he), or a smaller "
        "learning rate."
    )
    CAFFE_INIT_ADVICE = (
        "the network is not learning. bvlc_alexnet's init (std 0.01, fc6/fc7 0.005, biases 0.1) "
        "shrinks the signal through the layers as the paper's does and can sit here for a long "
        "time: use init 'he' (--init he), or a smaller learning rate."
    )

    def __init__(self, patience: int = 300):
        self.patience = patience
        self.count = 0  # steps in a row with the loss at chance
        self.loss_epochs = self.loss_steps = 0  # epochs in a row with the epoch loss at chance
        self.chance_epochs = self.chance_steps = 0  # ... with the accuracies at chance
        self.warned = False
        self.pending: str | None = None  # found at an epoch's end, given after its line
        self.epoch_began = 0  # trainer.step at the start of the current epoch

    def _at_chance(self, trainer, loss) -> float | None:
        classes = trainer.num_classes or 0
        chance = math.log(classes) if classes > 1 else 0.0
        return chance if chance and abs(loss - chance) <= 0.01 * chance else None

    def on_epoch_begin(self, trainer):
        self._flush()
        self.epoch_began = trainer.step - trainer.epoch_step  # a resumed epoch began earlier

    def on_fit_end(self, trainer):
        self._flush()

    def on_batch_end(self, trainer, phase, meter):
        if phase != "train" or self.warned:
            return
        chance = self._at_chance(trainer, trainer.last_loss)
        self.count = self.count + 1 if chance else 0
        if self.count >= self.patience:
            self.warned = True
            self._warn(
                trainer,
                f"epoch {trainer.epoch + 1}, step {trainer.step}: the training loss has stayed "
                f"within 1% of ln({trainer.num_classes}) = {chance:.4f} for the last "
                f"{self.count} steps",
            )

    def on_epoch_end(self, trainer, record):
        if self.warned:
            return
        steps = max(trainer.step - self.epoch_began, 0)
        epoch, classes = record["epoch"], trainer.num_classes
        chance = self._at_chance(trainer, record["train_loss"])
        self.loss_epochs = self.loss_epochs + 1 if chance else 0
        self.loss_steps = self.loss_steps + steps if chance else 0
        guess = 1 / (classes or 1)  # accuracy of a constant or random guess
        accuracies = [record["train_top1"], record.get("val_top1", 0.0)]
        stuck = max(accuracies) < 1.5 * guess
        self.chance_epochs = self.chance_epochs + 1 if stuck else 0
        self.chance_steps = self.chance_steps + steps if stuck else 0
        if chance and self.loss_steps >= self.patience:
            what = (
                f"{_epochs(epoch, self.loss_epochs)} ({self.loss_steps} steps, to step "
                f"{trainer.step}): the training loss stayed at ln({classes}) = {chance:.4f} "
                f"(epoch {epoch}: {record['train_loss']:.4f})"
            )
        elif self.chance_epochs >= 2 and self.chance_steps >= self.patience:
            what = (
                f"{_epochs(epoch, self.chance_epochs)} ({self.chance_steps} steps, to step "
                f"{trainer.step}): training and validation accuracy stayed at chance level "
                f"({100 * guess:.0f}%)"
            )
        else:
            return
        self.warned = True
        self.pending = f"{what}: {self._advice(trainer)}"  # after the epoch's line

    def _advice(self, trainer) -> str:
        config = trainer.config
        weights = getattr(config, "weights", None)
        init = (getattr(trainer.model, "config", None) or {}).get("init")
        lr = trainer.optimizer.lr
        if init == "paper" and not weights:
            return self.PAPER_INIT_ADVICE
        if init == "caffe" and not weights:
            return self.CAFFE_INIT_ADVICE
        if lr <= 0:
            return "the network is not learning: its learning rate is 0."
        smaller = f"a smaller learning rate (--lr {lr / 10:g})"
        if weights:
            return (
                f"the network is not learning from the weights it started from ({weights}) at "
                f"learning rate {lr:g}. Fine-tuning usually wants a smaller learning rate than "
                f"training from scratch: try {smaller}; check too that the labels fit the images."
            )
        return (
            f"the network is not learning at learning rate {lr:g}: a rate too large pushes it to "
            f"one constant output, one too small leaves it where it started. Try a few rates "
            f"around it (--lr {lr / 10:g} and --lr {lr * 10:g}); check too that the labels fit "
            "the images."
        )

    def _flush(self) -> None:
        if self.pending is not None:
            what, self.pending = self.pending, None
            warnings.warn(what, LossPlateauWarning, stacklevel=_caller_level())

    def _warn(self, trainer, what: str) -> None:
        warnings.warn(
            f"{what}: {self._advice(trainer)}", LossPlateauWarning, stacklevel=_caller_level()
        )

    def state_dict(self) -> dict:
        return {
            "count": self.count, "warned": self.warned,
            "loss_epochs": self.loss_epochs, "loss_steps": self.loss_steps,
            "chance_epochs": self.chance_epochs, "chance_steps": self.chance_steps,
        }  # fmt: skip

    def load_state_dict(self, state: dict) -> None:
        self.count, self.warned = int(state["count"]), bool(state["warned"])
        for key in ("loss_epochs", "loss_steps", "chance_epochs", "chance_steps"):
            setattr(self, key, int(state.get(key, 0)))


def _epochs(last: int, count: int) -> str:
    """``epoch 7`` or ``epochs 3-7``: the ``count`` epochs up to ``last``."""
    return f"epoch {last}" if count <= 1 else f"epochs {last - count + 1}-{last}"
