"""Winograd F(m x m, r x r) convolution (3x3 and 5x5): against the reference convolution, its
NumPy reference transforms and gradcheck."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinynet.gradcheck import check_layer
from tinynet.layers import Conv2D, conv_algorithms
from tinynet.reference.conv import conv2d, conv2d_backward

from ...helpers.winograd import TILES

TOL = {np.float32: 1e-4, np.float64: 1e-10}


def rel(a, b):
    return np.abs(a - b).max() / max(1.0, np.abs(b).max())


@st.composite
def geometries(draw):
    groups, r = draw(st.integers(1, 3)), draw(st.sampled_from([3, 5]))
    cin, cout = groups * draw(st.integers(1, 3)), groups * draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    h, w = draw(st.integers(max(1, r - 2 * ph), 9)), draw(st.integers(max(1, r - 2 * pw), 9))
    return dict(
        n=draw(st.integers(1, 3)), cin=cin, cout=cout, g=groups, r=r, p=(ph, pw), hw=(h, w),
        chunk=draw(st.sampled_from([1, 2**26])), relu=draw(st.booleans()),
    )  # fmt: skip


@settings(max_examples=30)
@given(geometries(), st.sampled_from([np.float32, np.float64]), st.integers(0, 2**31))
def test_winograd_conv_matches_the_reference_convolution(geo, dtype, seed):
    rng = np.random.default_rng(seed)
    conv = Conv2D(
        geo["cin"], geo["cout"], geo["r"], 1, geo["p"], geo["g"], dtype=dtype, rng=rng,
        chunk_bytes=geo["chunk"], relu=geo["relu"], algorithm="winograd",
    )  # fmt: skip
    x = rng.standard_normal((geo["n"], geo["cin"], *geo["hw"])).astype(dtype)
    w, b = (conv.params[k].astype(np.float64) for k in ("weight", "bias"))
    y = conv.forward(x)
    expected = conv2d(x.astype(np.float64), w, b, (1, 1), geo["p"], geo["g"])
    if geo["relu"]:
        expected = np.maximum(expected, 0)
    assert y.dtype == dtype and y.shape == expected.shape
    assert rel(y, expected) < TOL[dtype]
    dy = rng.standard_normal(y.shape).astype(dtype)
    dx = conv.backward(dy)
    masked = np.where(y > 0, dy, 0) if geo["relu"] else dy
    rdx, rdw, rdb = conv2d_backward(
        x.astype(np.float64), w, masked.astype(np.float64), (1, 1), geo["p"], geo["g"]
    )
    assert dx.dtype == dtype
    assert rel(dx, rdx) < TOL[dtype]
    assert rel(conv.grads["weight"], rdw) < TOL[dtype]
    assert rel(conv.grads["bias"], rdb) < TOL[dtype]


@pytest.mark.parametrize("m,r", TILES)
def test_every_tile_size_through_the_layer(m, r, monkeypatch, rng):
    monkeypatch.setitem(conv_algorithms.TILES, r, (m,))
    p = (r // 2, r // 2)
    conv = Conv2D(4, 6, r, padding=p, groups=2, dtype=np.float64, rng=rng, chunk_bytes=1)
    conv.algorithm = "winograd"
    x = rng.standard_normal((3, 4, 7, 9))
    w, b = conv.params["weight"], conv.params["bias"]
    np.testing.assert_allclose(
        conv.forward(x), conv2d(x, w, b, (1, 1), p, 2), rtol=1e-12, atol=1e-12
    )
    dy = rng.standard_normal((3, 6, 7, 9))
    dx = conv.backward(dy)
    rdx, rdw, rdb = conv2d_backward(x, w, dy, (1, 1), p, 2)
    for got, want in ((dx, rdx), (conv.grads["weight"], rdw), (conv.grads["bias"], rdb)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("r,p", [(3, (1, 2)), (5, (2, 1))])
@pytest.mark.parametrize("relu", [False, True])
def test_gradcheck(r, p, relu, rng):
    conv = Conv2D(4, 6, r, padding=p, groups=2, dtype=np.float64, rng=rng, relu=relu)
    conv.algorithm = "winograd"
    x = rng.standard_normal((2, 4, 5, 6))
    errors = check_layer(conv, x, max_checks=60)
    assert errors and max(errors.values()) < 1e-6, errors


def test_bad_geometry_or_name_is_a_clear_error():
    msg = (
        r"Conv2D\(256, 384\): algorithm='winograd' needs a 3x3 or 5x5 kernel with stride 1, got 7x7"
    )
    with pytest.raises(ValueError, match=msg):
        Conv2D(256, 384, 7, padding=3, algorithm="winograd")
    with pytest.raises(ValueError, match="got 3x3 stride 2"):
        Conv2D(2, 2, 3, stride=2, algorithm="winograd")
    with pytest.raises(ValueError, match="got 5x5 stride 2"):
        Conv2D(2, 2, 5, stride=2, algorithm="winograd")
    with pytest.raises(ValueError, match="got 3x5 stride 1"):
        Conv2D(2, 2, (3, 5), algorithm="winograd")
    assert Conv2D(2, 2, 5, padding=2, algorithm="winograd").algorithm == "winograd"
    with pytest.raises(ValueError, match="algorithm must be one of"):
        Conv2D(2, 2, 3, algorithm="fft")
    assert "algorithm='winograd'" in repr(Conv2D(2, 2, 3, algorithm="winograd"))
    assert "algorithm" not in repr(Conv2D(2, 2, 3))


@pytest.mark.parametrize("algorithm", ["im2col", "winograd"])
def test_no_grad_forward_keeps_nothing(algorithm, rng):
    conv = Conv2D(3, 4, 3, padding=1, relu=True, rng=rng, algorithm=algorithm)
    x = rng.standard_normal((2, 3, 9, 8)).astype(np.float32)
    trained = conv.forward(x)
    assert conv._x is not None and conv._mask is not None
    with conv.evaluating():  # eval mode and no_grad()
        np.testing.assert_array_equal(conv.forward(x), trained)
    assert conv._x is None and conv._mask is None
    with pytest.raises(RuntimeError, match="keeps nothing for backward"):
        conv.backward(np.ones_like(trained))
    conv.eval()  # eval alone still allows backward (PyTorch's meaning)
    conv.forward(x)
    assert conv.backward(np.ones_like(trained)).shape == x.shape
    assert conv._x is None and conv._mask is None  # released by backward


def test_the_kept_filter_transform_follows_the_weights():
    """U = G w G^T is reused while the weights are unchanged, recomputed when they change."""
    rng = np.random.default_rng(5)
    layer = Conv2D(4, 6, 3, padding=1, dtype=np.float64, rng=rng, algorithm="winograd")
    x = rng.standard_normal((2, 4, 9, 7))
    first = layer.forward(x)
    np.testing.assert_array_equal(layer.forward(x), first)  # reused: the same numbers
    layer.params["weight"][0, 0, 1, 1] += 1.0  # changed in place, as SGD does
    fresh = Conv2D(4, 6, 3, padding=1, dtype=np.float64, algorithm="im2col")
    fresh.load_state_dict(layer.state_dict())
    np.testing.assert_allclose(layer.forward(x), fresh.forward(x), rtol=1e-10, atol=1e-12)
