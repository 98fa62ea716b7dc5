"""Deliberately wrong answers to the exercises in notebooks/exercises/, each with a piece of the
diagnosis its check must print (used by tests/notebooks/test_exercises.py, part (c))."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import numpy as np

EXERCISE_DIR = Path(__file__).resolve().parents[2] / "notebooks" / "exercises"
sys.path.insert(0, str(EXERCISE_DIR))
solutions = {
    m: importlib.import_module(f"solutions.{m}")
    for m in ("backward_passes", "convolution_pooling_lrn")
}

B = solutions["backward_passes"]
C = solutions["convolution_pooling_lrn"]


def _softmax(z, axis=1):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _onehot(labels, k):
    return np.eye(k)[labels]


def relu_in_place(dout, x):
    dout[x <= 0] = 0
    return dout


def softmax_unstable(logits, labels):
    e = np.exp(logits)
    return (e / e.sum(axis=1, keepdims=True) - _onehot(labels, logits.shape[1])) / len(labels)


def softmax_rows(logits, labels):
    p = _softmax(logits)
    p[labels] -= 1
    return p / len(labels)


def dropout_factory(train_scale=None, keep=None, eval_out=None, global_rng=False):
    """A dropout_forward with one mistake: the kept scale, the keep test, the eval output."""

    def forward(x, p, training, rng):
        if not training:
            out = x.copy() if eval_out is None else eval_out(x, p, rng)
            return out, None
        u = np.random.random(x.shape) if global_rng else rng.random(x.shape)
        kept = (u >= p) if keep is None else keep(u, p)
        mask = kept * (1 / (1 - p) if train_scale is None else train_scale(p))
        return x * mask, mask

    return forward


def sgd_factory(decay=None, rule="paper"):
    """An sgd_step with one mistake."""

    def step(params, grads, velocity, lr, momentum, weight_decay):
        for name, w in params.items():
            filt = decay or (lambda n: n.endswith("weight"))
            wd = weight_decay if filt(name) else 0.0
            v, g = velocity[name], grads[name]
            if rule == "pytorch":
                v[...] = momentum * v + g + wd * w
                w -= lr * v
            elif rule == "old velocity":
                w += v
                v[...] = momentum * v - wd * lr * w - lr * g
            elif rule == "replace":
                v[...] = momentum * v - wd * lr * w - lr * g
                params[name] = w + v
            else:
                decay_term = {"no lr": wd * w}.get(rule, wd * lr * w)
                v[...] = momentum * v - decay_term - lr * g
                w += v

    return step


def im2col_permuted(rows=(0, 1, 2), columns=(3, 4, 5), flip=False, transpose=False):
    def im2col(x, kh, kw, stride, pad):
        cols = C.im2col(x, kh, kw, stride, pad)
        n, c, h, w = x.shape
        oh, ow = (h + 2 * pad - kh) // stride + 1, (w + 2 * pad - kw) // stride + 1
        six = cols.reshape(c, kh, kw, n, oh, ow)
        six = six[:, ::-1, ::-1] if flip else six
        out = six.transpose(*rows, *columns).reshape(cols.shape)
        return out.T if transpose else out

    return im2col


def col2im_overwrite(cols, x_shape, kh, kw, stride, pad):
    n, c, h, w = x_shape
    oh, ow = (h + 2 * pad - kh) // stride + 1, (w + 2 * pad - kw) // stride + 1
    six = cols.reshape(c, kh, kw, n, oh, ow)
    xp = np.zeros((n, c, h + 2 * pad, w + 2 * pad))
    for i in range(kh):
        for j in range(kw):
            rows, columns = slice(i, i + stride * oh, stride), slice(j, j + stride * ow, stride)
            xp[:, :, rows, columns] = six[:, i, j].transpose(1, 0, 2, 3)
    return xp[:, :, pad : pad + h, pad : pad + w]


def col2im_padded(cols, x_shape, kh, kw, stride, pad):
    n, c, h, w = x_shape
    return C.col2im(cols, (n, c, h + 2 * pad, w + 2 * pad), kh, kw, stride, 0)


def maxpool_by(rule):
    """A max-pool backward routing each window's gradient by ``rule`` (a tie rule or a mistake)."""

    def backward(dout, x, kh, kw, stride):
        dx = np.zeros_like(x)
        for n, c, y, xo in np.ndindex(dout.shape):
            rows, cols = slice(y * stride, y * stride + kh), slice(xo * stride, xo * stride + kw)
            window, g, target = x[n, c, rows, cols], dout[n, c, y, xo], dx[n, c, rows, cols]
            hits = [tuple(h) for h in np.argwhere(window == window.max())]
            if rule == "both":
                for h in hits:
                    target[h] += g
            elif rule == "last":
                target[hits[-1]] += g
            elif rule == "split":
                for h in hits:
                    target[h] += g / len(hits)
            elif rule == "overwrite":
                target[hits[0]] = g
            elif rule == "column-major":
                target[min(hits, key=lambda h: (h[1], h[0]))] += g
            elif rule == "window":
                target += g
        return dx

    return backward


def lrn_by(**mistake):
    """An LRN backward with one mistake (the names of checks.pool_lrn._lrn_variant)."""
    from checks.pool_lrn import _lrn_variant

    def backward(x, dout, size, alpha, beta, k):
        return _lrn_variant(x, dout, size, alpha, beta, k, **mistake)

    return backward


def lrn_direct_only(x, dout, size, alpha, beta, k):
    lo, hi = size // 2, (size - 1) // 2
    padded = np.pad(x * x, ((0, 0), (lo, hi), (0, 0), (0, 0)))
    scale = k + alpha / size * sum(padded[:, d : d + x.shape[1]] for d in range(size))
    return dout * scale**-beta


WRONG = [  # (check, the wrong function(s), a piece of the diagnosis it must print)
    ("relu_backward", lambda dout, x: -dout * (x > 0), "sign flipped"),
    ("relu_backward", lambda dout, x: dout * (x >= 0), "x > 0, not x >= 0"),
    ("relu_backward", lambda dout, x: (x > 0).astype(float), "returned the mask"),
    ("relu_backward", lambda dout, x: dout.copy(), "no mask"),
    ("relu_backward", lambda dout, x: dout * (dout > 0), "sign of dout"),
    ("relu_backward", lambda dout, x: (dout * (x > 0)).T, "(transposed?)"),
    ("relu_backward", lambda dout, x: None, "did you forget to return"),
    ("relu_backward", relu_in_place, "changed its input dout in place"),
    ("linear_backward", lambda d, x, w: (d @ w, x.T @ d, d.sum(0)), "the transpose of W"),
    ("linear_backward", lambda d, x, w: (d @ w, d.T @ x, d.mean(0)), "db is averaged"),
    ("linear_backward", lambda d, x, w: (d @ w, d.T @ x, d), "sum dout over the batch"),
    ("linear_backward", lambda d, x, w: (d.T @ x, d @ w, d.sum(0)), "in this order"),
    ("linear_backward", lambda d, x, w: (-(d @ w), d.T @ x, d.sum(0)), "dx has the wrong sign"),
    ("linear_backward", lambda d, x, w: (d @ w, d.T @ x / len(x), d.sum(0)), "dw is averaged"),
    ("linear_backward", lambda d, x, w: d @ w, "expected a tuple (dx, dw, db)"),
    ("softmax_ce_backward", lambda z, t: _softmax(z) - _onehot(t, z.shape[1]), "N times too large"),
    ("softmax_ce_backward", lambda z, t: -B.softmax_ce_backward(z, t), "sign flipped"),
    ("softmax_ce_backward", lambda z, t: _softmax(z) / len(t), "one-hot of the label"),
    ("softmax_ce_backward", softmax_unstable, "subtract each row's max"),
    ("softmax_ce_backward", softmax_rows, "grad[np.arange(N), labels] -= 1"),
    (
        "softmax_ce_backward",
        lambda z, t: (_softmax(z, axis=0) - _onehot(t, z.shape[1])) / len(t),
        "over the batch axis 0",
    ),
    ("dropout", (dropout_factory(train_scale=lambda p: 1.0), B.dropout_backward), "not scaled"),
    (
        "dropout",
        (dropout_factory(train_scale=lambda p: 1 - p), B.dropout_backward),
        "scaled by (1-p)",
    ),
    (
        "dropout",
        (dropout_factory(keep=lambda u, p: u < p, train_scale=lambda p: 1 / p), B.dropout_backward),
        "p is the probability of dropping",
    ),
    ("dropout", (dropout_factory(global_rng=True), B.dropout_backward), "not np.random"),
    (
        "dropout",
        (dropout_factory(eval_out=lambda x, p, rng: x * (1 - p)), B.dropout_backward),
        "the identity in eval mode",
    ),
    (
        "dropout",
        (
            dropout_factory(eval_out=lambda x, p, rng: x * (rng.random(x.shape) >= p)),
            B.dropout_backward,
        ),
        "still dropped in eval mode",
    ),
    ("dropout", (B.dropout_forward, lambda dout, mask: dout.copy()), "through dropped units"),
    (
        "dropout",
        (B.dropout_forward, lambda dout, mask: dout if mask is None else dout * (mask != 0)),
        "backward is not scaled by 1/(1-p)",
    ),
    (
        "dropout",
        (B.dropout_forward, lambda dout, mask: dout * (0.5 if mask is None else mask)),
        "backward in eval mode is not the identity",
    ),
    ("sgd_step", sgd_factory(decay=lambda n: True), "the biases are decayed too"),
    ("sgd_step", sgd_factory(decay=lambda n: False), "the weights are not decayed"),
    ("sgd_step", sgd_factory(rule="no lr"), "not multiplied by lr"),
    ("sgd_step", sgd_factory(rule="pytorch"), "PyTorch's form"),
    ("sgd_step", sgd_factory(rule="old velocity"), "w moved by the old velocity"),
    ("sgd_step", sgd_factory(rule="replace"), "update it in place"),
    ("im2col", im2col_permuted(transpose=True), "transposed"),
    ("im2col", im2col_permuted(rows=(1, 2, 0)), "rows are ordered (kh, kw, C)"),
    ("im2col", im2col_permuted(rows=(0, 2, 1)), "i and j are swapped"),
    ("im2col", im2col_permuted(columns=(4, 5, 3)), "columns are ordered (OH, OW, N)"),
    ("im2col", im2col_permuted(flip=True), "the kernel is flipped"),
    ("im2col", lambda x, kh, kw, s, p: C.im2col(x, kh, kw, s, 0), "the padding is ignored"),
    ("col2im", col2im_overwrite, "accumulate (+=), not overwrite"),
    ("col2im", col2im_padded, "returned the padded image"),
    ("col2im", lambda *a: C.col2im(*a) / C.col2im(np.ones_like(a[0]), *a[1:]), "not average"),
    ("maxpool_backward", maxpool_by("both"), "every tied maximum"),
    ("maxpool_backward", maxpool_by("last"), "the last tied maximum"),
    ("maxpool_backward", maxpool_by("split"), "split among tied maxima"),
    ("maxpool_backward", maxpool_by("column-major"), "column-major"),
    ("maxpool_backward", maxpool_by("overwrite"), "accumulate (+=), not overwrite"),
    ("maxpool_backward", maxpool_by("window"), "every element of the window"),
    ("lrn_backward", lrn_direct_only, "only the direct term"),
    ("lrn_backward", lrn_by(alpha_undivided=True), "alpha is not divided by size"),
    ("lrn_backward", lrn_by(factor=1.0), "lacks the factor 2"),
    ("lrn_backward", lrn_by(sign=-1.0), "wrong sign"),
    ("lrn_backward", lrn_by(power_beta=True), "-(beta+1)"),
    ("lrn_backward", lrn_by(forward_window=True), "differs when size is even"),
]
WRONG += importlib.import_module(__name__ + "_winograd").WRONG  # notebook 3, kept apart
