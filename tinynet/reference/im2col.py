"""im2col and col2im: the sliding-window copies that turn a convolution into one GEMM.

For a batch x (N, C, H, W), a kernel (kh, kw), a stride (sh, sw), zero padding (ph, pw) and the
output size (OH, OW), the column matrix holds one column per output pixel and one row per
(channel, kernel offset):

    cols[(c * kh + i) * kw + j, (n * OH + y) * OW + x] = xpad[n, c, y * sh + i, x * sw + j]

so the rows of one group of channels are contiguous and ``cols.reshape(G, -1, N * OH * OW)``
is the column matrix of each group. col2im is its adjoint: it adds every entry back to the pixel
it was copied from, so where windows overlap the contributions accumulate, and those that fall
in the padding are dropped.
"""

from __future__ import annotations

import numpy as np

from ..validate import out_hw


def im2col(x, kernel, stride, padding, out=None):
    """x (N, C, H, W) -> cols (C*kh*kw, N*OH*OW) in x's dtype: pad, then one strided slice per
    kernel offset (i, j); into ``out`` if given."""
    n, c = x.shape[:2]
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    oh, ow = out_hw(x.shape, kernel, stride, padding)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    cols = np.empty((c, kh, kw, n, oh, ow), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, :, i : i + sh * oh : sh, j : j + sw * ow : sw]  # (N, C, OH, OW)
            cols[:, i, j] = patch.transpose(1, 0, 2, 3)
    cols = cols.reshape(c * kh * kw, n * oh * ow)
    if out is None:
        return cols
    out[...] = cols
    return out


def col2im(cols, x_shape, kernel, stride, padding, out=None):
    """cols (C*kh*kw, N*OH*OW) -> dx of shape ``x_shape`` (N, C, H, W): each entry added back to
    the pixel im2col read it from; into ``out`` if given."""
    n, c, h, w = x_shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    oh, ow = out_hw(x_shape, kernel, stride, padding)
    cols = cols.reshape(c, kh, kw, n, oh, ow)
    xp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            window = xp[:, :, i : i + sh * oh : sh, j : j + sw * ow : sw]
            window += cols[:, i, j].transpose(1, 0, 2, 3)
    dx = xp[:, :, ph : ph + h, pw : pw + w]
    if out is None:
        return np.ascontiguousarray(dx)
    out[...] = dx
    return out
