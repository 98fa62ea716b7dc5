"""MaxPool2D, LocalResponseNorm and SGD on both backends: correct gradients, the same results,
and a backward that runs the code its forward ran."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinynet
from tinynet.backends import BACKENDS, get_backend
from tinynet.gradcheck import check_layer
from tinynet.kernels import lrn as fast_lrn
from tinynet.kernels import pool as fast_pool
from tinynet.layers import LocalResponseNorm, MaxPool2D
from tinynet.optim import SGD
from tinynet.optim import sgd as sgd_module
from tinynet.reference import lrn as reference_lrn
from tinynet.reference import pool as reference_pool

from .conftest import distinct

LRN_CASES = [(5, 1e-4, 0.75, 2.0), (5, 0.5, 0.75, 1.0), (4, 0.3, 0.6, 1.5), (3, 2.0, 1.2, 1.0)]
POOL_CASES = [
    (3, 2, 0, (7, 9)),
    (2, 2, 0, (4, 6)),
    (3, 1, 1, (5, 4)),
    ((3, 2), (2, 1), (1, 0), (6, 5)),
]
#: The module each backend runs, per layer, and the name of the layer's backward function there.
CODE = {
    "pool": {"reference": reference_pool, "fast": fast_pool},
    "lrn": {"reference": reference_lrn, "fast": fast_lrn},
}
BACKWARD = {"pool": "maxpool_backward", "lrn": "lrn_backward"}


def run(layer, x, dy, backend):
    """(y, dx) of one forward and backward of ``layer`` on ``backend``."""
    with tinynet.backend(backend):
        y = layer.forward(x)
        return y, layer.backward(dy)


def assert_agree(actual, expected):
    """Equal up to the rounding of their dtype (128 ulps: float64 ~3e-14, float32 ~2e-5) relative
    to each value and to the largest one (LRN's backward subtracts nearly equal terms)."""
    assert actual.dtype == expected.dtype
    tol = 128 * np.finfo(expected.dtype).eps
    scale = max(1.0, float(np.abs(expected).max(initial=0)))
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol * scale)


# ------------------------------------------------------------------------------- gradient checks
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("size,alpha,beta,k", LRN_CASES)
def test_lrn_gradient(backend, size, alpha, beta, k, rng):
    x = rng.standard_normal((2, 7, 3, 4)) * 2
    with tinynet.backend(backend):
        errors = check_layer(LocalResponseNorm(size, alpha, beta, k), x)
    assert errors and max(errors.values()) < 1e-6, errors


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


@given(
    st.tuples(st.integers(1, 3), st.integers(1, 8), st.integers(1, 5), st.integers(1, 5)),
    st.sampled_from(LRN_CASES),
    st.sampled_from([np.float32, np.float64]),
    st.integers(0, 2**31),
)
def test_lrn_backends_agree(shape, case, dtype, seed):
    rng = np.random.default_rng(seed)
    lrn = LocalResponseNorm(*case)
    x = (rng.standard_normal(shape) * 2).astype(dtype)
    dy = rng.standard_normal(shape).astype(dtype)
    y_ref, dx_ref = run(lrn, x, dy, "reference")
    y_fast, dx_fast = run(lrn, x, dy, "fast")
    assert y_ref.dtype == dx_ref.dtype == dtype
    assert_agree(y_fast, y_ref)
    assert_agree(dx_fast, dx_ref)


@pytest.mark.parametrize("backend", BACKENDS)
def test_forward_without_grad_gives_the_same_output(backend, rng):
    x = distinct(rng, (2, 3, 7, 7))
    for layer in (MaxPool2D(3, 2, 1), LocalResponseNorm(3, 0.5, 0.75, 1.0)):
        with tinynet.backend(backend):
            kept = layer.forward(x)
            layer.backward(np.ones_like(kept))
            with layer.no_grad():
                np.testing.assert_array_equal(layer.forward(x), kept)


# ------------------------------------------------------------- backward runs the forward's code
@pytest.mark.parametrize("forward_on", BACKENDS)
@pytest.mark.parametrize("which", ["pool", "lrn"])
def test_backward_runs_the_code_of_its_forward_after_a_switch(forward_on, which, rng, monkeypatch):
    layer = MaxPool2D(3, 2, 1) if which == "pool" else LocalResponseNorm(3, 0.5, 0.75, 1.0)
    x = distinct(rng, (2, 4, 7, 6))
    dy = rng.standard_normal(layer.output_shape(x.shape) if which == "pool" else x.shape)
    y_expected, dx_expected = run(layer, x, dy, forward_on)

    other = "fast" if forward_on == "reference" else "reference"

    def must_not_run(*args):
        raise AssertionError(f"backward ran the {other} code after a {forward_on} forward")

    monkeypatch.setattr(CODE[which][other], BACKWARD[which], must_not_run)
    with tinynet.backend(forward_on):
        y = layer.forward(x)
    with tinynet.backend(other):
        dx = layer.backward(dy)
    np.testing.assert_array_equal(y, y_expected)
    np.testing.assert_array_equal(dx, dx_expected)  # the same code: the same bits


# ------------------------------------------------------------------------------------------ SGD
def sgd_problem(seed, dtype=np.float64):
    """(named parameters, grads to use at each step): decayed and undecayed, contiguous and not,
    one longer than the fast step's pieces."""
    rng = np.random.default_rng(seed)
    named = [
        ("conv.weight", rng.standard_normal((4, 3, 2, 2)).astype(dtype)),
        ("conv.bias", rng.standard_normal(4).astype(dtype)),
        ("fc.weight", rng.standard_normal((6, 10)).astype(dtype).T),  # F-ordered view
        ("fc.bias", rng.standard_normal((6, 3)).astype(dtype)[::2, 1]),  # strided view
        ("long.weight", rng.standard_normal(sgd_module._CHUNK + 37).astype(dtype)),
    ]
    triples = [(name, p, np.zeros_like(p)) for name, p in named]
    grads = [[rng.standard_normal(p.shape).astype(dtype) for _, p in named] for _ in range(5)]
    return triples, grads


def run_sgd(backends, seed, dtype=np.float64):
    """Params and velocities after one step per entry of ``backends`` (the backend of that step);
    lr changes after the second step."""
    triples, grads = sgd_problem(seed, dtype)
    opt = SGD(triples, lr=0.05, momentum=0.9, weight_decay=0.01)
    for i, backend in enumerate(backends):
        for (_, _, grad), new in zip(triples, grads[i], strict=True):
            grad[...] = new
        if i == 2:
            opt.lr = 0.02
        with tinynet.backend(backend):
            opt.step()
    return {name: (p.copy(), opt.velocity(name).copy()) for name, p, _ in triples}


@pytest.mark.parametrize("seed", [0, 1])
def test_sgd_backends_agree_over_several_steps(seed):
    reference = run_sgd(["reference"] * 5, seed)
    fast = run_sgd(["fast"] * 5, seed)
    mixed = run_sgd(["fast", "reference", "fast", "reference", "reference"], seed)
    for name, (w, v) in reference.items():
        for other in (fast, mixed):
            np.testing.assert_allclose(other[name][0], w, rtol=1e-12, atol=1e-14)
            np.testing.assert_allclose(other[name][1], v, rtol=1e-12, atol=1e-14)


def test_sgd_backends_agree_in_float32():
    reference = run_sgd(["reference"] * 5, 2, np.float32)
    fast = run_sgd(["fast"] * 5, 2, np.float32)
    for name, (w, v) in reference.items():
        assert w.dtype == v.dtype == np.float32
        assert_agree(fast[name][0], w)
        assert_agree(fast[name][1], v)


def test_sgd_reference_step_is_the_papers_rule():
    triples, grads = sgd_problem(3)
    expected = {name: (p.copy(), np.zeros_like(p)) for name, p, _ in triples}
    opt = SGD(triples, lr=0.1, momentum=0.8, weight_decay=0.05)
    for (name, _, grad), g in zip(triples, grads[0], strict=True):
        grad[...] = g
        w, v = expected[name]
        wd = 0.05 if name.endswith(".weight") else 0.0
        v = 0.8 * v - wd * 0.1 * w - 0.1 * g
        expected[name] = (w + v, v)
    before = get_backend()
    with tinynet.backend("reference"):
        opt.step()
    assert get_backend() == before
    for name, param, _ in triples:
        np.testing.assert_allclose(param, expected[name][0], rtol=1e-14)
        np.testing.assert_allclose(opt.velocity(name), expected[name][1], rtol=1e-14)
