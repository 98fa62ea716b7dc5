"""Max-pooling forward (value and argmax) and backward (scatter-add through the argmax).

Windows may overlap (AlexNet's 3x3, stride 2). Padding never wins: a window is clipped to the
real input, which is the same as padding with -inf.

Tie rule: when several elements of a window share the maximum, the first one in row-major order
(top row first, then leftmost) wins and receives the whole gradient. This is PyTorch's rule too.
Where windows overlap, an element that is the maximum of several windows receives the sum of
their gradients.
"""

from __future__ import annotations

import numpy as np

from ..validate import out_hw
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


# -- plain NumPy references ----------------------------------------------------------------------


def maxpool_forward_reference(x, kernel, stride, padding):
    """Readable max-pool with -inf padding; returns (out, argmax) with the same tie rule."""
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    oh, ow = out_hw(x.shape, kernel, stride, padding)
    xp = np.full((n, c, h + 2 * ph, w + 2 * pw), -np.inf, dtype=np.float64)
    xp[:, :, ph : ph + h, pw : pw + w] = x
    out = np.empty((n, c, oh, ow), dtype=x.dtype)
    argmax = np.empty((n, c, oh, ow), dtype=np.int64)
    for y in range(oh):
        for xo in range(ow):
            win = xp[:, :, y * sh : y * sh + kh, xo * sw : xo * sw + kw].reshape(n, c, -1)
            k = win.argmax(axis=2)  # first maximum in row-major order
            out[:, :, y, xo] = np.take_along_axis(win, k[..., None], 2)[..., 0]
            iy = y * sh - ph + k // kw
            ix = xo * sw - pw + k % kw
            argmax[:, :, y, xo] = iy * w + ix
    return out, argmax


def maxpool_backward_reference(dy, argmax, x_shape):
    n, c, h, w = x_shape
    dx = np.zeros((n * c, h * w), dtype=dy.dtype)
    rows = np.repeat(np.arange(n * c), dy.shape[2] * dy.shape[3])
    np.add.at(dx, (rows, argmax.reshape(-1)), dy.reshape(-1))
    return dx.reshape(x_shape)
