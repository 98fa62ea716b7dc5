"""Moving between the GEMM's row layout (O, N*P) and NCHW (N, O, P), fused with bias and ReLU.

The convolution GEMM produces one row per output channel, ``rows[o, n * P + p]``; the layer
boundary is NCHW. Forward adds the bias (and optionally applies ReLU) while it transposes;
backward transposes dL/dy into rows (optionally zeroing it where the ReLU output was 0) and sums
it into the bias gradient in the same pass.
"""
from __future__ import annotations

import numpy as np

from ._jit import parallel_kernel, prange


@parallel_kernel
def _rows_to_nchw(rows, bias, relu, out):
    n_img, channels, plane = out.shape
    for o in prange(channels):  # each iteration writes out[:, o]
        b = bias[o]
        for n in range(n_img):
            src = n * plane
            if relu:
                for p in range(plane):
                    out[n, o, p] = max(rows[o, src + p] + b, 0)
            else:
                for p in range(plane):
                    out[n, o, p] = rows[o, src + p] + b


@parallel_kernel
def _nchw_to_rows(dy, y, relu, rows, dbias):
    n_img, channels, plane = dy.shape
    for o in prange(channels):  # each iteration writes rows[o] and dbias[o]
        total = 0.0
        for n in range(n_img):
            dst = n * plane
            for p in range(plane):
                v = dy[n, o, p]
                if relu and y[n, o, p] <= 0:
                    v = 0
                rows[o, dst + p] = v
                total += v
        dbias[o] += total


def rows_to_nchw(rows, bias, out, relu=False):
    """out[n, o, p] = rows[o, n*P + p] + bias[o] (then max(., 0) if ``relu``).

    rows (O, N*P), out (N, O, P) C-contiguous, same dtype.
    """
    _rows_to_nchw(rows, bias, relu, out)
    return out


def nchw_to_rows(dy, rows, dbias, relu_output=None):
    """rows[o, n*P + p] = dy[n, o, p], and dbias[o] += sum over n, p (accumulates across calls).

    With ``relu_output`` (the forward's ReLU output y, shaped like dy), dy counts only where y > 0.
    """
    dy = np.ascontiguousarray(dy)
    relu = relu_output is not None
    _nchw_to_rows(dy, relu_output if relu else dy, relu, rows, dbias)
    return rows


def rows_to_nchw_reference(rows, bias, n_img, relu=False):
    channels = rows.shape[0]
    out = rows.reshape(channels, n_img, -1).transpose(1, 0, 2) + bias[None, :, None]
    return np.maximum(out, 0) if relu else out


def nchw_to_rows_reference(dy, relu_output=None):
    n_img, channels, plane = dy.shape
    if relu_output is not None:
        dy = np.where(relu_output > 0, dy, 0)
    return dy.transpose(1, 0, 2).reshape(channels, n_img * plane), dy.sum(axis=(0, 2))
