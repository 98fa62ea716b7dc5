"""Tests for tinynet.train.checkpoint: version-1 files are upgraded to version 2's layout."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tinynet import Sequential
from tinynet.layer import rng_state
from tinynet.layers import Dropout, Linear
from tinynet.train.checkpoint import CheckpointError, load_checkpoint

from .test_checkpoint_format import assert_same_bits, save


# ----------------------------------------------------------------------------- version 1
def save_v1(path, meta, model=None):
    """A checkpoint as the previous release (format version 1) wrote it."""
    model = {"fc.weight": np.ones((3, 4), np.float32)} if model is None else model
    entries = {f"model/{k}": v for k, v in model.items()}
    np.savez(path, **entries, **{
        "format": np.array("tinynet-checkpoint"), "version": np.array(1, dtype=np.int64),
        "meta.json": np.array(json.dumps(meta)), "optim.json": np.array(json.dumps({"lr": 0.01})),
        "sched.json": np.array("{}")})  # fmt: skip
    return path


def test_version_1_checkpoint_is_upgraded(tmp_path):
    gen = np.random.default_rng(7)
    gen.random(5)  # advance it
    meta = {
        "epoch": 2, "step": 30, "best_acc1": 0.5,
        "rng": {"drop": gen.bit_generator.state},
        "plateau_watch": {"count": 3, "warned": True},
        "extra": {"seed": 1, "samples_done": 250, "batch_size": 100},  # last batch capped
        "history": [{"epoch": 1}],
    }  # fmt: skip
    expected_masks = np.random.default_rng(7)
    expected_masks.random(5)
    weights = {"fc.weight": np.arange(12, dtype=np.float32).reshape(3, 4), "fc.bias": np.ones(3)}
    ck = load_checkpoint(save_v1(tmp_path / "v1.npz", meta, weights))

    assert ck.version == 1
    assert ck.meta == {
        "epoch": 2, "step": 30, "best_acc1": 0.5, "history": [{"epoch": 1}],
        "callbacks": {"StallWarning": {"count": 3, "warned": True}},
        "extra": {"seed": 1, "batch_size": 100},
        "epoch_step": 3, "epoch_meter": None,
    }  # fmt: skip
    assert ck.optimizer_state == {"lr": 0.01}
    assert_same_bits(ck.model_state["drop.rng"], rng_state(expected_masks))

    # the upgraded state loads into today's model: weights and the dropout stream resume
    model = Sequential([("fc", Linear(4, 3)), ("drop", Dropout(0.5))])
    model.load_state_dict(ck.model_state)
    np.testing.assert_array_equal(model["fc"].params["weight"], weights["fc.weight"])
    np.testing.assert_array_equal(model["fc"].params["bias"], weights["fc.bias"])
    np.testing.assert_array_equal(model["drop"].rng.random(8), expected_masks.random(8))


@pytest.mark.parametrize(
    "extra, epoch_step",
    [
        ({"samples_done": 0, "batch_size": 100}, 0),
        ({"samples_done": 200, "batch_size": 100}, 2),
        ({"samples_done": 201, "batch_size": 100}, 3),
        ({"batch_size": 100}, 0),
        ({}, 0),
        (None, 0),
    ],
)
def test_version_1_position_becomes_batches(tmp_path, extra, epoch_step):
    meta = {"epoch": 0} if extra is None else {"epoch": 0, "extra": extra}
    ck = load_checkpoint(save_v1(tmp_path / "v1.npz", meta))
    assert ck.meta["epoch_step"] == epoch_step
    assert "samples_done" not in ck.meta.get("extra", {})
    assert ck.meta["epoch_meter"] is None
    assert "rng" not in ck.meta and "callbacks" not in ck.meta


def test_version_1_with_an_unusable_generator_state(tmp_path):
    meta = {"rng": {"drop": {"bit_generator": "MT19937", "state": {}}}}
    with pytest.raises(CheckpointError, match="v1.npz: cannot upgrade from version 1"):
        load_checkpoint(save_v1(tmp_path / "v1.npz", meta))


def test_version_2_meta_is_left_as_saved(tmp_path):
    meta = {"rng": {"x": 1}, "plateau_watch": 2, "extra": {"samples_done": 5, "batch_size": 2}}
    assert load_checkpoint(save(tmp_path / "ck.npz", meta=meta)).meta == meta
