"""Winograd F(m x m, r x r) transforms for stride-1 3x3 and 5x5 convolutions, on Numba.

The maths is in ``tinynet.reference.winograd``; these kernels lay the data out for the GEMMs. With
alpha = m + r - 1, E = alpha^2 transform elements, T = N * tH * tW tiles (image-major, then tile
rows, then tile columns) and G groups:

    V, dV (E, G, T, C/G)    transformed input tiles        U (E, G, C/G, K/G)       filters
    M, W  (E, G, T, K/G)    products / transformed dL/dy   dU^T (E, G, K/G, C/G)    dL/dU

so forward is ``M = V @ U``, and backward ``dU^T = W^T @ V`` and ``dV = W @ U^T``: each one
``np.matmul`` over a stack of E * G GEMMs, tiles as the long axis.
The transforms run with channels innermost (contiguous in all of these arrays), so the small
transform matrices (passed in, float32 or float64 like the data; zero entries skipped) become
vector multiply-adds; NCHW images are read and written a row at a time through a small
channels-last buffer. The parallel kernels split the work by image or by (image, tile row), so
no two iterations write the same element. The public transforms take a ``Tile`` (m, r and the
matrices in the data's dtype) first, then what they read, then the array they write.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

from ..reference.winograd import matrices, tile_grid
from ._jit import NO_MASK, kernel, parallel_kernel, prange
from .winograd_passes import _left_from_slabs, _left_on_rows, _right_into_rows, _right_into_slabs


@kernel
def _image_rows(x, n, y0, ph, pw, rows):
    """rows[i, j, c] = padded x[n, c, y0 + i - ph, j - pw] (zero outside the image): the input
    rows of one tile row, channels last. Like every NCHW <-> channels-last copy here, it writes
    contiguously and reads with a stride, which measured much faster than the other order (cache-set
    conflicts at a stride of 256 channels; docs/performance.md)."""
    channels, height, width = x.shape[1], x.shape[2], x.shape[3]
    rows[...] = 0
    for i in range(rows.shape[0]):
        iy = y0 + i - ph
        if 0 <= iy < height:
            for ix in range(min(width, rows.shape[1] - pw)):
                dst = rows[i, ix + pw]
                for c in range(channels):
                    dst[c] = x[n, c, iy, ix]


@kernel
def _sandwich(left, right, src, tmp, dst):
    """dst[a, b, :] = sum_ij left[a, i] src[i, j, :] right[b, j] (tmp: scratch, left @ src):
    winograd_passes' row pass on src, then the same pass on each row of the result."""
    _left_on_rows(left, src, tmp)
    rows, cols, channels = tmp.shape
    for a in range(rows):
        _left_on_rows(
            right, tmp[a].reshape(cols, 1, channels), dst[a].reshape(right.shape[0], 1, channels)
        )


@parallel_kernel
def _input_transform(x, bt, m, ph, pw, th, tw, v):
    """v[a*alpha + b, g, t, c'] = (B^T d B)[a, b], d: tile t's input tile, channel g*C/G + c'."""
    n_img, channels = x.shape[0], x.shape[1]
    alpha, groups = bt.shape[0], v.shape[1]
    for it in prange(n_img * th):  # each iteration writes the tiles of one row of one image
        n, ty = it // th, it % th
        rows = np.empty((alpha, (tw - 1) * m + alpha, channels), x.dtype)
        _image_rows(x, n, ty * m, ph, pw, rows)
        tmp = np.empty_like(rows)
        _left_on_rows(bt, rows, tmp)
        for g in range(groups):
            _right_into_slabs(tmp, bt, m, g * v.shape[3], v, g, it * tw, tw)


@parallel_kernel
def _output_transform(mm, at, bias, relu, keep, oh, ow, th, tw, y, mask):
    """y[n, k, p] = (A^T M A)[i, j] + bias[k] at p = (ty*m + i) * OW + tx*m + j, cropped; ReLU and
    its mask (when ``keep``) on request."""
    n_img, channels = y.shape[0], y.shape[1]
    m, alpha, groups, kg = at.shape[0], at.shape[1], mm.shape[1], mm.shape[3]
    zero = y.dtype.type(0)
    for it in prange(n_img * th):  # each iteration writes output rows ty*m .. ty*m + m - 1
        n, ty = it // th, it % th
        rows = np.empty((m, tw * m, channels), y.dtype)
        for i in range(m):
            for col in range(tw * m):
                rows[i, col] = bias
        tmp = np.empty((m, alpha, tw, kg), y.dtype)
        for g in range(groups):
            _left_from_slabs(at, mm, g, it * tw, tmp)
            _right_into_rows(tmp, at, m, g * kg, rows)
        for i in range(min(m, oh - ty * m)):
            p0 = (ty * m + i) * ow
            for j in range(ow):
                src = rows[i, j]
                for k in range(channels):
                    val = src[k]
                    if relu:
                        if keep:
                            mask[n, k, p0 + j] = val > zero
                        val = max(val, zero)
                    y[n, k, p0 + j] = val


@parallel_kernel
def _dy_transform(dy, mask, relu, a, oh, ow, th, tw, w, dbias):
    """w[a*alpha + b, g, t, k'] = (A dY A^T)[a, b] for the m x m tile t of dy (masked by the ReLU
    mask when ``relu``, zero beyond the output); dbias[it, k] = the tile row's sum of dy."""
    n_img, channels = dy.shape[0], dy.shape[1]
    alpha, m, groups = a.shape[0], a.shape[1], w.shape[1]
    for it in prange(n_img * th):  # each iteration writes the tiles of one row of one image
        n, ty = it // th, it % th
        rows = np.zeros((m, tw * m, channels), dy.dtype)
        total = dbias[it]
        total[:] = 0
        for i in range(min(m, oh - ty * m)):
            p0 = (ty * m + i) * ow
            for j in range(ow):
                dst = rows[i, j]
                for k in range(channels):
                    val = dy[n, k, p0 + j]
                    if relu and not mask[n, k, p0 + j]:
                        val = 0
                    dst[k] = val
                    total[k] += val
        tmp = np.empty((alpha, tw * m, channels), dy.dtype)
        _left_on_rows(a, rows, tmp)
        for g in range(groups):
            _right_into_slabs(tmp, a, m, g * w.shape[3], w, g, it * tw, tw)


@parallel_kernel
def _input_transform_t(dv, b, m, ph, pw, th, tw, dx):
    """dx[n] = the sum over tiles of B dV B^T, each at its input tile, padding dropped."""
    n_img, channels, height, width = dx.shape
    alpha, groups, cg = b.shape[0], dv.shape[1], dv.shape[3]
    for n in prange(n_img):  # overlapping tiles: each iteration owns the whole image dx[n]
        acc = np.zeros(((th - 1) * m + alpha, (tw - 1) * m + alpha, channels), dx.dtype)  # padded
        tmp = np.empty((alpha, alpha, tw, cg), dx.dtype)
        for ty in range(th):
            for g in range(groups):
                _left_from_slabs(b, dv, g, (n * th + ty) * tw, tmp)
                _right_into_rows(tmp, b, m, g * cg, acc[ty * m : ty * m + alpha])
        for iy in range(height):
            for ix in range(width):
                src = acc[iy + ph, ix + pw]
                for c in range(channels):
                    dx[n, c, iy, ix] = src[c]


@parallel_kernel
def _filter_transform(w, gm, u):
    """u[a*alpha + b, g, c', k'] = (G w[g*K/G + k', c'] G^T)[a, b]; w is (G, K/G, C/G, r, r).
    Vectors run over the K/G filters, contiguous in u; the reads of w for one channel share
    cache lines with the next channel's."""
    groups, kg, cg = w.shape[0], w.shape[1], w.shape[2]
    alpha, r = gm.shape
    for gc in prange(groups * cg):
        g, c = gc // cg, gc % cg
        src = np.empty((r, r, kg), u.dtype)
        tmp = np.empty((alpha, r, kg), u.dtype)
        out = np.empty((alpha, alpha, kg), u.dtype)
        for k in range(kg):
            for i in range(r):
                for j in range(r):
                    src[i, j, k] = w[g, k, c, i, j]
        _sandwich(gm, gm, src, tmp, out)
        for e in range(alpha * alpha):
            u[e, g, c, :] = out[e // alpha, e % alpha, :]


@parallel_kernel
def _filter_transform_t(du, gt, dw):
    """dw[g, k', c', i, j] = (G^T dU G)[i, j] of du[:, g, k', c']; dw is (G, K/G, C/G, r, r).
    Vectors run over the C/G channels, contiguous in du (the other way round, the reads
    stride over the channels: much slower, docs/performance.md)."""
    e_count, groups, kg, cg = du.shape
    r, alpha = gt.shape
    for gk in prange(groups * kg):
        g, k = gk // kg, gk % kg
        src = np.empty((alpha, alpha, cg), du.dtype)
        tmp = np.empty((r, alpha, cg), du.dtype)
        out = np.empty((r, r, cg), du.dtype)
        for e in range(e_count):
            src[e // alpha, e % alpha, :] = du[e, g, k, :]
        _sandwich(gt, gt, src, tmp, out)
        for c in range(cg):
            for i in range(r):
                for j in range(r):
                    dw[g, k, c, i, j] = out[i, j, c]


class Tile(NamedTuple):
    """F(m x m, r x r) with its matrices in one dtype, each C-contiguous, and their transposes."""

    m: int
    r: int
    bt: np.ndarray  # B^T (alpha, alpha)
    b: np.ndarray
    g: np.ndarray  # G (alpha, r)
    gt: np.ndarray
    at: np.ndarray  # A^T (m, alpha)
    a: np.ndarray

    @property
    def alpha(self) -> int:
        return self.m + self.r - 1


@functools.cache
def _tile(m: int, r: int, dtype: str) -> Tile:
    bt, g, at = matrices(m, r, np.dtype(dtype))
    pairs = [(mat, np.ascontiguousarray(mat.T)) for mat in (bt, g, at)]
    return Tile(m, r, *(x for pair in pairs for x in pair))


def tile(m: int, r: int, dtype) -> Tile:
    """The Tile of F(m x m, r x r) in ``dtype`` (made once, then shared)."""
    return _tile(m, r, np.dtype(dtype).str)


# Every transform takes the tile first, then what it reads, then where it writes.


def _grid(tile: Tile, x_shape, padding):
    """(OH, OW, tiles down, tiles across, tiles in all) for an input of shape (N, C, H, W)."""
    oh, ow, th, tw = tile_grid(x_shape[2], x_shape[3], padding, tile.m, tile.r)
    return oh, ow, th, tw, x_shape[0] * th * tw


def transformed_shape(tile: Tile, x_shape, channels, padding, groups):
    """(E, G, T, channels // G): the shape of V (channels C) or M and W (channels K)."""
    return (tile.alpha**2, groups, _grid(tile, x_shape, padding)[4], channels // groups)


def filter_transform(tile: Tile, w, groups, out):
    """w (K, C/G, r, r) -> ``out`` U (E, G, C/G, K/G) = G w G^T."""
    k, cg, r = w.shape[0], w.shape[1], tile.r
    _filter_transform(w.reshape(groups, k // groups, cg, r, r), tile.g, out)
    return out


def filter_transform_t(tile: Tile, du, out):
    """dU^T (E, G, K/G, C/G) -> ``out`` (K, C/G, r, r) = G^T dU G (filter_transform's adjoint)."""
    _, groups, kg, cg = du.shape
    _filter_transform_t(du, tile.gt, out.reshape(groups, kg, cg, tile.r, tile.r))
    return out


def input_transform(tile: Tile, x, padding, groups, out):
    """x (N, C, H, W) -> ``out`` V (E, G, T, C/G) = B^T d B of every input tile d."""
    x = np.ascontiguousarray(x)
    _, _, th, tw, _ = _grid(tile, x.shape, padding)
    _input_transform(x, tile.bt, tile.m, *padding, th, tw, out)
    return out


def input_transform_t(tile: Tile, dv, padding, out):
    """dV (E, G, T, C/G) -> ``out`` (N, C, H, W): every B dV B^T added at its input tile, padding
    dropped (the adjoint of input_transform)."""
    _, _, th, tw, _ = _grid(tile, out.shape, padding)
    _input_transform_t(dv, tile.b, tile.m, *padding, th, tw, out)
    return out


def output_transform(tile: Tile, mm, bias, out, relu=False, mask=None):
    """M (E, G, T, K/G) -> ``out`` (N, K, OH, OW) = A^T M A + bias, cropped to the output, then
    max(., 0) if ``relu``; ``mask`` (N, K, OH, OW) bool, if given, receives out > 0."""
    n, k, oh, ow = out.shape
    th, tw = -(-oh // tile.m), -(-ow // tile.m)
    keep = mask is not None
    flat_mask = mask.reshape(n, k, -1) if keep else NO_MASK
    _output_transform(
        mm, tile.at, bias, relu, keep, oh, ow, th, tw, out.reshape(n, k, -1), flat_mask
    )
    return out


def dy_transform(tile: Tile, dy, groups, out, dbias, mask=None):
    """dy (N, K, OH, OW) -> ``out`` W (E, G, T, K/G) = A dY A^T of every m x m output tile (zero
    beyond the output; dy zeroed where a given ReLU ``mask`` is False); dbias (K,) += its sum."""
    n, k, oh, ow = dy.shape
    th, tw = -(-oh // tile.m), -(-ow // tile.m)
    relu = mask is not None
    part = np.empty((n * th, k), dtype=dy.dtype)
    flat_mask = mask.reshape(n, k, -1) if relu else NO_MASK
    dy = np.ascontiguousarray(dy).reshape(n, k, -1)
    _dy_transform(dy, flat_mask, relu, tile.a, oh, ow, th, tw, out, part)
    dbias += part.sum(axis=0)
    return out
