"""Conv2D's Winograd algorithm: F(m x m, r x r) for stride-1 3x3 and 5x5 convolutions.

The maths is in ``tinynet/reference/winograd.py``; the transforms are the Numba kernels of
``tinynet/kernels/winograd.py``, whose docstring draws the layouts. Per chunk of images:

    forward    V = B^T d B (input tiles) -> M = V @ U (E*G GEMMs) -> y = A^T M A + bias (, ReLU)
    backward   W = A dY A^T -> dU^T += W^T @ V, dV = W @ U^T -> dx = the sum of B dV B^T
               and once for the batch: dweight = G^T dU G

U = G w G^T, the filter transform, is kept between calls while the weights are unchanged (every
call of an inference run, and backward after its forward) and released by backward, after which
the optimizer changes the weights. V, M and W live in the shared scratch arrays.
"""

from __future__ import annotations

import numpy as np

from ...kernels import winograd as wk
from ...perf import workspace
from ...perf.blas import matmul


class Winograd:
    """F(m x m, r x r) for a layer of ``spec`` (r x r kernel, stride 1); see the module."""

    name = "winograd"

    def __init__(self, spec, m: int):
        self.spec = spec
        self.tile = wk.tile(m, spec.kernel[0], spec.dtype)
        self._kept = None  # (a copy of the weights, U = G w G^T) while they are unchanged

    def prepare(self, weight):
        """U (E, G, C/G, K/G) = G w G^T of weight (K, C/G, r, r), kept while it is unchanged
        (comparing costs a fraction of a millisecond, the transform a few)."""
        if self._kept is not None and np.array_equal(self._kept[0], weight):
            return self._kept[1]
        groups, k, cg = self.spec.groups, weight.shape[0], weight.shape[1]
        u = np.empty((self.tile.alpha**2, groups, cg, k // groups), weight.dtype)
        wk.filter_transform(self.tile, weight, groups, u)
        self._kept = (weight.copy(), u)
        return u

    def _chunks(self, x_shape):
        """(n0, n1) ranges of images whose transformed arrays fit in ``spec.chunk_bytes``."""
        spec, n = self.spec, x_shape[0]
        per_image = wk.transformed_shape(self.tile, (1, *x_shape[1:]), 1, spec.padding, 1)
        channels = max(spec.in_channels, spec.out_channels)
        size = per_image[0] * per_image[2] * channels * spec.dtype.itemsize
        step = workspace.images_per_chunk(n, size, spec.chunk_bytes)
        return [(n0, min(n, n0 + step)) for n0 in range(0, n, step)]

    def _shapes(self, x_shape, *channels):
        """The transformed shapes (E, G, T, channels / G) of a chunk of input shape x_shape."""
        spec = self.spec
        return [
            wk.transformed_shape(self.tile, x_shape, c, spec.padding, spec.groups) for c in channels
        ]

    def forward(self, x, weight, bias, out, relu=False, mask=None):
        spec, tile = self.spec, self.tile
        u = self.prepare(weight)
        for n0, n1 in self._chunks(x.shape):
            part = x[n0:n1]
            shapes = self._shapes(part.shape, spec.in_channels, spec.out_channels)
            v, mm = workspace.arrays(spec.dtype, *shapes)
            wk.input_transform(tile, part, spec.padding, spec.groups, v)
            matmul(v, u, out=mm)
            chunk_mask = None if mask is None else mask[n0:n1]
            wk.output_transform(tile, mm, bias, out[n0:n1], relu, chunk_mask)
        return out

    def backward(self, x, dy, weight, dweight, dbias, dx=None, mask=None):
        spec, tile = self.spec, self.tile
        u = self.prepare(weight) if dx is not None else None
        dbias[...] = 0
        du = None
        for n0, n1 in self._chunks(x.shape):
            part = x[n0:n1]
            v_shape, w_shape = self._shapes(part.shape, spec.in_channels, spec.out_channels)
            du_shape = (*v_shape[:2], w_shape[3], v_shape[3])  # (E, G, K/G, C/G)
            # dU^T sums over the chunks: the first writes it, the others add a part (no part
            # array at all for a batch of one chunk)
            shapes = (v_shape, w_shape, du_shape) + ((du_shape,) if du is not None else ())
            v, w, du_sum, *du_part = workspace.arrays(spec.dtype, *shapes)
            chunk_mask = None if mask is None else mask[n0:n1]
            wk.dy_transform(tile, dy[n0:n1], spec.groups, w, dbias, chunk_mask)
            wk.input_transform(tile, part, spec.padding, spec.groups, v)
            if du is None:
                du = _matmul_du(w, v, du_sum)
            else:
                du += _matmul_du(w, v, du_part[0])
            if dx is not None:
                matmul(w, u.transpose(0, 1, 3, 2), out=v)  # dV overwrites V
                wk.input_transform_t(tile, v, spec.padding, dx[n0:n1])
        wk.filter_transform_t(tile, du, dweight)
        self._kept = None  # the weights change before the next use: keep nothing


def _matmul_du(w, v, out):
    """out = dU^T = W^T @ V, (E, G, T, K/G)^T @ (E, G, T, C/G) -> (E, G, K/G, C/G): a tall
    output, the orientation that holds its speed when other processes share the cores
    (docs/performance.md)."""
    return matmul(w.transpose(0, 1, 3, 2), v, out=out)
