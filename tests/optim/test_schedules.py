"""Tests for tinynet.optim's schedules: ReduceLROnPlateau, StepLR, CosineLR, warm-up."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from tinynet.optim import SCHEDULES, SGD, CosineLR, ReduceLROnPlateau, StepLR, make_schedule


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
    sched = ReduceLROnPlateau(FakeOpt(1.0), patience=0, factor=0.5)
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


def test_plateau_paper_like_run_reduces_three_times():
    # error improves, then plateaus three times across 30 "epochs"
    errors = [0.9 - 0.05 * i for i in range(6)] + [0.6] * 4 + [0.5] + [0.45] * 5 + [0.4] * 5
    opt = SGD([("w", np.zeros(1), np.zeros(1))], lr=0.01)
    sched = ReduceLROnPlateau(opt, patience=2)
    drive(sched, errors)
    assert sched.reductions == 3
    assert opt.lr == pytest.approx(1e-5)


def test_plateau_nan_metric_raises_and_changes_nothing():
    sched = ReduceLROnPlateau(FakeOpt(0.01), patience=2)
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
        (dict(warmup=-1), "warmup"),
    ],
)
def test_plateau_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ReduceLROnPlateau(FakeOpt(), **{"patience": 2, **kwargs})


def test_schedules_need_an_lr_attribute():
    with pytest.raises(ValueError, match="lr"):
        ReduceLROnPlateau(object(), patience=2)
    with pytest.raises(ValueError, match="lr"):
        StepLR(object(), step_size=3)
    with pytest.raises(ValueError, match="lr"):
        CosineLR(object(), epochs=3)


@pytest.mark.parametrize("split", [3, 5, 7, 9])
def test_plateau_state_round_trip_mid_sequence(split):
    errors = [0.9, 0.8, 0.8, 0.79, 0.8, 0.8, 0.7, 0.7, 0.7, 0.7, 0.7, 0.69, 0.7, 0.7, 0.7, 0.7, 0.7]
    config = dict(patience=2, threshold=0.02, warmup=2)

    opt_a = FakeOpt(0.01)
    full_reduced, full_lrs = drive(ReduceLROnPlateau(opt_a, **config), errors)
    assert drop_epochs(full_reduced), "the scripted sequence should contain reductions"

    opt_b = FakeOpt(0.01)
    sched_b = ReduceLROnPlateau(opt_b, **config)
    head_reduced, head_lrs = drive(sched_b, errors[:split])
    # through JSON, the way the checkpoint stores scalar state
    state = json.loads(json.dumps(sched_b.state_dict()))
    keys = {"best", "num_bad_epochs", "reductions", "patience", "factor", "warmup", "base_lr"}
    assert keys <= set(state)

    opt_c = FakeOpt(opt_b.lr)  # the optimizer's state carries the lr
    sched_c = ReduceLROnPlateau.restored(opt_c, state)
    assert sched_c.state_dict() == sched_b.state_dict()
    tail_reduced, tail_lrs = drive(sched_c, errors[split:])
    assert head_reduced + tail_reduced == full_reduced
    assert head_lrs + tail_lrs == full_lrs


def test_plateau_fresh_state_has_infinite_best_and_round_trips():
    sched = ReduceLROnPlateau(FakeOpt(), patience=2)
    state = json.loads(json.dumps(sched.state_dict()))
    assert state["best"] == math.inf
    other = ReduceLROnPlateau(FakeOpt(), patience=5)
    other.load_state_dict(state)
    assert other.best == math.inf


def test_plateau_load_state_dict_validates():
    sched = ReduceLROnPlateau(FakeOpt(), patience=2)
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
    assert state == {"step_size": 2, "gamma": 0.5, "base_lr": 0.1, "last_epoch": 3, "warmup": 0}
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
        StepLR(FakeOpt(), **{"step_size": 3, **kwargs})


# ----------------------------------------------------------------------------- CosineLR
def test_cosine_goes_from_the_base_rate_to_zero_along_half_a_cosine():
    opt = FakeOpt(0.1)
    sched = CosineLR(opt, epochs=4)
    lrs = [opt.lr] + [sched.step() and opt.lr for _ in range(4)]
    assert lrs == pytest.approx(
        [
            0.1,
            0.1 * (1 + math.cos(math.pi / 4)) / 2,
            0.05,
            0.1 * (1 + math.cos(3 * math.pi / 4)) / 2,
            0.0,
        ],
        abs=1e-15,
    )
    sched.step()
    assert opt.lr == 0.0  # past the end it stays at 0


def test_cosine_refuses_a_warmup_as_long_as_the_run():
    with pytest.raises(ValueError, match="warmup"):
        CosineLR(FakeOpt(), epochs=3, warmup=3)
    sched = CosineLR(FakeOpt(), epochs=3, warmup=1)
    with pytest.raises(ValueError, match="warmup"):
        sched.set(epochs=1)
    assert sched.epochs == 3


# ----------------------------------------------------------------------------- all schedules
def make(name, opt, warmup=0):
    return make_schedule(name, opt, patience=1, step_size=2, epochs=6, warmup=warmup, seed=0)


@pytest.mark.parametrize("name", SCHEDULES)
def test_warmup_rises_linearly_to_the_base_rate_then_the_schedule_starts(name):
    opt, plain_opt = FakeOpt(0.3), FakeOpt(0.3)
    sched = make(name, opt, warmup=2)
    make(name, plain_opt)
    lrs = [opt.lr]
    for _ in range(5):
        sched.step(0.5)
        lrs.append(opt.lr)
    assert lrs[:2] == pytest.approx([0.1, 0.2])  # (epoch + 1) / (warmup + 1) of 0.3
    # after warm-up: the schedule's own rule, counted from the end of warm-up for cosine
    if name == "step":
        assert lrs[2:] == pytest.approx([0.03, 0.03, 0.003, 0.003])  # 0.3 * 0.1 ** (epoch // 2)
    if name == "plateau":  # bad epochs during warm-up do not count
        assert lrs[2:] == pytest.approx([0.3, 0.3, 0.03, 0.03])
    if name == "cosine":
        assert lrs[2:4] == pytest.approx([0.3, 0.3 * (1 + math.cos(math.pi / 4)) / 2])
    assert plain_opt.lr == 0.3  # without warm-up the first epoch has the base rate


@pytest.mark.parametrize("name", SCHEDULES)
def test_every_schedule_is_driven_the_same_way(name):
    opt = FakeOpt(0.1)
    sched = make(name, opt)
    assert type(sched) is SCHEDULES[name] and sched.name == name
    for error in (0.9, None, 0.8, 0.8, 0.8):  # None: an epoch without validation
        assert isinstance(sched.step(error), bool)
    assert sched.last_epoch == 5
    state = json.loads(json.dumps(sched.state_dict()))
    again = SCHEDULES[name].restored(FakeOpt(opt.lr), state)
    assert again.state_dict() == sched.state_dict() and again.rate() == opt.lr


@pytest.mark.parametrize("name", SCHEDULES)
def test_a_new_base_rate_takes_effect_at_once(name):
    opt = FakeOpt(0.1)
    sched = make(name, opt)
    for error in (0.9, 0.9, 0.9, 0.9):
        sched.step(error)
    before = opt.lr
    sched.set(base_lr=0.2)  # e.g. --lr on resume: the whole schedule scales
    assert opt.lr == pytest.approx(2 * before) and sched.base_lr == 0.2
    with pytest.raises(ValueError, match="no setting"):
        sched.set(min_lr=0.0)
    with pytest.raises(ValueError, match="base_lr"):
        sched.set(base_lr=-1.0)
    assert sched.base_lr == 0.2


def test_a_later_start_epoch_sets_the_rate_of_that_epoch():
    opt = FakeOpt(1.0)
    sched = StepLR(opt, step_size=2)
    sched.set(last_epoch=5)
    assert opt.lr == pytest.approx(0.01) and sched.lr_at(0) == 1.0


def test_make_schedule_names_the_schedules():
    with pytest.raises(ValueError, match="plateau"):
        make_schedule("exponential", FakeOpt())
