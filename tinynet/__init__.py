"""tinynet: a deep-learning engine from scratch in NumPy and Numba.

    from tinynet import Sequential
    from tinynet.layers import Conv2D, ReLU, MaxPool2D, Flatten, Linear, SoftmaxCrossEntropy
"""
from . import gradcheck
from .layer import Layer
from .sequential import Sequential

__version__ = "0.1.0"
__all__ = ["Layer", "Sequential", "gradcheck", "__version__"]
