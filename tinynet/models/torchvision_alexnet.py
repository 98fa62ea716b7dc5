"""torchvision's AlexNet (the "one weird trick" single-tower variant) as named tinynet layers.

No groups and no LRN; conv1 has 64 filters with padding 2, and an adaptive average pool to 6x6
before the classifier makes fc6 (9216 inputs) independent of the input size: 61,100,840
parameters for 1000 classes. Built to receive torchvision's weights
(``tinynet.interop.torchvision.from_torchvision``).
"""

from __future__ import annotations

import numpy as np

from ..layers import AdaptiveAvgPool2D, Conv2D, Dropout, Flatten, Linear, MaxPool2D, ReLU
from ..layers.fusion import fuse_conv_relu
from ..sequential import Sequential
from ..validate import fraction, integer, out_size
from .alexnet import LayerSpec, _build, _spec

FC_WIDTH = 4096
POOL_SIDE = 6  # the adaptive pool's output side: fc6 sees 256 * 6 * 6 = 9216 features

# (name, in, out, kernel, stride, padding) for conv1..conv5
_CONVS = (
    ("conv1", 3, 64, 11, 4, 2),
    ("conv2", 64, 192, 5, 1, 2),
    ("conv3", 192, 384, 3, 1, 1),
    ("conv4", 384, 256, 3, 1, 1),
    ("conv5", 256, 256, 3, 1, 1),
)


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
    specs = plan(num_classes, input_size, dropout, seed, dtype)
    dtype = np.dtype(dtype)
    config = dict(
        builder="alexnet_torchvision", num_classes=int(num_classes), input_size=int(input_size),
        dropout=float(dropout), seed=int(seed), dtype=dtype.name,
    )  # fmt: skip
    model = _build(specs, dtype, np.random.default_rng(seed))
    fuse_conv_relu(model)  # relu1-5 run inside conv1-5 (same results, faster)
    model.config = config
    return model


def plan(num_classes, input_size, dropout, seed, dtype) -> list[LayerSpec]:
    """The ``LayerSpec`` of every layer ``alexnet_torchvision`` builds with these arguments
    (all required, in its order); checks them (a ValueError naming the argument) and computes
    the parameter shapes without allocating anything."""
    who = "alexnet_torchvision"
    integer(f"{who}: num_classes", num_classes, 1)
    if integer(f"{who}: input_size", input_size, 1) < MIN_INPUT_SIZE:
        raise ValueError(
            f"{who}: input_size {input_size} is too small; the minimum is "
            f"{MIN_INPUT_SIZE} (every stage must stay at least 1x1)"
        )
    fraction(f"{who}: dropout", dropout)
    integer(f"{who}: seed", seed, 0)
    try:
        floating = np.dtype(dtype).kind == "f"
    except TypeError:
        floating = False
    if not floating:
        raise ValueError(f"{who}: dtype must be a floating point type, got {dtype!r}")
    return _features() + _classifier(num_classes, dropout, seed)


def _features() -> list[LayerSpec]:
    """conv1 ... pool5, then the adaptive average pool to 6x6."""
    specs = []
    for name, cin, cout, k, s, p in _CONVS:
        i = name[-1]
        conv = _spec(
            name, Conv2D, in_channels=cin, out_channels=cout, kernel_size=k, stride=s, padding=p,
            input_grad=(name != "conv1"),
        )  # fmt: skip
        specs += [conv, _spec(f"relu{i}", ReLU)]
        if name in ("conv1", "conv2", "conv5"):
            specs.append(_spec(f"pool{i}", MaxPool2D, kernel_size=3, stride=2))
    return specs + [_spec("avgpool", AdaptiveAvgPool2D, output_size=POOL_SIDE)]


def _classifier(num_classes, dropout, seed) -> list[LayerSpec]:
    """flatten drop6 fc6 relu6 drop7 fc7 relu7 fc8 (drop layers only when ``dropout > 0``)."""
    specs, fin = [_spec("flatten", Flatten)], _CONVS[-1][2] * POOL_SIDE * POOL_SIDE
    for i in (6, 7):
        if dropout > 0:
            specs.append(_spec(f"drop{i}", Dropout, seed=(seed, i), p=dropout))
        specs += [
            _spec(f"fc{i}", Linear, in_features=fin, out_features=FC_WIDTH),
            _spec(f"relu{i}", ReLU),
        ]
        fin = FC_WIDTH
    return specs + [_spec("fc8", Linear, in_features=fin, out_features=num_classes)]
