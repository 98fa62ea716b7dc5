"""Max-pooling in plain NumPy: the specification of ``tinynet/kernels/pool.py``.

Each output pixel is the maximum of a kh x kw window of its (image, channel) plane; windows start
every (sh, sw) pixels and may overlap (AlexNet's 3x3, stride 2).

Padding counts as -inf, so it never wins: a window is simply clipped to the real image (the layer
keeps padding at most half the kernel, so every window holds at least one real pixel).

Tie rule: when several elements of a window share the maximum, the first one in row-major order
(top row first, then leftmost) wins and receives the whole gradient, as in PyTorch. Where
windows overlap, an element that is the maximum of several windows receives the sum of their
gradients.
"""

from __future__ import annotations

import numpy as np


def maxpool_forward(x, kernel, stride, padding, out_hw, keep_argmax=True):
    """x (N, C, H, W) float -> (out (N, C, OH, OW) in x's dtype, argmax or None).

    ``kernel``, ``stride``, ``padding``: (h, w) pairs; ``out_hw``: (OH, OW). ``argmax`` (int32,
    (N, C, OH, OW)) is the flat index ``row * W + col`` in the input plane of each window's
    maximum; with ``keep_argmax=False`` None is returned in its place.
    """
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    out = np.empty((n, c, *out_hw), dtype=x.dtype)
    argmax = np.empty((n, c, *out_hw), dtype=np.int32)
    for i in range(out_hw[0]):
        top, bottom = max(i * sh - ph, 0), min(i * sh - ph + kh, h)  # window rows, clipped
        for j in range(out_hw[1]):
            left, right = max(j * sw - pw, 0), min(j * sw - pw + kw, w)  # window columns
            window = x[:, :, top:bottom, left:right].reshape(n, c, -1)  # row-major
            first = window.argmax(axis=2)  # the first maximum wins a tie
            out[:, :, i, j] = window.max(axis=2)
            row, col = top + first // (right - left), left + first % (right - left)
            argmax[:, :, i, j] = row * w + col
    return out, (argmax if keep_argmax else None)


def maxpool_backward(dy, argmax, x_shape):
    """dL/dx of shape ``x_shape`` (N, C, H, W), in dy's dtype, from dy (N, C, OH, OW) and the
    forward's argmax: each output gradient is added to its window's maximum."""
    n, c, h, w = x_shape
    dx = np.zeros((n * c, h * w), dtype=dy.dtype)
    plane = np.arange(n * c)[:, None]  # the row of dx of each (image, channel)
    np.add.at(dx, (plane, argmax.reshape(n * c, -1)), dy.reshape(n * c, -1))  # sums repeats
    return dx.reshape(x_shape)
