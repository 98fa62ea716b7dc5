"""AdaptiveAvgPool2D: PyTorch's bins, its gradient, and its argument checks."""

import math

import numpy as np


def reference(x, out_hw):
    """The definition, loop by loop: bin i of O over H spans [floor(i*H/O), ceil((i+1)*H/O))."""
    n, c, h, w = x.shape
    oh, ow = out_hw
    y = np.zeros((n, c, oh, ow))
    for i in range(oh):
        h0, h1 = math.floor(i * h / oh), math.ceil((i + 1) * h / oh)
        for j in range(ow):
            w0, w1 = math.floor(j * w / ow), math.ceil((j + 1) * w / ow)
            for b in range(n):
                for ch in range(c):
                    y[b, ch, i, j] = x[b, ch, h0:h1, w0:w1].sum() / ((h1 - h0) * (w1 - w0))
    return y
