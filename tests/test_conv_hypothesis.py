"""Conv2D (im2col + GEMM, chunked, grouped) against direct loops over random geometries."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from tinynet.layers import Conv2D
from tinynet.reference.conv import conv2d, conv2d_backward

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
