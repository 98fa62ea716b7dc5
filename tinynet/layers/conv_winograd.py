"""Conv2D's Winograd path: F(m x m, r x r) forward and backward for 3x3 and 5x5 stride-1 convs.

Per chunk of images: forward is input transform -> one stack of E*G GEMMs ``M = V @ U`` ->
output transform (+ bias, ReLU); backward is dY transform -> ``dU^T += W^T @ V`` and
``dV = W @ U^T`` -> adjoint input transform into dx, then dw = G^T dU G once for the batch.
Layouts and maths: ``tinynet/kernels/winograd.py`` and ``winograd_reference.py``. The
transformed arrays live in the same workspace slots as im2col's columns and GEMM rows.
"""

from __future__ import annotations

import numpy as np

from ..kernels.winograd import (
    dy_transform,
    filter_transform,
    filter_transform_t,
    input_transform,
    input_transform_t,
    output_transform,
    transformed_shape,
)
from ..perf import workspace
from ..perf.blas import matmul

#: Output tile sides m of F(m x m, r x r) by filter side r; the layer takes the one with the
#: fewest transformed elements, tiles * alpha^2 (alpha = m + r - 1) for its output, the smaller
#: m on a tie (smaller alpha: smaller float32 error). The GEMMs and the transforms both scale
#: with that count. AlexNet's 13x13 conv3-5 take F(5x5, 3x3) (9 tiles of 49 = 441 against 576
#: for F(4x4)'s 16 tiles of 36, of which 87 of 256 pixels are cropped); its 27x27 conv2 takes
#: F(3x3, 5x5) (81 tiles of 49 = 3969 against 7056 for F(2x2, 5x5)). Measured at batch 64
#: (2-core AVX-512, float32, fused ReLU, medians of 5, forward / backward ms): conv3 (256 ->
#: 384) 44.7 / 91.0 with F(4x4, 3x3), 32.3 / 76.3 with F(5x5, 3x3); conv2 (96 -> 256, groups=1)
#: 209.5 / 409.3 with im2col, 145.5 / 302.2 with F(2x2, 5x5), 90.2 / 198.4 with F(3x3, 5x5).
#: Float32 error relative to the largest output, one tile over 256 channels: 6.7e-6 with
#: F(4x4, 3x3), 1.1e-5 with F(5x5, 3x3), 8e-6 with F(2x2, 5x5) and with F(3x3, 5x5).
TILES = {3: (2, 4, 5), 5: (2, 3)}
#: ``algorithm="auto"`` takes Winograd when the output is at least AUTO_MIN_SIDE on each side
#: (smaller maps waste most of their 4x4 tiles) and the batch has at least AUTO_MIN_PIXELS output
#: pixels per channel (below it the filter transform, paid on every call, costs more than the
#: GEMM saves). Measured, 256 -> 256 channels, im2col time / Winograd time: batch 64 forward +
#: backward: 0.49 at 2x2, 1.18 at 4x4, 1.9 at 8x8, 1.6 at 13x13, 2.3 at 27x27; forward at 13x13:
#: 0.49 at batch 1, 1.15 at batch 8 (8x8 at batch 8: 0.93).
AUTO_MIN_SIDE = 4
AUTO_MIN_PIXELS = 1024
#: 5x5 kernels also need AUTO_5X5_MIN_GROUP_CHANNELS input channels per group: the transforms
#: cost the same whatever the groups, the GEMM saving shrinks with the channels per group.
#: Measured on AlexNet's conv2 (96 -> 256, 27x27, padding 2, float32, fused ReLU), im2col time /
#: F(2x2, 5x5) time, medians of 7-11 alternating repeats, range over four runs (another process
#: used the cores in some): groups=1 (96 channels per group): batch 64 forward 1.18-1.32,
#: backward 1.32-1.38; batch 128 forward 1.00-1.53, backward 1.24-1.36. groups=2 (48 per group,
#: the paper net): batch 64 forward 0.93-1.14, backward 0.98-1.16; batch 128 forward 0.92-1.33
#: (0.92 or 0.96 in three runs), backward 1.03-1.14. Training step of the single-tower net with
#: conv2 on F(2x2, 5x5): 1.46 -> 1.31 s at batch 64, 2.85 -> 2.53 s at batch 128. After the
#: weight-gradient GEMM became dU^T = W^T V and the filter transform is kept, the paper net's
#: whole training step (groups=2) with conv2 on F(2x2, 5x5) against im2col, alternating in one
#: process on a quiet machine, median of 8 steps: 54.5 vs 51.9 img/s at batch 64, 61.6 vs 57.6
#: at batch 128; so 48 channels per group qualify (AlexNet's width=0.25 test net, 12-24, not).
#: With F(3x3, 5x5), the tile conv2 takes since, the grouped conv2 at batch 64 measured 276 ms
#: forward + backward against 410 with F(2x2, 5x5) and 439 with im2col (medians of 5).
AUTO_5X5_MIN_GROUP_CHANNELS = 48


def applies(kernel_size, stride) -> bool:
    """Whether Winograd computes this geometry: a 3x3 or 5x5 kernel with stride 1."""
    return tuple(kernel_size) in ((3, 3), (5, 5)) and tuple(stride) == (1, 1)


def geometry_error(layer_name: str, kernel_size, stride) -> str:
    """The ValueError message for ``algorithm='winograd'`` on a geometry it cannot compute."""
    (kh, kw), (sh, sw) = kernel_size, stride
    got_stride = sh if sh == sw else (sh, sw)
    return (
        f"{layer_name}: algorithm='winograd' needs a 3x3 or 5x5 kernel with stride 1, "
        f"got {kh}x{kw} stride {got_stride}"
    )


def auto_chooses(kernel_size, stride, n: int, oh: int, ow: int, group_channels: int) -> bool:
    """The ``algorithm="auto"`` rule for n images, an (oh, ow) output and ``group_channels``
    input channels per group: Winograd for a stride-1 3x3 convolution, or a 5x5 one with
    group_channels >= AUTO_5X5_MIN_GROUP_CHANNELS, when min(oh, ow) >= AUTO_MIN_SIDE and
    n*oh*ow >= AUTO_MIN_PIXELS."""
    big_enough = min(oh, ow) >= AUTO_MIN_SIDE and n * oh * ow >= AUTO_MIN_PIXELS
    wide = tuple(kernel_size) != (5, 5) or group_channels >= AUTO_5X5_MIN_GROUP_CHANNELS
    return applies(kernel_size, stride) and big_enough and wide


def tile_side(r: int, oh: int, ow: int) -> int:
    """The output tile side m from TILES[r] with the fewest transformed elements for an
    (oh, ow) output (the smaller m on a tie)."""

    def elements(m):
        return -(-oh // m) * -(-ow // m) * (m + r - 1) ** 2

    return min(TILES[r], key=lambda m: (elements(m), m))


def _tile(layer, m, out_shape):
    """(m, r): the output tile side (``m``, else tile_side) and the filter side r of ``layer``."""
    r = layer.kernel_size[0]
    return m or tile_side(r, out_shape[2], out_shape[3]), r


def _chunks(layer, x_shape, m, r):
    """(n0, n1) ranges of images whose transformed arrays fit in ``layer.chunk_bytes``."""
    n = x_shape[0]
    per_image = transformed_shape((1, *x_shape[1:]), 1, layer.padding, m, r, 1)
    channels = max(layer.in_channels, layer.out_channels)
    size = per_image[0] * per_image[2] * channels * layer.dtype.itemsize
    step = workspace.images_per_chunk(n, size, layer.chunk_bytes)
    return [(n0, min(n, n0 + step)) for n0 in range(0, n, step)]


def _filters(layer, m, r):
    """U = G w G^T (E, G, C/G, K/G), kept on the layer with a copy of the weights it came from
    and reused while they are equal: every call of an inference run, and backward after forward
    (comparing costs a fraction of a millisecond; the transform a few). Backward releases it:
    the optimizer changes the weights before the next forward."""
    w = layer.params["weight"]
    kept = getattr(layer, "_winograd_filters", None)
    if kept is not None and kept[0] == (m, r) and np.array_equal(kept[1], w):
        return kept[2]
    shape = ((m + r - 1) ** 2, layer.groups, w.shape[1], w.shape[0] // layer.groups)
    u = filter_transform(w, layer.groups, m, out=np.empty(shape, w.dtype))
    layer._winograd_filters = ((m, r), w.copy(), u)
    return u


def _transformed(slot, x_shape, channels, layer, m, r):
    shape = transformed_shape(x_shape, channels, layer.padding, m, r, layer.groups)
    return workspace.scratch(slot, shape, layer.dtype)


def forward(layer, x, y, mask, m=None):
    """y (N, K, OH, OW) = conv(x (N, C, H, W)) + bias, with ReLU if ``layer.relu``; ``mask``
    (N, K, OH, OW) bool or None receives y > 0. ``m``: the tile side, tile_side's unless given."""
    m, r = _tile(layer, m, y.shape)
    u = _filters(layer, m, r)
    for n0, n1 in _chunks(layer, x.shape, m, r):
        part = x[n0:n1]
        v = _transformed("cols", part.shape, layer.in_channels, layer, m, r)
        input_transform(part, layer.padding, m, r, layer.groups, out=v)
        mm = _transformed("rows", part.shape, layer.out_channels, layer, m, r)
        matmul(v, u, out=mm)
        chunk_mask = None if mask is None else mask[n0:n1]
        output_transform(mm, layer.params["bias"], r, y[n0:n1], relu=layer.relu, mask=chunk_mask)
    return y


def backward(layer, x, dy, mask, dx, m=None):
    """Fill layer.grads from dy (N, K, OH, OW) (masked by ``mask`` if not None) and the input x
    (N, C, H, W) kept by forward; write dL/dx into ``dx`` (N, C, H, W) unless it is None."""
    m, r = _tile(layer, m, dy.shape)
    u = _filters(layer, m, r) if dx is not None else None
    db = layer.grads["bias"]
    db[...] = 0
    du = None
    for n0, n1 in _chunks(layer, x.shape, m, r):
        part = x[n0:n1]
        w = _transformed("rows", part.shape, layer.out_channels, layer, m, r)
        dy_transform(dy[n0:n1], layer.groups, m, r, w, db, None if mask is None else mask[n0:n1])
        v = _transformed("cols", part.shape, layer.in_channels, layer, m, r)
        input_transform(part, layer.padding, m, r, layer.groups, out=v)
        if du is None:
            du = _matmul_du(w, v, workspace.scratch("wino_du", _du_shape(v, w), layer.dtype))
        else:
            du += _matmul_du(w, v, workspace.scratch("dw", du.shape, layer.dtype))
        if dx is not None:
            matmul(w, u.transpose(0, 1, 3, 2), out=v)  # dV overwrites V
            input_transform_t(v, layer.padding, r, dx[n0:n1])
    filter_transform_t(du, layer.grads["weight"])
    layer._winograd_filters = None  # the weights change before the next use: keep nothing
    return dx


def _matmul_du(w, v, out):
    """out = dU^T = W^T @ V, (E, G, K/G, T) @ (E, G, T, C/G) -> (E, G, K/G, C/G).

    This orientation (a tall output) held its speed when other processes shared the cores;
    V^T @ W (a short, wide output) ran up to 30x slower then, even in blocks of 128 columns
    (OpenBLAS, 2 threads; conv2 and conv3 shapes, medians of 9)."""
    return matmul(w.transpose(0, 1, 3, 2), v, out=out)


def _du_shape(v, w) -> tuple[int, int, int, int]:
    """(E, G, K/G, C/G) from V (E, G, T, C/G) and W (E, G, T, K/G)."""
    return (*v.shape[:2], w.shape[3], v.shape[3])
