"""Tests for tinynet.optim.SGD's update: the paper's momentum + weight-decay rule, in place."""

from __future__ import annotations

import tracemalloc

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import tinynet
from tinynet.optim import SGD
from tinynet.optim import sgd as sgd_module


def make(name_shapes, dtype=np.float64, seed=0):
    """(name, param, grad) triples with random contents: the model-contract stand-in."""
    rng = np.random.default_rng(seed)
    return [
        (name, rng.standard_normal(shape).astype(dtype), rng.standard_normal(shape).astype(dtype))
        for name, shape in name_shapes
    ]


# ----------------------------------------------------------------------------- hand-computed steps
def test_one_and_two_steps_with_weight_decay_match_hand_computation():
    w = np.array([1.0, -2.0])
    gw = np.array([0.5, 0.25])
    b = np.array([0.5])
    gb = np.array([1.0])
    opt = SGD([("fc.weight", w, gw), ("fc.bias", b, gb)], lr=0.1, momentum=0.9, weight_decay=0.01)

    opt.step()
    # weight: v1 = 0.9*0 - 0.01*0.1*w - 0.1*g
    #            = [-0.001*1.0 - 0.05, -0.001*(-2.0) - 0.025] = [-0.051, -0.023]
    #         w1 = w + v1 = [0.949, -2.023]
    np.testing.assert_allclose(opt.velocity("fc.weight"), [-0.051, -0.023], rtol=1e-12)
    np.testing.assert_allclose(w, [0.949, -2.023], rtol=1e-12)
    # bias (no weight decay by default): v1 = -0.1*1.0 = -0.1 ; b1 = 0.5 - 0.1 = 0.4
    np.testing.assert_allclose(opt.velocity("fc.bias"), [-0.1], rtol=1e-12)
    np.testing.assert_allclose(b, [0.4], rtol=1e-12)

    # the model's backward overwrites the grads in place
    gw[...] = [-1.0, 0.5]
    gb[...] = [-0.5]
    opt.step()
    # weight: v2 = 0.9*v1 - 0.001*w1 - 0.1*g2
    #            = [0.9*(-0.051) - 0.001*0.949 - 0.1*(-1.0),
    #               0.9*(-0.023) - 0.001*(-2.023) - 0.1*0.5]
    #            = [-0.0459 - 0.000949 + 0.1, -0.0207 + 0.002023 - 0.05] = [0.053151, -0.068677]
    #         w2 = w1 + v2 = [1.002151, -2.091677]
    np.testing.assert_allclose(opt.velocity("fc.weight"), [0.053151, -0.068677], rtol=1e-12)
    np.testing.assert_allclose(w, [1.002151, -2.091677], rtol=1e-12)
    # bias: v2 = 0.9*(-0.1) - 0.1*(-0.5) = -0.04 ; b2 = 0.4 - 0.04 = 0.36
    np.testing.assert_allclose(b, [0.36], rtol=1e-12)


def test_two_steps_without_weight_decay_match_hand_computation():
    w = np.array([[1.0, 2.0], [3.0, 4.0]])
    g = np.array([[1.0, -1.0], [0.0, 2.0]])
    opt = SGD([("w", w, g)], lr=0.5, momentum=0.5, weight_decay=0.0)
    opt.step()
    # v1 = -0.5*g = [[-0.5, 0.5], [0, -1]] ; w1 = [[0.5, 2.5], [3, 3]]
    np.testing.assert_array_equal(w, [[0.5, 2.5], [3.0, 3.0]])
    opt.step()  # same grad
    # v2 = 0.5*v1 - 0.5*g = [[-0.25-0.5, 0.25+0.5], [0, -0.5-1]] = [[-0.75, 0.75], [0, -1.5]]
    # w2 = [[-0.25, 3.25], [3, 1.5]]
    np.testing.assert_array_equal(w, [[-0.25, 3.25], [3.0, 1.5]])


def test_default_filter_decays_weights_not_biases():
    names = ("conv1.weight", "conv1.bias", "weight", "fc8.bias", "fc.weight_scale")
    named = make(zip(names, [(2, 3), (2,), (3,), (4,), (2,)], strict=True))
    opt = SGD(named, lr=0.01, momentum=0.9, weight_decay=5e-4)
    assert opt.decayed_names == ("conv1.weight", "weight")
    assert opt.param_names == names

    # with zero gradients, only decayed parameters move: w1 = w - wd*lr*w
    for _, _, g in named:
        g[...] = 0.0
    before = {n: p.copy() for n, p, _ in named}
    opt.step()
    for name, p, _ in named:
        if name in ("conv1.weight", "weight"):
            np.testing.assert_allclose(p, before[name] - 5e-4 * 0.01 * before[name], rtol=1e-12)
        else:
            np.testing.assert_array_equal(p, before[name])


def test_custom_decay_filter():
    w = np.array([2.0])
    b = np.array([4.0])
    zeros = [np.zeros(1), np.zeros(1)]
    # the paper's choice: decay everything
    opt = SGD(
        [("fc.weight", w, zeros[0]), ("fc.bias", b, zeros[1])],
        lr=0.1,
        weight_decay=0.5,
        decay_filter=lambda name: True,
    )
    assert opt.decayed_names == ("fc.weight", "fc.bias")
    opt.step()
    # v1 = -0.5*0.1*x ; x1 = 0.95 x
    np.testing.assert_allclose(w, [1.9], rtol=1e-12)
    np.testing.assert_allclose(b, [3.8], rtol=1e-12)

    w2 = np.array([2.0])
    opt2 = SGD(
        [("fc.weight", w2, np.zeros(1))], lr=0.1, weight_decay=0.5, decay_filter=lambda n: False
    )
    opt2.step()
    np.testing.assert_array_equal(w2, [2.0])


def test_lr_change_keeps_old_lr_in_velocity():
    w = np.array([1.0])
    g = np.array([1.0])
    opt = SGD([("w", w, g)], lr=0.1, momentum=0.9, weight_decay=0.0)
    opt.step()
    # v1 = -0.1 ; w1 = 0.9
    np.testing.assert_allclose(w, [0.9], rtol=1e-12)
    opt.lr = 0.01
    opt.step()
    # paper: v2 = 0.9*(-0.1) - 0.01*1 = -0.1 ; w2 = 0.8   (the old lr's step is still in v)
    np.testing.assert_allclose(opt.velocity("w"), [-0.1], rtol=1e-12)
    np.testing.assert_allclose(w, [0.8], rtol=1e-12)
    # PyTorch would give b2 = 0.9*1 + 1 = 1.9 ; w2 = 0.9 - 0.01*1.9 = 0.881
    assert not np.isclose(w[0], 0.881)


def test_equals_pytorch_formulation_at_constant_lr():
    rng = np.random.default_rng(1)
    w = rng.standard_normal(7)
    g = np.zeros(7)
    w_torch = w.copy()
    buf = np.zeros(7)
    lr, m, wd = 0.05, 0.9, 1e-2
    opt = SGD([("x.weight", w, g)], lr=lr, momentum=m, weight_decay=wd)
    for _ in range(6):
        grad = rng.standard_normal(7)
        g[...] = grad
        opt.step()
        d = grad + wd * w_torch  # torch.optim.SGD with momentum, dampening 0, no nesterov
        buf = m * buf + d
        w_torch = w_torch - lr * buf
    np.testing.assert_allclose(w, w_torch, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(opt.velocity("x.weight"), -lr * buf, rtol=1e-12, atol=1e-14)


@settings(max_examples=40, deadline=None)
@given(
    lr=st.floats(0.0, 1.0),
    momentum=st.floats(0.0, 0.99),
    wd=st.floats(0.0, 0.1),
    size=st.integers(1, 9),
    steps=st.integers(1, 4),
    seed=st.integers(0, 2**31),
)
def test_matches_reference_formula(lr, momentum, wd, size, steps, seed):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(size)
    g = np.zeros(size)
    ref_w, ref_v = w.copy(), np.zeros(size)
    opt = SGD([("p.weight", w, g)], lr=lr, momentum=momentum, weight_decay=wd)
    for _ in range(steps):
        g[...] = rng.standard_normal(size)
        opt.step()
        ref_v = momentum * ref_v - wd * lr * ref_w - lr * g
        ref_w = ref_w + ref_v
    np.testing.assert_allclose(w, ref_w, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(opt.velocity("p.weight"), ref_v, rtol=1e-12, atol=1e-15)


# ------------------------------------------------------------------------ dtype, in place, chunks
def test_float32_stays_float32():
    named = make([("a.weight", (3, 4)), ("a.bias", (3,))], dtype=np.float32)
    ref = [(p.astype(np.float64), g.astype(np.float64)) for _, p, g in named]
    opt = SGD(named, lr=0.1, momentum=0.9, weight_decay=0.01)
    opt.step()
    for (name, p, _), (p64, g64) in zip(named, ref, strict=True):
        assert p.dtype == np.float32
        assert opt.velocity(name).dtype == np.float32
        wd = 0.01 if name.endswith("weight") else 0.0
        np.testing.assert_allclose(p, p64 - wd * 0.1 * p64 - 0.1 * g64, rtol=1e-6, atol=1e-7)
    assert opt.state_dict()["velocity.a.weight"].dtype == np.float32


def test_mixed_dtypes_each_keep_their_own():
    p32, g32 = np.ones(3, np.float32), np.ones(3, np.float32)
    p64, g64 = np.ones(3, np.float64), np.ones(3, np.float64)
    opt = SGD([("a", p32, g32), ("b", p64, g64)], lr=0.1, momentum=0.9, weight_decay=5e-4)
    opt.step()
    assert p32.dtype == np.float32 and p64.dtype == np.float64
    np.testing.assert_allclose(p32, 0.9, rtol=1e-6)
    np.testing.assert_allclose(p64, 0.9, rtol=1e-12)


def test_params_updated_in_place_and_references_stay_valid():
    w = np.ones((2, 2))
    g = np.ones((2, 2))
    holder = {"w": w}  # e.g. the model's own attribute
    ident = id(w)
    opt = SGD(iter([("l.weight", w, g)]), lr=0.1, momentum=0.9)  # any iterable, consumed once
    opt.step()
    assert id(holder["w"]) == ident
    np.testing.assert_allclose(holder["w"], 0.9)
    g[...] = -1.0  # the model overwrites the grad in place; the optimizer must see it
    opt.step()
    # v2 = 0.9*(-0.1) + 0.1 = 0.01 ; w2 = 0.91
    np.testing.assert_allclose(holder["w"], 0.91, rtol=1e-12)


def test_multi_chunk_and_non_contiguous_params_match_reference():
    n = 2 * sgd_module._CHUNK + 123  # crosses chunk boundaries, last chunk partial
    rng = np.random.default_rng(3)
    big = rng.standard_normal(n).astype(np.float32)
    gbig = rng.standard_normal(n).astype(np.float32)
    base = rng.standard_normal((5, 6))
    t = base.T  # F-ordered, non-C-contiguous view: must be updated in place through the view
    gt = np.asfortranarray(rng.standard_normal((6, 5)))  # non-C-contiguous grad as well
    assert not t.flags.c_contiguous and not gt.flags.c_contiguous
    refs = [(big.astype(np.float64), gbig.astype(np.float64)), (t.copy(), gt.copy())]
    opt = SGD(
        [("big.weight", big, gbig), ("t.weight", t, gt)], lr=0.1, momentum=0.9, weight_decay=0.01
    )
    opt.step()
    opt.step()
    for arr, (p, g) in zip((big, t), refs, strict=True):
        v = -0.001 * p - 0.1 * g
        p = p + v
        v = 0.9 * v - 0.001 * p - 0.1 * g
        p = p + v
        np.testing.assert_allclose(
            arr, p, rtol=1e-5 if arr.dtype == np.float32 else 1e-12, atol=1e-6
        )
    np.testing.assert_array_equal(base, t.T)  # the view wrote through to its base


def test_fast_step_does_not_allocate_parameter_sized_temporaries():
    named = make([("a.weight", (300, 400)), ("a.bias", (300,)), ("b.weight", (200, 500))])
    opt = SGD(named, lr=0.01, momentum=0.9, weight_decay=5e-4)
    opt.step()
    tracemalloc.start()
    try:
        with tinynet.backend("fast"):  # the reference step is the formula on whole arrays
            opt.step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # one naive temporary of a.weight would be 300*400*8 = 960 kB
    assert peak < 64 * 1024, f"step allocated {peak} bytes"
