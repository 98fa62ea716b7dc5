"""AlexNet (Krizhevsky, Sutskever & Hinton, 2012) as a Sequential of named tinynet layers.

The default geometry is the paper's two-GPU network expressed with groups=2 (conv2, conv4 and
conv5 see half the channels each): 60,965,224 parameters, logits (N, 1000) for (N, 3, 227, 227).
"""

from __future__ import annotations

import math

import numpy as np

from ..layers import Conv2D, Dropout, Flatten, Linear, LocalResponseNorm, MaxPool2D, ReLU
from ..layers.fusion import fuse_conv_relu
from ..sequential import Sequential
from ..validate import choice, fraction, integer, out_size, real

#: The smallest input side that keeps every stage at least 1x1.
MIN_INPUT_SIZE = 67

CONV_CHANNELS = (96, 256, 384, 384, 256)
FC_WIDTH = 4096
INITS = ("paper", "caffe", "he")

# (name, kernel, stride, padding, grouped) for conv1..conv5
_CONVS = (
    ("conv1", 11, 4, 0, False),
    ("conv2", 5, 1, 2, True),
    ("conv3", 3, 1, 1, False),
    ("conv4", 3, 1, 1, True),
    ("conv5", 3, 1, 1, True),
)
#: Layers whose bias the paper sets to 1 (Caffe: 0.1) "to give the ReLUs positive inputs".
_POSITIVE_BIAS = ("conv2", "conv4", "conv5", "fc6", "fc7")


def _scaled(channels: int, width: float, groups: int) -> int:
    """channels * width, rounded to a positive multiple of groups."""
    return max(groups, int(round(channels * width / groups)) * groups)


def _feature_side(size: int) -> int:
    """Side of pool5's output for a ``size`` input: conv1 (11/4), then three 3/2 pools."""
    side = out_size(size, 11, 4)
    for _ in range(3):  # pool1, pool2, pool5 (convs 2-5 keep the size)
        side = out_size(side, 3, 2)
    return side


def alexnet(
    num_classes=1000,
    input_size=227,
    width=1.0,
    groups=2,
    lrn=True,
    dropout=0.5,
    init="paper",
    seed=0,
    dtype=np.float32,
) -> Sequential:
    """Build AlexNet; returns a ``Sequential`` whose ``config`` attribute rebuilds it.

    Layers, in the paper's order: conv1 relu1 norm1 pool1 conv2 relu2 norm2 pool2 conv3 relu3
    conv4 relu4 conv5 relu5 pool5 flatten fc6 relu6 drop6 fc7 relu7 drop7 fc8 (norm layers only
    with ``lrn``, drop layers only when ``dropout > 0``).

    - ``input_size``: side of the square input; fc6 is sized from the real feature map.
      At least 67 (``MIN_INPUT_SIZE``).
    - ``width``: scales every channel count and the hidden fc width (0.25 for quick runs).
    - ``groups``: 2 is the paper's two-GPU split for conv2/4/5, 1 the single-tower network.
    - ``init``: ``"paper"``: weights N(0, 0.01), biases 1 in conv2/4/5 and fc6/7, else 0.
      The paper's init can sit at loss ln(num_classes) for a long time before it starts to
      learn (Caffe issues #59, #401); ``"caffe"`` (bvlc_alexnet: those biases 0.1, fc6/fc7
      std 0.005) and ``"he"`` (He-normal weights, zero biases) start faster.
    - ``seed``: the weights and each dropout layer's mask stream derive from it.
    """
    _check(num_classes, input_size, width, groups, dropout, init)
    dtype = np.dtype(dtype)
    config = dict(
        builder="alexnet", num_classes=int(num_classes), input_size=int(input_size),
        width=float(width), groups=int(groups), lrn=bool(lrn), dropout=float(dropout), init=init,
        seed=int(seed), dtype=dtype.name,
    )  # fmt: skip
    rng = np.random.default_rng(seed)
    channels = [_scaled(c, width, groups) for c in CONV_CHANNELS]
    layers = _features(channels, groups, lrn, dtype, rng)
    side = _feature_side(input_size)
    hidden = max(1, int(round(FC_WIDTH * width)))
    layers += _classifier(
        channels[-1] * side * side, hidden, num_classes, dropout, seed, dtype, rng
    )
    model = Sequential(layers)
    fuse_conv_relu(model)  # relu1-5 run inside conv1-5 (same results, faster)
    _initialise(model, init, rng)
    model.config = config
    return model


def _check(num_classes, input_size, width, groups, dropout, init) -> None:
    choice("alexnet: init", init, INITS)
    choice("alexnet: groups", groups, (1, 2))
    if not real("alexnet: width", width) > 0:
        raise ValueError(f"alexnet: width must be positive, got {width!r}")
    integer("alexnet: num_classes", num_classes, 1)
    if integer("alexnet: input_size", input_size, 1) < MIN_INPUT_SIZE:
        raise ValueError(
            f"alexnet: input_size {input_size} is too small; the minimum is "
            f"{MIN_INPUT_SIZE} (every stage must stay at least 1x1)"
        )
    fraction("alexnet: dropout", dropout)


def _features(channels, groups, lrn, dtype, rng) -> list:
    """conv1 ... pool5: (name, layer) pairs; norm layers only with ``lrn``."""
    layers, cin = [], 3
    for (name, k, s, p, grouped), cout in zip(_CONVS, channels):
        i = name[-1]
        conv = Conv2D(
            cin, cout, k, s, p, groups=groups if grouped else 1, dtype=dtype, rng=rng,
            input_grad=(name != "conv1"),
        )  # fmt: skip
        layers += [(name, conv), (f"relu{i}", ReLU())]
        if lrn and name in ("conv1", "conv2"):
            layers.append((f"norm{i}", LocalResponseNorm(5, 1e-4, 0.75, 2.0)))
        if name in ("conv1", "conv2", "conv5"):
            layers.append((f"pool{i}", MaxPool2D(3, 2)))
        cin = cout
    return layers


def _classifier(fin, hidden, num_classes, dropout, seed, dtype, rng) -> list:
    """flatten fc6 relu6 drop6 fc7 relu7 drop7 fc8 (drop layers only when ``dropout > 0``)."""
    layers = [("flatten", Flatten())]
    for i in (6, 7):
        layers += [(f"fc{i}", Linear(fin, hidden, dtype=dtype, rng=rng)), (f"relu{i}", ReLU())]
        if dropout > 0:
            layers.append((f"drop{i}", Dropout(dropout, rng=np.random.default_rng([seed, i]))))
        fin = hidden
    return layers + [("fc8", Linear(fin, num_classes, dtype=dtype, rng=rng))]


def _initialise(model: Sequential, init: str, rng: np.random.Generator) -> None:
    for name, layer in model:
        if "weight" not in layer.params:
            continue
        w, b = layer.params["weight"], layer.params["bias"]
        if init == "he":
            fan_in = w[0].size
            std = math.sqrt(2.0 / fan_in)
        elif init == "caffe" and name in ("fc6", "fc7"):
            std = 0.005
        else:
            std = 0.01
        w[...] = rng.standard_normal(w.shape, dtype=w.dtype)
        w *= w.dtype.type(std)
        if init == "he" or name not in _POSITIVE_BIAS:
            b[...] = 0
        else:
            b[...] = 1.0 if init == "paper" else 0.1
