"""Moving between the GEMM's row layout (O, N*P) and NCHW (N, O, P), fused with bias and ReLU.

The convolution GEMM produces one row per output channel, ``rows[o, n * P + p]``; the layer
boundary is NCHW. Forward adds the bias (and, with ``relu``, applies ReLU) while it transposes;
backward transposes dL/dy into rows (zeroed where a given ReLU ``mask`` is False) and sums it
into the bias gradient in the same pass. The readable version is the reshape and transpose in
``tinynet.reference.conv``. The fused bias + ReLU convention of every fast kernel: forward takes
``relu`` and an optional ``mask`` that receives y > 0; backward masks dL/dy when given a mask.
"""

from __future__ import annotations

import numpy as np

from ._jit import NO_MASK, parallel_kernel, prange


@parallel_kernel
def _rows_to_nchw(rows, bias, relu, keep, out, mask):
    n_img, channels, plane = out.shape
    zero = out.dtype.type(0)
    for o in prange(channels):  # each iteration writes out[:, o] and mask[:, o]
        b = bias[o]
        for n in range(n_img):
            src = n * plane
            if relu:
                for p in range(plane):
                    v = rows[o, src + p] + b
                    if keep:
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


def rows_to_nchw(rows, bias, out, relu=False, mask=None):
    """out[n, o, p] = rows[o, n*P + p] + bias[o], then max(., 0) if ``relu``.

    rows (O, N*P), out (N, O, P) C-contiguous, same dtype. ``mask`` (N, O, P) bool, if given,
    receives out > 0 (what ReLU's backward needs, a quarter of the output's bytes).
    """
    keep = mask is not None
    _rows_to_nchw(rows, bias, relu, keep, out, mask if keep else NO_MASK)
    return out


def nchw_to_rows(dy, rows, dbias, mask=None):
    """rows[o, n*P + p] = dy[n, o, p], and dbias[o] += sum over n, p (accumulates across calls).

    With a ReLU ``mask`` (N, O, P) bool from ``rows_to_nchw``, dy counts only where it is True.
    """
    dy = np.ascontiguousarray(dy)
    relu = mask is not None
    _nchw_to_rows(dy, mask if relu else NO_MASK, relu, rows, dbias)
    return rows
