"""The maths the Winograd checks compare against: the transform matrices of F(2, 3), F(4, 3) and
F(5, 3) (the engine's), direct correlation and one tile by the formula (float64)."""

from __future__ import annotations

import numpy as np

from tinynet.reference.winograd import matrices

NAMES_1D = ("d", "g", "BT", "G", "AT")
NAMES_CONV = ("x", "w", "pad", "BT", "G", "AT")


def transforms(m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(B^T, G, A^T) of F(m, 3) for m = 2, 4 or 5, as float64 arrays: tinynet's own
    (``tinynet.reference.winograd.MATRICES``, Lavin & Gray's points)."""
    return matrices(m, 3, np.float64)


def random_transforms(m: int, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random matrices of the shapes of F(m, 3)'s: they compute no correlation, only the formula."""
    a = m + 2
    return rng.standard_normal((a, a)), rng.standard_normal((a, 3)), rng.standard_normal((m, a))


def correlate(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Valid cross-correlation of a 1-D or 2-D ``x`` with ``w`` (the definition, as loops)."""
    if x.ndim == 1:
        return np.array([x[i : i + len(w)] @ w for i in range(len(x) - len(w) + 1)])
    kh, kw = w.shape
    oh, ow = x.shape[0] - kh + 1, x.shape[1] - kw + 1
    return np.array([[np.sum(x[i : i + kh, j : j + kw] * w) for j in range(ow)] for i in range(oh)])


def tile(d, g, bt, gm, at):
    """A^T [(G g G^T) * (B^T d B)] A for one alpha x alpha tile d and a 3x3 g."""
    return at @ ((gm @ g @ gm.T) * (bt @ d @ bt.T)) @ at.T
