"""Max-pooling over NCHW images, overlapping windows allowed."""
from __future__ import annotations

import numpy as np

from .._checks import check_geometry, check_input, check_window, float_input, own_dtype, pair
from ..kernels import maxpool_backward, maxpool_forward
from ..layer import Layer


class MaxPool2D(Layer):
    """Max over kh x kw windows every (sh, sw) pixels; ``stride`` defaults to ``kernel_size``.

    x: (N, C, H, W) -> (N, C, OH, OW), OH = (H + 2*ph - kh) // sh + 1 (floor, like PyTorch).
    Padding counts as -inf and may be at most half the kernel. Forward keeps the argmax of each
    window; backward sends each output gradient to it, summing where overlapping windows share a
    maximum. Ties go to the first maximum in row-major order (see ``tinynet.kernels.pool``).
    """

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        name = f"MaxPool2D(kernel_size={kernel_size})"
        self.kernel_size = pair(kernel_size, "kernel_size", name)
        self.stride = self.kernel_size if stride is None else pair(stride, "stride", name)
        self.padding = pair(padding, "padding", name)
        check_geometry(name, self.kernel_size, self.stride, self.padding)
        if any(p > k // 2 for p, k in zip(self.padding, self.kernel_size)):
            raise ValueError(f"{name}: padding {self.padding} must be at most half the kernel")
        self._cache = None

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def _name(self):
        return f"MaxPool2D(kernel_size={self.kernel_size}, stride={self.stride})"

    def output_shape(self, input_shape):
        oh, ow = check_window(self._name(), input_shape, self.kernel_size, self.stride,
                              self.padding)
        return (*input_shape[:2], oh, ow)

    def forward(self, x):
        x = check_input(x, self._name(), 4)
        x = float_input(x, own_dtype(x))
        out_hw = self.output_shape(x.shape)[2:]
        y, argmax = maxpool_forward(x, self.kernel_size, self.stride, self.padding, out_hw)
        self._cache = (x.shape, argmax)
        return y

    def backward(self, dout):
        if self._cache is None:
            raise RuntimeError(f"{self._name()}: backward called before forward")
        x_shape, argmax = self._cache
        dout = np.asarray(dout)
        if dout.shape != argmax.shape:
            raise ValueError(f"{self._name()}: expected a gradient of shape {argmax.shape}, "
                             f"got {dout.shape}")
        return maxpool_backward(float_input(dout, own_dtype(dout)), argmax, x_shape)
