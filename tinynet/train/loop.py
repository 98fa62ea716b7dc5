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


def _diverged(loss, step, optimizer) -> TrainingDiverged:
    return TrainingDiverged(
        f"the training loss became {loss} at step {step + 1} with learning rate "
        f"{optimizer.lr:g}; stopping before the weights are updated. Lower the learning "
        "rate or use another init.")


def _summed(meter: Meter, comm) -> Meter:
    """The meter's sums over the ranks of ``comm`` (each rank counted its own samples)."""
    if comm is None or comm.size == 1:
        return meter
    total = Meter()
    images, loss_sum, top1, top5 = comm.sum([meter.images, meter.loss_sum, meter.top1,
                                             meter.top5])
    total.images, total.loss_sum, total.top1, total.top5 = (int(images), float(loss_sum),
                                                            int(top1), int(top5))
    return total


def train_epoch(model, loss_fn, optimizer, batches, *, step: int = 0, watch=None,
                on_batch=None, sync=None) -> tuple[EpochStats, int]:
    """Forward, loss, backward and optimizer step for every (images, labels) batch.

    Returns the epoch's figures and the global step count after it. Raises
    ``TrainingDiverged`` before stepping when the loss is not finite, naming the step and lr.
    ``on_batch(meter)`` is called after each step (for progress bars).

    ``sync`` (a ``tinynet.dist.GradientSync``, data-parallel runs only) averages the gradients
    over the ranks between backward and step; the divergence check and ``watch`` then see the
    global batch's loss, the same on every rank, and the returned figures are summed over ranks.
    """
    model.train()
    meter = Meter()
    start = time.perf_counter()
    for images, labels in batches:
        scores = model.forward(images)
        loss = global_loss = loss_fn.forward(scores, labels)
        if sync is None and not math.isfinite(loss):
            raise _diverged(loss, step, optimizer)
        model.backward(loss_fn.backward())
        if sync is not None:
            global_loss = sync.average(loss)
            if not math.isfinite(global_loss):
                raise _diverged(global_loss, step, optimizer)
        optimizer.step()
        step += 1
        meter.update(loss, scores, labels)
        if watch is not None:
            watch.update(global_loss)
        if on_batch is not None:
            on_batch(meter)
    if sync is not None:
        meter = _summed(meter, sync.comm)
    seconds = time.perf_counter() - start
    stats = EpochStats(meter.loss, meter.acc1, meter.acc5, meter.images, seconds,
                       meter.images / seconds if seconds > 0 else 0.0)
    return stats, step


def predict_proba(model, images: np.ndarray) -> np.ndarray:
    """Class probabilities (N, K) in eval mode (the mode is restored afterwards); a
    (N, crops, C, H, W) input averages the softmax over the crops."""
    images = np.asarray(images)
    was_training = model.training
    model.eval()
    try:
        if images.ndim == 5:
            n, crops = images.shape[:2]
            probs = softmax(model.forward(images.reshape(n * crops, *images.shape[2:])))
            return probs.reshape(n, crops, -1).mean(axis=1)
        return softmax(model.forward(images))
    finally:
        model.train(was_training)


def evaluate(model, loss_fn, batches, *, on_batch=None, comm=None) -> EvalStats:
    """Loss and top-1/top-5 accuracy in eval mode; 10-crop batches (N, 10, C, H, W) average softmax.

    The model's train/eval mode is restored afterwards. With a ``comm`` (``tinynet.dist``) each
    rank evaluates its own share of the data and the figures are summed over the ranks.
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
    meter = _summed(meter, comm)
    return EvalStats(meter.loss, meter.acc1, meter.acc5, meter.images,
                     time.perf_counter() - start)
