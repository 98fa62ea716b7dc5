"""Solutions to 2_convolution_pooling_lrn.ipynb: im2col, col2im, max-pool and LRN backward."""

import numpy as np


def im2col(x, kh, kw, stride, pad):
    """cols (C*kh*kw, N*OH*OW): cols[(c*kh + i)*kw + j, (n*OH + y)*OW + x] = xpad[n, c, y*s + i,
    x*s + j] for x (N, C, H, W) float64, zero padding ``pad`` on every side.

    The answer is tinynet's own reference, ``tinynet/reference/im2col.py``: pad, then one strided
    slice per kernel offset (i, j), moved to the rows of that offset. Read it there."""
    from tinynet.reference import im2col as reference

    return reference.im2col(x, (kh, kw), (stride, stride), (pad, pad))


def col2im(cols, x_shape, kh, kw, stride, pad):
    """dx (N, C, H, W): every entry of cols (C*kh*kw, N*OH*OW) added back where im2col read it.

    The answer is ``col2im`` in ``tinynet/reference/im2col.py``: the same strided slices, each
    added (+=, since windows overlap) into a padded image, whose padding is then cropped."""
    from tinynet.reference import im2col as reference

    return reference.col2im(cols, x_shape, (kh, kw), (stride, stride), (pad, pad))


def maxpool_backward(dout, x, kh, kw, stride):
    """dx (N, C, H, W): each dout (N, C, OH, OW) entry added to its window's first maximum."""
    dx = np.zeros_like(x)
    _, _, oh, ow = dout.shape
    for y in range(oh):
        for xo in range(ow):
            rows, columns = slice(y * stride, y * stride + kh), slice(xo * stride, xo * stride + kw)
            window = x[:, :, rows, columns].reshape(x.shape[0], x.shape[1], -1)
            first = window.argmax(axis=2)  # first maximum in row-major order
            iy, ix = y * stride + first // kw, xo * stride + first % kw
            n, c = np.indices(first.shape)
            np.add.at(dx, (n, c, iy, ix), dout[:, :, y, xo])
    return dx


def lrn_backward(x, dout, size, alpha, beta, k):
    """dx (N, C, H, W) of b_c = a_c * (k + alpha/size * sum_{window(c)} a^2)^-beta."""
    channels = x.shape[1]
    before, after = size // 2, (size - 1) // 2

    def window_sum(v, lo, hi):  # sum over channels [c - lo, c + hi], zero outside
        padded = np.pad(v, ((0, 0), (lo, hi), (0, 0), (0, 0)))
        return sum(padded[:, d : d + channels] for d in range(lo + hi + 1))

    scale = k + alpha / size * window_sum(x * x, before, after)
    t = dout * x * scale ** (-beta - 1)
    return dout * scale**-beta - 2 * alpha * beta / size * x * window_sum(t, after, before)
