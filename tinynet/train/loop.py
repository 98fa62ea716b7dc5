"""One training epoch and one evaluation pass over any iterable of (images, labels) batches."""
from __future__ import annotations

import math
import time
import warnings
from dataclasses import asdict, dataclass

import numpy as np

from ..layers.loss import softmax
from .metrics import Meter


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; nothing was stepped or saved after it."""


class LossPlateauWarning(UserWarning):
    """The training loss has stayed at ln(num_classes), i.e. the net predicts uniformly."""


@dataclass
class EpochStats:
    """Training figures of one epoch: mean loss, top-1/top-5 accuracy on the training batches."""
    loss: float
    acc1: float
    acc5: float
    images: int
    seconds: float
    images_per_sec: float

    def as_dict(self):
        return asdict(self)


@dataclass
class EvalStats:
    """Evaluation figures: loss, accuracy and error (1 - accuracy) at top-1 and top-5."""
    loss: float
    acc1: float
    acc5: float
    images: int
    seconds: float

    @property
    def top1_error(self) -> float:
        return 1.0 - self.acc1

    @property
    def top5_error(self) -> float:
        return 1.0 - self.acc5

    def as_dict(self):
        return {**asdict(self), "top1_error": self.top1_error, "top5_error": self.top5_error}


class PlateauWatch:
    """Warns once when the loss stays within 1% of ln(num_classes) for ``patience`` steps."""

    def __init__(self, num_classes: int, patience: int = 300):
        self.chance = math.log(num_classes) if num_classes > 1 else 0.0
        self.patience = patience
        self.count = 0
        self.warned = False

    def update(self, loss: float) -> None:
        if self.chance > 0 and abs(loss - self.chance) <= 0.01 * self.chance:
            self.count += 1
        else:
            self.count = 0
        if self.count >= self.patience and not self.warned:
            self.warned = True
            warnings.warn(
                f"the training loss has stayed within 1% of ln({round(math.exp(self.chance))}) = "
                f"{self.chance:.4f} for {self.count} steps: the network predicts every class "
                "equally. The paper's init (std 0.01, biases 1) is known to sit here for a long "
                "time; try init='caffe' or init='he', or a smaller learning rate.",
                LossPlateauWarning, stacklevel=2)


def train_epoch(model, loss_fn, optimizer, batches, *, step: int = 0, watch=None,
                on_batch=None) -> tuple[EpochStats, int]:
    """Forward, loss, backward and optimizer step for every (images, labels) batch.

    Returns the epoch's figures and the global step count after it. Raises
    ``TrainingDiverged`` before stepping when the loss is not finite, naming the step and lr.
    ``on_batch(meter)`` is called after each step (for progress bars).
    """
    model.train()
    meter = Meter()
    start = time.perf_counter()
    for images, labels in batches:
        scores = model.forward(images)
        loss = loss_fn.forward(scores, labels)
        if not math.isfinite(loss):
            raise TrainingDiverged(
                f"the training loss became {loss} at step {step + 1} with learning rate "
                f"{optimizer.lr:g}; stopping before the weights are updated. Lower the learning "
                "rate or use another init.")
        model.backward(loss_fn.backward())
        optimizer.step()
        step += 1
        meter.update(loss, scores, labels)
        if watch is not None:
            watch.update(loss)
        if on_batch is not None:
            on_batch(meter)
    seconds = time.perf_counter() - start
    stats = EpochStats(meter.loss, meter.acc1, meter.acc5, meter.images, seconds,
                       meter.images / seconds if seconds > 0 else 0.0)
    return stats, step


def predict_proba(model, images: np.ndarray) -> np.ndarray:
    """Class probabilities (N, K) in eval mode; (N, crops, C, H, W) input averages over crops."""
    images = np.asarray(images)
    if images.ndim == 5:
        n, crops = images.shape[:2]
        probs = softmax(model.forward(images.reshape(n * crops, *images.shape[2:])))
        return probs.reshape(n, crops, -1).mean(axis=1)
    return softmax(model.forward(images))


def evaluate(model, loss_fn, batches, *, on_batch=None) -> EvalStats:
    """Loss and top-1/top-5 accuracy in eval mode; 10-crop batches (N, 10, C, H, W) average softmax.

    The model's train/eval mode is restored afterwards.
    """
    was_training = model.training
    model.eval()
    meter = Meter()
    start = time.perf_counter()
    try:
        for images, labels in batches:
            labels = np.asarray(labels)
            if np.asarray(images).ndim == 5:
                probs = predict_proba(model, images)
                picked = probs[np.arange(len(labels)), labels]
                loss = float(-np.log(np.maximum(picked, 1e-30)).mean())
                meter.update(loss, probs, labels)
            else:
                scores = model.forward(images)
                meter.update(loss_fn.forward(scores, labels), scores, labels)
            if on_batch is not None:
                on_batch(meter)
    finally:
        model.train(was_training)
    return EvalStats(meter.loss, meter.acc1, meter.acc5, meter.images,
                     time.perf_counter() - start)
