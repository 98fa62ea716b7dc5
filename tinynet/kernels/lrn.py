"""Local response normalisation across channels, forward and backward, in Numba.

``tinynet/reference/lrn.py`` is the specification (the formulas, PyTorch's convention): same
functions, arguments and results, in x's dtype. Forward returns ``scale`` for backward.

What is fast: one parallel iteration per image; a running window sum slides over whole H*W
planes, adding the channel that enters the window and subtracting the one that leaves, so each
element is added once and subtracted once whatever the window size (the reference sums the
whole window for every channel; the running sum of squares is clamped at 0, as subtracting can
round it below); beta = 0.75 is computed with two square roots instead of a power.
"""

from __future__ import annotations

import numpy as np

from ._jit import kernel, parallel_kernel, prange


@kernel
def _scale_and_output(x_row, acc, k, coef, beta, zero, scale_row, out_row):
    """scale = k + coef * window sum; out = x * scale^-beta (beta = 0.75 by two square roots)."""
    if beta == 0.75:
        for p in range(x_row.size):
            s = k + coef * max(acc[p], zero)
            scale_row[p] = s
            out_row[p] = x_row[p] / np.sqrt(s * np.sqrt(s))
    else:
        for p in range(x_row.size):
            s = k + coef * max(acc[p], zero)
            scale_row[p] = s
            out_row[p] = x_row[p] * s**-beta


@kernel
def _slide(acc, enter_row, leave_row, enter, leave, square):
    """Add the channel entering the window and remove the one leaving it (or their squares)."""
    if enter:
        if square:
            for p in range(acc.size):
                acc[p] += enter_row[p] * enter_row[p]
        else:
            for p in range(acc.size):
                acc[p] += enter_row[p]
    if leave:
        if square:
            for p in range(acc.size):
                acc[p] -= leave_row[p] * leave_row[p]
        else:
            for p in range(acc.size):
                acc[p] -= leave_row[p]


@parallel_kernel
def _lrn_forward(x, size, coef, k, beta, out, scale):
    n_img, channels, plane = x.shape
    lo = size // 2  # channels before c in its window
    hi = (size - 1) // 2  # channels after c
    zero = x.dtype.type(0)
    for n in prange(n_img):  # each iteration owns image n
        acc = np.zeros(plane, dtype=x.dtype)
        for c in range(min(hi, channels - 1) + 1):
            _slide(acc, x[n, c], x[n, c], True, False, True)
        for c in range(channels):
            _scale_and_output(x[n, c], acc, k, coef, beta, zero, scale[n, c], out[n, c])
            enter = min(c + 1 + hi, channels - 1)
            leave = max(c - lo, 0)
            _slide(acc, x[n, enter], x[n, leave], c + 1 + hi < channels, c - lo >= 0, True)


@parallel_kernel
def _lrn_backward(x, dy, scale, size, coef2beta, beta, dx):
    n_img, channels, plane = x.shape
    lo = size // 2
    hi = (size - 1) // 2
    for n in prange(n_img):
        # t_c = dy_c a_c scale_c^(-beta-1); dx starts as dy_c scale_c^-beta
        t = np.empty((channels, plane), dtype=x.dtype)
        for c in range(channels):
            if beta == 0.75:
                for p in range(plane):
                    s = scale[n, c, p]
                    g = dy[n, c, p] / np.sqrt(s * np.sqrt(s))
                    dx[n, c, p] = g
                    t[c, p] = g * x[n, c, p] / s
            else:
                for p in range(plane):
                    s = scale[n, c, p]
                    g = dy[n, c, p] * s**-beta
                    dx[n, c, p] = g
                    t[c, p] = g * x[n, c, p] / s
        # c receives from every c' whose window holds c: c' in [c - hi, c + lo]
        acc = np.zeros(plane, dtype=x.dtype)
        for c in range(min(lo, channels - 1) + 1):
            _slide(acc, t[c], t[c], True, False, False)
        for c in range(channels):
            for p in range(plane):
                dx[n, c, p] -= coef2beta * x[n, c, p] * acc[p]
            enter = min(c + 1 + lo, channels - 1)
            leave = max(c - hi, 0)
            _slide(acc, t[enter], t[leave], c + 1 + lo < channels, c - hi >= 0, False)


def lrn_forward(x, size, alpha, beta, k):
    """x (N, C, H, W) float -> (out, scale), both (N, C, H, W) in x's dtype."""
    x = np.ascontiguousarray(x)
    n, c = x.shape[:2]
    t = x.dtype.type
    out = np.empty_like(x)
    scale = np.empty_like(x)
    _lrn_forward(
        x.reshape(n, c, -1),
        size,
        t(alpha / size),
        t(k),
        t(beta),
        out.reshape(n, c, -1),
        scale.reshape(n, c, -1),
    )
    return out, scale


def lrn_backward(x, dy, scale, size, alpha, beta):
    """dL/dx (N, C, H, W) from the input x, dL/dy and the forward's cached scale."""
    x = np.ascontiguousarray(x)
    n, c = x.shape[:2]
    t = x.dtype.type
    dx = np.empty_like(x)
    _lrn_backward(
        x.reshape(n, c, -1),
        np.ascontiguousarray(dy, dtype=x.dtype).reshape(n, c, -1),
        scale.reshape(n, c, -1),
        size,
        t(2 * alpha * beta / size),
        t(beta),
        dx.reshape(n, c, -1),
    )
    return dx
