"""Tests of ``tinynet.layers.conv``."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinynet
from tinynet.backends import BACKENDS
from tinynet.gradcheck import check_layer
from tinynet.layers import Conv2D
from tinynet.reference.conv import conv2d, conv2d_backward

from ..helpers.gradients import CONV_ON, F64, assert_small


@pytest.mark.torch
def test_conv_matches_torch(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 4, 9, 7))
    conv = Conv2D(4, 6, (3, 2), stride=(2, 1), padding=(1, 1), groups=2, dtype=np.float64, rng=rng)
    tconv = torch.nn.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 1), groups=2).double()
    with torch.no_grad():
        tconv.weight.copy_(torch.tensor(conv.params["weight"]))
        tconv.bias.copy_(torch.tensor(conv.params["bias"]))
    np.testing.assert_allclose(conv.forward(x), tconv(torch.tensor(x)).detach().numpy(), atol=1e-12)


TOL = {np.float32: 1e-4, np.float64: 1e-10}


@st.composite
def geometries(draw):
    groups = draw(st.integers(1, 3))
    cin, cout = groups * draw(st.integers(1, 3)), groups * draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    h = draw(st.integers(max(1, kh - 2 * ph), 9))
    w = draw(st.integers(max(1, kw - 2 * pw), 9))
    n = draw(st.integers(1, 3))
    chunk = draw(st.sampled_from([1, 2**26]))  # one image per chunk, or all
    return dict(
        n=n,
        cin=cin,
        cout=cout,
        k=(kh, kw),
        s=(sh, sw),
        p=(ph, pw),
        g=groups,
        hw=(h, w),
        chunk=chunk,
    )


def rel(a, b):
    return np.abs(a - b).max() / max(1.0, np.abs(b).max())


@given(geometries(), st.sampled_from([np.float32, np.float64]), st.integers(0, 2**31))
def test_conv_forward_and_backward_match_direct_loops(geo, dtype, seed):
    rng = np.random.default_rng(seed)
    conv = Conv2D(
        geo["cin"],
        geo["cout"],
        geo["k"],
        geo["s"],
        geo["p"],
        geo["g"],
        dtype=dtype,
        rng=rng,
        chunk_bytes=geo["chunk"],
    )
    x = rng.standard_normal((geo["n"], geo["cin"], *geo["hw"])).astype(dtype)
    w = conv.params["weight"].astype(np.float64)
    b = conv.params["bias"].astype(np.float64)
    y = conv.forward(x)
    expected = conv2d(x.astype(np.float64), w, b, geo["s"], geo["p"], geo["g"])
    assert y.dtype == dtype and y.shape == expected.shape
    assert rel(y, expected) < TOL[dtype]
    dy = rng.standard_normal(y.shape).astype(dtype)
    dx = conv.backward(dy)
    rdx, rdw, rdb = conv2d_backward(
        x.astype(np.float64), w, dy.astype(np.float64), geo["s"], geo["p"], geo["g"]
    )
    assert rel(dx, rdx) < TOL[dtype]
    assert rel(conv.grads["weight"], rdw) < TOL[dtype]
    assert rel(conv.grads["bias"], rdb) < TOL[dtype]


def test_one_channel_convolution_by_hand():
    x = np.arange(16, dtype=np.float64).reshape(1, 1, 4, 4)
    conv = Conv2D(1, 1, 2, stride=2, dtype=np.float64)
    conv.params["weight"][...] = [[[[1, 0], [0, -1]]]]
    conv.params["bias"][...] = 0.5
    y = conv.forward(x)
    # each output is x[i, j] - x[i+1, j+1] + 0.5 = -5 + 0.5
    np.testing.assert_array_equal(y, np.full((1, 1, 2, 2), -4.5))
    dx = conv.backward(np.ones((1, 1, 2, 2)))
    np.testing.assert_array_equal(dx[0, 0], [[1, 0, 1, 0], [0, -1, 0, -1]] * 2)
    # dL/dw[i, j] = sum of the inputs under tap (i, j) = 0+2+8+10, 1+3+9+11, ...
    np.testing.assert_array_equal(conv.grads["weight"][0, 0], [[20, 24], [36, 40]])
    np.testing.assert_array_equal(conv.grads["bias"], [4])


def test_convolution_with_padding_by_hand():
    x = np.ones((1, 1, 2, 2))
    conv = Conv2D(1, 1, 3, padding=1, dtype=np.float64)
    conv.params["weight"][...] = 1
    conv.params["bias"][...] = 0
    np.testing.assert_array_equal(conv.forward(x)[0, 0], [[4, 4], [4, 4]])


def test_conv_matches_direct_loops_with_groups(rng):
    x = rng.standard_normal((2, 6, 7, 5))
    conv = Conv2D(6, 4, (3, 2), stride=(2, 1), padding=(1, 1), groups=2, dtype=np.float64, rng=rng)
    expected = conv2d(x, conv.params["weight"], conv.params["bias"], (2, 1), (1, 1), 2)
    np.testing.assert_allclose(conv.forward(x), expected, rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------------- window geometry
def test_numpy_integers_are_window_sizes():
    conv = Conv2D(1, 2, (np.int64(3), np.int32(2)), stride=np.uint8(2), padding=(0, np.int16(1)))
    assert (conv.kernel_size, conv.stride, conv.padding) == ((3, 2), (2, 2), (0, 1))
    assert all(type(v) is int for v in (*conv.kernel_size, *conv.stride, *conv.padding))


CONV_CASES = [
    dict(cin=3, cout=4, k=3, s=1, p=0, g=1, hw=(6, 5)),
    dict(cin=4, cout=6, k=(3, 2), s=(2, 1), p=(1, 0), g=2, hw=(7, 6)),
    dict(cin=6, cout=3, k=2, s=3, p=1, g=3, hw=(5, 8)),
    dict(cin=2, cout=2, k=1, s=1, p=0, g=1, hw=(3, 3)),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("cfg", CONV_CASES)
def test_conv2d(cfg, backend, rng):
    conv = Conv2D(
        cfg["cin"], cfg["cout"], cfg["k"], cfg["s"], cfg["p"], cfg["g"], dtype=F64, rng=rng
    )
    x = rng.standard_normal((2, cfg["cin"], *cfg["hw"]))
    with tinynet.backend(backend):
        assert conv.algorithm_for(x.shape).name == CONV_ON[backend]
        assert_small(check_layer(conv, x))


def test_conv2d_in_chunks_matches_whole_batch(rng):
    x = rng.standard_normal((5, 4, 6, 6))
    whole = Conv2D(4, 6, 3, padding=1, groups=2, dtype=F64, rng=np.random.default_rng(0))
    chunked = Conv2D(
        4, 6, 3, padding=1, groups=2, dtype=F64, rng=np.random.default_rng(0), chunk_bytes=1
    )  # one image per chunk
    dy = rng.standard_normal((5, 6, 6, 6))
    np.testing.assert_allclose(whole.forward(x), chunked.forward(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(whole.backward(dy), chunked.backward(dy), rtol=1e-12, atol=1e-12)
    for name in ("weight", "bias"):
        np.testing.assert_allclose(whole.grads[name], chunked.grads[name], rtol=1e-12, atol=1e-12)
    assert_small(check_layer(chunked, x, max_checks=40))


def test_conv_wrong_ndim():
    with pytest.raises(ValueError, match=r"Conv2D.*4-d.*\(3, 8, 8\)"):
        Conv2D(3, 4, 3).forward(np.zeros((3, 8, 8), np.float32))


def test_conv_wrong_channel_count():
    with pytest.raises(ValueError, match=r"Conv2D\(3, 4.*3 channels.*\(2, 5, 8, 8\)"):
        Conv2D(3, 4, 3).forward(np.zeros((2, 5, 8, 8), np.float32))


@pytest.mark.parametrize("cin,cout,groups", [(6, 4, 4), (4, 6, 4), (5, 4, 2)])
def test_conv_channels_not_divisible_by_groups(cin, cout, groups):
    with pytest.raises(ValueError, match=rf"Conv2D.*divisible by groups \({groups}\)"):
        Conv2D(cin, cout, 3, groups=groups)


def test_conv_kernel_larger_than_padded_input():
    with pytest.raises(ValueError, match=r"Conv2D.*kernel 5x5 is larger than the padded input 4x6"):
        Conv2D(1, 1, 5, padding=(1, 0)).forward(np.zeros((1, 1, 2, 6), np.float32))


@pytest.mark.parametrize("stride", [0, -1, (1, 0)])
def test_non_positive_stride(stride):
    with pytest.raises(ValueError, match="Conv2D.*stride must be positive"):
        Conv2D(1, 1, 3, stride=stride)


def test_bad_kernel_and_padding():
    with pytest.raises(ValueError, match="kernel_size must be positive"):
        Conv2D(1, 1, 0)
    with pytest.raises(ValueError, match="padding must be non-negative"):
        Conv2D(1, 1, 3, padding=-1)
    with pytest.raises(ValueError, match="kernel_size must be an int or an"):
        Conv2D(1, 1, "3")
