"""2-D convolution (Conv2D): the layer; how it computes is one of ``conv_algorithms``."""

from __future__ import annotations

import math

import numpy as np

from ..backends import is_reference
from ..layer import Layer
from ..validate import (
    check_geometry,
    check_groups,
    check_input,
    choice,
    float_input,
    integer,
    pair,
    window_output,
)
from . import conv_algorithms
from .conv_algorithms import ConvSpec

#: The most bytes of scratch arrays (im2col's column matrix, Winograd's transformed arrays) a
#: chunk of images may take; the batch is split into chunks under it (docs/performance.md).
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

    How it computes (``tinynet/layers/conv_algorithms/``): on the ``"reference"`` backend always
    im2col + GEMM + col2im in plain NumPy (``tinynet/reference/conv.py``). On the ``"fast"``
    backend, ``algorithm`` says: ``"im2col"`` (the same method on Numba kernels, in chunks of
    images whose scratch arrays fit in ``chunk_bytes``, bias and ReLU fused), ``"winograd"``
    (minimal filtering F(m x m, r x r) with the tile side m taken per output size: AlexNet's
    13x13 conv3-5 take F(5x5, 3x3), its conv2 F(3x3, 5x5); float32 error about 1e-5 relative
    instead of 1e-6; a 3x3 or 5x5 kernel with stride 1 only, else a ValueError) or ``"auto"``
    (the default): Winograd for a stride-1 convolution whose output is at least 4x4 and has at
    least 1024 pixels over the batch, with a 3x3 kernel, or a 5x5 one with at least 48 input
    channels per group (AlexNet's conv2-5 from batch 7 up), else im2col. The layer picks the
    algorithm once per input shape and keeps it; backward runs the algorithm its forward ran.
    Under ``no_grad()`` (and so ``evaluating()``) forward keeps nothing for backward (no input,
    no mask); backward releases what forward kept.
    """

    _saved = ("_x", "_mask", "_ran")

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
        self.algorithm = algorithm
        rng = np.random.default_rng() if rng is None else rng
        shapes = _shapes(in_channels, out_channels, self.kernel_size, groups)
        bound = 1 / math.sqrt(math.prod(shapes["weight"][1:]))  # 1/sqrt(fan_in)
        self._add_param("weight", rng.uniform(-bound, bound, shapes["weight"]).astype(self.dtype))
        self._add_param("bias", rng.uniform(-bound, bound, out_channels).astype(self.dtype))
        self._x = self._mask = self._ran = None

    @property
    def algorithm(self) -> str:
        """``"auto"``, ``"im2col"`` or ``"winograd"`` (the fast backend's choice; see the class)."""
        return self._algorithm

    @algorithm.setter
    def algorithm(self, name) -> None:
        who = f"Conv2D({self.in_channels}, {self.out_channels})"
        choice(f"{who}: algorithm", name, ALGORITHMS)
        if name == "winograd" and not conv_algorithms.applies(self.kernel_size, self.stride):
            raise ValueError(conv_algorithms.geometry_error(who, self.kernel_size, self.stride))
        self._algorithm = name
        self._chosen: dict[tuple, object] = {}  # (backend, input shape) -> algorithm object
        self._made: dict[tuple, object] = {}  # what conv_algorithms.choose said -> that object

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
        """Whether the fast backend computes n images with an (oh, ow) output by Winograd."""
        return conv_algorithms.choose(self._spec(), self.algorithm, n, oh, ow)[0] == "winograd"

    def algorithm_for(self, input_shape):
        """The algorithm object that computes an input of ``input_shape`` (N, C, H, W) on the
        backend in force: chosen on the first call for that shape and backend, then kept."""
        key = (is_reference(), tuple(input_shape))
        chosen = self._chosen.get(key)
        if chosen is None:
            if is_reference():
                kind = ("reference",)
            else:
                n, _, oh, ow = self.output_shape(input_shape)
                kind = conv_algorithms.choose(self._spec(), self.algorithm, n, oh, ow)
            if kind not in self._made:  # one object per kind: Winograd's kept U serves all N
                self._made[kind] = conv_algorithms.build(kind, self._spec())
            chosen = self._chosen[key] = self._made[kind]
        return chosen

    def _spec(self) -> ConvSpec:
        return ConvSpec(
            self.in_channels, self.out_channels, self.kernel_size, self.stride, self.padding,
            self.groups, self.dtype, self.chunk_bytes,
        )  # fmt: skip

    def _forward(self, x):
        x = float_input(self.label, check_input(self.label, x, 4, self.in_channels), self.dtype)
        algorithm = self.algorithm_for(x.shape)
        keep = self.grad_enabled
        y = np.empty(self.output_shape(x.shape), self.dtype)
        mask = np.empty(y.shape, np.bool_) if self.relu and keep else None
        algorithm.forward(x, self.params["weight"], self.params["bias"], y, self.relu, mask)
        self._x, self._mask, self._ran = (x, mask, algorithm) if keep else (None, None, None)
        return y

    def _backward(self, dout):
        x = self._x
        dout = float_input(self.label, dout, self.dtype)
        dx = np.empty(x.shape, dtype=self.dtype) if self.input_grad else None
        weight, grads = self.params["weight"], self.grads
        self._ran.backward(x, dout, weight, grads["weight"], grads["bias"], dx, self._mask)
        return dx


def _checked(in_channels, out_channels, kernel_size, stride, padding, groups):
    """The (h, w) pairs (kernel, stride, padding) after checking every argument."""
    who = f"Conv2D({in_channels}, {out_channels}, groups={groups})"
    for what, value in (("in_channels", in_channels), ("out_channels", out_channels)):
        integer(f"{who}: {what}", value, 1)
    integer(f"{who}: groups", groups, 1)
    check_groups(who, in_channels, out_channels, groups)
    geometry = (("kernel_size", kernel_size), ("stride", stride), ("padding", padding))
    kernel, stride, padding = (pair(who, what, value) for what, value in geometry)
    check_geometry(who, kernel, stride, padding)
    return kernel, stride, padding


def _shapes(in_channels, out_channels, kernel, groups) -> dict[str, tuple[int, ...]]:
    return {"weight": (out_channels, in_channels // groups, *kernel), "bias": (out_channels,)}
