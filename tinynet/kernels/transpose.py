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
def _rows_to_nchw(rows, bias, relu, out, mask):
    n_img, channels, plane = out.shape
    zero = out.dtype.type(0)
    for o in prange(channels):  # each iteration writes out[:, o] and mask[:, o]
        b = bias[o]
        for n in range(n_img):
            src = n * plane
            if relu:
                for p in range(plane):
                    v = rows[o, src + p] + b
                    mask[n, o, p] = v > zero
                    out[n, o, p] = max(v, zero)
            else:
                for p in range(plane):
                    out[n, o, p] = rows[o, src + p] + b


@parallel_kernel
def _nchw_to_rows(dy, mask, relu, rows, dbias):
    n_img, channels, plane = dy.shape
    for o in prange(channels):  # each iteration writes rows[o] and dbias[o]
        total = 0.0
        for n in range(n_img):
            dst = n * plane
            for p in range(plane):
                v = dy[n, o, p]
                if relu and not mask[n, o, p]:
                    v = 0
                rows[o, dst + p] = v
                total += v
        dbias[o] += total


_NO_MASK = np.zeros((1, 1, 1), dtype=np.bool_)


def rows_to_nchw(rows, bias, out, mask=None):
    """out[n, o, p] = rows[o, n*P + p] + bias[o]; with a ``mask`` also apply ReLU.

    rows (O, N*P), out (N, O, P) C-contiguous, same dtype. ``mask`` (N, O, P) bool receives
    out > 0 (what ReLU's backward needs, a quarter of the output's bytes).
    """
    relu = mask is not None
    _rows_to_nchw(rows, bias, relu, out, mask if relu else _NO_MASK)
    return out


def nchw_to_rows(dy, rows, dbias, mask=None):
    """rows[o, n*P + p] = dy[n, o, p], and dbias[o] += sum over n, p (accumulates across calls).

    With a ReLU ``mask`` (N, O, P) bool from ``rows_to_nchw``, dy counts only where it is True.
    """
    dy = np.ascontiguousarray(dy)
    relu = mask is not None
    _nchw_to_rows(dy, mask if relu else _NO_MASK, relu, rows, dbias)
    return rows


def rows_to_nchw_reference(rows, bias, n_img, relu=False):
    channels = rows.shape[0]
    out = rows.reshape(channels, n_img, -1).transpose(1, 0, 2) + bias[None, :, None]
    return np.maximum(out, 0) if relu else out


def nchw_to_rows_reference(dy, mask=None):
    n_img, channels, plane = dy.shape
    if mask is not None:
        dy = np.where(mask, dy, 0)
    return dy.transpose(1, 0, 2).reshape(channels, n_img * plane), dy.sum(axis=(0, 2))
