"""Solutions to notebooks/exercises/4_training_and_saliency.ipynb: the sanity checks of lecture
05 around a training loop (the loss at initialisation, a finite loss, overfitting one small
batch), and the saliency map of Simonyan et al. 2013 (with lecture 07's layer-by-layer view).
Each function has the name and the signature of its stub in the notebook."""

from __future__ import annotations

import numpy as np

from tinynet.optim import SGD


def initial_loss(model, loss_fn, x, y, tol):
    """The loss of an untrained classifier on (x, y), checked against ln K.

    model:   a tinynet Sequential giving logits (N, K); K is its number of outputs.
    loss_fn: a tinynet.layers.SoftmaxCrossEntropy.
    x:       images, float (N, C, H, W).   y: labels, int (N,) in [0, K).
    tol:     the largest accepted |loss - ln K|.
    Returns the loss (a float), computed in eval mode (no dropout); the model is left in the
    mode it was in. Raises ValueError, with the loss and ln K in its message, when
    |loss - ln K| > tol.
    """
    # With logits that do not prefer any class, softmax gives 1/K to each and the cross-entropy
    # is -ln(1/K) = ln K. K is the width of the logits, not the number of classes in y.
    with model.evaluating():  # eval mode and no_grad, both restored afterwards
        logits = model.forward(x)
    loss = float(loss_fn.forward(logits, y))
    expected = float(np.log(logits.shape[1]))
    if not abs(loss - expected) <= tol:  # also catches a NaN loss
        raise ValueError(
            f"loss at initialisation {loss:.4f} is not within {tol} of ln K = {expected:.4f} "
            f"(K = {logits.shape[1]})"
        )
    return loss


def train_steps(model, loss_fn, optimizer, batches, steps):
    """Train ``model`` for ``steps`` optimizer steps -> the loss of each step, float64 (steps,).

    loss_fn:   a tinynet.layers.SoftmaxCrossEntropy.
    optimizer: a tinynet.optim.SGD over the model's parameters (``step()`` updates them from
               their gradients).
    batches:   a re-iterable of (x (B, C, H, W) float, y (B,) int), e.g. ArrayBatches; when a
               pass over it ends, start a new pass.
    Each step: forward one batch in training mode, the loss, backward, one optimizer step.
    Raises FloatingPointError naming the step (1, 2, ...) when the loss is not finite, before
    that step changes the weights.
    """
    model.train()  # dropout on (the model may come in eval mode)
    losses = np.empty(steps, dtype=np.float64)
    it = iter(batches)
    for step in range(steps):
        try:
            x, y = next(it)
        except StopIteration:  # a new pass (an epoch) over the batches
            it = iter(batches)
            x, y = next(it)
        loss = loss_fn.forward(model.forward(x), y)
        if not np.isfinite(loss):
            raise FloatingPointError(f"the loss is {loss} at step {step + 1}: stopping")
        # tinynet's backward overwrites the gradients (no zero_grad needed, unlike PyTorch)
        model.backward(loss_fn.backward())
        optimizer.step()
        losses[step] = loss
    return losses


def overfit(model, loss_fn, x, y, steps, lr, target):
    """Sanity check: can the model memorise one small batch? -> the losses, float64 (steps,).

    x: images, float (N, C, H, W); y: labels, int (N,): all of them form the one batch of
    every step. Trains with ``train_steps`` and ``tinynet.optim.SGD`` with learning rate ``lr``,
    momentum 0.9 and no weight decay. Raises RuntimeError, with the last loss in its message,
    when the loss of the last step is not below ``target``.
    """
    optimizer = SGD(model.named_parameters(), lr=lr, momentum=0.9)
    losses = train_steps(model, loss_fn, optimizer, [(x, y)], steps)
    if not losses[-1] < target:
        raise RuntimeError(
            f"overfitting {len(y)} images failed: loss {losses[-1]:.4f} after {steps} steps "
            f"(target {target})"
        )
    return losses


def saliency(model, x, labels):
    """Simonyan et al.'s saliency map: max over channels of |d score_label / d x|.

    model:  a tinynet Sequential giving logits (N, K), in either mode.
    x:      images, float (N, C, H, W).   labels: int (N,), the class of each image's map.
    Returns (N, H, W): for image n, the largest over its channels of the absolute gradient of
    its label's logit (the class score before the softmax) with respect to its pixels, computed
    in eval mode. The model is left as it was found (mode, and its first layer's input_grad).
    """
    first = next(iter(model))[1]
    was_training, had_input_grad = model.training, getattr(first, "input_grad", None)
    model.eval()  # dropout off: the map of the network that predicts
    if had_input_grad is not None:
        first.input_grad = True  # conv1 skips dL/dx by default: the image needs none in training
    try:
        logits = model.forward(x)
        # d/dx of sum_n z[n, labels[n]]: each image's score depends on that image only
        dout = np.zeros_like(logits)
        dout[np.arange(len(labels)), labels] = 1
        dx = model.backward(dout)
    finally:
        model.train(was_training)
        if had_input_grad is not None:
            first.input_grad = had_input_grad
    return np.abs(dx).max(axis=1)
