"""Every Numba kernel against its plain NumPy reference, over random shapes (hypothesis)."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from tinynet import kernels as K
from tinynet.reference import im2col as reference_im2col
from tinynet.reference import lrn as reference_lrn
from tinynet.reference import pool as reference_pool

from .conftest import distinct

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


@given(windows(max_pad_half=True), DTYPES, st.booleans())
def test_maxpool_matches_reference_without_ties(win, dtype, keep_argmax):
    shape, k, s, p, seed = win
    rng = np.random.default_rng(seed)
    x = distinct(rng, shape, dtype)
    hw = out_hw(shape, k, s, p)
    out, argmax = K.maxpool_forward(x, k, s, p, hw, keep_argmax)
    ref_out, ref_arg = reference_pool.maxpool_forward(x, k, s, p, hw, keep_argmax)
    assert out.dtype == ref_out.dtype == dtype
    np.testing.assert_array_equal(out, ref_out)  # a maximum is exact
    if not keep_argmax:
        assert argmax is None and ref_arg is None
        return
    assert argmax.dtype == ref_arg.dtype == np.int32
    np.testing.assert_array_equal(argmax, ref_arg)
    dy = rng.standard_normal(out.shape).astype(dtype)
    dx = K.maxpool_backward(dy, argmax, shape)
    ref_dx = reference_pool.maxpool_backward(dy, ref_arg, shape)
    assert dx.dtype == ref_dx.dtype == dtype
    close(dx, ref_dx, dtype)


@given(windows(max_pad_half=True), st.integers(0, 2**31))
def test_maxpool_ties_follow_the_same_rule_as_the_reference(win, seed):
    shape, k, s, p, _ = win
    x = np.random.default_rng(seed).integers(0, 3, shape).astype(np.float64)  # many ties
    hw = out_hw(shape, k, s, p)
    out, argmax = K.maxpool_forward(x, k, s, p, hw)
    ref_out, ref_arg = reference_pool.maxpool_forward(x, k, s, p, hw)
    np.testing.assert_array_equal(out, ref_out)
    np.testing.assert_array_equal(argmax, ref_arg)


def test_maxpool_tie_goes_to_the_first_maximum_in_row_major_order():
    x = np.array([[0.0, 5.0, 5.0], [5.0, 1.0, 5.0]]).reshape(1, 1, 2, 3)
    for pool in (K, reference_pool):
        out, argmax = pool.maxpool_forward(x, (2, 3), (1, 1), (0, 0), (1, 1))
        assert out[0, 0, 0, 0] == 5.0 and argmax[0, 0, 0, 0] == 1  # row 0, column 1


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
