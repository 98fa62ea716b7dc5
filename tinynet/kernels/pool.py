"""Max-pooling forward (value and argmax) and backward (scatter-add through the argmax), in Numba.

``tinynet/reference/pool.py`` is the specification: same functions, arguments and results. The
conventions, in short: windows may overlap (AlexNet's 3x3, stride 2); padding counts as -inf, so
a window is clipped to the real input; a tie goes to the first maximum in row-major order (top
row first, then leftmost), which receives the whole gradient; an element that is the maximum of
several overlapping windows receives the sum of their gradients.

What is fast: one parallel iteration per (image, channel) plane, each window scanned in place
(no padded copy, no window array), and backward writes each plane's dx without atomics.
"""

from __future__ import annotations

import numpy as np

from ._jit import parallel_kernel, prange


@parallel_kernel
def _maxpool_forward(x, kh, kw, sh, sw, ph, pw, out, argmax, keep_argmax):
    n_img, channels, height, width = x.shape
    _, _, oh, ow = out.shape
    for plane in prange(n_img * channels):  # each iteration owns one (n, c) plane
        n = plane // channels
        c = plane % channels
        for y in range(oh):
            y0 = max(y * sh - ph, 0)
            y1 = min(y * sh - ph + kh, height)
            for xo in range(ow):
                x0 = max(xo * sw - pw, 0)
                x1 = min(xo * sw - pw + kw, width)
                best = x[n, c, y0, x0]
                where = y0 * width + x0
                for iy in range(y0, y1):
                    for ix in range(x0, x1):
                        v = x[n, c, iy, ix]
                        if v > best:
                            best = v
                            where = iy * width + ix
                out[n, c, y, xo] = best
                if keep_argmax:
                    argmax[n, c, y, xo] = where


@parallel_kernel
def _maxpool_backward(dy, argmax, dx):
    n_img, channels, height, width = dx.shape
    _, _, oh, ow = dy.shape
    for plane in prange(n_img * channels):  # each iteration owns dx[n, c]
        n = plane // channels
        c = plane % channels
        for iy in range(height):
            for ix in range(width):
                dx[n, c, iy, ix] = 0
        for y in range(oh):
            for xo in range(ow):
                where = argmax[n, c, y, xo]
                dx[n, c, where // width, where % width] += dy[n, c, y, xo]


def maxpool_forward(x, kernel, stride, padding, out_hw, keep_argmax=True):
    """x (N, C, H, W) -> (out (N, C, OH, OW) in x's dtype, argmax: int32 flat index in H*W);
    with ``keep_argmax=False`` (inference) the argmax is not written and None is returned."""
    n, c = x.shape[:2]
    out = np.empty((n, c, *out_hw), dtype=x.dtype)
    argmax = np.empty((n, c, *out_hw) if keep_argmax else (1, 1, 1, 1), dtype=np.int32)
    _maxpool_forward(np.ascontiguousarray(x), *kernel, *stride, *padding, out, argmax, keep_argmax)
    return out, argmax if keep_argmax else None


def maxpool_backward(dy, argmax, x_shape):
    """Route dy (N, C, OH, OW) to the argmax positions of an input of shape ``x_shape``."""
    dx = np.empty(x_shape, dtype=dy.dtype)
    _maxpool_backward(np.ascontiguousarray(dy), argmax, dx)
    return dx
