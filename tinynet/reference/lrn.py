"""Local response normalisation across channels in plain NumPy: the specification of
``tinynet/kernels/lrn.py``.

Convention (PyTorch's ``torch.nn.LocalResponseNorm``, also cuda-convnet's and Caffe's): channel c
of the output is normalised by the squares of the channels in its window
window(c) = [c - size//2, c + (size-1)//2], channels outside [0, C) counting as zero:

    scale_c = k + alpha / size * sum_{c' in window(c)} a_{c'}^2
    b_c     = a_c * scale_c ** -beta

Backward (a_c appears in its own b_c and in the scale of every c' whose window holds c):

    da_c = dy_c * scale_c^-beta
           - 2 alpha beta / size * a_c * sum_{c' : c in window(c')} dy_c' a_c' scale_c'^(-beta-1)

c is in window(c') for c' in [c - (size-1)//2, c + size//2]. Forward returns ``scale`` for
backward.
"""

from __future__ import annotations

import numpy as np


def lrn_forward(x, size, alpha, beta, k):
    """x (N, C, H, W) float -> (out, scale), both (N, C, H, W) in x's dtype."""
    squares = x * x
    scale = np.empty_like(x)
    for c in range(x.shape[1]):
        window = squares[:, max(c - size // 2, 0) : c + (size - 1) // 2 + 1]
        scale[:, c] = k + alpha / size * window.sum(axis=1)
    return x * scale**-beta, scale


def lrn_backward(x, dy, scale, size, alpha, beta):
    """dL/dx (N, C, H, W) in x's dtype from the input x, dL/dy and the forward's scale."""
    dy = dy.astype(x.dtype, copy=False)
    sent = dy * x * scale ** (-beta - 1)  # what channel c' sends back to each c in its window
    dx = dy * scale**-beta
    for c in range(x.shape[1]):
        senders = sent[:, max(c - (size - 1) // 2, 0) : c + size // 2 + 1]
        dx[:, c] -= 2 * alpha * beta / size * x[:, c] * senders.sum(axis=1)
    return dx
