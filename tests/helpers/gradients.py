"""Helpers shared by several test files.

Moved from tests/test_faults_engine.py, tests/test_gradients.py.
"""

import numpy as np

from tinynet import Sequential
from tinynet.layers import Conv2D, Dropout, Flatten, Linear, LocalResponseNorm, MaxPool2D, ReLU

F64 = np.float64


TOL = 1e-6


#: The algorithm a Conv2D runs these small inputs with, per backend.
CONV_ON = {"reference": "reference", "fast": "im2col"}


def assert_small(errors):
    assert errors, "nothing was checked"
    worst = max(errors.values())
    assert worst < TOL, errors


def small_network(rng):
    drop = Dropout(0.3)
    model = Sequential(
        [
            ("conv", Conv2D(4, 6, 3, padding=1, groups=2, dtype=F64, rng=rng)),
            ("relu", ReLU()),
            ("norm", LocalResponseNorm(3, alpha=0.5, beta=0.75, k=1.0)),
            ("pool", MaxPool2D(3, 2)),
            ("flat", Flatten()),
            ("fc", Linear(6 * 3 * 2, 5, dtype=F64, rng=rng)),
            ("drop", drop),
        ]
    )
    return model, (lambda: setattr(drop, "rng", np.random.default_rng(11)))
