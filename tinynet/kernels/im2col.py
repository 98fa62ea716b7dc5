"""im2col and col2im as parallel Numba kernels: the fast twins of ``tinynet.reference.im2col``.

Same layout and results as the reference (its docstring draws the column matrix). What makes them
fast: the work is split by (image, channel) plane, so no two iterations write the same element;
im2col copies each plane once into a small zero-padded buffer that stays in cache (stride 1) or
splits each input row into its column phases (strides > 1), so that every run of output columns
is one contiguous copy; col2im skips the taps that fall in the padding instead of padding dx.
"""

from __future__ import annotations

import numpy as np

from ..validate import out_hw
from ._jit import kernel, parallel_kernel, prange


@kernel
def _inside(ow, sw, pw, j, width):
    """[x_lo, x_hi): the output columns whose input column x * sw - pw + j is inside the image."""
    x_lo = 0
    while x_lo < ow and x_lo * sw - pw + j < 0:
        x_lo += 1
    x_hi = ow
    while x_hi > x_lo and (x_hi - 1) * sw - pw + j >= width:
        x_hi -= 1
    return x_lo, x_hi


@parallel_kernel
def _im2col(x, kh, kw, sh, sw, ph, pw, oh, ow, cols):
    """im2col for a column stride sw == 1. Each iteration copies one (image, channel) plane into
    a zero-padded copy, which stays in cache, then every output row of every tap is one run of
    ow contiguous values; iterations write disjoint column ranges. Copies go through views,
    whose indices the compiler knows are >= 0, so that they vectorise (docs/performance.md,
    "The measurements behind the code")."""
    n_img, channels, height, width = x.shape
    plane = oh * ow
    hp, wp = (oh - 1) * sh + kh, ow + kw - 1  # the padded rows and columns the windows read
    for nc in prange(n_img * channels):
        n = nc // channels
        c = nc % channels
        xp = np.zeros((hp, wp), x.dtype)
        for iy in range(min(height, hp - ph)):
            src, dst = x[n, c, iy], xp[iy + ph]
            for ix in range(min(width, wp - pw)):
                dst[ix + pw] = src[ix]
        for i in range(kh):
            for j in range(kw):
                out = cols[(c * kh + i) * kw + j, n * plane : (n + 1) * plane]
                for y in range(oh):
                    src, dst = xp[y * sh + i, j : j + ow], out[y * ow : (y + 1) * ow]
                    for xo in range(ow):
                        dst[xo] = src[xo]


@kernel
def _phase_row(row, sw, a_lo, phase):
    """phase[b, k] = row[(k + a_lo) * sw + b], zero outside the row: its sw column phases."""
    width, span = row.shape[0], phase.shape[1]
    phase[:, :-a_lo] = 0
    for b in range(sw):
        k_hi = min(span, (width - b + sw - 1) // sw - a_lo)  # phase[b, k_hi:] is padding
        phase[b, k_hi:] = 0
        src, dst = row[b::sw], phase[b, -a_lo:k_hi]
        for k in range(k_hi + a_lo):
            dst[k] = src[k]


@parallel_kernel
def _im2col_phased(x, kh, kw, sh, sw, ph, pw, oh, ow, cols):
    """im2col for a column stride sw > 1 (AlexNet's conv1: 4). Each input row is first split
    into its sw column phases (a buffer of a few hundred values), so that every run of ow
    columns is a contiguous copy instead of a strided gather: tap j reads phase (j - pw) mod sw
    from k = floor((j - pw) / sw) - a_lo on. Iterations write disjoint column ranges."""
    n_img, channels, height = x.shape[0], x.shape[1], x.shape[2]
    plane = oh * ow
    a_lo, a_hi = -((pw + sw - 1) // sw), (kw - 1 - pw) // sw
    for nc in prange(n_img * channels):
        n, c = nc // channels, nc % channels
        phase = np.empty((sw, ow + a_hi - a_lo), x.dtype)
        for i in range(kh):
            for y in range(oh):
                iy = y * sh - ph + i
                inside = 0 <= iy < height
                if inside:
                    _phase_row(x[n, c, iy], sw, a_lo, phase)
                for j in range(kw):
                    out = cols[(c * kh + i) * kw + j, n * plane + y * ow : n * plane + (y + 1) * ow]
                    if not inside:
                        out[:] = 0
                        continue
                    a = (j - pw) // sw
                    src = phase[j - pw - a * sw, a - a_lo : a - a_lo + ow]
                    for xo in range(ow):
                        out[xo] = src[xo]


@parallel_kernel
def _col2im(cols, kh, kw, sh, sw, ph, pw, oh, ow, dx):
    n_img, channels, height, width = dx.shape
    plane = oh * ow
    for nc in prange(n_img * channels):  # each iteration owns the plane dx[n, c]
        n = nc // channels
        c = nc % channels
        for yy in range(height):
            for xx in range(width):
                dx[n, c, yy, xx] = 0
        for i in range(kh):
            for j in range(kw):
                row = (c * kh + i) * kw + j
                x_lo, x_hi = _inside(ow, sw, pw, j, width)
                for y in range(oh):
                    iy = y * sh - ph + i
                    if iy < 0 or iy >= height:
                        continue
                    src = n * plane + y * ow
                    for xo in range(x_lo, x_hi):
                        dx[n, c, iy, xo * sw - pw + j] += cols[row, src + xo]


def _shape(x_shape, kernel, stride, padding):
    n, c = x_shape[:2]
    oh, ow = out_hw(x_shape, kernel, stride, padding)
    return (c * kernel[0] * kernel[1], n * oh * ow), oh, ow


def im2col(x, kernel, stride, padding, out=None):
    """Columns of x (N, C, H, W) -> (C*kh*kw, N*OH*OW), same dtype; into ``out`` if given."""
    shape, oh, ow = _shape(x.shape, kernel, stride, padding)
    if out is None:
        out = np.empty(shape, dtype=x.dtype)
    copy = _im2col_phased if stride[1] > 1 else _im2col
    copy(np.ascontiguousarray(x), *kernel, *stride, *padding, oh, ow, out)
    return out


def col2im(cols, x_shape, kernel, stride, padding, out=None):
    """Scatter-add columns (C*kh*kw, N*OH*OW) back to an image batch of shape ``x_shape``.

    Overlapping windows accumulate; contributions that fall in the padding are dropped.
    """
    _, oh, ow = _shape(x_shape, kernel, stride, padding)
    if out is None:
        out = np.empty(x_shape, dtype=cols.dtype)
    _col2im(np.ascontiguousarray(cols), *kernel, *stride, *padding, oh, ow, out)
    return out
