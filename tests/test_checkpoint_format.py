"""Tests for tinynet.train.checkpoint: pickle-free .npz checkpoints that round-trip exactly."""

from __future__ import annotations

import json
import math
import os
import zipfile

import numpy as np

from tinynet.optim import SGD, ReduceLROnPlateau
from tinynet.train.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from tinynet.validate import check_state


def model_state(seed=0):
    rng = np.random.default_rng(seed)
    w32 = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    w32.flat[:5] = [np.nan, np.inf, -np.inf, -0.0, np.float32(1e-45)]  # odd bit patterns survive
    return {
        "conv1.weight": w32,
        "conv1.bias": np.arange(4, dtype=np.float32),
        "fc.weight": rng.standard_normal((5, 7)),  # float64
        "bn.num_batches": np.array(2**62 + 1, dtype=np.int64),  # 0-d, not float-representable
        "ids": np.array([-(2**63), 2**63 - 1], dtype=np.int64),
        "mask": np.array([True, False]),
    }


def save(path, **overrides):
    kwargs = dict(
        model_state=model_state(), optimizer_state={}, schedule_state={}, meta={"epoch": 1}
    )
    kwargs.update(overrides)
    return save_checkpoint(path, **kwargs)


def assert_same_bits(a, b, name=""):
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype, name
    assert a.shape == b.shape, name
    assert a.tobytes() == b.tobytes(), name


# ----------------------------------------------------------------------------- round trips
def test_arrays_round_trip_with_exact_bits(tmp_path):
    state = model_state()
    path = save(tmp_path / "ck.npz", model_state=state)
    assert path == tmp_path / "ck.npz"
    ck = load_checkpoint(path)
    assert isinstance(ck, Checkpoint)
    assert list(ck.model_state) == list(state)
    for name, arr in state.items():
        assert_same_bits(ck.model_state[name], arr, name)
        assert isinstance(ck.model_state[name], np.ndarray)


def test_scalars_in_optimizer_and_schedule_states_round_trip_exactly(tmp_path):
    opt_state = {
        "lr": 0.1,
        "third": 1 / 3,
        "tiny": 5e-324,
        "big_int": 2**70 + 1,
        "none": None,
        "name": "sgd",
        "flag": True,
        "neg_inf": -math.inf,
        "nested": {"milestones": [30, 60], "eps": 1e-8},
        "np_scalar": np.float32(0.1),  # numpy scalars are stored as 0-d arrays, bits intact
        "np_array0d": np.array(0.01),
        "velocity.fc.weight": np.full((2, 2), 0.3, dtype=np.float32),
    }
    sched_state = {"best": math.inf, "num_bad_epochs": 2, "mode": "min", "nan": math.nan}
    path = save(tmp_path / "ck.npz", optimizer_state=opt_state, schedule_state=sched_state)
    ck = load_checkpoint(path)

    o = ck.optimizer_state
    assert set(o) == set(opt_state)
    for key in ("lr", "third", "tiny", "big_int", "none", "name", "flag", "neg_inf", "nested"):
        assert o[key] == opt_state[key], key
        assert type(o[key]) is type(opt_state[key]), key
    assert_same_bits(o["np_scalar"], np.array(np.float32(0.1)))
    assert_same_bits(o["np_array0d"], opt_state["np_array0d"])
    assert_same_bits(o["velocity.fc.weight"], opt_state["velocity.fc.weight"])

    s = ck.schedule_state
    assert s["best"] == math.inf and s["num_bad_epochs"] == 2 and s["mode"] == "min"
    assert type(s["num_bad_epochs"]) is int
    assert math.isnan(s["nan"])


def test_meta_round_trip_restores_a_generator(tmp_path):
    rng = np.random.default_rng(1234)
    rng.random(17)  # advance it
    meta = {
        "epoch": 7,
        "step": 123456,
        "best_acc1": 0.5712345678901234,
        "model": {"name": "alexnet", "num_classes": 1000, "groups": 2, "lrn": [5, 1e-4, 0.75, 2.0]},
        "rng": rng.bit_generator.state,
        "np_number": np.float64(0.25),  # numpy values inside meta become Python values
    }
    expected = rng.random(10)  # what the generator produces after the checkpoint
    path = save(tmp_path / "ck.npz", meta=meta)
    ck = load_checkpoint(path)
    assert ck.meta["epoch"] == 7 and ck.meta["step"] == 123456
    assert ck.meta["best_acc1"] == meta["best_acc1"]
    assert ck.meta["model"] == meta["model"]
    assert ck.meta["np_number"] == 0.25 and type(ck.meta["np_number"]) is float

    restored = np.random.default_rng()
    restored.bit_generator.state = ck.meta["rng"]
    np.testing.assert_array_equal(restored.random(10), expected)


def test_training_state_round_trip_resumes_identically(tmp_path):
    """SGD + plateau state through a checkpoint: the resumed run matches the uninterrupted one."""
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal((3, 4)).astype(np.float32) for _ in range(6)]
    errors = [0.9, 0.8, 0.8, 0.8, 0.8, 0.8]

    def new(w0):
        w, g = w0.copy(), np.zeros_like(w0)
        opt = SGD([("fc.weight", w, g)], lr=0.01)
        return w, g, opt, ReduceLROnPlateau(opt, patience=1)

    w0 = rng.standard_normal((3, 4)).astype(np.float32)
    wa, ga, opt_a, sch_a = new(w0)
    for grad, err in zip(grads, errors, strict=True):
        ga[...] = grad
        opt_a.step()
        sch_a.step(err)

    wb, gb, opt_b, sch_b = new(w0)
    for grad, err in zip(grads[:3], errors[:3], strict=True):
        gb[...] = grad
        opt_b.step()
        sch_b.step(err)
    path = save_checkpoint(
        tmp_path / "run" / "last.npz",
        model_state={"fc.weight": wb},
        optimizer_state=opt_b.state_dict(),
        schedule_state=sch_b.state_dict(),
        meta={"epoch": 3},
    )
    ck = load_checkpoint(path)
    wc, gc, opt_c, sch_c = new(np.zeros((3, 4), np.float32))
    check_state("model", {"fc.weight": wc}, ck.model_state)
    wc[...] = ck.model_state["fc.weight"]
    opt_c.load_state_dict(ck.optimizer_state)
    sch_c.load_state_dict(ck.schedule_state)
    for grad, err in zip(grads[3:], errors[3:], strict=True):
        gc[...] = grad
        opt_c.step()
        sch_c.step(err)
    assert_same_bits(wc, wa)
    assert opt_c.lr == opt_a.lr and opt_c.lr < 0.01
    assert sch_c.state_dict() == sch_a.state_dict()


def test_file_loads_with_plain_numpy_without_pickle(tmp_path):
    path = save(
        tmp_path / "ck.npz",
        optimizer_state={"lr": np.array(0.01), "note": "x"},
        schedule_state={"best": 0.3},
        meta={"epoch": 2},
    )
    with np.load(path, allow_pickle=False) as npz:
        files = set(npz.files)
        assert {"format", "version", "meta.json", "optim.json", "sched.json", "optim/lr"} <= files
        assert {f"model/{k}" for k in model_state()} <= files
        assert str(npz["format"]) == "tinynet-checkpoint"
        assert int(npz["version"]) == 3
        assert json.loads(str(npz["meta.json"])) == {"epoch": 2}
        assert json.loads(str(npz["optim.json"])) == {"note": "x"}
        assert_same_bits(npz["model/conv1.bias"], model_state()["conv1.bias"])
    with zipfile.ZipFile(path) as zf:  # np.savez, not savez_compressed: stored, not deflated
        assert all(info.compress_type == zipfile.ZIP_STORED for info in zf.infolist())


def test_save_creates_parent_dirs_and_overwrites(tmp_path):
    path = tmp_path / "a" / "b" / "ck.npz"
    save(path, meta={"epoch": 1})
    save(path, meta={"epoch": 2})
    assert load_checkpoint(path).meta == {"epoch": 2}
    assert os.listdir(path.parent) == ["ck.npz"]
