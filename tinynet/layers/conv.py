"""2-D convolution: im2col + one BLAS GEMM per chunk of images, with groups; Winograd 3x3, 5x5."""

from __future__ import annotations

import math

import numpy as np

from ..kernels import col2im, im2col, nchw_to_rows, rows_to_nchw
from ..layer import Layer
from ..perf import workspace
from ..perf.blas import matmul
from ..validate import (
    check_geometry,
    check_input,
    choice,
    float_input,
    integer,
    pair,
    window_output,
)
from . import conv_winograd

#: Images per chunk are chosen so the column matrix (or Winograd's transformed arrays) stays
#: under this many bytes. 32 MiB trained 5-10% slower (Winograd's GEMMs get fewer tiles), 48 MiB
#: the same within the noise (alternating in one process, both nets, batch 64 and 128).
DEFAULT_CHUNK_BYTES = 64 * 2**20
#: The ``algorithm`` choices (see Conv2D).
ALGORITHMS = ("auto", "im2col", "winograd")


class Conv2D(Layer):
    """Cross-correlation over NCHW images (PyTorch's Conv2d semantics).

    x: (N, in_channels, H, W) -> y: (N, out_channels, OH, OW), OH = (H + 2*ph - kh) // sh + 1.
    ``weight`` is (out_channels, in_channels // groups, kh, kw), ``bias`` (out_channels,), both in
    ``dtype``. Inputs of another dtype are converted to it. Default initialisation is PyTorch's:
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for both. ``input_grad=False`` skips dL/dx (for a first
    layer, whose input needs no gradient): ``backward`` then returns None. ``relu=True`` applies
    max(., 0) to the output in the same pass as the bias, and masks the gradient in backward
    (``tinynet.layers.fusion.fuse_conv_relu`` sets it for a Conv2D followed by a ReLU); forward then
    keeps a boolean mask of the positive outputs for backward.

    The batch is processed in chunks of images whose column matrix fits in ``chunk_bytes``; each
    chunk is one GEMM per group (``np.matmul`` over a stack of groups, no Python loop).
    Backward recomputes the columns instead of keeping them, which bounds memory.

    ``algorithm``: ``"im2col"`` (the above), ``"winograd"`` (minimal filtering in
    ``conv_winograd``: F(m x m, r x r) computes an m x m output tile with (m + r - 1)^2
    multiplications instead of m^2 r^2, the tile side taken per output size from F(2x2),
    F(4x4) and F(5x5) for 3x3 kernels and F(2x2) and F(3x3) for 5x5 (``tile_side``; AlexNet's
    13x13 conv3-5 take F(5x5, 3x3), 49 instead of 225 per tile, its conv2 F(3x3, 5x5), 49
    instead of 225); float32 error about 1e-5 relative instead of 1e-6; a 3x3 or 5x5 kernel
    with stride 1 only, else a ValueError) or ``"auto"`` (the
    default): Winograd for a stride-1 convolution whose output is at least 4x4 and has at least
    1024 pixels over the batch, with a 3x3 kernel, or a 5x5 one with at least 48 input channels
    per group (AlexNet's conv2-5 from batch 7 up; see ``conv_winograd.auto_chooses``), else
    im2col.
    Under ``no_grad()`` (and so ``evaluating()``) forward keeps nothing for backward (no input,
    no mask); backward releases what forward kept.
    """

    _saved = ("_x", "_mask")

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride=1,
        padding=0,
        groups=1,
        dtype=np.float32,
        rng=None,
        input_grad=True,
        relu=False,
        chunk_bytes=DEFAULT_CHUNK_BYTES,
        algorithm="auto",
    ):
        super().__init__()
        geometry = _checked(in_channels, out_channels, kernel_size, stride, padding, groups)
        self.kernel_size, self.stride, self.padding = geometry
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.dtype = np.dtype(dtype)
        self.input_grad = input_grad
        self.relu = relu
        self.chunk_bytes = chunk_bytes
        who = f"Conv2D({in_channels}, {out_channels})"
        self.algorithm = choice(f"{who}: algorithm", algorithm, ALGORITHMS)
        if algorithm == "winograd" and not conv_winograd.applies(self.kernel_size, self.stride):
            raise ValueError(conv_winograd.geometry_error(who, self.kernel_size, self.stride))
        rng = np.random.default_rng() if rng is None else rng
        shapes = _shapes(in_channels, out_channels, self.kernel_size, groups)
        bound = 1 / math.sqrt(math.prod(shapes["weight"][1:]))  # 1/sqrt(fan_in)
        self._add_param("weight", rng.uniform(-bound, bound, shapes["weight"]).astype(self.dtype))
        self._add_param("bias", rng.uniform(-bound, bound, out_channels).astype(self.dtype))
        self._x = self._mask = None

    @staticmethod
    def param_shapes(
        in_channels, out_channels, kernel_size, stride=1, padding=0, groups=1, **options
    ) -> dict[str, tuple[int, ...]]:
        """``{"weight": (out, in // groups, kh, kw), "bias": (out,)}`` for these constructor
        arguments, checked as the constructor checks them; allocates nothing. The other
        constructor arguments (``options``: dtype, rng, ...) do not change the shapes."""
        kernel = _checked(in_channels, out_channels, kernel_size, stride, padding, groups)[0]
        return _shapes(in_channels, out_channels, kernel, groups)

    def extra_repr(self):
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}, groups={self.groups}"
            + (", relu=True" if self.relu else "")
            + (f", algorithm={self.algorithm!r}" if self.algorithm != "auto" else "")
        )

    def output_shape(self, input_shape):
        """(N, out_channels, OH, OW) for an input of shape (N, C, H, W); checks that it fits."""
        geometry = (self.kernel_size, self.stride, self.padding)
        return (
            input_shape[0],
            self.out_channels,
            *window_output(self.label, input_shape, *geometry),
        )

    def uses_winograd(self, n, oh, ow) -> bool:
        """Whether forward and backward take the Winograd path for n images, (oh, ow) output."""
        if self.algorithm == "auto":
            per_group = self.in_channels // self.groups
            return conv_winograd.auto_chooses(self.kernel_size, self.stride, n, oh, ow, per_group)
        return self.algorithm == "winograd"

    def _chunk(self, n, oh, ow):
        kh, kw = self.kernel_size
        per_image = self.in_channels * kh * kw * oh * ow * self.dtype.itemsize
        return workspace.images_per_chunk(n, per_image, self.chunk_bytes)

    def _chunks(self, x, oh, ow):
        """For each chunk of images: (n0, n1, columns (G, Ck, m), GEMM output rows (G, O/G, m))."""
        n = x.shape[0]
        g, o = self.groups, self.out_channels
        step = self._chunk(n, oh, ow)
        for n0 in range(0, n, step):
            n1 = min(n, n0 + step)
            m = (n1 - n0) * oh * ow
            cols = workspace.scratch(
                "cols",
                (self.in_channels * self.kernel_size[0] * self.kernel_size[1], m),
                self.dtype,
            )
            im2col(x[n0:n1], self.kernel_size, self.stride, self.padding, out=cols)
            rows = workspace.scratch("rows", (g, o // g, m), self.dtype)
            yield n0, n1, cols.reshape(g, -1, m), rows

    def _forward(self, x):
        x = float_input(self.label, check_input(self.label, x, 4, self.in_channels), self.dtype)
        n, o, oh, ow = self.output_shape(x.shape)
        keep = self.grad_enabled
        y = np.empty((n, o, oh * ow), dtype=self.dtype)
        mask = np.empty(y.shape, dtype=np.bool_) if self.relu and keep else None
        if self.uses_winograd(n, oh, ow):
            shape = (n, o, oh, ow)
            mask4 = None if mask is None else mask.reshape(shape)
            conv_winograd.forward(self, x, y.reshape(shape), mask4)
        else:
            self._forward_im2col(x, y, mask, oh, ow)
        self._x, self._mask = (x, mask) if keep else (None, None)
        return y.reshape(n, o, oh, ow)

    def _forward_im2col(self, x, y, mask, oh, ow):
        o, g = self.out_channels, self.groups
        w = self.params["weight"].reshape(g, o // g, -1)  # (G, O/G, Ck)
        if self.relu and mask is None:  # ReLU, but nothing kept: the mask goes to scratch
            mask = workspace.scratch("conv_mask", y.shape, np.bool_)
        for n0, n1, cols, rows in self._chunks(x, oh, ow):
            matmul(w, cols, out=rows)
            rows_to_nchw(
                rows.reshape(o, -1),
                self.params["bias"],
                y[n0:n1],
                mask=None if mask is None else mask[n0:n1],
            )

    def _backward(self, dout):
        x = self._x
        n, o, oh, ow = dout.shape
        dout = float_input(self.label, dout, self.dtype)
        dx = np.empty(x.shape, dtype=self.dtype) if self.input_grad else None
        if self.uses_winograd(n, oh, ow):
            mask = None if self._mask is None else self._mask.reshape(dout.shape)
            return conv_winograd.backward(self, x, dout, mask, dx)
        return self._backward_im2col(x, dout.reshape(n, o, oh * ow), dx, oh, ow)

    def _backward_im2col(self, x, dout, dx, oh, ow):
        o, g = self.out_channels, self.groups
        w = self.params["weight"].reshape(g, o // g, -1)
        dw = self.grads["weight"].reshape(g, o // g, -1)
        db = self.grads["bias"]
        db[...] = 0
        for n0, n1, cols, rows in self._chunks(x, oh, ow):
            nchw_to_rows(
                dout[n0:n1],
                rows.reshape(o, -1),
                db,
                mask=None if self._mask is None else self._mask[n0:n1],
            )
            if n0 == 0:
                matmul(rows, cols.transpose(0, 2, 1), out=dw)
            else:
                part = workspace.scratch("dw", dw.shape, self.dtype)
                dw += matmul(rows, cols.transpose(0, 2, 1), out=part)
            if dx is not None:
                matmul(w.transpose(0, 2, 1), rows, out=cols)  # dcols overwrite the columns
                col2im(
                    cols.reshape(-1, cols.shape[2]),
                    (n1 - n0, *x.shape[1:]),
                    self.kernel_size,
                    self.stride,
                    self.padding,
                    out=dx[n0:n1],
                )
        return dx


def _checked(in_channels, out_channels, kernel_size, stride, padding, groups):
    """The (h, w) pairs (kernel, stride, padding) after checking every argument."""
    who = f"Conv2D({in_channels}, {out_channels}, groups={groups})"
    for what, value in (("in_channels", in_channels), ("out_channels", out_channels)):
        integer(f"{who}: {what}", value, 1)
    integer(f"{who}: groups", groups, 1)
    if in_channels % groups or out_channels % groups:
        raise ValueError(
            f"{who}: in_channels ({in_channels}) and out_channels ({out_channels}) "
            f"must both be divisible by groups ({groups})"
        )
    geometry = (("kernel_size", kernel_size), ("stride", stride), ("padding", padding))
    kernel, stride, padding = (pair(who, what, value) for what, value in geometry)
    check_geometry(who, kernel, stride, padding)
    return kernel, stride, padding


def _shapes(in_channels, out_channels, kernel, groups) -> dict[str, tuple[int, ...]]:
    return {"weight": (out_channels, in_channels // groups, *kernel), "bias": (out_channels,)}
