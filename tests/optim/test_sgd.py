"""Tests of ``tinynet.optim.sgd``."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinynet
from tinynet.backends import get_backend
from tinynet.optim import SGD
from tinynet.optim import sgd as sgd_module

from ..helpers.backends import assert_agree


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


# ----------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(lr=-0.1), "learning rate"),
        (dict(lr=float("nan")), "learning rate"),
        (dict(momentum=1.0), "momentum"),
        (dict(momentum=-0.1), "momentum"),
        (dict(weight_decay=-1e-4), "weight_decay"),
        (dict(decay_filter="weight"), "decay_filter"),
    ],
)
def test_constructor_rejects_bad_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SGD(make([("w", (2,))]), **{"lr": 0.01, **kwargs})


def test_constructor_rejects_bad_parameters():
    p, g = np.zeros(3), np.zeros(3)
    with pytest.raises(ValueError, match="duplicate parameter name 'w'"):
        SGD([("w", p, g), ("w", np.zeros(2), np.zeros(2))], lr=0.01)
    with pytest.raises(ValueError, match="same array"):
        SGD([("a", p, g), ("b", p, np.zeros(3))], lr=0.01)
    with pytest.raises(ValueError, match=r"shape \(2,\).*shape \(3,\)"):
        SGD([("w", p, np.zeros(2))], lr=0.01)
    with pytest.raises(ValueError, match="floating point"):
        SGD([("w", np.zeros(3, np.int64), np.zeros(3, np.int64))], lr=0.01)
    with pytest.raises(ValueError, match="empty"):
        SGD([], lr=0.01)
    ro = np.zeros(3)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        SGD([("w", ro, g)], lr=0.01)


def test_lr_is_settable_and_validated():
    opt = SGD(make([("w", (2,))]), lr=0.01)
    opt.lr = 0.001
    assert opt.lr == 0.001
    with pytest.raises(ValueError, match="learning rate"):
        opt.lr = -1.0
    assert opt.lr == 0.001
    assert opt.momentum == 0.0 and opt.weight_decay == 0.0  # PyTorch's defaults


# ----------------------------------------------------------------------------- state dict
def _grads(seed, shapes, steps, dtype):
    rng = np.random.default_rng(seed)
    return [[rng.standard_normal(s).astype(dtype) for s in shapes] for _ in range(steps)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_state_dict_round_trip_resumes_bit_identically(dtype):
    shapes = {"conv.weight": (4, 3, 3, 3), "conv.bias": (4,), "fc.weight": (sgd_module._CHUNK + 7,)}
    grads = _grads(5, list(shapes.values()), 6, dtype)

    def run(named, opt, steps):
        for step in steps:
            for (_, _, g), new in zip(named, grads[step], strict=True):
                g[...] = new
            if step == 2:
                opt.lr = opt.lr / 10  # an lr drop before the interruption point must be restored
            opt.step()

    # uninterrupted
    a = make(shapes.items(), dtype=dtype, seed=9)
    opt_a = SGD(a, lr=0.05, momentum=0.9, weight_decay=5e-4)
    run(a, opt_a, range(6))

    # interrupted after 4 steps; resume into fresh arrays + a fresh optimizer with other settings
    b = make(shapes.items(), dtype=dtype, seed=9)
    opt_b = SGD(b, lr=0.05, momentum=0.9, weight_decay=5e-4)
    run(b, opt_b, range(4))
    state = opt_b.state_dict()
    params = {n: p.copy() for n, p, _ in b}
    opt_b.step()  # state_dict must be a snapshot, not live buffers
    assert state["lr"].shape == () and float(state["lr"]) == pytest.approx(0.005)
    assert set(state) == {"lr", "momentum", "weight_decay"} | {f"velocity.{n}" for n in shapes}

    c = [(n, params[n].copy(), np.zeros(s, dtype)) for n, s in shapes.items()]
    opt_c = SGD(c, lr=0.9, momentum=0.5, weight_decay=0.1)
    opt_c.load_state_dict(state)
    assert opt_c.lr == opt_b.lr and opt_c.momentum == 0.9 and opt_c.weight_decay == 5e-4
    run(c, opt_c, range(4, 6))
    for (name, pa, _), (_, pc, _) in zip(a, c, strict=True):
        np.testing.assert_array_equal(pc, pa, err_msg=name)
        np.testing.assert_array_equal(opt_c.velocity(name), opt_a.velocity(name), err_msg=name)


def test_load_state_dict_rejects_bad_velocities_and_leaves_optimizer_untouched():
    named = make([("conv1.weight", (2, 3)), ("conv1.bias", (2,))])
    opt = SGD(named, lr=0.01, momentum=0.9, weight_decay=5e-4)
    opt.step()
    good = opt.state_dict()
    before = opt.state_dict()

    bad = dict(good, **{"velocity.conv1.weight": np.zeros((3, 2))})
    bad["lr"] = np.array(0.5)
    with pytest.raises(ValueError) as info:
        opt.load_state_dict(bad)
    msg = str(info.value)
    assert "conv1.weight" in msg and "(3, 2)" in msg and "(2, 3)" in msg

    missing = {k: v for k, v in good.items() if k != "velocity.conv1.bias"}
    with pytest.raises(ValueError, match="conv1.bias"):
        opt.load_state_dict(missing)

    unknown = dict(good, **{"velocity.fc9.weight": np.zeros(2)})
    with pytest.raises(ValueError, match="fc9.weight"):
        opt.load_state_dict(unknown)

    no_lr = {k: v for k, v in good.items() if k != "lr"}
    with pytest.raises(ValueError, match="'lr'"):
        opt.load_state_dict(no_lr)

    with pytest.raises(ValueError, match="momentum"):
        opt.load_state_dict(dict(good, momentum=np.array(1.5)))

    after = opt.state_dict()
    assert set(after) == set(before)
    for k in before:
        np.testing.assert_array_equal(after[k], before[k])


def test_load_state_dict_copies_into_existing_buffers():
    named = make([("w", (3,))])
    opt = SGD(named, lr=0.01, momentum=0.9, weight_decay=5e-4)
    buf = opt.velocity("w")
    src = np.array([1.0, 2.0, 3.0])
    opt.load_state_dict({"lr": 0.02, "momentum": 0.8, "weight_decay": 0.0, "velocity.w": src})
    assert opt.velocity("w") is buf
    np.testing.assert_array_equal(buf, src)
    src[0] = 100.0
    assert buf[0] == 1.0  # a copy, not an alias
    assert (opt.lr, opt.momentum, opt.weight_decay) == (0.02, 0.8, 0.0)


@pytest.mark.parametrize(
    "key, value, match",
    [
        ("velocity.conv1.weight", np.full((2, 3), np.nan), "velocity.conv1.weight holds NaN"),
        ("velocity.conv1.bias", np.array([0.0, -np.inf]), "velocity.conv1.bias holds NaN or inf"),
        ("momentum", np.array(np.nan), "momentum must be a real number, got NaN"),
        ("lr", np.array(np.nan), "learning rate.*got NaN"),
        ("lr", np.array(np.inf), "learning rate.*finite"),
        ("weight_decay", np.array(np.nan), "weight_decay must be a real number, got NaN"),
    ],
)
def test_load_state_dict_refuses_non_finite_values_and_changes_nothing(key, value, match):
    named = make([("conv1.weight", (2, 3)), ("conv1.bias", (2,))])
    opt = SGD(named, lr=0.01, momentum=0.9, weight_decay=5e-4)
    opt.step()
    before = opt.state_dict()
    with pytest.raises(ValueError, match=match):
        opt.load_state_dict(dict(before, **{key: value}))
    after = opt.state_dict()
    for k in before:
        np.testing.assert_array_equal(after[k], before[k])
