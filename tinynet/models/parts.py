"""The pieces both AlexNet builders make their layers from, by name from their size tables."""

from __future__ import annotations

import numpy as np

from ..layers import Conv2D, Dropout, Linear, MaxPool2D


class Parts:
    """Makes a builder's layers: ``convs``/``fcs`` map a layer name to ``Conv2D``'s/``Linear``'s
    size arguments; weights draw from ``rng`` in the order the layers are made (``dtype``);
    each Dropout gets a generator of its own, seeded by ``(seed, i)``."""

    def __init__(self, convs: dict, fcs: dict, dtype, rng, dropout: float, seed: int) -> None:
        self.convs, self.fcs, self.dtype, self.rng = convs, fcs, dtype, rng
        self.dropout, self.seed = dropout, seed

    def conv(self, name: str, input_grad: bool = True) -> Conv2D:
        """``input_grad=False`` for the first layer: the image needs no gradient."""
        return Conv2D(**self.convs[name], dtype=self.dtype, rng=self.rng, input_grad=input_grad)

    def fc(self, name: str) -> Linear:
        return Linear(**self.fcs[name], dtype=self.dtype, rng=self.rng)

    @staticmethod
    def pool(kernel_size: int = 3) -> MaxPool2D:
        """Max pooling with stride 2: 3x3 windows overlap (the paper's, section 3.4), 2x2
        windows do not."""
        return MaxPool2D(kernel_size=kernel_size, stride=2)

    def drop(self, i: int) -> Dropout | None:
        """drop6/drop7; None (left out) when ``dropout`` is 0."""
        if self.dropout == 0:
            return None
        return Dropout(p=self.dropout, rng=np.random.default_rng([self.seed, i]))


def param_shapes_of(convs: dict, fcs: dict) -> dict[str, tuple[int, ...]]:
    """``{"conv1.weight": shape, ...}`` for the size tables, allocating nothing."""
    return {
        f"{name}.{key}": shape
        for layer, sizes in ((Conv2D, convs), (Linear, fcs))
        for name, arguments in sizes.items()
        for key, shape in layer.param_shapes(**arguments).items()
    }
