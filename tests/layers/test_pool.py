"""Tests of ``tinynet.layers.pool``."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinynet
from tinynet.backends import BACKENDS
from tinynet.gradcheck import check_layer
from tinynet.layers import MaxPool2D

from ..helpers.arrays import distinct
from ..helpers.backends import assert_agree, run
from ..helpers.gradients import assert_small

POOL_CASES = [
    (3, 2, 0, (7, 9)),
    (2, 2, 0, (4, 6)),
    (3, 1, 1, (5, 4)),
    ((3, 2), (2, 1), (1, 0), (6, 5)),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kernel,stride,padding,hw", POOL_CASES)
def test_maxpool_gradient(backend, kernel, stride, padding, hw, rng):
    x = distinct(rng, (2, 3, *hw))  # no ties: a finite difference cannot cross a tie
    with tinynet.backend(backend):
        errors = check_layer(MaxPool2D(kernel, stride, padding), x)
    assert errors and max(errors.values()) < 1e-6, errors


# ------------------------------------------------------------------- both backends, same results
@st.composite
def pool_setups(draw):
    """A MaxPool2D (non-square, padded, strided, overlapping allowed) and an input that fits."""
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
    h = draw(st.integers(max(1, kh - 2 * ph), 9))
    w = draw(st.integers(max(1, kw - 2 * pw), 9))
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 4)), h, w)
    return MaxPool2D((kh, kw), (sh, sw), (ph, pw)), shape


@given(pool_setups(), st.sampled_from([np.float32, np.float64]), st.integers(0, 2**31))
def test_maxpool_backends_agree(setup, dtype, seed):
    pool, shape = setup
    rng = np.random.default_rng(seed)
    x = distinct(rng, shape, dtype)
    dy = rng.standard_normal(pool.output_shape(shape)).astype(dtype)
    y_ref, dx_ref = run(pool, x, dy, "reference")
    y_fast, dx_fast = run(pool, x, dy, "fast")
    assert y_ref.dtype == dx_ref.dtype == dtype
    np.testing.assert_array_equal(y_fast, y_ref)  # a maximum is exact
    assert_agree(dx_fast, dx_ref)


def test_overlapping_maxpool_4x4_by_hand():
    x = np.array(
        [[1, 5, 2, 0], [3, 4, 9, 1], [8, 6, 7, 2], [0, 1, 3, 4]], dtype=np.float32
    ).reshape(1, 1, 4, 4)
    pool = MaxPool2D(3, stride=1)  # windows overlap: 2x2 outputs
    np.testing.assert_array_equal(pool.forward(x)[0, 0], [[9, 9], [9, 9]])
    dx = pool.backward(np.array([[1, 2], [3, 4]], dtype=np.float32).reshape(1, 1, 2, 2))
    expected = np.zeros((4, 4), dtype=np.float32)
    expected[1, 2] = 1 + 2 + 3 + 4  # the shared maximum collects every gradient
    np.testing.assert_array_equal(dx[0, 0], expected)


def test_overlapping_maxpool_stride_2_by_hand():
    x = np.arange(25, dtype=np.float64).reshape(1, 1, 5, 5)[:, :, ::-1].copy()
    # rows reversed: row 0 is 20..24, row 4 is 0..4; windows 3x3 at rows/cols 0 and 2
    pool = MaxPool2D(3, 2)
    np.testing.assert_array_equal(pool.forward(x)[0, 0], [[22, 24], [12, 14]])
    dx = pool.backward(np.ones((1, 1, 2, 2)))
    expected = np.zeros((5, 5))
    expected[0, 2] = expected[0, 4] = expected[2, 2] = expected[2, 4] = 1
    np.testing.assert_array_equal(dx[0, 0], expected)


def test_maxpool_tie_goes_to_first_in_row_major_order():
    x = np.array([[2, 1], [2, 2]], dtype=np.float32).reshape(1, 1, 2, 2)
    pool = MaxPool2D(2)
    pool.forward(x)
    dx = pool.backward(np.ones((1, 1, 1, 1), dtype=np.float32))
    np.testing.assert_array_equal(dx[0, 0], [[1, 0], [0, 0]])


@pytest.mark.parametrize(
    "k,s,p,hw",
    [(3, 2, 0, (7, 9)), (2, 2, 0, (4, 6)), (3, 1, 1, (5, 4)), ((3, 2), (2, 1), (1, 0), (6, 5))],
)
def test_maxpool(k, s, p, hw, rng):
    x = distinct(rng, (2, 3, *hw))
    assert_small(check_layer(MaxPool2D(k, s, p), x))


def test_pool_kernel_larger_than_input():
    with pytest.raises(ValueError, match=r"MaxPool2D.*kernel 3x3 is larger.*\(1, 2, 2, 5\)"):
        MaxPool2D(3, 2).forward(np.zeros((1, 2, 2, 5), np.float32))


def test_pool_wrong_ndim():
    with pytest.raises(ValueError, match="MaxPool2D.*4-d"):
        MaxPool2D(2).forward(np.zeros((4, 4)))


@pytest.mark.torch
def test_pool_matches_torch(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 4, 9, 7))
    pool = MaxPool2D(3, 2, 1)
    np.testing.assert_array_equal(
        pool.forward(x), torch.nn.functional.max_pool2d(torch.tensor(x), 3, 2, 1).numpy()
    )


@pytest.mark.parametrize("stride", [0, -1, (1, 0)])
def test_non_positive_stride(stride):
    with pytest.raises(ValueError, match="MaxPool2D.*stride must be positive"):
        MaxPool2D(3, stride=stride)


def test_bad_kernel_and_padding():
    with pytest.raises(ValueError, match="MaxPool2D.*at most half the kernel"):
        MaxPool2D(3, padding=2)
