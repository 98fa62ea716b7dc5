"""Evaluation passes and class probabilities: the model in eval mode, no gradients."""

from __future__ import annotations

import time

import numpy as np

from ..dist import LOCAL
from ..layers import SoftmaxCrossEntropy, nll, softmax
from .metrics import Meter, Stats


def predict_proba(model, images: np.ndarray) -> np.ndarray:
    """Class probabilities (N, K) in eval mode (the mode is restored afterwards); a
    (N, crops, C, H, W) input averages the softmax over the crops."""
    images = np.asarray(images)
    with model.evaluating():
        if images.ndim == 5:
            n, crops = images.shape[:2]
            probs = softmax(model.forward(images.reshape(n * crops, *images.shape[2:])))
            return probs.reshape(n, crops, -1).mean(axis=1)
        return softmax(model.forward(images))


def evaluate(model, batches, *, on_batch=None, comm=LOCAL) -> Stats:
    """Cross-entropy and top-1/top-5 accuracy in eval mode over (images, labels) batches.

    10-crop batches (N, 10, C, H, W) average the softmax over the crops; the loss is then the
    cross-entropy of that average. ``on_batch(meter)`` follows each batch (progress bars). With
    a multi-process ``comm`` each rank evaluates its own share and the figures are summed.
    """
    loss_fn = SoftmaxCrossEntropy()
    meter = Meter()
    start = time.perf_counter()
    with model.evaluating():
        for images, labels in batches:
            labels = np.asarray(labels)
            if len(labels) == 0:  # every file of the batch unreadable (a loader's keep_empty)
                pass
            elif np.asarray(images).ndim == 5:
                probs = predict_proba(model, images)
                loss = nll(np.log(np.maximum(probs, 1e-30)), labels)
                meter.update(loss, probs, labels)
            else:
                scores = model.forward(images)
                meter.update(loss_fn.forward(scores, labels), scores, labels)
            if on_batch is not None:
                on_batch(meter)
    meter.seconds = time.perf_counter() - start
    return meter.total(comm)
