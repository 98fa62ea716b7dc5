"""Checks for notebook 2, part 2: max-pool backward (overlapping windows, ties) and LRN backward.

Max-pool follows ``tinynet.reference.pool``: each window's gradient goes to its first maximum in
row-major order, and an element that is the maximum of several windows receives their sum.
LRN follows ``tinynet.reference.lrn``: scale_c = k + alpha/size * sum over channels
[c - size//2, c + (size-1)//2] of a^2, b_c = a_c * scale_c^-beta.
"""

from __future__ import annotations

import numpy as np

from tinynet.layers import LocalResponseNorm, MaxPool2D

from ._report import Wrong, as_array, call, check, diagnose, differs, gradcheck


def distinct(rng: np.random.Generator, shape) -> np.ndarray:
    """Float64 values in [-2, 2), all different and spread out (no ties in any window)."""
    n = int(np.prod(shape))
    return rng.permutation(n).reshape(shape) / n * 4 - 2


def _pool_forward(x, kh, kw, s) -> np.ndarray:
    return MaxPool2D((kh, kw), s).forward(x)


def _reference(x, dout, kh, kw, s) -> np.ndarray:
    pool = MaxPool2D((kh, kw), s)
    pool.forward(x)
    return pool.backward(dout)


def _route(x, dout, kh, kw, s, rule) -> np.ndarray:
    """Max-pool backward by a (right or deliberately wrong) ``rule``, for diagnosis."""
    dx = np.zeros_like(x)
    n_img, channels, oh, ow = dout.shape
    for n in range(n_img):
        for c in range(channels):
            for y in range(oh):
                for xo in range(ow):
                    rows, cols = slice(y * s, y * s + kh), slice(xo * s, xo * s + kw)
                    window, g = x[n, c, rows, cols], dout[n, c, y, xo]
                    target = dx[n, c, rows, cols]  # a view: writes land in dx
                    if rule in ("window", "average"):
                        target += g if rule == "window" else g / window.size
                        continue
                    best = window.min() if rule == "argmin" else window.max()
                    hits = [tuple(h) for h in np.argwhere(window == best)]  # row-major order
                    picked = {
                        "last": hits[-1:],
                        "column-major": sorted(hits, key=lambda h: (h[1], h[0]))[:1],
                        "all": hits,
                        "split": hits,
                    }.get(rule, hits[:1])
                    for hit in picked:
                        share = g / len(hits) if rule == "split" else g
                        target[hit] = share if rule == "overwrite" else target[hit] + share
    return dx


POOL_MISTAKES = {
    "all": "the gradient goes to every tied maximum: tinynet (like PyTorch) gives it all to the "
    "first maximum in row-major order",
    "split": "the gradient is split among tied maxima: tinynet (like PyTorch) gives it all to "
    "the first maximum in row-major order",
    "last": "the gradient goes to the last tied maximum (a >= comparison?): tinynet keeps the "
    "first in row-major order (replace only on a strict >)",
    "column-major": "the first tied maximum is taken in column-major order: scan the window row "
    "by row, top row first, each left to right",
    "overwrite": "an element that is the maximum of several overlapping windows keeps only one "
    "window's gradient: accumulate (+=), not overwrite (=)",
    "window": "the gradient goes to every element of the window: only its maximum receives it",
    "average": "this is average pooling's backward (dout / (kh*kw) everywhere): only the "
    "maximum receives the gradient",
    "argmin": "the gradient goes to the minimum of each window",
}


def _tied() -> np.ndarray:
    """(1, 1, 3, 5) with ties in both 3x3 stride-2 windows, one maximum shared by both."""
    x = np.arange(15, dtype=np.float64).reshape(1, 1, 3, 5) / 100
    for hit in ((0, 2), (1, 0), (2, 1), (1, 3), (2, 4)):  # first in row-major order: (0, 2)
        x[(0, 0, *hit)] = 1.0
    return x


POOL_SUSPECT = {  # what to suspect when a case fails after the ones before it passed
    "3x2 windows, stride 1": "; right with AlexNet's 3x3 windows and stride 2, wrong here: are "
    "the window (3x3) or the stride (2) hard-coded, or kh used where kw belongs?",
    "2x4 windows, stride 3": "; right before, wrong with windows wider than tall, a stride "
    "larger than the window's height (rows 2 and 5 in no window) and a last column in no "
    "window: are kh and kw swapped somewhere, or the stride hard-coded?",
}


@check("maxpool_backward")
def check_maxpool_backward(maxpool_backward) -> str:
    """``maxpool_backward(dout (N, C, OH, OW), x (N, C, H, W), kh, kw, stride) -> dx``,
    float64, no padding: the gradient of the input of a max-pool."""
    rng = np.random.default_rng(8)
    shared = distinct(rng, (2, 2, 7, 7))
    shared[:, :, 2, 2] = 3.0  # the maximum of the four windows that overlap there
    cases = (  # each after the first varies what the ones before did not: see POOL_SUSPECT
        ("overlapping 3x3 windows, stride 2", shared, 3, 3, 2),
        ("3x2 windows, stride 1", distinct(rng, (1, 2, 5, 6)), 3, 2, 1),
        ("2x4 windows, stride 3", distinct(rng, (2, 3, 8, 11)), 2, 4, 3),
        ("tied maxima", _tied(), 3, 3, 2),
    )
    for label, x, kh, kw, s in cases:
        try:
            _maxpool_case(maxpool_backward, rng, label, x, kh, kw, s)
        except Wrong as wrong:
            raise Wrong(f"{wrong}{POOL_SUSPECT.get(label, '')}") from None
    x = distinct(rng, (1, 2, 5, 5))
    dout = rng.standard_normal(_pool_forward(x, 3, 3, 2).shape)
    dx = call(maxpool_backward, dout, x, 3, 3, 2)
    error = gradcheck("dx", lambda: float(np.sum(_pool_forward(x, 3, 3, 2) * dout)), x, dx)
    return (
        "routes to the first maximum in row-major order, accumulates where windows share it, "
        f"and matches centred differences (rel. error {error:.0e})"
    )


def _maxpool_case(maxpool_backward, rng, label, x, kh, kw, s) -> None:
    dout_shape = _pool_forward(x, kh, kw, s).shape
    dout = rng.uniform(0.5, 1.5, dout_shape) * rng.choice([-1.0, 1.0], dout_shape)
    names = ("dout", "x", "kh", "kw", "stride")
    dx = as_array("dx", call(maxpool_backward, dout, x, kh, kw, s, names=names), x.shape)
    expected = _reference(x, dout, kh, kw, s)
    wrong = ~np.isclose(dx, expected, rtol=1e-9, atol=1e-12)
    if wrong.any():
        mistakes = {"sign flipped": -expected}
        mistakes.update({m: _route(x, dout, kh, kw, s, r) for r, m in POOL_MISTAKES.items()})
        found = diagnose(dx, mistakes)
        routes = _route(x, np.ones_like(dout), kh, kw, s, "first")  # windows per element
        if found is None and (routes[wrong] > 1).all():
            found = POOL_MISTAKES["overwrite"]
        if found is None and not np.all(dx[_route(x, dout, kh, kw, s, "all") == 0] == 0):
            found = "dx is nonzero at elements that are the maximum of no window"
        raise Wrong(f"{found or differs('dx', dx, expected)} ({label}, x {x.shape})")


# -- LRN ------------------------------------------------------------------------------------------


def window_sum(v: np.ndarray, size: int, reverse: bool = False) -> np.ndarray:
    """sum of v over channels [c - size//2, c + (size-1)//2] (axis 1, zero outside), or, if
    ``reverse``, over the channels c' whose window holds c: [c - (size-1)//2, c + size//2]."""
    before, after = (size // 2, (size - 1) // 2)[:: -1 if reverse else 1]
    padded = np.pad(v, ((0, 0), (before, after), (0, 0), (0, 0)))
    return sum(padded[:, d : d + v.shape[1]] for d in range(size))


def _lrn_variant(x, dy, size, alpha, beta, k, **mistake) -> np.ndarray:
    """LRN backward with one deliberate ``mistake`` (none: the right answer)."""
    a = alpha if mistake.get("alpha_undivided") else alpha / size
    scale = k + a * window_sum(x * x, size)
    power = beta if mistake.get("power_beta") else beta + 1
    t = dy * x * scale**-power
    cross_alpha = alpha if mistake.get("cross_alpha_undivided") else a
    coef = mistake.get("factor", 2.0) * cross_alpha * beta
    a_c = 1.0 if mistake.get("no_a_c") else x
    cross = coef * a_c * window_sum(t, size, reverse=not mistake.get("forward_window"))
    return dy * scale**-beta - mistake.get("sign", 1.0) * cross


LRN_MISTAKES = {
    "only the direct term dout * scale^-beta: each a_c also sits in the scales s_c' of its "
    "neighbours c' (those whose window holds c), so b_c' depends on a_c too: differentiate "
    "that path as well": {"factor": 0.0},
    "the cross-channel term has the wrong sign: it is subtracted": {"sign": -1.0},
    "the cross-channel term lacks the factor 2 of d(a^2)/da = 2a": {"factor": 1.0},
    "alpha is not divided by size: tinynet (like PyTorch, Caffe, cuda-convnet) uses alpha/size": {
        "alpha_undivided": True
    },
    "the cross-channel term uses alpha instead of alpha/size": {"cross_alpha_undivided": True},
    "the cross-channel term's power of the scale should be -(beta+1), from d(s^-beta)/ds": {
        "power_beta": True
    },
    "the cross-channel term misses the factor a_c from d(a_c^2)/da_c": {"no_a_c": True},
    "the cross-channel sum runs over window(c); it must run over the channels c' whose window "
    "holds c, [c - (size-1)//2, c + size//2], which differs when size is even": {
        "forward_window": True
    },
}


LRN_SUSPECT = {  # what to suspect when a case fails after the ones before it passed
    "even size": "; right with size 5 and k 2, wrong with size 4 and k 1: are the size (5, "
    "AlexNet's) or k (2) hard-coded, or the window taken symmetric, [c - n//2, c + n//2]?",
    "other beta and k": "; right with beta 0.75, wrong with beta 0.6: are beta (0.75) or k "
    "hard-coded?",
    "a window wider than the channels": "; right before, wrong with fewer channels than the "
    "window: are the windows clipped to [0, C) at both ends?",
}


@check("lrn_backward")
def check_lrn_backward(lrn_backward) -> str:
    """``lrn_backward(x, dout, size, alpha, beta, k) -> dx``, x, dout, dx (N, C, H, W) float64."""
    rng = np.random.default_rng(9)
    cases = (  # (shape, size, alpha, beta, k): a large alpha first, so the cross term is large;
        # then each case varies what the ones before did not (LRN_SUSPECT)
        ("alpha large", (2, 7, 3, 3), 5, 1.0, 0.75, 2.0),
        ("even size", (2, 7, 3, 3), 4, 1.0, 0.75, 1.0),
        ("other beta and k", (3, 6, 2, 4), 3, 2.0, 0.6, 0.5),
        ("a window wider than the channels", (1, 4, 3, 2), 6, 1.5, 1.2, 1.0),
        ("AlexNet's constants", (2, 7, 3, 3), 5, 1e-4, 0.75, 2.0),
    )
    for label, shape, size, alpha, beta, k in cases:
        x, dout = rng.standard_normal(shape), rng.standard_normal(shape)
        names = ("x", "dout", "size", "alpha", "beta", "k")
        got = call(lrn_backward, x, dout, size, alpha, beta, k, names=names)
        dx = as_array("dx", got, x.shape)
        lrn = LocalResponseNorm(size, alpha, beta, k)
        lrn.forward(x)
        expected = lrn.backward(dout)
        if not np.allclose(dx, expected, rtol=1e-9, atol=1e-12):
            mistakes = {
                m: _lrn_variant(x, dout, size, alpha, beta, k, **o) for m, o in LRN_MISTAKES.items()
            }
            found = diagnose(dx, mistakes) or differs("dx", dx, expected)
            where = f"{label}: x {shape}, size={size}, alpha={alpha}, beta={beta}, k={k}"
            raise Wrong(f"{found} ({where}){LRN_SUSPECT.get(label, '')}")
    lrn = LocalResponseNorm(5, 1.0, 0.75, 2.0)
    x, dout = rng.standard_normal((1, 6, 2, 2)), rng.standard_normal((1, 6, 2, 2))
    dx = call(lrn_backward, x, dout, 5, 1.0, 0.75, 2.0)
    error = gradcheck("dx", lambda: float(np.sum(lrn.forward(x) * dout)), x, dx)
    return (
        "matches tinynet's LocalResponseNorm (odd and even sizes, windows wider than the "
        "channels, any alpha, beta, k) and centred differences "
        f"(rel. error {error:.0e})"
    )
