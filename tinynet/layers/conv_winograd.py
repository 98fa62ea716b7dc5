"""Conv2D's Winograd path: F(m x m, 3 x 3) forward and backward for 3x3 stride-1 convolutions.

Per chunk of images: forward is input transform -> one stack of E*G GEMMs ``M = V @ U`` ->
output transform (+ bias, ReLU); backward is dY transform -> ``dU += V^T @ W`` and
``dV = W @ U^T`` -> adjoint input transform into dx, then dw = G^T dU G once for the batch.
Layouts and maths: ``tinynet/kernels/winograd.py`` and ``winograd_reference.py``. The
transformed arrays live in the same workspace slots as im2col's columns and GEMM rows.
"""

from __future__ import annotations

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

#: Output tile side m of F(m x m, 3 x 3). Measured on AlexNet's conv3-5 at batch 64 (2-core
#: AVX-512, float32): forward 1.6-2.0x faster than im2col with F(4x4), 1.3-1.5x with F(2x2);
#: backward 1.4-1.7x and 1.1-1.4x. Float32 error relative to the largest output: 1.5e-5 with
#: F(4x4), 7e-7 with F(2x2), 5e-7 with im2col.
TILE = 4
#: ``algorithm="auto"`` takes Winograd when the output is at least AUTO_MIN_SIDE on each side
#: (smaller maps waste most of their 4x4 tiles) and the batch has at least AUTO_MIN_PIXELS output
#: pixels per channel (below it the filter transform, paid on every call, costs more than the
#: GEMM saves). Measured, 256 -> 256 channels, im2col time / Winograd time: batch 64 forward +
#: backward: 0.49 at 2x2, 1.18 at 4x4, 1.9 at 8x8, 1.6 at 13x13, 2.3 at 27x27; forward at 13x13:
#: 0.49 at batch 1, 1.15 at batch 8 (8x8 at batch 8: 0.93).
AUTO_MIN_SIDE = 4
AUTO_MIN_PIXELS = 1024


def applies(kernel_size, stride) -> bool:
    """Whether Winograd F(m, 3) computes this geometry: a 3x3 kernel with stride 1."""
    return tuple(kernel_size) == (3, 3) and tuple(stride) == (1, 1)


def geometry_error(layer_name: str, kernel_size, stride) -> str:
    """The ValueError message for ``algorithm='winograd'`` on a geometry it cannot compute."""
    (kh, kw), (sh, sw) = kernel_size, stride
    got_stride = sh if sh == sw else (sh, sw)
    return (
        f"{layer_name}: algorithm='winograd' needs a 3x3 kernel with stride 1, "
        f"got {kh}x{kw} stride {got_stride}"
    )


def auto_chooses(kernel_size, stride, n: int, oh: int, ow: int) -> bool:
    """The ``algorithm="auto"`` rule for n images and an (oh, ow) output: Winograd for a 3x3
    stride-1 convolution with min(oh, ow) >= AUTO_MIN_SIDE and n*oh*ow >= AUTO_MIN_PIXELS."""
    big_enough = min(oh, ow) >= AUTO_MIN_SIDE and n * oh * ow >= AUTO_MIN_PIXELS
    return applies(kernel_size, stride) and big_enough


def _chunks(layer, x_shape, m):
    """(n0, n1) ranges of images whose transformed arrays fit in ``layer.chunk_bytes``."""
    n = x_shape[0]
    per_image = transformed_shape((1, *x_shape[1:]), 1, layer.padding, m, 1)
    channels = max(layer.in_channels, layer.out_channels)
    size = per_image[0] * per_image[2] * channels * layer.dtype.itemsize
    step = max(1, min(n, layer.chunk_bytes // max(size, 1)))
    return [(n0, min(n, n0 + step)) for n0 in range(0, n, step)]


def _filters(layer, m):
    """U = G w G^T (E, G, C/G, K/G) in the workspace."""
    w = layer.params["weight"]
    shape = ((m + 2) ** 2, layer.groups, w.shape[1], w.shape[0] // layer.groups)
    return filter_transform(w, layer.groups, m, out=workspace.scratch("wino_u", shape, w.dtype))


def _transformed(slot, x_shape, channels, layer, m):
    shape = transformed_shape(x_shape, channels, layer.padding, m, layer.groups)
    return workspace.scratch(slot, shape, layer.dtype)


def forward(layer, x, y, mask, m=None):
    """y (N, K, OH, OW) = conv(x (N, C, H, W)) + bias, with ReLU if ``layer.relu``; ``mask``
    (N, K, OH, OW) bool or None receives y > 0. ``m``: the tile side, TILE unless given."""
    m = m or TILE
    u = _filters(layer, m)
    for n0, n1 in _chunks(layer, x.shape, m):
        part = x[n0:n1]
        v = _transformed("cols", part.shape, layer.in_channels, layer, m)
        input_transform(part, layer.padding, m, layer.groups, out=v)
        mm = _transformed("rows", part.shape, layer.out_channels, layer, m)
        matmul(v, u, out=mm)
        chunk_mask = None if mask is None else mask[n0:n1]
        output_transform(
            mm, layer.params["bias"], layer.padding, y[n0:n1], relu=layer.relu, mask=chunk_mask
        )
    return y


def backward(layer, x, dy, mask, dx, m=None):
    """Fill layer.grads from dy (N, K, OH, OW) (masked by ``mask`` if not None) and the input x
    (N, C, H, W) kept by forward; write dL/dx into ``dx`` (N, C, H, W) unless it is None."""
    m = m or TILE
    u = _filters(layer, m) if dx is not None else None
    db = layer.grads["bias"]
    db[...] = 0
    du = None
    for n0, n1 in _chunks(layer, x.shape, m):
        part = x[n0:n1]
        w = _transformed("rows", part.shape, layer.out_channels, layer, m)
        dy_transform(dy[n0:n1], layer.groups, m, w, db, None if mask is None else mask[n0:n1])
        v = _transformed("cols", part.shape, layer.in_channels, layer, m)
        input_transform(part, layer.padding, m, layer.groups, out=v)
        if du is None:
            du = _matmul_columns(v, w, workspace.scratch("wino_du", _u_shape(v, w), layer.dtype))
        else:
            du += _matmul_columns(v, w, workspace.scratch("dw", du.shape, layer.dtype))
        if dx is not None:
            matmul(w, u.transpose(0, 1, 3, 2), out=v)  # dV overwrites V
            input_transform_t(v, layer.padding, dx[n0:n1])
    filter_transform_t(du, layer.grads["weight"])
    return dx


def _matmul_columns(v, w, out, block=128):
    """out = V^T @ W, (E, G, C/G, T) @ (E, G, T, K/G), in blocks of ``block`` output columns.

    One GEMM with a short, wide output of 192 or 384 columns ran up to 10x slower than the same
    work in blocks of 128 when other processes shared the cores (OpenBLAS, 2 threads)."""
    vt = v.transpose(0, 1, 3, 2)
    for k0 in range(0, out.shape[3], block):
        matmul(vt, w[..., k0 : k0 + block], out=out[..., k0 : k0 + block])
    return out


def _u_shape(v, w) -> tuple[int, int, int, int]:
    """(E, G, C/G, K/G) from V (E, G, T, C/G) and W (E, G, T, K/G)."""
    return (*v.shape[:2], v.shape[3], w.shape[3])
