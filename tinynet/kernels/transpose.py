"""Moving between the GEMM's row layout (O, N*P) and NCHW (N, O, P), fused with the bias.

The convolution GEMM produces one row per output channel, ``rows[o, n * P + p]``; the layer
boundary is NCHW. Forward adds the bias while it transposes; backward transposes dL/dy into rows
and sums it into the bias gradient in the same pass.
"""
from __future__ import annotations

import numpy as np

from ._jit import parallel_kernel, prange


@parallel_kernel
def _rows_to_nchw(rows, bias, out):
    n_img, channels, plane = out.shape
    for o in prange(channels):  # each iteration writes out[:, o]
        b = bias[o]
        for n in range(n_img):
            src = n * plane
            for p in range(plane):
                out[n, o, p] = rows[o, src + p] + b


@parallel_kernel
def _nchw_to_rows(dy, rows, dbias):
    n_img, channels, plane = dy.shape
    for o in prange(channels):  # each iteration writes rows[o] and dbias[o]
        total = 0.0
        for n in range(n_img):
            dst = n * plane
            for p in range(plane):
                v = dy[n, o, p]
                rows[o, dst + p] = v
                total += v
        dbias[o] += total


def rows_to_nchw(rows, bias, out):
    """out[n, o, p] = rows[o, n*P + p] + bias[o]; rows (O, N*P), out (N, O, P) C-contiguous."""
    _rows_to_nchw(rows, bias, out)
    return out


def nchw_to_rows(dy, rows, dbias):
    """rows[o, n*P + p] = dy[n, o, p] and dbias[o] += sum over n, p (accumulates across calls)."""
    _nchw_to_rows(np.ascontiguousarray(dy), rows, dbias)
    return rows


def rows_to_nchw_reference(rows, bias, n_img):
    channels = rows.shape[0]
    return rows.reshape(channels, n_img, -1).transpose(1, 0, 2) + bias[None, :, None]


def nchw_to_rows_reference(dy):
    n_img, channels, plane = dy.shape
    return dy.transpose(1, 0, 2).reshape(channels, n_img * plane), dy.sum(axis=(0, 2))
