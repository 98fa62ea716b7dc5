"""Layers with hand-written backward passes. NCHW at every boundary."""

from .activation import ReLU, Tanh
from .adaptive_pool import AdaptiveAvgPool2D
from .conv import Conv2D
from .dropout import Dropout
from .flatten import Flatten
from .fusion import fuse_conv_relu, unfuse
from .linear import Linear
from .loss import SoftmaxCrossEntropy, log_softmax, nll, softmax
from .lrn import LocalResponseNorm
from .pool import MaxPool2D

__all__ = [
    "Conv2D",
    "MaxPool2D",
    "AdaptiveAvgPool2D",
    "ReLU",
    "Tanh",
    "LocalResponseNorm",
    "Dropout",
    "Linear",
    "Flatten",
    "SoftmaxCrossEntropy",
    "softmax",
    "log_softmax",
    "nll",
    "fuse_conv_relu",
    "unfuse",
]
