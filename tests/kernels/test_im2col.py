"""Every Numba kernel against its plain NumPy reference, over random shapes (hypothesis)."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from tinynet import kernels as K
from tinynet.reference import im2col as reference_im2col

from ..helpers.kernels import DTYPES, close, out_hw, windows


@given(windows(), DTYPES)
def test_im2col_matches_reference(win, dtype):
    shape, k, s, p, seed = win
    x = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    cols = K.im2col(x, k, s, p)
    assert cols.dtype == dtype
    close(cols, reference_im2col.im2col(x, k, s, p), dtype)


@given(
    st.integers(1, 11), st.integers(1, 5), st.integers(0, 5), st.integers(1, 3), DTYPES,
    st.integers(0, 2**31),
)  # fmt: skip
def test_im2col_with_wide_kernels_and_strides_matches_reference(kw, sw, pw, sh, dtype, seed):
    """The column-phase kernel (stride > 1: AlexNet's conv1 is 11x11 stride 4) on paddings
    larger than the stride and widths that leave a phase empty."""
    rng = np.random.default_rng(seed)
    w = int(rng.integers(max(1, kw - 2 * pw), 2 * kw + 3))
    x = rng.standard_normal((2, 3, 7, w)).astype(dtype)
    k, s, p = (3, kw), (sh, sw), (1, pw)
    close(K.im2col(x, k, s, p), reference_im2col.im2col(x, k, s, p), dtype)


@given(windows(), DTYPES)
def test_col2im_matches_reference(win, dtype):
    shape, k, s, p, seed = win
    oh, ow = out_hw(shape, k, s, p)
    rng = np.random.default_rng(seed)
    cols = rng.standard_normal((shape[1] * k[0] * k[1], shape[0] * oh * ow)).astype(dtype)
    dx = K.col2im(cols, shape, k, s, p)
    assert dx.dtype == dtype
    close(dx, reference_im2col.col2im(cols, shape, k, s, p), dtype)


@given(windows(), DTYPES)
def test_col2im_is_the_adjoint_of_im2col(win, dtype):
    """<im2col(x), c> == <x, col2im(c)>: the defining property of a correct backward."""
    shape, k, s, p, seed = win
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    oh, ow = out_hw(shape, k, s, p)
    c = rng.standard_normal((shape[1] * k[0] * k[1], shape[0] * oh * ow))
    lhs = np.sum(K.im2col(x, k, s, p) * c)
    rhs = np.sum(x * K.col2im(c, shape, k, s, p))
    assert abs(lhs - rhs) <= 1e-9 * max(1.0, abs(lhs))
