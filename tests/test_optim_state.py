"""Tests for tinynet.optim.SGD's checks: arguments, hyperparameters and the saved state."""

from __future__ import annotations

import numpy as np
import pytest

from tinynet.optim import SGD
from tinynet.optim import sgd as sgd_module

from .test_optim_sgd import make


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
