"""Every Numba kernel against its plain NumPy reference, over random shapes (hypothesis)."""

import numpy as np
from hypothesis import strategies as st

DTYPES = st.sampled_from([np.float32, np.float64])
TOL = {np.float32: 1e-4, np.float64: 1e-10}


def close(actual, expected, dtype):
    """Relative agreement max|a-b| / max(1, max|b|) within the dtype's tolerance."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape
    scale = max(1.0, float(np.abs(expected).max(initial=0)))
    err = float(np.abs(actual - expected).max(initial=0)) / scale
    assert err <= TOL[dtype], err


@st.composite
def windows(draw, max_pad_half=False):
    """A batch shape plus kernel/stride/padding that fit it (non-square allowed everywhere)."""
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    if max_pad_half:
        ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
    else:
        ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    h = draw(st.integers(max(1, kh - 2 * ph), 11))
    w = draw(st.integers(max(1, kw - 2 * pw), 11))
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 5))
    seed = draw(st.integers(0, 2**31))
    return (n, c, h, w), (kh, kw), (sh, sw), (ph, pw), seed


def out_hw(shape, k, s, p):
    return tuple((shape[2 + i] + 2 * p[i] - k[i]) // s[i] + 1 for i in range(2))
