"""Fusing a ReLU into the convolution before it: one pass over the output instead of three.

A Conv2D followed by a ReLU in a Sequential becomes a Conv2D with ``relu=True`` (bias and ReLU
applied while the GEMM result is moved to NCHW; the gradient masked while it is moved back) and
a ReLU that passes its argument through. Results are identical to the unfused pair; the named
layers stay where they were, so parameter names and state dicts do not change.
"""

from __future__ import annotations

from .activation import ReLU
from .conv import Conv2D


def fuse_conv_relu(model) -> list[str]:
    """Fuse every Conv2D directly followed by a ReLU in ``model``; returns the ReLU names."""
    fused = []
    layers = list(model)
    for (conv_name, conv), (relu_name, relu) in zip(layers, layers[1:]):
        if isinstance(conv, Conv2D) and isinstance(relu, ReLU) and not relu.fused_into:
            conv.relu = True
            relu.fused_into = conv_name
            fused.append(relu_name)
    return fused


def unfuse(model) -> None:
    """Undo ``fuse_conv_relu``: every layer computes its own output again."""
    for _, layer in model:
        if isinstance(layer, Conv2D):
            layer.relu = False
        elif isinstance(layer, ReLU):
            layer.fused_into = None
