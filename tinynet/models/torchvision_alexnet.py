"""torchvision's AlexNet (the "one weird trick" single-tower variant) as named tinynet layers.

No groups and no LRN; conv1 has 64 filters with padding 2, and an adaptive average pool to 6x6
before the classifier makes fc6 (9216 inputs) independent of the input size: 61,100,840
parameters for 1000 classes. Built to receive torchvision's weights
(``tinynet.interop.torchvision.from_torchvision``).
"""

from __future__ import annotations

import numpy as np

from ..layers import AdaptiveAvgPool2D, Flatten, ReLU
from ..layers.fusion import fuse_conv_relu
from ..sequential import Sequential
from ..validate import float_dtype, fraction, input_side, integer, out_size
from .parts import Parts, param_shapes_of

FC_WIDTH = 4096
POOL_SIDE = 6  # the adaptive pool's output side: fc6 sees 256 * 6 * 6 = 9216 features

#: conv1..conv5: (in channels, out channels, kernel, stride, padding).
_CONVS = {
    "conv1": (3, 64, 11, 4, 2),
    "conv2": (64, 192, 5, 1, 2),
    "conv3": (192, 384, 3, 1, 1),
    "conv4": (384, 256, 3, 1, 1),
    "conv5": (256, 256, 3, 1, 1),
}


def _pool5_side(size: int) -> int:
    """Side of pool5's output for a ``size`` input: conv1 (11/4, pad 2), then three 3/2 pools
    (0 or less when a stage would be empty)."""
    side = out_size(size, 11, 4, 2)
    for _ in range(3):  # pool1, pool2, pool5 (convs 2-5 keep the size)
        side = out_size(side, 3, 2) if side >= 3 else 0
    return side


#: The smallest input side that keeps every stage at least 1x1 (63).
MIN_INPUT_SIZE = next(s for s in range(1, 256) if _pool5_side(s) >= 1)


def alexnet_torchvision(
    num_classes=1000, input_size=224, dropout=0.5, seed=0, dtype=np.float32
) -> Sequential:
    """Build torchvision's AlexNet; returns a ``Sequential`` whose ``config`` rebuilds it.

    Layers: conv1 relu1 pool1 conv2 relu2 pool2 conv3 relu3 conv4 relu4 conv5 relu5 pool5
    avgpool flatten drop6 fc6 relu6 drop7 fc7 relu7 fc8 (drop layers only when
    ``dropout > 0``). Input (N, 3, H, W) with H, W >= 63 (``MIN_INPUT_SIZE``) -> logits
    (N, num_classes); ``input_size`` (the side it is meant for) is checked and recorded only.
    Weights use PyTorch's default initialisation from ``seed``, parameters in ``dtype``.
    """
    _check(num_classes, input_size, dropout, seed, dtype)
    convs, fcs = _sizes(num_classes)
    dtype, rng = np.dtype(dtype), np.random.default_rng(seed)
    make = Parts(convs, fcs, dtype, rng, dropout, seed)

    layers = [
        ("conv1", make.conv("conv1", input_grad=False)),  # the image needs no gradient
        ("relu1", ReLU()), ("pool1", make.pool()),
        ("conv2", make.conv("conv2")), ("relu2", ReLU()), ("pool2", make.pool()),
        ("conv3", make.conv("conv3")), ("relu3", ReLU()),
        ("conv4", make.conv("conv4")), ("relu4", ReLU()),
        ("conv5", make.conv("conv5")), ("relu5", ReLU()), ("pool5", make.pool()),
        ("avgpool", AdaptiveAvgPool2D(output_size=POOL_SIDE)), ("flatten", Flatten()),
        ("drop6", make.drop(6)), ("fc6", make.fc("fc6")), ("relu6", ReLU()),
        ("drop7", make.drop(7)), ("fc7", make.fc("fc7")), ("relu7", ReLU()),
        ("fc8", make.fc("fc8")),
    ]  # fmt: skip
    model = Sequential([(name, layer) for name, layer in layers if layer is not None])
    fuse_conv_relu(model)  # relu1-5 run inside conv1-5 (same results, faster)
    model.config = dict(
        builder="alexnet_torchvision", num_classes=int(num_classes), input_size=int(input_size),
        dropout=float(dropout), seed=int(seed), dtype=dtype.name,
    )  # fmt: skip
    return model


def alexnet_torchvision_param_shapes(
    num_classes, input_size, dropout, seed, dtype
) -> dict[str, tuple[int, ...]]:
    """``{"conv1.weight": (64, 3, 11, 11), ...}``: every parameter ``alexnet_torchvision``
    builds with these arguments (all required, in its order), in its order. The arguments are
    checked as the builder checks them; nothing is allocated."""
    _check(num_classes, input_size, dropout, seed, dtype)
    convs, fcs = _sizes(num_classes)
    return param_shapes_of(convs, fcs)


def _check(num_classes, input_size, dropout, seed, dtype) -> None:
    """A ValueError naming the first bad argument of ``alexnet_torchvision``."""
    integer("alexnet_torchvision: num_classes", num_classes, 1)
    input_side("alexnet_torchvision: input_size", input_size, MIN_INPUT_SIZE)
    fraction("alexnet_torchvision: dropout", dropout)
    integer("alexnet_torchvision: seed", seed, 0)
    float_dtype("alexnet_torchvision: dtype", dtype)


def _sizes(num_classes) -> tuple[dict, dict]:
    """The size arguments of conv1..conv5 (``Conv2D``'s) and fc6..fc8 (``Linear``'s), by name."""
    convs = {
        name: dict(in_channels=cin, out_channels=cout, kernel_size=k, stride=s, padding=p)
        for name, (cin, cout, k, s, p) in _CONVS.items()
    }
    fcs = {
        "fc6": dict(in_features=_CONVS["conv5"][1] * POOL_SIDE * POOL_SIDE, out_features=FC_WIDTH),
        "fc7": dict(in_features=FC_WIDTH, out_features=FC_WIDTH),
        "fc8": dict(in_features=FC_WIDTH, out_features=num_classes),
    }
    return convs, fcs
