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
                patch = xp[:, g * cg:(g + 1) * cg, i * sh:i * sh + kh, j * sw:j * sw + kw]
                y[:, oc, i, j] = np.tensordot(patch, w[oc], axes=([1, 2, 3], [0, 1, 2])) + b[oc]
    return y
