"""Winograd minimal filtering F(m x m, r x r) in plain NumPy: the readable version of winograd.py.

A stride-1 r x r convolution computes each m x m block ("tile") of the output from an
alpha x alpha block of the padded input (alpha = m + r - 1), with alpha^2 multiplications per
input and output channel pair instead of r^2 m^2 (Lavin & Gray, "Fast Algorithms for
Convolutional Neural Networks", 2016):

    Y_tile = A^T [ sum_c (G g_kc G^T) * (B^T d_c B) ] A          (* is elementwise)

Input tiles start every m pixels and overlap by r - 1. The output is rounded up to whole tiles;
the extra rows and columns read zeros beyond the padding and are cropped away. Backward is the
transpose of every step: with W = A dY_tile A^T,

    dg = G^T [ sum_tiles W * (B^T d B) ] G,    dd_tile = B [ sum_k (G g G^T) * W ] B^T,

and the overlapping dd tiles are added into dx.

The matrices come from Cook-Toom (the transpose of Toom-Cook polynomial multiplication) at the
points 0, 1, -1, 2, -2, infinity (alpha = 6) and 0, 1, -1, 2, -2, -1/2, infinity (alpha = 7; of
the seventh points tried, ±1/2 gave the smallest float32 error, 3 or 1/3 20-35 times more): G
evaluates the filter polynomial (alpha x r Vandermonde rows), A^T the output one (m x alpha, the
transposed Vandermonde), and B^T is the transposed inverse of the alpha x alpha Vandermonde
matrix, each row scaled to the smallest integers with G's row scaled by the inverse. B^T depends
on the points only, so F(4x4, 3x3) and F(2x2, 5x5) share it, and F(5x5, 3x3) and F(3x3, 5x5).
"""

from __future__ import annotations

import numpy as np

_BT6 = [
    [4, 0, -5, 0, 1, 0],
    [0, -4, -4, 1, 1, 0],
    [0, 4, -4, -1, 1, 0],
    [0, -2, -1, 2, 1, 0],
    [0, 2, -1, -2, 1, 0],
    [0, 4, 0, -5, 0, 1],
]

_BT7 = [
    [4, 8, -5, -10, 1, 2, 0],
    [0, -4, -12, -7, 3, 2, 0],
    [0, 4, 4, -9, -1, 2, 0],
    [0, -2, -5, 0, 5, 2, 0],
    [0, 2, 3, -4, -3, 2, 0],
    [0, 4, 0, -5, 0, 1, 0],
    [0, 4, 8, -5, -10, 1, 2],
]
_G7 = [  # rows 0..5 at the points 0, 1, -1, 2, -2, -1/2 (each scaled like B^T's row), then infinity
    [1 / 4, 0, 0, 0, 0],
    [-1 / 18] * 5,
    [1 / 6, -1 / 6, 1 / 6, -1 / 6, 1 / 6],
    [1 / 120, 1 / 60, 1 / 30, 1 / 15, 2 / 15],
    [-1 / 72, 1 / 36, -1 / 18, 1 / 9, -2 / 9],
    [-32 / 45, 16 / 45, -8 / 45, 4 / 45, -2 / 45],
]
_AT7 = [
    [1, 1, 1, 1, 1, 1, 0],
    [0, 1, -1, 2, -2, -1 / 2, 0],
    [0, 1, 1, 4, 4, 1 / 4, 0],
    [0, 1, -1, 8, -8, -1 / 8, 0],
    [0, 1, 1, 16, 16, 1 / 16, 0],
]

#: (B^T (alpha, alpha), G (alpha, r), A^T (m, alpha)) of F(m x m, r x r), keyed by (m, r).
MATRICES = {
    (2, 3): (
        [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]],
        [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]],
        [[1, 1, 1, 0], [0, 1, -1, -1]],
    ),
    (4, 3): (
        _BT6,
        [
            [1 / 4, 0, 0],
            [-1 / 6, -1 / 6, -1 / 6],
            [-1 / 6, 1 / 6, -1 / 6],
            [1 / 24, 1 / 12, 1 / 6],
            [1 / 24, -1 / 12, 1 / 6],
            [0, 0, 1],
        ],
        [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]],
    ),
    (2, 5): (
        _BT6,
        [
            [1 / 4, 0, 0, 0, 0],
            [-1 / 6, -1 / 6, -1 / 6, -1 / 6, -1 / 6],
            [-1 / 6, 1 / 6, -1 / 6, 1 / 6, -1 / 6],
            [1 / 24, 1 / 12, 1 / 6, 1 / 3, 2 / 3],
            [1 / 24, -1 / 12, 1 / 6, -1 / 3, 2 / 3],
            [0, 0, 0, 0, 1],
        ],
        [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 1]],
    ),
    (5, 3): (_BT7, [row[:3] for row in _G7] + [[0, 0, 1 / 2]], [*_AT7[:4], [*_AT7[4][:6], 1]]),
    (3, 5): (_BT7, [*_G7, [0, 0, 0, 0, 1 / 2]], [*_AT7[:2], [*_AT7[2][:6], 1]]),
}


def matrices(m, r, dtype=np.float64):
    """(B^T (alpha, alpha), G (alpha, r), A^T (m, alpha)) of F(m x m, r x r) in ``dtype``."""
    return tuple(np.array(mat, dtype=dtype) for mat in MATRICES[m, r])


def tile_grid(h, w, padding, m, r):
    """(OH, OW, tiles down, tiles across) of an r x r stride-1 convolution of an h x w image."""
    oh, ow = h + 2 * padding[0] - (r - 1), w + 2 * padding[1] - (r - 1)
    return oh, ow, -(-oh // m), -(-ow // m)


def input_tiles(x, padding, m, r):
    """x (N, C, H, W) -> (N, C, tH, tW, alpha, alpha): the overlapping input tile of each tile."""
    n, c, h, w = x.shape
    oh, ow, th, tw = tile_grid(h, w, padding, m, r)
    ph, pw = padding
    alpha = m + r - 1
    xp = np.zeros((n, c, th * m + r - 1, tw * m + r - 1), dtype=x.dtype)
    xp[:, :, ph : ph + h, pw : pw + w] = x  # th * m + r - 1 >= h + 2 * ph: the padded image
    d = np.empty((n, c, th, tw, alpha, alpha), dtype=x.dtype)
    for ty in range(th):
        for tx in range(tw):
            d[:, :, ty, tx] = xp[:, :, ty * m : ty * m + alpha, tx * m : tx * m + alpha]
    return d


def _grouped(a, groups):
    """(N, C, ...) -> (N, groups, C // groups, ...)."""
    return a.reshape(a.shape[0], groups, a.shape[1] // groups, *a.shape[2:])


def conv_forward(x, w, b, padding, groups=1, m=2):
    """y (N, K, OH, OW) = conv(x, w) + b; x (N, C, H, W), w (K, C/groups, r, r), b (K,)."""
    r = w.shape[-1]
    bt, g, at = matrices(m, r, x.dtype)
    n, c, h, wd = x.shape
    k = w.shape[0]
    oh, ow, th, tw = tile_grid(h, wd, padding, m, r)
    v = np.einsum("ai,nctxij,bj->nctxab", bt, input_tiles(x, padding, m, r), bt)
    u = np.einsum("ai,kcij,bj->kcab", g, w, g)
    vg, ug = _grouped(v, groups), u.reshape(groups, k // groups, *u.shape[1:])
    mm = np.einsum("gkcab,ngctxab->ngktxab", ug, vg).reshape(n, k, th, tw, *v.shape[-2:])
    y = np.einsum("ia,nktxab,jb->nktixj", at, mm, at).reshape(n, k, th * m, tw * m)
    return y[:, :, :oh, :ow] + b[None, :, None, None]


def conv_backward(x, w, dy, padding, groups=1, m=2):
    """(dx (N, C, H, W), dw (K, C/groups, r, r), db (K,)) of ``conv_forward`` for dL/dy dy."""
    r = w.shape[-1]
    bt, g, at = matrices(m, r, x.dtype)
    n, c, h, wd = x.shape
    k, alpha = w.shape[0], m + r - 1
    oh, ow, th, tw = tile_grid(h, wd, padding, m, r)
    dyp = np.zeros((n, k, th * m, tw * m), dtype=dy.dtype)
    dyp[:, :, :oh, :ow] = dy
    dyt = dyp.reshape(n, k, th, m, tw, m).transpose(0, 1, 2, 4, 3, 5)  # (N, K, tH, tW, m, m)
    wt = np.einsum("ia,nktxij,jb->nktxab", at, dyt, at)  # A dY A^T
    v = np.einsum("ai,nctxij,bj->nctxab", bt, input_tiles(x, padding, m, r), bt)
    du = np.einsum("ngktxab,ngctxab->gkcab", _grouped(wt, groups), _grouped(v, groups))
    dw = np.einsum("ai,gkcab,bj->gkcij", g, du, g).reshape(w.shape)
    u = np.einsum("ai,kcij,bj->kcab", g, w, g)
    u = u.reshape(groups, k // groups, *u.shape[1:])
    dv = np.einsum("gkcab,ngktxab->ngctxab", u, _grouped(wt, groups)).reshape(v.shape)
    dd = np.einsum("ai,nctxab,bj->nctxij", bt, dv, bt)  # B dV B^T
    dxp = np.zeros((n, c, th * m + r - 1, tw * m + r - 1), dtype=x.dtype)
    for ty in range(th):
        for tx in range(tw):
            dxp[:, :, ty * m : ty * m + alpha, tx * m : tx * m + alpha] += dd[:, :, ty, tx]
    ph, pw = padding
    dx = dxp[:, :, ph : ph + h, pw : pw + wd]
    return dx, dw, dy.sum(axis=(0, 2, 3))
