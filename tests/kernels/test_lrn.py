"""Every Numba kernel against its plain NumPy reference, over random shapes (hypothesis)."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from tinynet import kernels as K
from tinynet.reference import lrn as reference_lrn

from ..helpers.kernels import DTYPES, close


@given(
    st.integers(1, 3),
    st.integers(1, 9),
    st.integers(1, 6),
    st.integers(1, 6),
    st.integers(1, 7),
    st.floats(1e-4, 2.0),
    st.sampled_from([0.75, 0.5, 1.3]),
    st.floats(0.5, 3.0),
    DTYPES,
    st.integers(0, 2**31),
)
def test_lrn_matches_reference(n, c, h, w, size, alpha, beta, k, dtype, seed):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((n, c, h, w)) * 2).astype(dtype)
    out, scale = K.lrn_forward(x, size, alpha, beta, k)
    ref_out, ref_scale = reference_lrn.lrn_forward(x, size, alpha, beta, k)
    assert out.dtype == scale.dtype == ref_out.dtype == ref_scale.dtype == dtype
    close(out, ref_out, dtype)
    close(scale, ref_scale, dtype)
    dy = rng.standard_normal(x.shape).astype(dtype)
    dx = K.lrn_backward(x, dy, scale, size, alpha, beta)
    ref_dx = reference_lrn.lrn_backward(x, dy, ref_scale, size, alpha, beta)
    assert dx.dtype == ref_dx.dtype == dtype
    close(dx, ref_dx, dtype)
