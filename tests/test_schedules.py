"""Tests for tinynet.optim.ReduceLROnPlateau and StepLR."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from tinynet.optim import SGD, ReduceLROnPlateau, StepLR


class FakeOpt:
    """Anything with a settable ``lr`` works as the optimizer."""

    def __init__(self, lr=0.01):
        self.lr = lr


def drive(sched, metrics):
    """Feed metrics; return (list of step() results, lr after each step)."""
    reduced, lrs = [], []
    for m in metrics:
        reduced.append(sched.step(m))
        lrs.append(sched.optimizer.lr)
    return reduced, lrs


def drop_epochs(reduced):
    return [i for i, r in enumerate(reduced) if r]


# ----------------------------------------------------------------------------- ReduceLROnPlateau
def test_plateau_drops_after_more_than_patience_bad_epochs():
    opt = FakeOpt(0.01)
    sched = ReduceLROnPlateau(opt, factor=0.1, patience=2)
    errors = [0.9, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8]
    reduced, lrs = drive(sched, errors)
    # epoch 1 improves (best 0.8); epochs 2,3,4 are bad -> 3 > patience at epoch 4 -> drop;
    # counter resets, epochs 5,6,7 bad -> drop at epoch 7.
    assert drop_epochs(reduced) == [4, 7]
    assert lrs == pytest.approx([0.01] * 4 + [0.001] * 3 + [0.0001])
    assert sched.best == 0.8 and sched.reductions == 2 and sched.last_epoch == 8


def test_plateau_improvement_resets_counter():
    sched = ReduceLROnPlateau(FakeOpt(0.01), patience=2)
    reduced, _ = drive(sched, [0.9, 0.8, 0.8, 0.8, 0.7, 0.7, 0.7, 0.7])
    assert drop_epochs(reduced) == [7]
    assert sched.best == 0.7


def test_plateau_patience_zero_drops_on_first_bad_epoch():
    sched = ReduceLROnPlateau(FakeOpt(1.0), patience=0, factor=0.5, min_lr=0.0)
    reduced, lrs = drive(sched, [1.0, 0.9, 0.95, 0.8, 0.8])
    assert drop_epochs(reduced) == [2, 4]
    assert lrs == [1.0, 1.0, 0.5, 0.5, 0.25]


def test_plateau_relative_threshold():
    # default rel threshold 1e-3: 0.7995 is not below 0.8 * (1 - 1e-3) = 0.7992
    sched = ReduceLROnPlateau(FakeOpt(0.01), patience=2)
    reduced, _ = drive(sched, [0.8, 0.7995, 0.7994, 0.7993])
    assert drop_epochs(reduced) == [3]
    assert sched.best == 0.8

    # threshold 0.1 rel: from best 0.5 an improvement must be < 0.45
    sched = ReduceLROnPlateau(FakeOpt(0.01), patience=2, threshold=0.1)
    reduced, _ = drive(sched, [0.5, 0.46, 0.46, 0.46])
    assert drop_epochs(reduced) == [3]
    sched = ReduceLROnPlateau(FakeOpt(0.01), patience=2, threshold=0.1)
    reduced, _ = drive(sched, [0.5, 0.44, 0.39, 0.35])
    assert drop_epochs(reduced) == [] and sched.best == 0.35


def test_plateau_absolute_threshold():
    sched = ReduceLROnPlateau(FakeOpt(0.01), patience=2, threshold=0.01, threshold_mode="abs")
    reduced, _ = drive(sched, [0.5, 0.495, 0.495, 0.495])  # 0.495 is not < 0.5 - 0.01
    assert drop_epochs(reduced) == [3]
    sched = ReduceLROnPlateau(FakeOpt(0.01), patience=2, threshold=0.01, threshold_mode="abs")
    reduced, _ = drive(sched, [0.5, 0.45, 0.4, 0.35, 0.3])
    assert drop_epochs(reduced) == []
    # near zero error the relative and absolute criteria differ: 0.0095 -> 0.0090 is a 5%
    # relative improvement but not an absolute one of 0.01
    rel = ReduceLROnPlateau(FakeOpt(0.01), patience=0, threshold=0.01)
    assert drop_epochs(drive(rel, [0.0095, 0.0090])[0]) == []


def test_plateau_cooldown():
    errors = [1.0] * 8
    no_cd = ReduceLROnPlateau(FakeOpt(1.0), patience=1, cooldown=0, min_lr=0.0)
    assert drop_epochs(drive(no_cd, errors)[0]) == [2, 4, 6]
    cd = ReduceLROnPlateau(FakeOpt(1.0), patience=1, cooldown=2, min_lr=0.0)
    # drop at 2, cooldown epochs 3 and 4 do not count, then 5 and 6 are bad -> drop at 6
    reduced, _ = drive(cd, errors)
    assert drop_epochs(reduced) == [2, 6]
    assert cd.cooldown_counter == 1 and cd.in_cooldown  # epoch 7 used one cooldown epoch


def test_plateau_min_lr_floor():
    opt = FakeOpt(0.01)
    sched = ReduceLROnPlateau(opt, factor=0.1, patience=0, min_lr=5e-4)
    reduced, lrs = drive(sched, [1.0, 1.0, 1.0, 1.0, 1.0])
    assert reduced == [False, True, True, False, False]
    assert lrs == pytest.approx([0.01, 0.001, 5e-4, 5e-4, 5e-4])
    assert lrs[-1] == 5e-4  # clamped exactly, never below
    assert sched.reductions == 2


def test_plateau_max_mode_with_accuracy():
    sched = ReduceLROnPlateau(FakeOpt(0.01), mode="max", patience=1)
    reduced, _ = drive(sched, [0.1, 0.2, 0.2, 0.19, 0.3, 0.3, 0.3])
    assert drop_epochs(reduced) == [3, 6]
    assert sched.best == 0.3


def test_plateau_paper_like_run_reduces_three_times():
    # error improves, then plateaus three times across 30 "epochs"
    errors = [0.9 - 0.05 * i for i in range(6)] + [0.6] * 4 + [0.5] + [0.45] * 5 + [0.4] * 5
    opt = SGD([("w", np.zeros(1), np.zeros(1))], lr=0.01)
    sched = ReduceLROnPlateau(opt, patience=2)
    drive(sched, errors)
    assert sched.reductions == 3
    assert opt.lr == pytest.approx(1e-5)


def test_plateau_nan_metric_raises_and_changes_nothing():
    sched = ReduceLROnPlateau(FakeOpt(0.01))
    sched.step(0.5)
    before = sched.state_dict()
    with pytest.raises(ValueError, match="NaN"):
        sched.step(float("nan"))
    with pytest.raises(ValueError, match="NaN"):
        sched.step(np.float32("nan"))
    assert sched.state_dict() == before
    sched.step(np.float64(0.4))  # numpy scalars are fine
    assert sched.best == pytest.approx(0.4)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(factor=1.0), "factor"),
        (dict(factor=0.0), "factor"),
        (dict(factor=-0.5), "factor"),
        (dict(patience=-1), "patience"),
        (dict(patience=1.5), "patience"),
        (dict(threshold=-1e-3), "threshold"),
        (dict(threshold=1.0), "threshold"),
        (dict(threshold_mode="relative"), "threshold_mode"),
        (dict(cooldown=-1), "cooldown"),
        (dict(min_lr=-1e-6), "min_lr"),
        (dict(mode="minimum"), "mode"),
    ],
)
def test_plateau_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ReduceLROnPlateau(FakeOpt(), **kwargs)


def test_schedules_need_an_lr_attribute():
    with pytest.raises(ValueError, match="lr"):
        ReduceLROnPlateau(object())
    with pytest.raises(ValueError, match="lr"):
        StepLR(object())


@pytest.mark.parametrize("split", [3, 5, 7, 9])
def test_plateau_state_round_trip_mid_sequence(split):
    errors = [0.9, 0.8, 0.8, 0.79, 0.8, 0.8, 0.7, 0.7, 0.7, 0.7, 0.7, 0.69, 0.7, 0.7, 0.7, 0.7, 0.7]
    config = dict(patience=2, cooldown=1, threshold=0.02)

    opt_a = FakeOpt(0.01)
    full_reduced, full_lrs = drive(ReduceLROnPlateau(opt_a, **config), errors)
    assert drop_epochs(full_reduced), "the scripted sequence should contain reductions"

    opt_b = FakeOpt(0.01)
    sched_b = ReduceLROnPlateau(opt_b, **config)
    head_reduced, head_lrs = drive(sched_b, errors[:split])
    # through JSON, the way the checkpoint stores scalar state
    state = json.loads(json.dumps(sched_b.state_dict()))
    keys = {"best", "num_bad_epochs", "cooldown_counter", "reductions", "patience", "factor"}
    assert keys <= set(state)

    opt_c = FakeOpt(opt_b.lr)  # the optimizer's state carries the lr
    sched_c = ReduceLROnPlateau(opt_c)  # default config: restored from the state
    sched_c.load_state_dict(state)
    assert sched_c.state_dict() == sched_b.state_dict()
    tail_reduced, tail_lrs = drive(sched_c, errors[split:])
    assert head_reduced + tail_reduced == full_reduced
    assert head_lrs + tail_lrs == full_lrs


def test_plateau_fresh_state_has_infinite_best_and_round_trips():
    sched = ReduceLROnPlateau(FakeOpt())
    state = json.loads(json.dumps(sched.state_dict()))
    assert state["best"] == math.inf
    other = ReduceLROnPlateau(FakeOpt())
    other.load_state_dict(state)
    assert other.best == math.inf


def test_plateau_load_state_dict_validates():
    sched = ReduceLROnPlateau(FakeOpt())
    good = sched.state_dict()
    with pytest.raises(ValueError, match="missing"):
        sched.load_state_dict({k: v for k, v in good.items() if k != "num_bad_epochs"})
    with pytest.raises(ValueError, match="unknown"):
        sched.load_state_dict(dict(good, eps=1e-8))
    with pytest.raises(ValueError, match="factor"):
        sched.load_state_dict(dict(good, factor=2.0))
    with pytest.raises(ValueError, match="num_bad_epochs"):
        sched.load_state_dict(dict(good, num_bad_epochs=-1))
    # numpy scalars / 0-d arrays (as an .npz gives back) are accepted
    sched.load_state_dict(dict(good, patience=np.array(4), best=np.float64(0.25)))
    assert sched.patience == 4 and sched.best == 0.25 and type(sched.patience) is int


# ----------------------------------------------------------------------------- StepLR
def test_steplr_sequence():
    opt = FakeOpt(0.01)
    sched = StepLR(opt, step_size=3, gamma=0.1)
    lrs = [opt.lr]
    changed = []
    for _ in range(8):
        changed.append(sched.step())
        lrs.append(opt.lr)
    # lr for epochs 0..8 = 0.01 * 0.1 ** (epoch // 3)
    assert lrs == [0.01 * 0.1 ** (e // 3) for e in range(9)]
    assert lrs == pytest.approx([0.01] * 3 + [0.001] * 3 + [0.0001] * 3)
    assert [i + 1 for i, c in enumerate(changed) if c] == [3, 6]
    assert sched.last_epoch == 8 and sched.lr_at(30) == pytest.approx(1e-12)


def test_steplr_accepts_and_ignores_a_metric():
    opt = FakeOpt(1.0)
    sched = StepLR(opt, step_size=1, gamma=0.5)
    sched.step(0.3)
    assert opt.lr == 0.5


def test_steplr_state_round_trip():
    opt = FakeOpt(0.1)
    sched = StepLR(opt, step_size=2, gamma=0.5)
    for _ in range(3):
        sched.step()
    state = json.loads(json.dumps(sched.state_dict()))
    assert state == {"step_size": 2, "gamma": 0.5, "base_lr": 0.1, "last_epoch": 3}
    opt2 = FakeOpt(opt.lr)
    sched2 = StepLR(opt2, step_size=10, gamma=0.9)
    sched2.load_state_dict(state)
    for _ in range(4):
        sched.step()
        sched2.step()
        assert opt2.lr == opt.lr
    with pytest.raises(ValueError, match="missing"):
        sched2.load_state_dict({"step_size": 2})
    with pytest.raises(ValueError, match="unknown"):
        sched2.load_state_dict(dict(state, milestones=[1]))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(step_size=0), "step_size"),
        (dict(step_size=2.5), "step_size"),
        (dict(gamma=0.0), "gamma"),
        (dict(gamma=-0.1), "gamma"),
        (dict(gamma=float("inf")), "gamma"),
    ],
)
def test_steplr_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        StepLR(FakeOpt(), **kwargs)
