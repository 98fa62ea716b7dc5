"""AlexNet (Krizhevsky, Sutskever & Hinton, 2012) as a Sequential of named tinynet layers.

The default geometry is the paper's two-GPU network expressed with groups=2 (conv2, conv4 and
conv5 see half the channels each): 60,965,224 parameters, logits (N, 1000) for (N, 3, 227, 227).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ..layers import Conv2D, Dropout, Flatten, Linear, LocalResponseNorm, MaxPool2D, ReLU
from ..layers.fusion import fuse_conv_relu
from ..sequential import Sequential
from ..validate import choice, fraction, integer, out_size, positive

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


class LayerSpec(NamedTuple):
    """One planned layer: ``cls(**kwargs)`` named ``name``, whose parameters get ``shapes``.

    The builder adds ``dtype`` and the shared generator to layers with parameters; ``seed``
    (a Dropout's) seeds a generator of the layer's own, None for the others.
    """

    name: str
    cls: type
    kwargs: dict
    shapes: dict[str, tuple[int, ...]]
    seed: tuple[int, int] | None = None


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
    lrn_k=2.0,
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
    - ``dtype``: a floating point dtype for the parameters.
    - ``lrn_k``: the norm layers' k (the paper's 2; Caffe's LRN, and so bvlc_alexnet, uses 1).

    ``plan`` checks the arguments and lays the layers out first, without allocating anything.
    """
    specs = plan(num_classes, input_size, width, groups, lrn, dropout, init, seed, dtype, lrn_k)
    dtype = np.dtype(dtype)
    config = dict(
        builder="alexnet", num_classes=int(num_classes), input_size=int(input_size),
        width=float(width), groups=int(groups), lrn=bool(lrn), dropout=float(dropout), init=init,
        seed=int(seed), dtype=dtype.name, lrn_k=float(lrn_k),
    )  # fmt: skip
    rng = np.random.default_rng(seed)
    model = _build(specs, dtype, rng)
    fuse_conv_relu(model)  # relu1-5 run inside conv1-5 (same results, faster)
    _initialise(model, init, rng)
    model.config = config
    return model


def plan(
    num_classes, input_size, width, groups, lrn, dropout, init, seed, dtype, lrn_k
) -> list[LayerSpec]:
    """The ``LayerSpec`` of every layer ``alexnet`` builds with these arguments (all required,
    in ``alexnet``'s order), in order. Checks every argument as ``alexnet`` does (a ValueError
    naming it) and computes the parameter shapes, allocating nothing: cheap for any width."""
    _check(num_classes, input_size, width, groups, lrn, dropout, init, seed, dtype)
    lrn_k = positive("alexnet: lrn_k", lrn_k)
    channels = [_scaled(c, width, groups) for c in CONV_CHANNELS]
    side = _feature_side(input_size)
    hidden = max(1, int(round(FC_WIDTH * width)))
    fin = channels[-1] * side * side
    features = _features(channels, groups, lrn, lrn_k)
    return features + _classifier(fin, hidden, num_classes, dropout, seed)


def _check(num_classes, input_size, width, groups, lrn, dropout, init, seed, dtype) -> None:
    choice("alexnet: init", init, INITS)
    choice("alexnet: groups", integer("alexnet: groups", groups, 1), (1, 2))
    if not math.isfinite(positive("alexnet: width", width) * FC_WIDTH):
        raise ValueError(f"alexnet: width {width!r} is too large")
    integer("alexnet: num_classes", num_classes, 1)
    if integer("alexnet: input_size", input_size, 1) < MIN_INPUT_SIZE:
        raise ValueError(
            f"alexnet: input_size {input_size} is too small; the minimum is "
            f"{MIN_INPUT_SIZE} (every stage must stay at least 1x1)"
        )
    if not isinstance(lrn, (bool, np.bool_)):
        raise ValueError(f"alexnet: lrn must be True or False, got {lrn!r}")
    fraction("alexnet: dropout", dropout)
    integer("alexnet: seed", seed, 0)
    try:
        kind = np.dtype(dtype).kind
    except TypeError:
        kind = None
    if kind != "f":
        raise ValueError(f"alexnet: dtype must be a floating point type, got {dtype!r}")


def _spec(name, cls, seed=None, **kwargs) -> LayerSpec:
    shapes = cls.param_shapes(**kwargs) if hasattr(cls, "param_shapes") else {}
    return LayerSpec(name, cls, kwargs, shapes, seed)


def _features(channels, groups, lrn, lrn_k) -> list:
    """conv1 ... pool5; norm layers only with ``lrn``."""
    specs, cin = [], 3
    for (name, k, s, p, grouped), cout in zip(_CONVS, channels):
        i = name[-1]
        conv = _spec(
            name, Conv2D, in_channels=cin, out_channels=cout, kernel_size=k, stride=s, padding=p,
            groups=groups if grouped else 1, input_grad=(name != "conv1"),
        )  # fmt: skip
        specs += [conv, _spec(f"relu{i}", ReLU)]
        if lrn and name in ("conv1", "conv2"):
            norm = _spec(f"norm{i}", LocalResponseNorm, size=5, alpha=1e-4, beta=0.75, k=lrn_k)
            specs.append(norm)
        if name in ("conv1", "conv2", "conv5"):
            specs.append(_spec(f"pool{i}", MaxPool2D, kernel_size=3, stride=2))
        cin = cout
    return specs


def _classifier(fin, hidden, num_classes, dropout, seed) -> list:
    """flatten fc6 relu6 drop6 fc7 relu7 drop7 fc8 (drop layers only when ``dropout > 0``)."""
    specs = [_spec("flatten", Flatten)]
    for i in (6, 7):
        specs += [
            _spec(f"fc{i}", Linear, in_features=fin, out_features=hidden),
            _spec(f"relu{i}", ReLU),
        ]
        if dropout > 0:
            specs.append(_spec(f"drop{i}", Dropout, seed=(seed, i), p=dropout))
        fin = hidden
    return specs + [_spec("fc8", Linear, in_features=fin, out_features=num_classes)]


def _build(specs, dtype, rng) -> Sequential:
    """The layers of ``specs``, made in order (the order in which they draw from ``rng``)."""
    layers = []
    for spec in specs:
        extra = {}
        if spec.shapes:
            extra = {"dtype": dtype, "rng": rng}
        elif spec.seed is not None:
            extra = {"rng": np.random.default_rng(list(spec.seed))}
        layers.append((spec.name, spec.cls(**spec.kwargs, **extra)))
    return Sequential(layers)


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
