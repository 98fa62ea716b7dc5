"""A direct (loop) convolution that shares no code with tinynet, used as ground truth."""

import numpy as np


def conv2d_direct(x, w, b, stride, padding, groups):
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    (sh, sw), (ph, pw) = stride, padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    oh = (h + 2 * ph - kh) // sh + 1
    ow = (wd + 2 * pw - kw) // sw + 1
    og = o // groups
    y = np.zeros((n, o, oh, ow))
    for oc in range(o):
        g = oc // og
        for i in range(oh):
            for j in range(ow):
                patch = xp[:, g * cg : (g + 1) * cg, i * sh : i * sh + kh, j * sw : j * sw + kw]
                y[:, oc, i, j] = np.tensordot(patch, w[oc], axes=([1, 2, 3], [0, 1, 2])) + b[oc]
    return y


def conv2d_direct_backward(x, w, dy, stride, padding, groups):
    """dL/dx, dL/dw, dL/db of conv2d_direct by the same loops, run backwards."""
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    (sh, sw), (ph, pw) = stride, padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    og = o // groups
    for oc in range(o):
        g = oc // og
        for i in range(dy.shape[2]):
            for j in range(dy.shape[3]):
                window = (
                    slice(None),
                    slice(g * cg, (g + 1) * cg),
                    slice(i * sh, i * sh + kh),
                    slice(j * sw, j * sw + kw),
                )
                d = dy[:, oc, i, j][:, None, None, None]
                dw[oc] += np.sum(xp[window] * d, axis=0)
                dxp[window] += w[oc][None] * d
    return dxp[:, :, ph : ph + h, pw : pw + wd], dw, dy.sum(axis=(0, 2, 3))
