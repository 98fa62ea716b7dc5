"""Max-pooling over NCHW images, overlapping windows allowed, on either backend."""

from __future__ import annotations

from ..backends import is_reference
from ..kernels import pool as fast_pool
from ..layer import Layer
from ..reference import pool as reference_pool
from ..validate import check_geometry, check_input, float_input, pair, pool_padding, window_output


class MaxPool2D(Layer):
    """Max over kh x kw windows every (sh, sw) pixels; ``stride`` defaults to ``kernel_size``.

    x: (N, C, H, W) -> (N, C, OH, OW), OH = (H + 2*ph - kh) // sh + 1 (floor, like PyTorch).
    Padding counts as -inf and may be at most half the kernel. Forward keeps the argmax of each
    window (not under ``no_grad()``); backward sends each output gradient to it, summing where
    overlapping windows share a maximum. Ties go to the first maximum in row-major order (see
    ``tinynet.reference.pool``, the specification). Forward runs the backend in force
    (``tinynet.set_backend``); backward runs the code that forward ran.
    """

    _saved = ("_cache",)

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        who = f"MaxPool2D(kernel_size={kernel_size})"
        self.kernel_size = pair(who, "kernel_size", kernel_size)
        self.stride = self.kernel_size if stride is None else pair(who, "stride", stride)
        self.padding = pair(who, "padding", padding)
        check_geometry(who, self.kernel_size, self.stride, self.padding)
        pool_padding(who, self.padding, self.kernel_size)
        self._cache = None

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def output_shape(self, input_shape):
        """(N, C, OH, OW) for an input of shape (N, C, H, W); checks that the window fits."""
        geometry = (self.kernel_size, self.stride, self.padding)
        return (*input_shape[:2], *window_output(self.label, input_shape, *geometry))

    def _forward(self, x):
        x = float_input(self.label, check_input(self.label, x, 4))
        out_hw = self.output_shape(x.shape)[2:]
        geometry = (self.kernel_size, self.stride, self.padding)
        impl = reference_pool if is_reference() else fast_pool
        y, argmax = impl.maxpool_forward(x, *geometry, out_hw, keep_argmax=self.grad_enabled)
        self._cache = (impl, x.shape, argmax) if self.grad_enabled else None
        return y

    def _backward(self, dout):
        impl, x_shape, argmax = self._cache
        return impl.maxpool_backward(float_input(self.label, dout), argmax, x_shape)
