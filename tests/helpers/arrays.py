"""Arrays for kernel and gradient tests (moved from tests/conftest.py)."""

import numpy as np


def distinct(rng, shape, dtype=np.float64):
    """Values that are all different (no ties in a max), spread out so float32 keeps them apart."""
    n = int(np.prod(shape))
    return (rng.permutation(n).reshape(shape) / n * 4 - 2).astype(dtype)
