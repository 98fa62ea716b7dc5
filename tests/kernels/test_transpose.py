"""Every Numba kernel against its plain NumPy reference, over random shapes (hypothesis)."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from tinynet import kernels as K

from ..helpers.kernels import DTYPES, close


@given(
    st.integers(1, 4),
    st.integers(1, 6),
    st.integers(1, 20),
    DTYPES,
    st.booleans(),
    st.integers(0, 2**31),
)
def test_row_transposes_match_reference(n, o, plane, dtype, relu, seed):
    """The fused bias + ReLU copies against the reshapes of tinynet.reference.conv."""
    rng = np.random.default_rng(seed)
    rows = rng.standard_normal((o, n * plane)).astype(dtype)
    bias = rng.standard_normal(o).astype(dtype)
    out = np.empty((n, o, plane), dtype=dtype)
    mask = np.empty((n, o, plane), dtype=bool) if relu else None
    K.rows_to_nchw(rows, bias, out, relu, mask)
    expected = rows.reshape(o, n, plane).transpose(1, 0, 2) + bias[None, :, None]
    close(out, np.maximum(expected, 0) if relu else expected, dtype)
    if relu:
        np.testing.assert_array_equal(mask, out > 0)
        unkept = np.empty_like(out)
        K.rows_to_nchw(rows, bias, unkept, relu=True)  # ReLU without keeping a mask
        np.testing.assert_array_equal(unkept, out)
    dy = rng.standard_normal((n, o, plane)).astype(dtype)
    back = np.empty((o, n * plane), dtype=dtype)
    db = np.zeros(o, dtype=dtype)
    K.nchw_to_rows(dy, back, db, mask=mask)
    masked = dy if mask is None else np.where(mask, dy, 0)
    close(back, masked.transpose(1, 0, 2).reshape(o, n * plane), dtype)
    close(db, masked.sum(axis=(0, 2)), dtype)
