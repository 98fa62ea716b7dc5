"""Pretrained AlexNets in and out: torchvision's and Caffe's weights, ONNX export.

Each needs an optional package, imported only when used: PyTorch to read a ``.pth``, protobuf to
read a ``.caffemodel``, onnx to write an ``.onnx`` (``pip install -e ".[interop]"``).
"""
