"""Local response normalisation across channels (AlexNet's "brightness normalisation"), on
either backend."""

from __future__ import annotations

from ..backends import is_reference
from ..kernels import lrn as fast_lrn
from ..layer import Layer
from ..reference import lrn as reference_lrn
from ..validate import check_input, float_input, lrn_settings


class LocalResponseNorm(Layer):
    """b_c = a_c / (k + alpha/size * sum_{c' in window(c)} a_{c'}^2) ** beta over NCHW input.

    The window is channels [c - size//2, c + (size-1)//2], zero outside [0, C): the convention of
    ``torch.nn.LocalResponseNorm`` (alpha is divided by size). AlexNet: size=5, alpha=1e-4,
    beta=0.75, k=2. Caffe's LRN layer uses the same alpha/size but k=1 by default. The formulas,
    backward's too: ``tinynet.reference.lrn``. Forward runs the backend in force
    (``tinynet.set_backend``); backward runs the code that forward ran.
    """

    _saved = ("_cache",)

    def __init__(self, size=5, alpha=1e-4, beta=0.75, k=2.0):
        super().__init__()
        settings = lrn_settings("LocalResponseNorm", size, alpha, beta, k)
        self.size, self.alpha, self.beta, self.k = settings
        self._cache = None

    def extra_repr(self):
        return f"size={self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"

    def _forward(self, x):
        x = float_input(self.label, check_input(self.label, x, 4))
        impl = reference_lrn if is_reference() else fast_lrn
        y, scale = impl.lrn_forward(x, self.size, self.alpha, self.beta, self.k)
        self._cache = (impl, x, scale) if self.grad_enabled else None
        return y

    def _backward(self, dout):
        impl, x, scale = self._cache
        return impl.lrn_backward(x, dout, scale, self.size, self.alpha, self.beta)
