"""Tests for tinynet.train.checkpoint: failed saves change nothing, bad files are refused."""

from __future__ import annotations

import os

import numpy as np
import pytest

from tinynet.train import checkpoint as ckpt_module
from tinynet.train.checkpoint import VERSION, CheckpointError, load_checkpoint

from .test_checkpoint_format import model_state, save


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
