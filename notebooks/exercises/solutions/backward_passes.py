"""Solutions to 1_backward_passes.ipynb: ReLU, Linear, softmax cross-entropy, dropout, SGD."""

import numpy as np


def relu_backward(dout, x):
    """dL/dx (N, D) float64 of y = max(x, 0), from dout = dL/dy and the input x, both (N, D)."""
    return dout * (x > 0)


def linear_backward(dout, x, w):
    """(dx (N, D), dw (M, D), db (M,)) of y = x @ w.T + b; dout (N, M), x (N, D), w (M, D)."""
    return dout @ w, dout.T @ x, dout.sum(axis=0)


def softmax_ce_backward(logits, labels):
    """dL/dlogits (N, K) of the mean cross-entropy; logits (N, K) float64, labels (N,) int."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(shifted)
    p /= p.sum(axis=1, keepdims=True)
    n = logits.shape[0]
    p[np.arange(n), labels] -= 1
    return p / n


def dropout_forward(x, p, training, rng):
    """(out, mask): inverted dropout of x (any shape, float64) with drop probability p."""
    if not training or p == 0:
        return x.copy(), None
    mask = (rng.random(x.shape) >= p) / (1 - p)
    return x * mask, mask


def dropout_backward(dout, mask):
    """dL/dx from dout and the mask that dropout_forward returned (None: the identity)."""
    return dout.copy() if mask is None else dout * mask


def sgd_step(params, grads, velocity, lr, momentum, weight_decay):
    """One step of the paper's rule, in place; only names 'weight' or '*.weight' are decayed."""
    for name, w in params.items():
        decay = weight_decay if name == "weight" or name.endswith(".weight") else 0.0
        v = velocity[name]
        v *= momentum
        v -= decay * lr * w
        v -= lr * grads[name]
        w += v
