"""AlexNet (Krizhevsky, Sutskever & Hinton, 2012) as a Sequential of named tinynet layers.

The default geometry is the paper's two-GPU network expressed with groups=2 (conv2, conv4 and
conv5 see half the channels each): 60,965,224 parameters, logits (N, 1000) for (N, 3, 227, 227).
``alexnet_param_shapes`` gives the shapes of its parameters without building it.
"""

from __future__ import annotations

import math

import numpy as np

from ..layers import Flatten, LocalResponseNorm, ReLU
from ..layers.fusion import fuse_conv_relu
from ..sequential import Sequential
from ..validate import (
    boolean,
    choice,
    float_dtype,
    fraction,
    input_side,
    integer,
    multiplier,
    out_size,
    positive,
)
from .parts import Parts, param_shapes_of

#: The smallest input side that keeps every stage at least 1x1 (with either ``POOL_SIZES``).
MIN_INPUT_SIZE = 67
#: pool1/2/5's window side, stride 2: 3, the paper's overlapping pooling, or 2, non-overlapping.
POOL_SIZES = (3, 2)

FC_WIDTH = 4096
INITS = ("paper", "caffe", "he")

#: conv1..conv5: (the paper's output channels, kernel, stride, padding, split into ``groups``).
_CONVS = {
    "conv1": (96, 11, 4, 0, False),
    "conv2": (256, 5, 1, 2, True),
    "conv3": (384, 3, 1, 1, False),
    "conv4": (384, 3, 1, 1, True),
    "conv5": (256, 3, 1, 1, True),
}
#: Layers whose bias the paper sets to 1 (Caffe: 0.1) "to give the ReLUs positive inputs".
_POSITIVE_BIAS = ("conv2", "conv4", "conv5", "fc6", "fc7")


def alexnet(
    num_classes=1000,
    input_size=227,
    width=1.0,
    groups=2,
    lrn=True,
    dropout=0.5,
    init="he",
    seed=0,
    dtype=np.float32,
    lrn_k=2.0,
    pool_size=3,
) -> Sequential:
    """Build AlexNet; returns a ``Sequential`` whose ``config`` attribute rebuilds it.

    Layers, in the paper's order: conv1 relu1 norm1 pool1 conv2 relu2 norm2 pool2 conv3 relu3
    conv4 relu4 conv5 relu5 pool5 flatten fc6 relu6 drop6 fc7 relu7 drop7 fc8 (norm layers only
    with ``lrn``, drop layers only when ``dropout > 0``).

    - ``input_size``: side of the square input; fc6 is sized from the real feature map.
      At least 67 (``MIN_INPUT_SIZE``).
    - ``width``: scales every channel count and the hidden fc width (0.25 for quick runs).
    - ``groups``: 2 is the paper's two-GPU split for conv2/4/5, 1 the single-tower network.
    - ``init``: ``"he"`` (the default, as on the command line): He-normal weights, zero biases.
      ``"paper"`` is the paper's recipe: weights N(0, 0.01), biases 1 in conv2/4/5 and fc6/7,
      else 0; it can sit at loss ln(num_classes) for a long time before it starts to learn
      (Caffe issues #59, #401). ``"caffe"`` is bvlc_alexnet's: those biases 0.1, fc6/fc7 std
      0.005, otherwise the paper's.
    - ``seed``: the weights and each dropout layer's mask stream derive from it.
    - ``dtype``: a floating point dtype for the parameters.
    - ``lrn_k``: the norm layers' k (the paper's 2; Caffe's LRN, and so bvlc_alexnet, uses 1).
    - ``pool_size``: the side of pool1, pool2 and pool5's window, all with stride 2. 3 is the
      paper's overlapping pooling (section 3.4); 2 the non-overlapping pooling it compares
      with, whose outputs have the same sides when the input's is odd (55 -> 27 either way) and
      one more when it is even. fc6 is sized from the resulting feature map.
    """
    _check(
        num_classes, input_size, width, groups, lrn, dropout, init, seed, dtype, lrn_k, pool_size
    )
    convs, fcs = _sizes(num_classes, input_size, width, groups, pool_size)
    dtype, rng = np.dtype(dtype), np.random.default_rng(seed)
    make = Parts(convs, fcs, dtype, rng, dropout, seed)

    def norm():
        return LocalResponseNorm(size=5, alpha=1e-4, beta=0.75, k=lrn_k) if lrn else None

    def pool():
        return make.pool(pool_size)

    layers = [
        ("conv1", make.conv("conv1", input_grad=False)),  # the image needs no gradient
        ("relu1", ReLU()), ("norm1", norm()), ("pool1", pool()),
        ("conv2", make.conv("conv2")), ("relu2", ReLU()), ("norm2", norm()), ("pool2", pool()),
        ("conv3", make.conv("conv3")), ("relu3", ReLU()),
        ("conv4", make.conv("conv4")), ("relu4", ReLU()),
        ("conv5", make.conv("conv5")), ("relu5", ReLU()), ("pool5", pool()),
        ("flatten", Flatten()),
        ("fc6", make.fc("fc6")), ("relu6", ReLU()), ("drop6", make.drop(6)),
        ("fc7", make.fc("fc7")), ("relu7", ReLU()), ("drop7", make.drop(7)),
        ("fc8", make.fc("fc8")),
    ]  # fmt: skip
    model = Sequential([(name, layer) for name, layer in layers if layer is not None])
    fuse_conv_relu(model)  # relu1-5 run inside conv1-5 (same results, faster)
    _initialise(model, init, rng)
    model.config = dict(
        builder="alexnet", num_classes=int(num_classes), input_size=int(input_size),
        width=float(width), groups=int(groups), lrn=bool(lrn), dropout=float(dropout), init=init,
        seed=int(seed), dtype=dtype.name, lrn_k=float(lrn_k), pool_size=int(pool_size),
    )  # fmt: skip
    return model


def alexnet_param_shapes(
    num_classes, input_size, width, groups, lrn, dropout, init, seed, dtype, lrn_k, pool_size=3
) -> dict[str, tuple[int, ...]]:
    """``{"conv1.weight": (96, 3, 11, 11), ...}``: every parameter ``alexnet`` builds with these
    arguments (all required but ``pool_size``, in its order), in its order. The arguments are
    checked as ``alexnet`` checks them; nothing is allocated, so any width is cheap."""
    _check(
        num_classes, input_size, width, groups, lrn, dropout, init, seed, dtype, lrn_k, pool_size
    )
    convs, fcs = _sizes(num_classes, input_size, width, groups, pool_size)
    return param_shapes_of(convs, fcs)


def _check(
    num_classes, input_size, width, groups, lrn, dropout, init, seed, dtype, lrn_k, pool_size
):
    """A ValueError naming the first bad argument of ``alexnet``."""
    choice("alexnet: init", init, INITS)
    choice("alexnet: groups", integer("alexnet: groups", groups, 1), (1, 2))
    multiplier("alexnet: width", width, FC_WIDTH)
    integer("alexnet: num_classes", num_classes, 1)
    input_side("alexnet: input_size", input_size, MIN_INPUT_SIZE)
    boolean("alexnet: lrn", lrn)
    fraction("alexnet: dropout", dropout)
    integer("alexnet: seed", seed, 0)
    float_dtype("alexnet: dtype", dtype)
    positive("alexnet: lrn_k", lrn_k)
    if integer("alexnet: pool_size", pool_size, 1) not in POOL_SIZES:
        raise ValueError(
            f"alexnet: pool_size must be 3 (overlapping 3x3 windows, stride 2, the paper's) or 2 "
            f"(non-overlapping 2x2, stride 2), got {pool_size!r}"
        )


def _sizes(num_classes, input_size, width, groups, pool_size) -> tuple[dict, dict]:
    """The size arguments of conv1..conv5 (``Conv2D``'s) and of fc6..fc8 (``Linear``'s), by
    name: the paper's channel counts and fc width scaled by ``width``, fc6's inputs from the
    side of pool5's output for an ``input_size`` input (pools of side ``pool_size``)."""
    convs, cin = {}, 3
    for name, (channels, kernel, stride, padding, split) in _CONVS.items():
        cout = _scaled(channels, width, groups)
        convs[name] = dict(
            in_channels=cin, out_channels=cout, kernel_size=kernel, stride=stride,
            padding=padding, groups=groups if split else 1,
        )  # fmt: skip
        cin = cout
    hidden = max(1, int(round(FC_WIDTH * width)))
    side = _feature_side(input_size, pool_size)
    fcs = {
        "fc6": dict(in_features=cin * side * side, out_features=hidden),
        "fc7": dict(in_features=hidden, out_features=hidden),
        "fc8": dict(in_features=hidden, out_features=num_classes),
    }
    return convs, fcs


def _scaled(channels: int, width: float, groups: int) -> int:
    """channels * width, rounded to a positive multiple of groups."""
    return max(groups, int(round(channels * width / groups)) * groups)


def _feature_side(size: int, pool_size: int) -> int:
    """Side of pool5's output for a ``size`` input: conv1 (11/4), then three pools of side
    ``pool_size``, stride 2."""
    side = out_size(size, 11, 4)
    for _ in range(3):  # pool1, pool2, pool5 (convs 2-5 keep the size)
        side = out_size(side, pool_size, 2)
    return side


def _initialise(model: Sequential, init: str, rng: np.random.Generator) -> None:
    """Draw conv1..fc8's weights (in that order) from ``rng`` and set their biases, by ``init``."""
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
