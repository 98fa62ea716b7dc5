"""Conv2D's fast im2col algorithm: the reference's method, in chunks, on Numba kernels.

Per chunk of images (as many as keep the column matrix under ``spec.chunk_bytes``):
forward is im2col -> one GEMM per group ``rows = weight @ cols`` -> rows to NCHW with the bias
(and ReLU) added on the way; backward is dY to rows (masked, summed into dbias) -> ``dweight +=
rows @ cols^T`` -> ``dcols = weight^T @ rows`` -> col2im into dx. Backward recomputes the
columns instead of keeping them, which bounds memory. Columns and rows live in the shared
scratch arrays of ``tinynet.perf.workspace``.
"""

from __future__ import annotations

from ...kernels import col2im, im2col, nchw_to_rows, rows_to_nchw
from ...perf import workspace
from ...perf.blas import matmul
from ...validate import out_hw


class Im2col:
    """im2col + GEMM for any geometry; see the module and the contract in ``__init__``."""

    name = "im2col"

    def __init__(self, spec):
        self.spec = spec

    def prepare(self, weight):
        """weight (K, C/G, kh, kw) as (G, K/G, C/G*kh*kw): a view, nothing to keep."""
        groups = self.spec.groups
        return weight.reshape(groups, weight.shape[0] // groups, -1)

    def _chunks(self, x):
        """For each chunk of images: (n0, n1, columns (G, C/G*kh*kw, M), rows (G, K/G, M)),
        M = the chunk's output pixels; the columns hold im2col of the chunk."""
        spec, n = self.spec, x.shape[0]
        oh, ow = out_hw(x.shape, spec.kernel, spec.stride, spec.padding)
        taps = spec.in_channels * spec.kernel[0] * spec.kernel[1]
        step = workspace.images_per_chunk(n, taps * oh * ow * spec.dtype.itemsize, spec.chunk_bytes)
        g, k = spec.groups, spec.out_channels
        for n0 in range(0, n, step):
            n1 = min(n, n0 + step)
            m = (n1 - n0) * oh * ow
            cols, rows = workspace.arrays(spec.dtype, (taps, m), (g, k // g, m))
            im2col(x[n0:n1], spec.kernel, spec.stride, spec.padding, out=cols)
            yield n0, n1, cols.reshape(g, -1, m), rows

    def forward(self, x, weight, bias, out, relu=False, mask=None):
        n, k = out.shape[:2]
        y = out.reshape(n, k, -1)
        w = self.prepare(weight)
        flat_mask = None if mask is None else mask.reshape(y.shape)
        for n0, n1, cols, rows in self._chunks(x):
            matmul(w, cols, out=rows)
            chunk_mask = None if flat_mask is None else flat_mask[n0:n1]
            rows_to_nchw(rows.reshape(k, -1), bias, y[n0:n1], relu, chunk_mask)
        return out

    def backward(self, x, dy, weight, dweight, dbias, dx=None, mask=None):
        spec, n, k = self.spec, dy.shape[0], self.spec.out_channels
        dy = dy.reshape(n, k, -1)
        flat_mask = None if mask is None else mask.reshape(dy.shape)
        w, dw = self.prepare(weight), self.prepare(dweight)
        dbias[...] = 0
        for n0, n1, cols, rows in self._chunks(x):
            chunk_mask = None if flat_mask is None else flat_mask[n0:n1]
            nchw_to_rows(dy[n0:n1], rows.reshape(k, -1), dbias, chunk_mask)
            if n0 == 0:
                matmul(rows, cols.transpose(0, 2, 1), out=dw)
            else:
                part = workspace.arrays(spec.dtype, cols.shape, rows.shape, dw.shape)[2]
                dw += matmul(rows, cols.transpose(0, 2, 1), out=part)
            if dx is not None:
                matmul(w.transpose(0, 2, 1), rows, out=cols)  # dcols overwrite the columns
                chunk = (n1 - n0, *x.shape[1:])
                dcols = cols.reshape(-1, cols.shape[2])
                col2im(dcols, chunk, spec.kernel, spec.stride, spec.padding, out=dx[n0:n1])
