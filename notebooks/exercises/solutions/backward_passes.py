"""Solutions to 1_backward_passes.ipynb: ReLU, the numerical gradient checker, Linear, softmax
cross-entropy, dropout, SGD. The formulas the notebook leaves to the student are in the comments."""

import numpy as np


def relu_backward(dout, x):
    """dL/dx (N, D) float64 of y = max(x, 0), from dout = dL/dy and the input x, both (N, D).

    dL/dx_i = dL/dy_i * [x_i > 0]: the derivative is 1 where x > 0, 0 where x < 0, and tinynet
    (like PyTorch) takes it to be 0 at the kink x = 0.
    """
    return dout * (x > 0)


def numerical_gradient(f, x, dout, h):
    """Centred differences of L(x) = sum(dout * f(x)) with respect to x (float64, any shape).

    grad[i] = (L(x + h e_i) - L(x - h e_i)) / (2 h), one element i at a time, with x restored
    exactly after each (the error is O(h^2); one-sided differences (L(x + h) - L(x)) / h are O(h)).
    """
    x = np.asarray(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):  # every element of an N-d array
        old = x[i]
        x[i] = old + h
        plus = np.sum(dout * f(x))
        x[i] = old - h
        minus = np.sum(dout * f(x))
        x[i] = old  # restore before moving on
        grad[i] = (plus - minus) / (2 * h)
    return grad


def rel_error(a, b):
    """max|a - b| / max(1e-8, max(|a| + |b|)), one float (tinynet.gradcheck's definition).

    Dividing by the largest |a| + |b| makes the threshold independent of the gradient's scale;
    the floor 1e-8 keeps two gradients that are both 0 (or about 0) at an error of about 0.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(1e-8, float(np.max(np.abs(a) + np.abs(b)))))


def linear_backward(dout, x, w):
    """(dx (N, D), dw (M, D), db (M,)) of y = x @ w.T + b; dout (N, M), x (N, D), w (M, D).

    From y_nm = sum_d x_nd W_md + b_m: dx = dout @ W, dW = dout^T @ x, db_m = sum_n dout_nm.
    The bias gradient is a sum over the batch: the 1/N of a mean loss is already inside dout.
    """
    return dout @ w, dout.T @ x, dout.sum(axis=0)


def softmax_ce_backward(logits, labels):
    """dL/dlogits (N, K) of the mean cross-entropy; logits (N, K) float64, labels (N,) int.

    L = -1/N sum_n log p[n, t_n] with p = softmax of each row: dL/dz[n, k] = (p[n, k] - [k ==
    t_n]) / N. softmax(z) = softmax(z - max_k z_k), and after the shift no exp can overflow.
    """
    shifted = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(shifted)
    p /= p.sum(axis=1, keepdims=True)
    n = logits.shape[0]
    p[np.arange(n), labels] -= 1
    return p / n


def dropout_forward(x, p, training, rng):
    """(out, mask): inverted dropout of x (any shape, float64) with drop probability p.

    mask = [u >= p] / (1 - p) with u ~ U[0, 1) drawn from rng, one per element; out = x * mask,
    so E[out] = x, and eval mode is the identity.
    """
    if not training or p == 0:
        return x.copy(), None
    mask = (rng.random(x.shape) >= p) / (1 - p)
    return x * mask, mask


def dropout_backward(dout, mask):
    """dL/dx = dout * mask from dout and the mask dropout_forward returned (None: the identity)."""
    return dout.copy() if mask is None else dout * mask


def sgd_step(params, grads, velocity, lr, momentum, weight_decay):
    """One step of the paper's rule, in place; only names 'weight' or '*.weight' are decayed.

    v <- momentum * v - weight_decay * lr * w - lr * dL/dw, then w <- w + v (section 5 of the
    paper; PyTorch keeps b = -v / lr instead).
    """
    for name, w in params.items():
        decay = weight_decay if name == "weight" or name.endswith(".weight") else 0.0
        v = velocity[name]
        v *= momentum
        v -= decay * lr * w
        v -= lr * grads[name]
        w += v
