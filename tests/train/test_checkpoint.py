"""Tests of ``tinynet.train.checkpoint``."""

from __future__ import annotations

import json
import math
import os
import tracemalloc
import zipfile

import numpy as np
import pytest

from tinynet.optim import SGD, ReduceLROnPlateau
from tinynet.train import CheckpointError, Trainer, load_checkpoint, save_checkpoint
from tinynet.train import checkpoint as ckpt_module
from tinynet.train.checkpoint import VERSION, Checkpoint
from tinynet.validate import check_state

from ..helpers.checkpoints import edited


# ----------------------------------------------------------------------------- atomic writes
def test_temp_file_is_in_the_same_directory_and_named_after_the_target(tmp_path, monkeypatch):
    seen = []
    real_replace = os.replace

    def spy(src, dst):
        seen.append((os.fspath(src), os.fspath(dst)))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    save(tmp_path / "ck.npz")
    ((src, dst),) = seen
    assert os.path.dirname(src) == str(tmp_path)
    assert os.path.basename(src).startswith(".ck.npz.") and src.endswith(".tmp")
    assert dst == str(tmp_path / "ck.npz")


def _fail_replace(src, dst):
    raise OSError("disk on fire")


def _fail_mid_write(file, *args, **kwargs):
    file.write(b"PK\x03\x04 partial garbage")
    raise RuntimeError("killed mid-write")


def _interrupt_mid_write(file, *args, **kwargs):
    file.write(b"partial")
    raise KeyboardInterrupt


@pytest.mark.parametrize(
    "target, fake, exc",
    [
        ("os.replace", _fail_replace, OSError),
        ("np.savez", _fail_mid_write, RuntimeError),
        ("np.savez", _interrupt_mid_write, KeyboardInterrupt),
    ],
)
def test_failed_save_leaves_previous_checkpoint_intact(tmp_path, monkeypatch, target, fake, exc):
    path = tmp_path / "ck.npz"
    save(path, meta={"epoch": 1})
    original = path.read_bytes()

    if target == "os.replace":
        monkeypatch.setattr(os, "replace", fake)
    else:
        monkeypatch.setattr(ckpt_module.np, "savez", fake)
    with pytest.raises(exc):
        save(path, model_state=model_state(seed=1), meta={"epoch": 2})
    monkeypatch.undo()

    assert path.read_bytes() == original
    assert load_checkpoint(path).meta == {"epoch": 1}
    assert os.listdir(tmp_path) == ["ck.npz"]  # no temp file left behind


def test_failed_first_save_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "replace", _fail_replace)
    with pytest.raises(OSError):
        save(tmp_path / "ck.npz")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "overrides, match",
    [
        (dict(meta={"f": object()}), "meta is not JSON-serialisable"),
        (dict(meta=[1, 2]), "meta must be a dict"),
        (dict(model_state={"w": np.array([object()])}), "dtype object"),
        (dict(optimizer_state={"x": {1, 2}}), "optimizer_state is not JSON-serialisable"),
        (dict(schedule_state={3: 1.0}), "non-empty strings"),
    ],
)
def test_unserialisable_input_is_rejected_before_touching_disk(tmp_path, overrides, match):
    path = tmp_path / "ck.npz"
    save(path, meta={"epoch": 1})
    original = path.read_bytes()
    with pytest.raises(ValueError, match=match):
        save(path, **overrides)
    assert path.read_bytes() == original
    assert os.listdir(tmp_path) == ["ck.npz"]


# ----------------------------------------------------------------------------- load errors
def test_missing_file(tmp_path):
    path = tmp_path / "nope.npz"
    with pytest.raises(CheckpointError, match="nope.npz.*does not exist"):
        load_checkpoint(path)
    assert issubclass(CheckpointError, ValueError)


def test_text_file_renamed_npz(tmp_path):
    path = tmp_path / "notes.npz"
    path.write_text("this is not a checkpoint\n")
    with pytest.raises(CheckpointError, match="notes.npz.*not an .npz"):
        load_checkpoint(path)


def test_npy_file_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "w.npz"
    with open(path, "wb") as f:
        np.save(f, np.zeros(3))
    with pytest.raises(CheckpointError, match="w.npz.*not an .npz"):
        load_checkpoint(path)


def test_npz_without_marker(tmp_path):
    path = tmp_path / "weights.npz"
    np.savez(path, w=np.zeros(3))
    with pytest.raises(CheckpointError, match="weights.npz is not a tinynet checkpoint.*format"):
        load_checkpoint(path)


def test_npz_with_wrong_marker(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, format=np.array("someone-else"), version=np.array(1))
    with pytest.raises(CheckpointError, match="other.npz is not a tinynet checkpoint"):
        load_checkpoint(path)


def header(version):
    """The first entries of a tinynet checkpoint of ``version``, with an empty meta."""
    return {
        "format": np.array("tinynet-checkpoint"),
        "version": np.array(version),
        "meta.json": np.array("{}"),
    }


@pytest.mark.parametrize(
    "version, age", [(VERSION + 1, "newer"), (VERSION - 1, "older"), (1, "older")]
)
def test_another_version_is_refused_in_one_line(tmp_path, version, age):
    path = tmp_path / "other.npz"
    np.savez(path, **header(version))
    with pytest.raises(
        CheckpointError, match=f"other.npz.*version {version}.*{age}.*reads version {VERSION}"
    ):
        load_checkpoint(path)


def test_truncated_checkpoint(tmp_path):
    path = save(tmp_path / "ck.npz")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="ck.npz"):
        load_checkpoint(path)


def test_object_array_inside_is_refused(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(
        path,
        **{
            **header(2),
            "optim.json": np.array("{}"),
            "sched.json": np.array("{}"),
            "model/w": np.array([{"a": 1}], dtype=object),
        },
    )
    with pytest.raises(CheckpointError, match="evil.npz"):
        load_checkpoint(path)


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


def _set(section, key, value):
    def edit(ck):
        getattr(ck, section)[key] = value

    return edit


def _poke(section, key, value):
    def edit(ck):
        getattr(ck, section)[key].flat[0] = value

    return edit


# ----------------------------------------------------------------------------- non-finite values
@pytest.mark.parametrize(
    "edit, match",
    [
        (_poke("model_state", "conv1.weight", np.nan), "conv1.weight holds values .*NaN"),
        (_poke("model_state", "fc8.bias", -np.inf), "fc8.bias holds values .*NaN"),
        (_set("optimizer_state", "lr", np.array(np.nan)), r"learning rate \(lr\).*NaN"),
        (_set("optimizer_state", "lr", np.array(np.inf)), r"learning rate \(lr\).*finite"),
        (_set("optimizer_state", "momentum", np.array(np.nan)), "momentum.*NaN"),
        (_set("optimizer_state", "weight_decay", np.array(np.nan)), "weight_decay.*NaN"),
        (_poke("optimizer_state", "velocity.fc8.weight", np.nan), "velocity.fc8.weight holds NaN"),
    ],
)
def test_non_finite_contents_are_refused_naming_the_file(saved, tmp_path, edit, match):
    path = edited(saved, tmp_path, edit)
    with pytest.raises(CheckpointError, match=rf"^{path}: .*{match}") as info:
        Trainer.load(path)
    assert "\n" not in str(info.value)


# ----------------------------------------------------------------------------- a lying .npy header
def crafted(saved, tmp_path, entry, shape):
    """A copy of ``saved`` whose member ``entry`` declares ``shape`` (its data is unchanged)."""
    with zipfile.ZipFile(saved) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    npy = members[entry + ".npy"]
    end = npy.index(b"\n")  # the header is padded with spaces up to its newline
    old = f"'shape': {np.load(saved)[entry].shape}, ".encode()
    header = npy[:end].replace(old, f"'shape': {shape}, ".encode())[:end]
    assert len(header) == end and header.endswith(b" ")
    members[entry + ".npy"] = header + npy[end:]
    path = tmp_path / "crafted.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


@pytest.mark.parametrize("shape", [(2**40,), (1024, 1024, 1024, 1024), (3,)])
def test_an_entry_whose_header_lies_about_its_size_is_refused_unread(saved, tmp_path, shape):
    path = crafted(saved, tmp_path, "model/fc8.bias", shape)
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError) as info:
            load_checkpoint(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    message = str(info.value)
    assert message.startswith(f"{path}: entry 'model/fc8.bias' is corrupted: its header declares")
    assert f"of shape {shape}" in message and "but it holds 16 bytes" in message
    assert "\n" not in message and peak < 2**20, peak  # nothing the size of the entry was read


def _zip_sizes(path, name, size):
    """Patch the central directory of the zip ``path`` so member ``name`` claims ``size`` bytes
    (stored and unpacked alike), as a crafted file would."""
    data = bytearray(path.read_bytes())
    entry = data.index(b"PK\x01\x02")
    while data[entry + 46 : entry + 46 + len(name)] != name.encode():
        entry = data.index(b"PK\x01\x02", entry + 4)
    data[entry + 20 : entry + 28] = size.to_bytes(4, "little") * 2
    path.write_bytes(bytes(data))


def test_an_entry_whose_zip_sizes_lie_too_is_refused_unread(saved, tmp_path):
    path = crafted(saved, tmp_path, "model/fc8.bias", (2**29,))  # 2 GiB of float32
    _zip_sizes(path, "model/fc8.bias.npy", 2**31 + 128)  # what header + data would take
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError, match=r"'model/fc8.bias' is corrupted: its zip sizes"):
            load_checkpoint(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2**20, peak
