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


def sgd_hard_coded(**fixed):
    """The right sgd_step with some hyperparameters hard-coded (ignoring the arguments)."""

    def step(params, grads, velocity, lr, momentum, weight_decay):
        given = {"lr": lr, "momentum": momentum, "weight_decay": weight_decay}
        B.sgd_step(params, grads, velocity, **{**given, **fixed})

    return step


def dropout_p_fixed(x, p, training, rng):
    return B.dropout_forward(x, 0.3, training, rng)


def dropout_keep_forward(x, p, training, rng):
    if not training:
        return x.copy(), None
    keep = rng.random(x.shape) >= p
    return x * keep / (1 - p), keep


def dropout_keep_backward_p_fixed(dout, keep):
    return dout.copy() if keep is None else dout * keep / (1 - 0.3)


def dropout_broadcast(x, p, training, rng):
    if not training:
        return x.copy(), None
    mask = (rng.random(x.shape[-1]) >= p) / (1 - p)
    return x * mask, np.broadcast_to(mask, x.shape)


def softmax_global_max(logits, labels):
    e = np.exp(logits - logits.max())
    p = e / e.sum(axis=1, keepdims=True)
    p[np.arange(len(labels)), labels] -= 1
    return p / len(labels)


def numerical_gradient_by(mistake):
    """A numerical_gradient(f, x, dout, h) with one mistake."""

    def numerical_gradient(f, x, dout, h):
        if mistake == "float32":
            x = x.astype(np.float32)
        if mistake == "hard-coded h":
            h = 1e-5
        if mistake == "all at once":
            return np.full(x.shape, (np.sum(dout * f(x + h)) - np.sum(dout * f(x - h))) / (2 * h))
        grad = np.zeros(x.shape, np.float32 if mistake == "float32 grad" else np.float64)
        weights = np.ones_like(dout) if mistake == "no dout" else dout
        indices = {
            "rows": lambda: range(x.shape[0]),
            "2-D": lambda: [(i, j) for i in range(x.shape[0]) for j in range(x.shape[1])],
            "square": lambda: [(i, j) for i in range(x.shape[0]) for j in range(x.shape[0])],
        }.get(mistake, lambda: np.ndindex(x.shape))()
        for i in indices:
            old = x[i].copy()
            x[i] = old + h
            out = f(x)
            plus = out[i] * dout[i] if mistake == "elementwise" else np.sum(weights * out)
            x[i] = old if mistake == "one-sided" else old - h
            out = f(x)
            minus = out[i] * dout[i] if mistake == "elementwise" else np.sum(weights * out)
            if mistake != "no restore":
                x[i] = old
            grad[i] = (plus - minus) / (h if mistake in ("by h", "one-sided") else 2 * h)
        return grad

    return numerical_gradient


def rel_error_by(kind):
    """A rel_error(a, b) with one mistake."""

    def rel_error(a, b):
        diff, total = np.abs(a - b), np.abs(a) + np.abs(b)
        return {
            "absolute": lambda: diff.max(),
            "no floor": lambda: diff.max() / total.max(),
            "tiny floor": lambda: diff.max() / (total.max() + 1e-30),
            "elementwise": lambda: np.max(diff / np.maximum(1e-8, total)),
            "max + max": lambda: diff.max() / max(1e-8, np.abs(a).max() + np.abs(b).max()),
            "first": lambda: diff.max() / max(1e-8, np.abs(a).max()),
            "sum": lambda: diff.sum() / max(1e-8, total.sum()),
            "array": lambda: diff / np.maximum(1e-8, total),
        }[kind]()

    return rel_error


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


def im2col_square_image(x, kh, kw, stride, pad):
    n, c, h, w = x.shape
    square = np.zeros((n, c, h, h))
    square[..., : min(h, w)] = x[..., : min(h, w)]
    return C.im2col(square, kh, kw, stride, pad)


def maxpool_unravel_by_kh(dout, x, kh, kw, stride):
    dx = np.zeros_like(x)
    for n, c, y, xo in np.ndindex(dout.shape):
        rows, cols = slice(y * stride, y * stride + kh), slice(xo * stride, xo * stride + kw)
        first = int(x[n, c, rows, cols].argmax())
        iy, ix = y * stride + first // kh, xo * stride + first % kh
        if iy < x.shape[2] and ix < x.shape[3]:
            dx[n, c, iy, ix] += dout[n, c, y, xo]
    return dx


def lrn_symmetric_window(x, dout, size, alpha, beta, k):
    h = size // 2
    padded = np.pad(x * x, ((0, 0), (h, h), (0, 0), (0, 0)))
    scale = k + alpha / size * sum(padded[:, d : d + x.shape[1]] for d in range(2 * h + 1))
    t = np.pad(dout * x * scale ** (-beta - 1), ((0, 0), (h, h), (0, 0), (0, 0)))
    cross = sum(t[:, d : d + x.shape[1]] for d in range(2 * h + 1))
    return dout * scale**-beta - 2 * alpha * beta / size * x * cross


def _conv_out(x, kh, kw, stride, pad, square=False):
    n, c, h, w = x.shape
    oh = (h + 2 * pad - kh) // stride + 1
    return oh, oh if square else (w + 2 * pad - kw) // stride + 1


def _conv_arguments(mistake, weight, stride, pad, groups):
    """(weight, stride, pad, groups) as a conv mistake takes them: stride 1, no padding, groups
    ignored, or the kernel flipped."""
    return (
        weight[:, :, ::-1, ::-1] if mistake == "flip" else weight,
        1 if mistake == "stride 1" else stride,
        0 if mistake == "pad 0" else pad,
        1 if mistake == "no groups" else groups,
    )


def conv_forward_by(mistake=None):
    """A conv_forward with one mistake."""

    def forward(x, weight, bias, stride, pad, groups):
        f, cg, kh, kw = weight.shape
        if mistake == "interleaved":
            x = x[:, np.arange(x.shape[1]).reshape(cg, groups).T.ravel()]
        weight, stride, pad, groups = _conv_arguments(mistake, weight, stride, pad, groups)
        n = x.shape[0]
        oh, ow = _conv_out(x, kh, kw, stride, pad, square=mistake == "square")
        cols = C.im2col(x, kh, kw, stride, pad).reshape(groups, -1, n * oh * ow)
        if mistake == "weight reshaped":
            w = weight.reshape(groups, -1, f // groups).transpose(0, 2, 1)
        else:
            w = weight.reshape(groups, f // groups, -1)
        rows = w @ cols
        if mistake == "NF":
            y = rows.reshape(n, f, oh, ow)
        else:
            y = rows.reshape(f, n, oh, ow).transpose(1, 0, 2, 3)
        return y if mistake == "no bias" else y + bias[None, :, None, None]

    return forward


def conv_backward_by(mistake=None):
    """A conv_backward with one mistake."""

    def backward(x, weight, dout, stride, pad, groups):
        f, cg, kh, kw = weight.shape
        n, c, h, w = x.shape
        perm = np.arange(c).reshape(cg, groups).T.ravel() if mistake == "interleaved" else ...
        weight, stride, pad, groups = _conv_arguments(mistake, weight, stride, pad, groups)
        kw = kh if mistake == "square kernel" else kw
        if mistake == "NF":
            rows = dout.reshape(groups, f // groups, -1)
        elif mistake == "image 0":
            rows = dout[0].reshape(groups, f // groups, -1)
        else:
            rows = dout.transpose(1, 0, 2, 3).reshape(groups, f // groups, -1)
        cols = C.im2col(x[:, perm], kh, kw, stride, pad).reshape(groups, -1, rows.shape[2])
        dw = rows @ cols.transpose(0, 2, 1)
        dw = (dw.transpose(0, 2, 1) if mistake == "dW transposed" else dw).reshape(f, cg, kh, kw)
        if mistake == "weight reshaped":
            wt = weight.reshape(groups, -1, f // groups)
        else:
            wt = weight.reshape(groups, f // groups, -1).transpose(0, 2, 1)
        dcols = (wt @ rows).reshape(-1, rows.shape[2])
        shape = (n, c, h, h) if mistake == "square image" else x.shape
        unscatter = col2im_overwrite if mistake == "overwrite" else C.col2im
        dx = np.empty_like(x)
        dx[:, perm] = unscatter(dcols, shape, kh, kw, stride, pad)
        db = dout.sum(axis=(0, 2, 3))
        if mistake == "db mean over N":
            db = db / n
        elif mistake == "db not summed over space":
            db = dout.sum(axis=0)
        elif mistake == "divided by N":
            dx, dw, db = dx / n, dw / n, db / n
        return dx, dw, db

    return backward


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
    ("sgd_step", sgd_hard_coded(momentum=0.9), "momentum is hard-coded"),
    ("sgd_step", sgd_hard_coded(lr=0.01), "lr is hard-coded"),
    ("sgd_step", sgd_hard_coded(weight_decay=5e-4), "weight_decay is hard-coded"),
    ("sgd_step", sgd_factory(decay=lambda n: n.endswith(".weight")), "named just 'weight'"),
    ("relu_backward", lambda dout, x: dout * np.sign(x), "multiplied by sign(x)"),
    ("softmax_ce_backward", softmax_global_max, "its own: the max of the whole batch"),
    ("softmax_ce_backward", lambda z, t: B.softmax_ce_backward(z, t) * len(t) / 4, "hard-coded"),
    ("dropout", (dropout_p_fixed, B.dropout_backward), "is p hard-coded?"),
    (
        "dropout",
        (dropout_keep_forward, dropout_keep_backward_p_fixed),
        "backward scales by 1/(1-q) for another q",
    ),
    ("dropout", (dropout_broadcast, B.dropout_backward), "the mask is broadcast"),
    ("numerical_gradient", numerical_gradient_by("one-sided"), "one-sided differences"),
    ("numerical_gradient", numerical_gradient_by("no restore"), "x is not restored"),
    ("numerical_gradient", numerical_gradient_by("by h"), "divided by h instead of 2h"),
    ("numerical_gradient", numerical_gradient_by("all at once"), "every element of x is perturbed"),
    ("numerical_gradient", numerical_gradient_by("rows"), "4 elements of x (shape (3, 4))"),
    ("numerical_gradient", numerical_gradient_by("2-D"), "right for x of shape (3, 4)"),
    ("numerical_gradient", numerical_gradient_by("square"), "never perturbed"),
    ("numerical_gradient", numerical_gradient_by("no dout"), "dout is ignored"),
    ("numerical_gradient", numerical_gradient_by("elementwise"), "treated as elementwise"),
    ("numerical_gradient", numerical_gradient_by("float32"), "called with a float32 array"),
    ("numerical_gradient", numerical_gradient_by("float32 grad"), "grad is a float32 array"),
    ("numerical_gradient", numerical_gradient_by("hard-coded h"), "do not hard-code the step"),
    ("rel_error", rel_error_by("absolute"), "the absolute error"),
    ("rel_error", rel_error_by("no floor"), "the denominator has no floor"),
    ("rel_error", rel_error_by("tiny floor"), "needs its floor of 1e-8"),
    ("rel_error", rel_error_by("elementwise"), "the elementwise ratio"),
    ("rel_error", rel_error_by("max + max"), "divided by max(|a|) + max(|b|)"),
    ("rel_error", rel_error_by("first"), "relative to the first argument"),
    ("rel_error", rel_error_by("sum"), "a sum or a mean"),
    ("rel_error", rel_error_by("array"), "expected one number"),
    ("im2col", im2col_permuted(transpose=True), "transposed"),
    ("im2col", im2col_permuted(rows=(1, 2, 0)), "rows are ordered (kh, kw, C)"),
    ("im2col", im2col_permuted(rows=(0, 2, 1)), "i and j are swapped"),
    ("im2col", im2col_permuted(columns=(4, 5, 3)), "columns are ordered (OH, OW, N)"),
    ("im2col", im2col_permuted(flip=True), "the kernel is flipped"),
    ("im2col", lambda x, kh, kw, s, p: C.im2col(x, kh, kw, s, 0), "the padding is ignored"),
    ("im2col", lambda x, kh, kw, s, p: C.im2col(x, kh, kw, s, min(p, 1)), "a pad of 1 whenever"),
    ("im2col", lambda x, kh, kw, s, p: C.im2col(x, kh, kw, 2, p), "are the stride, the padding"),
    ("im2col", lambda x, kh, kw, s, p: C.im2col(x, kh, kh, s, p), "a square kernel assumed"),
    ("im2col", im2col_square_image, "OW computed from H?"),
    ("col2im", col2im_overwrite, "accumulate (+=), not overwrite"),
    ("col2im", col2im_padded, "returned the padded image"),
    ("col2im", lambda *a: C.col2im(*a) / C.col2im(np.ones_like(a[0]), *a[1:]), "not average"),
    (
        "col2im",
        lambda cols, shape, kh, kw, s, p: C.col2im(cols, shape, kh, kw, s, min(p, 1)),
        "a pad of 1 whenever",
    ),
    ("conv_forward", conv_forward_by("no bias"), "the bias is not added"),
    ("conv_forward", conv_forward_by("NF"), "a reshape keeps memory order"),
    ("conv_forward", conv_forward_by("no groups"), "are the groups ignored"),
    ("conv_forward", conv_forward_by("interleaved"), "interleaved channels"),
    ("conv_forward", conv_forward_by("weight reshaped"), "a reshape is not a transpose"),
    ("conv_forward", conv_forward_by("flip"), "the kernel is flipped"),
    ("conv_forward", conv_forward_by("stride 1"), "is the stride hard-coded"),
    ("conv_forward", conv_forward_by("pad 0"), "is the padding hard-coded"),
    ("conv_forward", conv_forward_by("square"), "is H used where W belongs"),
    ("conv_backward", conv_backward_by("no groups"), "are the groups ignored"),
    ("conv_backward", conv_backward_by("interleaved"), "interleaved channels"),
    ("conv_backward", conv_backward_by("weight reshaped"), "a reshape is not a transpose"),
    ("conv_backward", conv_backward_by("dW transposed"), "dW is transposed"),
    ("conv_backward", conv_backward_by("db mean over N"), "db is divided by N"),
    ("conv_backward", conv_backward_by("db not summed over space"), "sums dout over N, OH and OW"),
    ("conv_backward", conv_backward_by("overwrite"), "must accumulate (+=)"),
    ("conv_backward", conv_backward_by("flip"), "the kernel is flipped"),
    ("conv_backward", conv_backward_by("stride 1"), "is the stride hard-coded"),
    ("conv_backward", conv_backward_by("pad 0"), "is the padding hard-coded"),
    ("conv_backward", conv_backward_by("square kernel"), "is kh used where kw belongs"),
    ("conv_backward", conv_backward_by("square image"), "is H used where W belongs"),
    ("conv_backward", conv_backward_by("NF"), "a reshape keeps memory order"),
    ("conv_backward", conv_backward_by("image 0"), "is only image 0 used"),
    ("conv_backward", conv_backward_by("divided by N"), "dx is divided by N"),
    ("maxpool_backward", maxpool_by("both"), "every tied maximum"),
    ("maxpool_backward", maxpool_by("last"), "the last tied maximum"),
    ("maxpool_backward", maxpool_by("split"), "split among tied maxima"),
    ("maxpool_backward", maxpool_by("column-major"), "column-major"),
    ("maxpool_backward", maxpool_by("overwrite"), "accumulate (+=), not overwrite"),
    ("maxpool_backward", maxpool_by("window"), "every element of the window"),
    (
        "maxpool_backward",
        lambda dout, x, kh, kw, s: C.maxpool_backward(dout, x, 3, 3, 2),
        "the window (3x3) or the stride (2) hard-coded",
    ),
    (
        "maxpool_backward",
        lambda dout, x, kh, kw, s: C.maxpool_backward(dout, x, kh, kh, s),
        "kh used where kw belongs",
    ),
    ("maxpool_backward", maxpool_unravel_by_kh, "kh used where kw belongs"),
    ("lrn_backward", lrn_direct_only, "only the direct term"),
    ("lrn_backward", lrn_by(alpha_undivided=True), "alpha is not divided by size"),
    ("lrn_backward", lrn_by(factor=1.0), "lacks the factor 2"),
    ("lrn_backward", lrn_by(sign=-1.0), "wrong sign"),
    ("lrn_backward", lrn_by(power_beta=True), "-(beta+1)"),
    ("lrn_backward", lrn_by(forward_window=True), "differs when size is even"),
    (
        "lrn_backward",
        lambda x, dout, n, alpha, beta, k: C.lrn_backward(x, dout, n, alpha, 0.75, k),
        "are beta (0.75) or k hard-coded",
    ),
    (
        "lrn_backward",
        lambda x, dout, n, alpha, beta, k: C.lrn_backward(x, dout, 5, alpha, beta, k),
        "are the size (5, AlexNet's) or k (2) hard-coded",
    ),
    (
        "lrn_backward",
        lambda x, dout, n, alpha, beta, k: C.lrn_backward(x, dout, n, alpha, beta, 2.0),
        "are the size (5, AlexNet's) or k (2) hard-coded",
    ),
    ("lrn_backward", lrn_symmetric_window, "the window taken symmetric"),
]
WRONG += importlib.import_module(__name__ + "_winograd").WRONG  # notebook 3, kept apart
WRONG += importlib.import_module(__name__ + "_training").WRONG  # notebook 4, kept apart
