"""Adaptive average pooling over NCHW images to a fixed output size (PyTorch's semantics)."""

from __future__ import annotations

import numpy as np

from ..layer import Layer
from ..validate import check_input, float_input, non_empty_images, positive_pair


def adaptive_bins(size: int, out: int) -> list[tuple[int, int]]:
    """The (start, end) of each of ``out`` bins over a length ``size``, as PyTorch draws them:
    bin i spans [floor(i * size / out), ceil((i + 1) * size / out)); bins may overlap (and
    repeat pixels when ``out > size``), every bin holds at least one pixel."""
    return [(i * size // out, -(-(i + 1) * size // out)) for i in range(out)]


class AdaptiveAvgPool2D(Layer):
    """Mean over the bins of ``adaptive_bins`` in each axis; ``output_size`` an int or (h, w).

    x: (N, C, H, W) -> (N, C, OH, OW) with (OH, OW) = ``output_size`` for any H, W >= 1.
    float64 stays float64, any other numeric dtype becomes float32. Backward spreads each
    output gradient evenly over its bin, summing where bins overlap.
    """

    _saved = ("_x_shape",)

    def __init__(self, output_size):
        super().__init__()
        who = f"AdaptiveAvgPool2D(output_size={output_size!r})"
        self.output_size = positive_pair(who, "output_size", output_size)
        self._x_shape = None

    def extra_repr(self):
        return f"output_size={self.output_size}"

    def output_shape(self, input_shape):
        """(N, C, OH, OW) for an input of shape (N, C, H, W)."""
        return (*input_shape[:2], *self.output_size)

    def _bins(self, shape):
        (h, w), (oh, ow) = shape[2:], self.output_size
        return adaptive_bins(h, oh), adaptive_bins(w, ow)

    def _forward(self, x):
        x = non_empty_images(self.label, float_input(self.label, check_input(self.label, x, 4)))
        rows, cols = self._bins(x.shape)
        y = np.empty(self.output_shape(x.shape), dtype=x.dtype)
        for i, (h0, h1) in enumerate(rows):
            for j, (w0, w1) in enumerate(cols):
                y[:, :, i, j] = x[:, :, h0:h1, w0:w1].mean(axis=(2, 3))
        self._x_shape = x.shape if self.grad_enabled else None
        return y

    def _backward(self, dout):
        dout = float_input(self.label, dout)
        dx = np.zeros(self._x_shape, dtype=dout.dtype)
        rows, cols = self._bins(self._x_shape)
        for i, (h0, h1) in enumerate(rows):
            for j, (w0, w1) in enumerate(cols):
                share = dout[:, :, i, j] / ((h1 - h0) * (w1 - w0))
                dx[:, :, h0:h1, w0:w1] += share[:, :, None, None]
        return dx
