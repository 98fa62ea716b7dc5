"""How ``Conv2D`` computes: its algorithms, one contract, and the rule that picks one.

Every algorithm is an object made for one layer's geometry (a ``ConvSpec``) that keeps:

    prepare(weight)                                   the weights as it computes with them
    forward(x, weight, bias, out, relu=False, mask=None)
                                                      writes y into ``out`` (N, K, OH, OW) and
                                                      returns it; with ``relu`` y is
                                                      max(conv + bias, 0) and a given ``mask``
                                                      (bool, y's shape) receives y > 0
    backward(x, dy, weight, dweight, dbias, dx=None, mask=None)
                                                      fills dweight, dbias and dx (unless None)
                                                      from dL/dy, zeroed where ``mask`` is False

The algorithms:

* ``ReferenceConv`` (``tinynet/reference/conv.py``): im2col + GEMM + col2im in plain NumPy, the
  specification; the ``"reference"`` backend runs it whatever ``Conv2D(algorithm=...)`` says.
* ``Im2col`` (``im2col.py``): the same method with Numba's im2col and col2im, one GEMM per chunk
  of images in reused scratch arrays, bias and ReLU fused into the copy back to NCHW.
* ``Winograd`` (``winograd.py``): minimal filtering F(m x m, r x r) for stride-1 3x3 and 5x5
  kernels, fewer multiplications per output; it keeps its filter transform between calls.

``Conv2D`` asks ``choose`` once per input shape and keeps the object it gets, so forward and
backward of a step run the same algorithm. The thresholds of the ``"auto"`` rule and the tile
sizes were measured: docs/performance.md, "How Conv2D chooses its algorithm".
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ...reference.conv import ReferenceConv
from .im2col import Im2col
from .winograd import Winograd


class ConvSpec(NamedTuple):
    """What an algorithm needs to know of its layer; (h, w) pairs for kernel, stride, padding."""

    in_channels: int
    out_channels: int
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    groups: int
    dtype: np.dtype
    chunk_bytes: int  # the most bytes of scratch a chunk of images may take


#: Output tile sides m of F(m x m, r x r) by filter side r. ``tile_side`` takes the one with the
#: fewest transformed elements for the output (the smaller m on a tie: smaller float32 error).
TILES = {3: (2, 4, 5), 5: (2, 3)}
#: ``"auto"`` takes Winograd for outputs of at least AUTO_MIN_SIDE on each side (smaller maps
#: waste most of a tile) with at least AUTO_MIN_PIXELS output pixels over the batch (below it,
#: the filter transform paid on each call costs more than the GEMMs save) ...
AUTO_MIN_SIDE = 4
AUTO_MIN_PIXELS = 1024
#: ... and, for 5x5 kernels, at least this many input channels per group (the transforms cost
#: the same whatever the groups; the GEMM saving shrinks with the channels per group).
AUTO_5X5_MIN_GROUP_CHANNELS = 48


def applies(kernel, stride) -> bool:
    """Whether Winograd computes this geometry: a 3x3 or 5x5 kernel with stride 1."""
    return tuple(kernel) in ((3, 3), (5, 5)) and tuple(stride) == (1, 1)


def geometry_error(layer_name: str, kernel, stride) -> str:
    """The ValueError message for ``algorithm='winograd'`` on a geometry it cannot compute."""
    (kh, kw), (sh, sw) = kernel, stride
    got_stride = sh if sh == sw else (sh, sw)
    return (
        f"{layer_name}: algorithm='winograd' needs a 3x3 or 5x5 kernel with stride 1, "
        f"got {kh}x{kw} stride {got_stride}"
    )


def auto_chooses(kernel, stride, n: int, oh: int, ow: int, group_channels: int) -> bool:
    """The ``"auto"`` rule for n images, an (oh, ow) output and ``group_channels`` input
    channels per group: Winograd when it applies, the output is big enough and (5x5 only) the
    groups wide enough; see the constants above."""
    big_enough = min(oh, ow) >= AUTO_MIN_SIDE and n * oh * ow >= AUTO_MIN_PIXELS
    wide = tuple(kernel) != (5, 5) or group_channels >= AUTO_5X5_MIN_GROUP_CHANNELS
    return applies(kernel, stride) and big_enough and wide


def tile_side(r: int, oh: int, ow: int) -> int:
    """The output tile side m from TILES[r] with the fewest transformed elements (tiles times
    alpha^2) for an (oh, ow) output, the smaller m on a tie."""

    def elements(m):
        return -(-oh // m) * -(-ow // m) * (m + r - 1) ** 2

    return min(TILES[r], key=lambda m: (elements(m), m))


def choose(spec: ConvSpec, algorithm: str, n: int, oh: int, ow: int) -> tuple:
    """The fast backend's algorithm for n images with an (oh, ow) output: ``("im2col",)`` or
    ``("winograd", m)``; ``algorithm`` is Conv2D's ("auto", "im2col" or "winograd")."""
    if algorithm == "auto":
        group_channels = spec.in_channels // spec.groups
        winograd = auto_chooses(spec.kernel, spec.stride, n, oh, ow, group_channels)
    else:
        winograd = algorithm == "winograd"
    if not winograd:
        return ("im2col",)
    return ("winograd", tile_side(spec.kernel[0], oh, ow))


def build(kind: tuple, spec: ConvSpec):
    """The algorithm object for a ``choose`` result, or ``("reference",)``."""
    if kind[0] == "reference":
        return ReferenceConv(spec.stride, spec.padding, spec.groups)
    if kind[0] == "im2col":
        return Im2col(spec)
    return Winograd(spec, m=kind[1])
