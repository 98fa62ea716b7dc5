"""Tests of ``tinynet.kernels.pool``."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from tinynet import kernels as K
from tinynet.kernels import maxpool_forward
from tinynet.reference import pool as reference_pool

from ..helpers.arrays import distinct
from ..helpers.kernels import DTYPES, close, out_hw, windows


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


def test_maxpool_without_argmax_gives_the_same_values():
    x = np.random.default_rng(1).permutation(2 * 3 * 9 * 11).reshape(2, 3, 9, 11).astype(np.float32)
    out, argmax = maxpool_forward(x, (3, 3), (2, 2), (1, 1), (5, 6))
    lean, none = maxpool_forward(x, (3, 3), (2, 2), (1, 1), (5, 6), keep_argmax=False)
    np.testing.assert_array_equal(out, lean)
    assert argmax.shape == out.shape and none is None
