"""Pretrained AlexNets in and out: torchvision's and Caffe's weights, ONNX export.

Each needs an optional package, imported only when used: PyTorch to read a ``.pth``, protobuf to
read a ``.caffemodel``, onnx to write an ``.onnx`` (``pip install -e ".[interop]"``).
"""

from .caffe import from_caffe
from .onnx_export import to_onnx
from .torchvision import from_torchvision

__all__ = ["from_caffe", "from_torchvision", "to_onnx"]
