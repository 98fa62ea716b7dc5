"""Convolution as im2col + one matrix product per group; its backward with col2im.

This is ``Conv2D``'s reference algorithm and the one readable convolution of tinynet: the
tests, the exercise solutions and the fast algorithms (``tinynet/layers/conv_algorithms/``)
are all checked against it. With G groups, K output and C input channels:

    forward    cols = im2col(x)                       (G, C/G*kh*kw, N*OH*OW)
               rows = weight @ cols                   (G, K/G, N*OH*OW)
               y    = rows as NCHW + bias             (N, K, OH, OW)
    backward   rows = dy as rows                      (G, K/G, N*OH*OW)
               dweight = rows @ cols^T,  dbias = the sum of dy over N, OH, OW
               dx   = col2im(weight^T @ rows)

``ReferenceConv`` wraps the two functions in the contract every algorithm of ``Conv2D`` keeps
(``prepare``, ``forward``, ``backward``; see ``tinynet/layers/conv_algorithms/__init__.py``).
"""

from __future__ import annotations

import numpy as np

from ..validate import out_hw
from .im2col import col2im, im2col


def conv2d(x, weight, bias, stride=(1, 1), padding=(0, 0), groups=1):
    """y (N, K, OH, OW) = the cross-correlation of x (N, C, H, W) with weight (K, C/G, kh, kw),
    plus bias (K,); all in one float dtype."""
    n, k = x.shape[0], weight.shape[0]
    kernel = weight.shape[2:]
    oh, ow = out_hw(x.shape, kernel, stride, padding)
    cols = im2col(x, kernel, stride, padding)
    cols = cols.reshape(groups, -1, cols.shape[1])  # (G, C/G*kh*kw, N*OH*OW)
    rows = weight.reshape(groups, k // groups, -1) @ cols  # (G, K/G, N*OH*OW)
    y = rows.reshape(k, n, oh, ow).transpose(1, 0, 2, 3)
    return np.ascontiguousarray(y + bias[None, :, None, None])


def conv2d_backward(x, weight, dy, stride=(1, 1), padding=(0, 0), groups=1, input_grad=True):
    """(dx (N, C, H, W), dweight (K, C/G, kh, kw), dbias (K,)) of ``conv2d`` for dL/dy dy;
    dx is None when ``input_grad`` is False (a first layer's input needs none)."""
    k = weight.shape[0]
    kernel = weight.shape[2:]
    rows = dy.transpose(1, 0, 2, 3).reshape(groups, k // groups, -1)  # (G, K/G, N*OH*OW)
    cols = im2col(x, kernel, stride, padding)
    cols = cols.reshape(groups, -1, cols.shape[1])
    dweight = (rows @ cols.transpose(0, 2, 1)).reshape(weight.shape)
    dbias = dy.sum(axis=(0, 2, 3))
    if not input_grad:
        return None, dweight, dbias
    dcols = weight.reshape(groups, k // groups, -1).transpose(0, 2, 1) @ rows
    dx = col2im(dcols.reshape(-1, dcols.shape[2]), x.shape, kernel, stride, padding)
    return dx, dweight, dbias


class ReferenceConv:
    """``conv2d`` and ``conv2d_backward`` behind the algorithm contract; nothing is kept
    between calls. Forward writes y into ``out``; ``relu=True`` applies max(., 0) after the
    bias; ``mask`` (y's shape, bool), if given, receives y > 0 in forward, and in backward
    zeroes dy where it is False."""

    name = "reference"

    def __init__(self, stride, padding, groups):
        self.stride, self.padding, self.groups = stride, padding, groups

    def prepare(self, weight):
        """The weights as this algorithm uses them: as they are."""
        return weight

    def forward(self, x, weight, bias, out, relu=False, mask=None):
        y = conv2d(x, self.prepare(weight), bias, self.stride, self.padding, self.groups)
        if relu:
            if mask is not None:
                mask[...] = y > 0
            y = np.maximum(y, 0)
        out[...] = y
        return out

    def backward(self, x, dy, weight, dweight, dbias, dx=None, mask=None):
        """Fill dweight and dbias (and dx unless None) from dL/dy and the input x."""
        if mask is not None:
            dy = np.where(mask, dy, 0)
        grads = conv2d_backward(
            x, weight, dy, self.stride, self.padding, self.groups, input_grad=dx is not None
        )
        for out, grad in zip((dx, dweight, dbias), grads):
            if out is not None:
                out[...] = grad
