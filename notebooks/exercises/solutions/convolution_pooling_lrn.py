"""Solutions to 2_convolution_pooling_lrn.ipynb: im2col, col2im, the convolution layer's forward
and backward with groups, max-pool and LRN backward."""

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


def conv_forward(x, weight, bias, stride, pad, groups):
    """y (N, F, OH, OW) of a convolution layer: x (N, C, H, W), weight (F, C/G, kh, kw), bias (F,).

    With G groups, the rows of im2col's matrix of group g are contiguous, so one reshape splits
    cols into (G, C/G*kh*kw, N*OH*OW) and the weight into (G, F/G, C/G*kh*kw); then, per group,

        Y_g = W_g @ cols_g                    (F/G, N*OH*OW), columns (n, y, x)

    and the rows of all groups are the F filters in order: (F, N, OH, OW) -> (N, F, OH, OW)."""
    n, f, kh, kw = x.shape[0], weight.shape[0], weight.shape[2], weight.shape[3]
    oh = (x.shape[2] + 2 * pad - kh) // stride + 1
    ow = (x.shape[3] + 2 * pad - kw) // stride + 1
    cols = im2col(x, kh, kw, stride, pad).reshape(groups, -1, n * oh * ow)
    rows = weight.reshape(groups, f // groups, -1) @ cols  # (G, F/G, N*OH*OW)
    y = rows.reshape(f, n, oh, ow).transpose(1, 0, 2, 3)
    return y + bias[None, :, None, None]


def conv_backward(x, weight, dout, stride, pad, groups):
    """(dx (N, C, H, W), dW (F, C/G, kh, kw), db (F,)) of conv_forward, for dL/dy dout.

    Y_g = W_g @ cols_g is a matrix product, so with G_g = dout's rows of group g (F/G, N*OH*OW):

        dW_g    = G_g @ cols_g^T              (F/G, C/G*kh*kw), reshaped to the weight's shape
        dcols_g = W_g^T @ G_g                 (C/G*kh*kw, N*OH*OW)
        dx      = col2im(the dcols_g stacked) (the gradient of im2col: overlaps accumulate)
        db      = dout summed over N, OH, OW  (the bias is added at every output pixel)"""
    f, kh, kw = weight.shape[0], weight.shape[2], weight.shape[3]
    rows = dout.transpose(1, 0, 2, 3).reshape(groups, f // groups, -1)  # (G, F/G, N*OH*OW)
    cols = im2col(x, kh, kw, stride, pad).reshape(groups, -1, rows.shape[2])
    dweight = (rows @ cols.transpose(0, 2, 1)).reshape(weight.shape)
    w = weight.reshape(groups, f // groups, -1)
    dcols = (w.transpose(0, 2, 1) @ rows).reshape(-1, rows.shape[2])
    dx = col2im(dcols, x.shape, kh, kw, stride, pad)
    return dx, dweight, dout.sum(axis=(0, 2, 3))


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
    """dx (N, C, H, W) of b_c = a_c * s_c^-beta, s_c = k + alpha/n * sum_{c' in W(c)} a_c'^2.

    a_c reaches the loss through b_c and through every s_c' whose window W(c') holds c:

        dL/da_c = dL/db_c * s_c^-beta
                  - 2 alpha beta / n * a_c * sum_{c': c in W(c')} dL/db_c' * a_c' * s_c'^-(beta+1)

    with W(c) = [c - n//2, c + (n-1)//2] and {c' : c in W(c')} = [c - (n-1)//2, c + n//2] (the
    mirrored window: the same set for odd n, not for even n)."""
    channels = x.shape[1]
    before, after = size // 2, (size - 1) // 2

    def window_sum(v, lo, hi):  # sum over channels [c - lo, c + hi], zero outside
        padded = np.pad(v, ((0, 0), (lo, hi), (0, 0), (0, 0)))
        return sum(padded[:, d : d + channels] for d in range(lo + hi + 1))

    scale = k + alpha / size * window_sum(x * x, before, after)
    t = dout * x * scale ** (-beta - 1)
    return dout * scale**-beta - 2 * alpha * beta / size * x * window_sum(t, after, before)
